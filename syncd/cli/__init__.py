"""The `syncd` command line: one module per command group, loaded when its command runs.

Commands are imported lazily (click's documented lazy-group pattern): `syncd status` should
not pay for the HTTP client, the emulator and rich, nor `syncd sync` for the emulator. The
group lists and completes its commands from the table below, so `syncd --help` and a
completed command name import none of them (a test holds each summary to the command's own).
"""

from __future__ import annotations

import gc
import importlib
from dataclasses import dataclass

import click

from syncd import __version__
from syncd.cli.common import global_options
from syncd.cli.process import Program

PROG_NAME = "syncd"
# The variable click's completion scripts set to ask the program for completions.
COMPLETE_VAR = "_SYNCD_COMPLETE"


@dataclass(frozen=True, slots=True)
class Lazy:
    target: str  # "module:attribute"
    summary: str  # the first sentence of the command's docstring, as `--help` lists it


COMMANDS = {
    "auth": Lazy(
        "syncd.cli.auth_cmd:auth", "Log in to Orange Cloud, show the login, or forget it."
    ),
    "cloud": Lazy(
        "syncd.cli.cloud_cmd:cloud",
        "Work with the Orange Cloud directly: list, copy, move, upload, download.",
    ),
    "completion": Lazy(
        "syncd.cli.completion_cmd:completion",
        "Print the completion script for SHELL (bash, zsh or fish).",
    ),
    "conflicts": Lazy(
        "syncd.cli.controls_cmd:conflicts",
        "List unresolved conflicted copies (or resolve one: `conflicts resolve`).",
    ),
    "demo": Lazy(
        "syncd.cli.demo_cmd:demo",
        "Show syncd at work: no account, no network, nothing left behind.",
    ),
    "emulator": Lazy(
        "syncd.cli.emulator_cmd:emulator",
        "Run a local emulator of the Orange Cloud France API (API, content host and OAuth).",
    ),
    "exclude": Lazy(
        "syncd.cli.controls_cmd:exclude",
        "Keep cloud folders out of the local side (selective sync).",
    ),
    "init": Lazy(
        "syncd.cli.init_cmd:init",
        "Write a first config with one folder pair, and say what to run next.",
    ),
    "limit": Lazy(
        "syncd.cli.controls_cmd:limit",
        "Change the bandwidth limits of the running daemon (all transfers together).",
    ),
    "pause": Lazy(
        "syncd.cli.daemon_cmd:pause",
        "Pause syncing, every pair or one (transfers in progress stop).",
    ),
    "reset": Lazy(
        "syncd.cli.daemon_cmd:reset",
        "Forget what was synced (the state DB is kept aside, never wiped) and start over.",
    ),
    "resume": Lazy("syncd.cli.daemon_cmd:resume", "Resume syncing, every pair or one."),
    "run": Lazy(
        "syncd.cli.daemon_cmd:run",
        "Keep every folder pair in sync until SIGTERM or Ctrl-C (what the service runs).",
    ),
    "service": Lazy("syncd.cli.service_cmd:service", "Run syncd as a systemd user service."),
    "status": Lazy(
        "syncd.cli.status_cmd:status",
        "Show what the daemon is doing, per-path errors, conflicted copies and free space.",
    ),
    "sync": Lazy(
        "syncd.cli.sync_cmd:sync", "Sync the configured folder pairs once, both ways, and exit."
    ),
    "trash": Lazy(
        "syncd.cli.controls_cmd:trash",
        "What syncs deleted or overwrote on this computer, kept for `trash_retention_days`.",
    ),
    "web": Lazy(
        "syncd.cli.web_cmd:web",
        "Print the dashboard's address (with its access token) and open it in a browser.",
    ),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attribute = entry.target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists commands, from the table rather than from each imported command."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        # A stand-in command shortens each summary exactly as click shortens a command's.
        rows = [
            (name, click.Command(name, help=COMMANDS[name].summary).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(
        self, ctx: click.Context, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        """As click completes a group (command names, then its options), from the table."""
        from click.shell_completion import CompletionItem

        results = [
            CompletionItem(name, help=COMMANDS[name].summary)
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        # The options, as any command completes them (click.Group's own override would
        # import every command for its summary).
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncd")
@global_options
def main() -> None:
    """Keep a local folder and an Orange Cloud France folder identical, both ways.

    --config, -q and -v apply to the command that follows, as if given to it.
    """


def run(program: Program | None = None) -> None:
    """The `syncd` program: the console script and `python -m syncd` (`program`: what a
    caller that starts it in its own process wants done as it ends, see `Program`)."""
    # Start-up alone allocates some 300,000 objects that live as long as the process
    # (SQLAlchemy, httpx, pydantic); at the default threshold of 700 they set off about 150
    # collections that find nothing to free. Cycles are still collected, in bigger batches.
    gc.set_threshold(100_000, 20, 10)
    # Named, not guessed from argv: `python -m syncd` is `syncd` too, in its usage lines and
    # in the variable its shell completion is driven by.
    main(obj=program or Program(), prog_name=PROG_NAME, complete_var=COMPLETE_VAR)
