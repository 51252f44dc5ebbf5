"""JSON views of the tree: folder listings (with every query flag), file objects, and the
opaque content URLs.

A listing is collected under the store lock into plain tuples, then rendered outside it, so a
100,000-file listing blocks other requests only for the collection walk.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, Literal, NamedTuple, TypeAlias

from syncd.emulator.ids import ROOT_ID, b64url, encode_path
from syncd.emulator.model import PREVIEW_TYPES, DateFormat, File, Folder, file_type

# How `limit`/`offset` window a listing: the service's choice is not known.
PageSplit: TypeAlias = Literal["combined", "separate"]

json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class FileRow(NamedTuple):
    path: str
    name: str
    size: int
    created: int
    modified: int
    blob: str
    metadata: Mapping[str, Any]


class FolderRow(NamedTuple):
    prefix: str  # "a/b/": the folder's path with its trailing slash
    name: str
    parent_prefix: str


@dataclass(frozen=True)
class ListingQuery:
    flat: bool = False
    tree: bool = False
    file_type: str | None = None  # PICTURE/VIDEO/AUDIO/FILE, from `filter`
    with_urls: bool = False  # showthumbnails
    limit: int = 0  # 0 = no limit
    offset: int = 0


class UrlSigner:
    """Makes and checks the opaque tail of content URLs.

    The tail is a random nonce plus a MAC over (nonce, kind, blob), so it differs on every
    response, yet every tail ever issued for a file stays valid for as long as that file's bytes
    are the same blob at the same id; no table of issued URLs is kept, and (the key being
    persisted) they survive a restart.
    """

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._keyed = hashlib.blake2b(key=key, digest_size=12)

    def signer(self, kind: str, nonce: bytes) -> Callable[[str], str]:
        """The tail maker for one kind and nonce; the hash state of the common prefix is made
        once, as a 100,000-file listing signs 100,000 URLs."""
        prefix = self._keyed.copy()
        prefix.update(nonce + kind.encode())

        def sign(blob: str) -> str:
            mac = prefix.copy()
            mac.update(blob.encode())
            return b64url(nonce + mac.digest())

        return sign

    def verify(self, kind: str, blob: str, opaque: str) -> bool:
        try:
            raw = base64.urlsafe_b64decode(opaque + "=" * (-len(opaque) % 4))
        except (binascii.Error, ValueError):
            return False
        if len(raw) != 20:
            return False
        return hmac.compare_digest(self.signer(kind, raw[:8])(blob), opaque)


class Renderer:
    """Renders rows for one response; `content_base` is the content host base URL."""

    def __init__(
        self,
        dates: DateFormat,
        signer: UrlSigner,
        content_base: str,
        *,
        download_base: str | None = None,
    ) -> None:
        """`download_base` puts download URLs on another origin (a hostile service)."""
        self._date = dates.render
        self._content_base = content_base
        self._download_base = download_base or content_base
        self._base_js = json_text(content_base)[1:-1]  # escaped once, not per URL
        self._download_js = json_text(self._download_base)[1:-1]
        nonce = os.urandom(8)  # one per response: URLs differ between responses
        self._sign = {kind: signer.signer(kind, nonce) for kind in ("content", "thumb", "preview")}

    def file(self, row: FileRow, *, with_urls: bool) -> dict[str, Any]:
        """A file entry; keys in the order of the real captures."""
        ftype = file_type(row.name)
        fid = encode_path(row.path)
        out: dict[str, Any] = {"id": fid, "name": row.name, "type": ftype}
        if with_urls and ftype in PREVIEW_TYPES:
            out["thumbUrl"] = self.url(fid, "thumb", row.blob)
            out["previewUrl"] = self.url(fid, "preview", row.blob)
        out["metadata"] = dict(row.metadata)
        out["lastUpdateDate"] = self._date(row.modified)
        out["creationDate"] = self._date(row.created)
        out["size"] = row.size
        if with_urls:
            out["downloadUrl"] = self.url(fid, "content", row.blob)
        return out

    def files_json(self, rows: list[FileRow], *, with_urls: bool) -> str:
        """``json.dumps([self.file(r) for r in rows])``, three times faster: a listing of
        100,000 files is the remote poll of the sync engine, so it must stay well under 1 s."""
        date, base, download_base = self._date, self._base_js, self._download_js
        content, thumb, preview = self._sign["content"], self._sign["thumb"], self._sign["preview"]
        parts = []
        for row in rows:
            ftype = file_type(row.name)
            fid = encode_path(row.path)
            urls = tail = ""
            if with_urls:
                files = f"{base}/files/{fid}"
                if ftype in PREVIEW_TYPES:
                    urls = (
                        f',"thumbUrl":"{files}/thumb/{thumb(row.blob)}",'
                        f'"previewUrl":"{files}/preview/{preview(row.blob)}"'
                    )
                tail = f',"downloadUrl":"{download_base}/files/{fid}/content/{content(row.blob)}"'
            metadata = json_text(row.metadata) if row.metadata else "{}"
            parts.append(
                f'{{"id":"{fid}","name":{json_text(row.name)},"type":"{ftype}"{urls},'
                f'"metadata":{metadata},"lastUpdateDate":"{date(row.modified)}",'
                f'"creationDate":"{date(row.created)}","size":{row.size}{tail}}}'
            )
        return "[" + ",".join(parts) + "]"

    def url(self, fid: str, kind: str, blob: str) -> str:
        base = self._download_base if kind == "content" else self._content_base
        return f"{base}/files/{fid}/{kind}/{self._sign[kind](blob)}"


def folder_ref(prefix: str, parent_prefix: str, name: str, view_root: str) -> dict[str, str]:
    """``{id, parentId, name}``; the root a caller may see is its own parent."""
    fid = prefix_id(prefix)
    parent = fid if prefix == view_root else prefix_id(parent_prefix)
    return {"id": fid, "parentId": parent, "name": name}


def prefix_id(prefix: str) -> str:
    return encode_path(prefix) if prefix else ROOT_ID


def folder_prefix(folder: Folder) -> str:
    names = folder.names()
    return "/".join(names) + "/" if names else ""


def file_row(f: File, path: str) -> FileRow:
    return FileRow(path, f.name, f.size, f.created, f.modified, f.blob, f.metadata)


def collect(folder: Folder, query: ListingQuery) -> tuple[list[FolderRow], list[FileRow]]:
    """Subfolders (pre-order, siblings by name) and files of a listing; hold the store lock."""
    folders: list[FolderRow] = []
    files: list[FileRow] = []
    want_files = not query.tree
    ftype = query.file_type
    stack = [(folder, folder_prefix(folder))]
    while stack:
        current, prefix = stack.pop()
        for name, child in current.children.items():
            if isinstance(child, Folder):
                sub_prefix = prefix + name + "/"
                folders.append(FolderRow(sub_prefix, name, prefix))
                if query.flat:
                    stack.append((child, sub_prefix))
            elif want_files and (ftype is None or file_type(name) == ftype):
                # Inlined file_row(): this line runs once per file of a 100,000-file poll.
                c = child
                files.append(
                    FileRow(prefix + name, name, c.size, c.created, c.modified, c.blob, c.metadata)
                )
    # Pre-order, siblings by name: comparing path components puts a parent before its children.
    folders.sort(key=lambda r: r.prefix.split("/"))
    # Newest creationDate first, ties by path; two stable C-keyed sorts beat one tuple key.
    files.sort(key=attrgetter("path"))
    files.sort(key=attrgetter("created"), reverse=True)
    return folders, files


def page(
    folders: list[FolderRow],
    files: list[FileRow],
    limit: int,
    offset: int,
    split: PageSplit = "combined",
) -> tuple[list[FolderRow], list[FileRow]]:
    """`offset`/`limit` over the concatenation subfolders-then-files ("combined"), or over
    each list on its own ("separate": a page may then hold up to 2 x `limit` items)."""
    end = offset + limit if limit else None
    if split == "separate":
        return folders[offset:end], files[offset:end]
    n = len(folders)
    files_end = None if end is None else max(end - n, 0)
    return folders[offset:end], files[max(offset - n, 0) : files_end]


@dataclass(frozen=True)
class Entry:
    """One item of ``Emulator.listing()``; folders have size 0 and no dates (like the API)."""

    kind: str  # "file" or "folder"
    id: str
    size: int = 0
    created: datetime | None = None
    modified: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "id": self.id, "size": self.size}
        if self.created is not None and self.modified is not None:
            out["creationDate"] = self.created.isoformat()
            out["lastUpdateDate"] = self.modified.isoformat()
        return out


def tree_listing(root: Folder, dates: DateFormat) -> dict[str, Entry]:
    """Every item below `root` by its path relative to `root`; hold the store lock."""
    out: dict[str, Entry] = {}
    base = folder_prefix(root)
    stack: list[tuple[Folder, str]] = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        for name, child in folder.children.items():
            path = rel + name
            if isinstance(child, Folder):
                out[path] = Entry("folder", encode_path(base + path + "/"))
                stack.append((child, path + "/"))
            else:
                out[path] = Entry(
                    "file",
                    encode_path(base + path),
                    child.size,
                    datetime.fromtimestamp(child.created, dates.zone),
                    datetime.fromtimestamp(child.modified, dates.zone),
                )
    return dict(sorted(out.items()))
