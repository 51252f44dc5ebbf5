"""API-neutral values returned by the client. The sync engine sees only these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A file as the cloud describes it. `parent_id` is None in flat listings."""

    id: str
    name: str
    size: int
    type: str
    creation_date: datetime
    last_update_date: datetime
    metadata: Mapping[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    download_url: str | None = None
    thumb_url: str | None = None
    preview_url: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteFolderRef:
    """A folder as it appears in a listing: folders carry no dates or sizes."""

    id: str
    name: str
    parent_id: str


@dataclass(frozen=True, slots=True)
class FlatPage:
    """One page of a flat listing: a digest of its body, how many items it held, and the
    parsed page, or None when the digest matched the one the caller already knew."""

    digest: bytes
    count: int
    listing: FolderListing | None


@dataclass(frozen=True, slots=True)
class FolderListing:
    """One folder GET. With `flat`, `files` and `subfolders` hold the whole subtree."""

    id: str
    parent_id: str
    name: str
    files: tuple[RemoteFile, ...]
    subfolders: tuple[RemoteFolderRef, ...]

    @property
    def is_visible_root(self) -> bool:
        # The service marks the root an app can see by making it its own parent.
        return self.parent_id == self.id


@dataclass(frozen=True, slots=True)
class ItemRef:
    """The result of a rename, move or copy: the item's (new) id, name and parent."""

    id: str
    name: str
    parent_id: str


@dataclass(frozen=True, slots=True)
class UploadResult:
    """`file_name` is the name actually stored; it differs on a `name(1).ext` conflict."""

    file_id: str
    file_name: str
