"""The API host endpoints: freespace, folder listing/create/update/delete, file get/update/delete.

Update (``POST /folders/{id}``, ``POST /files/{id}``) is one endpoint whose body selects the
operation: ``name`` renames, ``parentFolderId`` moves, ``parentFolderId`` + ``clone: true``
copies; ``name`` + ``parentFolderId`` renames and moves (or names the copy).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from syncd.emulator import errors
from syncd.emulator.errors import ApiError
from syncd.emulator.handler import Reply
from syncd.emulator.model import FILTERS, File, Folder, Node, invalid_name_reason
from syncd.emulator.views import (
    ListingQuery,
    collect,
    file_row,
    folder_prefix,
    folder_ref,
    json_text,
    page,
)

if TYPE_CHECKING:
    from syncd.emulator.app import Call


def freespace(call: Call) -> Reply:
    app = call.app
    return Reply(200, {"freespace": max(app.config.quota_bytes - app.store.used, 0)})


def session(call: Call) -> Reply:
    # Legacy (pre-2016) session call: clients of that era still work, the esid is ignored.
    return Reply(200, {"esid": secrets.token_hex(16)})


# -- folders ------------------------------------------------------------------------------


def folder_get(call: Call) -> Reply:
    query = _listing_query(call)
    view_root = call.view_root()
    store = call.app.store
    with store.lock:
        folder = _folder(call, call.params["id"]) if call.params.get("id") else view_root
        # Paging a big flat listing walks and sorts the tree once, not once per page.
        key = (folder.id, view_root.id, query.flat, query.tree, query.file_type, store.version)
        cached = store.listing_cache
        if cached is not None and cached[0] == key:
            folders, files = cached[1]  # type: ignore[misc]
        else:
            folders, files = collect(folder, query)
            store.listing_cache = (key, (folders, files))
        prefix = folder_prefix(folder)
        parent_prefix = folder_prefix(folder.parent) if folder.parent else ""
        name = folder.name
    folders, files = call.app.hostile.omit(folders, files, flat=query.flat)
    folders, files = page(folders, files, query.limit, query.offset, call.app.config.page_split)
    root_prefix = folder_prefix(view_root)
    head = json_text(folder_ref(prefix, parent_prefix, name, root_prefix))
    subfolders = [folder_ref(r.prefix, r.parent_prefix, r.name, root_prefix) for r in folders]
    files_text = call.renderer().files_json(files, with_urls=query.with_urls)
    text = f'{head[:-1]},"files":{files_text},"subfolders":{json_text(subfolders)}}}'
    text = call.app.hostile.damage_listing(text, flat=query.flat, limit=query.limit)
    return Reply(200, raw=text.encode("utf-8"))


def folder_create(call: Call) -> Reply:
    body = _json_object(call)
    name = _name(body, required=True)
    assert name is not None
    store = call.app.store
    with store.lock:
        parent_id = body.get("parentFolderId")
        parent = _folder(call, _id_field(body)) if parent_id else call.view_root()
        call.check_write(parent)
        if name in parent.children:
            raise _already_exists(call, name)
        folder = store.mkdir(parent, name)
        out = {"id": folder.id, "parentId": parent.id, "name": name}
    return Reply(201, {**out, "files": [], "subfolders": []})


def folder_update(call: Call) -> Reply:
    return _update(call, lambda: _folder(call, call.params["id"]))


def item_delete(call: Call) -> Reply:
    store = call.app.store
    with store.lock:
        node = _folder(call, call.params["id"]) if call.kind == "folder_delete" else _file(call)
        _check_movable(call, node)
        store.remove(node)
    return Reply(204)


# -- files --------------------------------------------------------------------------------


def file_get(call: Call) -> Reply:
    store = call.app.store
    with store.lock:
        f = _file(call)
        call.check_read(f)
        row = file_row(f, "/".join(f.names()))
    return Reply(200, call.renderer().file(row, with_urls=True))


def file_update(call: Call) -> Reply:
    return _update(call, lambda: _file(call))


# -- update: rename / move / copy ---------------------------------------------------------


def _update(call: Call, find: Callable[[], Node]) -> Reply:
    body = _json_object(call)
    name = _name(body, required=False)
    clone = body.get("clone", False)
    if not isinstance(clone, bool):
        raise errors.invalid_field("clone", "must be a boolean")
    has_parent = body.get("parentFolderId") is not None
    if name is None and not has_parent:
        raise errors.missing_field("name or parentFolderId")
    if clone and not has_parent:
        raise errors.missing_field("parentFolderId")
    store = call.app.store
    now = int(time.time())
    with store.lock:
        node = find()
        call.check_read(node)
        if not clone:
            _check_movable(call, node)
        dest = _folder(call, _id_field(body)) if has_parent else node.parent
        assert dest is not None  # only the root has no parent, and it is not movable
        call.check_write(dest)
        if clone:
            result = _copy(call, node, dest, name, now)
        else:
            new_name = node.name if name is None else name
            if isinstance(node, Folder) and dest.is_within(node):
                raise _invalid_destination("a folder cannot move into itself")
            if new_name in dest.children and dest.children[new_name] is not node:
                raise _already_exists(call, new_name)
            modified = now if isinstance(node, File) else None
            result = store.move(node, dest, new_name, modified=modified)
        return Reply(200, _summary(call, result))


def _copy(call: Call, node: Node, dest: Folder, name: str | None, now: int) -> Node:
    app = call.app
    store = app.store
    if isinstance(node, Folder):
        if dest is node.parent:
            raise _invalid_destination("a folder cannot be copied into its own parent")
        if dest.is_within(node):
            raise _invalid_destination("a folder cannot be copied into itself")
        new_name = node.name if name is None else name
        if new_name in dest.children:
            raise _already_exists(call, new_name)
        size = sum(f.size for f in node.walk_files())
    else:
        # A file copy never conflicts: like an upload, it takes the next free `stem(n).ext`.
        new_name = store.unique_name(dest, node.name if name is None else name)
        size = node.size
    if size > app.config.quota_bytes - store.used:
        raise no_space_left()
    return store.copy(node, dest, new_name, now=now)


def _summary(call: Call, node: Node) -> dict[str, Any]:
    """The update/create answer: ``{id, name, parentId}``, plus the file fields for a file."""
    parent = node.parent
    assert parent is not None
    parent_id = parent.id
    if isinstance(node, Folder):
        return {"id": node.id, "name": node.name, "parentId": parent_id}
    row = file_row(node, "/".join(node.names()))
    return {**call.renderer().file(row, with_urls=False), "parentId": parent_id}


# -- shared checks ------------------------------------------------------------------------


def _check_movable(call: Call, node: Node) -> None:
    """Neither the visible roots nor a folder holding the app folder may move or go away."""
    app_root = call.app.app_root
    if node is call.view_root() or (isinstance(node, Folder) and app_root.is_within(node)):
        raise errors.forbidden_access()
    call.check_write(node)


def _folder(call: Call, item_id: str) -> Folder:
    node = call.app.store.by_id(item_id)
    if not isinstance(node, Folder):
        raise errors.not_found(f"No folder with id {item_id}")
    call.check_read(node)
    return node


def _file(call: Call) -> File:
    item_id = call.params["id"]
    node = call.app.store.by_id(item_id)
    if not isinstance(node, File):
        raise errors.not_found(f"No file with id {item_id}")
    return node


def _listing_query(call: Call) -> ListingQuery:
    q = call.req.query
    file_type = None
    if q.get("filter"):
        file_type = FILTERS.get(q["filter"].strip().lower())
        if file_type is None:
            raise errors.bad_query(f"filter must be one of {sorted(FILTERS)}")
    return ListingQuery(
        flat=call.flag("flat"),
        tree=call.flag("tree"),
        file_type=file_type,
        with_urls=call.flag("showthumbnails"),
        limit=_non_negative(q, "limit"),
        offset=_non_negative(q, "offset"),
    )


def _non_negative(query: dict[str, str], name: str) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()):
        raise errors.bad_query(f"{name} must be a non-negative integer")
    return int(raw)


def _json_object(call: Call) -> dict[str, Any]:
    body = call.req.json()
    if not isinstance(body, dict):
        raise errors.invalid_body("The body must be a JSON object")
    return body


def _name(body: dict[str, Any], *, required: bool) -> str | None:
    if "name" not in body or body["name"] is None:
        if required:
            raise errors.missing_field("name")
        return None
    name = body["name"]
    if not isinstance(name, str) or not name:
        raise errors.invalid_field("name", "must be a non-empty string")
    reason = invalid_name_reason(name)
    if reason:
        raise errors.invalid_field("name", reason)
    return name


def _id_field(body: dict[str, Any]) -> str:
    value = body.get("parentFolderId")
    if not isinstance(value, str) or not value:
        raise errors.invalid_field("parentFolderId", "must be a folder id")
    return value


def _already_exists(call: Call, name: str) -> ApiError:
    return errors.backend(
        call.app.config.conflict_status,
        "PDK_CW_0001",
        "ALREADY_EXISTS",
        f"An item named {name!r} already exists in the destination folder",
    )


def _invalid_destination(why: str) -> ApiError:
    return errors.backend(400, "PDK_CW_0004", "INVALID_DESTINATION", why)


def no_space_left() -> ApiError:
    return errors.nested(500, "PDK_UP_0002", "NO_SPACE_LEFT", "Not enough free space")
