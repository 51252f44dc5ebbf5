"""JSON payloads of the API -> the dataclasses of `models.py`, tolerant of known variants.

Variants accepted (seen in real answers and in the portal's examples): `subfolders` or the
portal's `subFolders`, `metadata` or `metaData`, dates with `+HHMM`, `+HH:MM` or `Z`, with or
without fractional seconds, and numbers sent as strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from syncd.cloud.errors import IncompleteListing, MalformedResponse
from syncd.cloud.models import (
    DamagedItem,
    FolderListing,
    ItemRef,
    RemoteFile,
    RemoteFolderRef,
    UploadResult,
)

_DATE = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})"
    r"(?:[.,](?P<frac>\d+))?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_date(value: Any) -> datetime:
    """An aware datetime; naive inputs are taken as UTC, unparsable ones as the epoch."""
    parsed = date_or_none(value)
    return _EPOCH if parsed is None else parsed


def date_or_none(value: Any) -> datetime | None:
    """`parse_date`, with None for what is not a date (the strict readers need to know)."""
    if not isinstance(value, str):
        return None
    try:
        # The C parser takes every form the service sends (`+HHMM`, `+HH:MM`, `Z`, fractions)
        # far faster than the regular expression below; a listing of 100,000 files has
        # 200,000 dates.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    match = _DATE.match(value.strip())
    if match is None:
        return None
    try:
        base = datetime.strptime(match.group("base").replace(" ", "T"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    frac = match.group("frac")
    if frac:
        base = base.replace(microsecond=int(frac[:6].ljust(6, "0")))
    tz_text = match.group("tz")
    if tz_text is None or tz_text == "Z":
        return base.replace(tzinfo=UTC)
    sign = -1 if tz_text[0] == "-" else 1
    digits = tz_text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or 0)
    offset = timedelta(hours=hours, minutes=minutes) * sign
    try:
        return base.replace(tzinfo=timezone(offset))
    except ValueError:  # an offset of a day or more
        return None


def _require(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if value is None:
        raise MalformedResponse(f"{what} without {key!r}")
    return str(value)


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _optional_str(value: Any) -> str | None:
    return str(value) if value else None


def _as_mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedResponse(f"{what}: expected a JSON object")
    return data


def parse_file(data: Any, *, parent_id: str | None = None) -> RemoteFile:
    """A file object (`GET /files/{id}`), read strictly: a file whose size or dates cannot
    be read is a `MalformedResponse`, never a file of 0 bytes from 1970."""
    data = _as_mapping(data, "file")
    file_id = _require(data, "id", "file")
    item = read_file_entry(data, file_id, parent_id)
    if isinstance(item, DamagedItem):
        raise MalformedResponse(f"the cloud's description of the file {item.problem}")
    return item


def read_file_entry(
    data: Mapping[str, Any], file_id: str, parent_id: str | None
) -> RemoteFile | DamagedItem:
    """One file of a listing (or a file object), or what is wrong with it.

    Runs once per file of a listing (100,000 times for a big tree): kept lean.
    """
    get = data.get
    name = get("name")
    size = get("size")
    created = date_or_none(get("creationDate"))
    updated_raw = get("lastUpdateDate")
    updated = created if updated_raw is None else date_or_none(updated_raw)
    listed_parent = get("parentId")
    problem = None
    if type(name) is not str or not name:
        problem = "has no name"
    elif type(size) is not int:
        size = _byte_count(size)
        if size is None:
            problem = f"has a size that is not a byte count ({get('size')!r})"
    elif size < 0:
        problem = f"has a negative size ({size})"
    if problem is None and (created is None or updated is None):
        problem = "has a date that cannot be read"
    if problem is None and listed_parent is not None and type(listed_parent) is not str:
        problem = "has a parent id that is not a string"
    if problem is not None:
        return DamagedItem(
            "file",
            file_id,
            name if type(name) is str and name else None,
            listed_parent if type(listed_parent) is str else parent_id,
            problem,
        )
    assert created is not None and updated is not None
    assert isinstance(size, int) and isinstance(name, str)
    metadata = get("metadata")
    if metadata is None:
        metadata = get("metaData")
    return RemoteFile(
        file_id,
        name,
        size,
        str(get("type") or "FILE"),
        created,
        updated,
        # The decoded JSON object is ours alone: no need to copy it.
        metadata if isinstance(metadata, dict) else {},
        listed_parent or parent_id,
        _optional_str(get("downloadUrl")),
        _optional_str(get("thumbUrl") or get("thumbnailUrl")),
        _optional_str(get("previewUrl")),
    )


def _byte_count(value: Any) -> int | None:
    """A size sent as a decimal string (the API sends some numbers so); None otherwise."""
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    return None


def _lenient_file(data: Any, *, parent_id: str | None) -> RemoteFile:
    """A file of a folder object outside a listing (a create's answer): defaults for what
    is missing, since nothing is decided from it."""
    data = _as_mapping(data, "file")
    get = data.get
    metadata = get("metadata")
    if metadata is None:
        metadata = get("metaData")
    size = get("size")
    created = get("creationDate")
    return RemoteFile(
        _require(data, "id", "file"),
        str(get("name") or ""),
        size if type(size) is int else _as_int(size),
        str(get("type") or "FILE"),
        parse_date(created),
        parse_date(get("lastUpdateDate") or created),
        metadata if isinstance(metadata, dict) else {},
        _optional_str(get("parentId")) or parent_id,
        _optional_str(get("downloadUrl")),
        _optional_str(get("thumbUrl") or get("thumbnailUrl")),
        _optional_str(get("previewUrl")),
    )


def parse_folder_ref(data: Any, *, parent_id: str | None = None) -> RemoteFolderRef:
    """A subfolder of a folder object, leniently; `parent_id` when it names no parent.
    Raises `MalformedResponse` for one that is not an object or has no id."""
    data = _as_mapping(data, "subfolder")
    return RemoteFolderRef(
        id=_require(data, "id", "subfolder"),
        name=str(data.get("name") or ""),
        parent_id=_optional_str(data.get("parentId")) or parent_id or "",
    )


def parse_folder(data: Any, *, flat: bool = False) -> FolderListing:
    """A folder object as a create answers it, leniently (see `parse_listing` for listings).
    Outside flat mode, children default to this folder as parent. Raises
    `MalformedResponse` for an object, or an item in it, without an id."""
    data = _as_mapping(data, "folder")
    folder_id = _require(data, "id", "folder")
    parent_for_children = None if flat else folder_id
    subfolders = data.get("subfolders")
    if subfolders is None:
        subfolders = data.get("subFolders")
    files = data.get("files") or []
    return FolderListing(
        id=folder_id,
        parent_id=_optional_str(data.get("parentId")) or folder_id,
        name=str(data.get("name") or ""),
        files=tuple(_lenient_file(f, parent_id=parent_for_children) for f in files),
        subfolders=tuple(
            parse_folder_ref(s, parent_id=parent_for_children) for s in subfolders or []
        ),
    )


def parse_listing(data: Any, *, flat: bool = False) -> FolderListing:
    """A folder GET, read strictly: a listing is what a sync deletes by, so what it leaves
    out must never pass for absent.

    Raises `IncompleteListing` when the listing cannot be read whole: no `files` or
    `subfolders` list (missing, null or another type), an entry that is not an object or has
    no id. An entry whose other fields cannot be read (name, size, dates, parent id) is kept
    apart in `damaged`, so the caller can treat what it stands for as unknown.
    """
    if not isinstance(data, Mapping):
        raise IncompleteListing("the folder listing is not a JSON object")
    folder_id = data.get("id")
    if type(folder_id) is not str or not folder_id:
        raise IncompleteListing("the folder listing has no id")
    files = data.get("files")
    subfolders = data.get("subfolders")
    if subfolders is None and "subfolders" not in data:
        subfolders = data.get("subFolders")
    for key, value in (("files", files), ("subfolders", subfolders)):
        if type(value) is not list:
            found = "missing" if value is None else f"a {type(value).__name__}"
            raise IncompleteListing(f"the folder listing's {key!r} is {found}, not a list")
    assert isinstance(files, list) and isinstance(subfolders, list)
    parent_for_children = None if flat else folder_id
    good_files: list[RemoteFile] = []
    good_folders: list[RemoteFolderRef] = []
    damaged: list[DamagedItem] = []
    for entry in files:
        if type(entry) is not dict:
            raise IncompleteListing("a file of the folder listing is not a JSON object")
        file_id = entry.get("id")
        if type(file_id) is not str or not file_id:
            raise IncompleteListing("a file of the folder listing has no id")
        item = read_file_entry(entry, file_id, parent_for_children)
        if type(item) is RemoteFile:
            good_files.append(item)
        else:
            assert isinstance(item, DamagedItem)
            damaged.append(item)
    for entry in subfolders:
        if type(entry) is not dict:
            raise IncompleteListing("a subfolder of the folder listing is not a JSON object")
        sub_id = entry.get("id")
        if type(sub_id) is not str or not sub_id:
            raise IncompleteListing("a subfolder of the folder listing has no id")
        name = entry.get("name")
        parent = entry.get("parentId", parent_for_children)
        if parent is None:
            parent = parent_for_children
        problem = None
        if type(name) is not str or not name:
            problem = "has no name"
        elif type(parent) is not str or not parent:
            problem = "has no parent id"
        if problem is not None:
            damaged.append(
                DamagedItem(
                    "folder",
                    sub_id,
                    name if type(name) is str and name else None,
                    parent if type(parent) is str and parent else None,
                    problem,
                )
            )
            continue
        assert isinstance(name, str) and isinstance(parent, str)
        good_folders.append(RemoteFolderRef(sub_id, name, parent))
    return FolderListing(
        id=folder_id,
        parent_id=_optional_str(data.get("parentId")) or folder_id,
        name=str(data.get("name") or ""),
        files=tuple(good_files),
        subfolders=tuple(good_folders),
        damaged=tuple(damaged),
    )


def parse_item_ref(data: Any) -> ItemRef:
    """The answer to a rename, move or copy. Raises `MalformedResponse` without an id."""
    data = _as_mapping(data, "item")
    return ItemRef(
        id=_require(data, "id", "item"),
        name=str(data.get("name") or ""),
        parent_id=str(data.get("parentId") or ""),
    )


def parse_upload(data: Any) -> UploadResult:
    """The answer to an upload. Raises `MalformedResponse` without a `fileId`."""
    data = _as_mapping(data, "upload result")
    return UploadResult(
        file_id=_require(data, "fileId", "upload result"),
        file_name=str(data.get("fileName") or ""),
    )


def parse_freespace(data: Any) -> int:
    """The free bytes of a `GET /freespace` answer. Raises `MalformedResponse` for an
    answer without `freespace`."""
    data = _as_mapping(data, "freespace")
    if "freespace" not in data:
        raise MalformedResponse("freespace response without 'freespace'")
    return _as_int(data["freespace"])
