"""API-neutral values returned by the client. The sync engine sees only these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


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
    """One page of a flat listing: a digest of its body, how many items it held, the parsed
    page (None when the digest matched the one the caller already knew), and the `offset`
    it was asked for (to ask for it again)."""

    digest: bytes
    count: int
    listing: FolderListing | None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class DamagedItem:
    """A listed item that could not be read whole (a name, size, date or parent id missing or
    of the wrong type): what is known of where it is, and what was wrong. A sync must treat
    whatever it may stand for as unknown, never as absent."""

    kind: Literal["file", "folder"]
    id: str
    name: str | None
    parent_id: str | None
    problem: str


@dataclass(frozen=True, slots=True)
class FolderListing:
    """One folder GET. With `flat`, `files` and `subfolders` hold the whole subtree.

    `damaged` holds the items that could not be read whole; they are in neither list.
    """

    id: str
    parent_id: str
    name: str
    files: tuple[RemoteFile, ...]
    subfolders: tuple[RemoteFolderRef, ...]
    damaged: tuple[DamagedItem, ...] = ()

    @property
    def is_visible_root(self) -> bool:
        """Whether this is the root the app sees (the service makes it its own parent)."""
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
