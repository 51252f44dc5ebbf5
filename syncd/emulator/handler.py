"""HTTP/1.1 plumbing: request bodies (Content-Length or chunked), responses, TCP resets.

The routing and every API rule live in `app`; this module only speaks HTTP. Responses are
written with one ``send`` where possible and Nagle is off, because a header write followed by a
body write otherwise meets the client's delayed ACK and costs 40 ms per request.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler
from io import BufferedIOBase
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

from syncd.emulator import errors
from syncd.emulator.errors import ApiError

if TYPE_CHECKING:
    from syncd.emulator.server import EmulatorHTTPServer

log = logging.getLogger("syncd.emulator")

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_SMALL = 1 << 16  # below this, headers and body go out in one write


class ClientGone(Exception):
    """The client closed or reset the connection before the request body was complete."""


class Body:
    """The request body, read incrementally; never buffered whole unless asked."""

    def __init__(self, rfile: BufferedIOBase, length: int | None, chunked: bool) -> None:
        self._rfile = rfile
        self.length = length  # None when chunked
        self._chunked = chunked
        self._left = length or 0  # bytes left in the body, or in the current chunk
        self._chunk_started = False
        self.received = 0
        self.complete = not chunked and not length

    def readinto(self, buf: memoryview) -> int:
        """Fill `buf` with the next body bytes; 0 at the end of the body."""
        if self.complete:
            return 0
        if self._chunked and self._left == 0:
            self._next_chunk()
            if self.complete:
                return 0
        n = self._rfile.readinto(buf[: min(len(buf), self._left)])
        if not n:
            raise ClientGone
        self._account(n)
        return n

    def _account(self, n: int) -> None:
        self._left -= n
        self.received += n
        if not self._chunked and self._left == 0:
            self.complete = True

    def read_some(self, size: int) -> bytes:
        """Up to `size` next body bytes; b"" at the end of the body."""
        if self.complete:
            return b""
        if self._chunked and self._left == 0:
            self._next_chunk()
            if self.complete:
                return b""
        data = self._rfile.read(min(size, self._left))
        if not data:
            raise ClientGone
        self._account(len(data))
        return data

    def read(self, limit: int) -> bytes:
        """The whole body, refused with 413 above `limit` bytes."""
        out = bytearray()
        buf = memoryview(bytearray(1 << 16))
        while n := self.readinto(buf):
            out += buf[:n]
            if len(out) > limit:
                raise errors.gateway(413, 66, "Request entity too large", "Body is too large")
        return bytes(out)

    def drain(self) -> None:
        buf = memoryview(bytearray(1 << 20))
        while self.readinto(buf):
            pass

    def _next_chunk(self) -> None:
        if self._chunk_started:
            self._readline()  # the CRLF closing the previous chunk
        self._chunk_started = True
        line = self._readline()
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ClientGone from None  # unparseable framing: nothing more can be read
        if size == 0:
            while self._readline() not in (b"\r\n", b"\n"):
                pass  # trailers
            self.complete = True
        self._left = size

    def _readline(self) -> bytes:
        line = self._rfile.readline(65537)
        if not line:
            raise ClientGone
        return line


@dataclass
class Reply:
    """What an endpoint answers, when it does not stream the response itself."""

    status: int
    body: Any = None  # JSON-able; None = no body (unless `raw`)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # JSON already encoded


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: Body
    conn: Handler

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def json(self, limit: int = 1 << 20) -> Any:
        """The JSON body; gateway errors 21/22 when missing or malformed."""
        raw = self.body.read(limit)
        if not raw.strip():
            raise errors.missing_body()
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise errors.invalid_body("The body is not valid JSON") from None


class _Headers(HTTPMessage):
    """Request headers. The email parser behind http.server treats a multipart Content-Type
    as a body to split and compiles a regex for its boundary on every request, a cost every
    upload paid; the headers carry no body here, so it is told the type is not multipart."""

    def get_content_maintype(self) -> str:
        return "text"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    MessageClass = _Headers
    timeout = 300  # idle keep-alive connections are dropped after this
    server: EmulatorHTTPServer
    _date_cache: tuple[int, str] = (0, "")

    def do_GET(self) -> None:
        self._dispatch()

    # No do_HEAD: http.server then answers 501 without a body, which HEAD requires.
    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    # -- responses ------------------------------------------------------------------------

    def send_json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_bytes(status, _JSON(obj).encode("utf-8"), "application/json", headers)

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        head = self.head_bytes(status, len(body), content_type, headers)
        if len(body) < _SMALL:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)

    def send_empty(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        length = None if status in (204, 304) or status < 200 else 0
        self.wfile.write(self.head_bytes(status, length, None, headers))

    def send_head(
        self, status: int, length: int, content_type: str, headers: Mapping[str, str]
    ) -> None:
        """Headers only; the caller streams exactly `length` body bytes next."""
        self.wfile.write(self.head_bytes(status, length, content_type, headers))

    def head_bytes(
        self,
        status: int,
        length: int | None,
        content_type: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        self._responded = True
        if self.count_status:
            self.server.stats.status(status)
        if self.server.access_log:
            log.info('%s "%s" %d', self.client_address[0], self.requestline, status)
        lines = [f"HTTP/1.1 {status} {_reason(status)}", f"Date: {self._date()}"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send_file(self, f: BinaryIO, offset: int, count: int) -> int:
        """Zero-copy send of `count` bytes of `f` from `offset`; returns bytes sent."""
        if count <= 0:
            return 0
        sent: int = self.connection.sendfile(f, offset, count)
        return sent

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a failing server would."""
        self.close_connection = True
        self._responded = True
        sock = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The descriptor closes when rfile/wfile are closed by finish(), right after this.
        sock.close()

    # -- dispatch -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._responded = False
        self.count_status = True  # the admin API turns it off: its calls are not statistics
        url = urlsplit(self.path)
        body = self._body()
        if body is None:
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        request = Request(self.command, url.path, query, self.headers, body, self)
        try:
            self.server.app.handle(request)
        except ApiError as exc:
            self.send_json(exc.status, exc.body, exc.headers)
        except (ClientGone, ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:
            log.exception("emulator: unhandled error on %s %s", self.command, self.path)
            self.close_connection = True
            if not self._responded:
                err = errors.internal_error()
                self.send_json(err.status, err.body)
            return
        if not self.close_connection and not body.complete:
            try:
                body.drain()  # keep the connection usable after an early answer
            except ClientGone:
                self.close_connection = True

    def _body(self) -> Body | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return Body(self.rfile, None, chunked=True)
        try:
            length = int(self.headers.get("Content-Length", 0))
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            err = errors.gateway(400, 26, "Invalid header value", "Bad Content-Length")
            self.send_json(err.status, err.body)
            return None
        return Body(self.rfile, length, chunked=False)

    def _date(self) -> str:
        now = int(time.time())
        cached = Handler._date_cache
        if cached[0] != now:
            cached = Handler._date_cache = (now, self.date_time_string(now))
        return cached[1]

    def log_message(self, format: str, *args: Any) -> None:
        # Only http.server's own errors come here (malformed request lines and the like).
        log.debug("%s %s", self.address_string(), format % args)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
