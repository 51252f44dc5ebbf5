"""The `syncd` command line: one module per command group, loaded when its command runs.

Commands are imported lazily (click's documented lazy-group pattern): `syncd status` should
not pay for the HTTP client, the emulator and rich, nor `syncd sync` for the emulator.
"""

from __future__ import annotations

import gc
import importlib

import click

from syncd import __version__
from syncd.cli.process import Program

# name -> "module:attribute"
COMMANDS = {
    "auth": "syncd.cli.auth_cmd:auth",
    "cloud": "syncd.cli.cloud_cmd:cloud",
    "conflicts": "syncd.cli.controls_cmd:conflicts",
    "demo": "syncd.cli.demo_cmd:demo",
    "emulator": "syncd.cli.emulator_cmd:emulator",
    "exclude": "syncd.cli.controls_cmd:exclude",
    "limit": "syncd.cli.controls_cmd:limit",
    "pause": "syncd.cli.daemon_cmd:pause",
    "reset": "syncd.cli.daemon_cmd:reset",
    "resume": "syncd.cli.daemon_cmd:resume",
    "run": "syncd.cli.daemon_cmd:run",
    "service": "syncd.cli.service_cmd:service",
    "status": "syncd.cli.daemon_cmd:status",
    "sync": "syncd.cli.sync_cmd:sync",
    "trash": "syncd.cli.controls_cmd:trash",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncd")
def main() -> None:
    """Keep a local folder and an Orange Cloud France folder identical, both ways."""


def run(program: Program | None = None) -> None:
    """The `syncd` program: the console script and `python -m syncd` (`program`: what a
    caller that starts it in its own process wants done as it ends, see `Program`)."""
    # Start-up alone allocates some 300,000 objects that live as long as the process
    # (SQLAlchemy, httpx, pydantic); at the default threshold of 700 they set off about 150
    # collections, 0.09 s of every command. Cycles are still collected, in bigger batches.
    gc.set_threshold(100_000, 20, 10)
    main(obj=program or Program())
