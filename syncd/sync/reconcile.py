"""The pure three-way reconciler: `reconcile(local, base, remote, policy) -> Plan`.

No I/O, no clock, no logging: the same three snapshots always give the same plan.

Each side of a path is compared with base (the last synced state) and is one of:
absent (no base, nothing there), created (no base, something there), unchanged, modified
(content or kind differs from base) or deleted (in base, gone now): see `sides`.

Decision table for one path (files; the row numbers are those of the design notes,
`docs/architecture.md`, and of the tests that pin each row):

    local \\ remote | absent    | created    | unchanged   | modified     | deleted
    ---------------+-----------+------------+-------------+--------------+-------------
    absent         |           | download 12|             |              |
    created        | upload 11 | both-new 13|             |              |
    unchanged      |           |            | nothing 1   | download 3   | trash local 7
    modified       |           |            | upload 2    | both-new 4/5 | upload 10
    deleted        |           |            | del remote 6| download 9   | forget 8

- both-new: same size -> `Conflict(compare_first=True)`: the executor compares contents and
  only records the base when they are equal (a false conflict, nothing kept twice); different
  sizes -> `Conflict`: the remote keeps the name and the local version is renamed to
  `name (conflicted copy YYYY-MM-DD HHMMSS host).ext` and then uploaded as a new file.
  The conflict policy may make the remote side the loser instead (it is then renamed in the
  cloud and comes down as a new file). Either way both versions survive.
- Modification beats deletion on either side (rows 9 and 10).
- Uploads and downloads carry the version they may overwrite; deletes carry the version they
  may delete. The executor checks that version is still there just before acting.

Folders (rows 14 and 15): a folder deleted on one side is deleted on the other side only if
nothing below it has to survive there (a changed or new item, an unreadable item). If
something does, the folder is restored around it. When a whole subtree goes, it goes as one
action (one recursive call, one move to the trash), not one per file. A folder that became a
file (or the reverse) on one side replaces the other side's unchanged item, and is a conflict
when the other side changed too.

Moves (rows 16 and 17) are found before anything else (`moves`), and a plan that has moves
holds only moves, on disjoint subtrees; the engine re-keys the base and plans again.

Never a delete for what could not be read (row 22): a path at or below an unreadable local
path, or one the engine is backing off from, becomes `Skip` and keeps its folders alive.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from syncd.sync.model import (
    Action,
    BaseEntry,
    BaseSnapshot,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    Download,
    Kind,
    LocalEntry,
    LocalSnapshot,
    MkdirLocal,
    MkdirRemote,
    Plan,
    Policy,
    Record,
    RemoteEntry,
    RemoteSnapshot,
    Skip,
    Upload,
)
from syncd.sync.moves import look_alikes, plan_moves
from syncd.sync.paths import conflict_path, is_blocked
from syncd.sync.sides import Side, local_side, remote_side

# --- per-path decisions --------------------------------------------------------------------


@dataclass
class _Decision:
    """What a decision leaves behind at its path, which decides its parent folder's fate."""

    actions: list[Action] = field(default_factory=list)
    local_after: bool = False
    remote_after: bool = False


# The outcome of every path in sync: shared, and never given actions.
_IN_SYNC = _Decision(local_after=True, remote_after=True)


class _Planner:
    def __init__(
        self,
        local: LocalSnapshot,
        base: BaseSnapshot,
        remote: RemoteSnapshot,
        policy: Policy,
        skip: frozenset[str],
    ) -> None:
        self.local = local
        self.base = base
        self.remote = remote
        self.policy = policy
        self.skip = skip
        self.outcomes: dict[str, _Decision] = {}
        self.paths: list[str] = []  # every path, sorted, as the plan started
        # Every path any side knows (one set, grown in place: big trees make copies count);
        # conflicted-copy names are added as they are chosen.
        self.taken: set[str] = set(base)
        self.taken.update(local)
        self.taken.update(remote)

    @functools.cached_property
    def look_alikes(self) -> frozenset[str]:
        """See `look_alikes`; only a local edit over an unchanged-looking cloud file asks,
        so a pass with nothing to do never pays for the walk over the base."""
        return look_alikes(self.base, self.remote)

    @functools.cached_property
    def children(self) -> dict[str, list[str]]:
        """Each folder's direct children, built when first needed: a pass over a tree in
        sync never asks, and on 100,000 paths building it costs more than the pass."""
        children: dict[str, list[str]] = defaultdict(list)
        for rel_path in self.paths:
            children[rel_path.rpartition("/")[0]].append(rel_path)
        return children

    def plan(self) -> list[Action]:
        self.paths = paths = sorted(self.taken)
        # Reverse sorted order visits every descendant before its folder. Paths in sync on
        # both sides (nearly all, on most passes) skip the table: they plan nothing, and a
        # folder that exists on both sides stays whatever happens below it.
        local, base, remote, outcomes = self.local, self.base, self.remote, self.outcomes
        file, folder = Kind.FILE, Kind.DIR
        for rel_path in reversed(paths):
            known = base.get(rel_path)
            here = local.get(rel_path)
            there = remote.get(rel_path)
            if known is not None and here is not None and there is not None:
                if known.kind is folder:
                    if here.kind is folder and there.kind is folder:
                        outcomes[rel_path] = _IN_SYNC
                        continue
                elif (
                    here.kind is file
                    and there.kind is file
                    and here.mtime_ns == known.mtime_ns
                    and here.size == known.size
                    and here.inode == known.inode
                    and there.modified == known.remote_modified
                    and there.created == known.remote_created
                    and there.size == known.size
                    and (known.remote_created or known.remote_modified)
                ):
                    outcomes[rel_path] = _IN_SYNC
                    continue
            outcomes[rel_path] = self._decide(rel_path)
        actions: list[Action] = []
        for rel_path in paths:
            actions.extend(outcomes[rel_path].actions)
        return actions

    # helpers ------------------------------------------------------------------------------

    def _descendants(self, rel_path: str) -> Iterable[str]:
        stack = list(self.children.get(rel_path, ()))
        while stack:
            child = stack.pop()
            yield child
            stack.extend(self.children.get(child, ()))

    def _needs_local(self, rel_path: str) -> bool:
        return any(self.outcomes[child].local_after for child in self.children.get(rel_path, ()))

    def _needs_remote(self, rel_path: str) -> bool:
        return any(self.outcomes[child].remote_after for child in self.children.get(rel_path, ()))

    def _drop_subtree(self, rel_path: str) -> None:
        for child in self._descendants(rel_path):
            self.outcomes[child].actions.clear()

    def _local_subtree(self, rel_path: str) -> tuple[tuple[str, LocalEntry], ...]:
        return tuple(
            sorted(
                (child, self.local[child])
                for child in self._descendants(rel_path)
                if child in self.local
            )
        )

    def _remote_subtree(self, rel_path: str) -> tuple[tuple[str, RemoteEntry], ...]:
        return tuple(
            sorted(
                (child, self.remote[child])
                for child in self._descendants(rel_path)
                if child in self.remote
            )
        )

    def _collapse_local_delete(self, rel_path: str, entry: LocalEntry) -> list[Action]:
        self._drop_subtree(rel_path)
        return [DeleteLocal(rel_path, entry, self._local_subtree(rel_path))]

    def _collapse_remote_delete(self, rel_path: str, entry: RemoteEntry) -> list[Action]:
        self._drop_subtree(rel_path)
        return [DeleteRemote(rel_path, entry, self._remote_subtree(rel_path))]

    def _conflict(
        self,
        rel_path: str,
        local: LocalEntry,
        remote: RemoteEntry,
        compare_first: bool,
        loser: Literal["local", "remote"] | None = None,
    ) -> Conflict:
        if loser is None:
            loser = self._loser(local, remote)
        path = conflict_path(rel_path, self.policy.now, self.policy.host, self.taken)
        self.taken.add(path)
        return Conflict(rel_path, local, remote, path, loser=loser, compare_first=compare_first)

    def _loser(self, local: LocalEntry, remote: RemoteEntry) -> Literal["local", "remote"]:
        policy = self.policy.conflict_policy
        if policy == "local-wins":
            return "remote"
        if policy == "newer-wins" and local.mtime_ns // 1_000_000_000 > remote.modified:
            return "remote"
        return "local"

    # the table ----------------------------------------------------------------------------

    def _decide(self, rel_path: str) -> _Decision:
        local = self.local.get(rel_path)
        base = self.base.get(rel_path)
        remote = self.remote.get(rel_path)
        if is_blocked(rel_path, self.skip):
            return _Decision(
                [Skip(rel_path, "unreadable or waiting to retry")] if local or remote else [],
                local_after=local is not None,
                remote_after=remote is not None,
            )
        ls, rs = local_side(local, base), remote_side(remote, base)
        kinds = {entry.kind for entry in (local, remote) if entry is not None}
        if Kind.DIR in kinds or (base is not None and base.kind is Kind.DIR):
            return self._decide_with_folder(rel_path, local, base, remote, ls, rs)
        return self._decide_files(rel_path, local, base, remote, ls, rs)

    def _decide_files(
        self,
        rel_path: str,
        local: LocalEntry | None,
        base: BaseEntry | None,
        remote: RemoteEntry | None,
        ls: Side,
        rs: Side,
    ) -> _Decision:
        both = _Decision(local_after=True, remote_after=True)
        if local is None and remote is None:
            return _Decision([Record(rel_path, None, None)])  # row 8
        if remote is None:
            assert local is not None
            if rs is Side.DELETED and ls is Side.UNCHANGED:
                return _Decision([DeleteLocal(rel_path, local)])  # row 7
            both.actions.append(Upload(rel_path, local))  # rows 10, 11
            return both
        if local is None:
            if ls is Side.DELETED and rs is Side.UNCHANGED:
                return _Decision([DeleteRemote(rel_path, remote)])  # row 6
            both.actions.append(Download(rel_path, remote))  # rows 9, 12
            return both
        if ls is Side.UNCHANGED and rs is Side.UNCHANGED:
            assert base is not None
            if not local.same_stat(base) or not base.remote_dates_known:
                # Touched locally (same hash) or our upload's dates seen: refresh the base.
                kept = local if local.sha256 is not None else replace(local, sha256=base.sha256)
                both.actions.append(Record(rel_path, kept, remote))
            return both  # row 1
        if rs is Side.UNCHANGED:
            if rel_path in self.look_alikes:
                # It may be another version moved over this path: the local edit takes the
                # name as usual, but the cloud file is renamed aside first, not overwritten.
                # (Where the local side is unchanged, a look-alike is left alone: fetching
                # it would mostly bring back what is already here.)
                both.actions.append(self._conflict(rel_path, local, remote, False, "remote"))
                return both
            both.actions.append(Upload(rel_path, local, replace=remote))  # row 2
            return both
        if ls is Side.UNCHANGED:
            both.actions.append(Download(rel_path, remote, replace=local))  # row 3
            return both
        # rows 4, 5, 13: both changed or both new
        both.actions.append(
            self._conflict(rel_path, local, remote, compare_first=local.size == remote.size)
        )
        return both

    def _decide_with_folder(
        self,
        rel_path: str,
        local: LocalEntry | None,
        base: BaseEntry | None,
        remote: RemoteEntry | None,
        ls: Side,
        rs: Side,
    ) -> _Decision:
        local_dir = local is not None and local.kind is Kind.DIR
        remote_dir = remote is not None and remote.kind is Kind.DIR
        out = _Decision(local_after=local is not None, remote_after=remote is not None)
        if local is None and remote is None:
            out.actions.append(Record(rel_path, None, None))
            return out

        if local_dir and remote_dir:
            assert local is not None and remote is not None
            if base is None or base.kind is not Kind.DIR:
                out.actions.append(Record(rel_path, local, remote))
            return out

        if local_dir and remote is None:
            assert local is not None
            gone = rs is Side.DELETED and base is not None and base.kind is Kind.DIR
            if gone and not self._needs_remote(rel_path):
                if self._has_skip(rel_path):
                    return out  # keep it until what is below can be read
                return _Decision(self._collapse_local_delete(rel_path, local))  # row 15
            out.actions.append(MkdirRemote(rel_path, local))
            out.remote_after = True
            return out

        if remote_dir and local is None:
            assert remote is not None
            gone = ls is Side.DELETED and base is not None and base.kind is Kind.DIR
            if gone and not self._needs_local(rel_path):
                if self._has_skip(rel_path):
                    return out
                return _Decision(self._collapse_remote_delete(rel_path, remote))
            out.actions.append(MkdirLocal(rel_path, remote))
            out.local_after = True
            return out

        # A file on one side, a folder on the other (row 14), or a folder gone on one side
        # and a file created there.
        assert local is not None or remote is not None
        if local is not None and remote is not None:
            return self._decide_type_clash(rel_path, local, base, remote, ls, rs)
        if local is not None:  # local is a file, remote has nothing, base was a folder
            out.actions.append(Upload(rel_path, local))
            out.remote_after = True
            return out
        assert remote is not None
        out.actions.append(Download(rel_path, remote))
        out.local_after = True
        return out

    def _has_skip(self, rel_path: str) -> bool:
        return any(
            isinstance(action, Skip)
            for child in self._descendants(rel_path)
            for action in self.outcomes[child].actions
        )

    def _decide_type_clash(
        self,
        rel_path: str,
        local: LocalEntry,
        base: BaseEntry | None,
        remote: RemoteEntry,
        ls: Side,
        rs: Side,
    ) -> _Decision:
        out = _Decision(local_after=True, remote_after=True)
        if ls is Side.UNCHANGED and rs is Side.MODIFIED:
            # The remote changed kind; the local side still holds the base version.
            if local.kind is Kind.DIR:
                if self._needs_remote(rel_path) or self._has_skip(rel_path):
                    return self._clash_conflict(rel_path, local, remote)
                out.actions.extend(self._collapse_local_delete(rel_path, local))
                out.actions.append(Download(rel_path, remote))
            else:
                out.actions.append(DeleteLocal(rel_path, local))
                out.actions.append(MkdirLocal(rel_path, remote))
            return out
        if rs is Side.UNCHANGED and ls is Side.MODIFIED:
            if remote.kind is Kind.DIR:
                if self._needs_local(rel_path) or self._has_skip(rel_path):
                    return self._clash_conflict(rel_path, local, remote)
                out.actions.extend(self._collapse_remote_delete(rel_path, remote))
                out.actions.append(Upload(rel_path, local))
            else:
                out.actions.append(DeleteRemote(rel_path, remote))
                out.actions.append(MkdirRemote(rel_path, local))
            return out
        return self._clash_conflict(rel_path, local, remote)

    def _clash_conflict(self, rel_path: str, local: LocalEntry, remote: RemoteEntry) -> _Decision:
        # Both sides changed, one to a folder: the children are planned again after the
        # rename, so drop whatever was planned below.
        # The local item always moves aside here: whatever changed below it travels with it
        # and comes back as a new item, whichever policy applies to plain file conflicts.
        self._drop_subtree(rel_path)
        conflict = self._conflict(rel_path, local, remote, compare_first=False, loser="local")
        return _Decision([conflict], local_after=True, remote_after=True)


def reconcile(
    local: LocalSnapshot,
    base: BaseSnapshot,
    remote: RemoteSnapshot,
    policy: Policy,
    *,
    skip: frozenset[str] = frozenset(),
) -> Plan:
    """Plan what makes both sides equal again, losing no version that only one side holds.

    `skip` holds local paths that could not be read and paths the engine is backing off
    from: nothing at or below them is touched on either side (nor at or below either end of
    a local move that touches one of them: the move waits as a whole).
    """
    moves, held = plan_moves(local, base, remote, skip, policy.shared_identities)
    if moves:
        return Plan(tuple(moves))
    return Plan(tuple(_Planner(local, base, remote, policy, skip | held).plan()))
