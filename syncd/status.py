"""What the daemon is doing, as a small JSON file others can read while it runs.

The daemon (one writer) replaces `status.json` atomically whenever something changes;
`syncd status` reads it, and also asks each pair's store (read-only) for per-path errors
and conflicted copies. `pause` and `resume` leave a flag file and signal the daemon.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATUS_FILE = "status.json"
PID_FILE = "daemon.pid"
PAUSE_FILE = "paused"

IDLE, SYNCING, PAUSED, OFFLINE, ERROR, STARTING = (
    "idle",
    "syncing",
    "paused",
    "offline",
    "error",
    "starting",
)


@dataclass
class PairStatus:
    state: str = STARTING
    message: str = ""
    last_sync: float | None = None
    pending_uploads: int = 0
    pending_downloads: int = 0
    local_root: str = ""
    remote_root: str = ""


@dataclass
class DaemonStatus:
    pid: int
    state: str = STARTING
    updated: float = 0.0
    free_space: int | None = None
    pairs: dict[str, PairStatus] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DaemonStatus:
        pairs = {name: PairStatus(**value) for name, value in data.get("pairs", {}).items()}
        return cls(
            pid=int(data["pid"]),
            state=str(data.get("state", STARTING)),
            updated=float(data.get("updated", 0.0)),
            free_space=data.get("free_space"),
            pairs=pairs,
        )


def overall(states: list[str]) -> str:
    for state in (ERROR, OFFLINE, SYNCING, STARTING, PAUSED):
        if state in states:
            return state
    return IDLE


def write_status(state_dir: Path, status: DaemonStatus) -> None:
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = state_dir / f".{STATUS_FILE}.tmp"
    temp.write_text(json.dumps(status.to_json(), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temp, state_dir / STATUS_FILE)


def read_status(state_dir: Path) -> DaemonStatus | None:
    """The daemon's last status, or None if no daemon is running."""
    pid = running_pid(state_dir)
    if pid is None:
        return None
    try:
        data = json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DaemonStatus(pid=pid)
    status = DaemonStatus.from_json(data)
    return status if status.pid == pid else DaemonStatus(pid=pid)


def write_pid(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (state_dir / PID_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")


def remove_pid(state_dir: Path) -> None:
    path = state_dir / PID_FILE
    try:
        if path.read_text(encoding="utf-8").strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


def running_pid(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def is_paused(state_dir: Path) -> bool:
    return (state_dir / PAUSE_FILE).exists()


def set_paused(state_dir: Path, paused: bool) -> int | None:
    """Flip the pause flag and wake the daemon; returns its pid, or None if none runs."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    flag = state_dir / PAUSE_FILE
    if paused:
        flag.touch()
    else:
        flag.unlink(missing_ok=True)
    pid = running_pid(state_dir)
    if pid is not None:
        os.kill(pid, signal.SIGUSR1)
    return pid
