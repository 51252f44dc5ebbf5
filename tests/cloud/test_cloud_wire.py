"""Parsing responses into models, checked against the captured payloads where we have them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from syncd.cloud import ids
from syncd.cloud.errors import IncompleteListing, MalformedResponse
from syncd.cloud.wire import (
    parse_date,
    parse_file,
    parse_folder,
    parse_item_ref,
    parse_listing,
    parse_upload,
)

# Captured and documented payloads of the API (see the README beside them).
FIXTURES = Path(__file__).resolve().parents[1] / "emulator" / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


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


LISTING_FIXTURES = [
    "folders_GET_flat_response_REAL.json",
    "mkbrv_folders_GET_id_response_REAL.json",
    "mkbrv_folders_GET_root_flat_filter_audio_response_REAL.json",
    "mkbrv_folders_GET_root_flat_filter_video_response_REAL.json",
    "mkbrv_folders_GET_root_fullread_response_REAL.json",
    "mkbrv_folders_GET_root_showthumbnails_response_REAL.json",
]


@pytest.mark.parametrize("name", LISTING_FIXTURES)
def test_real_listings_read_whole_and_strict(name: str) -> None:
    data = fixture(name)
    flat = "flat" in name
    strict = parse_listing(data, flat=flat)
    assert strict.damaged == ()
    assert strict == parse_folder(data, flat=flat)
    assert strict.files or strict.subfolders


def folder_object(**overrides: Any) -> dict[str, Any]:
    listing: dict[str, Any] = {
        "id": "Rg",
        "parentId": "Rg",
        "name": "",
        "files": [
            {
                "id": "Zg",
                "name": "f.txt",
                "size": 3,
                "creationDate": "2016-07-30T14:20:26+0200",
                "lastUpdateDate": "2016-07-30T14:20:26+0200",
            }
        ],
        "subfolders": [{"id": "ZC8", "name": "d", "parentId": "Rg"}],
    }
    listing.update(overrides)
    return {key: value for key, value in listing.items() if value is not MISSING}


MISSING = object()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"files": MISSING}, "'files' is missing"),
        ({"subfolders": MISSING}, "'subfolders' is missing"),
        ({"files": None}, "'files' is missing"),
        ({"subfolders": None}, "'subfolders' is missing"),
        ({"files": {"a": 1}}, "'files' is a dict"),
        ({"subfolders": "d"}, "'subfolders' is a str"),
        ({"files": ["f.txt"]}, "a file of the folder listing is not a JSON object"),
        ({"subfolders": [7]}, "a subfolder of the folder listing is not a JSON object"),
        ({"files": [{"name": "f.txt", "size": 1}]}, "a file of the folder listing has no id"),
        ({"subfolders": [{"id": 5, "name": "d"}]}, "a subfolder of the folder listing has no id"),
        ({"id": MISSING}, "the folder listing has no id"),
    ],
)
def test_a_listing_that_cannot_be_read_whole_is_refused(
    overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(IncompleteListing) as caught:
        parse_listing(folder_object(**overrides), flat=True)
    assert expected in str(caught.value)
    assert str(caught.value).startswith("the cloud listing was incomplete: ")
    with pytest.raises(IncompleteListing):
        parse_listing([], flat=True)


def test_the_portal_spelling_of_subfolders_is_still_a_list() -> None:
    data = folder_object(subfolders=MISSING)
    data["subFolders"] = [{"id": "ZC8", "name": "d", "parentId": "Rg"}]
    assert [d.name for d in parse_listing(data, flat=True).subfolders] == ["d"]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("size", "abc", "has a size that is not a byte count ('abc')"),
        ("size", None, "has a size that is not a byte count (None)"),
        ("size", 1.5, "has a size that is not a byte count (1.5)"),
        ("size", True, "has a size that is not a byte count (True)"),
        ("size", -1, "has a negative size (-1)"),
        ("name", MISSING, "has no name"),
        ("name", 5, "has no name"),
        ("name", "", "has no name"),
        ("creationDate", "yesterday", "has a date that cannot be read"),
        ("creationDate", MISSING, "has a date that cannot be read"),
        ("lastUpdateDate", 20160730, "has a date that cannot be read"),
        ("parentId", 3, "has a parent id that is not a string"),
    ],
)
def test_a_file_that_cannot_be_read_whole_is_kept_apart(
    field: str, value: Any, problem: str
) -> None:
    data = folder_object()
    entry = data["files"][0]
    if value is MISSING:
        del entry[field]
    else:
        entry[field] = value
    listing = parse_listing(data, flat=True)
    assert listing.files == ()
    (damaged,) = listing.damaged
    assert (damaged.kind, damaged.id, damaged.problem) == ("file", "Zg", problem)
    assert damaged.name == (entry["name"] if field != "name" else None)
    assert [d.name for d in listing.subfolders] == ["d"]  # the rest is read as usual
    with pytest.raises(MalformedResponse, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_file(entry)


def test_a_size_sent_as_a_decimal_string_is_read() -> None:
    data = folder_object()
    data["files"][0]["size"] = "12"
    assert parse_listing(data, flat=True).files[0].size == 12


@pytest.mark.parametrize(
    ("entry", "problem", "name", "parent"),
    [
        ({"id": "ZC8", "parentId": "Rg"}, "has no name", None, "Rg"),
        ({"id": "ZC8", "name": "d"}, "has no parent id", "d", None),
        ({"id": "ZC8", "name": "d", "parentId": 9}, "has no parent id", "d", None),
    ],
)
def test_a_flat_subfolder_that_cannot_be_placed_is_kept_apart(
    entry: dict[str, Any], problem: str, name: str | None, parent: str | None
) -> None:
    listing = parse_listing(folder_object(subfolders=[entry]), flat=True)
    assert listing.subfolders == ()
    (damaged,) = listing.damaged
    assert (damaged.kind, damaged.problem, damaged.name, damaged.parent_id) == (
        "folder",
        problem,
        name,
        parent,
    )


def test_outside_flat_mode_children_without_parent_belong_to_the_folder() -> None:
    data = folder_object(subfolders=[{"id": "ZC8", "name": "d"}])
    listing = parse_listing(data)
    assert listing.subfolders[0].parent_id == "Rg"
    assert listing.files[0].parent_id == "Rg"
