"""The cloud tree: in-memory truth, blob files on disk, every change journaled.

All methods expect the caller to hold ``store.lock`` when it needs several calls to be atomic
(check a name, then create); each method also takes the lock itself, so single calls are safe
from any thread. Lookups by id cost O(depth): the id *is* the path, so no index has to be kept
up to date when a folder with 100,000 descendants is renamed.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from syncd.emulator.blobs import BlobStore
from syncd.emulator.ids import Names, split_id
from syncd.emulator.journal import Record
from syncd.emulator.model import NO_METADATA, File, Folder, Node, numbered_name


class Store:
    def __init__(self, blobs: BlobStore, log: Callable[[Record], None] | None = None) -> None:
        self.blobs = blobs
        self.lock = threading.RLock()
        self.root = Folder("", None)
        self.used = 0
        self._log = log
        # Bumped by every change: lets a paged listing reuse the tree walk of its first page.
        self.version = 0
        self.listing_cache: tuple[object, object] | None = None

    # -- lookup ---------------------------------------------------------------------------

    def resolve(self, names: Sequence[str]) -> Node | None:
        node: Node = self.root
        for name in names:
            if not isinstance(node, Folder):
                return None
            child = node.children.get(name)
            if child is None:
                return None
            node = child
        return node

    def resolve_parts(self, parts: Sequence[str], start: Folder | None = None) -> Node | None:
        """Walk `parts`; where a component is missing, try it re-joined with the next ones by
        ``/``, so an item whose name contains a slash is still reachable by its id."""
        folder = self.root if start is None else start
        if not parts:
            return folder
        for end in range(1, len(parts) + 1):
            child = folder.children.get("/".join(parts[:end]))
            if child is None:
                continue
            if end == len(parts):
                return child
            if isinstance(child, Folder):
                found = self.resolve_parts(parts[end:], child)
                if found is not None:
                    return found
        return None

    def by_id(self, item_id: str) -> Node | None:
        try:
            parts, is_folder = split_id(item_id)
        except ValueError:
            return None
        with self.lock:
            node = self.resolve_parts(parts)
        if node is None or isinstance(node, Folder) != is_folder:
            return None
        return node

    def unique_name(self, parent: Folder, name: str) -> str:
        if name not in parent.children:
            return name
        for n in itertools.count(1):
            candidate = numbered_name(name, n)
            if candidate not in parent.children:
                return candidate
        raise AssertionError("unreachable")

    # -- changes --------------------------------------------------------------------------

    def mkdir(self, parent: Folder, name: str) -> Folder:
        with self.lock:
            self._check_free(parent, name)
            folder = Folder(name, parent)
            parent.children[name] = folder
            self._journal(["mkdir", folder.names()])
            return folder

    def mkdirs(self, names: Names) -> Folder:
        with self.lock:
            node = self.root
            for name in names:
                child = node.children.get(name)
                if child is None:
                    child = self.mkdir(node, name)
                elif not isinstance(child, Folder):
                    raise NotADirectoryError("/".join(names))
                node = child
            return node

    def add_file(
        self,
        parent: Folder,
        name: str,
        *,
        blob: str,
        size: int,
        created: int,
        modified: int,
        metadata: Mapping[str, Any] | None = None,
    ) -> File:
        with self.lock:
            self._check_free(parent, name)
            f = File(name, parent, size, created, modified, blob, _metadata(metadata))
            parent.children[name] = f
            self.used += size
            self._journal(["file", f.names(), blob, size, created, modified, f.metadata or None])
            return f

    def remove(self, node: Node) -> None:
        """Remove an item and everything below it, permanently."""
        with self.lock:
            if node.parent is None:
                raise PermissionError("the root cannot be removed")
            self._journal(["rm", node.names()])
            del node.parent.children[node.name]
            for f in _files(node):
                self.used -= f.size
                self.blobs.delete(f.blob)

    def move(self, node: Node, parent: Folder, name: str, *, modified: int | None) -> Node:
        """Rename and/or move; `modified` (files only) becomes the new lastUpdateDate."""
        with self.lock:
            if node.parent is None:
                raise PermissionError("the root cannot be moved")
            if isinstance(node, Folder) and parent.is_within(node):
                raise ValueError("a folder cannot move into itself")
            if node.parent is parent and node.name == name:
                return node
            self._check_free(parent, name)
            self._journal(["mv", node.names(), (*parent.names(), name), modified])
            del node.parent.children[node.name]
            node.parent, node.name = parent, name
            parent.children[name] = node
            if isinstance(node, File) and modified is not None:
                node.modified = modified
            return node

    def copy(self, node: Node, parent: Folder, name: str, *, now: int) -> Node:
        """Copy an item (a folder recursively); copies are new files dated `now`."""
        with self.lock:
            if isinstance(node, Folder) and parent.is_within(node):
                raise ValueError("a folder cannot be copied into itself")
            if isinstance(node, File):
                return self.add_file(
                    parent,
                    name,
                    blob=self.blobs.clone(node.blob),
                    size=node.size,
                    created=now,
                    modified=now,
                    metadata=node.metadata,
                )
            folder = self.mkdir(parent, name)
            for child in node.children.values():
                self.copy(child, folder, child.name, now=now)
            return folder

    # -- persistence ----------------------------------------------------------------------

    def apply(self, record: Record) -> None:
        """Replay one journal record (made by this class) without journaling it again."""
        log, self._log = self._log, None
        try:
            op = record[0]
            if op == "mkdir":
                self.mkdirs(tuple(record[1]))
            elif op == "file":
                names, blob, size, created, modified, metadata = record[1:7]
                self.add_file(
                    self.mkdirs(tuple(names[:-1])),
                    names[-1],
                    blob=blob,
                    size=size,
                    created=created,
                    modified=modified,
                    metadata=metadata,
                )
            elif op == "rm":
                node = self.resolve(record[1])
                if node is not None:
                    self._forget(node)
            elif op == "mv":
                node = self.resolve(record[1])
                dst = tuple(record[2])
                if node is not None:
                    self.move(node, self.mkdirs(dst[:-1]), dst[-1], modified=record[3])
        finally:
            self._log = log

    def records(self) -> Iterator[Record]:
        """The minimal journal that rebuilds the current tree."""
        stack: list[Folder] = [self.root]
        while stack:
            folder = stack.pop()
            if folder.parent is not None and not folder.children:
                yield ["mkdir", folder.names()]
            for child in folder.children.values():
                if isinstance(child, Folder):
                    stack.append(child)
                else:
                    md = child.metadata or None
                    yield [
                        "file", child.names(), child.blob, child.size, child.created,
                        child.modified, md,
                    ]  # fmt: skip

    def live_blobs(self) -> set[str]:
        return {f.blob for f in self.root.walk_files()}

    # -- internals ------------------------------------------------------------------------

    def _check_free(self, parent: Folder, name: str) -> None:
        if name in parent.children:
            raise FileExistsError(name)

    def _forget(self, node: Node) -> None:
        # Replay of a removal: the blobs were unlinked when it happened.
        assert node.parent is not None
        del node.parent.children[node.name]
        for f in _files(node):
            self.used -= f.size

    def _journal(self, record: Record) -> None:
        self.version += 1
        self.listing_cache = None
        if self._log is not None:
            self._log(record)


def _files(node: Node) -> Iterator[File]:
    if isinstance(node, File):
        yield node
    else:
        yield from node.walk_files()


def _metadata(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(metadata) if metadata else NO_METADATA
