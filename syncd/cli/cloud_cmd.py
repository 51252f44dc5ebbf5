"""`syncd cloud …`: work with the cloud directly, by human paths (`/docs/a.txt`).

Paths are relative to the root the app can see. Exit codes: 0 ok, 1 an operation failed
(every failure is reported, one line each), 2 bad usage or configuration, 78 not logged in.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from syncd import units
from syncd.cli.common import (
    config_options,
    confirm,
    echo,
    echo_json,
    handle_errors,
    iso_utc,
    load,
    note,
    quiet,
    yes_option,
)
from syncd.cloud.client import CloudClient
from syncd.cloud.errors import AlreadyExists, CloudError, InvalidName, NotAFile, NotFound
from syncd.cloud.models import FolderListing, RemoteFile, RemoteFolderRef
from syncd.cloud.paths import (
    PathResolver,
    flat_paths,
    join_path,
    parent_and_name,
    split_path,
)
from syncd.errors import EXIT_FAILURE, PathError, SyncdError
from syncd.text import printable


def _date(value: datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass
class _Ctx:
    client: CloudClient
    resolver: PathResolver
    failures: list[str] = field(default_factory=list)

    def fail(self, exc: SyncdError) -> None:
        self.failures.append(str(exc))
        echo(f"syncd: {exc}", err=True)


@contextlib.contextmanager
def _session(config_path: Path | None) -> Iterator[_Ctx]:
    config = load(config_path)
    client = CloudClient.from_settings(config.cloud, max_connections=config.sync.transfers)
    ctx = _Ctx(client, PathResolver(client))
    try:
        yield ctx
    finally:
        client.close()
    if ctx.failures:
        raise SystemExit(EXIT_FAILURE)


class _Progress:
    """A rich bar on a terminal, one plain line per finished transfer otherwise; with -q,
    neither."""

    def __init__(self) -> None:
        # rich is imported only here: the other commands need not pay for it.
        from rich.console import Console
        from rich.progress import Progress

        from syncd.cli.bars import transfer_columns

        console = Console(stderr=True)
        self._bar: Any = None
        if console.is_terminal and not quiet():
            self._bar = Progress(*transfer_columns(), console=console)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    @contextlib.contextmanager
    def task(self, verb: str, label: str, total: int) -> Iterator[Callable[[int], None]]:
        if self._bar is None:
            yield lambda _n: None
            note(f"{verb} {label} ({units.size(total)})")
            return
        task_id = self._bar.add_task(printable(label), total=total)
        yield lambda n: self._bar.advance(task_id, n)
        # A retry re-sends bytes; the bar ends at the file's size whatever was counted.
        self._bar.update(task_id, completed=total)


@click.group()
def cloud() -> None:
    """Work with the Orange Cloud directly: list, copy, move, upload, download."""


# -- listing ------------------------------------------------------------------------------


def _entry(item: RemoteFile | RemoteFolderRef, path: str) -> dict[str, Any]:
    if isinstance(item, RemoteFile):
        return {
            "path": path,
            "name": item.name,
            "kind": "file",
            "id": item.id,
            "size": item.size,
            "type": item.type,
            "created": iso_utc(item.creation_date),
            "modified": iso_utc(item.last_update_date),
        }
    return {"path": path, "name": item.name, "kind": "folder", "id": item.id}


def _line(item: RemoteFile | RemoteFolderRef, shown: str) -> str:
    if isinstance(item, RemoteFile):
        return f"{units.size(item.size):>10}  {_date(item.last_update_date)}  {shown}"
    return f"{'-':>10}  {'':16}  {shown}/"


def _tree_paths(
    listing: FolderListing, base: str
) -> list[tuple[str | None, RemoteFile | RemoteFolderRef]]:
    """Each item of a flat listing with its path under `base` (None: parent not known)."""
    paths = flat_paths(listing)
    prefix = base.rstrip("/")
    items: list[RemoteFile | RemoteFolderRef] = [*listing.subfolders, *listing.files]
    out = [(f"{prefix}/{paths[i.id]}" if i.id in paths else None, i) for i in items]
    return sorted(out, key=lambda entry: entry[0] or "")


@cloud.command("ls")
@config_options
@click.option("-R", "--recursive", is_flag=True, help="List the whole subtree.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.argument("path", default="/")
@handle_errors
def ls_cmd(config_path: Path | None, recursive: bool, as_json: bool, path: str) -> None:
    """List a folder (or show one file)."""
    with _session(config_path) as ctx:
        base = join_path(split_path(path))
        item = ctx.resolver.resolve(base)
        entries: list[tuple[str, RemoteFile | RemoteFolderRef]]
        if isinstance(item, RemoteFile):
            entries = [(base, item)]
        elif recursive:
            entries = [
                (shown or f"{base.rstrip('/')}/?/{entry.name}", entry)
                for shown, entry in _tree_paths(ctx.client.list_flat(item.id), base)
            ]
        else:
            listing = ctx.client.get_folder(item.id)
            prefix = base.rstrip("/")
            entries = sorted(
                [(f"{prefix}/{d.name}", d) for d in listing.subfolders]
                + [(f"{prefix}/{f.name}", f) for f in listing.files],
                key=lambda entry: entry[0],
            )
        if as_json:
            echo_json([_entry(i, p) for p, i in entries])
            return
        strip = len(base.rstrip("/")) + 1
        for shown, entry in entries:
            echo(_line(entry, shown if isinstance(item, RemoteFile) else shown[strip:]))


@cloud.command("info")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.argument("path")
@handle_errors
def info_cmd(config_path: Path | None, as_json: bool, path: str) -> None:
    """Show what the cloud knows about a file or folder."""
    with _session(config_path) as ctx:
        item = ctx.resolver.resolve(path)
        shown = join_path(split_path(path))
        data = _entry(item, shown)
        if isinstance(item, RemoteFile):
            data["metadata"] = dict(item.metadata)
        else:
            listing = ctx.client.get_folder(item.id)
            data["folders"] = len(listing.subfolders)
            data["files"] = len(listing.files)
            data["size_of_files"] = sum(f.size for f in listing.files)
        if as_json:
            echo_json(data)
            return
        for key, value in data.items():
            if key == "size":
                value = f"{units.size(value)} ({value} bytes)"
            echo(f"{key + ':':14} {value}")


@cloud.command("df")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def df_cmd(config_path: Path | None, as_json: bool) -> None:
    """Show the free space left in the cloud."""
    with _session(config_path) as ctx:
        free = ctx.client.freespace()
        if as_json:
            echo_json({"freespace": free})
        else:
            echo(f"{units.size(free)} free ({free} bytes)")


# -- changing the tree --------------------------------------------------------------------


@cloud.command("mkdir")
@config_options
@click.option(
    "-p", "--parents", is_flag=True, help="Create missing parents; no error if it exists."
)
@click.argument("path")
@handle_errors
def mkdir_cmd(config_path: Path | None, parents: bool, path: str) -> None:
    """Create a folder."""
    with _session(config_path) as ctx:
        if parents:
            ctx.resolver.ensure_folder(path)
            return
        parent_path, name = parent_and_name(path)
        parent = ctx.resolver.resolve_folder(parent_path)
        try:
            ctx.client.create_folder(name, parent.id)
        except CloudError as exc:
            raise exc.with_target(join_path(split_path(path))) from None


@cloud.command("rm")
@config_options
@click.option("-r", "--recursive", is_flag=True, help="Allow removing a folder and its content.")
@yes_option
@click.argument("path")
@handle_errors
def rm_cmd(config_path: Path | None, recursive: bool, yes: bool, path: str) -> None:
    """Delete a file, or a folder with -r, for good: the cloud has no trash (asks first;
    --yes off a terminal)."""
    with _session(config_path) as ctx:
        shown = join_path(split_path(path))
        if shown == "/":
            raise click.UsageError("refusing to delete the root folder")
        item = ctx.resolver.resolve(shown)
        if isinstance(item, RemoteFile):
            confirm(f"Permanently delete the file {shown}?", yes=yes)
            ctx.client.delete_file(item.id)
            return
        if not recursive:
            raise NotAFile("is a folder: use -r to delete it", target=shown)
        confirm(f"Permanently delete the folder {shown} and everything in it?", yes=yes)
        ctx.client.delete_folder(item.id)


def _move(ctx: _Ctx, src: str, dst: str, *, copy: bool) -> None:
    source = ctx.resolver.resolve(src)
    src_shown = join_path(split_path(src))
    if src_shown == "/":
        raise click.UsageError("cannot move or copy the root folder")
    is_file = isinstance(source, RemoteFile)
    target = ctx.resolver.lookup(dst)
    if isinstance(target, RemoteFolderRef):
        dest_folder, new_name = target, source.name
    elif target is not None:
        raise AlreadyExists(target=join_path(split_path(dst)))
    else:
        parent_path, new_name = parent_and_name(dst)
        dest_folder = ctx.resolver.resolve_folder(parent_path)
    current_parent = source.parent_id
    if copy:
        ref = (ctx.client.copy_file if is_file else ctx.client.copy_folder)(
            source.id, dest_folder.id
        )
    elif current_parent != dest_folder.id:
        ref = (ctx.client.move_file if is_file else ctx.client.move_folder)(
            source.id, dest_folder.id
        )
    else:
        ref = None
    item_id = ref.id if ref is not None else source.id
    landed_name = ref.name if ref is not None else source.name
    if landed_name != new_name:
        rename = ctx.client.rename_file if is_file else ctx.client.rename_folder
        rename(item_id, new_name)


@cloud.command("mv")
@config_options
@click.argument("src")
@click.argument("dst")
@handle_errors
def mv_cmd(config_path: Path | None, src: str, dst: str) -> None:
    """Move SRC into the folder DST, or to the new path DST (move and rename)."""
    with _session(config_path) as ctx:
        _move(ctx, src, dst, copy=False)


@cloud.command("cp")
@config_options
@click.argument("src")
@click.argument("dst")
@handle_errors
def cp_cmd(config_path: Path | None, src: str, dst: str) -> None:
    """Copy SRC into the folder DST, or to the new path DST (server side, no transfer)."""
    with _session(config_path) as ctx:
        _move(ctx, src, dst, copy=True)


@cloud.command("rename")
@config_options
@click.argument("path")
@click.argument("new_name")
@handle_errors
def rename_cmd(config_path: Path | None, path: str, new_name: str) -> None:
    """Rename a file or folder in place."""
    if "/" in new_name:
        raise click.UsageError("NEW_NAME is a name, not a path (use `mv` to move)")
    with _session(config_path) as ctx:
        item = ctx.resolver.resolve(path)
        shown = join_path(split_path(path))
        try:
            if isinstance(item, RemoteFile):
                ctx.client.rename_file(item.id, new_name)
            else:
                ctx.client.rename_folder(item.id, new_name)
        except CloudError as exc:
            raise exc.with_target(shown) from None


# -- transfers ----------------------------------------------------------------------------


def _upload_file(
    ctx: _Ctx,
    progress: _Progress,
    local: Path,
    folder: RemoteFolderRef,
    folder_path: str,
    existing: dict[str, RemoteFile | RemoteFolderRef],
    force: bool,
) -> None:
    remote_path = f"{folder_path.rstrip('/')}/{local.name}"
    try:
        old = existing.get(local.name)
        if isinstance(old, RemoteFolderRef) or (old is not None and not force):
            hint = "" if isinstance(old, RemoteFolderRef) else " (use --force to replace it)"
            raise AlreadyExists(f"already exists{hint}", target=remote_path)
        size = local.stat().st_size
        upload_name = local.name if old is None else f".{local.name}.syncd-upload"
        with progress.task("uploaded", remote_path, size) as advance:
            result = ctx.client.upload(local, folder.id, name=upload_name, progress=advance)
        if isinstance(old, RemoteFile):
            # Replace: the new content is safely up before the old one goes.
            ctx.client.delete_file(old.id)
            ctx.client.rename_file(result.file_id, local.name)
    except CloudError as exc:
        if not isinstance(exc, PathError):
            raise
        ctx.fail(exc.with_target(remote_path))
    except (PathError, OSError) as exc:
        ctx.fail(exc if isinstance(exc, SyncdError) else PathError(str(local), exc.strerror or ""))


def _children(ctx: _Ctx, folder_id: str) -> dict[str, RemoteFile | RemoteFolderRef]:
    listing = ctx.client.get_folder(folder_id)
    out: dict[str, RemoteFile | RemoteFolderRef] = {f.name: f for f in listing.files}
    out.update({d.name: d for d in listing.subfolders})
    return out


def _upload_tree(
    ctx: _Ctx, progress: _Progress, local: Path, parent_path: str, force: bool
) -> None:
    remote_root = f"{parent_path.rstrip('/')}/{local.name}"
    for dirpath, dirnames, filenames in os.walk(local):
        dirnames.sort()
        here = Path(dirpath)
        rel = here.relative_to(local)
        remote_dir = remote_root if rel == Path(".") else f"{remote_root}/{rel.as_posix()}"
        try:
            folder = ctx.resolver.ensure_folder(remote_dir)
        except PathError as exc:
            ctx.fail(exc)
            dirnames.clear()
            continue
        existing = _children(ctx, folder.id)
        for name in sorted(filenames):
            path = here / name
            if path.is_symlink() or not path.is_file():
                ctx.fail(PathError(str(path), "not a regular file; skipped"))
                continue
            _upload_file(ctx, progress, path, folder, remote_dir, existing, force)


@cloud.command("put")
@config_options
@click.option("-f", "--force", is_flag=True, help="Replace files that already exist.")
@click.argument("local", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.argument("remote_dir")
@handle_errors
def put_cmd(
    config_path: Path | None, force: bool, local: tuple[Path, ...], remote_dir: str
) -> None:
    """Upload files and folders (recursively) into the existing folder REMOTE_DIR.

    An existing file is an error unless --force, which uploads the new content under a
    temporary name, then deletes the old file and renames the new one.
    """
    with _session(config_path) as ctx, _Progress() as progress:
        dir_path = join_path(split_path(remote_dir))
        try:
            folder = ctx.resolver.resolve_folder(dir_path)
        except NotFound:
            hint = f"`syncd cloud mkdir -p {shlex.quote(dir_path)}`"
            raise NotFound(f"not found; make it first: {hint}", target=dir_path) from None
        existing = _children(ctx, folder.id)
        for path in local:
            if path.is_dir():
                _upload_tree(ctx, progress, path.resolve(), dir_path, force)
            else:
                _upload_file(ctx, progress, path, folder, dir_path, existing, force)


def _safe_local_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\x00" not in name


def _download_file(
    ctx: _Ctx, progress: _Progress, item: RemoteFile, dest: Path, label: str, force: bool
) -> None:
    try:
        if dest.exists() and not force:
            raise AlreadyExists("exists locally (use --force to replace it)", target=str(dest))
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A temporary beside the target, renamed at the end: never a partial file at dest.
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{dest.name}.", suffix=".syncd-partial", dir=dest.parent
        )
        tmp = Path(tmp_name)
        try:
            with (
                os.fdopen(fd, "wb") as handle,
                progress.task("downloaded", label, item.size) as advance,
            ):
                ctx.client.download(item, handle, progress=advance)
                handle.flush()
                os.fsync(handle.fileno())
            mtime = item.last_update_date.timestamp()
            os.utime(tmp, (mtime, mtime))
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    except (PathError, OSError) as exc:
        ctx.fail(exc if isinstance(exc, SyncdError) else PathError(str(dest), exc.strerror or ""))


@cloud.command("get")
@config_options
@click.option("-f", "--force", is_flag=True, help="Replace local files that already exist.")
@click.argument("remote")
@click.argument("local", required=False, type=click.Path(path_type=Path))
@handle_errors
def get_cmd(config_path: Path | None, force: bool, remote: str, local: Path | None) -> None:
    """Download a file or a folder (recursively) to LOCAL (default: the current folder)."""
    with _session(config_path) as ctx, _Progress() as progress:
        shown = join_path(split_path(remote))
        item = ctx.resolver.resolve(shown)
        name = item.name or "cloud"
        if local is None:
            dest = Path.cwd() / name
        elif local.is_dir():
            dest = local / name
        else:
            dest = local
        if isinstance(item, RemoteFile):
            _download_file(ctx, progress, item, dest, shown, force)
            return
        dest.mkdir(parents=True, exist_ok=True)
        listing = ctx.client.list_flat(item.id)
        for path, entry in _tree_paths(listing, "/"):
            if path is None:
                ctx.fail(InvalidName("its folder is not known; skipped", target=entry.name))
                continue
            parts = tuple(path.split("/")[1:])
            if not all(_safe_local_name(p) for p in parts):
                ctx.fail(InvalidName("cannot be a local name; skipped", target=path))
                continue
            target = dest.joinpath(*parts)
            if isinstance(entry, RemoteFolderRef):
                target.mkdir(parents=True, exist_ok=True)
            else:
                _download_file(ctx, progress, entry, target, shown.rstrip("/") + path, force)
