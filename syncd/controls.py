"""The user's levers on a pair, outside a sync: selective sync, conflicts, the trash, limits,
pausing.

Each works on the local folder and the pair's store only; the next sync (or the running
daemon, which is woken) carries the result to the cloud through the normal, checked paths.
The CLI commands and the dashboard call these same functions, then wake the daemon (a
signal from a command; a direct call from the dashboard, which runs inside it).
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncd import pausing
from syncd.compose import state_path
from syncd.config import Config, PairConfig
from syncd.errors import ConfigError, PathError, SyncdError
from syncd.state_reader import SELECTIVE_KEY
from syncd.store import Store
from syncd.sync import localfs

LIMITS_FILE = "limits.json"


@contextmanager
def pair_store(config: Config, pair: PairConfig) -> Iterator[Store]:
    """The pair's store, beside a running daemon's (SQLite takes turns)."""
    with Store.open(state_path(config, pair)) as store:
        yield store


# --- selective sync -----------------------------------------------------------------------


def pair_for_remote(config: Config, remote_path: str, name: str | None) -> tuple[PairConfig, str]:
    """The pair holding a cloud path, and the path relative to that pair's folder."""
    wanted = "/" + normalise_rel(remote_path)
    candidates = [config.pair(name)] if name else list(config.pairs)
    for pair in candidates:
        root = pair.remote_root.rstrip("/")
        if wanted.startswith(root + "/") and wanted != root:
            return pair, wanted[len(root) + 1 :]
    raise ConfigError(f"{wanted} is not inside the cloud folder of any configured pair")


def exclude(config: Config, pair: PairConfig, rel_path: str) -> Path | None:
    """Stop syncing the cloud folder `rel_path` of `pair` here; returns the local copy that
    stays on disk, unsynced (None if there is none). Nothing is deleted."""
    rel_path = normalise_rel(rel_path)
    with pair_store(config, pair) as store:
        set_excluded(store, [*excluded_folders(store), rel_path])
    local = localfs.local_path(pair.local_root, rel_path)
    return local if local.exists() else None


def include(config: Config, pair: PairConfig, rel_path: str) -> None:
    """Sync the excluded cloud folder `rel_path` of `pair` again."""
    rel_path = normalise_rel(rel_path)
    with pair_store(config, pair) as store:
        folders = excluded_folders(store)
        if rel_path not in folders:
            raise SyncdError(f"{rel_path} is not excluded in pair {pair.name!r}")
        set_excluded(store, [f for f in folders if f != rel_path])


def excluded_folders(store: Store) -> list[str]:
    return sorted(store.get_meta_json(SELECTIVE_KEY) or [])


def set_excluded(store: Store, folders: list[str]) -> None:
    store.set_meta_json(SELECTIVE_KEY, sorted(set(folders)))


def normalise_rel(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p and p != "."]
    if not parts or ".." in parts:
        raise SyncdError(f"not a folder path inside the pair: {path!r}")
    return "/".join(parts)


# --- conflicts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    kept: str
    moved_to_trash: str | None


def resolve_conflict(root: Path, store: Store, path: str, keep: str, now: datetime) -> Resolution:
    """Settle one conflicted copy: `keep` is "local", "remote" or "both".

    The copy holds the version of the side that lost (`loser`). Keeping that side moves the
    copy over the original (the original goes to the trash first); keeping the other side
    moves the copy to the trash; "both" just forgets the conflict.
    """
    record = next(
        (c for c in store.conflicts() if path in (c.rel_path, c.original)),
        None,
    )
    if record is None:
        raise SyncdError(f"no unresolved conflict for {path!r} (see `syncd conflicts`)")
    copy = root / record.rel_path
    original = root / record.original
    result = Resolution(kept=record.original, moved_to_trash=None)
    if keep != "both" and os.path.lexists(copy):
        if keep == record.loser:
            if os.path.lexists(original):
                localfs.trash(root, record.original, now)
                result = Resolution(record.original, record.original)
            localfs.checked_parent(root, record.rel_path)
            localfs.checked_parent(root, record.original)
            os.rename(copy, original)
        else:
            localfs.trash(root, record.rel_path, now)
            result = Resolution(record.original, record.rel_path)
    store.remove_conflicts([record.rel_path])
    return result


def resolve(config: Config, pair: PairConfig, path: str, keep: str, now: datetime) -> Resolution:
    """`resolve_conflict` on the pair's store, for a path as the user typed it."""
    with pair_store(config, pair) as store:
        return resolve_conflict(pair.local_root, store, normalise_rel(path), keep, now)


# --- the trash ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrashedItem:
    rel_path: str
    trashed_at: datetime | None
    location: Path
    is_dir: bool


def trashed_items(root: Path) -> list[TrashedItem]:
    """What the trash holds: top-level items of each bucket, by their original path. The
    walk never follows a link: one inside a bucket is listed as an item of its own."""
    items: list[TrashedItem] = []
    for bucket in localfs.trash_buckets(root):
        when = localfs.bucket_time(bucket)
        for folder, dirs, files in os.walk(bucket):
            rel_folder = os.path.relpath(folder, bucket)
            links = [name for name in dirs if os.path.islink(os.path.join(folder, name))]
            dirs[:] = [name for name in dirs if name not in links]
            for name in [*files, *links]:
                rel = os.path.normpath(os.path.join(rel_folder, name))
                items.append(TrashedItem(rel, when, Path(folder) / name, False))
            for name in dirs:
                path = Path(folder) / name
                if not any(path.iterdir()):
                    rel = os.path.normpath(os.path.join(rel_folder, name))
                    items.append(TrashedItem(rel, when, path, True))
    return items


def _in_bucket(bucket: Path, rel_path: str) -> bool:
    """Does `bucket` hold `rel_path`? Each folder on the way is looked at (lstat), never
    followed: a link there is refused, a file there means "not in this bucket"."""
    reached, mode = localfs.probe_below(bucket, rel_path)
    if mode is None:
        return False
    if reached == rel_path:
        return True
    if stat.S_ISLNK(mode):
        raise PathError(rel_path, f"{reached} is not a folder (or a link) in {bucket}")
    return False


def restore(root: Path, rel_path: str, *, target: str | None = None) -> Path:
    """Put the most recently trashed version of `rel_path` back (or at `target`).

    Nothing is reached through a link: not in the trash, and not on the way back, where
    the missing folders are made one level at a time, each checked."""
    rel_path = normalise_rel(rel_path)
    candidates = [
        bucket / rel_path
        for bucket in reversed(localfs.trash_buckets(root))
        if _in_bucket(bucket, rel_path)
    ]
    if not candidates:
        raise SyncdError(f"{rel_path!r} is not in the trash")
    destination_rel = normalise_rel(target) if target else rel_path
    destination = localfs.local_path(root, destination_rel)
    localfs.make_folders(root, posixpath.dirname(destination_rel), for_path=destination_rel)
    if os.path.lexists(destination):
        raise PathError(destination_rel, "something is already there; restore it --as another path")
    os.rename(candidates[0], destination)
    localfs.remove_empty_dirs(candidates[0].parent, localfs.state_dir(root) / localfs.TRASH_DIR)
    return destination


def trash_to_empty(root: Path, now: datetime, *, older_than_days: int = 0) -> list[TrashedItem]:
    """What `empty_trash` with the same arguments deletes (a bucket goes whole once its age
    in whole days reaches `older_than_days`, as `localfs.purge_trash` has it)."""
    return [
        item
        for item in trashed_items(root)
        if older_than_days <= 0
        or (item.trashed_at is not None and (now - item.trashed_at).days >= older_than_days)
    ]


def empty_trash(root: Path, now: datetime, *, older_than_days: int = 0) -> int:
    if older_than_days <= 0:
        buckets = localfs.trash_buckets(root)
        for bucket in buckets:
            localfs.remove_bucket(bucket)
        return len(buckets)
    return localfs.purge_trash(root, now, retention_days=older_than_days)


# --- bandwidth on a running daemon --------------------------------------------------------


def write_limits(state_dir: Path, up: int | None, down: int | None) -> dict[str, int]:
    path = state_dir / LIMITS_FILE
    current = read_limits(state_dir)
    if up is not None:
        current["upload_limit"] = up
    if down is not None:
        current["download_limit"] = down
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(current), encoding="utf-8")
    os.replace(temp, path)
    return current


def read_limits(state_dir: Path) -> dict[str, int]:
    try:
        data = json.loads((state_dir / LIMITS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: int(v) for k, v in data.items() if k in ("upload_limit", "download_limit")}


def clear_limits(state_dir: Path) -> None:
    (state_dir / LIMITS_FILE).unlink(missing_ok=True)


def limits_in_force(config: Config, control: Path) -> dict[str, int]:
    """The config's limits, unless `syncd limit` (or the dashboard) set others for the daemon
    whose control folder is `control`."""
    override = read_limits(control)
    return {
        "upload_limit": override.get("upload_limit", config.sync.upload_limit),
        "download_limit": override.get("download_limit", config.sync.download_limit),
    }


# --- pausing ------------------------------------------------------------------------------


def pause(config: Config, control: Path, paused: bool, pair_name: str | None = None) -> None:
    """Pause or resume every pair of the daemon whose control folder is `control`, or the
    one named (which must exist)."""
    if pair_name is not None:
        config.pair(pair_name)
    names = [pair.name for pair in config.pairs]
    pausing.set_paused(control, names, paused, pair=pair_name)
