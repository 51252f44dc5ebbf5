"""Streaming reception of an upload body into a temporary blob file.

Two wire formats exist (the public clients used both): multipart/form-data with a JSON
``description`` part and a ``file`` part, in either order; and the raw body with
``?name=…&folder=…``. Either way the bytes go straight from the socket to a temporary file in
1 MiB pieces, so memory stays bounded whatever the size. The caller checks the description
as soon as it is known (before the file bytes, in the usual part order) and commits or
discards the temporary blob.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from syncd.emulator import errors
from syncd.emulator.blobs import BlobStore
from syncd.emulator.errors import ApiError
from syncd.emulator.handler import Body

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

CHUNK = 1 << 20
DESCRIPTION_LIMIT = 1 << 16


@dataclass(frozen=True)
class Description:
    name: str
    size: int | None  # announced size; None when the client gave none
    folder: str | None  # folder id; None = the caller's root


def bad_request(details: str) -> ApiError:
    return errors.nested(400, "PDK_UP_0001", "INVALID_PARAMETER", details)


def parse_description(raw: bytes) -> Description:
    """The ``description`` part: ``{"name", "size" (decimal string), "folder"?}``."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("description is not valid JSON") from None
    if not isinstance(obj, dict):
        raise bad_request("description must be a JSON object")
    return description_from(obj.get("name"), obj.get("size"), obj.get("folder"))


def description_from(name: Any, size: Any, folder: Any) -> Description:
    if not isinstance(name, str) or not name:
        raise bad_request("name is required")
    announced: int | None = None
    if size is not None and size != "":
        text = str(size).strip()
        if isinstance(size, bool) or not (text.isascii() and text.isdigit()):
            raise bad_request("size must be a decimal byte count")
        announced = int(text)
    if folder is not None and not isinstance(folder, str):
        raise bad_request("folder must be a folder id")
    return Description(name, announced, folder or None)


class Receiver:
    """Receives one upload body. `check` is called with the description once it is known and
    raises to refuse the upload; the rest of the body is then read and thrown away."""

    def __init__(self, blobs: BlobStore, check: Callable[[Description], None]) -> None:
        self._blobs = blobs
        self._check = check
        self.blob: str | None = None
        self._file: BinaryIO | None = None
        self.received = 0
        self.description: Description | None = None
        self.error: ApiError | None = None

    # -- the two formats ------------------------------------------------------------------

    def receive_raw(self, body: Body, description: Description) -> None:
        self.describe(description)
        self.ensure_file()
        buf = memoryview(bytearray(CHUNK))
        while n := body.readinto(buf):
            self.feed(buf[:n])

    def receive_multipart(self, body: Body, content_type: str) -> None:
        _, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if not boundary:
            raise bad_request("multipart boundary missing")
        parts = _Parts(self)
        parser = MultipartParser(boundary, parts.callbacks())
        try:
            while data := body.read_some(CHUNK):
                if self.error is None:
                    parser.write(data)
            parser.finalize()
        except MultipartParseError:
            self.fail(bad_request("malformed multipart body"))
            body.drain()
        if self.error is None and not parts.complete:
            self.fail(bad_request("the body must hold a 'description' and a 'file' part"))

    # -- outcome --------------------------------------------------------------------------

    def finish(self) -> None:
        """Close the temporary file and raise the upload's error, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.error is not None:
            raise self.error
        desc = self.description
        assert desc is not None
        if desc.size is not None and desc.size != self.received:
            raise bad_request(f"received {self.received} bytes, description says {desc.size}")

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.blob is not None:
            self._blobs.discard_temp(self.blob)
            self.blob = None

    # -- internals ------------------------------------------------------------------------

    def describe(self, description: Description) -> None:
        self.description = description
        try:
            self._check(description)
            if description.size is not None and self.received > description.size:
                raise bad_request("more bytes than the description says")
        except ApiError as exc:
            self.fail(exc)

    def ensure_file(self) -> None:
        """Open the temporary blob (an empty file part still makes an empty file)."""
        if self._file is None and self.error is None:
            self.blob, self._file = self._blobs.new_temp()

    def feed(self, data: memoryview | bytes) -> None:
        if self.error is not None:
            return
        self.ensure_file()
        assert self._file is not None
        self._file.write(data)
        self.received += len(data)
        desc = self.description
        if desc is not None and desc.size is not None and self.received > desc.size:
            self.fail(bad_request(f"more bytes than the announced {desc.size}"))

    def fail(self, error: ApiError) -> None:
        if self.error is None:
            self.error = error
        self.discard()


class _Parts:
    """python-multipart callbacks: route each part's bytes by its form-data name."""

    def __init__(self, receiver: Receiver) -> None:
        self._r = receiver
        self._field = bytearray()
        self._value = bytearray()
        self._name: bytes | None = None
        self._description = bytearray()
        self._seen: set[bytes] = set()

    @property
    def complete(self) -> bool:
        return {b"description", b"file"} <= self._seen

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._name = None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._field).strip().lower() == b"content-disposition":
            _, params = parse_options_header(bytes(self._value))
            self._name = params.get(b"name")
        self._field.clear()
        self._value.clear()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name == b"file":
            self._r.feed(memoryview(data)[start:end])
        elif self._name == b"description":
            self._description.extend(memoryview(data)[start:end])
            if len(self._description) > DESCRIPTION_LIMIT:
                self._r.fail(bad_request("description part is too large"))

    def _part_end(self) -> None:
        if self._name is None:
            return
        self._seen.add(self._name)
        if self._name == b"description" and self._r.error is None:
            try:
                self._r.describe(parse_description(bytes(self._description)))
            except ApiError as exc:
                self._r.fail(exc)
        elif self._name == b"file":
            self._r.ensure_file()
