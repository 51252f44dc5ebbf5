"""`syncd service install|uninstall|show`: the systemd user unit."""

from __future__ import annotations

from pathlib import Path

import click

from syncd.cli.common import config_options, handle_errors, note
from syncd.errors import SyncdError

name_option = click.option(
    "--name",
    help="Name this unit syncd-NAME.service (one per config: a second account, say).",
)


@click.group("service")
def service() -> None:
    """Run syncd as a systemd user service."""


@service.command("install")
@config_options
@name_option
@click.option("--enable", is_flag=True, help="Also reload systemd, enable and start it.")
@handle_errors
def install_cmd(config_path: Path | None, name: str | None, enable: bool) -> None:
    """Write ~/.config/systemd/user/syncd.service (or syncd-NAME.service) for this config."""
    from syncd import service as unit

    try:
        for line in unit.install(config_path, enable=enable, name=name):
            note(line)
    except (OSError, ValueError) as exc:
        raise SyncdError(str(exc)) from None
    if not enable:
        note(
            "start it with: systemctl --user daemon-reload && "
            f"systemctl --user enable --now {unit.unit_name(name)}"
        )
    note("to run it without a login session: loginctl enable-linger $USER")


@service.command("uninstall")
@name_option
@handle_errors
def uninstall_cmd(name: str | None) -> None:
    """Stop, disable and remove the user unit."""
    from syncd import service as unit

    try:
        lines = unit.uninstall(name=name)
    except ValueError as exc:
        raise SyncdError(str(exc)) from None
    for line in lines or ["nothing to remove"]:
        click.echo(line)


@service.command("show")
@config_options
@name_option
@handle_errors
def show_cmd(config_path: Path | None, name: str | None) -> None:
    """Print the unit file that `install` would write."""
    from syncd import service as unit

    try:
        click.echo(unit.render_unit(config_path, name), nl=False)
    except ValueError as exc:
        raise SyncdError(str(exc)) from None
