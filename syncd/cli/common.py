"""What every command shares: the `--config` option, config loading, error-to-exit mapping."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from syncd.config import Config, load_config
from syncd.errors import SyncdError

P = ParamSpec("P")
R = TypeVar("R")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SYNCD_CONFIG",
    default=None,
    help="Config file (default: $XDG_CONFIG_HOME/syncd/config.yaml).",
)


def load(config_path: Path | None) -> Config:
    """Load the config; a bad one raises `ConfigError`, which `handle_errors` turns into exit 2."""
    return load_config(config_path)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a syncd error as one clear line on stderr and exit with the error's code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SyncdError as exc:
            click.echo(f"syncd: {exc}", err=True)
            raise SystemExit(exc.exit_code) from None

    return wrapper


def echo_json(value: Any) -> None:
    import json

    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))
