"""Carry out a plan: API calls and local file operations, each checked just before it acts.

Order: conflicts and deletes (deepest first), then folder creations (shallowest first), then
moves, then transfers in a bounded pool. Every action ends in one `Outcome` that tells the
engine which base rows to write, how its views of both sides changed, and what failed. An
action whose side changed since the plan was made does nothing and asks for a rescan; an
action that fails leaves the base as it was.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import queue
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast

from syncd.cloud.errors import (
    AlreadyExists,
    CloudError,
    ContentMismatch,
    ForeignUrl,
    NotFound,
)
from syncd.cloud.models import RemoteFile
from syncd.errors import PathError, SyncdError, TransientError
from syncd.sync import localfs
from syncd.sync.excludes import Excludes
from syncd.sync.io import HashingSource, HashingWriter, TokenBucket
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
    MkdirLocal,
    MkdirRemote,
    MoveLocal,
    MoveRemote,
    Plan,
    Record,
    RemoteEntry,
    Skip,
    Upload,
)
from syncd.sync.paths import is_within, parent_of
from syncd.sync.remote import RemoteSide, remote_entry
from syncd.sync.report import Observers

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The engine is stopping: the transfer was abandoned, nothing was committed."""


class Stale(Exception):
    """A side no longer looks like the plan saw it: skip, rescan, plan again."""


class LowDiskSpace(PathError):
    """Free local space is under the reserve: downloads wait for the next pass."""


@dataclass
class Outcome:
    action: Action
    base: dict[str, BaseEntry | None] = field(default_factory=dict)
    local: dict[str, LocalEntry | None] = field(default_factory=dict)
    remote: dict[str, RemoteEntry | None] = field(default_factory=dict)
    rescan: set[str] = field(default_factory=set)
    error: BaseException | None = None
    stale: bool = False
    # False when `remote` holds guesses (an upload's dates), to be confirmed by a listing.
    remote_fresh: bool = True
    conflict: tuple[str, str, str] | None = None
    transferred: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.stale

    def moved_bytes(self, count: int) -> None:
        """The bytes this action sent or fetched (for the report)."""
        self.transferred = count

    def guessed_remote(self) -> None:
        """`remote` holds guesses (an upload's dates): a listing must confirm them."""
        self.remote_fresh = False

    def made_conflict(self, copy: str, original: str, loser: str) -> None:
        """Both versions were kept: the loser's is now at `copy`."""
        self.conflict = (copy, original, loser)


class DiskRoom:
    """What the last free-space measure left for downloads, spent by small downloads so
    that not every file costs a statfs; measured again after a second or a big file."""

    MAX_AGE = 1.0
    SMALL = 1 << 20

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._room = 0
        self._at = -self.MAX_AGE

    def take(self, incoming: int) -> bool:
        """Spend `incoming` bytes of the known room; False when it must be measured."""
        with self._lock:
            fresh = self._clock() - self._at < self.MAX_AGE
            if incoming > self.SMALL or not fresh or self._room < incoming:
                return False
            self._room -= incoming
            return True

    def measured(self, room: float) -> None:
        with self._lock:
            self._room = int(room)
            self._at = self._clock()


@dataclass
class Limits:
    up: TokenBucket = field(default_factory=TokenBucket)
    down: TokenBucket = field(default_factory=TokenBucket)


def phase(action: Action) -> tuple[int, int, str]:
    """The order of application: see the module docstring."""
    rel_path = action.rel_path
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


def _is_transfer(action: Action) -> bool:
    return isinstance(action, Upload | Download | Conflict)


class RunControl:
    """One run of one plan: what may end it early, and what it learns on the way. Made by
    `Executor.new_run`, read by the transfer threads, so its flags only ever go one way."""

    def __init__(self, stop: threading.Event, partial_folders: set[str]) -> None:
        self._stop = stop  # the engine stopping for good
        self._halt = threading.Event()  # this run ending early (offline, needs the user)
        # Folders (rel paths) that may hold partial downloads: those the scan saw, and
        # those of the downloads of this run that stopped short.
        self.partial_folders = partial_folders
        self.uploads_paused = False  # the cloud is full
        self.downloads_paused = False  # the local disk is nearly full

    def halt(self) -> None:
        self._halt.set()

    def halted(self) -> bool:
        return self._stop.is_set() or self._halt.is_set()

    def pause_uploads(self) -> None:
        self.uploads_paused = True

    def pause_downloads(self) -> None:
        self.downloads_paused = True


class Executor:
    """Applies plans for one folder pair. Called from the engine thread only."""

    def __init__(
        self,
        root: Path,
        remote: RemoteSide,
        *,
        transfers: int = 4,
        limits: Limits | None = None,
        stop: threading.Event | None = None,
        now: Callable[[], datetime] = datetime.now,
        min_free_space: int = 0,
        min_free_percent: float = 0.0,
        observers: Observers | None = None,
    ) -> None:
        self.root = root
        self.remote = remote
        self.transfers = transfers
        self.limits = limits or Limits()
        self.stop = stop or threading.Event()
        self.now = now
        self.min_free_space = min_free_space
        self.min_free_percent = min_free_percent
        self.disk_room = DiskRoom()
        self.observers = observers or Observers()
        self._current: RunControl | None = None
        # Where partial downloads may be: those a scan saw, and those of downloads that
        # stopped short in any earlier run (resumed when the same version comes again).
        self._partial_folders: set[str] = set()

    def new_run(self, partial_folders: set[str]) -> RunControl:
        """The control of the next run (`partial_folders`: where the scan saw partials)."""
        self._partial_folders |= partial_folders
        self._current = RunControl(self.stop, self._partial_folders)
        return self._current

    def halt(self) -> None:
        """End the current run early (from any thread): nothing new starts, transfers in
        flight stop at their next chunk."""
        current = self._current
        if current is not None:
            current.halt()

    def halted(self) -> bool:
        """Was the current run ended early (or is the engine stopping)?"""
        current = self._current
        return self.stop.is_set() or (current is not None and current.halted())

    def run(
        self,
        plan: Plan,
        control: RunControl,
        base: BaseSnapshot,
        remote_view: Mapping[str, RemoteEntry],
        urls: Mapping[str, str],
        excludes: Excludes,
        on_outcome: Callable[[Outcome], None],
    ) -> None:
        """Apply `plan`; `on_outcome` runs on this thread for each action as it completes.

        `remote_view` must be kept current by `on_outcome` (new folder ids are looked up in
        it), which is why outcomes are handed back one by one, in dependency order.
        """
        ordered = sorted(plan.actions, key=phase)
        context = _Context(self, control, base, remote_view, urls, excludes)
        with contextlib.closing(context) as ctx:
            self._run(ctx, control, ordered, on_outcome)

    def _run(
        self,
        ctx: _Context,
        control: RunControl,
        ordered: list[Action],
        on_outcome: Callable[[Outcome], None],
    ) -> None:
        sequential = [a for a in ordered if not _is_transfer(a)]
        parallel = [a for a in ordered if _is_transfer(a)]
        for action in sequential:
            if control.halted():
                return
            on_outcome(ctx.apply(action))
        if not parallel:
            return
        with ThreadPoolExecutor(self.transfers, thread_name_prefix="syncd-transfer") as pool:
            # Each transfer hands its future over as it ends (`wait(FIRST_COMPLETED)` would
            # add and remove a waiter on every pending future per outcome).
            done: queue.SimpleQueue[Future[Outcome]] = queue.SimpleQueue()
            waiting = list(reversed(parallel))
            pending = 0
            while waiting or pending:
                while waiting and pending < self.transfers * 2 and not control.halted():
                    pool.submit(ctx.apply, waiting.pop()).add_done_callback(done.put)
                    pending += 1
                if not pending:
                    break
                future = done.get()
                pending -= 1
                on_outcome(future.result())
                if control.halted():
                    waiting.clear()


class _Context:
    """One run of one plan: the executor's settings, the run's control, and the views it
    looks ids up in."""

    def __init__(
        self,
        executor: Executor,
        control: RunControl,
        base: BaseSnapshot,
        remote_view: Mapping[str, RemoteEntry],
        urls: Mapping[str, str],
        excludes: Excludes,
    ) -> None:
        self.x = executor
        self.run = control
        self.root = executor.root
        self.base = base
        self.remote_view = remote_view
        self.urls = urls
        self.excludes = excludes
        self.beneath = localfs.Beneath(executor.root)
        self.marker = localfs.read_marker(executor.root)

    def close(self) -> None:
        self.beneath.close()

    # --- dispatch ----------------------------------------------------------------------

    def apply(self, action: Action) -> Outcome:
        outcome = Outcome(action)
        if self.x.observers.start is not None and _is_transfer(action):
            self.x.observers.start(action)
        try:
            self._dispatch(action, outcome)
        except Stale as exc:
            log.info("%s: %s", action.rel_path, exc)
            outcome.stale = True
            outcome.rescan.add(action.rel_path)
            outcome.base.clear()
        except Cancelled as exc:
            outcome.error = exc
            outcome.base.clear()
        except (SyncdError, OSError) as exc:
            outcome.error = _as_path_error(action.rel_path, exc)
            outcome.base.clear()
            outcome.rescan.add(action.rel_path)
        except Exception as exc:  # a bug must cost one path, not the daemon
            log.exception("%s: unexpected error", action.rel_path)
            outcome.error = PathError(action.rel_path, f"internal error: {exc!r}")
            outcome.base.clear()
        return outcome

    def _dispatch(self, action: Action, outcome: Outcome) -> None:
        if isinstance(action, Record):
            outcome.base[action.rel_path] = _base_of(action.local, action.remote)
        elif isinstance(action, Skip):
            pass
        elif isinstance(action, Upload):
            self._upload(action, outcome)
        elif isinstance(action, Download):
            self._download(action, outcome)
        elif isinstance(action, MkdirLocal):
            self._mkdir_local(action, outcome)
        elif isinstance(action, MkdirRemote):
            self._mkdir_remote(action, outcome)
        elif isinstance(action, DeleteLocal):
            self._delete_local(action, outcome)
        elif isinstance(action, DeleteRemote):
            self._delete_remote(action, outcome)
        elif isinstance(action, MoveRemote):
            self._move_remote(action, outcome)
        elif isinstance(action, MoveLocal):
            self._move_local(action, outcome)
        elif isinstance(action, Conflict):
            self._conflict(action, outcome)
        else:  # pragma: no cover - the Action union is closed
            raise AssertionError(action)

    # --- helpers -----------------------------------------------------------------------

    def _root_in_place(self) -> bool:
        """Is the root still the folder this run started in (its marker, unchanged)?"""
        return self.marker is not None and localfs.read_marker(self.root) == self.marker

    def _path(self, rel_path: str) -> Path:
        return localfs.local_path(self.root, rel_path)

    def _folder_id(self, rel_path: str) -> str:
        if rel_path == "":
            assert self.x.remote.root_id is not None
            return self.x.remote.root_id
        entry = self.remote_view.get(rel_path)
        if entry is None or entry.kind is not Kind.DIR:
            raise PathError(rel_path, "its cloud folder is missing")
        return entry.id

    def _check_local(self, rel_path: str, expected: LocalEntry | None) -> LocalEntry | None:
        current = localfs.stat_entry(self._path(rel_path))
        if expected is None:
            if current is not None:
                raise Stale("appeared locally meanwhile")
            return None
        if current is None or not current.same_stat(expected):
            raise Stale("changed locally meanwhile")
        return current

    def _progress(self, bucket: TokenBucket, action: Action) -> Callable[[int], None]:
        halted = self.run.halted
        observer = self.x.observers.progress

        def on_chunk(count: int) -> None:
            if halted():
                raise Cancelled("stopping")
            bucket.consume(count)
            if observer is not None:
                observer(action, count)

        return on_chunk

    def _descendant_base(self, rel_path: str) -> Iterable[str]:
        return [path for path in self.base if is_within(path, rel_path)]

    # --- transfers ---------------------------------------------------------------------

    def _upload(self, action: Upload, outcome: Outcome) -> None:
        if self.run.uploads_paused:
            raise TransientError("uploads are paused")
        rel_path = action.rel_path
        self._check_local(rel_path, action.local)
        # Read beneath the root like a download is written: never through a symlinked folder.
        source = HashingSource(
            lambda: self.beneath.open(rel_path, os.O_RDONLY),
            posixpath.basename(rel_path),
            action.local.size,
        )
        folder_id = self._folder_id(parent_of(rel_path))
        progress = self._progress(self.x.limits.up, action)

        def unchanged_while_sending() -> None:
            self._check_local(rel_path, action.local)

        if action.replace is None:
            entry = self.x.remote.upload_new(source, folder_id, source.name, progress)
            try:
                unchanged_while_sending()
            except Stale:
                # Changed or deleted while it was sent: withdraw the upload. Unless the whole
                # root went (unmounted, moved away): then the file is not gone, only out of
                # reach, and the cloud copy is the one left in sight. The root guard stops
                # the pair before anything else happens.
                if self._root_in_place():
                    self.x.remote.client.delete_file(entry.id)
                raise
        else:
            entry = self.x.remote.replace(
                source, folder_id, source.name, action.replace, progress, unchanged_while_sending
            )
        sha256 = source.sha256
        local = LocalEntry(
            Kind.FILE, action.local.size, action.local.mtime_ns, action.local.inode, sha256
        )
        outcome.base[rel_path] = BaseEntry.of(local, entry)
        outcome.local[rel_path] = local
        outcome.remote[rel_path] = entry
        if entry.created == 0:
            outcome.guessed_remote()
        outcome.moved_bytes(action.local.size)

    def _fetch(
        self, rel_path: str, remote: RemoteEntry, action: Action
    ) -> tuple[Path, str | None, os.stat_result]:
        """Download `remote` into the partial file beside `rel_path`; return it, its hash and
        its stat (taken before it is renamed into place, which changes neither). It reaches
        the disk before its base is committed: see `localfs.sync_filesystem`.

        The partial's name carries the remote version, so a download cut short (a crash, a
        stop, the network) resumes with a Range request if, and only if, the cloud still
        holds that same version; partials of other versions are dropped.
        """
        if self.run.downloads_paused:
            raise LowDiskSpace(rel_path, "downloads are paused: the local disk is nearly full")
        partial_rel = localfs.partial_rel_path(rel_path, version=remote.fingerprint_tag())
        partial = Path(os.path.join(self.root, partial_rel))
        folder = posixpath.dirname(rel_path)
        # Most folders hold no partial: looking for one costs a directory listing per file.
        offset = 0
        if folder in self.run.partial_folders:
            localfs.checked_parent(self.root, rel_path)
            localfs.remove_other_partials(partial)
            offset = _resumable_size(partial, remote.size)
        self._check_disk(rel_path, folder, remote.size - offset)
        url = self.urls.get(rel_path)
        source: str | RemoteFile = remote.id
        if url:
            stamp = datetime.fromtimestamp(remote.modified).astimezone()
            created = datetime.fromtimestamp(remote.created).astimezone()
            source = RemoteFile(
                remote.id, posixpath.basename(rel_path), remote.size, "FILE", created, stamp,
                download_url=url,
            )  # fmt: skip
        flags = os.O_RDWR | os.O_CREAT | (0 if offset else os.O_TRUNC)
        fd = self.beneath.open(partial_rel, flags)
        try:
            with open(fd, "r+b", buffering=0) as handle:
                writer = HashingWriter.resuming(handle, offset)
                if offset:
                    log.info("%s: resuming the download at byte %d", rel_path, offset)
                size = self.x.remote.client.download(
                    source,
                    cast(BinaryIO, writer),
                    offset=offset,
                    progress=self._progress(self.x.limits.down, action),
                )
                if remote.modified:
                    os.utime(fd, (remote.modified, remote.modified))
                st = os.fstat(fd)
            if size != remote.size or st.st_size != remote.size:
                raise Stale("changed in the cloud meanwhile (size differs)")
        except (Stale, NotFound, ContentMismatch, ForeignUrl):
            _unlink_quietly(partial)  # that version is gone, or garbage: nothing to resume
            raise
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                _unlink_quietly(partial)  # a partial must not keep the disk full
            else:
                self.run.partial_folders.add(folder)
            raise
        except BaseException:
            self.run.partial_folders.add(folder)  # kept for a resume
            raise
        return partial, writer.sha256(), st

    def _check_disk(self, rel_path: str, folder: str, incoming: int) -> None:
        if not self.x.disk_room.take(incoming):
            usage = shutil.disk_usage(os.path.join(self.root, folder))
            reserve = max(self.x.min_free_space, usage.total * self.x.min_free_percent / 100)
            room = usage.free - reserve
            self.x.disk_room.measured(room - incoming)
            if room < incoming:
                self.run.pause_downloads()
                raise LowDiskSpace(
                    rel_path,
                    f"downloads are paused: {incoming} more bytes would leave less than "
                    f"{int(reserve)} bytes free on the local disk",
                )

    def _download(self, action: Download, outcome: Outcome) -> None:
        rel_path = action.rel_path
        if action.replace is not None:
            self._check_local(rel_path, action.replace)
        partial, sha256, st = self._fetch(rel_path, action.remote, action)
        local = LocalEntry(Kind.FILE, st.st_size, st.st_mtime_ns, st.st_ino, sha256)
        try:
            # `_fetch` has checked `rel_path` (`partial_rel_path`); a Path and a second check
            # cost 45 us of CPU per file on a first sync of small files.
            target = os.path.join(self.root, rel_path)
            if action.replace is None:
                # A new file: the rename itself refuses to overwrite what appeared meanwhile.
                if not localfs.rename_new(partial, target):
                    raise Stale("appeared locally meanwhile")
            else:
                current = self._check_local(rel_path, action.replace)
                if current is not None and self._holds(rel_path, action.replace, sha256):
                    # The cloud sent what is here already (a look-alike checked, say): the
                    # file stays as it is, and no copy of it goes to the trash.
                    _unlink_quietly(partial)
                    local = replace(current, sha256=sha256)
                else:
                    self._keep_in_trash(rel_path)
                    os.replace(partial, target)
        except BaseException:
            _unlink_quietly(partial)
            raise
        outcome.base[rel_path] = BaseEntry.of(local, action.remote)
        outcome.local[rel_path] = local
        outcome.moved_bytes(action.remote.size)

    def _holds(self, rel_path: str, local: LocalEntry, sha256: str | None) -> bool:
        """Does the local file (as `local` saw it, just checked) hold exactly `sha256`?
        Known without reading it when the scan hashed it, or when it is its base row's."""
        if sha256 is None:
            return False
        if local.sha256 is not None:
            return local.sha256 == sha256
        known = self.base.get(rel_path)
        return known is not None and local.same_stat(known) and known.sha256 == sha256

    def _keep_in_trash(self, rel_path: str) -> None:
        """Hard-link the version about to be overwritten into the trash (no copy, no gap)."""
        source = self._path(rel_path)
        target = localfs.trash_slot(self.root, rel_path, self.x.now())  # made, checked
        try:
            os.link(source, target)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                log.warning("%s: could not keep the old version in the trash: %s", rel_path, exc)
                return
            raise

    # --- folders -----------------------------------------------------------------------

    def _mkdir_local(self, action: MkdirLocal, outcome: Outcome) -> None:
        rel_path = action.rel_path
        localfs.checked_parent(self.root, rel_path)
        path = self._path(rel_path)
        try:
            os.mkdir(path)
        except FileExistsError:
            if localfs.stat_entry(path) is None or not path.is_dir() or path.is_symlink():
                raise Stale("something else appeared locally at this path") from None
        local = localfs.stat_entry(path)
        assert local is not None
        outcome.base[rel_path] = BaseEntry.of(local, action.remote)
        outcome.local[rel_path] = local

    def _mkdir_remote(self, action: MkdirRemote, outcome: Outcome) -> None:
        rel_path = action.rel_path
        local = self._check_local(rel_path, action.local)
        assert local is not None
        parent_id = self._folder_id(parent_of(rel_path))
        name = posixpath.basename(rel_path)
        try:
            folder = self.x.remote.client.create_folder(name, parent_id)
            folder_id = folder.id
        except AlreadyExists:
            existing = [
                sub
                for sub in self.x.remote.client.get_folder(parent_id).subfolders
                if sub.name == name
            ]
            if not existing:
                raise Stale("a file by this name appeared in the cloud meanwhile") from None
            folder_id = existing[0].id
        entry = RemoteEntry(Kind.DIR, folder_id)
        outcome.base[rel_path] = BaseEntry.of(local, entry)
        outcome.remote[rel_path] = entry

    # --- deletes -----------------------------------------------------------------------

    def _delete_local(self, action: DeleteLocal, outcome: Outcome) -> None:
        rel_path = action.rel_path
        self._check_local(rel_path, action.expected)
        if action.expected.kind is Kind.DIR:
            found = localfs.scan(self.root, {}, self.excludes, [rel_path])
            expected = dict(action.subtree) | {rel_path: action.expected}
            if found.unreadable or _stats(found.entries) != _stats(expected):
                raise Stale("the local folder holds more or other items than planned")
        localfs.trash(self.root, rel_path, self.x.now())
        for path in self._descendant_base(rel_path):
            outcome.base[path] = None
        for path, _ in ((rel_path, None), *action.subtree):
            outcome.local[path] = None

    def _delete_remote(self, action: DeleteRemote, outcome: Outcome) -> None:
        rel_path = action.rel_path
        if action.expected.kind is Kind.FILE:
            try:
                self.x.remote.delete_file(action.expected)
            except PathError:
                raise Stale("changed in the cloud meanwhile; not deleted") from None
            outcome.base[rel_path] = None
            outcome.remote[rel_path] = None
            return
        subtree = dict(action.subtree)
        gone = self.x.remote.delete_folder(rel_path, action.expected, subtree)
        for path in self._descendant_base(rel_path):
            if path != rel_path and path not in subtree:
                continue
            outcome.base[path] = None
        for path in subtree:
            outcome.remote[path] = None
        if gone:
            outcome.remote[rel_path] = None
        else:
            outcome.rescan.add(rel_path)

    # --- moves -------------------------------------------------------------------------

    def _move_remote(self, action: MoveRemote, outcome: Outcome) -> None:
        src, dst = action.src, action.dst
        current = localfs.stat_entry(self._path(dst))
        if current is None or current.inode != action.local.inode:
            raise Stale("moved again locally meanwhile")
        client = self.x.remote.client
        is_dir = action.remote.kind is Kind.DIR
        at = action.remote_from  # where the cloud holds it: `src`, or halfway (see MoveRemote)
        dst_parent = parent_of(dst)
        target_id = None if parent_of(at) == dst_parent else self._folder_id(dst_parent)
        item_id = self.x.remote.move(action.remote.id, is_dir, at, dst, target_id)
        # Ids follow paths, and a move may touch dates: read back what is now there.
        fresh: dict[str, RemoteEntry] = {}
        if is_dir:
            fresh[dst] = RemoteEntry(Kind.DIR, item_id)
            fresh.update(self.x.remote.listing_entries(item_id, dst, self.excludes).entries)
        else:
            fresh[dst] = remote_entry(client.get_file(item_id))
        self._rekey(src, dst, fresh, outcome)
        for path in self._descendant_remote(at):
            outcome.remote[path] = None
        outcome.remote.update(fresh)

    def _move_local(self, action: MoveLocal, outcome: Outcome) -> None:
        src, dst = action.src, action.dst
        self._check_local(src, action.local)
        localfs.checked_parent(self.root, dst)
        target = self._path(dst)
        if os.path.lexists(target):
            raise Stale("something appeared locally at the target meanwhile")
        os.rename(self._path(src), target)
        moved = {path: entry for path, entry in self.remote_view.items() if is_within(path, dst)}
        self._rekey(src, dst, moved, outcome)
        local = localfs.stat_entry(target)
        outcome.local[src] = None
        outcome.local[dst] = local
        outcome.rescan.update({src, dst})

    def _descendant_remote(self, rel_path: str) -> list[str]:
        return [path for path in self.remote_view if is_within(path, rel_path)]

    def _rekey(
        self, src: str, dst: str, fresh: Mapping[str, RemoteEntry], outcome: Outcome
    ) -> None:
        """Base rows follow a move: local stats stay (an edit still shows), remote ids and
        dates are refreshed where size and creation date say it is the same item."""
        for path in self._descendant_base(src):
            old = self.base[path]
            new_path = dst + path[len(src) :]
            outcome.base[path] = None
            now = fresh.get(new_path)
            if now is None or now.kind is not old.kind:
                continue
            same = now.size == old.size and (
                now.kind is Kind.DIR or now.created == old.remote_created
            )
            outcome.base[new_path] = BaseEntry(
                old.kind,
                old.size,
                old.mtime_ns,
                old.inode,
                old.sha256,
                now.id if same else old.remote_id,
                now.created if same else old.remote_created,
                now.modified if same else old.remote_modified,
            )

    # --- conflicts ---------------------------------------------------------------------

    def _conflict(self, action: Conflict, outcome: Outcome) -> None:
        rel_path = action.rel_path
        local = self._check_local(rel_path, action.local)
        assert local is not None
        remote_is_file = action.remote.kind is Kind.FILE
        partial: Path | None = None
        sha256: str | None = None
        if remote_is_file and action.loser == "local":
            partial, sha256, _ = self._fetch(rel_path, action.remote, action)
        try:
            if action.compare_first and partial is not None and local.kind is Kind.FILE:
                local_hash = action.local.sha256 or localfs.hash_file(self._path(rel_path))
                self._check_local(rel_path, action.local)
                if local_hash == sha256:
                    kept = LocalEntry(Kind.FILE, local.size, local.mtime_ns, local.inode, sha256)
                    outcome.base[rel_path] = BaseEntry.of(kept, action.remote)
                    outcome.local[rel_path] = kept
                    outcome.moved_bytes(action.remote.size)  # downloaded to compare
                    return
            if action.loser == "remote":
                self._rename_remote_aside(action, outcome)
            else:
                self._rename_local_aside(action, partial, sha256, outcome)
                partial = None
        finally:
            if partial is not None:
                _unlink_quietly(partial)

    def _rename_local_aside(
        self, action: Conflict, partial: Path | None, sha256: str | None, outcome: Outcome
    ) -> None:
        rel_path, copy = action.rel_path, action.conflict_path
        source, target = self._path(rel_path), self._path(copy)
        if os.path.lexists(target):
            raise Stale("the conflicted-copy name is taken")
        self._check_local(rel_path, action.local)
        os.rename(source, target)
        outcome.made_conflict(copy, rel_path, "local")
        outcome.local[rel_path] = None
        outcome.local[copy] = localfs.stat_entry(target)
        outcome.rescan.add(copy)
        if action.local.kind is Kind.DIR:
            outcome.rescan.add(rel_path)  # its children went with it: drop them from the view
        if partial is not None:
            os.replace(partial, source)
            placed = localfs.stat_entry(source)
            assert placed is not None
            placed = LocalEntry(Kind.FILE, placed.size, placed.mtime_ns, placed.inode, sha256)
            outcome.base[rel_path] = BaseEntry.of(placed, action.remote)
            outcome.local[rel_path] = placed
            outcome.moved_bytes(action.remote.size)
        else:
            outcome.base[rel_path] = None  # plan it afresh: the remote side comes down next

    def _rename_remote_aside(self, action: Conflict, outcome: Outcome) -> None:
        client = self.x.remote.client
        name = posixpath.basename(action.conflict_path)
        rename = client.rename_folder if action.remote.kind is Kind.DIR else client.rename_file
        try:
            ref = rename(action.remote.id, name)
        except NotFound:
            raise Stale("changed in the cloud meanwhile") from None
        outcome.made_conflict(action.conflict_path, action.rel_path, "remote")
        outcome.remote[action.rel_path] = None
        if action.remote.kind is Kind.FILE:
            outcome.remote[action.conflict_path] = remote_entry(client.get_file(ref.id))
            # The base row goes: the next pass uploads the local version as new, and the
            # renamed copy comes down as new. Kept, the row would make the copy (same size,
            # same dates) read as this file moved in the cloud, and the local edit would
            # follow it there, over it.
            outcome.base[action.rel_path] = None
        else:
            outcome.rescan.add(action.rel_path)


def _base_of(local: LocalEntry | None, remote: RemoteEntry | None) -> BaseEntry | None:
    if local is None or remote is None:
        return None
    return BaseEntry.of(local, remote)


def _stats(entries: Mapping[str, LocalEntry]) -> dict[str, tuple[Kind, int, int, int]]:
    return {
        path: (
            entry.kind,
            entry.size,
            entry.mtime_ns if entry.kind is Kind.FILE else 0,
            entry.inode,
        )
        for path, entry in entries.items()
    }


def _resumable_size(partial: Path, expected: int) -> int:
    """How much of the download a partial of this exact version already holds."""
    try:
        st = os.lstat(partial)
    except FileNotFoundError:
        return 0
    if not stat.S_ISREG(st.st_mode) or st.st_size >= expected:
        return 0
    return st.st_size


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _as_path_error(rel_path: str, exc: BaseException) -> BaseException:
    if isinstance(exc, CloudError) and exc.target != rel_path:
        return exc.with_target(rel_path)  # the client only knew an id: say which path
    if isinstance(exc, SyncdError):
        return exc
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            return PathError(rel_path, f"local disk full ({reason})")
        return PathError(rel_path, reason)
    return exc
