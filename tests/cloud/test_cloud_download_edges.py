"""Download resume against servers that misbehave in ways the emulator does not."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.errors import CloudError, ContentMismatch, ForeignUrl
from syncd.cloud.models import RemoteFile
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import MemoryTokenStore, TokenManager, TokenSet
from syncd.errors import PathError, TransientError

DATA = bytes(range(256)) * 40
API = "http://api.test/cloud/v1"
CONTENT = "http://content.test/cloud/v1"


class CutStream(httpx.SyncByteStream):
    def __init__(self, data: bytes, cut: int) -> None:
        self._data, self._cut = data, cut

    def __iter__(self) -> Iterator[bytes]:
        yield self._data[: self._cut]
        raise httpx.ReadError("connection reset")


def file_object(name: str, size: int, url: str) -> dict[str, object]:
    """`GET /files/{id}` as the service answers it (dates included: a file object without
    them cannot be trusted)."""
    date = "2016-07-30T14:20:26+0200"
    return {
        "id": "F",
        "name": name,
        "size": size,
        "creationDate": date,
        "lastUpdateDate": date,
        "downloadUrl": url,
    }


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
            return httpx.Response(200, json=file_object("f.bin", len(DATA), url))
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


def test_a_download_url_on_a_foreign_host_is_never_fetched(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.test":
            return httpx.Response(200, json=file_object("f", 3, "http://evil.test/x"))
        return httpx.Response(200, content=b"abc")

    with make_client(tmp_path, handle) as client, pytest.raises(ForeignUrl) as caught:
        client.download("F", io.BytesIO())
    assert [r.url.host for r in seen] == ["api.test"]  # never connected to evil.test
    assert "another host (evil.test); not followed" in str(caught.value)
    assert isinstance(caught.value, PathError)  # this file fails; the login is fine


def body_server(body: bytes, headers: dict[str, str] | None = None, stream: bool = False) -> object:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.test":
            return httpx.Response(200, json=file_object("f", 8, f"{CONTENT}/files/F/content/o"))
        if stream:
            return httpx.Response(200, headers=headers, stream=Endless(body))
        return httpx.Response(200, headers=headers, content=body)

    return handle


class Endless(httpx.SyncByteStream):
    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < 64 << 20:
            self.sent += len(self.chunk)
            yield self.chunk


@pytest.mark.parametrize(
    ("body", "headers", "stream", "message"),
    [
        (b"12345678" + b"\0" * 100, None, False, "announced 108 bytes for a file it lists with 8"),
        (b"x" * 4096, None, True, "more than the 8 bytes it lists"),
        (
            b"<html><body>Please sign in</body></html>",
            {"Content-Type": "text/html"},
            False,
            "announced 40 bytes (an HTML page, not the file) for a file it lists with 8",
        ),
    ],
    ids=["longer", "endless", "html"],
)
def test_a_download_never_writes_more_than_the_listed_size(
    tmp_path: Path, body: bytes, headers: dict[str, str] | None, stream: bool, message: str
) -> None:
    out = io.BytesIO()
    client = make_client(tmp_path, body_server(body, headers, stream))
    with client, pytest.raises(ContentMismatch) as caught:
        client.download("F", out)
    assert message in str(caught.value)
    assert isinstance(caught.value, PathError) and not isinstance(caught.value, TransientError)
    assert len(out.getvalue()) <= 8


def test_a_version_that_changed_mid_download_is_fetched_from_its_start(tmp_path: Path) -> None:
    """Half of the old version arrived, then its URL expired because the file changed: the
    new version is written from byte 0, never spliced onto the old one's first half."""
    old, new = b"OLD-OLD-", b"new-version"
    versions = {"u1": old, "u2": new}
    state = {"current": "u1"}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.test":
            current = state["current"]
            info = file_object("f", len(versions[current]), f"{CONTENT}/files/F/content/{current}")
            info["lastUpdateDate"] = (
                "2016-07-30T14:20:26+0200" if current == "u1" else ("2016-08-01T09:00:00+0200")
            )
            return httpx.Response(200, json=info)
        tag = request.url.path.rsplit("/", 1)[1]
        if tag != state["current"]:
            return httpx.Response(404, json={"error": {"code": "X", "label": "FILE_NOT_FOUND"}})
        data = versions[tag]
        if tag == "u1":
            state["current"] = "u2"  # it changes while the first half is on its way
            return httpx.Response(200, stream=CutStream(data, 4))
        start = int(request.headers.get("Range", "bytes=0-").removeprefix("bytes=").rstrip("-"))
        headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"} if start else {}
        return httpx.Response(206 if start else 200, content=data[start:], headers=headers)

    out = io.BytesIO()
    with make_client(tmp_path, handle) as client:
        first = client.get_file("F")
        assert client.download(first, out) == len(new)
    assert out.getvalue() == new


# --- ranges fetched in parallel (the client switches to them from 4 KiB here) ------------

BIG = bytes(range(256)) * 64  # 16 KiB: 16 ranges of 1 KiB


def ranged_client(tmp_path: Path, handler: object) -> CloudClient:
    client = make_client(tmp_path, handler)
    client._ranged_min_size = 4096
    client._range_size = 1024
    return client


def range_server(answer: object) -> object:
    """Serves BIG; `answer(first, last)` makes the reply to a request for bytes first-last."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.test":
            return httpx.Response(200, json=file_object("f", len(BIG), f"{CONTENT}/files/F/c"))
        first, last = request.headers["Range"].removeprefix("bytes=").split("-")
        return answer(int(first), int(last))  # type: ignore[operator, no-any-return]

    return handle


def partial(first: int, last: int, body: bytes, span: str | None = None) -> httpx.Response:
    span = span or f"bytes {first}-{last}/{len(BIG)}"
    return httpx.Response(206, content=body, headers={"Content-Range": span})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("shifted", "answered 'bytes 3073-4096/16384' to a request for bytes 3072-4095"),
        ("no-total", "answered 'bytes 3072-4095/*' to a request for bytes 3072-4095"),
        ("longer", "more than bytes 3072-4095 it was asked for"),
        ("wrong-length", "announced 1023 bytes for a range of 1024"),
    ],
)
def test_a_range_answered_with_other_bytes_fails_and_writes_only_whole_ranges(
    tmp_path: Path, bad: str, message: str
) -> None:
    def answer(first: int, last: int) -> httpx.Response:
        body = BIG[first : last + 1]
        if first != 3072:
            return partial(first, last, body)
        if bad == "shifted":
            return partial(first, last, BIG[first + 1 : last + 2], "bytes 3073-4096/16384")
        if bad == "no-total":
            return partial(first, last, body, "bytes 3072-4095/*")
        if bad == "longer":  # no Content-Length: the body just goes on
            stream = Endless(BIG[first : first + 700])
            return httpx.Response(
                206, stream=stream, headers={"Content-Range": f"bytes {first}-{last}/{len(BIG)}"}
            )
        response = partial(first, last, body)
        response.headers["Content-Length"] = "1023"
        return response

    out = io.BytesIO()
    client = ranged_client(tmp_path, range_server(answer))
    with client, pytest.raises(ContentMismatch) as caught:
        client.download("F", out)
    assert message in str(caught.value)
    assert isinstance(caught.value, PathError) and not isinstance(caught.value, TransientError)
    assert out.getvalue() == BIG[:3072]  # the ranges before it, in order, and nothing else


def test_a_server_answering_a_range_with_the_whole_file_gets_one_stream(tmp_path: Path) -> None:
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.test":
            return httpx.Response(200, json=file_object("f", len(BIG), f"{CONTENT}/files/F/c"))
        asked.append(request.headers.get("Range", ""))
        return httpx.Response(200, content=BIG)  # ranges ignored, as RFC 9110 allows

    out = io.BytesIO()
    with ranged_client(tmp_path, handle) as client:
        assert client.download("F", out) == len(BIG)
    assert out.getvalue() == BIG
    assert "" in asked  # the rest came in one stream, asked for without a range


def test_a_download_url_that_is_not_a_url_is_never_fetched(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=file_object("f", 3, f"{CONTENT}/files/F/c\x00x"))

    with make_client(tmp_path, handle) as client, pytest.raises(ForeignUrl) as caught:
        client.download("F", io.BytesIO())
    assert [r.url.host for r in seen] == ["api.test"]
    assert "a download URL that cannot be read" in str(caught.value)


def test_a_download_url_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx checks a URL string character by character, in Python: each download parsed its
    URL four times, 40-60 us of the 440 us of CPU a 4 KiB download took."""
    import httpx._urls

    url = f"{CONTENT}/files/F/content/" + "t" * 200
    parsed: list[str] = []
    real = httpx._urls.urlparse

    def counting(url: str = "", **kwargs: str | None) -> object:
        parsed.append(url)
        return real(url, **kwargs)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"12345678")

    now = datetime.now(UTC)
    file = RemoteFile("F", "f", 8, "FILE", now, now, download_url=url)
    out = io.BytesIO()
    with make_client(tmp_path, handle) as client:
        monkeypatch.setattr(httpx._urls, "urlparse", counting)
        assert client.download(file, out) == 8
    assert out.getvalue() == b"12345678"
    assert parsed.count(url) == 1, parsed
