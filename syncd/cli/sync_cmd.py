"""`syncd sync`: one complete sync of every folder pair (or one), then exit.

Exit codes: 0 everything in sync; 1 some items failed (listed) or the cloud was unreachable;
2 bad configuration; 78 the user must act (not logged in, root guard, mass delete).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from syncd import journal, units
from syncd.cli.common import (
    config_options,
    echo,
    handle_errors,
    load,
    quiet,
    require_pairs,
    transfer_options,
    verbosity,
    with_overrides,
)
from syncd.cli.process import end_process, owns_process, settle_heap, snapshots_for_the_process
from syncd.cli.progress import Display, PlainDisplay, RichDisplay, describe
from syncd.cloud.client import CloudClient
from syncd.compose import make_engine, make_limits, open_client, open_store
from syncd.config import Config, PairConfig
from syncd.errors import EXIT_FAILURE, EXIT_OK, TransientError
from syncd.logs import setup_logging
from syncd.pairlock import PairBusy
from syncd.sync.engine import PairEngine
from syncd.sync.report import Observers


def _pairs(config: Config, name: str | None) -> list[PairConfig]:
    require_pairs(config)
    return [config.pair(name)] if name else list(config.pairs)


@click.command("sync")
@config_options
@click.option("--pair", "pair_name", help="Sync only this folder pair.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing anywhere.")
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Apply a plan that deletes more than the configured share of a side.",
)
@transfer_options
@handle_errors
def sync(
    config_path: Path | None,
    pair_name: str | None,
    dry_run: bool,
    allow_mass_delete: bool,
    upload_limit: str | None,
    download_limit: str | None,
    bwlimit: str | None,
    transfers: int | None,
) -> None:
    """Sync the configured folder pairs once, both ways, and exit.

    On a terminal it shows progress bars; otherwise one line per action. -q prints only
    problems and the summary.
    """
    settle_heap()
    config = with_overrides(load(config_path), upload_limit, download_limit, bwlimit, transfers)
    verbose = verbosity()
    setup_logging(
        verbose=verbose,
        level="info" if verbose else "warning",
        log_file=config.logging.file,
        max_bytes=config.logging.max_bytes,
        backups=config.logging.backups,
    )
    pairs = _pairs(config, pair_name)
    failed = False
    last: PairEngine | None = None
    with open_client(config) as client:
        for pair in pairs:
            last = None  # one pair's snapshots in memory at a time
            try:
                pair_failed, last = _sync_pair(
                    config, pair, client, dry_run, allow_mass_delete, quiet()
                )
                failed = pair_failed or failed
            except (TransientError, PairBusy) as exc:
                # One pair offline or busy must not keep the others from syncing.
                echo(f"{pair.name}: not synced: {exc}", err=True)
                failed = True
    code = EXIT_FAILURE if failed else EXIT_OK
    if owns_process():
        # The last pair's snapshots go with the process: freeing a big tree's object by
        # object is work nobody waits for.
        end_process(code, last)
    raise SystemExit(code)


def _sync_pair(
    config: Config,
    pair: PairConfig,
    client: CloudClient,
    dry_run: bool,
    allow_mass_delete: bool,
    quiet: bool,
) -> tuple[bool, PairEngine]:
    """Sync one pair and print its summary; True if something failed, and its engine."""
    display: Display = (
        RichDisplay()
        if sys.stderr.isatty() and not quiet and not dry_run
        else PlainDisplay(quiet=quiet or dry_run)
    )
    observers = Observers(
        plan=display.plan, start=display.start, progress=display.advance, outcome=display.done
    )
    with open_store(config, pair, dry_run=dry_run) as store:
        engine = make_engine(
            config,
            pair,
            store,
            client,
            limits=make_limits(config),
            observers=observers,
            snapshot_scope=snapshots_for_the_process,
        )
        if dry_run:
            plan = engine.sync(dry_run=True).plan
            assert plan is not None
            echo(f"{pair.name}: {units.plural(len(plan.actions), 'planned action', zero='no')}")
            for action in plan.actions:
                echo(f"  {describe(action)}")
            if not allow_mass_delete:
                engine.check_plan(plan)  # what the real run would refuse: the same exit code
            return False, engine
        try:
            report = engine.sync(allow_mass_delete=allow_mass_delete)
        finally:
            display.close()
    echo(f"{pair.name}: {journal.report_line(report)}")
    for path, message in sorted(report.failures.items()):
        echo(f"  failed: {path}: {message}", err=True)
    for path, when in report.waiting.items():
        stamp = datetime.fromtimestamp(when).strftime("%H:%M:%S")
        echo(f"  waiting: {path}: failed earlier, tried again after {stamp}", err=True)
    for problem, text in (
        ("stopped early", report.offline),
        ("not all applied", report.listing_problem),
        ("uploads paused", report.uploads_paused),
        ("downloads paused", report.downloads_paused),
    ):
        if text:
            echo(f"  {problem}: {text}", err=True)
    return not report.ok, engine
