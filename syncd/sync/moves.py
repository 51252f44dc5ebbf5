"""Moves, found before anything else is planned: a local move by inode, a cloud move by size
and creation date (a folder by most of its files). Pure.

- local: an item gone from its base path whose inode now lives at a new path, while the
  remote still holds the base version at the old path and nothing at the new one -> one
  server-side move (or rename). If the cloud no longer holds it at the old path but holds
  that same item (a file by size and creation date, a folder by most of its files) at the
  new path, or halfway there (its old name in the new folder, its new name in the old
  folder: where a move cut off between its two API calls leaves it), the move goes on from
  there (or, already done, only re-keys the base): the local move wins, nothing is copied.
- remote: a file gone from its base path while a new remote file of the same size and
  creation date appeared (unique match) and nothing is at the new local path -> a local
  rename; a folder by its subtree (most of its files found at the same places below one
  new folder, however deep that folder is).

A plan that has moves holds only moves, on disjoint subtrees (a move that overlaps another
waits for the next pass); the engine re-keys the base and plans again.
"""

from __future__ import annotations

import bisect
import posixpath
from collections import Counter, defaultdict
from collections.abc import Iterable

from syncd.sync.model import (
    Action,
    BaseEntry,
    BaseSnapshot,
    Kind,
    LocalEntry,
    LocalSnapshot,
    MkdirLocal,
    MkdirRemote,
    MoveLocal,
    MoveRemote,
    RemoteEntry,
    RemoteSnapshot,
)
from syncd.sync.paths import ancestors, is_blocked, is_within, outermost, parent_of
from syncd.sync.sides import Side, remote_side


def plan_moves(
    local: LocalSnapshot,
    base: BaseSnapshot,
    remote: RemoteSnapshot,
    skip: frozenset[str],
    shared: frozenset[tuple[int, int]],
) -> tuple[list[Action], set[str]]:
    """The moves to make now (with the folders they need first), and the paths of the
    moves that must wait as a whole (they touch a path in `skip`)."""
    held: set[str] = set()
    moves = _with_parents(
        _independent(
            [
                *detect_local_moves(local, base, remote, skip, held),
                *detect_remote_moves(local, base, remote, skip, shared),
            ]
        ),
        local,
        remote,
    )
    return moves, held


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
        if is_blocked(src, blocked) or is_blocked(dst, blocked) or is_blocked(at, blocked):
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
    return [moves[src] for src in outermost(moves)]


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

    gone_dirs = outermost(path for path, entry in gone.items() if entry.kind is Kind.DIR)
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
        for src in outermost(moves)
        if not is_blocked(src, blocked) and not is_blocked(moves[src].dst, blocked)
    ]
    # Two sources may not land on one target.
    targets = [move.dst for move in chosen]
    return [move for move in chosen if targets.count(move.dst) == 1]


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
