"""What the daemon is doing, as a small JSON file others can read while it runs.

The daemon (one writer) replaces `status.json` atomically whenever something changes;
`syncd status` reads it, and also asks each pair's store (read-only) for per-path errors
and conflicted copies. `pause` and `resume` leave a flag file and signal the daemon, which
is known by its pid and its start time together (`DaemonId`), never by its pid alone.
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
    # The bandwidth limits in force (bytes/s, 0 = none), after any `syncd limit`.
    upload_limit: int = 0
    download_limit: int = 0
    # Why the last cloud call failed, while the cloud does not answer; None when it does.
    cloud_problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DaemonStatus:
        """Read a status file leniently: one written by another syncd version may lack keys
        or have more."""
        known = set(PairStatus.__dataclass_fields__)
        pairs = {
            str(name): PairStatus(**{k: v for k, v in value.items() if k in known})
            for name, value in (data.get("pairs") or {}).items()
            if isinstance(value, dict)
        }
        return cls(
            pid=int(data["pid"]),
            state=str(data.get("state", STARTING)),
            updated=float(data.get("updated", 0.0)),
            free_space=data.get("free_space"),
            pairs=pairs,
            upload_limit=int(data.get("upload_limit") or 0),
            download_limit=int(data.get("download_limit") or 0),
            cloud_problem=data.get("cloud_problem"),
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
    daemon = running_daemon(state_dir)
    if daemon is None:
        return None
    try:
        data = json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))
        status = DaemonStatus.from_json(data)
    except (OSError, ValueError, TypeError, KeyError):
        return DaemonStatus(pid=daemon.pid)
    return status if status.pid == daemon.pid else DaemonStatus(pid=daemon.pid)


# --- which process is the daemon -----------------------------------------------------------
# A pid alone is no identity: after a crash the number is handed to another process, and a
# signal meant for the daemon would reach it (SIGUSR1 ends most programs). The pid file also
# holds the process's start time (in clock ticks since boot, from /proc), and a process
# counts as the daemon only while its own start time is that one.


@dataclass(frozen=True, slots=True)
class DaemonId:
    pid: int
    start: int  # /proc/PID/stat field 22: when the process started, in ticks since boot

    def render(self) -> str:
        return f"{self.pid} {self.start}\n"

    @classmethod
    def parse(cls, text: str) -> DaemonId | None:
        parts = text.split()
        if len(parts) != 2 or not all(part.isdigit() for part in parts):
            return None  # an older pid file, or another program's: no identity to check
        return cls(int(parts[0]), int(parts[1]))

    @classmethod
    def of_this_process(cls) -> DaemonId:
        pid = os.getpid()
        start = process_start(pid)
        assert start is not None, "/proc is not mounted"
        return cls(pid, start)

    def alive(self) -> bool:
        return process_start(self.pid) == self.start


def process_start(pid: int) -> int | None:
    """When process `pid` started (ticks since boot), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def write_pid(state_dir: Path) -> DaemonId:
    """Say that this process is the daemon (only once it holds its pairs' locks)."""
    me = DaemonId.of_this_process()
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = state_dir / f".{PID_FILE}.{me.pid}.tmp"
    temp.write_text(me.render(), encoding="utf-8")
    os.replace(temp, state_dir / PID_FILE)
    return me


def remove_pid(state_dir: Path, me: DaemonId) -> None:
    """Remove the pid file if it still names `me` (never another daemon's)."""
    path = state_dir / PID_FILE
    try:
        if DaemonId.parse(path.read_text(encoding="utf-8")) == me:
            path.unlink()
    except OSError:
        pass


def running_daemon(state_dir: Path) -> DaemonId | None:
    """The daemon the pid file names, if that very process is still running."""
    try:
        daemon = DaemonId.parse((state_dir / PID_FILE).read_text(encoding="utf-8"))
    except OSError:
        return None
    return daemon if daemon is not None and daemon.alive() else None


def signal_daemon(state_dir: Path, signum: int = signal.SIGUSR1) -> DaemonId | None:
    """Send `signum` to the running daemon (and to no other process); returns it, or None."""
    daemon = running_daemon(state_dir)
    if daemon is None:
        return None
    try:
        # A descriptor of the process, checked again, then signalled through it: the pid
        # cannot pass to another process in between.
        fd = os.pidfd_open(daemon.pid)
    except OSError:
        return None
    try:
        if not daemon.alive():
            return None
        signal.pidfd_send_signal(fd, signum)
    except OSError:
        return None
    finally:
        os.close(fd)
    return daemon
