"""The pure three-way reconciler: `reconcile(local, base, remote, policy) -> Plan`.

No I/O, no clock, no logging: the same three snapshots always give the same plan.

Each side of a path is compared with base (the last synced state) and is one of:
absent (no base, nothing there), created (no base, something there), unchanged, modified
(content or kind differs from base) or deleted (in base, gone now). A local file whose stat
differs from base but whose hash is equal is unchanged ("touched"); a remote file is changed
when its size, creation date or last-update date differ from base.

Decision table for one path (files; the numbers are the rows of research/anchors.md §D):

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

Moves (rows 16 and 17) are found before anything else, and a plan that has moves holds only
moves, on disjoint subtrees (a move that overlaps another waits for the next pass); the engine
re-keys the base and plans again:
- local: an item gone from its base path whose inode now lives at a new path, while the
  remote still holds the base version at the old path and nothing at the new one -> one
  server-side move (or rename). If the cloud no longer holds it at the old path but holds
  that same item (a file by size and creation date, a folder by most of its files) at the
  new path, or halfway there (its old name in the new folder, its new name in the old
  folder: where a move cut off between its two API calls leaves it), the move goes on from
  there (or, already done, only re-keys the base): the local move wins, nothing is copied.
- remote: a file gone from its base path while a new remote file of the same size and
  creation date appeared (unique match) and nothing is at the new local path -> a local
  rename; a folder by its subtree (most of its files found under the new folder).

Never a delete for what could not be read (row 22): a path at or below an unreadable local
path, or one the engine is backing off from, becomes `Skip` and keeps its folders alive.
"""

from __future__ import annotations

import bisect
import functools
import posixpath
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
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
    MoveLocal,
    MoveRemote,
    Plan,
    Policy,
    Record,
    RemoteEntry,
    RemoteSnapshot,
    Skip,
    Upload,
)


class Side(Enum):
    ABSENT = "absent"
    CREATED = "created"
    UNCHANGED = "unchanged"
    MODIFIED = "modified"
    DELETED = "deleted"


def local_side(local: LocalEntry | None, base: BaseEntry | None) -> Side:
    if base is None:
        return Side.ABSENT if local is None else Side.CREATED
    if local is None:
        return Side.DELETED
    if local.kind is not base.kind:
        return Side.MODIFIED
    if local.kind is Kind.DIR or local.same_stat(base):
        return Side.UNCHANGED
    if local.sha256 is not None and local.sha256 == base.sha256 and local.size == base.size:
        return Side.UNCHANGED
    return Side.MODIFIED


def remote_side(remote: RemoteEntry | None, base: BaseEntry | None) -> Side:
    if base is None:
        return Side.ABSENT if remote is None else Side.CREATED
    if remote is None:
        return Side.DELETED
    if remote.kind is not base.kind:
        return Side.MODIFIED
    if remote.kind is Kind.DIR:
        return Side.UNCHANGED
    if not base.remote_dates_known:
        # Uploaded by us, dates not seen yet: the same id and size is our own upload.
        same = remote.id == base.remote_id and remote.size == base.size
        return Side.UNCHANGED if same else Side.MODIFIED
    return Side.UNCHANGED if remote.fingerprint() == base.remote_fingerprint() else Side.MODIFIED


def look_alikes(base: BaseSnapshot, remote: RemoteSnapshot) -> frozenset[str]:
    """Paths whose cloud file reads as unchanged but may be another synced file moved there.

    The API has no checksum and dates to the second. A file moved in the cloud keeps its
    size and dates, so one moved over a path whose file had the same numbers reads as that
    file, unchanged, and a local edit would be uploaded over it unseen. The tell: a base file
    with those very numbers is gone from its own path in the same listing. Where such a path
    changed locally, the cloud file is kept aside rather than overwritten.
    """
    vanished = {
        entry.remote_fingerprint()
        for rel_path, entry in base.items()
        if rel_path not in remote and entry.kind is Kind.FILE and entry.remote_dates_known
    }
    if not vanished:
        return frozenset()
    return frozenset(
        rel_path
        for rel_path, entry in base.items()
        if entry.kind is Kind.FILE
        and entry.remote_dates_known
        and entry.remote_fingerprint() in vanished
        and (current := remote.get(rel_path)) is not None
        and current.fingerprint() == entry.remote_fingerprint()
    )


def parent_of(rel_path: str) -> str:
    return posixpath.dirname(rel_path)


def ancestors(rel_path: str) -> Iterable[str]:
    parent = parent_of(rel_path)
    while parent:
        yield parent
        parent = parent_of(parent)


def is_within(rel_path: str, folder: str) -> bool:
    return rel_path == folder or rel_path.startswith(folder + "/")


def conflict_path(rel_path: str, policy: Policy, taken: Mapping[str, object] | set[str]) -> str:
    """`dir/name (conflicted copy 2026-11-26 175502 host).ext`, unique among `taken`."""
    folder, name = posixpath.split(rel_path)
    stem, ext = posixpath.splitext(name)
    if not stem:  # a dotfile such as ".bashrc" has no extension
        stem, ext = name, ""
    label = f"conflicted copy {policy.now} {policy.host}"
    candidate = posixpath.join(folder, f"{stem} ({label}){ext}")
    counter = 2
    while candidate in taken:
        candidate = posixpath.join(folder, f"{stem} ({label} {counter}){ext}")
        counter += 1
    return candidate


# --- moves ---------------------------------------------------------------------------------


def _outermost(paths: Iterable[str]) -> list[str]:
    chosen: list[str] = []
    for path in sorted(paths):
        if not any(is_within(path, done) for done in chosen):
            chosen.append(path)
    return chosen


def _is_blocked(rel_path: str, blocked: frozenset[str]) -> bool:
    if not blocked:
        return False
    return rel_path in blocked or any(folder in blocked for folder in ancestors(rel_path))


def detect_local_moves(
    local: LocalSnapshot,
    base: BaseSnapshot,
    remote: RemoteSnapshot,
    blocked: frozenset[str] = frozenset(),
    held: set[str] | None = None,
) -> list[MoveRemote]:
    """Items whose inode left its base path for a new path, remote still as in base.

    A move that touches a `blocked` path (waiting to retry after a failure, unreadable) is
    not planned, and its source, target and halfway paths are added to `held`: planned one by
    one, the source would be deleted in the cloud and a halfway item downloaded as new.
    """
    new_by_inode: dict[int, list[str]] = defaultdict(list)
    for rel_path, entry in local.items():
        if not entry.inode:
            continue
        known = base.get(rel_path)
        if known is None:
            new_by_inode[entry.inode].append(rel_path)
        elif (
            known.inode != entry.inode
            and entry.kind is Kind.FILE
            and known.kind is Kind.FILE
            and rel_path not in remote
        ):
            # Moved over a synced file that the cloud has deleted meanwhile: still a move.
            # Read as that file's content, it would be "unchanged", go with the deletion,
            # and the moved version would be lost on both sides.
            new_by_inode[entry.inode].append(rel_path)
    if not new_by_inode:
        return []
    moves: dict[str, MoveRemote] = {}
    for src, base_entry in base.items():
        if src in local or not base_entry.inode:
            continue
        targets = new_by_inode.get(base_entry.inode, [])
        if len(targets) != 1:
            continue
        dst = targets[0]
        entry = local[dst]
        at = src
        remote_entry = remote.get(src)
        if remote_entry is None and entry.kind is base_entry.kind:
            found = _moved_in_the_cloud_too(src, dst, base_entry, local, base, remote)
            if found is not None:
                at, remote_entry = found, remote[found]
        if (
            entry.kind is not base_entry.kind
            or remote_entry is None
            or (at == src and remote_side(remote_entry, base_entry) is not Side.UNCHANGED)
            or (dst in remote and at != dst)
        ):
            continue
        if _is_blocked(src, blocked) or _is_blocked(dst, blocked) or _is_blocked(at, blocked):
            if held is not None:
                held.update((src, dst, at))
            continue
        moves[src] = MoveRemote(
            src=src,
            dst=dst,
            remote=remote_entry,
            local=entry,
            remote_src=None if at == src else at,
        )
    return [moves[src] for src in _outermost(moves)]


def _moved_in_the_cloud_too(
    src: str,
    dst: str,
    known: BaseEntry,
    local: LocalSnapshot,
    base: BaseSnapshot,
    remote: RemoteSnapshot,
) -> str | None:
    """Where the cloud holds the item a local move took from `src` to `dst`, if it moved
    there too: at `dst`, or at one of the two paths between the calls of a move-and-rename.
    Only new remote paths count; a file must keep its size and creation date (a move only
    bumps its update date), a folder most of its files."""
    candidates = (
        dst,
        posixpath.join(parent_of(dst), posixpath.basename(src)),
        posixpath.join(parent_of(src), posixpath.basename(dst)),
    )
    for path in candidates:
        entry = remote.get(path)
        if entry is None or entry.kind is not known.kind or path in base:
            continue
        if path != dst and path in local:
            continue
        if known.kind is Kind.FILE:
            if not known.remote_created or (entry.size, entry.created) != (
                known.size,
                known.remote_created,
            ):
                continue
        elif not _same_files(src, path, base, remote):
            continue
        return path
    return None


def _same_files(src: str, dst: str, base: BaseSnapshot, remote: RemoteSnapshot) -> bool:
    """Does the remote folder `dst` hold most of the files base knew under `src`?"""
    want = {
        (path[len(src) :], entry.size, entry.remote_created)
        for path, entry in base.items()
        if entry.kind is Kind.FILE and path.startswith(src + "/")
    }
    if not want:
        return True  # nothing to tell it by: an empty folder halfway is that folder
    have = {
        (path[len(dst) :], entry.size, entry.created)
        for path, entry in remote.items()
        if entry.kind is Kind.FILE and path.startswith(dst + "/")
    }
    return len(want & have) * 2 > len(want)


def _below(sorted_files: list[tuple[str, int, int]], folder: str) -> list[tuple[str, int, int]]:
    # "/" sorts just before "0", so every path under `folder/` lies in one slice.
    start = bisect.bisect_left(sorted_files, (folder + "/",))
    end = bisect.bisect_left(sorted_files, (folder + "0",))
    return sorted_files[start:end]


def _file_signature(
    entries: Iterable[tuple[str, int, int]], folder: str
) -> set[tuple[str, int, int]]:
    offset = len(folder) + 1
    return {(path[offset:], size, created) for path, size, created in entries}


def detect_remote_moves(
    local: LocalSnapshot,
    base: BaseSnapshot,
    remote: RemoteSnapshot,
    blocked: frozenset[str] = frozenset(),
    shared: frozenset[tuple[int, int]] = frozenset(),
) -> list[MoveLocal]:
    """Files by (size, creation date), folders by most of their files, at a new remote path.

    A file identity that two base files share now, or have shared (`shared`), is no
    evidence: once one of the two has been deleted, the other's look-alike at a new path
    may be either of them. A folder's file is no evidence either if a base file outside the
    folder looks alike, or if its only look-alike has left the base: the look-alike in the
    new folder may be that one, moved there. (Look-alikes all inside the folder, a batch
    uploaded in one second, still count: their names inside it tell them apart.)
    """
    new_remote = {
        path: entry for path, entry in remote.items() if path not in base and path not in local
    }
    if not new_remote:
        return []
    gone = {
        path: entry
        for path, entry in base.items()
        if path not in remote and path in local and local[path].kind is entry.kind
    }
    if not gone:
        return []
    moves: dict[str, MoveLocal] = {}

    by_identity: dict[tuple[int, int], list[str]] = defaultdict(list)
    for path, entry in new_remote.items():
        if entry.kind is Kind.FILE and entry.created:
            by_identity[(entry.size, entry.created)].append(path)
    base_identity_count: dict[tuple[int, int], int] = defaultdict(int)
    for known in base.values():
        if known.kind is Kind.FILE and known.remote_created:
            base_identity_count[(known.size, known.remote_created)] += 1
    for src, base_entry in gone.items():
        if base_entry.kind is not Kind.FILE or not base_entry.remote_created:
            continue
        identity = (base_entry.size, base_entry.remote_created)
        targets = by_identity.get(identity, [])
        # Ambiguous on either side (two files alike) -> no guess; delete + download is safe.
        if len(targets) != 1 or base_identity_count[identity] != 1 or identity in shared:
            continue
        moves[src] = MoveLocal(
            src=src, dst=targets[0], local=local[src], remote=new_remote[targets[0]]
        )

    gone_dirs = _outermost(path for path, entry in gone.items() if entry.kind is Kind.DIR)
    # Every new folder is a candidate target, not only the outermost: a folder moved into a
    # folder that is itself new (made in the web UI, say) lands below it.
    new_dirs = {path for path, entry in new_remote.items() if entry.kind is Kind.DIR}
    if gone_dirs and new_dirs:
        base_files = sorted(
            (path, entry.size, entry.remote_created)
            for path, entry in base.items()
            if entry.kind is Kind.FILE and entry.remote_created
        )
        remote_by_identity: dict[tuple[int, int], list[str]] = defaultdict(list)
        for path, entry in remote.items():
            if entry.kind is Kind.FILE:
                remote_by_identity[(entry.size, entry.created)].append(path)
        candidates: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for src in gone_dirs:
            below = _below(base_files, src)
            inside = Counter((size, created) for _, size, created in below)
            evidence = [
                (path, size, created)
                for path, size, created in below
                if inside[size, created] == base_identity_count[size, created]
                and (inside[size, created] > 1 or (size, created) not in shared)
            ]
            want = _file_signature(evidence, src)
            if not want:
                continue
            # Where each of its files is now, if it moved with its folder: the new folder
            # that holds it at the same path below it.
            found: Counter[str] = Counter()
            for rel, size, created in want:
                tail = "/" + rel
                for path in remote_by_identity.get((size, created), ()):
                    if path.endswith(tail) and (dst := path[: -len(tail)]) in new_dirs:
                        found[dst] += 1
            for dst, common in found.items():
                if common * 2 > len(want):
                    candidates[src].append((common, dst))
        claimed: dict[str, int] = defaultdict(int)
        for options in candidates.values():
            for _, dst in options:
                claimed[dst] += 1
        for src, options in candidates.items():
            if len(options) == 1 and claimed[options[0][1]] == 1:
                dst = options[0][1]
                moves[src] = MoveLocal(src=src, dst=dst, local=local[src], remote=new_remote[dst])

    chosen = [
        moves[src]
        for src in _outermost(moves)
        if not _is_blocked(src, blocked) and not _is_blocked(moves[src].dst, blocked)
    ]
    # Two sources may not land on one target.
    targets = [move.dst for move in chosen]
    return [move for move in chosen if targets.count(move.dst) == 1]


# --- per-path decisions --------------------------------------------------------------------


@dataclass
class _Outcome:
    """What a decision leaves behind at its path, which decides its parent folder's fate."""

    actions: list[Action] = field(default_factory=list)
    local_after: bool = False
    remote_after: bool = False


# The outcome of every path in sync: shared, and never given actions.
_IN_SYNC = _Outcome(local_after=True, remote_after=True)


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
        self.outcomes: dict[str, _Outcome] = {}
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
        path = conflict_path(rel_path, self.policy, self.taken)
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

    def _decide(self, rel_path: str) -> _Outcome:
        local = self.local.get(rel_path)
        base = self.base.get(rel_path)
        remote = self.remote.get(rel_path)
        if _is_blocked(rel_path, self.skip):
            return _Outcome(
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
    ) -> _Outcome:
        both = _Outcome(local_after=True, remote_after=True)
        if local is None and remote is None:
            return _Outcome([Record(rel_path, None, None)])  # row 8
        if remote is None:
            assert local is not None
            if rs is Side.DELETED and ls is Side.UNCHANGED:
                return _Outcome([DeleteLocal(rel_path, local)])  # row 7
            both.actions.append(Upload(rel_path, local))  # rows 10, 11
            return both
        if local is None:
            if ls is Side.DELETED and rs is Side.UNCHANGED:
                return _Outcome([DeleteRemote(rel_path, remote)])  # row 6
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
    ) -> _Outcome:
        local_dir = local is not None and local.kind is Kind.DIR
        remote_dir = remote is not None and remote.kind is Kind.DIR
        out = _Outcome(local_after=local is not None, remote_after=remote is not None)
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
                return _Outcome(self._collapse_local_delete(rel_path, local))  # row 15
            out.actions.append(MkdirRemote(rel_path, local))
            out.remote_after = True
            return out

        if remote_dir and local is None:
            assert remote is not None
            gone = ls is Side.DELETED and base is not None and base.kind is Kind.DIR
            if gone and not self._needs_local(rel_path):
                if self._has_skip(rel_path):
                    return out
                return _Outcome(self._collapse_remote_delete(rel_path, remote))
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
    ) -> _Outcome:
        out = _Outcome(local_after=True, remote_after=True)
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

    def _clash_conflict(self, rel_path: str, local: LocalEntry, remote: RemoteEntry) -> _Outcome:
        # Both sides changed, one to a folder: the children are planned again after the
        # rename, so drop whatever was planned below.
        # The local item always moves aside here: whatever changed below it travels with it
        # and comes back as a new item, whichever policy applies to plain file conflicts.
        self._drop_subtree(rel_path)
        conflict = self._conflict(rel_path, local, remote, compare_first=False, loser="local")
        return _Outcome([conflict], local_after=True, remote_after=True)


def _independent(moves: list[MoveRemote | MoveLocal]) -> list[MoveRemote | MoveLocal]:
    """Keep moves that touch disjoint subtrees; the others wait for the next pass.

    Two moves in one plan must not overlap: a move into a folder that another move creates
    (or empties) would collide with it, or with the mkdir that makes its parent. Once the
    first move is done and the base re-keyed, the next plan sees what is left.
    """
    kept: list[MoveRemote | MoveLocal] = []
    for move in sorted(moves, key=lambda m: (m.src, m.dst)):
        if not any(
            is_within(mine, theirs) or is_within(theirs, mine)
            for other in kept
            for mine in (move.src, move.dst)
            for theirs in (other.src, other.dst)
        ):
            kept.append(move)
    return kept


def _with_parents(
    moves: list[MoveRemote | MoveLocal], local: LocalSnapshot, remote: RemoteSnapshot
) -> list[Action]:
    """Keep the moves whose target folder exists or can be made; prepend those mkdirs.

    A move into a folder that is new on the source side needs that folder on the target side
    first; a target under something that is a file on the target side is no move at all.
    """
    mkdirs: dict[str, Action] = {}
    kept: list[Action] = []
    for move in moves:
        needed: dict[str, Action] = {}
        target_side, source_side = (
            (remote, local) if isinstance(move, MoveRemote) else (local, remote)
        )
        for folder in reversed(list(ancestors(move.dst))):
            there = target_side.get(folder)
            if there is not None and there.kind is Kind.DIR:
                continue
            source = source_side.get(folder)
            if there is not None or source is None or source.kind is not Kind.DIR:
                break
            if isinstance(move, MoveRemote):
                assert isinstance(source, LocalEntry)
                needed[folder] = MkdirRemote(folder, source)
            else:
                assert isinstance(source, RemoteEntry)
                needed[folder] = MkdirLocal(folder, source)
        else:
            mkdirs.update(needed)
            kept.append(move)
    return [*(mkdirs[folder] for folder in sorted(mkdirs)), *kept]


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
    held: set[str] = set()
    moves = _with_parents(
        _independent(
            [
                *detect_local_moves(local, base, remote, skip, held),
                *detect_remote_moves(local, base, remote, skip, policy.shared_identities),
            ]
        ),
        local,
        remote,
    )
    if moves:
        return Plan(tuple(moves))
    return Plan(tuple(_Planner(local, base, remote, policy, skip | held).plan()))


def record_from(local: LocalEntry | None, remote: RemoteEntry | None) -> BaseEntry | None:
    """The base row a `Record` stands for."""
    if local is None or remote is None:
        return None
    return BaseEntry.of(local, remote)
