"""How each side of a path compares with the base: absent, created, unchanged, modified or
deleted. Pure: what the planner and the move detection judge a path by.

A local file whose stat differs from base but whose hash is equal is unchanged ("touched");
a remote file is changed when its size, creation date or last-update date differ from base.
"""

from __future__ import annotations

from enum import Enum

from syncd.sync.model import BaseEntry, Kind, LocalEntry, RemoteEntry


class Side(Enum):
    ABSENT = "absent"
    CREATED = "created"
    UNCHANGED = "unchanged"
    MODIFIED = "modified"
    DELETED = "deleted"


def local_side(local: LocalEntry | None, base: BaseEntry | None) -> Side:
    if base is None:
        return Side.ABSENT if local is None else Side.CREATED
    if local is None:
        return Side.DELETED
    if local.kind is not base.kind:
        return Side.MODIFIED
    if local.kind is Kind.DIR or local.same_stat(base):
        return Side.UNCHANGED
    if local.sha256 is not None and local.sha256 == base.sha256 and local.size == base.size:
        return Side.UNCHANGED
    return Side.MODIFIED


def remote_side(remote: RemoteEntry | None, base: BaseEntry | None) -> Side:
    if base is None:
        return Side.ABSENT if remote is None else Side.CREATED
    if remote is None:
        return Side.DELETED
    if remote.kind is not base.kind:
        return Side.MODIFIED
    if remote.kind is Kind.DIR:
        return Side.UNCHANGED
    if not base.remote_dates_known:
        # Uploaded by us, dates not seen yet: the same id and size is our own upload.
        same = remote.id == base.remote_id and remote.size == base.size
        return Side.UNCHANGED if same else Side.MODIFIED
    return Side.UNCHANGED if remote.fingerprint() == base.remote_fingerprint() else Side.MODIFIED
