"""`syncd service install|uninstall|show`: the systemd user unit."""

from __future__ import annotations

from pathlib import Path

import click

from syncd.cli.common import config_option, handle_errors
from syncd.errors import SyncdError


@click.group("service")
def service() -> None:
    """Run syncd as a systemd user service."""


@service.command("install")
@config_option
@click.option("--enable", is_flag=True, help="Also reload systemd, enable and start it.")
@handle_errors
def install_cmd(config_path: Path | None, enable: bool) -> None:
    """Write ~/.config/systemd/user/syncd.service for this installation."""
    from syncd import service as unit

    try:
        for line in unit.install(config_path, enable=enable):
            click.echo(line)
    except OSError as exc:
        raise SyncdError(str(exc)) from None
    if not enable:
        click.echo(
            "start it with: systemctl --user daemon-reload && systemctl --user enable --now syncd"
        )
    click.echo("to run it without a login session: loginctl enable-linger $USER")


@service.command("uninstall")
@handle_errors
def uninstall_cmd() -> None:
    """Stop, disable and remove the user unit."""
    from syncd import service as unit

    for line in unit.uninstall() or ["nothing to remove"]:
        click.echo(line)


@service.command("show")
@config_option
def show_cmd(config_path: Path | None) -> None:
    """Print the unit file that `install` would write."""
    from syncd import service as unit

    click.echo(unit.render_unit(config_path), nl=False)
