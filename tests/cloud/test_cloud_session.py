"""The HTTP session's handling of replies, against the emulator over loopback."""

from __future__ import annotations

import gc
import http.server
import io
import ipaddress
import ssl
import threading
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.errors import CloudUnavailable
from syncd.cloud.session import USER_AGENT
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenSet
from syncd.emulator import Emulator
from tests.cloud.helpers import make_settings


def test_a_reply_is_freed_as_soon_as_it_is_dropped(client: CloudClient) -> None:
    """httpx ties a response and its stream in a reference cycle (encode/httpx#3733), so
    each reply, body included, would wait for the cyclic garbage collector: a dozen 1.5 MB
    listing pages were alive at once at the peak of a sync of 100,000 files."""
    session = client._session
    url = client._api("folders")
    gc.collect()
    gc.disable()
    try:
        response = session.request("GET", url)
        assert response.json()["id"]  # the body stays readable
        alive = weakref.ref(response)
        del response
        assert alive() is None
        with session.stream("GET", url) as streamed:
            assert streamed.read()
            alive = weakref.ref(streamed)
        del streamed
        assert alive() is None
    finally:
        gc.enable()


def test_a_download_is_read_in_big_blocks(client: CloudClient, emulator: Emulator) -> None:
    """Each read goes through three HTTP layers in Python: httpcore's 64 KiB reads made
    16,385 of them per GiB. A read returns what has arrived, so over 16 MiB from a server
    that sends as fast as loopback goes, some must bring more than 64 KiB."""
    emulator.put_file("big.bin", b"x" * (16 << 20))
    file = client.get_folder(show_thumbnails=True).files[0]
    assert file.download_url
    session = client._session
    with session.stream("GET", file.download_url) as response:
        pieces = [len(piece) for piece in session.iter_body(response)]
    assert sum(pieces) == 16 << 20
    assert max(pieces) > 64 << 10, max(pieces)


def test_a_silent_server_times_out_calls_and_downloads(
    emulator: Emulator, redirect_uri: str, token_file: Path, token: TokenSet, tmp_path: Path
) -> None:
    """Requests go to the connection pool without the client, which is where httpx puts the
    timeouts: the session must carry them itself, or a silent server would hang a sync."""
    settings = make_settings(emulator, redirect_uri, token_file, read_timeout_s=0.2, max_attempts=1)
    with CloudClient.from_settings(settings) as client:
        (tmp_path / "f.bin").write_bytes(b"x" * 100)
        uploaded = client.upload(tmp_path / "f.bin")
        emulator.faults.update(latency_s=1.0)
        with pytest.raises(CloudUnavailable, match="ReadTimeout"):
            client.freespace()
        with pytest.raises(CloudUnavailable, match="ReadTimeout"):
            client.download(uploaded.file_id, io.BytesIO())


class _ForwardingProxy(http.server.ThreadingHTTPServer):
    """A plain-HTTP forward proxy that records what it forwards."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.seen: list[tuple[str, str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(http.server.BaseHTTPRequestHandler):
    server: _ForwardingProxy
    _HOP: ClassVar[set[str]] = {
        "host", "connection", "proxy-connection", "keep-alive", "content-length"
    }  # fmt: skip

    def _forward(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("User-Agent", "")))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in self._HOP}
        reply = httpx.request(
            self.command, self.path, headers=headers, content=body, trust_env=False
        )
        self.send_response(reply.status_code)
        for key, value in reply.headers.items():
            if key.lower() not in self._HOP | {"transfer-encoding", "content-encoding"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def log_message(self, *args: object) -> None:
        pass


def test_with_a_proxy_in_the_environment_every_call_goes_through_it(
    settings: CloudSettings, token: TokenSet, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only httpx's client applies proxies from the environment, so with one set the session
    sends everything through the client (and the pool it would otherwise use directly)."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with _ForwardingProxy() as proxy:
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        try:
            with CloudClient.from_settings(settings) as client:
                folder = client.create_folder("via-proxy")
                (tmp_path / "f.txt").write_bytes(b"through the proxy")
                uploaded = client.upload(tmp_path / "f.txt", folder.id)
                out = io.BytesIO()
                client.download(uploaded.file_id, out)
        finally:
            proxy.shutdown()
    assert out.getvalue() == b"through the proxy"
    targets = [(method, url.split("?")[0]) for method, url, _ in proxy.seen]
    assert ("POST", f"{settings.api_url}/folders") in targets
    assert ("POST", f"{settings.content_url}/files/content") in targets
    assert any(m == "GET" and u.startswith(settings.content_url) for m, u in targets[2:])
    assert {agent for _, _, agent in proxy.seen} == {USER_AGENT}


class _Freespace(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"freespace": 42}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_certificates_are_verified(
    emulator: Emulator, redirect_uri: str, token_file: Path, token: TokenSet, tmp_path: Path
) -> None:
    """The session builds its own connection pool: it must verify certificates as httpx's
    client would. A self-signed server is refused, unless verification is switched off."""
    cert_path, key_path = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Freespace) as server:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"https://127.0.0.1:{server.server_address[1]}/cloud/v1"
        try:
            for verify in (True, False):
                settings = make_settings(
                    emulator, redirect_uri, token_file,
                    api_url=url, content_url=url, max_attempts=1, verify_tls=verify,
                )  # fmt: skip
                with CloudClient.from_settings(settings) as client:
                    if verify:
                        with pytest.raises(CloudUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
                            client.freespace()
                    else:
                        assert client.freespace() == 42
        finally:
            server.shutdown()
