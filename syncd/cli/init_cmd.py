"""`syncd init`: write a first config (one folder pair) and say the next command.

On a terminal it asks for what the flags do not give; otherwise the flags are all there is
(`--client-id` and `--client-secret` are then required). `--example` prints the commented
example with every key instead.
"""

from __future__ import annotations

import shlex
import sys
from datetime import date
from pathlib import Path

import click

from syncd.cli.common import config_in_use, config_options, given_config, handle_errors, note
from syncd.config import DEFAULT_REDIRECT_URI, default_config_path
from syncd.errors import ConfigError
from syncd.newconfig import NewConfig, checked, example_config, local_folder, render, write

DEFAULT_LOCAL = "~/OrangeCloud"


def _on_a_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _ask(value: str | None, flag: str, question: str, default: str | None, hide: bool) -> str:
    if value is not None:
        return value
    if _on_a_terminal():
        return str(click.prompt(question, default=default, hide_input=hide))
    if default is not None:
        return default
    raise click.UsageError(f"{flag} is required (there is no terminal to ask on)")


@click.command("init")
@config_options
@click.option("--local", help=f"The local folder to sync (default {DEFAULT_LOCAL}).")
@click.option("--remote", help="The cloud folder to sync it with (default /).")
@click.option("--client-id", help="Your application's client id (developer.orange.com).")
@click.option("--client-secret", help="Your application's client secret.")
@click.option(
    "--redirect-uri", help=f"Its registered redirect URI (default {DEFAULT_REDIRECT_URI})."
)
@click.option("--force", is_flag=True, help="Replace an existing config file.")
@click.option("--example", is_flag=True, help="Print the example config (every key) instead.")
@handle_errors
def init(
    config_path: Path | None,
    local: str | None,
    remote: str | None,
    client_id: str | None,
    client_secret: str | None,
    redirect_uri: str | None,
    force: bool,
    example: bool,
) -> None:
    """Write a first config with one folder pair, and say what to run next.

    On a terminal it asks for what the options do not give. It writes the --config file
    (default ~/.config/syncd/config.yaml), private (0600), and never over an existing one
    without --force.
    """
    if example:
        click.echo(example_config(), nl=False)
        return
    path = config_in_use()
    if path.exists() and not force:
        raise ConfigError("already exists: kept as it is (`syncd init --force` replaces it)",
                          file=path)  # fmt: skip
    new = NewConfig(
        local=local_folder(_ask(local, "--local", "Local folder to sync", DEFAULT_LOCAL, False)),
        remote=_ask(remote, "--remote", "Cloud folder to sync it with", "/", False),
        client_id=_ask(client_id, "--client-id", "Client id of your application", None, False),
        client_secret=_ask(client_secret, "--client-secret", "Its client secret", None, True),
        redirect_uri=_ask(
            redirect_uri, "--redirect-uri", "Its redirect URI", DEFAULT_REDIRECT_URI, False
        ),
    )
    text = render(new, date.today())
    config = checked(text, path)  # what load_config would refuse, refused before writing
    try:
        write(path, text, replace=force)
    except FileExistsError:  # made meanwhile
        raise ConfigError("already exists: kept as it is", file=path) from None
    pair = config.pairs[0]
    note(f"wrote {path}: {pair.name}: {pair.local_root} <-> {pair.remote_root}")
    given = given_config()
    keep = "" if given is None or _same(given, default_config_path()) else given
    option = f" --config {shlex.quote(str(keep))}" if keep else ""
    note(f"next: `syncd auth login{option}` (then `syncd sync{option}`)")


def _same(a: Path, b: Path) -> bool:
    return a.expanduser().absolute() == b.expanduser().absolute()
