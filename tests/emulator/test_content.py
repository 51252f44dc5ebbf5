"""The content host: multipart and raw uploads, downloads with Range, URL validity."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from syncd.emulator import Emulator
from tests.emulator.conftest import APP, APP_ID, b64id, bearer, listing, upload

BOUNDARY = "XyZ-boundary-123"


def raw_multipart(parts: list[tuple[str, bytes]], *, leading_crlf: bool = False) -> bytes:
    """A multipart body built by hand, to control part order and framing exactly."""
    out = b"\r\n" if leading_crlf else b""
    for name, data in parts:
        filename = f'; filename="{name}"' if name == "file" else ""
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n'
        out += head.encode() + b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def temporaries(emulator: Emulator) -> list[str]:
    return os.listdir(emulator.state_dir / "tmp")


def post_multipart(http: httpx.Client, emulator: Emulator, body: bytes) -> httpx.Response:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return http.post(emulator.content_base + "/files/content", content=body, headers=headers)


# -- upload ------------------------------------------------------------------------------------


def test_upload_into_the_app_root(emulator: Emulator, http: httpx.Client) -> None:
    r = upload(http, emulator, "hello.txt", b"hello")
    assert r.status_code == 201
    assert r.json() == {"fileId": b64id(APP + "hello.txt"), "fileName": "hello.txt"}
    assert emulator.read_file("hello.txt") == b"hello"
    assert emulator.stats.snapshot().bytes_uploaded == 5


def test_upload_conflicts_are_numbered(emulator: Emulator, http: httpx.Client) -> None:
    names = [upload(http, emulator, "upload.jpg", b"x").json()["fileName"] for _ in range(3)]
    assert names == ["upload.jpg", "upload(1).jpg", "upload(2).jpg"]
    names = [upload(http, emulator, "README", b"x").json()["fileName"] for _ in range(2)]
    assert names == ["README", "README(1)"]
    names = [upload(http, emulator, "a.tar.gz", b"x").json()["fileName"] for _ in range(2)]
    assert names == ["a.tar.gz", "a.tar(1).gz"]


def test_upload_into_a_folder(emulator: Emulator, http: httpx.Client) -> None:
    folder = emulator.mkdir("docs")
    r = upload(http, emulator, "a.txt", b"a", folder)
    assert r.json()["fileId"] == b64id(APP + "docs/a.txt")


def test_file_part_first_pretty_json_and_leading_crlf(
    emulator: Emulator, http: httpx.Client
) -> None:
    desc = json.dumps({"name": "x.bin", "size": "3", "folder": APP_ID}, indent=4).encode()
    body = raw_multipart([("file", b"abc"), ("description", desc)], leading_crlf=True)
    r = post_multipart(http, emulator, body)
    assert r.status_code == 201, r.text
    assert emulator.read_file("x.bin") == b"abc"


def test_size_as_a_number_is_accepted_too(emulator: Emulator, http: httpx.Client) -> None:
    body = raw_multipart([("description", b'{"name": "n", "size": 2}'), ("file", b"ab")])
    assert post_multipart(http, emulator, body).status_code == 201


def test_empty_file(emulator: Emulator, http: httpx.Client) -> None:
    assert upload(http, emulator, "empty", b"").status_code == 201
    assert emulator.read_file("empty") == b""


@pytest.mark.parametrize(
    "parts",
    [
        [("description", b'{"name":"a","size":"1"}')],
        [("file", b"a")],
        [("description", b"{not json"), ("file", b"a")],
        [("description", b'{"size":"1"}'), ("file", b"a")],
        [("description", b'{"name":"a/b","size":"1"}'), ("file", b"a")],
        [("description", b'{"name":"..","size":"1"}'), ("file", b"a")],
        [("description", b'{"name":"a","size":"-1"}'), ("file", b"a")],
        [("description", b'{"name":"a","size":"2"}'), ("file", b"a")],
        [("description", b'{"name":"a","size":"1"}'), ("file", b"ab")],
    ],
)
def test_bad_uploads_store_nothing(
    emulator: Emulator, http: httpx.Client, parts: list[tuple[str, bytes]]
) -> None:
    r = post_multipart(http, emulator, raw_multipart(parts))
    assert r.status_code == 400
    assert set(r.json()["error"]) == {"code", "label", "details"}
    assert emulator.listing() == {}
    assert temporaries(emulator) == []
    # The connection stays usable after a refused upload.
    assert upload(http, emulator, "ok", b"1").status_code == 201


def test_upload_into_unknown_folder(emulator: Emulator, http: httpx.Client) -> None:
    r = upload(http, emulator, "a", b"a", b64id(APP + "nope/"))
    assert r.status_code == 404
    assert r.json()["error"]["label"] == "FOLDER_NOT_FOUND"


def test_upload_outside_the_app_folder_is_forbidden(emulator: Emulator, http: httpx.Client) -> None:
    r = upload(http, emulator, "a", b"a", "Lw")
    assert r.status_code == 403
    assert r.json()["error"]["label"] == "FORBIDDEN_ACCESS"


def test_quota_and_max_file_size(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(quota_bytes=100, max_file_size=60)
    with httpx.Client(headers=bearer(emulator.issue_token())) as c:
        assert upload(c, emulator, "a", b"x" * 50).status_code == 201
        assert c.get(emulator.api_base + "/freespace").json() == {"freespace": 50}
        r = upload(c, emulator, "b", b"x" * 61)
        assert r.status_code == 500
        assert r.json()["error"]["label"] == "TOO_BIG_FILE"
        assert r.json()["error"]["code"].startswith("PDK_")
        r = upload(c, emulator, "c", b"x" * 51)
        assert r.status_code == 500
        assert r.json()["error"]["label"] == "NO_SPACE_LEFT"
        assert set(emulator.listing()) == {"a"}


def test_raw_body_upload(emulator: Emulator, http: httpx.Client) -> None:
    folder = emulator.mkdir("raw")
    r = http.post(
        emulator.content_base + "/files/content",
        params={"name": "r.bin", "folder": folder},
        content=b"rawbytes",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 201
    assert emulator.read_file("raw/r.bin") == b"rawbytes"
    r = http.post(emulator.content_base + "/files/content", content=b"x")
    assert r.status_code == 400  # no name


def test_chunked_upload(emulator: Emulator, http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"one-"
        yield b"two"

    r = http.post(
        emulator.content_base + "/files/content", params={"name": "c.txt"}, content=chunks()
    )
    assert r.status_code == 201
    assert emulator.read_file("c.txt") == b"one-two"


def test_client_disconnect_mid_upload_stores_nothing(emulator: Emulator) -> None:
    token = emulator.issue_token()["access_token"]
    host, port = emulator.origin.removeprefix("http://").split(":")
    head = (
        f"POST /content/cloud/v1/files/content?name=cut.bin HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as s:
        s.sendall(head + b"x" * 5000)
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as c:
        assert upload(c, emulator, "after", b"1").status_code == 201  # the server is fine
    assert set(emulator.listing()) == {"after"}
    assert temporaries(emulator) == []


def test_concurrent_uploads_of_one_name(emulator: Emulator, emulator_token: dict[str, str]) -> None:
    names: list[str] = []

    def worker() -> None:
        with httpx.Client(headers=bearer(emulator_token)) as c:
            for _ in range(10):
                names.append(upload(c, emulator, "same.txt", b"s").json()["fileName"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 40
    assert len(emulator.listing()) == 40


# -- download ----------------------------------------------------------------------------------


@pytest.fixture
def stored(emulator: Emulator, http: httpx.Client) -> str:
    """The downloadUrl of a 1000-byte file."""
    emulator.put_file("data.bin", bytes(range(250)) * 4)
    r = http.get(f"{emulator.api_base}/files/{b64id(APP + 'data.bin')}")
    return str(r.json()["downloadUrl"])


def test_download(emulator: Emulator, http: httpx.Client, stored: str) -> None:
    r = http.get(stored)
    assert r.status_code == 200
    assert r.content == bytes(range(250)) * 4
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-length"] == "1000"
    assert emulator.stats.snapshot().bytes_downloaded == 1000


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=10-19", 10, 20), ("bytes=990-", 990, 1000), ("bytes=-5", 995, 1000),
     ("bytes=995-5000", 995, 1000)],
)  # fmt: skip
def test_range(http: httpx.Client, stored: str, header: str, start: int, end: int) -> None:
    r = http.get(stored, headers={"Range": header})
    assert r.status_code == 206
    assert r.content == (bytes(range(250)) * 4)[start:end]
    assert r.headers["content-range"] == f"bytes {start}-{end - 1}/1000"


def test_unsatisfiable_and_ignored_ranges(http: httpx.Client, stored: str) -> None:
    r = http.get(stored, headers={"Range": "bytes=1000-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == "bytes */1000"
    for ignored in ("bytes=5-2", "items=1-2", "bytes=1-2,4-5"):
        assert http.get(stored, headers={"Range": ignored}).status_code == 200


def test_download_urls_differ_but_all_stay_valid(
    emulator: Emulator, http: httpx.Client, stored: str
) -> None:
    file_url = f"{emulator.api_base}/files/{b64id(APP + 'data.bin')}"
    other = http.get(file_url).json()["downloadUrl"]
    assert other != stored
    assert http.get(stored).status_code == http.get(other).status_code == 200
    forged = stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB")
    assert http.get(forged).status_code == 404


def test_download_url_dies_when_the_file_changes(
    emulator: Emulator, http: httpx.Client, stored: str
) -> None:
    emulator.put_file("data.bin", b"new content")  # same path, new bytes
    r = http.get(stored)
    assert r.status_code == 404
    assert r.json()["error"]["label"] == "FILE_NOT_FOUND"
    emulator.move("data.bin", "moved.bin")
    assert http.get(stored).status_code == 404


def test_token_in_query_on_the_content_host(
    emulator: Emulator, emulator_token: dict[str, str], stored: str
) -> None:
    r = httpx.get(stored, params={"token": emulator_token["access_token"]})
    assert r.status_code == 200
    url = f"{emulator.api_base}/folders"
    assert httpx.get(url, params={"token": emulator_token["access_token"]}).status_code == 401


def test_thumb_and_preview(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("p.jpg", b"\xff\xd8jpeg")
    emulator.put_file("t.txt", b"text")
    files = {f["name"]: f for f in listing(http, emulator, showthumbnails="1")["files"]}
    r = http.get(files["p.jpg"]["thumbUrl"])
    assert (r.status_code, r.headers["content-type"]) == (200, "image/jpeg")
    assert http.get(files["p.jpg"]["previewUrl"]).status_code == 200
    head, _, opaque = files["t.txt"]["downloadUrl"].rpartition("/content/")
    assert http.get(f"{head}/thumb/{opaque}").status_code == 404
    stats = emulator.stats.snapshot().calls
    assert (stats["thumb"], stats["preview"]) == (2, 1)


def test_big_ish_upload_round_trip(emulator: Emulator, http: httpx.Client) -> None:
    data = os.urandom(3 << 20)
    r = upload(http, emulator, "big.bin", data)
    assert r.status_code == 201
    url = http.get(f"{emulator.api_base}/files/{r.json()['fileId']}").json()["downloadUrl"]
    assert http.get(url).content == data
