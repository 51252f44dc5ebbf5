"""GET /folders with every flag, roots and scopes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from syncd.emulator import Emulator
from tests.emulator.conftest import APP_ID, b64id, bearer, listing


def at(hour: int) -> datetime:
    return datetime(2024, 5, 1, hour, 0, 0, tzinfo=UTC)


@pytest.fixture
def tree(emulator: Emulator) -> None:
    emulator.put_file("a.jpg", b"1", created=at(1))
    emulator.put_file("b.txt", b"22", created=at(3))
    emulator.put_file("docs/c.mp3", b"333", created=at(2))
    emulator.put_file("docs/sub/d.mp4", b"4444", created=at(4))
    emulator.mkdir("empty")


@pytest.mark.parametrize("path", ["/folders", "/folders/"])
def test_app_root_for_a_cloud_token(emulator: Emulator, http: httpx.Client, path: str) -> None:
    r = http.get(emulator.api_base + path)
    assert r.status_code == 200
    body = r.json()
    assert body == {"id": APP_ID, "parentId": APP_ID, "name": "syncd", "files": [],
                    "subfolders": []}  # fmt: skip


def test_direct_children_files_newest_first(
    emulator: Emulator, http: httpx.Client, tree: None
) -> None:
    body = listing(http, emulator)
    assert [f["name"] for f in body["files"]] == ["b.txt", "a.jpg"]
    assert [s["name"] for s in body["subfolders"]] == ["docs", "empty"]
    assert all(s["parentId"] == APP_ID for s in body["subfolders"])
    b = body["files"][0]
    assert b["id"] == b64id("mes dossiers partenaires/syncd/b.txt")
    assert (b["size"], b["type"], b["metadata"]) == (2, "FILE", {})
    assert b["creationDate"] == "2024-05-01T05:00:00+0200"  # Europe/Paris in May
    assert "parentId" not in b and "downloadUrl" not in b


def test_same_creation_date_is_ordered_by_path(emulator: Emulator, http: httpx.Client) -> None:
    for name in ("c", "a", "b"):
        emulator.put_file(name, b"", created=at(1))
    assert [f["name"] for f in listing(http, emulator)["files"]] == ["a", "b", "c"]


def test_subfolder_listing(emulator: Emulator, http: httpx.Client, tree: None) -> None:
    docs = b64id("mes dossiers partenaires/syncd/docs/")
    body = listing(http, emulator, docs)
    assert (body["id"], body["parentId"], body["name"]) == (docs, APP_ID, "docs")
    assert [f["name"] for f in body["files"]] == ["c.mp3"]
    assert body["subfolders"] == [
        {"id": b64id("mes dossiers partenaires/syncd/docs/sub/"), "parentId": docs, "name": "sub"}
    ]


def test_flat_returns_all_descendants(emulator: Emulator, http: httpx.Client, tree: None) -> None:
    body = listing(http, emulator, flat="true")
    assert [f["name"] for f in body["files"]] == ["d.mp4", "b.txt", "c.mp3", "a.jpg"]
    assert [(s["name"], s["parentId"]) for s in body["subfolders"]] == [
        ("docs", APP_ID),
        ("sub", b64id("mes dossiers partenaires/syncd/docs/")),
        ("empty", APP_ID),
    ]


@pytest.mark.parametrize("value", ["", "true", "True", "1", "nocall"])
def test_flag_values_that_mean_on(
    emulator: Emulator, http: httpx.Client, tree: None, value: str
) -> None:
    assert len(listing(http, emulator, flat=value)["files"]) == 4


@pytest.mark.parametrize("value", ["false", "0", "FALSE"])
def test_flag_values_that_mean_off(
    emulator: Emulator, http: httpx.Client, tree: None, value: str
) -> None:
    assert len(listing(http, emulator, flat=value)["files"]) == 2


def test_bare_flag_is_on(emulator: Emulator, http: httpx.Client, tree: None) -> None:
    r = http.get(emulator.api_base + "/folders?flat&tree")
    assert r.json()["files"] == [] and len(r.json()["subfolders"]) == 3


def test_tree_lists_folders_only(emulator: Emulator, http: httpx.Client, tree: None) -> None:
    body = listing(http, emulator, tree="true")
    assert body["files"] == [] and [s["name"] for s in body["subfolders"]] == ["docs", "empty"]


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("image", ["a.jpg"]),
        ("picture", ["a.jpg"]),
        ("video", ["d.mp4"]),
        ("AUDIO", ["c.mp3"]),
        ("other", ["b.txt"]),
        ("file", ["b.txt"]),
    ],
)
def test_filter(
    emulator: Emulator, http: httpx.Client, tree: None, value: str, names: list[str]
) -> None:
    body = listing(http, emulator, flat="true", filter=value)
    assert [f["name"] for f in body["files"]] == names
    assert len(body["subfolders"]) == 3  # folders are never filtered


def test_bad_filter_and_paging_values(emulator: Emulator, http: httpx.Client) -> None:
    for params in ({"filter": "pdf"}, {"limit": "-1"}, {"offset": "x"}):
        r = http.get(emulator.api_base + "/folders", params=params)
        assert r.status_code == 400
        assert r.json()["code"] == 28


def test_limit_and_offset_page_subfolders_then_files(
    emulator: Emulator, http: httpx.Client, tree: None
) -> None:
    full = listing(http, emulator, flat="true")
    items = full["subfolders"] + full["files"]
    assert len(items) == 7
    seen = []
    for offset in range(0, 8, 2):
        page = listing(http, emulator, flat="true", limit="2", offset=str(offset))
        seen += page["subfolders"] + page["files"]
        assert len(page["subfolders"]) + len(page["files"]) <= 2
    assert seen == items
    assert listing(http, emulator, flat="true", offset="1")["subfolders"][0] == items[1]
    assert listing(http, emulator, flat="true", limit="0") == {**full}


def test_separate_page_split_windows_each_list_on_its_own(
    make_emulator: Callable[..., Emulator],
) -> None:
    emulator = make_emulator(page_split="separate")
    for index in range(3):
        emulator.put_file(f"d{index}/f.txt", b"x", created=at(index + 1))
    emulator.put_file("top.txt", b"y", created=at(9))
    token = emulator.issue_token()
    with httpx.Client(headers=bearer(token), timeout=30) as http:
        full = listing(http, emulator, flat="true")
        first = listing(http, emulator, flat="true", limit="2", offset="0")
        second = listing(http, emulator, flat="true", limit="2", offset="2")
    assert len(full["subfolders"]) == 3 and len(full["files"]) == 4
    assert first["subfolders"] == full["subfolders"][:2]
    assert first["files"] == full["files"][:2]  # 4 items on a page of limit 2
    assert second["subfolders"] == full["subfolders"][2:]
    assert second["files"] == full["files"][2:4]


def test_showthumbnails_urls(emulator: Emulator, http: httpx.Client, tree: None) -> None:
    files = {f["name"]: f for f in listing(http, emulator, flat="", showthumbnails="")["files"]}
    assert all(
        f["downloadUrl"].startswith(emulator.content_base + "/files/") for f in files.values()
    )
    assert {n for n, f in files.items() if "thumbUrl" in f} == {"a.jpg", "d.mp4"}
    assert {n for n, f in files.items() if "previewUrl" in f} == {"a.jpg", "d.mp4"}
    for name, f in files.items():
        r = http.get(f["downloadUrl"])
        assert r.status_code == 200
        assert len(r.content) == f["size"], name


def test_unknown_or_wrong_kind_of_id(emulator: Emulator, http: httpx.Client, tree: None) -> None:
    file_id = b64id("mes dossiers partenaires/syncd/a.jpg")
    for bad in ("nope!", b64id("mes dossiers partenaires/syncd/missing/"), file_id):
        r = http.get(f"{emulator.api_base}/folders/{bad}")
        assert r.status_code == 404
        assert r.json()["code"] == 60
        assert r.json()["message"] == "Resource not found"


def test_cloud_token_cannot_read_outside_the_app_folder(
    emulator: Emulator, http: httpx.Client
) -> None:
    emulator.put_file("/Music/x.mp3", b"")
    r = http.get(f"{emulator.api_base}/folders/{b64id('Music/')}")
    assert r.status_code == 403
    assert r.json()["message"] == "PDK_CW_0003-FORBIDDEN_ACCESS"
    assert http.get(f"{emulator.api_base}/folders/Lw").status_code == 403


def test_full_read_sees_the_true_root(emulator: Emulator, full_http: httpx.Client) -> None:
    emulator.put_file("/top.txt", b"")
    body = listing(full_http, emulator)
    assert (body["id"], body["parentId"], body["name"]) == ("Lw", "Lw", "")
    assert [f["name"] for f in body["files"]] == ["top.txt"]
    assert body["subfolders"] == [
        {"id": b64id("mes dossiers partenaires/"), "parentId": "Lw",
         "name": "mes dossiers partenaires"}
    ]  # fmt: skip
    app = listing(full_http, emulator, APP_ID)
    assert app["parentId"] == b64id("mes dossiers partenaires/")


def test_restrictedmode_gives_the_app_folder_as_root(
    emulator: Emulator, full_http: httpx.Client
) -> None:
    for url in ("/folders?restrictedmode", "/folders/?restrictedmode="):
        body = full_http.get(emulator.api_base + url).json()
        assert (body["id"], body["parentId"], body["name"]) == (APP_ID, APP_ID, "syncd")


def test_app_name_is_configurable(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(app_name="Other App")
    with httpx.Client(headers=bearer(emulator.issue_token())) as c:
        body = listing(c, emulator)
    assert body["name"] == "Other App"
    assert body["id"] == b64id("mes dossiers partenaires/Other App/")


def test_fixed_utc_offset(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(timezone=timezone(timedelta(hours=-3)))
    emulator.put_file("x", b"", created=at(12))
    with httpx.Client(headers=bearer(emulator.issue_token())) as c:
        assert listing(c, emulator)["files"][0]["creationDate"] == "2024-05-01T09:00:00-0300"


def test_listing_of_many_files_is_quick(emulator: Emulator, http: httpx.Client) -> None:
    for i in range(2000):
        emulator.put_file(f"d{i % 20}/f{i}.txt", b"")
    body = listing(http, emulator, flat="true")
    assert len(body["files"]) == 2000 and len(body["subfolders"]) == 20
