"""The tree held in memory: folders, files, file types, names and date rendering."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import Any

from syncd.emulator.ids import Names, file_id, folder_id

# Extension → type, lower case. The service's own table is unknown; these are the common
# formats of each family (the captures show .JPG/.jpg pictures, .mp3/.m4a/.ogg audio, .mp4 video).
_EXTENSIONS = {
    "PICTURE": "jpg jpeg jpe png gif bmp tif tiff heic heif webp dng cr2 nef arw raw svg",
    "VIDEO": "mp4 m4v mov avi mkv webm 3gp 3g2 wmv mpg mpeg mts m2ts flv ogv",
    "AUDIO": "mp3 m4a aac ogg oga opus flac wav wma aif aiff amr mid midi",
}
_TYPES = {ext: kind for kind, exts in _EXTENSIONS.items() for ext in exts.split(" ")}

PREVIEW_TYPES = frozenset({"PICTURE", "VIDEO"})

# `filter` query values → type. Clients sent lower-cased type names; the picture and "other"
# spellings are unknown, so both plausible ones are accepted.
FILTERS: dict[str, str] = {
    "image": "PICTURE",
    "picture": "PICTURE",
    "photo": "PICTURE",
    "video": "VIDEO",
    "audio": "AUDIO",
    "music": "AUDIO",
    "other": "FILE",
    "file": "FILE",
}


def file_type(name: str) -> str:
    # rpartition, not os.path.splitext: five times faster, and listings call this per file.
    stem, dot, ext = name.rpartition(".")
    return _TYPES.get(ext.lower(), "FILE") if dot and stem else "FILE"


def invalid_name_reason(name: str) -> str | None:
    """Why the API refuses a name given by a client, or None when it is acceptable."""
    if name in (".", ".."):
        return f"name {name!r} is reserved"
    if "/" in name or "\x00" in name:
        return "name must not contain '/' or NUL"
    if not name.isascii():
        try:
            name.encode("utf-8")  # JSON "\ud800" escapes decode to lone surrogates
        except UnicodeEncodeError:
            return "name is not valid Unicode"
    return None


def numbered_name(name: str, n: int) -> str:
    """``stem(n).ext``: the name the service gives the n-th duplicate (no space, as captured)."""
    stem, ext = os.path.splitext(name)
    return f"{stem}({n}){ext}"


# Shared by every file without metadata (nearly all): 100,000 empty dicts cost 6 MB and GC time.
NO_METADATA: Mapping[str, Any] = MappingProxyType({})


@dataclass(eq=False, slots=True)
class Folder:
    name: str
    parent: Folder | None
    children: dict[str, Folder | File] = field(default_factory=dict)

    def names(self) -> Names:
        parts: list[str] = []
        node: Folder | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return tuple(reversed(parts))

    @property
    def id(self) -> str:
        return folder_id(self.names())

    def is_within(self, other: Folder) -> bool:
        """True when self is `other` or lies below it."""
        node: Folder | None = self
        while node is not None:
            if node is other:
                return True
            node = node.parent
        return False

    def walk_files(self) -> Iterator[File]:
        for child in self.children.values():
            if isinstance(child, File):
                yield child
            else:
                yield from child.walk_files()


@dataclass(eq=False, slots=True)
class File:
    name: str
    parent: Folder
    size: int
    created: int  # epoch seconds; the API has second precision
    modified: int
    blob: str
    metadata: Mapping[str, Any]

    def names(self) -> Names:
        return (*self.parent.names(), self.name)

    @property
    def id(self) -> str:
        return file_id(self.names())

    @property
    def type(self) -> str:
        return file_type(self.name)


Node = Folder | File


class DateFormat:
    """Renders epoch seconds as ``YYYY-MM-DDTHH:MM:SS+HHMM`` in the configured zone.

    Rendering is cached per second: a listing of 100,000 files otherwise spends most of its time
    in zone conversion, while real trees share few distinct timestamps per second.
    """

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.render = functools.lru_cache(maxsize=1 << 16)(self._render)

    def _render(self, epoch: int) -> str:
        return datetime.fromtimestamp(epoch, self.zone).strftime("%Y-%m-%dT%H:%M:%S%z")
