"""The remote side: one flat listing turned into a snapshot, and the composite operations
the API lacks (conditional replace and delete, moves that refresh what they moved).

Paths in a snapshot are built from names along the parent chain, never from decoded ids. A
name that cannot be a local name (`/`, NUL, `.`, `..`, too long) is left out together with
everything below it, and reported: it is never "fixed" and never read as deleted.

What a listing holds but cannot place is *unknown*, never absent: an item whose name, size,
dates or parent cannot be read hides the path it stands for (or, without a usable name, its
whole folder); an item whose folder is not in the listing (an orphan: its id does not decode,
or names a folder the listing lacks) hides every path with its name (`unplaced_names`). The
engine plans nothing at or below a hidden path, on either side.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import marshal
import os
import posixpath
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from syncd.cloud.client import CloudClient
from syncd.cloud.errors import AlreadyExists, IncompleteListing, NotFound
from syncd.cloud.ids import parent_id_of, shown
from syncd.cloud.models import DamagedItem, FolderListing, RemoteFile, RemoteFolderRef
from syncd.cloud.paths import PathResolver
from syncd.cloud.transfer import UploadSource
from syncd.errors import PathError, RootGuardError
from syncd.sync import absence
from syncd.sync.excludes import Excludes
from syncd.sync.model import Kind, RemoteEntry
from syncd.sync.paths import name_problem

Progress = Callable[[int], None]
TEMP_PREFIX = ".syncd-upload-"

log = logging.getLogger(__name__)


def remote_entry(item: RemoteFile) -> RemoteEntry:
    return RemoteEntry(
        Kind.FILE,
        item.id,
        item.size,
        int(item.creation_date.timestamp()),
        int(item.last_update_date.timestamp()),
    )


def folder_entry(folder_id: str) -> RemoteEntry:
    return RemoteEntry(Kind.DIR, folder_id)


@dataclass
class RemoteScan:
    """A snapshot of the remote subtree, keyed by rel_path, plus what it had to leave out."""

    root_id: str
    entries: dict[str, RemoteEntry] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    # Upload temporaries (`temp_name`) seen in synced folders: never synced, but a process
    # killed between the upload and the rename leaves one behind for the engine to sweep.
    temporaries: dict[str, RemoteEntry] = field(default_factory=dict)
    # Names of listed items whose folder is unknown: any path with such a name may be one.
    unplaced_names: set[str] = field(default_factory=set)
    # What could not be read whole (damaged or unplaced items): the sync is not complete.
    damage: list[str] = field(default_factory=list)

    def copy(self) -> RemoteScan:
        """A copy whose containers the caller may change (the entries themselves are frozen)."""
        return RemoteScan(
            self.root_id,
            dict(self.entries),
            dict(self.urls),
            list(self.notes),
            set(self.hidden),
            dict(self.temporaries),
            set(self.unplaced_names),
            list(self.damage),
        )


@dataclass(frozen=True)
class ListingMemo:
    """A listing's page digests and the scan made from them (see `RemoteSide.scan`).

    `excludes_key` and `root_id` say which snapshot the pages made: the same pages make
    the same snapshot only under the same excludes, below the same folder.
    """

    root_id: str
    page_size: int
    excludes_key: tuple[tuple[str, ...], tuple[str, ...]]
    pages: tuple[tuple[bytes, int], ...]
    scan: RemoteScan


class ListingCache:
    """The last listing's memo on disk, so that a `syncd sync` whose listing is the same as
    the last one (page by page) does not decode a big tree again.

    Only ever a cache: a missing, corrupt or foreign file (another syncd version) reads as
    nothing, and it is checked against a digest before it is decoded. Bump `FORMAT` when
    what a listing turns into changes.
    """

    FORMAT = 2

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version

    def load(self) -> ListingMemo | None:
        try:
            raw = self.path.read_bytes()
        except OSError:
            return None
        # About 10 MB for 100,000 paths: read without a copy, and let go before the rows become
        # entries, the moment of a no-change sync's peak memory.
        with memoryview(raw)[32:] as payload:
            if hashlib.blake2b(payload, digest_size=32).digest() != raw[:32]:
                return None
            try:
                data = marshal.loads(payload)
            except (ValueError, TypeError, EOFError):
                return None
        del raw
        try:
            fmt, version, root_id, page_size, excludes_key, pages, rows, extra = data
            if (fmt, version) != (self.FORMAT, self.version):
                return None
            hidden, notes, temporaries, unplaced, damage = extra
            scan = RemoteScan(
                root_id,
                _entries(rows),
                notes=list(notes),
                hidden=set(hidden),
                temporaries=_entries(temporaries),
                unplaced_names=set(unplaced),
                damage=list(damage),
            )
            return ListingMemo(root_id, page_size, excludes_key, tuple(pages), scan)
        except (ValueError, TypeError, KeyError):  # decoded, but not the shape this version writes
            return None

    def save(self, memo: ListingMemo) -> None:
        scan = memo.scan
        payload = marshal.dumps(
            (
                self.FORMAT,
                self.version,
                memo.root_id,
                memo.page_size,
                memo.excludes_key,
                memo.pages,
                _rows(scan.entries),
                (
                    tuple(scan.hidden),
                    tuple(scan.notes),
                    _rows(scan.temporaries),
                    tuple(scan.unplaced_names),
                    tuple(scan.damage),
                ),
            )
        )
        digest = hashlib.blake2b(payload, digest_size=32).digest()
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            # 0600: the cache lists every synced name, as the state DB does.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "wb") as handle:
                handle.write(digest + payload)
            os.replace(temporary, self.path)
        except OSError as exc:  # a cache that cannot be written is merely not there
            log.info("cannot write the listing cache %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                temporary.unlink()


def _rows(entries: dict[str, RemoteEntry]) -> tuple[tuple[str, str, str, int, int, int], ...]:
    return tuple(
        (path, e.kind.value, e.id, e.size, e.created, e.modified) for path, e in entries.items()
    )


def _entries(rows: Iterable[tuple[str, str, str, int, int, int]]) -> dict[str, RemoteEntry]:
    kinds = {kind.value: kind for kind in Kind}
    intern = sys.intern
    return {
        intern(path): RemoteEntry(kinds[kind], intern(item_id), size, created, modified)
        for path, kind, item_id, size, created, modified in rows
    }


# One file of a listing, as the snapshot needs it: (id, name, size, created, modified,
# parent id or None, download URL or None). Plain tuples: a poll of a big tree holds 100,000
# of them at once, and a parsed `RemoteFile` (two datetimes, a metadata dict) weighs 3x more.
FileRow = tuple[str, str, int, int, int, "str | None", "str | None"]


def file_row(item: RemoteFile) -> FileRow:
    return (
        sys.intern(item.id),
        item.name,
        item.size,
        int(item.creation_date.timestamp()),
        int(item.last_update_date.timestamp()),
        item.parent_id,
        item.download_url,
    )


def snapshot_from_listing(listing: FolderListing, excludes: Excludes) -> RemoteScan:
    """Turn a flat listing of the pair's remote folder into rel_path -> entry."""
    builder = SnapshotBuilder(listing.id, excludes)
    builder.add_listing(listing)
    return builder.finish()


def build_snapshot(
    root_id: str,
    subfolders: Iterable[RemoteFolderRef],
    files: Iterable[FileRow],
    excludes: Excludes,
) -> RemoteScan:
    """Paths from names along the parent chain; bad names hide their subtree (see above)."""
    builder = SnapshotBuilder(root_id, excludes)
    builder.add_folders(subfolders)
    builder.add_files(files)
    return builder.finish()


class SnapshotBuilder:
    """Builds a `RemoteScan` from listing pages in any order, converting what it can at once.

    A folder gets its path when its parent has one (so a bad name hides its whole subtree,
    and a cycle or an orphan never gets a path); a file, when its folder has one. What
    arrives before its parent waits. Services that list folders first (the emulator does)
    never make anything wait, so a big poll never holds all its rows at once.
    """

    def __init__(self, root_id: str, excludes: Excludes) -> None:
        self.scan = RemoteScan(root_id=root_id)
        self.excludes = excludes
        # folder id -> rel_path, or None for a folder whose subtree is not synced
        self.folder_paths: dict[str, str | None] = {root_id: ""}
        self.waiting_folders: dict[str, list[tuple[str, str]]] = {}
        self.waiting_files: dict[str, list[FileRow]] = {}
        self.orphans: list[FileRow] = []
        self.damaged: list[DamagedItem] = []

    def add_listing(self, listing: FolderListing) -> None:
        """One page (or all) of a flat listing."""
        self.add_folders(listing.subfolders)
        self.add_files(file_row(item) for item in listing.files)
        self.damaged.extend(listing.damaged)

    def add_folders(self, folders: Iterable[RemoteFolderRef]) -> None:
        for folder in folders:
            if folder.id in self.folder_paths:
                continue
            if folder.parent_id in self.folder_paths:
                self._place(folder.id, folder.name, folder.parent_id)
            else:
                self.waiting_folders.setdefault(folder.parent_id, []).append(
                    (folder.id, folder.name)
                )

    def _place(self, folder_id: str, name: str, parent_id: str) -> None:
        stack = [(folder_id, name, parent_id)]
        scan = self.scan
        while stack:
            folder_id, name, parent_id = stack.pop()
            if folder_id in self.folder_paths:
                continue
            rel_path = _child_path(self.folder_paths[parent_id], name, scan)
            if rel_path is not None and self.excludes.excluded(rel_path, True):
                rel_path = None
            if rel_path is not None and rel_path in scan.entries:
                scan.notes.append(f"{rel_path}: two remote items share this name; skipped")
                scan.hidden.add(rel_path)
                scan.entries.pop(rel_path)
                rel_path = None
            self.folder_paths[folder_id] = rel_path
            if rel_path is not None:
                scan.entries[rel_path] = folder_entry(folder_id)
            for child_id, child_name in self.waiting_folders.pop(folder_id, ()):
                stack.append((child_id, child_name, folder_id))
            self.add_files(self.waiting_files.pop(folder_id, ()))

    def add_files(self, files: Iterable[FileRow]) -> None:
        folder_paths = self.folder_paths
        scan = self.scan
        entries = scan.entries
        excludes = self.excludes
        for row in files:
            file_id, name, size, created, modified, listed_parent, url = row
            file_parent = listed_parent or parent_id_of(file_id)
            if file_parent is None:
                self.orphans.append(row)
                continue
            if file_parent not in folder_paths:
                self.waiting_files.setdefault(file_parent, []).append(row)
                continue
            parent_path = folder_paths[file_parent]
            if parent_path is None:
                continue  # under a hidden, excluded or unnamed folder
            rel_path = _child_path(parent_path, name, scan)
            entry = RemoteEntry(Kind.FILE, file_id, size, created, modified)
            if rel_path is not None and name.startswith(TEMP_PREFIX):
                scan.temporaries[rel_path] = entry
                continue
            if rel_path is None or excludes.excluded(rel_path, False):
                continue
            if rel_path in entries:
                if entries[rel_path].id == file_id:
                    continue  # the same file twice: pages overlapped while the tree changed
                scan.notes.append(f"{rel_path}: a remote file and folder share this name; skipped")
                scan.hidden.add(rel_path)
                entries.pop(rel_path)
                continue
            entries[rel_path] = entry
            if url:
                scan.urls[rel_path] = url

    def finish(self) -> RemoteScan:
        """Everything still waiting has no known folder: report it, never guess (its name
        makes every path of that name unknown). Raises `IncompleteListing` when an item
        can be neither placed nor named: then any path at all may be it."""
        scan = self.scan
        # Damaged folders first: one that can be placed hides its whole subtree, so what
        # waits for it is not synced rather than unplaced.
        for item in sorted(self.damaged, key=lambda item: item.kind != "folder"):
            self._damaged(item)
        for row in [*self.orphans, *(r for rows in self.waiting_files.values() for r in rows)]:
            self._unplaced(row[1], "file", "cannot tell which folder it is in")
        for children in self.waiting_folders.values():
            for _, name in children:
                self._unplaced(name, "folder", "cannot tell which folder it is in")
        return scan

    def _not_synced(self, folder_id: str) -> None:
        """A folder whose subtree is not synced: nothing waiting below it gets a path."""
        stack = [folder_id]
        while stack:
            current = stack.pop()
            self.folder_paths[current] = None
            stack.extend(child for child, _ in self.waiting_folders.pop(current, ()))
            self.waiting_files.pop(current, None)

    def _unplaced(self, name: str, kind: str, why: str) -> None:
        scan = self.scan
        if name_problem(name) is not None:
            # No local path can have this name, so nothing here can be it.
            scan.notes.append(f"a cloud {kind} named {name!r}: {why}; skipped")
            return
        note = f"a cloud {kind} named {name!r}: {why}; nothing named so is changed, on either side"
        scan.notes.append(note)
        scan.damage.append(note)
        scan.unplaced_names.add(name)

    def _damaged(self, item: DamagedItem) -> None:
        """Hide what a damaged item may stand for: its own path, or its whole folder."""
        parent = item.parent_id or parent_id_of(item.id)
        if parent is None or parent not in self.folder_paths:
            if item.name is None:
                raise IncompleteListing(f"a {item.kind} {item.problem}, in an unknown folder")
            self._unplaced(item.name, item.kind, item.problem)
            return
        parent_path = self.folder_paths[parent]
        if parent_path is None:
            return  # under a folder that is not synced
        scan = self.scan
        if item.name is not None and name_problem(item.name) is None:
            rel_path = f"{parent_path}/{item.name}" if parent_path else item.name
            note = f"{rel_path}: the cloud's listing of this {item.kind} {item.problem}; skipped"
            scan.entries.pop(rel_path, None)
            scan.urls.pop(rel_path, None)
            scan.hidden.add(rel_path)
            if item.kind == "folder":
                self._not_synced(item.id)
        elif not parent_path:
            raise IncompleteListing(f"a {item.kind} at the top of the folder {item.problem}")
        else:
            note = f"{parent_path}: a {item.kind} in it {item.problem}; the folder is skipped"
            scan.hidden.add(parent_path)
            if item.kind == "folder":
                self._not_synced(item.id)
        scan.notes.append(note)
        scan.damage.append(note)


def _child_path(parent_path: str | None, name: str, scan: RemoteScan) -> str | None:
    if parent_path is None:
        return None  # the parent is not synced, so nothing below it is either
    problem = name_problem(name)
    if problem is not None:
        where = f"{parent_path}/" if parent_path else ""
        scan.notes.append(f"{where}{name!r}: {problem}; cannot be a local name, not synced")
        if "/" not in name and "\0" not in name and name not in ("", ".", ".."):
            scan.hidden.add(posixpath.join(parent_path, name))
        return None
    return sys.intern(f"{parent_path}/{name}" if parent_path else name)  # see store.load_base


def temp_name(name: str, tag: str = "") -> str:
    """A hidden, unique name for an upload that will replace `name` (excluded from sync).

    With a `tag` (the pair's, see `RemoteSide.temp_tag`) the name says whose it is:
    `.syncd-upload-<tag>.<random>-<name>`, which `temp_owner` reads back.
    """
    stem = name.encode("utf-8")[:180].decode("utf-8", "ignore")
    token = f"{tag}.{uuid.uuid4().hex[:8]}" if tag else uuid.uuid4().hex[:12]
    return f"{TEMP_PREFIX}{token}-{stem}"


def temp_owner(name: str) -> str | None:
    """The tag in an upload temporary's name; None for an untagged (older) temporary."""
    if not name.startswith(TEMP_PREFIX):
        return None
    token = name[len(TEMP_PREFIX) :].partition("-")[0]
    tag, dot, _ = token.partition(".")
    return tag if dot and tag else None


class RemoteSide:
    """The pair's remote folder through one client: ids by path, composite operations."""

    def __init__(self, client: CloudClient, root_path: str) -> None:
        self.client = client
        self.root_path = root_path
        self.root_id: str | None = None
        # Marks this pair's upload temporaries, so that the ones a killed process left can
        # be told from another computer's uploads in flight (set by the engine).
        self.temp_tag = ""
        # A daemon lists a big tree every minute, and nearly always gets the same pages back:
        # remembering them saves decoding them again (costs a copy of the snapshot's index).
        self.remember_listings = False
        self._memo: ListingMemo | None = None
        # The memo kept on disk between runs (set by whoever knows the state folder).
        self.listing_cache: ListingCache | None = None

    def resolve_root(self, *, create: bool) -> str:
        """The id of the pair's remote folder; made when `create` (first sync only)."""
        resolver = PathResolver(self.client)
        if create:
            folder = resolver.ensure_folder(self.root_path)
        else:
            item = resolver.lookup(self.root_path)
            if item is None or isinstance(item, RemoteFile):
                raise RootGuardError(
                    f"the remote folder {self.root_path} is gone (or is now a file) although "
                    "files were synced from it: nothing was deleted locally. Restore it, or "
                    "run `syncd reset` to sync this pair from scratch."
                )
            folder = item
        self.root_id = folder.id
        return folder.id

    def scan(self, excludes: Excludes, *, page_size: int, with_urls: bool = False) -> RemoteScan:
        """One flat listing of the pair's folder, page by page: each page is turned into
        compact rows and dropped before the next arrives.

        With `remember_listings`, pages whose bodies are the same as in the last listing are
        not decoded; if every page is the same, the last snapshot is handed out again. If
        only some are, the skipped ones are fetched again and decoded (a change costs a few
        more calls; no change, which is most polls, costs no decoding).
        """
        assert self.root_id is not None, "resolve_root first"
        key = excludes.key()
        memo = self._memo
        if memo is None and self.listing_cache is not None and not with_urls:
            memo = self.listing_cache.load()
        usable = (
            not with_urls  # download URLs may differ from listing to listing
            and memo is not None
            and (memo.root_id, memo.page_size, memo.excludes_key) == (self.root_id, page_size, key)
        )
        known = memo.pages if usable and memo is not None else ()
        builder = SnapshotBuilder(self.root_id, excludes)
        pages: list[tuple[bytes, int]] = []
        skipped: list[int] = []  # offsets of pages not decoded
        for page in self.client.iter_flat_pages(
            self.root_id, page_size=page_size, show_thumbnails=with_urls, known=known
        ):
            if pages and page.digest == pages[-1][0]:
                break  # the server ignored the offset: everything is here already
            pages.append((page.digest, page.count))
            if page.listing is None:
                skipped.append(page.offset)
            else:
                builder.add_listing(page.listing)
        if memo is not None and len(skipped) == len(pages) == len(known):
            if not self.remember_listings:
                self._memo = None
                return memo.scan  # nobody else holds it: no copy needed
            self._memo = memo
            return memo.scan.copy()
        for skipped_offset in skipped:
            listing = self.client.get_folder(
                self.root_id, flat=True, limit=page_size, offset=skipped_offset
            )
            builder.add_listing(listing)
        scan = builder.finish()
        if with_urls:
            return scan
        fresh = ListingMemo(self.root_id, page_size, key, tuple(pages), scan)
        if self.listing_cache is not None:
            self.listing_cache.save(fresh)
        if self.remember_listings:
            self._memo = ListingMemo(self.root_id, page_size, key, tuple(pages), scan.copy())
        return scan

    def children(self, folder_id: str, *, page_size: int) -> absence.Children:
        """What the cloud holds directly in a folder now, by name (a non-flat listing)."""
        listing = self.client.list_children(folder_id, page_size=page_size)
        names = {f.name for f in listing.files} | {d.name for d in listing.subfolders}
        unreadable = False
        for item in listing.damaged:
            if item.name is None:
                unreadable = True
            else:
                names.add(item.name)
        return absence.Children(frozenset(names), unreadable)

    # --- composite operations ----------------------------------------------------------

    def upload_new(
        self, source: UploadSource, folder_id: str, name: str, progress: Progress | None
    ) -> RemoteEntry:
        """Upload into a folder that should not hold `name`. If it does (a race), the service
        stored `name(1)`: that copy is removed again and the path reported as changed."""
        result = self.client.upload(source, folder_id, name=name, progress=progress)
        if result.file_name != name:
            self.client.delete_file(result.file_id)
            raise PathError(name, "appeared in the cloud while it was being uploaded")
        return self.uploaded(result.file_id, name, source.size)

    def replace(
        self,
        source: UploadSource,
        folder_id: str,
        name: str,
        expected: RemoteEntry,
        progress: Progress | None,
        before_commit: Callable[[], None],
    ) -> RemoteEntry:
        """Upload to a temporary name, check the old version is still the one in base,
        delete it, rename the upload into place. Any doubt leaves the old version alone."""
        hidden = temp_name(name, self.temp_tag)
        result = self.client.upload(source, folder_id, name=hidden, progress=progress)
        try:
            before_commit()
            current = remote_entry(self.client.get_file(expected.id))
            if current.fingerprint() != expected.fingerprint():
                raise PathError(name, "changed in the cloud meanwhile; will sync again")
            self.client.delete_file(expected.id)
        except BaseException:
            self.client.delete_file(result.file_id)
            raise
        try:
            renamed = self.client.rename_file(result.file_id, name)
        except AlreadyExists:
            # Recreated in the instant between delete and rename. The local file still holds
            # our version, so drop the upload; the next pass sees both sides changed.
            self.client.delete_file(result.file_id)
            raise PathError(name, "recreated in the cloud meanwhile; will sync again") from None
        return self.uploaded(renamed.id, name, source.size)

    def uploaded(self, file_id: str, name: str, size: int) -> RemoteEntry:
        """The file an upload stored. The upload answers with an id only: the dates come from
        the listing the engine makes right after the pass (reading them here would double
        the calls of every upload). A run that stops before that listing leaves the dates
        unknown, and the next run compares contents instead of trusting id and size
        (`PairEngine.prepare`)."""
        del name  # the name is checked by the caller
        return RemoteEntry(Kind.FILE, file_id, size)

    def move(self, item_id: str, is_dir: bool, src: str, dst: str, folder_id: str | None) -> str:
        """Move and/or rename an item from rel_path `src` to `dst`; returns its new id.

        `folder_id` is the target folder (None: the same folder). The API moves and renames
        in two calls, so the item passes through a middle name: its old name in the target
        folder, else its new name in the old folder, else (both taken) a hidden temporary.
        """
        client = self.client
        rename = client.rename_folder if is_dir else client.rename_file
        name, new_name = posixpath.basename(src), posixpath.basename(dst)
        if folder_id is not None:
            move = client.move_folder if is_dir else client.move_file
            try:
                item_id = move(item_id, folder_id).id
            except AlreadyExists:
                if name == new_name:
                    raise
                try:
                    item_id = rename(item_id, new_name).id
                    name = new_name
                except AlreadyExists:
                    name = temp_name(new_name)
                    item_id = rename(item_id, name).id
                item_id = move(item_id, folder_id).id
        if name != new_name:
            item_id = rename(item_id, new_name).id
        return item_id

    def delete_file(self, expected: RemoteEntry) -> None:
        try:
            current = remote_entry(self.client.get_file(expected.id))
        except NotFound:
            return
        if current.fingerprint() != expected.fingerprint():
            raise PathError(shown(expected.id), "changed in the cloud meanwhile; not deleted")
        self.client.delete_file(expected.id)

    def delete_folder(
        self, rel_path: str, expected: RemoteEntry, subtree: dict[str, RemoteEntry]
    ) -> bool:
        """Delete a folder if it holds exactly what the plan saw; otherwise delete just the
        planned items that are still as planned. True when the folder itself is gone."""
        try:
            listing = self.client.list_flat(expected.id)
        except NotFound:
            return True
        found = snapshot_from_listing(listing, Excludes(builtin=False))
        found_entries = {f"{rel_path}/{path}": entry for path, entry in found.entries.items()}
        clean = not found.notes and not found.temporaries and not found.unplaced_names
        if clean and _fingerprints(found_entries) == _fingerprints(subtree):
            self.client.delete_folder(expected.id)
            return True
        # Something the plan did not see is in there (an excluded item, a name we cannot
        # hold, a new upload): keep it, and remove only what the plan meant to remove.
        for path, entry in sorted(subtree.items(), key=lambda item: -item[0].count("/")):
            now = found_entries.get(path)
            if now is None or now.fingerprint() != entry.fingerprint():
                continue
            if entry.kind is Kind.FILE:
                self.client.delete_file(now.id)
            elif not any(
                other.startswith(path + "/") for other in found_entries.keys() - subtree.keys()
            ):
                self.client.delete_folder(now.id)
        return False

    def listing_entries(self, folder_id: str, rel_path: str, excludes: Excludes) -> RemoteScan:
        """A fresh scan of one folder's subtree, with paths under `rel_path`."""
        found = snapshot_from_listing(self.client.list_flat(folder_id), excludes)
        moved = RemoteScan(root_id=folder_id, notes=found.notes)
        moved.entries = {f"{rel_path}/{path}": entry for path, entry in found.entries.items()}
        return moved


def _fingerprints(entries: dict[str, RemoteEntry]) -> dict[str, tuple[Kind, int, int, int]]:
    return {path: entry.fingerprint() for path, entry in entries.items()}
