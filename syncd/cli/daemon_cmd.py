"""`syncd run`, `syncd pause`, `syncd resume`, `syncd reset`: the long-running daemon.

(`syncd status` is `status_cmd`: it must start without what `run` needs.)
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from syncd import controls
from syncd.cli.common import (
    config_options,
    confirm,
    handle_errors,
    load,
    note,
    quiet,
    require_pairs,
    transfer_options,
    verbosity,
    wake_daemon,
    with_overrides,
    yes_option,
)
from syncd.cli.process import settle_heap
from syncd.compose import control_dir, engine_factory, open_client, state_path
from syncd.config import Config, check_pair_roots
from syncd.errors import EXIT_OK, ConfigError
from syncd.logs import setup_logging
from syncd.pairlock import PairLock
from syncd.status import read_status

if TYPE_CHECKING:
    from syncd.daemon import Daemon


@click.command("run")
@config_options
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), help="Also log here.")
@click.option("--web", is_flag=True, help="Serve the dashboard for this run (see `syncd web`).")
@transfer_options
@handle_errors
def run(
    config_path: Path | None,
    log_file: Path | None,
    web: bool,
    upload_limit: str | None,
    download_limit: str | None,
    bwlimit: str | None,
    transfers: int | None,
) -> None:
    """Keep every folder pair in sync until SIGTERM or Ctrl-C (what the service runs).

    It logs one line per action applied; -q logs only problems, -v more detail.
    """
    from syncd.daemon import Daemon
    from syncd.desktop import open_notifier

    settle_heap()
    config = with_overrides(load(config_path), upload_limit, download_limit, bwlimit, transfers)
    if web:
        config = replace(config, web=replace(config.web, enabled=True))
    if log_file is not None:  # syncd's own file like the configured one: never in a root
        config = replace(config, logging=replace(config.logging, file=log_file))
        check_pair_roots(config)
    setup_logging(
        verbose=verbosity(),
        level="warning" if quiet() else config.logging.level,
        log_file=config.logging.file,
        max_bytes=config.logging.max_bytes,
        backups=config.logging.backups,
    )
    require_pairs(config)
    with open_client(config) as client:
        client.tokens.access_token()  # not logged in: stop now, with exit 78

        factory = engine_factory(config, client)
        desktop = open_notifier(config.notifications, os.environ)
        try:
            daemon = Daemon(
                config,
                client,
                engine_factory=factory,
                control=control_dir(config),
                desktop=desktop,
            )
            with _dashboard(config, daemon):
                code = daemon.run()
        finally:
            desktop.close()  # what is queued (a pair that stopped) goes out first
    _exit_promptly(code)


def _dashboard(config: Config, daemon: Daemon) -> AbstractContextManager[object]:
    if not config.web.enabled:
        return contextlib.nullcontext()
    # Imported only when asked for: a daemon without the page pays nothing for it.
    from syncd.web.server import serving

    return serving(config, daemon)


def _exit_promptly(code: int) -> None:
    # A transfer thread stuck in a network read must not hold the process past its stop
    # deadline; everything that matters has been committed by now.
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()[1:]):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


@click.command("pause")
@config_options
@click.option("--pair", "pair_name", help="Only this folder pair (default: all of them).")
@handle_errors
def pause(config_path: Path | None, pair_name: str | None) -> None:
    """Pause syncing, every pair or one (transfers in progress stop)."""
    config = load(config_path)
    controls.pause(config, control_dir(config), True, pair_name)
    daemon = wake_daemon(config)
    done = f"paused {pair_name}" if pair_name else "paused"
    note(done if daemon else f"{done} (the daemon is not running; it starts paused)")


@click.command("resume")
@config_options
@click.option("--pair", "pair_name", help="Only this folder pair (default: all of them).")
@handle_errors
def resume(config_path: Path | None, pair_name: str | None) -> None:
    """Resume syncing, every pair or one."""
    config = load(config_path)
    controls.pause(config, control_dir(config), False, pair_name)
    daemon = wake_daemon(config)
    done = f"resumed {pair_name}" if pair_name else "resumed"
    note(done if daemon else f"{done} (the daemon is not running)")
    raise SystemExit(EXIT_OK)


@click.command("reset")
@config_options
@click.option("--pair", "pair_name", help="Reset only this folder pair.")
@yes_option
@handle_errors
def reset(config_path: Path | None, pair_name: str | None, yes: bool) -> None:
    """Forget what was synced (the state DB is kept aside, never wiped) and start over.

    The next sync compares both sides from scratch: files equal on both sides are simply
    recorded, files that differ become conflicted copies, and nothing is deleted anywhere.
    Use it after a root-guard stop you have checked, or when the state DB is unreadable.
    """
    config = load(config_path)
    if read_status(control_dir(config)) is not None:
        raise ConfigError("the daemon is running: stop it first (systemctl --user stop syncd)")
    pairs = [config.pair(pair_name)] if pair_name else list(config.pairs)
    confirm(f"Forget the sync state of {', '.join(p.name for p in pairs)}?", yes=yes)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    for pair in pairs:
        path = state_path(config, pair)
        lock = PairLock(path, pair.name)
        lock.acquire()  # a `syncd sync` in progress must finish first
        moved = False
        for suffix in ("", "-wal", "-shm"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                source.rename(path.with_name(f"{path.name}.reset-{stamp}{suffix}"))
                moved = True
        lock.release()
        where = f" (old state kept as {path.name}.reset-{stamp})" if moved else ""
        note(f"{pair.name}: state forgotten{where}; the next sync starts from scratch")
