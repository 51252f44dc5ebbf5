"""What every command shares: the `--config`, `-q` and `-v` options (before the command or
on it), config loading, the bandwidth options, output, and error-to-exit mapping.

Light on purpose: the command group itself uses it, and `syncd --help` must not pay for the
config schema (pydantic) or anything else a command loads when it runs.
"""

from __future__ import annotations

import functools
import re
import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
from click.core import ParameterSource

from syncd.errors import AuthRequired, ConfigError, SyncdError
from syncd.text import printable

if TYPE_CHECKING:
    from syncd.config import Config
    from syncd.status import DaemonId

P = ParamSpec("P")
R = TypeVar("R")

CONFIG_ENV = "SYNCD_CONFIG"
# Kept in the context's `meta`, which a command shares with the group above it.
_CONFIG, _QUIET, _VERBOSE = "syncd.config", "syncd.quiet", "syncd.verbose"


def _config_given(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """The config a command reads: its own `--config`, else the one given before the command
    (or to the group above it), else $SYNCD_CONFIG, else None (the default place)."""
    assert param.name is not None
    if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
        value = ctx.meta.get(_CONFIG, value)
    if value is not None:
        ctx.meta[_CONFIG] = value
    return value


def _config_before(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    # Before the command, only an explicit --config counts: $SYNCD_CONFIG is read by the
    # command's own option, after any --config given to it.
    assert param.name is not None
    if ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE:
        ctx.meta[_CONFIG] = value


def _quiet_given(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_QUIET] = True


def _verbose_given(ctx: click.Context, param: click.Parameter, value: int) -> None:
    ctx.meta[_VERBOSE] = ctx.meta.get(_VERBOSE, 0) + value


_PATH = click.Path(dir_okay=False, path_type=Path)
_CONFIG_HELP = "Config file (default: $XDG_CONFIG_HOME/syncd/config.yaml, or $SYNCD_CONFIG)."
_OUTPUT_OPTIONS = (
    click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_quiet_given,
                 help="Print only problems and what was asked for (no progress lines)."),
    click.option("-v", "--verbose", count=True, expose_value=False, callback=_verbose_given,
                 help="Log what happens on stderr (-vv: HTTP too)."),
)  # fmt: skip


def _with(func: Callable[P, R], *options: Callable[[Any], Any]) -> Callable[P, R]:
    """`func` with `options`, listed in `--help` in the order given."""
    for option in reversed(options):
        func = option(func)
    return func


def global_options(func: Callable[P, R]) -> Callable[P, R]:
    """`--config`, `-q`, `-v` given before the command (`syncd --config X status`)."""
    return _with(
        func,
        click.option("--config", "config_path", type=_PATH, expose_value=False,
                     callback=_config_before, help=_CONFIG_HELP),
        *_OUTPUT_OPTIONS,
    )  # fmt: skip


def config_options(func: Callable[P, R]) -> Callable[P, R]:
    """`--config FILE` (passed as `config_path`), `-q` and `-v`, on a command that reads a
    config; each also accepted before the command."""
    return _with(
        func,
        click.option("--config", "config_path", type=_PATH, envvar=CONFIG_ENV,
                     callback=_config_given, help=_CONFIG_HELP),
        *_OUTPUT_OPTIONS,
    )  # fmt: skip


def given_config() -> Path | None:
    """The config file named on the command line or by $SYNCD_CONFIG (None: the default)."""
    value = _meta().get(_CONFIG)
    return None if value is None else Path(value)


def config_in_use() -> Path:
    """The config file this command reads (or would): the one given, else the default."""
    given = given_config()
    if given is not None:
        return given
    from syncd.config import default_config_path

    return default_config_path()


# A command the user is told to run, in backquotes: `syncd auth login`.
_FIX = re.compile(r"`(syncd(?: [^`]*)?)`")


def with_given_config(text: str) -> str:
    """`text` with each `syncd ...` command it suggests run on the config given to this one
    (`--config X` added), so that the fix applies to the right config."""
    given = given_config()
    if given is None:
        return text
    option = f"--config {shlex.quote(str(given))}"
    return _FIX.sub(
        lambda m: m.group(0) if "--config" in m.group(1) else f"`{m.group(1)} {option}`", text
    )


def for_the_user(exc: SyncdError) -> str:
    """What a command says of an error: the config file it concerns named (whatever raised
    it), and the fix it suggests keeping this command's `--config`."""
    text = str(exc)
    if isinstance(exc, ConfigError) and exc.file is None:
        named = ConfigError(
            exc.problem, file=config_in_use(), line=exc.line, column=exc.column, key=exc.key
        )
        text = str(named)
    elif isinstance(exc, AuthRequired):
        text += f" (config {config_in_use()})"
    return with_given_config(text)


def require_pairs(config: Config) -> None:
    """Stop with the fix when the config has no folder pair to sync."""
    if config.pairs:
        return
    if config.source is None:  # the default file does not exist
        problem = "no such file, so no folder pairs: `syncd init` writes a config with one"
    else:
        problem = (
            "no folder pairs configured: add a `pairs:` entry "
            "(`syncd init --example` prints a complete config)"
        )
    raise ConfigError(problem, file=config.source or config_in_use())


def require_client(config: Config) -> None:
    """Stop with the fix when the config lacks the application's client id or secret."""
    for key, what in (("client_id", "client id"), ("client_secret", "client secret")):
        if getattr(config.cloud, key):
            continue
        if config.source is None:
            problem = "not set (no such file): `syncd init` writes a config with it"
        else:
            problem = (
                f"not set: add your application's {what} (developer.orange.com), "
                "or `syncd init --force` writes a new config"
            )
        raise ConfigError(problem, file=config.source or config_in_use(), key=f"cloud.{key}")


def _meta() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def quiet() -> bool:
    """Whether `-q` was given (before the command or on it)."""
    return bool(_meta().get(_QUIET))


def verbosity() -> int:
    """How many `-v` were given, before the command and on it together."""
    return int(_meta().get(_VERBOSE, 0))


pair_option = click.option("--pair", "pair_name", help="The folder pair (if there are several).")


def load(config_path: Path | None) -> Config:
    """Load the config; a bad one raises `ConfigError`, which `handle_errors` turns into exit 2."""
    from syncd.config import load_config

    return load_config(config_path)


def echo(text: str, *, err: bool = False) -> None:
    """`click.echo` for a line that may hold names: they are shown escaped (`printable`)."""
    click.echo(printable(text), err=err)


def note(text: str) -> None:
    """`echo` for a line that only confirms or reports progress: not with `-q`."""
    if not quiet():
        echo(text)


def confirm(question: str, *, yes: bool) -> None:
    """Before deleting something for good: ask on a terminal (no: `click.Abort`, exit 1);
    off a terminal (a script, a pipe) go ahead only with `--yes`, else a usage error."""
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise click.UsageError(f"{question} There is no terminal to ask on: give --yes.")
    click.confirm(question, abort=True)


yes_option = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a syncd error as one clear line on stderr (`for_the_user`) and exit with the
    error's code. With `-v`, log to stderr first (commands that set up their own logging do
    it again)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if verbosity():
            from syncd.logs import setup_logging

            setup_logging(verbose=verbosity())
        try:
            return func(*args, **kwargs)
        except SyncdError as exc:
            from syncd.logs import under_journal

            # Under systemd this line is the journal's record of why the service stopped:
            # at error priority, like every other error line.
            priority = "<3>" if under_journal() else ""
            echo(f"{priority}syncd: {for_the_user(exc)}", err=True)
            raise SystemExit(exc.exit_code) from None

    return wrapper


def wake_daemon(config: Config) -> DaemonId | None:
    """Have the running daemon take up what a command changed; it, or None if none runs."""
    from syncd.locations import control_dir
    from syncd.status import signal_daemon

    return signal_daemon(control_dir(config))


def open_browser(url: str) -> bool:
    import webbrowser

    # Looked up at call time so tests (and odd platforms) can replace webbrowser.open.
    return bool(webbrowser.open(url))


def iso_utc(value: float | datetime | None) -> str | None:
    """An instant as every `--json` gives it: ISO-8601 in UTC, to the second
    (`2026-12-07T16:20:36Z`). A float is seconds since the epoch; a datetime without a zone
    is local time. None (never) stays None."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def echo_json(value: Any) -> None:
    import json

    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    click.echo(printable(text, json=True))


# --- bandwidth ----------------------------------------------------------------------------


def _rate(value: str | None, name: str) -> int | None:
    from syncd.config import parse_size

    if value is None:
        return None
    text = value.strip()
    if text.lower() == "off":
        return 0
    try:
        parsed = parse_size(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None
    if not isinstance(parsed, int):
        raise click.BadParameter(f"not a rate: {value!r}", param_hint=name)
    return parsed


def bandwidth(
    upload: str | None, download: str | None, bwlimit: str | None
) -> tuple[int | None, int | None]:
    """Bytes/s (None: as configured) from `--upload-limit`, `--download-limit`, or `--bwlimit`
    as rclone takes it: `UP:DOWN`, or one rate for both; 0 or `off` is no limit."""
    if bwlimit is None:
        return _rate(upload, "--upload-limit"), _rate(download, "--download-limit")
    if upload is not None or download is not None:
        raise click.BadParameter(
            "give --bwlimit or --upload-limit/--download-limit, not both", param_hint="--bwlimit"
        )
    parts = bwlimit.split(":")
    if len(parts) > 2:
        raise click.BadParameter(f"{bwlimit!r} is not RATE or UP:DOWN", param_hint="--bwlimit")
    up, down = (parts[0], parts[-1])
    return (
        _rate(up, "--bwlimit") if up.strip() else None,
        _rate(down, "--bwlimit") if down.strip() else None,
    )


_RATE_HELP = "('2 MiB', '500k'; 0 or 'off' = none)"


def bandwidth_options(func: Callable[P, R]) -> Callable[P, R]:
    """`--upload-limit`, `--download-limit` and `--bwlimit UP:DOWN`."""
    return _with(
        func,
        click.option("--upload-limit", help=f"Bytes/s for all uploads {_RATE_HELP}."),
        click.option("--download-limit", help=f"Bytes/s for all downloads {_RATE_HELP}."),
        click.option("--bwlimit", metavar="UP:DOWN",
                     help=f"Both limits as rclone takes them, or one rate for both {_RATE_HELP}."),
    )  # fmt: skip


def transfer_options(func: Callable[P, R]) -> Callable[P, R]:
    """The bandwidth options and `--transfers`: override the config's values."""
    func = click.option("--transfers", type=click.IntRange(1, 64), help="Parallel transfers.")(func)
    return bandwidth_options(func)


def with_overrides(
    config: Config,
    upload_limit: str | None,
    download_limit: str | None,
    bwlimit: str | None,
    transfers: int | None,
) -> Config:
    from dataclasses import replace

    sync = config.sync
    up, down = bandwidth(upload_limit, download_limit, bwlimit)
    if up is not None:
        sync = replace(sync, upload_limit=up)
    if down is not None:
        sync = replace(sync, download_limit=down)
    if transfers is not None:
        sync = replace(sync, transfers=transfers)
    return replace(config, sync=sync)
