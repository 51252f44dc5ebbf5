"""HTTP/1.1 under the session: httpx's transport interface on the standard library's
`http.client`.

httpx's own transport (httpcore, then h11) handles each request and answer in several
layers of Python, holding the GIL, and on a first sync of small files the transfer threads
share one core. `http.client` does the same work with much less: through the client, a 4 KiB
download from the emulator took 396-408 µs of CPU on httpcore and 218-226 µs on this
transport (its URL parsed once either way). Everything above the transport stays
httpx's (requests, the auth flow, answers), and failures are raised as httpx's own
exceptions, as its transport raises them, so the session maps them the same way.

Connections: a request takes an idle keep-alive connection to its origin, or opens one (the
threads that send, the engine's, the transfer pool's and the range pool's, bound how many are
open at once); at most `max_idle` per origin wait for the next request. One that the server
closed while idle reads as ready before reuse, and is replaced. A connection is kept only
after an answer read to its end; one left mid-body is closed. A body is read up to
`read_size` bytes at a time (what has arrived: small answers are not delayed); at httpcore's
64 KiB a read, a 1 GiB download made 16,385 passes through the layers above.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import httpx

READ_SIZE = 1 << 20
Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WireTransport(httpx.BaseTransport):
    def __init__(
        self, *, verify: bool = True, max_idle: int = 8, read_size: int = READ_SIZE
    ) -> None:
        self._verify = verify
        self._max_idle = max_idle
        self._read_size = read_size
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._open: set[http.client.HTTPConnection] = set()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 80))
        conn = self._take(origin)
        try:
            if conn is None:
                conn = self._connect(origin, timeouts)
            _send(conn, request, timeouts.get("write"))
            if conn.sock is not None:
                conn.sock.settimeout(timeouts.get("read"))
            answer = _answer(conn)
        except BaseException:
            if conn is not None:
                self._discard(conn)
            raise
        return httpx.Response(
            answer.status,
            headers=answer.getheaders(),
            stream=_Body(self, conn, origin, answer),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode()},
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._open = self._open, set()
            self._idle.clear()
        for conn in connections:
            conn.close()

    # -- connections ------------------------------------------------------------------

    def _take(self, origin: Origin) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None or _still_open(conn):
                return conn
            self._discard(conn)

    def _connect(
        self, origin: Origin, timeouts: dict[str, float | None]
    ) -> http.client.HTTPConnection:
        scheme, host, port = origin
        timeout = timeouts.get("connect")
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context())
        elif scheme == "http":
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        else:
            raise httpx.UnsupportedProtocol(f"no transport for {scheme!r} URLs")
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out connecting") from exc
        except OSError as exc:  # refused, unreachable, a name that does not resolve, TLS
            conn.close()
            raise httpx.ConnectError(str(exc)) from exc
        assert conn.sock is not None
        # A request's head and a small body go out as they are, not held for an ACK.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._closed:
                conn.close()
                raise httpx.ConnectError("the transport is closed")
            self._open.add(conn)
        return conn

    def _context(self) -> ssl.SSLContext:
        # Made on first use: loading the CA bundle costs tens of ms, and plain HTTP (the
        # emulator) never needs it. httpx's own, so certificates are checked as httpx would.
        with self._lock:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context(verify=self._verify)
            return self._ssl

    def _keep(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if not self._closed and len(idle) < self._max_idle:
                idle.append(conn)
                return
        self._discard(conn)

    def _discard(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._open.discard(conn)
        conn.close()


class _Body(httpx.SyncByteStream):
    def __init__(
        self,
        transport: WireTransport,
        conn: http.client.HTTPConnection,
        origin: Origin,
        answer: http.client.HTTPResponse,
    ) -> None:
        self._transport = transport
        self._conn: http.client.HTTPConnection | None = conn
        self._origin = origin
        self._answer = answer
        self._complete = False

    def __iter__(self) -> Iterator[bytes]:
        answer = self._answer
        size = self._transport._read_size
        try:
            while chunk := answer.read1(size):
                yield chunk
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out reading") from exc
        except http.client.HTTPException as exc:  # a broken chunked encoding, say
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc
        if answer.length:  # `read1` ends quietly when the peer closes early
            raise httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body "
                f"({answer.length} bytes missing)"
            )
        self._complete = True

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        self._answer.close()
        if self._complete and not self._answer.will_close:
            self._transport._keep(self._origin, conn)
        else:
            self._transport._discard(conn)


def _still_open(conn: http.client.HTTPConnection) -> bool:
    """An idle connection's socket reads as ready only if the server closed it (or sent
    something it should not have): either way it cannot carry another request."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _send(conn: http.client.HTTPConnection, request: httpx.Request, timeout: Any) -> None:
    assert isinstance(request.stream, httpx.SyncByteStream)
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    target = request.url.raw_path.decode("ascii")
    conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in request.headers.raw:
        conn.putheader(name, value)
    with _writing():
        conn.endheaders()
    # The body is iterated here, outside the mapping: what it raises (a source that changed
    # or cannot be read, a progress callback's error) reaches the caller unchanged.
    for chunk in request.stream:
        with _writing():
            conn.send(chunk)


@contextlib.contextmanager
def _writing() -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise httpx.WriteTimeout(str(exc) or "timed out writing") from exc
    except OSError as exc:
        raise httpx.WriteError(str(exc)) from exc


def _answer(conn: http.client.HTTPConnection) -> http.client.HTTPResponse:
    try:
        return conn.getresponse()
    except TimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out reading") from exc
    except http.client.HTTPException as exc:  # no answer, or not an HTTP one
        raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from exc
    except OSError as exc:
        raise httpx.ReadError(str(exc)) from exc
