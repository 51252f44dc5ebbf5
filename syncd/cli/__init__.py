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
    from syncd.cli import emulator_cmd

    main.add_command(emulator_cmd.emulator)


_register()
