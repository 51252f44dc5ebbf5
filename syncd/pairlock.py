"""One process per folder pair: `syncd sync` and `syncd run` must not both write a pair.

An advisory `flock` on a file beside the pair's state DB; the kernel drops it when the
process dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from syncd.errors import SyncdError


class PairBusy(SyncdError):
    """Another syncd process is syncing this pair right now."""


class PairLock:
    def __init__(self, state_db: Path, pair_name: str) -> None:
        self.path = state_db.with_name("lock")
        self.pair_name = pair_name
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise PairBusy(
                f"pair {self.pair_name!r} is being synced by another syncd process "
                f"(pid {holder}); stop it first (`syncd run` keeps it in sync anyway)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> PairLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
