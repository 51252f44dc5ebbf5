"""`syncd` under cProfile, every thread: `python -m tests.bench.profiled OUT syncd-args...`.

Writes `OUT.main.prof` (the main thread: start-up, scans, planning, recording outcomes) and
`OUT.threads.prof` (every other thread merged: the transfer pool), both for `pstats` or
`snakeviz`. `python -m cProfile` would see the main thread only, and write nothing at all:
a one-off `syncd sync` ends its process itself (`syncd.cli.process.end_process`), which
skips the interpreter's shutdown where cProfile writes; the program's `on_end` writes them
instead. Times are CPU seconds of each thread (`time.thread_time`), inflated by the
profiling itself: read them as shares, not as figures. A wall clock would charge every
thread's wait for the GIL to whatever C call it had just made (a `recv`, an `openat2`).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any


class ThreadProfiles:
    """One `cProfile.Profile` per thread (a profiler sees only the thread that enabled it):
    the main thread's from `start`, each later thread's from its first event."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.main = cProfile.Profile(time.thread_time)
        self.threads: list[cProfile.Profile] = []
        self.written = False

    def start(self) -> None:
        threading.setprofile(self._enable_in_thread)
        self.main.enable()

    def _enable_in_thread(self, _frame: FrameType, _event: str, _arg: Any) -> None:
        # Replaces this hook in the new thread (list.append is atomic under the GIL).
        profile = cProfile.Profile(time.thread_time)
        self.threads.append(profile)
        profile.enable()

    def write(self) -> None:
        if self.written:
            return
        self.written = True
        self.main.disable()
        threading.setprofile(None)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.main.dump_stats(f"{self.out}.main.prof")
        # Stats() of a profile disables it in the calling thread (this one, already done)
        # and takes what it has gathered.
        pstats.Stats(*self.threads).dump_stats(f"{self.out}.threads.prof")


def main(argv: list[str]) -> None:
    from syncd.cli import run
    from syncd.cli.process import Program

    out, args = Path(argv[0]), argv[1:]
    profiles = ThreadProfiles(out)
    sys.argv = ["syncd", *args]
    profiles.start()
    try:
        run(Program(on_end=profiles.write))
    finally:  # a command that returned rather than ending the process itself
        profiles.write()


if __name__ == "__main__":
    main(sys.argv[1:])
