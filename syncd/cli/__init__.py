"""The `syncd` command line: one module per command group, wired here."""

from __future__ import annotations

import click

from syncd import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncd")
def main() -> None:
    """Keep a local folder and an Orange Cloud France folder identical, both ways."""


def _register() -> None:
    # Imported here, not at module top, so `syncd --help` stays cheap and import cycles
    # between command modules and the composition root cannot form.
    from syncd.cli import (
        auth_cmd,
        cloud_cmd,
        controls_cmd,
        daemon_cmd,
        demo_cmd,
        emulator_cmd,
        service_cmd,
        sync_cmd,
    )

    main.add_command(demo_cmd.demo)
    main.add_command(emulator_cmd.emulator)
    main.add_command(auth_cmd.auth)
    main.add_command(cloud_cmd.cloud)
    main.add_command(sync_cmd.sync)
    main.add_command(daemon_cmd.run)
    main.add_command(daemon_cmd.status)
    main.add_command(daemon_cmd.pause)
    main.add_command(daemon_cmd.resume)
    main.add_command(daemon_cmd.reset)
    main.add_command(service_cmd.service)
    main.add_command(controls_cmd.exclude)
    main.add_command(controls_cmd.conflicts)
    main.add_command(controls_cmd.trash)
    main.add_command(controls_cmd.limit)


_register()
