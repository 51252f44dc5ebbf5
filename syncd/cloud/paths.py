"""Human paths (`/docs/a.txt`, relative to the visible root) to cloud items, and `mkdir -p`.

The API knows only ids, and ids change when anything above an item is renamed, so paths are
resolved afresh by walking the folders from the root (one listing per level). The CLI and the
sync engine share this module; errors name the human path.
"""

from __future__ import annotations

from dataclasses import replace

from syncd.cloud.client import CloudClient
from syncd.cloud.errors import (
    AlreadyExists,
    CloudError,
    InvalidName,
    NotAFile,
    NotAFolder,
    NotFound,
)
from syncd.cloud.models import FolderListing, RemoteFile, RemoteFolderRef

# What a path resolves to: a file, or a folder as a listing names it.
RemoteItem = RemoteFile | RemoteFolderRef


def split_path(path: str) -> tuple[str, ...]:
    """`"/a//b/"` -> `("a", "b")`; `.` parts are dropped, and `..` raises `InvalidName` (no
    escaping the root). Backslashes count as slashes."""
    parts = tuple(p for p in path.replace("\\", "/").split("/") if p and p != ".")
    if ".." in parts:
        raise InvalidName("'..' is not allowed in cloud paths", target=path)
    return parts


def join_path(parts: tuple[str, ...] | list[str]) -> str:
    """`("a", "b")` -> `"/a/b"`; no parts is the root, `"/"`."""
    return "/" + "/".join(parts)


def parent_and_name(path: str) -> tuple[str, str]:
    """`"/a/b/c.txt"` -> `("/a/b", "c.txt")`. Raises `InvalidName` for the root (it has no
    name) and as `split_path` does."""
    parts = split_path(path)
    if not parts:
        raise InvalidName("the root has no name", target="/")
    return join_path(parts[:-1]), parts[-1]


def folder_ref(listing: FolderListing) -> RemoteFolderRef:
    """The listed folder itself, as a listing of its parent would name it."""
    return RemoteFolderRef(id=listing.id, name=listing.name, parent_id=listing.parent_id)


def flat_paths(listing: FolderListing) -> dict[str, str]:
    """Id -> path relative to the listed folder (`"a/b.txt"`) for every item of a flat listing.

    Folders are placed through their parent chain; files through `parent_id`, which
    `CloudClient.list_flat` fills from the id when the service leaves it out. Items whose
    chain does not reach the listed folder (a tree changed while paged) are left out.
    """
    folders = {d.id: d for d in listing.subfolders}
    known: dict[str, str] = {listing.id: ""}

    def folder_path(folder_id: str) -> str | None:
        chain: list[str] = []
        current = folder_id
        while current not in known:
            folder = folders.get(current)
            if folder is None or current in chain:
                return None
            chain.append(current)
            current = folder.parent_id
        for item_id in reversed(chain):
            parent = known[folders[item_id].parent_id]
            known[item_id] = (
                f"{parent}/{folders[item_id].name}" if parent else folders[item_id].name
            )
        return known[folder_id]

    out: dict[str, str] = {}
    for d in listing.subfolders:
        path = folder_path(d.id)
        if path is not None:
            out[d.id] = path
    for f in listing.files:
        parent = folder_path(f.parent_id) if f.parent_id else None
        if parent is not None:
            out[f.id] = f"{parent}/{f.name}" if parent else f.name
    return out


class PathResolver:
    """Resolves paths through one `CloudClient`. Cheap; make one per task.

    Paths are absolute from the visible root (`/docs/a.txt`; a leading `/` is optional).
    Every method also raises what `split_path` and the client's calls raise.
    """

    def __init__(self, client: CloudClient) -> None:
        """Resolve through `client`, which the resolver does not close."""
        self.client = client

    def root(self) -> RemoteFolderRef:
        """The visible root."""
        return folder_ref(self.client.root())

    def listing(self, path: str) -> FolderListing:
        """The direct content of the folder at `path`. Raises `NotFound` if nothing is
        there, `NotAFolder` if a file is."""
        folder = self.resolve_folder(path)
        try:
            return self.client.get_folder(folder.id)
        except CloudError as exc:
            raise exc.with_target(join_path(split_path(path))) from None

    def lookup(self, path: str) -> RemoteItem | None:
        """The item at `path`, or None if nothing is there. Raises `NotAFolder` if the path
        goes through a file."""
        parts = split_path(path)
        current = self.client.root()
        if not parts:
            return folder_ref(current)
        for depth, name in enumerate(parts):
            last = depth == len(parts) - 1
            item = _child(current, name)
            if item is None:
                return None
            if last:
                return item
            if isinstance(item, RemoteFile):
                raise NotAFolder(target=join_path(parts[: depth + 1]))
            try:
                current = self.client.get_folder(item.id)
            except NotFound:
                return None  # removed while we walked
        raise AssertionError("unreachable")

    def resolve(self, path: str) -> RemoteItem:
        """The item at `path`. Raises `NotFound` if nothing is there, `NotAFolder` if the
        path goes through a file."""
        item = self.lookup(path)
        if item is None:
            raise NotFound(target=join_path(split_path(path)))
        return item

    def resolve_folder(self, path: str) -> RemoteFolderRef:
        """The folder at `path`. Raises as `resolve` does, and `NotAFolder` for a file."""
        item = self.resolve(path)
        if isinstance(item, RemoteFile):
            raise NotAFolder(target=join_path(split_path(path)))
        return item

    def resolve_file(self, path: str) -> RemoteFile:
        """The file at `path`. Raises as `resolve` does, and `NotAFile` for a folder."""
        item = self.resolve(path)
        if not isinstance(item, RemoteFile):
            raise NotAFile(target=join_path(split_path(path)))
        return item

    def ensure_folder(self, path: str) -> RemoteFolderRef:
        """The folder at `path`, creating it and any missing parents (`mkdir -p`). Raises
        `NotAFolder` if a file stands in the way, and what `CloudClient.create_folder`
        raises (`InvalidName`, `QuotaExceeded`...), naming the path."""
        parts = split_path(path)
        current = self.client.root()
        for depth, name in enumerate(parts):
            here = join_path(parts[: depth + 1])
            item = _child(current, name)
            if isinstance(item, RemoteFile):
                raise NotAFolder(target=here)
            if item is None:
                try:
                    current = self.client.create_folder(name, current.id)
                    continue
                except AlreadyExists:
                    # Someone else created it between our listing and our create.
                    current = self.client.get_folder(current.id)
                    item = _child(current, name)
                    if not isinstance(item, RemoteFolderRef):
                        raise NotAFolder(target=here) from None
                except CloudError as exc:
                    raise exc.with_target(here) from None
            current = self.client.get_folder(item.id)
        return folder_ref(current)


def _child(listing: FolderListing, name: str) -> RemoteItem | None:
    # A folder wins over a file of the same name; the service should not allow both.
    for sub in listing.subfolders:
        if sub.name == name:
            return sub
    for f in listing.files:
        if f.name == name:
            return f if f.parent_id else replace(f, parent_id=listing.id)
    return None
