"""The daemon's per-pair runner, in-process, against the emulator: what makes it run a pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.store import Store
from syncd.sync.runner import PairRunner
from syncd.sync.watcher import FULL_RESCAN
from tests.integration.harness import Harness
from tests.integration.test_daemon import wait_for


class QuietWatcher:
    """A watcher that sends nothing by itself: the test posts the hints."""

    problem: str | None = None

    def start(self) -> bool:
        return True

    def alive(self) -> bool:
        return True

    def restart(self) -> bool:
        return True

    def stop(self) -> None:
        pass


@pytest.fixture
def runner(h: Harness, tmp_path: Path) -> Iterator[PairRunner]:
    h.write("first.txt", "synced before")
    h.converge()
    with Store.open(h.db_path) as store:
        pair_runner = PairRunner(
            h.pair.name,
            lambda observers: h.engine(store, observers=observers),
            debounce_s=1.0,  # a burst of hints is one pass, as the watcher's burst is
            full_rescan_s=3600.0,
            paused=lambda: False,
            make_watcher=lambda _: QuietWatcher(),  # type: ignore[arg-type,return-value]
        )
        pair_runner.start()
        try:
            wait_for(lambda: pair_runner.status.state == "idle", 60, "the first pass")
            yield pair_runner
        finally:
            pair_runner.engine.stop.set()
            pair_runner.halt()
            pair_runner.join(60)


@pytest.mark.timeout(600)  # 2,001 uploads on a busy machine
@pytest.mark.parametrize("how", ["too-many-hints", "watcher-overflow"])
def test_a_burst_too_big_for_hints_is_synced_at_once(
    h: Harness, runner: PairRunner, how: str
) -> None:
    """Over 2,000 changed paths, or an inotify queue overflow, make the runner rescan the
    whole folder: that rescan must be followed by a pass, not wait for the hourly one."""
    names = [f"burst/f{index:04}.txt" for index in range(2001)]
    h.emulator.stats.reset()
    for name in names:
        h.write(name, name)
    # As the watcher sends them: the new folder first, then what is in it.
    hints = ["burst", *names] if how == "too-many-hints" else [FULL_RESCAN]
    for rel_path in hints:
        runner.hint(rel_path)
    wait_for(lambda: h.emulator.stats.snapshot().calls["upload"] >= 2001, 300, "the burst uploaded")
    wait_for(lambda: runner.status.state == "idle", 120, "the pass to end")
    assert h.remote_read("burst/f2000.txt") == b"burst/f2000.txt"
