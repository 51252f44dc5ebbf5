"""`syncd status`: what the daemon is doing, and what each pair's state DB says.

It starts fast (under a quarter of a second of CPU): nothing here imports the cloud client,
the engine or SQLAlchemy; the state DBs are read through `syncd.details`.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from syncd import units
from syncd.cli.common import (
    config_in_use,
    config_options,
    echo,
    echo_json,
    handle_errors,
    iso_utc,
    load,
    with_given_config,
)
from syncd.config import Config
from syncd.details import failure_json, pair_details
from syncd.errors import StateError, StateNotReady
from syncd.locations import control_dir
from syncd.status import DaemonStatus, read_status


def _when(stamp: float | None) -> str:
    if not stamp:
        return "never"
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _pair_details(config: Config) -> tuple[dict[str, dict[str, Any]], list[StateError]]:
    """What each pair's store says, and the stores that cannot be used as they are."""
    details: dict[str, dict[str, Any]] = {}
    unusable: list[StateError] = []
    for pair in config.pairs:
        found = pair_details(config, pair)
        info: dict[str, Any] = {
            "local": str(pair.local_root),
            "remote": pair.remote_root,
            "last_sync": found.last_sync,
            "errors": [failure_json(f) for f in found.failures],
            "conflicts": [c.rel_path for c in found.conflicts],
        }
        if found.error is not None:
            info["state_problem"] = str(found.error)
            if not isinstance(found.error, StateNotReady):  # the user must act
                unusable.append(found.error)
        details[pair.name] = info
    return details, unusable


@click.command("status")
@config_options
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
        echo_json({**result, "pairs": {name: _stamped(info) for name, info in details.items()}})
    else:
        _show_status(config, result, details, daemon)
    if unusable:  # shown with its pair; the exit code says the user must act
        raise SystemExit(unusable[0].exit_code)


def _stamped(info: dict[str, Any]) -> dict[str, Any]:
    """A pair's details with their times as every `--json` gives them (`iso_utc`)."""
    errors = [{**error, "retry_at": iso_utc(error["retry_at"])} for error in info["errors"]]
    return {**info, "last_sync": iso_utc(info["last_sync"]), "errors": errors}


def _no_pairs(config: Config) -> str:
    if config.source is None:
        return f"  no folder pairs: {config_in_use()} does not exist (`syncd init` writes one)"
    return f"  no folder pairs in {config.source} (`syncd init --example` prints a complete config)"


def say(text: str) -> None:
    """A status line; the fixes it suggests (the daemon's, the state DB's) keep the
    `--config` given to this command."""
    echo(with_given_config(text))


def _show_status(
    config: Config,
    result: dict[str, Any],
    details: dict[str, dict[str, Any]],
    daemon: DaemonStatus | None,
) -> None:
    head = f"syncd: {result['state']}"
    head += f" (pid {daemon.pid})" if daemon else " (daemon not running)"
    if daemon and daemon.free_space is not None:
        head += f", cloud free space {units.size(daemon.free_space)}"
    say(head)
    if daemon and daemon.cloud_problem:
        say(f"  the cloud does not answer: {daemon.cloud_problem}; retrying")
    limits = result["limits"]
    say(f"  limits: up {units.rate(limits['upload'])}, down {units.rate(limits['download'])}")
    if not details:
        say(_no_pairs(config))
    for name, info in details.items():
        state = info.get("state", "-")
        say(f"  {name}: {state}  {info['local']} <-> {info['remote']}")
        say(f"    last sync: {_when(info.get('last_sync'))}")
        if info.get("message"):
            say(f"    {info['message']}")
        if info.get("pending_uploads") or info.get("pending_downloads"):
            uploads = units.plural(info["pending_uploads"], "upload")
            say(f"    pending: {uploads}, {units.plural(info['pending_downloads'], 'download')}")
        if info.get("state_problem"):
            say(f"    state: {info['state_problem']}")
        for error in info["errors"]:
            retry = "" if error["retry_at"] < time.time() else f", retry {_when(error['retry_at'])}"
            say(
                f"    error: {error['path']}: {error['action']}: {error['message']} "
                f"(attempt {error['attempts']}{retry})"
            )
        for copy in info["conflicts"]:
            say(f"    conflicted copy: {copy}")
