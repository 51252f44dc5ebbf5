"""What every command shares: the `--config` option, config loading, error-to-exit mapping."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from syncd.config import Config, load_config
from syncd.errors import SyncdError
from syncd.text import printable

if TYPE_CHECKING:
    from syncd.status import DaemonId

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

pair_option = click.option("--pair", "pair_name", help="The folder pair (if there are several).")


def load(config_path: Path | None) -> Config:
    """Load the config; a bad one raises `ConfigError`, which `handle_errors` turns into exit 2."""
    return load_config(config_path)


def echo(text: str, *, err: bool = False) -> None:
    """`click.echo` for a line that may hold names: they are shown escaped (`printable`)."""
    click.echo(printable(text), err=err)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a syncd error as one clear line on stderr and exit with the error's code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SyncdError as exc:
            from syncd.logs import under_journal

            # Under systemd this line is the journal's record of why the service stopped:
            # at error priority, like every other error line.
            priority = "<3>" if under_journal() else ""
            echo(f"{priority}syncd: {exc}", err=True)
            raise SystemExit(exc.exit_code) from None

    return wrapper


def wake_daemon(config: Config) -> DaemonId | None:
    """Have the running daemon take up what a command changed; it, or None if none runs."""
    from syncd.compose import control_dir
    from syncd.status import signal_daemon

    return signal_daemon(control_dir(config))


def open_browser(url: str) -> bool:
    import webbrowser

    # Looked up at call time so tests (and odd platforms) can replace webbrowser.open.
    return bool(webbrowser.open(url))


def echo_json(value: Any) -> None:
    import json

    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    click.echo(printable(text, json=True))


def _rate(value: str | None) -> int | None:
    from syncd.config import parse_size

    if value is None:
        return None
    try:
        parsed = parse_size(value.strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if not isinstance(parsed, int):
        raise click.BadParameter(f"not a rate: {value!r}")
    return parsed


def transfer_options(func: Callable[P, R]) -> Callable[P, R]:
    """`--upload-limit`, `--download-limit`, `--transfers`: override the config's values."""
    func = click.option("--transfers", type=click.IntRange(1, 64), help="Parallel transfers.")(func)
    func = click.option("--download-limit", help="Bytes/s for all downloads ('2 MiB'; 0 = none).")(
        func
    )
    return click.option("--upload-limit", help="Bytes/s for all uploads ('2 MiB'; 0 = none).")(func)


def with_overrides(
    config: Config, upload_limit: str | None, download_limit: str | None, transfers: int | None
) -> Config:
    from dataclasses import replace

    sync = config.sync
    up, down = _rate(upload_limit), _rate(download_limit)
    if up is not None:
        sync = replace(sync, upload_limit=up)
    if down is not None:
        sync = replace(sync, download_limit=down)
    if transfers is not None:
        sync = replace(sync, transfers=transfers)
    return replace(config, sync=sync)
