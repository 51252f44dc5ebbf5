"""Download resume against servers that misbehave in ways the emulator does not."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.errors import CloudError
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import MemoryTokenStore, TokenManager, TokenSet

DATA = bytes(range(256)) * 40
API = "http://api.test/cloud/v1"
CONTENT = "http://content.test/cloud/v1"


class CutStream(httpx.SyncByteStream):
    def __init__(self, data: bytes, cut: int) -> None:
        self._data, self._cut = data, cut

    def __iter__(self) -> Iterator[bytes]:
        yield self._data[: self._cut]
        raise httpx.ReadError("connection reset")


def make_client(tmp_path: Path, handler: object) -> CloudClient:
    settings = CloudSettings(
        "cid", "secret", "http://127.0.0.1:1/cb", tmp_path / "t.json",
        api_url=API, content_url=CONTENT, max_attempts=4,
    )  # fmt: skip
    tokens = TokenManager(settings, MemoryTokenStore(TokenSet("at", "rt", None)))
    return CloudClient(settings, tokens, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def server(range_reply: str, seen: list[httpx.Request]) -> object:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.headers["Authorization"] == "Bearer at"
        if request.url.host == "api.test":
            url = f"{CONTENT}/files/F/content/opaque"
            return httpx.Response(
                200, json={"id": "F", "name": "f.bin", "size": len(DATA), "downloadUrl": url}
            )
        assert request.headers["Accept-Encoding"] == "identity"
        if "Range" not in request.headers:
            return httpx.Response(200, stream=CutStream(DATA, 1000))
        if range_reply == "ignore":
            return httpx.Response(200, content=DATA)
        if range_reply == "416":
            return httpx.Response(416, json={"error": {"code": "X", "label": "RANGE"}})
        start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
        return httpx.Response(
            206,
            content=DATA[start:],
            headers={"Content-Range": f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"},
        )

    return handle


def test_resume_with_range(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    with make_client(tmp_path, server("honour", seen)) as client:
        out = io.BytesIO()
        assert client.download("F", out) == len(DATA)
    assert out.getvalue() == DATA
    assert seen[-1].headers["Range"] == "bytes=1000-"


def test_server_ignoring_range_restarts_from_zero(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    with make_client(tmp_path, server("ignore", seen)) as client:
        out = io.BytesIO(b"keep:")
        out.seek(5)
        assert client.download("F", out) == len(DATA)
    assert out.getvalue() == b"keep:" + DATA  # rewound to where this download began


def test_unrewindable_destination_cannot_restart(tmp_path: Path) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            chunk = bytes(b)  # type: ignore[call-overload]
            self.data += chunk
            return len(chunk)

    seen: list[httpx.Request] = []
    with make_client(tmp_path, server("ignore", seen)) as client, pytest.raises(CloudError):
        client.download("F", Pipe())  # type: ignore[arg-type]


def test_refused_range_restarts(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    with make_client(tmp_path, server("416", seen)) as client:
        out = io.BytesIO()
        with pytest.raises(CloudError):
            client.download("F", out)  # every fresh start is cut, every resume refused
    assert sum(1 for r in seen if "Range" in r.headers) >= 1


def test_token_is_not_sent_to_foreign_hosts(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.test":
            return httpx.Response(
                200,
                json={"id": "F", "name": "f", "size": 3, "downloadUrl": "http://evil.test/x"},
            )
        return httpx.Response(200, content=b"abc")

    with make_client(tmp_path, handle) as client:
        client.download("F", io.BytesIO())
    assert "Authorization" not in seen[-1].headers
