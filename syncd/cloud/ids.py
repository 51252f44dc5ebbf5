"""Helpers around the service's (undocumented) id encoding.

Ids are opaque to the client. In every captured response an id is the URL-safe base64,
without padding, of the item's UTF-8 path relative to the cloud root (folders end with `/`,
the root is `/` -> `Lw`). The one place we rely on that is to find the parent of a file in a
flat listing, where files carry no `parentId`; callers must cope with `None`.
"""

from __future__ import annotations

import base64
import binascii


def decode_id(item_id: str) -> str | None:
    """The path an id encodes, or None if it does not decode as expected."""
    padded = item_id + "=" * (-len(item_id) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


def encode_path(path: str) -> str:
    """The id the service would give `path` (`"a/b/"` for a folder, `"a/b.txt"` for a file)."""
    return base64.urlsafe_b64encode(path.encode("utf-8")).decode("ascii").rstrip("=")


def parent_id_of(item_id: str) -> str | None:
    """The id of the folder holding `item_id`, derived from its path; None if unknown."""
    path = decode_id(item_id)
    if not path or path == "/":
        return None
    stripped = path[:-1] if path.endswith("/") else path
    if not stripped:
        return None
    head, sep, _ = stripped.rpartition("/")
    if not sep:
        return encode_path("/")
    return encode_path(head + "/")
