"""An in-memory world for testing the reconciler: two trees of contents and a base.

A tree maps rel_path -> content (a str) for files, or DIR for folders. The world makes the
snapshots the reconciler sees (metadata derived from a counter, so every write looks new),
and applies a plan the way the real executor would, minus I/O and failures.
"""

from __future__ import annotations

import hashlib
import itertools
import posixpath
from dataclasses import dataclass, field

from syncd.sync.model import (
    BaseEntry,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    Download,
    Kind,
    LocalEntry,
    MkdirLocal,
    MkdirRemote,
    MoveLocal,
    MoveRemote,
    Plan,
    Policy,
    Record,
    RemoteEntry,
    Skip,
    Upload,
)
from syncd.sync.reconcile import reconcile

DIR = "<dir>"


def digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


@dataclass
class World:
    local: dict[str, str] = field(default_factory=dict)
    remote: dict[str, str] = field(default_factory=dict)
    base: dict[str, BaseEntry] = field(default_factory=dict)
    local_meta: dict[str, LocalEntry] = field(default_factory=dict)
    remote_meta: dict[str, RemoteEntry] = field(default_factory=dict)
    base_content: dict[str, str] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- building ----------------------------------------------------------------------

    def _local_entry(self, content: str) -> LocalEntry:
        tick = next(self.counter)
        if content == DIR:
            return LocalEntry(Kind.DIR, inode=tick)
        return LocalEntry(Kind.FILE, len(content), tick * 1000, tick, digest(content))

    def _remote_entry(self, rel_path: str, content: str) -> RemoteEntry:
        tick = next(self.counter)
        if content == DIR:
            return RemoteEntry(Kind.DIR, rel_path + "/")
        return RemoteEntry(Kind.FILE, rel_path, len(content), tick, tick)

    def put_local(self, rel_path: str, content: str) -> None:
        for parent in _parents(rel_path):
            if self.local.get(parent) != DIR:
                self.local[parent] = DIR
                self.local_meta[parent] = self._local_entry(DIR)
        self.local[rel_path] = content
        self.local_meta[rel_path] = self._local_entry(content)

    def put_remote(self, rel_path: str, content: str) -> None:
        for parent in _parents(rel_path):
            if self.remote.get(parent) != DIR:
                self.remote[parent] = DIR
                self.remote_meta[parent] = self._remote_entry(parent, DIR)
        self.remote[rel_path] = content
        self.remote_meta[rel_path] = self._remote_entry(rel_path, content)

    def touch_local(self, rel_path: str) -> None:
        """New mtime, same bytes."""
        entry = self.local_meta[rel_path]
        self.local_meta[rel_path] = LocalEntry(
            entry.kind, entry.size, next(self.counter) * 1000, entry.inode, entry.sha256
        )

    def remove_local(self, rel_path: str) -> None:
        for path in [p for p in self.local if is_within(p, rel_path)]:
            del self.local[path]
            del self.local_meta[path]

    def remove_remote(self, rel_path: str) -> None:
        for path in [p for p in self.remote if is_within(p, rel_path)]:
            del self.remote[path]
            del self.remote_meta[path]

    def move_local(self, src: str, dst: str) -> None:
        """A rename: inodes and mtimes travel with the items."""
        for path in sorted(p for p in self.local if is_within(p, src)):
            new = dst + path[len(src) :]
            self.local[new] = self.local.pop(path)
            self.local_meta[new] = self.local_meta.pop(path)

    def move_remote(self, src: str, dst: str) -> None:
        """A server-side move: ids change, sizes and creation dates stay."""
        for path in sorted(p for p in self.remote if is_within(p, src)):
            new = dst + path[len(src) :]
            content = self.remote.pop(path)
            old = self.remote_meta.pop(path)
            self.remote[new] = content
            self.remote_meta[new] = RemoteEntry(
                old.kind,
                new + ("/" if old.kind is Kind.DIR else ""),
                old.size,
                old.created,
                next(self.counter) if old.kind is Kind.FILE else 0,
            )

    def synced(self) -> None:
        """Declare both trees synced: equal trees become the base."""
        assert self.local == self.remote, "only equal trees can be declared synced"
        self.base = {
            path: BaseEntry.of(self.local_meta[path], self.remote_meta[path]) for path in self.local
        }
        self.base_content = dict(self.local)

    # --- snapshots and plans -----------------------------------------------------------

    def plan(self, policy: Policy | None = None) -> Plan:
        return reconcile(self.local_meta, self.base, self.remote_meta, policy or Policy())

    def apply(self, plan: Plan) -> None:
        for action in _ordered(plan):
            self._apply(action)

    def sync(self, policy: Policy | None = None, max_passes: int = 8) -> int:
        """Plan and apply until nothing is left to do; returns the number of passes."""
        for passes in range(max_passes):
            plan = self.plan(policy)
            if not plan:
                return passes
            self.apply(plan)
        raise AssertionError(f"no convergence after {max_passes} passes: {self.plan(policy)}")

    def _set_base(self, rel_path: str) -> None:
        self.base[rel_path] = BaseEntry.of(self.local_meta[rel_path], self.remote_meta[rel_path])
        self.base_content[rel_path] = self.local[rel_path]

    def _drop_base(self, rel_path: str) -> None:
        for path in [p for p in self.base if is_within(p, rel_path)]:
            del self.base[path]
            self.base_content.pop(path, None)

    def _apply(self, action: object) -> None:
        # The executor never creates missing parents: the plan must hold them, in order.
        target_parent = parent(getattr(action, "rel_path", ""))
        if isinstance(action, Upload | MkdirRemote):
            assert not target_parent or self.remote.get(target_parent) == DIR, action
        if isinstance(action, Download | MkdirLocal):
            assert not target_parent or self.local.get(target_parent) == DIR, action
        if isinstance(action, Upload):
            assert self.local_meta.get(action.rel_path) == action.local
            assert self.remote_meta.get(action.rel_path) == action.replace
            self.put_remote(action.rel_path, self.local[action.rel_path])
            self._set_base(action.rel_path)
        elif isinstance(action, Download):
            assert self.remote_meta.get(action.rel_path) == action.remote
            assert self.local_meta.get(action.rel_path) == action.replace
            self.put_local(action.rel_path, self.remote[action.rel_path])
            self._set_base(action.rel_path)
        elif isinstance(action, MkdirLocal):
            assert action.rel_path not in self.local, action
            self.put_local(action.rel_path, DIR)
            self._set_base(action.rel_path)
        elif isinstance(action, MkdirRemote):
            assert action.rel_path not in self.remote, action
            self.put_remote(action.rel_path, DIR)
            self._set_base(action.rel_path)
        elif isinstance(action, DeleteLocal):
            assert self.local_meta.get(action.rel_path) == action.expected, action
            below = {
                p: e for p, e in self.local_meta.items() if p.startswith(action.rel_path + "/")
            }
            assert below == dict(action.subtree), action
            self.remove_local(action.rel_path)
            self._drop_base(action.rel_path)
        elif isinstance(action, DeleteRemote):
            assert self.remote_meta.get(action.rel_path) == action.expected, action
            below = {
                p: e for p, e in self.remote_meta.items() if p.startswith(action.rel_path + "/")
            }
            assert below == dict(action.subtree), action
            self.remove_remote(action.rel_path)
            self._drop_base(action.rel_path)
        elif isinstance(action, MoveRemote):
            # As the API: the source must be there and the target free (no overwrite).
            assert not target_parent or self.remote.get(target_parent) == DIR, action
            source = action.remote_from  # `src`, or where a move cut off halfway left it
            assert source in self.remote, action
            assert action.dst not in self.remote or source == action.dst, action
            if source != action.dst:
                self.move_remote(source, action.dst)
            self._rekey_base(action.src, action.dst)
        elif isinstance(action, MoveLocal):
            assert not target_parent or self.local.get(target_parent) == DIR, action
            assert action.src in self.local and action.dst not in self.local, action
            self.move_local(action.src, action.dst)
            self._rekey_base(action.src, action.dst)
        elif isinstance(action, Record):
            if action.local is None or action.remote is None:
                self._drop_base(action.rel_path)
            else:
                self.base[action.rel_path] = BaseEntry.of(action.local, action.remote)
                self.base_content[action.rel_path] = self.local[action.rel_path]
        elif isinstance(action, Conflict):
            self._apply_conflict(action)
        elif isinstance(action, Skip):
            pass
        else:  # pragma: no cover
            raise AssertionError(action)

    def _apply_conflict(self, action: Conflict) -> None:
        rel_path = action.rel_path
        if action.compare_first and self.local[rel_path] == self.remote[rel_path]:
            self._set_base(rel_path)
            return
        if action.loser == "local":
            # As the executor: the local item goes aside and, in the same step, a cloud
            # file comes down in its place with its base row.
            self.move_local(rel_path, action.conflict_path)
            if action.remote.kind is Kind.FILE:
                self.put_local(rel_path, self.remote[rel_path])
                self._set_base(rel_path)
        else:
            self.move_remote(rel_path, action.conflict_path)
            if action.remote.kind is Kind.FILE:
                self._drop_base(rel_path)  # as the executor: both come back as new

    def _rekey_base(self, src: str, dst: str) -> None:
        for path in sorted(p for p in self.base if is_within(p, src)):
            new = dst + path[len(src) :]
            old = self.base.pop(path)
            content = self.base_content.pop(path)
            remote = self.remote_meta.get(new)
            local = self.local_meta.get(new)
            if remote is None or local is None:
                continue
            # As the executor does: keep the old local stat (so local edits still show) and
            # take the fresh remote id and dates when size and creation date still match.
            same_remote = remote.size == old.size and (
                remote.kind is Kind.DIR or remote.created == old.remote_created
            )
            self.base[new] = BaseEntry(
                old.kind,
                old.size,
                old.mtime_ns,
                old.inode,
                old.sha256,
                remote.id if same_remote else old.remote_id,
                remote.created if same_remote else old.remote_created,
                remote.modified if same_remote else old.remote_modified,
            )
            self.base_content[new] = content


def _parents(rel_path: str) -> list[str]:
    parts = rel_path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _phase(action: object) -> tuple[int, int, str]:
    """The executor's order: conflicts, deletes (deepest first), mkdirs, moves, transfers."""
    rel_path: str = getattr(action, "rel_path", "")
    depth = rel_path.count("/")
    if isinstance(action, Conflict):
        return (1, depth, rel_path)
    if isinstance(action, DeleteLocal | DeleteRemote):
        return (2, -depth, rel_path)
    if isinstance(action, MkdirLocal | MkdirRemote):
        return (3, depth, rel_path)
    if isinstance(action, MoveLocal | MoveRemote):
        return (4, depth, rel_path)
    return (5, depth, rel_path)


def _ordered(plan: Plan) -> list[object]:
    return sorted(plan.actions, key=_phase)


def parent(rel_path: str) -> str:
    return posixpath.dirname(rel_path)
