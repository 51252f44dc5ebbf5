"""Path-derived item ids, exactly as the real service builds them.

An id is the URL-safe base64 (no padding) of the UTF-8 path relative to the user's true cloud
root. Folder paths end with ``/``; the true root is ``/`` and its id is ``Lw``. Every one of the
559 ids in the real captures follows this rule (see the fidelity tests).

Paths are handled here as tuples of names, because a name may (when injected by a test) contain
``/`` and a joined string would then be ambiguous.
"""

from __future__ import annotations

import base64
import binascii
import re

ROOT_ID = "Lw"

Names = tuple[str, ...]


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_ID = re.compile(r"[A-Za-z0-9_-]+")


def b64url(data: bytes) -> str:
    """Unpadded URL-safe base64."""
    # binascii directly: listings encode 100,000 ids, and base64.urlsafe_b64encode costs double.
    raw = binascii.b2a_base64(data, newline=False)
    return raw.rstrip(b"=").translate(_URLSAFE).decode("ascii")


def encode_path(path: str) -> str:
    """The id for a path string (``"a/b/"`` for a folder, ``"a/b.txt"`` for a file)."""
    return b64url(path.encode("utf-8"))


def decode_id(item_id: str) -> str:
    """The path string inside an id. Raises ValueError when it is not one of ours."""
    # The stdlib decoder skips characters outside the alphabet: "Lw!!" would be the root.
    if not _ID.fullmatch(item_id) or len(item_id) % 4 == 1:
        raise ValueError(f"not an item id: {item_id!r}")
    try:
        raw = base64.urlsafe_b64decode(item_id + "=" * (-len(item_id) % 4))
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"not an item id: {item_id!r}") from exc


def folder_id(names: Names) -> str:
    return encode_path("/".join(names) + "/") if names else ROOT_ID


def file_id(names: Names) -> str:
    return encode_path("/".join(names))


def split_id(item_id: str) -> tuple[list[str], bool]:
    """Path components of an id and whether it names a folder (trailing ``/``).

    Components are split on every ``/``; the store re-joins them when a stored name itself
    contains a slash (see ``Store.resolve_parts``).
    """
    path = decode_id(item_id)
    if path == "/":
        return [], True
    is_folder = path.endswith("/")
    body = path[:-1] if is_folder else path
    if not body or body.startswith("/"):
        raise ValueError(f"not an item id: {item_id!r}")
    return body.split("/"), is_folder
