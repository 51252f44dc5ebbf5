"""`syncd demo`: a sync against the built-in emulator, both ways, in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import click

from syncd.cli.common import handle_errors


@click.command("demo")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use this folder and keep it afterwards (default: a temporary folder, removed).",
)
@handle_errors
def demo(keep: Path | None) -> None:
    """Show syncd at work: no account, no network, nothing left behind."""
    from syncd.demo import run_demo

    raise SystemExit(run_demo(click.echo, keep=keep))
