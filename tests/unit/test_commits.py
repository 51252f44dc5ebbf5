"""The engine's commits on real SQLite: rows of local writes wait for the disk flush that
covers them, and that flush does not hold up the run."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncd.store import Store
from syncd.sync import localfs
from syncd.sync.commits import COMMIT_EVERY, CommitBatch
from syncd.sync.model import BaseEntry, Kind

WAIT_S = 5.0  # a flush held longer than this is a hang: the test fails, not waits forever


def entry(i: int) -> BaseEntry:
    return BaseEntry(Kind.FILE, i, i * 10, i, f"{i:064x}", f"id{i}", i, i + 1)


class HeldFlush:
    """The real `syncfs`, held until `release` (a slow disk), or failing."""

    def __init__(self, error: OSError | None = None) -> None:
        self.started = threading.Event()
        self.released = threading.Event()
        self.error = error
        self.calls = 0

    def __call__(self, root: Path) -> None:
        self.calls += 1
        self.started.set()
        if not self.released.wait(WAIT_S):
            raise TimeoutError("the flush was never released")
        if self.error is not None:
            raise self.error
        localfs.sync_filesystem(root)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.db") as opened:
        yield opened


def _batch(
    store: Store, root: Path, flush: Callable[[Path], None]
) -> tuple[CommitBatch, list[float]]:
    clock = [0.0]
    return CommitBatch(store, lambda: clock[0], root, sync_filesystem=flush), clock


def _until(condition: Callable[[], bool], step: Callable[[], None]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        step()
        time.sleep(0.005)


def test_rows_of_local_writes_wait_for_their_flush_and_the_run_does_not(
    store: Store, tmp_path: Path
) -> None:
    flush = HeldFlush()
    batch, clock = _batch(store, tmp_path, flush)
    batch.writes.base["downloaded"] = entry(1)
    batch.writes.durable = True
    clock[0] = COMMIT_EVERY
    batch.maybe_flush()  # returns at once: the flush is held
    assert flush.started.wait(WAIT_S) and not flush.released.is_set()
    assert store.load_base() == {}
    # Results that need no flush still wait: batches are committed in order.
    batch.writes.base["uploaded"] = entry(2)
    clock[0] = 2 * COMMIT_EVERY
    batch.maybe_flush()
    assert store.load_base() == {}
    flush.release()
    _until(lambda: "uploaded" in store.load_base(), batch.maybe_flush)
    assert store.load_base() == {"downloaded": entry(1), "uploaded": entry(2)}
    assert flush.calls == 1
    batch.close()


def test_results_without_local_writes_are_committed_without_a_flush(
    store: Store, tmp_path: Path
) -> None:
    flush = HeldFlush()
    batch, clock = _batch(store, tmp_path, flush)
    batch.writes.base["uploaded"] = entry(1)
    batch.writes.conflicts.append(("a (conflicted copy).txt", "a.txt", "local"))
    batch.maybe_flush()  # not due yet
    assert store.load_base() == {}
    clock[0] = COMMIT_EVERY
    batch.maybe_flush()
    assert store.load_base() == {"uploaded": entry(1)}
    assert [record.rel_path for record in store.conflicts()] == ["a (conflicted copy).txt"]
    batch.close()
    assert flush.calls == 0


def test_a_failed_flush_commits_none_of_its_rows_and_is_raised(
    store: Store, tmp_path: Path
) -> None:
    flush = HeldFlush(OSError(errno.EIO, "I/O error"))
    batch, clock = _batch(store, tmp_path, flush)
    batch.writes.base["downloaded"] = entry(1)
    batch.writes.durable = True
    clock[0] = COMMIT_EVERY
    batch.maybe_flush()
    flush.release()
    with pytest.raises(OSError, match="I/O error"):
        _until(lambda: False, batch.maybe_flush)
    assert store.load_base() == {}
    batch.close()  # nothing left to commit, nothing raised again
    assert store.load_base() == {}


def test_close_waits_for_the_flush_commits_everything_and_stops_its_thread(
    store: Store, tmp_path: Path
) -> None:
    flush = HeldFlush()
    batch, clock = _batch(store, tmp_path, flush)
    batch.writes.base["first"] = entry(1)
    batch.writes.durable = True
    clock[0] = COMMIT_EVERY
    batch.maybe_flush()
    batch.writes.base["second"] = entry(2)
    batch.writes.durable = True
    assert flush.started.wait(WAIT_S)
    threading.Timer(0.05, flush.release).start()
    batch.close()
    assert store.load_base() == {"first": entry(1), "second": entry(2)}
    assert flush.calls == 2  # the second batch's own flush, before its commit
    assert not [t for t in threading.enumerate() if t.name.startswith("syncd-flush")]
