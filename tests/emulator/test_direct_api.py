"""The Python API that sync-engine tests use to shape the cloud without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from syncd.emulator import Emulator
from tests.emulator.conftest import APP, APP_ID, b64id, listing


def test_put_read_listing(emu: Emulator) -> None:
    when = datetime(2022, 3, 4, 5, 6, 7, tzinfo=UTC)
    file_id = emu.put_file("docs/a.txt", b"abc", created=when, modified=when)
    assert file_id == b64id(APP + "docs/a.txt")
    assert emu.read_file("docs/a.txt") == b"abc"
    entries = emu.listing()
    assert set(entries) == {"docs", "docs/a.txt"}
    a = entries["docs/a.txt"]
    assert (a.kind, a.id, a.size, a.created, a.modified) == ("file", file_id, 3, when, when)
    assert entries["docs"].kind == "folder" and entries["docs"].created is None


def test_put_file_replaces(emu: Emulator) -> None:
    emu.put_file("a", b"1")
    emu.put_file("a", b"22")
    assert emu.read_file("a") == b"22" and len(emu.listing()) == 1
    emu.mkdir("d")
    with pytest.raises(IsADirectoryError):
        emu.put_file("d", b"x")
    with pytest.raises(NotADirectoryError):
        emu.put_file("a/b", b"x")


def test_mkdir(emu: Emulator) -> None:
    assert emu.mkdir("x/y") == b64id(APP + "x/y/")
    assert emu.mkdir("x/y") == b64id(APP + "x/y/")  # idempotent
    with pytest.raises(FileNotFoundError):
        emu.mkdir("p/q", parents=False)
    emu.put_file("f", b"")
    with pytest.raises(FileExistsError):
        emu.mkdir("f")
    assert emu.mkdir("") == APP_ID == emu.app_root_id


def test_delete_and_move(emu: Emulator) -> None:
    emu.put_file("a/b.txt", b"b")
    assert emu.move("a/b.txt", "c/d.txt") == b64id(APP + "c/d.txt")
    assert set(emu.listing()) == {"a", "c", "c/d.txt"}
    with pytest.raises(FileExistsError):
        emu.move("a", "c")
    emu.delete("c")
    assert set(emu.listing()) == {"a"}
    with pytest.raises(FileNotFoundError):
        emu.delete("c")
    with pytest.raises(FileNotFoundError):
        emu.read_file("c/d.txt")
    with pytest.raises(PermissionError):
        emu.delete("/mes dossiers partenaires")
    with pytest.raises(ValueError):
        emu.read_file("a/../b")


def test_absolute_paths_reach_outside_the_app_folder(
    emu: Emulator, full_client: httpx.Client
) -> None:
    emu.put_file("/Music/song.mp3", b"la")
    names = [s["name"] for s in listing(full_client, emu)["subfolders"]]
    assert names == ["Music", "mes dossiers partenaires"]
    assert emu.read_file("/Music/song.mp3") == b"la"
    assert "Music" not in emu.listing()


@pytest.mark.parametrize("raw", ["..", ".", "a/b", "nul\x00byte", "back\\slash", " "])
def test_hostile_names_from_the_cloud(emu: Emulator, client: httpx.Client, raw: str) -> None:
    item_id = emu.inject_raw_name("docs", raw, b"evil")
    body = listing(client, emu, flat="true")
    names = [f["name"] for f in body["files"]]
    assert names == [raw]
    assert body["files"][0]["id"] == item_id
    r = client.get(f"{emu.api_base}/files/{item_id}")
    assert r.status_code == 200 and r.json()["name"] == raw
    assert client.get(r.json()["downloadUrl"]).content == b"evil"


def test_hostile_folder_name(emu: Emulator, client: httpx.Client) -> None:
    folder_id = emu.inject_raw_name("", "x/y", None)
    emu.mkdir("x")
    emu.put_file("x/inner", b"not in the hostile folder")
    body = listing(client, emu, folder_id)
    assert (body["name"], body["files"]) == ("x/y", [])
    with pytest.raises(FileExistsError):
        emu.inject_raw_name("", "x/y", b"")


def test_direct_api_needs_a_running_emulator(tmp_path: object) -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        emu.put_file("a", b"")
    with emu:
        emu.put_file("a", b"")
    with pytest.raises(RuntimeError):
        emu.listing()
    with pytest.raises(RuntimeError):
        emu.start()


def test_app_folder_and_its_parents_are_fixed(emu: Emulator) -> None:
    for path in ("", "/mes dossiers partenaires", "/"):
        with pytest.raises(PermissionError):
            emu.delete(path)
        with pytest.raises(PermissionError):
            emu.move(path, "/elsewhere")


def test_metadata_given_to_put_file(emu: Emulator, client: httpx.Client) -> None:
    emu.put_file("p.jpg", b"", metadata={"width": 3, "height": 2})
    assert listing(client, emu)["files"][0]["metadata"] == {"width": 3, "height": 2}
    r = client.get(f"{emu.api_base}/files/{b64id(APP + 'p.jpg')}")
    assert r.json()["metadata"] == {"width": 3, "height": 2}
