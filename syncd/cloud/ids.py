"""Helpers around the service's (undocumented) id encoding.

Ids are opaque to the client. In every captured response an id is the URL-safe base64,
without padding, of the item's UTF-8 path relative to the cloud root (folders end with `/`,
the root is `/` -> `Lw`). We rely on that in two places, and callers must cope with `None`:
to find the parent of a file in a flat listing, where files carry no `parentId`, and to find
where a rename or move whose answer was lost put the item (its parent and name).
"""

from __future__ import annotations

import base64
import binascii
import functools

_FROM_URLSAFE = str.maketrans("-_", "+/")


def decode_id(item_id: str) -> str | None:
    """The path an id encodes, or None if it does not decode as expected."""
    # binascii directly: a flat listing of a big tree decodes one id per file.
    padded = item_id.translate(_FROM_URLSAFE) + "=" * (-len(item_id) % 4)
    try:
        return binascii.a2b_base64(padded).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


def encode_path(path: str) -> str:
    """The id the service would give `path` (`"a/b/"` for a folder, `"a/b.txt"` for a file)."""
    return base64.urlsafe_b64encode(path.encode("utf-8")).decode("ascii").rstrip("=")


def name_of(item_id: str) -> str | None:
    """The name of the item `item_id` stands for, derived from its path; None if unknown."""
    path = decode_id(item_id)
    stripped = (path or "").rstrip("/")
    return stripped.rpartition("/")[2] or None


def parent_id_of(item_id: str) -> str | None:
    """The id of the folder holding `item_id`, derived from its path; None if unknown."""
    path = decode_id(item_id)
    if not path or path == "/":
        return None
    stripped = path[:-1] if path.endswith("/") else path
    if not stripped:
        return None
    head, sep, _ = stripped.rpartition("/")
    return _folder_id(head + "/" if sep else "/")


@functools.lru_cache(maxsize=4096)
def _folder_id(path: str) -> str:
    # The files of one folder share it: a listing asks for the same few thousand ids.
    return encode_path(path)


def shown(item_id: str | None) -> str:
    """How a message names the item `item_id` stands for: its cloud path, never the id
    (people read paths; an id is an opaque blur of base64)."""
    if item_id is None:
        return "/"
    path = decode_id(item_id)
    if path is None:
        return "an item the cloud names with an unreadable id"
    return path if path.startswith("/") else "/" + path
