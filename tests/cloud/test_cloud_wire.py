"""Parsing responses into models, checked against the captured payloads where we have them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from syncd.cloud import ids
from syncd.cloud.errors import MalformedResponse
from syncd.cloud.wire import parse_date, parse_file, parse_folder, parse_item_ref, parse_upload

# shared/ sits beside the project checkout (see research/orange-cloud-api.md).
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "orange-api-fixtures"


def fixture(name: str) -> Any:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {name} not available beside the checkout")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-07-30T14:20:26+0200", datetime(2016, 7, 30, 12, 20, 26, tzinfo=UTC)),
        ("2016-07-30T14:20:26+02:00", datetime(2016, 7, 30, 12, 20, 26, tzinfo=UTC)),
        ("2016-06-09T08:15:13.810Z", datetime(2016, 6, 9, 8, 15, 13, 810000, tzinfo=UTC)),
        ("2016-06-09T08:15:13Z", datetime(2016, 6, 9, 8, 15, 13, tzinfo=UTC)),
        ("2016-06-09T08:15:13.5-0130", datetime(2016, 6, 9, 9, 45, 13, 500000, tzinfo=UTC)),
        ("2016-06-09T08:15:13", datetime(2016, 6, 9, 8, 15, 13, tzinfo=UTC)),
    ],
)
def test_dates(text: str, expected: datetime) -> None:
    parsed = parse_date(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_date_keeps_the_server_offset() -> None:
    assert parse_date("2016-07-30T14:20:26+0200").utcoffset() == timedelta(hours=2)
    assert parse_date("nonsense") == datetime(1970, 1, 1, tzinfo=timezone.utc)  # noqa: UP017


def test_real_flat_listing() -> None:
    data = fixture("folders_GET_flat_response_REAL.json")
    listing = parse_folder(data, flat=True)
    assert listing.is_visible_root
    assert {f.name for f in listing.files} >= {"upload.jpg", "upload(1).jpg"}
    assert all(f.parent_id is None for f in listing.files)  # flat: files carry no parentId
    assert all(d.parent_id for d in listing.subfolders)
    picture = next(f for f in listing.files if f.name == "upload.jpg")
    assert picture.type == "PICTURE" and picture.metadata["width"] == "300"
    assert picture.creation_date.utcoffset() == timedelta(hours=2)
    # The id fallback finds each file's folder among the listed ones.
    known = {d.id for d in listing.subfolders} | {listing.id}
    assert all(ids.parent_id_of(f.id) in known for f in listing.files)


def test_real_file_object() -> None:
    f = parse_file(fixture("mkbrv_files_GET_id_response_REAL.json"))
    assert f.id == "UDEwNzAxNjYuSlBH" and f.name == "P1070166.JPG"
    assert f.thumb_url and f.preview_url and f.parent_id is None


def test_portal_spellings_subfolders_and_metadata() -> None:
    listing = parse_folder(fixture("folders_GET_root_response_early_subFolders.json"))
    assert listing.subfolders, "subFolders must be read as subfolders"
    assert all(d.parent_id for d in listing.subfolders)
    f = parse_file(fixture("files_GET_id_response.json"))
    assert f.metadata == {} and f.download_url == "http://somewhere.org"
    assert f.creation_date == datetime(2016, 6, 9, 8, 15, 13, 810000, tzinfo=UTC)


def test_non_flat_children_get_the_folder_as_parent() -> None:
    listing = parse_folder(
        {
            "id": "F",
            "parentId": "P",
            "name": "f",
            "files": [{"id": "x", "name": "a", "size": "12", "metaData": {"k": 1}}],
            "subfolders": [{"id": "s", "name": "s"}],
        }
    )
    assert listing.files[0].parent_id == "F" and listing.files[0].size == 12
    assert listing.files[0].metadata == {"k": 1}
    assert listing.subfolders[0].parent_id == "F"


def test_small_payloads() -> None:
    assert parse_item_ref({"id": "i", "name": "n", "parentId": "p"}).parent_id == "p"
    assert parse_upload({"fileId": "i", "fileName": "a(1).txt"}).file_name == "a(1).txt"
    with pytest.raises(MalformedResponse):
        parse_upload({"fileName": "x"})
    with pytest.raises(MalformedResponse):
        parse_folder([])


def test_ids_helpers() -> None:
    assert ids.decode_id("Lw") == "/"
    assert ids.decode_id("TXVzaWMvS2FsaW1iYS5tcDM") == "Music/Kalimba.mp3"
    assert ids.encode_path("Music/") == "TXVzaWMv"
    assert ids.parent_id_of("TXVzaWMvS2FsaW1iYS5tcDM") == "TXVzaWMv"
    assert ids.parent_id_of("UDEwNzAxNjYuSlBH") == "Lw"  # a file at the true root
    assert ids.parent_id_of("TXVzaWMv") == "Lw"
    assert ids.parent_id_of("Lw") is None
    assert ids.decode_id("not base64!") is None
    assert ids.parent_id_of("file-id") is None
