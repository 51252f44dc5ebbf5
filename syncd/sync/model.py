"""The values the sync engine passes around: entries, snapshots, actions, plans.

Three views of one folder pair, all keyed by `rel_path` (POSIX, relative to the pair's root,
no leading slash, "" never appears):

- local:  what the disk holds now (`LocalEntry`)
- remote: what the latest cloud listing holds (`RemoteEntry`)
- base:   what both sides held at the last successful sync of that path (`BaseEntry`)

Imports nothing from syncd, so the reconciler built on it stays pure.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias


class Kind(enum.Enum):
    FILE = "file"
    DIR = "dir"


@dataclass(frozen=True, slots=True)
class LocalEntry:
    """A local file or folder. `sha256` is only known when the scanner had reason to hash."""

    kind: Kind
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    sha256: str | None = None

    def same_stat(self, other: LocalEntry | BaseEntry) -> bool:
        return (
            self.kind is other.kind
            and self.size == other.size
            and self.mtime_ns == other.mtime_ns
            and self.inode == other.inode
        )


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """A cloud file or folder. Dates are epoch seconds (the API has 1 s precision)."""

    kind: Kind
    id: str
    size: int = 0
    created: int = 0
    modified: int = 0

    def fingerprint(self) -> tuple[Kind, int, int, int]:
        # Ids are derived from paths, so they say nothing about content: leave them out.
        return (self.kind, self.size, self.created, self.modified)

    def fingerprint_tag(self) -> str:
        """A short name for this version of the file (for resumable partial downloads)."""
        digest = hashlib.sha256(f"{self.id}|{self.size}|{self.created}|{self.modified}".encode())
        return digest.hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class BaseEntry:
    """Both sides of one path as they were when it was last in sync.

    `remote_created == remote_modified == 0` on a file means "uploaded, dates not seen yet":
    the upload call returns only an id, and the next listing fills the dates in.
    """

    kind: Kind
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    sha256: str | None = None
    remote_id: str = ""
    remote_created: int = 0
    remote_modified: int = 0

    @property
    def remote_dates_known(self) -> bool:
        return self.kind is Kind.DIR or self.remote_created != 0 or self.remote_modified != 0

    def remote_fingerprint(self) -> tuple[Kind, int, int, int]:
        return (self.kind, self.size, self.remote_created, self.remote_modified)

    @classmethod
    def of(cls, local: LocalEntry, remote: RemoteEntry) -> BaseEntry:
        return cls(
            kind=local.kind,
            size=local.size,
            mtime_ns=local.mtime_ns,
            inode=local.inode,
            sha256=local.sha256,
            remote_id=remote.id,
            remote_created=remote.created,
            remote_modified=remote.modified,
        )


LocalSnapshot: TypeAlias = Mapping[str, LocalEntry]
RemoteSnapshot: TypeAlias = Mapping[str, RemoteEntry]
BaseSnapshot: TypeAlias = Mapping[str, BaseEntry]

ConflictPolicy: TypeAlias = Literal["keep-both", "newer-wins", "local-wins", "remote-wins"]


@dataclass(frozen=True, slots=True)
class Policy:
    """What the reconciler needs to know beyond the three snapshots. `now` names conflicts."""

    conflict_policy: ConflictPolicy = "keep-both"
    host: str = "host"
    now: str = "1970-01-01 000000"
    # (size, creation second) pairs that two synced files have shared: a remote move is
    # never inferred from one, even after one of the two left the base.
    shared_identities: frozenset[tuple[int, int]] = frozenset()


# --- actions -------------------------------------------------------------------------------
# Each action carries what the planner saw, so the executor can check that the world still
# looks like that just before it acts (a changed side turns the action into a no-op for this
# pass, never into an overwrite).


@dataclass(frozen=True, slots=True)
class Upload:
    """Send the local file. `replace` is the remote version it may overwrite (None: new)."""

    rel_path: str
    local: LocalEntry
    replace: RemoteEntry | None = None


@dataclass(frozen=True, slots=True)
class Download:
    """Fetch the remote file. `replace` is the local version it may overwrite (None: new)."""

    rel_path: str
    remote: RemoteEntry
    replace: LocalEntry | None = None


@dataclass(frozen=True, slots=True)
class MkdirLocal:
    rel_path: str
    remote: RemoteEntry


@dataclass(frozen=True, slots=True)
class MkdirRemote:
    rel_path: str
    local: LocalEntry


@dataclass(frozen=True, slots=True)
class DeleteLocal:
    """Move a local file, or a whole folder, to the trash if it still matches `expected`.

    For a folder, `subtree` lists every descendant as the planner saw it.
    """

    rel_path: str
    expected: LocalEntry
    subtree: tuple[tuple[str, LocalEntry], ...] = ()


@dataclass(frozen=True, slots=True)
class DeleteRemote:
    """Delete a remote file, or a whole folder, if it still matches `expected`."""

    rel_path: str
    expected: RemoteEntry
    subtree: tuple[tuple[str, RemoteEntry], ...] = ()


@dataclass(frozen=True, slots=True)
class MoveRemote:
    """A local move seen by inode: repeat it in the cloud with one server-side call.

    `remote_src` is where the cloud holds the item when that is not `src` any more: it was
    moved there too, by the same move cut off halfway (the API moves and renames in two
    calls) or not yet recorded, or by another client. The cloud item goes from there.
    """

    src: str
    dst: str
    remote: RemoteEntry
    local: LocalEntry
    remote_src: str | None = None

    @property
    def rel_path(self) -> str:
        return self.dst

    @property
    def remote_from(self) -> str:
        return self.remote_src if self.remote_src is not None else self.src


@dataclass(frozen=True, slots=True)
class MoveLocal:
    """A remote move seen by size and creation date (a folder by its subtree): rename locally."""

    src: str
    dst: str
    local: LocalEntry
    remote: RemoteEntry

    @property
    def rel_path(self) -> str:
        return self.dst


@dataclass(frozen=True, slots=True)
class Record:
    """Both sides already agree: write the base row (or drop it when both are None)."""

    rel_path: str
    local: LocalEntry | None
    remote: RemoteEntry | None
    base: BaseEntry | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """Both sides changed differently (or may have): keep both versions.

    `loser` names the side whose version leaves the name: it is renamed to `conflict_path`
    (a local rename, or a server-side rename) and then syncs as a new item. With
    `compare_first`, the executor first checks whether the contents are in fact equal, and
    only records the base if they are.
    """

    rel_path: str
    local: LocalEntry
    remote: RemoteEntry
    conflict_path: str
    loser: Literal["local", "remote"] = "local"
    compare_first: bool = False


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing can be done for this path now; say why."""

    rel_path: str
    reason: str


Action: TypeAlias = (
    Upload
    | Download
    | MkdirLocal
    | MkdirRemote
    | DeleteLocal
    | DeleteRemote
    | MoveRemote
    | MoveLocal
    | Record
    | Conflict
    | Skip
)


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return any(not isinstance(action, Skip) for action in self.actions)
