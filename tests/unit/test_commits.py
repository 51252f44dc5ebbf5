"""The engine's commits on real SQLite: rows of local writes wait for the disk flush that
covers them, batches are committed in order, and the flush does not hold up the run.

The flush is a stand-in that each test releases (a slow disk), so that the order of events
is the test's to choose; `localfs.sync_filesystem` itself is the real one elsewhere.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncd.store import Store
from syncd.sync.commits import COMMIT_EVERY, CommitBatch
from syncd.sync.model import BaseEntry, Kind

HANG_S = 30.0  # only a hang takes this long: the test then fails rather than waits forever


def entry(i: int) -> BaseEntry:
    return BaseEntry(Kind.FILE, i, i * 10, i, f"{i:064x}", f"id{i}", i, i + 1)


class HeldFlush:
    """A disk flush that ends when the test releases it, failing with `error` if one is set."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.error: OSError | None = None
        self.calls = 0
        self.ended = 0
        self._releases = threading.Semaphore(0)

    def __call__(self, folder_fd: int) -> None:
        assert os.path.samestat(os.fstat(folder_fd), os.stat(self.root))
        self.calls += 1
        if not self._releases.acquire(timeout=HANG_S):
            raise TimeoutError("the flush was never released")
        self.ended += 1
        if self.error is not None:
            raise self.error

    def release(self) -> None:
        self._releases.release()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.db") as opened:
        yield opened


@pytest.fixture
def clock() -> list[float]:
    return [0.0]


@pytest.fixture
def flush(tmp_path: Path) -> HeldFlush:
    return HeldFlush(tmp_path)


@pytest.fixture
def batch(store: Store, tmp_path: Path, flush: HeldFlush, clock: list[float]) -> CommitBatch:
    return CommitBatch(store, lambda: clock[0], tmp_path, sync_filesystem=flush)


def _until(condition: Callable[[], bool], step: Callable[[], None] = lambda: None) -> None:
    deadline = time.monotonic() + HANG_S
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        step()
        time.sleep(0.002)


def _downloaded(batch: CommitBatch, rel_path: str, i: int) -> None:
    batch.writes.base[rel_path] = entry(i)
    batch.writes.durable = True


def _seal(batch: CommitBatch, clock: list[float]) -> None:
    clock[0] += COMMIT_EVERY
    batch.maybe_flush()


def test_rows_of_local_writes_wait_for_their_flush_and_the_run_does_not(
    store: Store, batch: CommitBatch, flush: HeldFlush, clock: list[float]
) -> None:
    _downloaded(batch, "downloaded", 1)
    _seal(batch, clock)  # returns at once: the flush is held
    _until(lambda: flush.calls == 1)
    assert store.load_base() == {}
    # Results that need no flush still wait: batches are committed in order.
    batch.writes.base["uploaded"] = entry(2)
    _seal(batch, clock)
    assert store.load_base() == {}
    flush.release()
    _until(lambda: "uploaded" in store.load_base(), batch.maybe_flush)
    assert store.load_base() == {"downloaded": entry(1), "uploaded": entry(2)}
    assert flush.calls == 1
    batch.close()


def test_each_batch_of_local_writes_has_its_own_flush(
    store: Store, batch: CommitBatch, flush: HeldFlush, clock: list[float]
) -> None:
    _downloaded(batch, "first", 1)
    _seal(batch, clock)
    flush.release()
    _until(lambda: "first" in store.load_base(), batch.maybe_flush)
    _downloaded(batch, "second", 2)
    _seal(batch, clock)
    _until(lambda: flush.calls == 2)
    batch.maybe_flush()
    assert "second" not in store.load_base()  # its own flush is still held
    flush.release()
    _until(lambda: "second" in store.load_base(), batch.maybe_flush)
    assert flush.ended == 2
    batch.close()


def test_flush_commits_the_sealed_batch_before_the_newer_one(
    store: Store, batch: CommitBatch, flush: HeldFlush, clock: list[float]
) -> None:
    _downloaded(batch, "a.txt", 1)
    _seal(batch, clock)
    _downloaded(batch, "a.txt", 2)  # downloaded again since: the newer row must win
    flush.release()
    flush.release()
    batch.flush()
    assert store.load_base() == {"a.txt": entry(2)}
    assert flush.ended == 2
    batch.close()


def test_a_failure_is_recorded_after_what_came_before_it(store: Store, batch: CommitBatch) -> None:
    batch.writes.base["uploaded"] = entry(1)
    assert batch.record_failure("b.txt", "upload", "refused") == 1
    assert store.load_base() == {"uploaded": entry(1)}
    assert [failure.rel_path for failure in store.failures()] == ["b.txt"]
    batch.close()


def test_results_without_local_writes_are_committed_without_a_flush(
    store: Store, batch: CommitBatch, flush: HeldFlush, clock: list[float]
) -> None:
    batch.writes.base["uploaded"] = entry(1)
    batch.writes.conflicts.append(("a (conflicted copy).txt", "a.txt", "local"))
    batch.maybe_flush()  # not due yet
    assert store.load_base() == {}
    _seal(batch, clock)
    assert store.load_base() == {"uploaded": entry(1)}
    assert [record.rel_path for record in store.conflicts()] == ["a (conflicted copy).txt"]
    batch.close()
    assert flush.calls == 0


def test_after_a_failed_flush_nothing_more_of_the_run_is_committed(
    store: Store, batch: CommitBatch, flush: HeldFlush, clock: list[float]
) -> None:
    flush.error = OSError(errno.EIO, "I/O error")
    _downloaded(batch, "first", 1)
    _seal(batch, clock)
    _downloaded(batch, "second", 2)  # its pages may be the ones that failed to write back
    batch.writes.base["uploaded"] = entry(3)
    flush.release()
    with pytest.raises(OSError, match="I/O error"):
        _until(lambda: False, batch.maybe_flush)
    _downloaded(batch, "third", 4)
    _seal(batch, clock)
    flush.release()  # were a flush started for it, it would end (and fail) at once
    batch.close()  # raised once: nothing left to commit, nothing raised again
    assert store.load_base() == {}
    assert flush.calls == 1


def test_a_flush_that_fails_at_the_end_is_raised_and_commits_nothing(
    store: Store, batch: CommitBatch, flush: HeldFlush, clock: list[float]
) -> None:
    flush.error = OSError(errno.EIO, "I/O error")
    _downloaded(batch, "first", 1)
    _seal(batch, clock)
    _downloaded(batch, "second", 2)
    flush.release()
    with pytest.raises(OSError, match="I/O error"):
        batch.close()
    assert store.load_base() == {}


def test_close_waits_for_the_flush_commits_everything_and_stops_its_thread(
    store: Store, batch: CommitBatch, flush: HeldFlush, clock: list[float]
) -> None:
    before = set(threading.enumerate())
    _downloaded(batch, "first", 1)
    _seal(batch, clock)
    _downloaded(batch, "second", 2)
    threading.Timer(0.05, flush.release).start()
    flush.release()  # for the second batch's own flush, in `close`
    batch.close()
    assert store.load_base() == {"first": entry(1), "second": entry(2)}
    assert flush.ended == 2
    _until(lambda: not set(threading.enumerate()) - before)  # the Timer ends too
