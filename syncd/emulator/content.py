"""The content host endpoints: upload (``POST /files/content``) and the generated download,
thumbnail and preview URLs. Errors here use the nested back-end shape."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, BinaryIO

from syncd.emulator import errors
from syncd.emulator.api import no_space_left
from syncd.emulator.errors import ApiError
from syncd.emulator.handler import Body, Reply
from syncd.emulator.hostile import ENDLESS_CAP, HTML_PAGE
from syncd.emulator.model import PREVIEW_TYPES, File, Folder, invalid_name_reason
from syncd.emulator.upload import Description, Receiver, bad_request, description_from

if TYPE_CHECKING:
    from syncd.emulator.app import Call

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_URL_KINDS = {"download": "content", "thumb": "thumb", "preview": "preview"}


def upload(call: Call) -> Reply | None:
    req = call.req
    body = req.body
    if call.app.faults.roll(call.app.faults.reset_rate, call.kind):
        call.app.stats.fault("reset")
        _read_part_then_reset(call, body)
        return None
    content_type = req.header("Content-Type") or ""
    receiver = Receiver(call.app.store.blobs, lambda desc: _check(call, desc))
    try:
        if content_type.lower().startswith("multipart/"):
            receiver.receive_multipart(body, content_type)
        else:
            q = req.query
            announced = q.get("size") or (None if body.length is None else str(body.length))
            desc = description_from(q.get("name"), announced, q.get("folder"))
            receiver.receive_raw(body, desc)
        call.app.stats.uploaded(receiver.received)
        receiver.finish()
        assert receiver.description is not None and receiver.blob is not None
        answer = _commit(call, receiver.description, receiver.blob, receiver.received)
        receiver.blob = None  # committed: no longer ours to discard
    finally:
        receiver.discard()
    return Reply(201, answer)


def _check(call: Call, desc: Description) -> None:
    """Refuse an upload from its description, before its bytes arrive where possible."""
    reason = invalid_name_reason(desc.name)
    if reason:
        raise bad_request(reason)
    with call.app.store.lock:
        _destination(call, desc)
        if desc.size is not None:
            _check_size(call, desc.size)


def _check_size(call: Call, size: int) -> None:
    config = call.app.config
    if config.max_file_size is not None and size > config.max_file_size:
        raise errors.nested(500, "PDK_UP_0001", "TOO_BIG_FILE", "The file is too big")
    if size > config.quota_bytes - call.app.store.used:
        raise no_space_left()


def _destination(call: Call, desc: Description) -> Folder:
    if desc.folder is None:
        folder = call.view_root()
    else:
        node = call.app.store.by_id(desc.folder)
        if not isinstance(node, Folder):
            raise errors.nested(404, "PDK_UP_0004", "FOLDER_NOT_FOUND", "No such folder")
        folder = node
    try:
        call.check_write(folder)
    except ApiError:
        raise _forbidden() from None
    return folder


def _commit(call: Call, desc: Description, blob: str, size: int) -> dict[str, str]:
    """Move the received blob into the tree under a free ``stem(n).ext`` name; the answer."""
    store = call.app.store
    with store.lock:
        folder = _destination(call, desc)  # it may have moved or gone during the upload
        _check_size(call, size)
        store.blobs.commit(blob)
        now = int(time.time())
        name = store.unique_name(folder, desc.name)
        f = store.add_file(folder, name, blob=blob, size=size, created=now, modified=now)
        return {"fileId": f.id, "fileName": f.name}


def _read_part_then_reset(call: Call, body: Body) -> None:
    """The failing server that real clients met: it reads some of the body, then resets."""
    want = min((body.length or 1 << 20) // 2, 8 << 20)
    buf = memoryview(bytearray(min(want, 1 << 20) or 1))
    while want > 0 and (n := body.readinto(buf[: min(want, len(buf))])):
        want -= n
    call.req.conn.reset()


def download(call: Call) -> None:
    url_kind = _URL_KINDS[call.kind]
    app = call.app
    store = app.store
    with store.lock:
        node = store.by_id(call.params["id"])
        if not isinstance(node, File) or not app.signer.verify(
            url_kind, node.blob, call.params["opaque"]
        ):
            raise _gone()
        try:
            call.check_read(node)
        except ApiError:
            raise _forbidden() from None
        if url_kind != "content" and node.type not in PREVIEW_TYPES:
            raise _gone()
        # Opened under the lock: the descriptor keeps the bytes even if the file is deleted now.
        f = store.blobs.path(node.blob).open("rb")
        size = node.size
    # No thumbnails are computed: thumb and preview URLs serve the original image bytes.
    content_type = "application/octet-stream" if url_kind == "content" else "image/jpeg"
    with f:
        damage = app.hostile.download
        if damage is not None and url_kind == "content":
            _send_damaged(call, f, size, damage)
        else:
            _send_range(call, f, size, content_type)


def _send_damaged(call: Call, f: BinaryIO, size: int, damage: str) -> None:
    """A download as a hostile or broken service sends it (see `hostile`); Range ignored."""
    conn = call.req.conn
    call.app.stats.fault(f"download_{damage}")
    if damage == "html":
        conn.send_bytes(200, HTML_PAGE, "text/html; charset=utf-8", {})
        return
    data = f.read(size)
    conn.close_connection = True
    if damage == "longer":
        extra = b"\0" * (1 << 20)
        conn.send_bytes(200, data + extra, "application/octet-stream", {})
    elif damage == "wrong-length":
        conn.wfile.write(conn.head_bytes(200, size * 2 + 10, "application/octet-stream"))
        conn.wfile.write(data)
    else:  # endless: no length, bytes until the client hangs up (or the cap)
        conn.wfile.write(conn.head_bytes(200, None, "application/octet-stream"))
        chunk = data + b"\0" * (1 << 16)
        sent = 0
        try:
            while sent < ENDLESS_CAP:
                conn.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the client hung up, as it should


def _send_range(call: Call, f: BinaryIO, size: int, content_type: str) -> None:
    conn = call.req.conn
    start, end = 0, size  # [start, end)
    status = 200
    headers = {"Accept-Ranges": "bytes"}
    wanted = _parse_range(call.req.header("Range"), size)
    if wanted is not None:
        start, end = wanted
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    count = end - start
    reset = call.app.faults.roll(call.app.faults.download_reset_rate, call.kind) and count > 0
    # Counted before sending: a test reading the stats right after its download must see them.
    if reset:
        call.app.stats.fault("download_reset")
        count //= 2
    call.app.stats.downloaded(count)
    conn.send_head(status, end - start, content_type, headers)
    conn.send_file(f, start, count)
    if reset:
        conn.reset()


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single ``bytes=a-b`` / ``a-`` / ``-n`` range as [start, end), or None to send the
    whole file (no header, or a form we do not support, as RFC 9110 allows); 416 when the
    range lies outside the file."""
    if not header:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None or m.groups() == ("", ""):
        return None
    first, last = m.groups()
    if first:
        start, end = int(first), size if not last else int(last) + 1
        if last and end <= start:
            return None  # "bytes=5-2" is invalid, hence ignored
    else:
        start, end = max(size - int(last), 0), size
        if int(last) == 0:
            start = size
    if start >= size:
        err = errors.nested(416, "PDK_DL_0416", "RANGE_NOT_SATISFIABLE", "Range not satisfiable")
        err.headers["Content-Range"] = f"bytes */{size}"
        raise err
    return start, min(end, size)


def _gone() -> ApiError:
    return errors.nested(404, "PDK_DL_0404", "FILE_NOT_FOUND", "No such file, or a stale URL")


def _forbidden() -> ApiError:
    return errors.nested(403, "PDK_RP_0003", "FORBIDDEN_ACCESS", "Forbidden access")
