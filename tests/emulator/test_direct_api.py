"""The Python API that sync-engine tests use to shape the cloud without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from syncd.emulator import Emulator
from tests.emulator.conftest import APP, APP_ID, b64id, listing


def test_put_read_listing(emulator: Emulator) -> None:
    when = datetime(2022, 3, 4, 5, 6, 7, tzinfo=UTC)
    file_id = emulator.put_file("docs/a.txt", b"abc", created=when, modified=when)
    assert file_id == b64id(APP + "docs/a.txt")
    assert emulator.read_file("docs/a.txt") == b"abc"
    entries = emulator.listing()
    assert set(entries) == {"docs", "docs/a.txt"}
    a = entries["docs/a.txt"]
    assert (a.kind, a.id, a.size, a.created, a.modified) == ("file", file_id, 3, when, when)
    assert entries["docs"].kind == "folder" and entries["docs"].created is None


def test_put_file_replaces(emulator: Emulator) -> None:
    emulator.put_file("a", b"1")
    emulator.put_file("a", b"22")
    assert emulator.read_file("a") == b"22" and len(emulator.listing()) == 1
    emulator.mkdir("d")
    with pytest.raises(IsADirectoryError):
        emulator.put_file("d", b"x")
    with pytest.raises(NotADirectoryError):
        emulator.put_file("a/b", b"x")


def test_mkdir(emulator: Emulator) -> None:
    assert emulator.mkdir("x/y") == b64id(APP + "x/y/")
    assert emulator.mkdir("x/y") == b64id(APP + "x/y/")  # idempotent
    with pytest.raises(FileNotFoundError):
        emulator.mkdir("p/q", parents=False)
    emulator.put_file("f", b"")
    with pytest.raises(FileExistsError):
        emulator.mkdir("f")
    assert emulator.mkdir("") == APP_ID == emulator.app_root_id


def test_delete_and_move(emulator: Emulator) -> None:
    emulator.put_file("a/b.txt", b"b")
    assert emulator.move("a/b.txt", "c/d.txt") == b64id(APP + "c/d.txt")
    assert set(emulator.listing()) == {"a", "c", "c/d.txt"}
    with pytest.raises(FileExistsError):
        emulator.move("a", "c")
    emulator.delete("c")
    assert set(emulator.listing()) == {"a"}
    with pytest.raises(FileNotFoundError):
        emulator.delete("c")
    with pytest.raises(FileNotFoundError):
        emulator.read_file("c/d.txt")
    with pytest.raises(PermissionError):
        emulator.delete("/mes dossiers partenaires")
    with pytest.raises(ValueError):
        emulator.read_file("a/../b")


def test_absolute_paths_reach_outside_the_app_folder(
    emulator: Emulator, full_http: httpx.Client
) -> None:
    emulator.put_file("/Music/song.mp3", b"la")
    names = [s["name"] for s in listing(full_http, emulator)["subfolders"]]
    assert names == ["Music", "mes dossiers partenaires"]
    assert emulator.read_file("/Music/song.mp3") == b"la"
    assert "Music" not in emulator.listing()


@pytest.mark.parametrize("raw", ["..", ".", "a/b", "nul\x00byte", "back\\slash", " "])
def test_hostile_names_from_the_cloud(emulator: Emulator, http: httpx.Client, raw: str) -> None:
    item_id = emulator.inject_raw_name("docs", raw, b"evil")
    body = listing(http, emulator, flat="true")
    names = [f["name"] for f in body["files"]]
    assert names == [raw]
    assert body["files"][0]["id"] == item_id
    r = http.get(f"{emulator.api_base}/files/{item_id}")
    assert r.status_code == 200 and r.json()["name"] == raw
    assert http.get(r.json()["downloadUrl"]).content == b"evil"


def test_hostile_folder_name(emulator: Emulator, http: httpx.Client) -> None:
    folder_id = emulator.inject_raw_name("", "x/y", None)
    emulator.mkdir("x")
    emulator.put_file("x/inner", b"not in the hostile folder")
    body = listing(http, emulator, folder_id)
    assert (body["name"], body["files"]) == ("x/y", [])
    with pytest.raises(FileExistsError):
        emulator.inject_raw_name("", "x/y", b"")


def test_direct_api_needs_a_running_emulator(tmp_path: object) -> None:
    emulator = Emulator()
    with pytest.raises(RuntimeError):
        emulator.put_file("a", b"")
    with emulator:
        emulator.put_file("a", b"")
    with pytest.raises(RuntimeError):
        emulator.listing()
    with pytest.raises(RuntimeError):
        emulator.start()


def test_app_folder_and_its_parents_are_fixed(emulator: Emulator) -> None:
    for path in ("", "/mes dossiers partenaires", "/"):
        with pytest.raises(PermissionError):
            emulator.delete(path)
        with pytest.raises(PermissionError):
            emulator.move(path, "/elsewhere")


def test_metadata_given_to_put_file(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("p.jpg", b"", metadata={"width": 3, "height": 2})
    assert listing(http, emulator)["files"][0]["metadata"] == {"width": 3, "height": 2}
    r = http.get(f"{emulator.api_base}/files/{b64id(APP + 'p.jpg')}")
    assert r.json()["metadata"] == {"width": 3, "height": 2}
