"""JSON payloads of the API -> the dataclasses of `models.py`, tolerant of known variants.

Variants accepted (research §3, §8): `subfolders` or the portal's `subFolders`, `metadata` or
`metaData`, dates with `+HHMM`, `+HH:MM` or `Z`, with or without fractional seconds, and
numbers sent as strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from syncd.cloud.errors import MalformedResponse
from syncd.cloud.models import FolderListing, ItemRef, RemoteFile, RemoteFolderRef, UploadResult

_DATE = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})"
    r"(?:[.,](?P<frac>\d+))?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_date(value: Any) -> datetime:
    """An aware datetime; naive inputs are taken as UTC, unparsable ones as the epoch."""
    if not isinstance(value, str):
        return _EPOCH
    try:
        # The C parser takes every form the service sends (`+HHMM`, `+HH:MM`, `Z`, fractions)
        # in a tenth of a microsecond; a listing of 100,000 files has 200,000 dates.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    match = _DATE.match(value.strip())
    if match is None:
        return _EPOCH
    base = datetime.strptime(match.group("base").replace(" ", "T"), "%Y-%m-%dT%H:%M:%S")
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
    return base.replace(tzinfo=timezone(offset))


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
    # Runs once per file of a listing (100,000 times for a big tree): kept lean.
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
        # The decoded JSON object is ours alone: no need to copy it.
        metadata if isinstance(metadata, dict) else {},
        _optional_str(get("parentId")) or parent_id,
        _optional_str(get("downloadUrl")),
        _optional_str(get("thumbUrl") or get("thumbnailUrl")),
        _optional_str(get("previewUrl")),
    )


def parse_folder_ref(data: Any, *, parent_id: str | None = None) -> RemoteFolderRef:
    data = _as_mapping(data, "subfolder")
    return RemoteFolderRef(
        id=_require(data, "id", "subfolder"),
        name=str(data.get("name") or ""),
        parent_id=_optional_str(data.get("parentId")) or parent_id or "",
    )


def parse_folder(data: Any, *, flat: bool = False) -> FolderListing:
    """A folder object. Outside flat mode, children default to this folder as parent."""
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
        files=tuple(parse_file(f, parent_id=parent_for_children) for f in files),
        subfolders=tuple(
            parse_folder_ref(s, parent_id=parent_for_children) for s in subfolders or []
        ),
    )


def parse_item_ref(data: Any) -> ItemRef:
    data = _as_mapping(data, "item")
    return ItemRef(
        id=_require(data, "id", "item"),
        name=str(data.get("name") or ""),
        parent_id=str(data.get("parentId") or ""),
    )


def parse_upload(data: Any) -> UploadResult:
    data = _as_mapping(data, "upload result")
    return UploadResult(
        file_id=_require(data, "fileId", "upload result"),
        file_name=str(data.get("fileName") or ""),
    )


def parse_freespace(data: Any) -> int:
    data = _as_mapping(data, "freespace")
    if "freespace" not in data:
        raise MalformedResponse("freespace response without 'freespace'")
    return _as_int(data["freespace"])
