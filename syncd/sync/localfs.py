"""The local side: scanning, hashing, safe paths, atomic writes, the trash and the root marker.

Every path the engine touches is `root / rel_path` checked here: each component must be a
plain name, and no folder on the way may be a symlink, so nothing from the cloud can make
syncd read or write outside the sync root.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import posixpath
import stat
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from sys import intern

from syncd.errors import NeedsUserError, PathError
from syncd.sync.excludes import Excludes
from syncd.sync.model import BaseEntry, Kind, LocalEntry
from syncd.sync.paths import NAME_MAX, name_problem, outermost, refuse_unsafe

STATE_DIR_NAME = ".syncd"
MARKER_NAME = "root-id"
TRASH_DIR = "trash"
PARTIAL_SUFFIX = ".syncd-partial"
_CHUNK = 1 << 20


def local_path(root: Path, rel_path: str) -> Path:
    """`root / rel_path`, refusing anything that is not a plain relative path."""
    refuse_unsafe(rel_path)
    return root / rel_path


def inside(root: Path, paths: Iterable[Path]) -> set[str]:
    """The rel_paths, below `root`, of those `paths` that lie inside it (symlinks and `..`
    resolved on both sides, so that two names for one place are one place)."""
    real_root = os.path.realpath(root)
    found: set[str] = set()
    for path in paths:
        real = os.path.realpath(path)
        if real != real_root and real.startswith(real_root.rstrip("/") + "/"):
            found.add(os.path.relpath(real, real_root).replace(os.sep, "/"))
    return found


def checked_parent(root: Path, rel_path: str) -> Path:
    """The folder `rel_path` goes into, after checking no folder on the way is a symlink."""
    refuse_unsafe(rel_path)
    # Strings, not Paths: this runs before every download, and each Path costs a parse.
    current = os.fspath(root)
    names = rel_path.split("/")[:-1]
    for depth, name in enumerate(names, 1):
        current = os.path.join(current, name)
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            folder = "/".join(names[:depth])
            raise PathError(rel_path, f"folder {folder} is missing") from None
        if not stat.S_ISDIR(mode):
            folder = "/".join(names[:depth])
            raise PathError(rel_path, f"{folder} is not a folder (or a link)")
    return Path(current)


def entry_from_stat(st: os.stat_result, sha256: str | None = None) -> LocalEntry | None:
    if stat.S_ISDIR(st.st_mode):
        return LocalEntry(Kind.DIR, 0, 0, st.st_ino)
    if stat.S_ISREG(st.st_mode):
        return LocalEntry(Kind.FILE, st.st_size, st.st_mtime_ns, st.st_ino, sha256)
    return None


def stat_entry(path: Path) -> LocalEntry | None:
    """What is at `path` now (never following a symlink); None when nothing syncable is."""
    try:
        return entry_from_stat(os.lstat(path))
    except FileNotFoundError:
        return None


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LocalScan:
    """A scan of the whole root or of some subtrees. `unreadable` paths must not be deleted."""

    entries: dict[str, LocalEntry] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    partials: set[str] = field(default_factory=set)  # our partial downloads, seen on the way


def scan(
    root: Path,
    base: Mapping[str, BaseEntry],
    excludes: Excludes,
    subtrees: Iterable[str] | None = None,
) -> LocalScan:
    """Walk with `os.scandir`; hash a file only when its stat differs from its base row.

    `subtrees` limits the walk to those rel_paths (each included itself); None is the whole
    root. Symlinks are never followed and never synced: they are reported and left alone.
    """
    result = LocalScan()
    roots = [""] if subtrees is None else outermost(subtrees)
    if roots == [""]:
        _walk(root, "", base, excludes, result)
        return result
    for rel_path in roots:
        try:
            checked_parent(root, rel_path)
            st = os.lstat(root / rel_path)
        except FileNotFoundError:
            continue
        except PathError:
            continue  # an ancestor vanished or changed kind: its own subtree scan covers it
        except OSError as exc:
            _unreadable(result, rel_path, exc)
            continue
        _add(root, rel_path, st, base, excludes, result)
    return result


def _unreadable(result: LocalScan, rel_path: str, exc: OSError) -> None:
    result.unreadable.add(rel_path)
    result.notes.append(f"{rel_path or '.'}: cannot read ({exc.strerror or exc})")


def _add(
    root: Path,
    rel_path: str,
    st: os.stat_result,
    base: Mapping[str, BaseEntry],
    excludes: Excludes,
    result: LocalScan,
) -> None:
    is_dir = stat.S_ISDIR(st.st_mode)
    if excludes.excluded_or_below(rel_path, is_dir):
        return
    if stat.S_ISLNK(st.st_mode):
        result.unreadable.add(rel_path)
        result.notes.append(f"{rel_path}: symbolic link, not synced")
        return
    entry = entry_from_stat(st)
    if entry is None:
        result.unreadable.add(rel_path)
        result.notes.append(f"{rel_path}: not a regular file or folder, not synced")
        return
    if entry.kind is Kind.FILE:
        entry = _maybe_hash(root, rel_path, entry, base.get(rel_path), result)
        if entry is None:
            return
    result.entries[rel_path] = entry
    if entry.kind is Kind.DIR:
        _walk(root, rel_path, base, excludes, result)


def _maybe_hash(
    root: Path,
    rel_path: str,
    entry: LocalEntry,
    known: BaseEntry | None,
    result: LocalScan,
) -> LocalEntry | None:
    if known is None or known.kind is not Kind.FILE or entry.same_stat(known):
        return entry
    if entry.size != known.size:
        return entry  # a size change is a change; no need to read it now
    try:
        digest = hash_file(root / rel_path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        _unreadable(result, rel_path, exc)
        return None
    return LocalEntry(entry.kind, entry.size, entry.mtime_ns, entry.inode, digest)


def _walk(
    root: Path,
    folder: str,
    base: Mapping[str, BaseEntry],
    excludes: Excludes,
    result: LocalScan,
) -> None:
    # The hot loop of every sync (once per local item): kept flat, since each call and
    # attribute lookup costs about as much as the lstat itself on a big tree.
    entries, partials = result.entries, result.partials
    file_kind, dir_kind = Kind.FILE, Kind.DIR
    excluded = excludes.excluded
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(root / current if current else root) as items:
                listing = list(items)
        except FileNotFoundError:
            continue
        except OSError as exc:
            _unreadable(result, current, exc)
            continue
        prefix = f"{current}/" if current else ""
        for item in listing:
            name = item.name
            rel_path = intern(prefix + name)  # see store.load_base
            problem = name_problem(name)
            if problem is not None:
                result.unreadable.add(rel_path)
                result.notes.append(f"{rel_path!r}: {problem}, not synced")
                continue
            try:
                st = item.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                _unreadable(result, rel_path, exc)
                continue
            file_type = stat.S_IFMT(st.st_mode)
            if file_type == stat.S_IFREG:
                if name.endswith(PARTIAL_SUFFIX):
                    partials.add(rel_path)
                    continue
                if excluded(rel_path, False):
                    continue
                known = base.get(rel_path)
                if (
                    known is not None
                    and known.mtime_ns == st.st_mtime_ns
                    and known.inode == st.st_ino
                    and known.size == st.st_size
                    and known.kind is file_kind
                ):
                    # Unchanged: the base row's own numbers, not three new int objects
                    # (about 90 bytes a file, 10 MB on a tree of 100,000).
                    entries[rel_path] = LocalEntry(
                        file_kind, known.size, known.mtime_ns, known.inode
                    )
                    continue
                entry = LocalEntry(file_kind, st.st_size, st.st_mtime_ns, st.st_ino)
                if known is not None:
                    hashed = _maybe_hash(root, rel_path, entry, known, result)
                    if hashed is None:
                        continue
                    entry = hashed
                entries[rel_path] = entry
            elif file_type == stat.S_IFDIR:
                if excluded(rel_path, True):
                    continue
                entries[rel_path] = LocalEntry(dir_kind, 0, 0, st.st_ino)
                stack.append(rel_path)
            elif excluded(rel_path, False):
                continue
            elif file_type == stat.S_IFLNK:
                result.unreadable.add(rel_path)
                result.notes.append(f"{rel_path}: symbolic link, not synced")
            else:
                result.unreadable.add(rel_path)
                result.notes.append(f"{rel_path}: not a regular file or folder, not synced")


# --- writes --------------------------------------------------------------------------------


def partial_rel_path(rel_path: str, version: str = "") -> str:
    """Where a download of `rel_path` lands first: hidden, in the same folder (same device),
    named after the remote version it holds so a later run knows whether it can resume."""
    refuse_unsafe(rel_path)
    folder, _, target_name = rel_path.rpartition("/")
    tag = f".{version}" if version else ""
    name = f".{target_name}{tag}{PARTIAL_SUFFIX}"
    if len(name.encode("utf-8")) > NAME_MAX:
        digest = hashlib.sha256(target_name.encode("utf-8")).hexdigest()[:32]
        name = f".{digest}{tag}{PARTIAL_SUFFIX}"
    return f"{folder}/{name}" if folder else name


def partial_path(root: Path, rel_path: str, version: str = "") -> Path:
    return Path(os.path.join(root, partial_rel_path(rel_path, version)))


def partial_version(rel_path: str) -> str | None:
    """The version a partial download holds (see `partial_path`); None if its name has none."""
    name = rel_path.rsplit("/", 1)[-1]
    if not name.endswith(PARTIAL_SUFFIX):
        return None
    stem, _, version = name[: -len(PARTIAL_SUFFIX)].rpartition(".")
    return version if stem else None


def remove_partial(root: Path, rel_path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(local_path(root, rel_path))


def remove_other_partials(partial: Path) -> None:
    """Drop partial downloads of other versions of the same file."""
    stem = partial.name[: -len(PARTIAL_SUFFIX)].rsplit(".", 1)[0]
    try:
        items = list(os.scandir(partial.parent))
    except OSError:
        return
    for item in items:
        name = item.name
        if (
            name != partial.name
            and name.endswith(PARTIAL_SUFFIX)
            and name.startswith(stem + ".")
            and name.count(".") == partial.name.count(".")
        ):
            with contextlib.suppress(OSError):
                os.unlink(item.path)


def sync_filesystem(folder_fd: int) -> None:
    """Flush all that was written to the filesystem holding the open folder `folder_fd` to
    the disk (syncfs(2)).

    The engine calls it once per commit of base rows instead of an fsync per downloaded
    file and per folder: the same guarantee for what the commit records, for one journal
    flush instead of thousands. Where syncfs is missing, sync(2) does the same for all.
    Since Linux 5.8, syncfs reports a failed writeback only to descriptors that were open
    when it failed: open `folder_fd` before the writes it must vouch for.
    """
    syncfs = _libc_function("syncfs")
    if syncfs is None:
        os.sync()
        return
    if syncfs(folder_fd) != 0:
        code = _errno()
        raise OSError(code, os.strerror(code))


class Beneath:
    """Opens files below one root, never through a symlink, in one system call where it can.

    On Linux 5.6 and later, openat2 resolves the path from a handle on the root and the
    kernel refuses any symlink on the way (RESOLVE_NO_SYMLINKS) or any escape from the root
    (RESOLVE_BENEATH): no window between a check and the open. Elsewhere, or where a sandbox
    refuses the call, each folder is checked first (`checked_parent`), then the file opened.
    Which of the two is decided once, by a probe when the object is made: an EPERM or EINVAL
    from the open of one file is that file's answer, not a sign the kernel lacks openat2.

    One call instead of one per folder plus the open matters on a first sync of small files,
    where each call releases the GIL to another thread (docs/benchmarks.md has the figure).
    """

    def __init__(self, root: Path, *, syscall: Callable[..., int] | None = None) -> None:
        """`syscall`: libc's syscall(2) where the platform has openat2, unless given."""
        self.root = root
        self._openat2 = syscall or _openat2()
        self._root_fd: int | None = None
        if self._openat2 is not None:
            try:
                self._root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
            except OSError:
                self._openat2 = None  # the plain open says what is wrong, path by path
            else:
                if not _openat2_works(self._openat2, self._root_fd):
                    self.close()
                    self._openat2 = None

    def open(self, rel_path: str, flags: int, mode: int = 0o644) -> int:
        """`os.open(root / rel_path, flags | O_NOFOLLOW, mode)`, with `PathError` naming the
        folder when one on the way is missing, a symlink or not a folder."""
        refuse_unsafe(rel_path)
        syscall, root_fd = self._openat2, self._root_fd
        if syscall is not None and root_fd is not None:
            flags_how = flags | os.O_NOFOLLOW | os.O_CLOEXEC
            # Unlike open(2), openat2 refuses (EINVAL) a mode with flags that create nothing.
            creates = flags & os.O_CREAT or flags & os.O_TMPFILE == os.O_TMPFILE
            how_mode = mode if creates else 0
            fd = _call_openat2(syscall, root_fd, rel_path, flags_how, how_mode)
            if fd >= 0:
                return fd
            code = _errno()
            if code in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR, errno.EXDEV):
                checked_parent(self.root, rel_path)  # to name the folder at fault
            raise OSError(code, os.strerror(code), os.path.join(self.root, rel_path))
        checked_parent(self.root, rel_path)
        return os.open(os.path.join(self.root, rel_path), flags | os.O_NOFOLLOW, mode)

    def close(self) -> None:
        if self._root_fd is not None:
            os.close(self._root_fd)
            self._root_fd = None

    def __enter__(self) -> Beneath:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# From linux/openat2.h; the syscall's number is the same on every architecture listed.
_SYS_OPENAT2 = 437
_UNIFIED_SYSCALL_NUMBERS = frozenset(
    {"x86_64", "i686", "aarch64", "armv7l", "riscv64", "ppc64le", "ppc64", "s390x", "loongarch64"}
)
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08
# What openat2 answers where the kernel lacks it (ENOSYS; E2BIG or EINVAL for a struct or
# resolve flags it does not know) or a seccomp sandbox refuses it (EPERM, ENOSYS).
_NO_OPENAT2 = frozenset({errno.ENOSYS, errno.EPERM, errno.EINVAL, errno.E2BIG})


def _openat2() -> Callable[..., int] | None:
    system = os.uname()
    if system.sysname != "Linux" or system.machine not in _UNIFIED_SYSCALL_NUMBERS:
        return None
    return _libc_function("syscall")


def _openat2_works(syscall: Callable[..., int], root_fd: int) -> bool:
    """Whether openat2 answers at all: opening the root itself (O_PATH, no access needed)
    can fail only where the kernel lacks the call or a sandbox refuses it."""
    fd = _call_openat2(syscall, root_fd, ".", os.O_PATH | os.O_CLOEXEC, 0)
    if fd >= 0:
        os.close(fd)
        return True
    return _errno() not in _NO_OPENAT2


def _call_openat2(
    syscall: Callable[..., int], root_fd: int, rel_path: str, flags: int, mode: int
) -> int:
    import ctypes

    # struct open_how: three u64, flags, mode and resolve. syscall(2) takes longs.
    how = (ctypes.c_uint64 * 3)(flags, mode, _RESOLVE_NO_SYMLINKS | _RESOLVE_BENEATH)
    return int(
        syscall(
            ctypes.c_long(_SYS_OPENAT2),
            ctypes.c_long(root_fd),
            os.fsencode(rel_path),
            ctypes.byref(how),
            ctypes.c_long(ctypes.sizeof(how)),
        )
    )


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
# What renameat2 answers where the kernel or the filesystem lacks RENAME_NOREPLACE.
_NO_NOREPLACE = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})


def rename_new(source: str | Path, target: str | Path) -> bool:
    """Rename `source` to `target` unless something is already at `target`; False then.

    One renameat2(RENAME_NOREPLACE) call: nothing the user creates at `target` while a
    download runs can be overwritten, with no window between a check and the rename, and one
    system call instead of two. Where the kernel or filesystem lacks it, check then rename.
    """
    renameat2 = _libc_function("renameat2")
    if renameat2 is not None:
        src, dst = os.fsencode(source), os.fsencode(target)
        if renameat2(_AT_FDCWD, src, _AT_FDCWD, dst, _RENAME_NOREPLACE) == 0:
            return True
        code = _errno()
        if code == errno.EEXIST:
            return False
        if code not in _NO_NOREPLACE:
            raise OSError(code, os.strerror(code), str(source), None, str(target))
    if os.path.lexists(target):
        return False
    os.replace(source, target)
    return True


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    """A libc function by name (it releases the GIL while it runs); None where it is missing."""
    import ctypes

    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    return function


def _errno() -> int:
    import ctypes

    return ctypes.get_errno()


def state_dir(root: Path) -> Path:
    return root / STATE_DIR_NAME


def _linked(path: Path) -> NeedsUserError:
    return NeedsUserError(
        f"{path} is a symbolic link: syncd never follows one to its own folders (.syncd and "
        "its trash), which could reach files outside the synced folder. Remove the link, "
        "then try again."
    )


def _own_folder(path: Path, *, create: bool) -> bool:
    """Is `path`, one of syncd's own folders, there as a real folder (made, private, when
    missing and `create`)? A symlink there is refused, never followed: through one, the
    trash would list, move or delete files outside the root."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        if not create:
            return False
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise _linked(path)
    if not stat.S_ISDIR(mode):
        raise NeedsUserError(f"{path} is not a folder: syncd keeps its own files there")
    return True


def trash_dir(root: Path, *, create: bool = False) -> Path | None:
    """`root/.syncd/trash`, each a real folder beneath the root (never a symlink: that is
    `NeedsUserError`); None when it is not there and not `create`d."""
    folder = state_dir(root)
    for path in (folder, folder / TRASH_DIR):
        if not _own_folder(path, create=create):
            return None
    return folder / TRASH_DIR


def make_folders(root: Path, rel_folder: str, *, for_path: str | None = None) -> Path:
    """Make `root/rel_folder` one level at a time, each level checked to be a real folder
    before the next is made in it: `PathError` (for `for_path`, or `rel_folder`) naming
    the first that is a symlink or not a folder; nothing is made through it."""
    current = os.fspath(root)
    if not rel_folder:
        return root
    refuse_unsafe(rel_folder)
    names = rel_folder.split("/")
    for depth, name in enumerate(names, 1):
        current = os.path.join(current, name)
        with contextlib.suppress(FileExistsError):
            os.mkdir(current)
        if not stat.S_ISDIR(os.lstat(current).st_mode):
            folder = "/".join(names[:depth])
            raise PathError(for_path or rel_folder, f"{folder} is not a folder (or a link)")
    return Path(current)


def read_marker(root: Path) -> str | None:
    folder = state_dir(root)
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        raise _linked(folder)
    if not stat.S_ISDIR(mode):
        return None
    try:
        fd = os.open(folder / MARKER_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None  # a link is not our marker
        raise
    with open(fd, encoding="utf-8") as handle:
        return handle.read().strip() or None


def write_marker(root: Path, marker: str | None = None) -> str:
    """Mark `root` as synced by this pair: the guard checks it is still the same folder."""
    marker = marker or uuid.uuid4().hex
    folder = state_dir(root)
    _own_folder(folder, create=True)
    temp = folder / f".{MARKER_NAME}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)  # a leftover, or a link: never written through
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(temp, flags, 0o600), "w", encoding="utf-8") as handle:
        handle.write(marker + "\n")
    os.replace(temp, folder / MARKER_NAME)
    return marker


def trash(root: Path, rel_path: str, when: datetime) -> Path:
    """Move `rel_path` (a file or a whole folder) into the trash; returns where it went.

    The trash keeps the original path under a folder named after the time, on the same
    filesystem, so this is one rename and a restore is another.
    """
    source = local_path(root, rel_path)
    checked_parent(root, rel_path)
    target = trash_slot(root, rel_path, when)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise PathError(rel_path, "vanished before it could be moved to the trash") from None
        raise
    return target


def trash_slot(root: Path, rel_path: str, when: datetime) -> Path:
    """Where `rel_path` goes in the trash: under the bucket named after `when`, or the next
    one (`-2`, `-3`...) if that bucket holds it already, or a file where a folder of its path
    would go (a file `b` trashed in the same second as a folder `b/a`). The folders it goes
    into are made, each checked: none of the trash's folders is ever a symlink."""
    refuse_unsafe(rel_path)
    trash_folder = trash_dir(root, create=True)
    assert trash_folder is not None
    name = when.strftime("%Y-%m-%dT%H%M%S")
    bucket, counter = trash_folder / name, 1
    while _own_folder(bucket, create=False) and not _free_below(bucket, rel_path):
        counter += 1
        bucket = trash_folder / f"{name}-{counter}"
    _own_folder(bucket, create=True)
    make_folders(bucket, posixpath.dirname(rel_path), for_path=rel_path)
    return bucket / rel_path


def _free_below(folder: Path, rel_path: str) -> bool:
    return probe_below(folder, rel_path)[1] is None


def probe_below(folder: Path, rel_path: str) -> tuple[str, int | None]:
    """What stands on the way to `rel_path` below `folder`, seen with lstat alone (a link is
    never followed): the path up to the first item that is not a folder, or to the end,
    and that item's mode (None: nothing is there)."""
    names = rel_path.split("/")
    current = folder
    for depth, name in enumerate(names, 1):
        current = current / name
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return "/".join(names[:depth]), None
        if depth == len(names) or not stat.S_ISDIR(mode):
            return "/".join(names[:depth]), mode
    raise AssertionError("unreachable: the last name returns")


def remove_empty_dirs(path: Path, stop: Path) -> None:
    """Remove `path` and its empty parents, up to but not including `stop`."""
    current = path
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent


def trash_buckets(root: Path) -> list[Path]:
    """The trash's folders, one per moment something was moved there, oldest first. A
    symlink among them (or in their place) is `NeedsUserError`, never followed."""
    folder = trash_dir(root)
    if folder is None:
        return []
    buckets: list[Path] = []
    with os.scandir(folder) as items:
        for item in items:
            if item.is_symlink():
                raise _linked(Path(item.path))
            if item.is_dir(follow_symlinks=False):
                buckets.append(Path(item.path))
    return sorted(buckets)


def bucket_time(bucket: Path) -> datetime | None:
    try:
        return datetime.strptime(bucket.name[:17], "%Y-%m-%dT%H%M%S")
    except ValueError:
        return None


def remove_bucket(bucket: Path) -> None:
    """Delete one trash bucket (from `trash_buckets`) and all it holds, for good."""
    import shutil

    # rmtree itself refuses a bucket that became a link, and never follows one inside.
    shutil.rmtree(bucket, ignore_errors=True)


def purge_trash(root: Path, now: datetime, *, retention_days: int) -> int:
    removed = 0
    for bucket in trash_buckets(root):
        when = bucket_time(bucket)
        if when is not None and (now - when).days >= retention_days:
            remove_bucket(bucket)
            removed += 1
    return removed
