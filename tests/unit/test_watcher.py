"""The watcher turns file-system events into dirty paths, and overflows into one full rescan."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from syncd.sync.watcher import FULL_RESCAN, Watcher, _OverflowListener


def wait_for_hints(hints: set[str], lock: threading.Lock, wanted: set[str]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if wanted <= hints:
                return True
        time.sleep(0.02)
    return False


def test_real_changes_become_hints_and_reads_do_not(tmp_path: Path) -> None:
    (tmp_path / "existing.txt").write_text("x")
    (tmp_path / ".syncd").mkdir()
    hints: set[str] = set()
    lock = threading.Lock()

    def hint(rel_path: str) -> None:
        with lock:
            hints.add(rel_path)

    watcher = Watcher(tmp_path, hint)
    assert watcher.start()
    try:
        # Events arrive in order: once a later write's hint is in, an earlier event's would be.
        (tmp_path / "existing.txt").read_text()  # opens and read-only closes: no hint
        (tmp_path / "barrier-1").write_text("b")
        assert wait_for_hints(hints, lock, {"barrier-1"})
        with lock:
            assert hints == {"barrier-1"}
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "new.txt").write_text("n")
        os.rename(tmp_path / "existing.txt", tmp_path / "renamed.txt")
        (tmp_path / ".syncd" / "ours").write_text("never a hint")
        (tmp_path / "barrier-2").write_text("b")
        wanted = {"d", "d/new.txt", "existing.txt", "renamed.txt", "barrier-2"}
        assert wait_for_hints(hints, lock, wanted)
        with lock:
            assert not any(h.startswith(".syncd") for h in hints)
    finally:
        watcher.stop()
    assert not watcher.alive()


def test_overflow_asks_for_one_full_rescan_per_cooldown() -> None:
    now = [100.0]
    calls: list[str] = []
    listener = _OverflowListener(lambda: calls.append(FULL_RESCAN), clock=lambda: now[0])

    def overflow() -> None:
        record = logging.LogRecord(
            "watchdog.observers.inotify_c",
            logging.WARNING,
            __file__,
            1,
            "Inotify queue overflowed; filesystem events were lost",
            None,
            None,
        )
        listener.emit(record)

    overflow()
    overflow()
    now[0] += 31
    overflow()
    assert calls == [FULL_RESCAN, FULL_RESCAN]
