"""The engine's writes to the state DB during a run, batched, and durable in the right order.

A base row says a file is on the disk as described. Where an action wrote locally, the disk
must hold what it wrote before its row is committed: otherwise a power cut turns a
half-written download into a "local edit". One `syncfs(2)` per commit (every
`COMMIT_EVERY` seconds) gives that for every file of the batch at once.

That flush runs on a helper thread while transfers go on; the batch it covers is committed
once it is done. Until then later results gather in the next batch, and batches are
committed in the order they were sealed. On a disk where a flush takes a while, transfers
would otherwise wait for each one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from syncd.store import Store
from syncd.sync import localfs
from syncd.sync.model import BaseEntry

COMMIT_EVERY = 0.25  # seconds: results are batched into one commit this often


@dataclass
class Writes:
    """What one commit writes (a transaction per kind of row, in this order)."""

    base: dict[str, BaseEntry | None] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)  # failures that are no more
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)
    retries: dict[str, float] = field(default_factory=dict)
    durable: bool = False  # local files or folders changed: the disk is flushed first

    def wrote_locally(self) -> None:
        self.durable = True

    def commit(self, store: Store) -> None:
        if self.base:
            store.apply(self.base)
        if self.cleared:
            store.clear_failures(self.cleared)
        for copy, original, loser in self.conflicts:
            store.add_conflict(copy, original, loser)
        for rel_path, when in self.retries.items():
            store.set_retry(rel_path, when)


class CommitBatch:
    """Results of one run, committed at most every `COMMIT_EVERY` seconds.

    Results are recorded only after their action succeeded; batching only decides how many
    of them share one commit. Used from the engine thread only; `close` when done.

    Once a flush has failed, nothing more of the run is committed: the disk may not hold
    what that batch or any later one describes (a failed writeback is reported once). The
    failure is raised once; what was not committed is found again by the next scan.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        root: Path,
        *,
        sync_filesystem: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        # Looked up now rather than when the module loads: a patched `localfs` reaches it.
        self._sync_filesystem = sync_filesystem or localfs.sync_filesystem
        # Opened before the run writes anything, so that every failed writeback of the run
        # is reported to it (see `localfs.sync_filesystem`).
        self._root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        self.writes = Writes()  # the batch being gathered
        self._sealed: tuple[Future[None], Writes] | None = None  # waiting for its flush
        self._flusher: ThreadPoolExecutor | None = None
        self._failed = False
        self._last = clock()  # when the last commit was started

    def take(self, base: dict[str, BaseEntry | None], *, durable: bool) -> None:
        """Base rows of one action (None deletes one); `durable`: it wrote to the disk."""
        self.writes.base.update(base)
        if durable:
            self.writes.wrote_locally()

    def conflict(self, copy: str, original: str, loser: str) -> None:
        self.writes.conflicts.append((copy, original, loser))

    def cleared(self, rel_path: str) -> None:
        """`rel_path`, which had failed, has now succeeded."""
        self.writes.cleared.append(rel_path)

    def retry(self, rel_path: str, when: float) -> None:
        self.writes.retries[rel_path] = when

    def record_failure(self, rel_path: str, action: str, message: str) -> int:
        self.flush()
        return self.store.record_failure(rel_path, action, message, self.clock())

    def maybe_flush(self) -> None:
        """Commit what is due without waiting for the disk."""
        if self._sealed is not None:
            if not self._sealed[0].done():
                return
            self._commit_sealed()
        now = self.clock()
        if self._failed or now - self._last < COMMIT_EVERY:
            return
        self._last = now
        writes, self.writes = self.writes, Writes()
        if writes.durable:
            if self._flusher is None:
                self._flusher = ThreadPoolExecutor(1, thread_name_prefix="syncd-flush")
            flushed = self._flusher.submit(self._sync_filesystem, self._root_fd)
            self._sealed = (flushed, writes)
        else:
            writes.commit(self.store)

    def flush(self) -> None:
        """Commit everything recorded so far, now."""
        self._last = self.clock()
        if self._sealed is not None:
            self._commit_sealed()
        writes, self.writes = self.writes, Writes()
        if self._failed:
            return
        if writes.durable:
            try:
                self._sync_filesystem(self._root_fd)
            except Exception:
                self._failed = True
                raise
        writes.commit(self.store)

    def close(self) -> None:
        """Commit everything recorded so far, and stop the flushing thread."""
        try:
            self.flush()
        finally:
            if self._flusher is not None:
                self._flusher.shutdown(wait=True)
                self._flusher = None
            os.close(self._root_fd)

    def _commit_sealed(self) -> None:
        assert self._sealed is not None
        flushed, writes = self._sealed
        self._sealed = None
        try:
            flushed.result()
        except Exception:
            self._failed = True
            raise
        writes.commit(self.store)
