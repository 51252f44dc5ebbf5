"""`syncd run`, `syncd status`, `syncd pause`, `syncd resume`: the long-running daemon."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from syncd import units
from syncd.cli.common import (
    config_option,
    echo,
    echo_json,
    handle_errors,
    load,
    transfer_options,
    with_overrides,
)
from syncd.cli.process import settle_heap
from syncd.compose import control_dir, make_engine, open_client, state_path
from syncd.config import Config, check_pair_roots
from syncd.errors import EXIT_OK, ConfigError, StateError, StateNotReady
from syncd.logs import setup_logging
from syncd.pairlock import PairLock
from syncd.status import DaemonStatus, read_status, set_paused
from syncd.store import Store


def _require_pairs(config: Config) -> None:
    if not config.pairs:
        raise ConfigError(
            "no folder pairs configured: add a `pairs:` entry (see config.example.yaml)",
            file=config.source,
        )


@click.command("run")
@config_option
@click.option("-v", "--verbose", count=True, help="More log detail (-vv: HTTP too).")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), help="Also log here.")
@transfer_options
@handle_errors
def run(
    config_path: Path | None,
    verbose: int,
    log_file: Path | None,
    upload_limit: str | None,
    download_limit: str | None,
    transfers: int | None,
) -> None:
    """Keep every folder pair in sync until SIGTERM or Ctrl-C (what the service runs)."""
    from syncd.daemon import Daemon
    from syncd.desktop import open_notifier

    settle_heap()
    config = with_overrides(load(config_path), upload_limit, download_limit, transfers)
    if log_file is not None:  # syncd's own file like the configured one: never in a root
        config = replace(config, logging=replace(config.logging, file=log_file))
        check_pair_roots(config)
    setup_logging(
        verbose=verbose,
        level=config.logging.level,
        log_file=config.logging.file,
        max_bytes=config.logging.max_bytes,
        backups=config.logging.backups,
    )
    _require_pairs(config)
    with open_client(config) as client:
        client.tokens.access_token()  # not logged in: stop now, with exit 78

        def engine_factory(pair, store, stop, limits):  # type: ignore[no-untyped-def]
            return make_engine(config, pair, store, client, stop=stop, limits=limits)

        desktop = open_notifier(config.notifications, os.environ)
        try:
            code = Daemon(
                config,
                client,
                engine_factory=engine_factory,
                control=control_dir(config),
                desktop=desktop,
            ).run()
        finally:
            desktop.close()  # what is queued (a pair that stopped) goes out first
    _exit_promptly(code)


def _exit_promptly(code: int) -> None:
    # A transfer thread stuck in a network read must not hold the process past its stop
    # deadline; everything that matters has been committed by now.
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()[1:]):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


def _when(stamp: float | None) -> str:
    if not stamp:
        return "never"
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _pair_details(config: Config) -> tuple[dict[str, dict[str, Any]], list[StateError]]:
    """What each pair's store says, and the stores that cannot be used as they are."""
    details: dict[str, dict[str, Any]] = {}
    unusable: list[StateError] = []
    for pair in config.pairs:
        info: dict[str, Any] = {
            "local": str(pair.local_root),
            "remote": pair.remote_root,
            "errors": [],
            "conflicts": [],
            "last_sync": None,
        }
        path = state_path(config, pair)
        try:
            with Store.open(path, readonly=True) as store:
                raw = store.get_meta("last_sync")
                info["last_sync"] = float(raw) if raw else None
                info["errors"] = [
                    {
                        "path": f.rel_path,
                        "action": f.action,
                        "message": f.message,
                        "attempts": f.attempts,
                        "retry_at": f.retry_at,
                    }
                    for f in store.failures()
                ]
                info["conflicts"] = [
                    c.rel_path for c in store.conflicts() if (pair.local_root / c.rel_path).exists()
                ]
        except StateError as exc:
            info["state_problem"] = str(exc)
            if not isinstance(exc, StateNotReady):  # the user must act
                unusable.append(exc)
        details[pair.name] = info
    return details, unusable


@click.command("status")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def status(config_path: Path | None, as_json: bool) -> None:
    """Show what the daemon is doing, per-path errors, conflicted copies and free space."""
    config = load(config_path)
    daemon = read_status(control_dir(config))
    details, unusable = _pair_details(config)
    if daemon is not None:
        for name, pair_status in daemon.pairs.items():
            if name not in details:
                continue  # a pair this config no longer has
            details[name].update(
                state=pair_status.state,
                message=pair_status.message,
                pending_uploads=pair_status.pending_uploads,
                pending_downloads=pair_status.pending_downloads,
            )
            if pair_status.last_sync:
                details[name]["last_sync"] = pair_status.last_sync
    result = {
        "daemon": "running" if daemon else "not running",
        "pid": daemon.pid if daemon else None,
        "state": daemon.state if daemon else "stopped",
        "free_space": daemon.free_space if daemon else None,
        "cloud_problem": daemon.cloud_problem if daemon else None,
        "limits": {
            "upload": daemon.upload_limit if daemon else config.sync.upload_limit,
            "download": daemon.download_limit if daemon else config.sync.download_limit,
        },
        "pairs": details,
    }
    if as_json:
        echo_json(result)
    else:
        _show_status(result, details, daemon)
    if unusable:  # shown with its pair; the exit code says the user must act
        raise SystemExit(unusable[0].exit_code)


def _show_status(
    result: dict[str, Any], details: dict[str, dict[str, Any]], daemon: DaemonStatus | None
) -> None:
    head = f"syncd: {result['state']}"
    head += f" (pid {daemon.pid})" if daemon else " (daemon not running)"
    if daemon and daemon.free_space is not None:
        head += f", cloud free space {units.size(daemon.free_space)}"
    echo(head)
    if daemon and daemon.cloud_problem:
        echo(f"  the cloud does not answer: {daemon.cloud_problem}; retrying")
    limits = result["limits"]
    echo(f"  limits: up {units.rate(limits['upload'])}, down {units.rate(limits['download'])}")
    for name, info in details.items():
        state = info.get("state", "-")
        echo(f"  {name}: {state}  {info['local']} <-> {info['remote']}")
        echo(f"    last sync: {_when(info.get('last_sync'))}")
        if info.get("message"):
            echo(f"    {info['message']}")
        if info.get("pending_uploads") or info.get("pending_downloads"):
            echo(
                f"    pending: {info['pending_uploads']} uploads, "
                f"{info['pending_downloads']} downloads"
            )
        if info.get("state_problem"):
            echo(f"    state: {info['state_problem']}")
        for error in info["errors"]:
            retry = "" if error["retry_at"] < time.time() else f", retry {_when(error['retry_at'])}"
            echo(
                f"    error: {error['path']}: {error['action']}: {error['message']} "
                f"(attempt {error['attempts']}{retry})"
            )
        for copy in info["conflicts"]:
            echo(f"    conflicted copy: {copy}")


@click.command("pause")
@config_option
@handle_errors
def pause(config_path: Path | None) -> None:
    """Pause syncing in the running daemon (transfers in progress stop)."""
    config = load(config_path)
    daemon = set_paused(control_dir(config), True)
    echo("paused" if daemon else "paused (the daemon is not running; it starts paused)")


@click.command("resume")
@config_option
@handle_errors
def resume(config_path: Path | None) -> None:
    """Resume syncing in the running daemon."""
    config = load(config_path)
    daemon = set_paused(control_dir(config), False)
    echo("resumed" if daemon else "resumed (the daemon is not running)")
    raise SystemExit(EXIT_OK)


@click.command("reset")
@config_option
@click.option("--pair", "pair_name", help="Reset only this folder pair.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
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
    if not yes:
        names = ", ".join(p.name for p in pairs)
        click.confirm(f"Forget the sync state of {names}?", abort=True)
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
        echo(f"{pair.name}: state forgotten{where}; the next sync starts from scratch")
