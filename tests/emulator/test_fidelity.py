"""The emulator's answers have the shape of the real captures (keys and JSON types), and its
id encoding is the one behind every id in them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from syncd.emulator import Emulator
from syncd.emulator.ids import decode_id, encode_path, split_id
from tests.emulator.conftest import FIXTURES, bearer, fixture, listing, upload

REAL = sorted(p.name for p in FIXTURES.glob("*_REAL.json"))
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}")


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def entry_shape(entry: dict[str, Any]) -> dict[str, Any]:
    """A file entry's shape with metadata reduced to its type: its keys depend on the media
    (width/height, duration…), which the emulator does not probe."""
    return {k: ("dict" if k == "metadata" else shape(v)) for k, v in entry.items()}


def all_ids(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("id", "parentId") and isinstance(v, str):
                yield k, v
            else:
                yield from all_ids(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_ids(v)


@pytest.fixture
def full(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        headers=bearer(emulator.issue_token("openid cloudfullread")), timeout=30
    ) as c:
        yield c


def test_every_captured_id_round_trips() -> None:
    ids = {item_id for name in REAL for _, item_id in all_ids(fixture(name))}
    assert len(ids) == 559  # all distinct ids of the real captures
    for item_id in ids:
        path = decode_id(item_id)
        assert encode_path(path) == item_id
        split_id(item_id)  # decodes to a well-formed path


@pytest.mark.parametrize("name", [n for n in REAL if "files" in fixture(n)])
def test_captured_folders_and_files_follow_the_path_rules(name: str) -> None:
    data = fixture(name)
    parent_path = decode_id(data["id"])
    assert parent_path == "/" or parent_path.endswith("/")
    for sub in data["subfolders"]:
        path = decode_id(sub["id"])
        assert path.endswith("/")
        assert decode_id(sub["parentId"]) in ("/", path[: path.rstrip("/").rfind("/") + 1])
    for f in data["files"]:
        assert not decode_id(f["id"]).endswith("/")
        assert DATE.fullmatch(f["creationDate"]) and DATE.fullmatch(f["lastUpdateDate"])


def test_root_listing_has_the_captured_shape(emulator: Emulator, full: httpx.Client) -> None:
    real = fixture("mkbrv_folders_GET_root_fullread_response_REAL.json")
    emulator.put_file("/P1070166.JPG", b"jpeg")
    emulator.mkdir("/Music")
    ours = listing(full, emulator)
    assert (ours["id"], ours["parentId"], ours["name"]) == ("Lw", "Lw", "")
    assert list(ours) == list(real)
    assert shape({**ours, "files": []}) == shape({**real, "files": []})
    assert entry_shape(ours["files"][0]) == entry_shape(real["files"][0])
    assert DATE.fullmatch(ours["files"][0]["creationDate"])


def test_folder_listing_has_the_captured_shape(emulator: Emulator, full: httpx.Client) -> None:
    real = fixture("mkbrv_folders_GET_id_response_REAL.json")
    emulator.put_file("/__upload/IMG.JPG", b"jpeg")
    ours = listing(full, emulator, real["id"])
    assert ours["id"] == real["id"] == "X191cGxvYWQv"
    assert ours["parentId"] == real["parentId"]
    assert set(ours) == set(real)
    assert entry_shape(ours["files"][0]) == entry_shape(real["files"][0])


def test_flat_listing_of_the_app_folder_has_the_captured_shape(
    make_emulator: Callable[..., Emulator],
) -> None:
    real = fixture("folders_GET_flat_response_REAL.json")
    emulator = make_emulator(app_name="CloudClient")
    emulator.put_file("Test folder/Test sub-folder/upload.jpg", b"x" * 10)
    emulator.put_file("upload.jpg", b"y")
    with httpx.Client(headers=bearer(emulator.issue_token("openid cloud"))) as c:
        ours = listing(c, emulator, flat="True")
    assert (ours["id"], ours["parentId"], ours["name"]) == (real["id"], real["id"], "CloudClient")
    assert set(ours) == set(real)
    assert {s["id"]: s["parentId"] for s in ours["subfolders"]} == {
        s["id"]: s["parentId"] for s in real["subfolders"]
    }
    assert entry_shape(ours["files"][0]) == entry_shape(real["files"][0])
    assert "parentId" not in ours["files"][0]


def test_flat_filtered_listing_has_the_captured_shape(
    emulator: Emulator, full: httpx.Client
) -> None:
    real = fixture("mkbrv_folders_GET_root_flat_filter_audio_response_REAL.json")
    emulator.put_file("/Music/Kalimba.mp3", b"mp3")
    emulator.put_file("/Music/cover.jpg", b"jpg")
    ours = listing(full, emulator, flat="true", filter="audio")
    assert [f["type"] for f in ours["files"]] == ["AUDIO"]
    assert set(ours) == set(real)
    assert entry_shape(ours["files"][0]) == entry_shape(real["files"][0])
    assert shape(ours["subfolders"]) == shape(real["subfolders"])


def test_showthumbnails_listing_adds_urls_like_the_capture(
    emulator: Emulator, full: httpx.Client
) -> None:
    real = fixture("mkbrv_folders_GET_root_showthumbnails_response_REAL.json")
    emulator.put_file("/P1070166.JPG", b"jpeg")
    ours = listing(full, emulator, showthumbnails="")
    mine, theirs = entry_shape(ours["files"][0]), entry_shape(real["files"][0])
    # The 2016-03 capture predates downloadUrl in listings; the iOS SDK (2016-05) documents it.
    assert set(mine) - set(theirs) == {"downloadUrl"}
    assert {k: v for k, v in mine.items() if k != "downloadUrl"} == theirs


def test_file_object_has_the_captured_shape_and_url_layout(
    emulator: Emulator, full: httpx.Client
) -> None:
    real = fixture("mkbrv_files_GET_id_response_REAL.json")
    emulator.put_file("/P1070166.JPG", b"jpeg")
    r = full.get(f"{emulator.api_base}/files/{real['id']}")
    assert r.status_code == 200
    ours = r.json()
    assert entry_shape(ours) == entry_shape(real)
    for key in ("downloadUrl", "thumbUrl", "previewUrl"):
        real_tail = real[key].removeprefix("https://cloudapi.orange.com/cloud/v1")
        our_tail = ours[key].removeprefix(emulator.content_base)
        pattern = r"/files/(?P<id>[\w-]+)/(?P<kind>content|thumb|preview)/[\w-]+"
        m_real, m_ours = re.fullmatch(pattern, real_tail), re.fullmatch(pattern, our_tail)
        assert m_real and m_ours
        assert m_real.group("id", "kind") == m_ours.group("id", "kind")


def test_token_responses_have_the_captured_shape(emulator: Emulator) -> None:
    code_grant = fixture("mkbrv_oauth_token_authorization_code_response_REDACTED.json")
    refresh_grant = fixture("mkbrv_oauth_token_refresh_response_REDACTED.json")
    token = emulator.issue_token()
    assert shape(token) == shape(code_grant)
    token_re = re.compile(r"OFR-[0-9a-f]{100}")
    assert token_re.fullmatch(token["access_token"]) and token_re.fullmatch(token["refresh_token"])
    r = httpx.post(
        emulator.token_url,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=("syncd-emulator", "syncd-emulator-secret"),
    )
    assert r.status_code == 200
    assert shape(r.json()) == shape(refresh_grant)


def test_forbidden_write_has_the_captured_body(emulator: Emulator, full: httpx.Client) -> None:
    real = fixture("mkbrv_error_gateway_code800_forbidden_REAL.json")
    read_only = emulator.issue_token("openid cloud cloudfullread")
    r = full.post(f"{emulator.api_base}/folders", json={"name": "x"}, headers=bearer(read_only))
    assert r.status_code == 403
    assert r.json() == real


def test_upload_response_shape(emulator: Emulator, http: httpx.Client) -> None:
    r = upload(http, emulator, "a.txt", b"abc")
    assert r.status_code == 201
    assert shape(r.json()) == {"fileId": "str", "fileName": "str"}
