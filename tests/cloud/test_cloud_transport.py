"""The session's HTTP/1.1 transport (`http.client` under httpx's interface), over real
loopback sockets: keep-alive, connections the server closed, bodies left half-read, and
failures raised as httpx's own."""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.errors import CloudUnavailable
from syncd.cloud.transport import WireTransport
from syncd.emulator import Emulator

TIMEOUTS = {"timeout": {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body: ClassVar[bytes] = b"x" * 100
    close_after: ClassVar[bool] = False  # close the connection once the answer is sent
    short_by: ClassVar[int] = 0  # announce more bytes than are sent, then hang up
    connections: ClassVar[list[int]] = []
    closed: ClassVar[threading.Semaphore] = threading.Semaphore(0)  # one release per close

    def setup(self) -> None:
        super().setup()
        self.connections.append(self.client_address[1])

    def finish(self) -> None:
        super().finish()
        self.closed.release()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body) + self.short_by))
        self.end_headers()
        self.wfile.write(self.body)
        if self.close_after or self.short_by:
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.connections = []
    _Handler.closed = threading.Semaphore(0)
    with _Server(("127.0.0.1", 0), _Handler) as srv:
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{srv.server_address[1]}/f"
        finally:
            srv.shutdown()
            _Handler.close_after = False
            _Handler.short_by = 0


def _get(transport: WireTransport, url: str) -> bytes:
    response = transport.handle_request(httpx.Request("GET", url, extensions=TIMEOUTS))
    try:
        return response.read()
    finally:
        response.close()


def test_answers_read_to_their_end_keep_their_connection(server: str) -> None:
    transport = WireTransport()
    try:
        for _ in range(20):
            assert _get(transport, server) == _Handler.body
    finally:
        transport.close()
    assert len(_Handler.connections) == 1


def test_a_connection_the_server_closed_is_replaced_before_it_is_used(server: str) -> None:
    _Handler.close_after = True  # without saying so (no `Connection: close`)
    transport = WireTransport()
    try:
        for _ in range(5):
            assert _get(transport, server) == _Handler.body
            # The server has hung up before the next request: the idle connection shows it.
            assert _Handler.closed.acquire(timeout=30)
    finally:
        transport.close()
    assert len(_Handler.connections) == 5  # one each, and not one request failed


def test_a_body_left_half_read_closes_its_connection(server: str) -> None:
    _Handler.body = b"y" * (4 << 20)
    transport = WireTransport(read_size=64 << 10)
    try:
        response = transport.handle_request(httpx.Request("GET", server, extensions=TIMEOUTS))
        first = next(response.iter_raw())
        response.close()
        assert first and len(first) < len(_Handler.body)
        assert _get(transport, server) == _Handler.body  # on a new connection
    finally:
        _Handler.body = b"x" * 100
        transport.close()
    assert len(_Handler.connections) == 2


def test_a_body_cut_short_is_an_httpx_protocol_error(server: str) -> None:
    _Handler.short_by = 10
    transport = WireTransport()
    try:
        with pytest.raises(httpx.RemoteProtocolError, match="10 bytes missing"):
            _get(transport, server)
    finally:
        transport.close()


def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        transport = WireTransport()
        with pytest.raises(httpx.ConnectError):
            _get(transport, f"http://127.0.0.1:{port}/")


def test_what_the_request_body_raises_reaches_the_caller_unchanged(server: str) -> None:
    class Unreadable(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            raise PermissionError(13, "Permission denied", "a.txt")
            yield b""  # pragma: no cover

    request = httpx.Request(
        "POST", server, stream=Unreadable(), headers={"Content-Length": "5"}, extensions=TIMEOUTS
    )
    transport = WireTransport()
    try:
        with pytest.raises(PermissionError):  # a local file's problem, not the network's
            transport.handle_request(request)
        assert _get(transport, server) == _Handler.body  # the half-sent request's connection went
    finally:
        transport.close()


def test_the_client_downloads_through_it_and_keeps_its_connections(
    client: CloudClient, emulator: Emulator
) -> None:
    for index in range(30):
        emulator.put_file(f"f{index}.txt", f"file {index}".encode())
    transport = client._session._direct
    assert isinstance(transport, WireTransport)
    for file in client.get_folder(show_thumbnails=True).files:
        out = io.BytesIO()
        client.download(file, out)
        assert out.getvalue() == f"file {file.name[1:-4]}".encode()
    assert len(transport._open) <= 2  # the API host's and the content host's, reused


def test_a_reset_mid_download_is_a_transient_failure_the_client_resumes(
    client: CloudClient, emulator: Emulator
) -> None:
    emulator.put_file("a.bin", b"z" * (8 << 20))
    emulator.faults.update(download_reset_rate=1.0)
    with pytest.raises(CloudUnavailable):  # every attempt is cut: the retries run out
        client.download(client.get_folder().files[0].id, io.BytesIO())
