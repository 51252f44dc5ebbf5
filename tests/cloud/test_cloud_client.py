"""Every API call of `CloudClient` against the emulator over loopback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from syncd.cloud import ids
from syncd.cloud.client import CloudClient
from syncd.cloud.errors import (
    AlreadyExists,
    BadRequest,
    CloudUnavailable,
    Forbidden,
    InvalidName,
    NotFound,
    TermsNotAccepted,
)
from syncd.cloud.models import RemoteFile
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenSet
from syncd.emulator import Emulator
from syncd.errors import PathError


def test_freespace(client: CloudClient, emulator: Emulator) -> None:
    before = client.freespace()
    emulator.put_file("a.bin", b"x" * 1234)
    assert client.freespace() == before - 1234


def test_root_is_the_app_folder(client: CloudClient) -> None:
    root = client.root()
    assert root.is_visible_root and root.name == "syncd"
    assert ids.decode_id(root.id) == "mes dossiers partenaires/syncd/"


def test_get_folder_and_its_flags(client: CloudClient, emulator: Emulator) -> None:
    emulator.put_file("docs/a.txt", b"aaa")
    emulator.put_file("docs/pic.jpg", b"\xff\xd8jpeg")
    emulator.put_file("docs/sub/b.txt", b"bb")
    docs = client.root().subfolders[0]
    listing = client.get_folder(docs.id)
    assert {f.name for f in listing.files} == {"a.txt", "pic.jpg"}
    assert [d.name for d in listing.subfolders] == ["sub"]
    assert all(f.parent_id == docs.id and f.download_url is None for f in listing.files)
    thumbs = client.get_folder(docs.id, show_thumbnails=True)
    assert all(f.download_url for f in thumbs.files)
    flat = client.get_folder(docs.id, flat=True)
    assert {f.name for f in flat.files} == {"a.txt", "pic.jpg", "b.txt"}
    tree = client.get_folder(docs.id, flat=True, tree=True)
    assert tree.files == () and [d.name for d in tree.subfolders] == ["sub"]
    pictures = client.get_folder(docs.id, filter="image")
    assert [f.name for f in pictures.files] == ["pic.jpg"]
    page = client.get_folder(docs.id, limit=1, offset=1)
    assert len(page.files) + len(page.subfolders) == 1
    restricted = client.get_folder(restricted_mode=True)
    assert restricted.id == client.root().id


def test_list_flat_merges_pages(client: CloudClient, emulator: Emulator) -> None:
    for i in range(7):
        emulator.put_file(f"d{i % 3}/sub{i % 2}/f{i}.txt", b"x" * i)
    whole = client.get_folder(flat=True)
    emulator.stats.reset()
    paged = client.list_flat(page_size=4)
    assert {f.id for f in paged.files} == {f.id for f in whole.files}
    assert {d.id for d in paged.subfolders} == {d.id for d in whole.subfolders}
    total = len(whole.files) + len(whole.subfolders)
    assert emulator.stats.snapshot().calls["folder_get"] == total // 4 + 1
    folder_ids = {d.id for d in paged.subfolders}
    for f in paged.files:  # parents found through the id fallback
        assert f.parent_id in folder_ids
    tree = client.list_flat(tree=True, page_size=2)
    assert tree.files == () and len(tree.subfolders) == len(whole.subfolders)


def test_folder_create_rename_move_copy_delete(client: CloudClient, emulator: Emulator) -> None:
    root = client.root()
    a = client.create_folder("a")
    assert a.parent_id == root.id and a.name == "a"
    b = client.create_folder("b", root.id)
    child = client.create_folder("child", a.id)
    with pytest.raises(AlreadyExists):
        client.create_folder("a")
    renamed = client.rename_folder(child.id, "kid")
    assert renamed.name == "kid" and renamed.id != child.id  # ids follow paths
    moved = client.move_folder(renamed.id, b.id)
    assert moved.parent_id == b.id
    copy = client.copy_folder(moved.id, a.id)
    assert copy.parent_id == a.id and copy.name == "kid"
    assert set(emulator.listing()) == {"a", "a/kid", "b", "b/kid"}
    client.delete_folder(b.id)
    assert set(emulator.listing()) == {"a", "a/kid"}
    with pytest.raises(NotFound):
        client.delete_folder(b.id)
    with pytest.raises(BadRequest):  # copying a folder into its own parent
        client.copy_folder(a.id, root.id)


def test_file_get_rename_move_copy_delete(client: CloudClient, emulator: Emulator) -> None:
    emulator.mkdir("dest")
    file_id = emulator.put_file("a.txt", b"hello")
    info = client.get_file(file_id)
    assert (info.name, info.size, info.type) == ("a.txt", 5, "FILE")
    assert info.download_url and info.creation_date.tzinfo is not None
    renamed = client.rename_file(file_id, "b.txt")
    dest = next(d for d in client.root().subfolders if d.name == "dest")
    moved = client.move_file(renamed.id, dest.id)
    assert moved.parent_id == dest.id
    copy = client.copy_file(moved.id, dest.id)  # into its own folder: auto-renamed
    assert copy.name == "b(1).txt"
    assert set(emulator.listing()) == {"dest", "dest/b.txt", "dest/b(1).txt"}
    client.delete_file(copy.id)
    with pytest.raises(NotFound) as info_err:
        client.get_file(copy.id)
    assert isinstance(info_err.value, PathError)


def test_bad_names_are_refused_before_sending(client: CloudClient) -> None:
    for name in ("", "a/b", "..", "x\x00y"):
        with pytest.raises(InvalidName):
            client.create_folder(name)


def test_upload_and_download_small(client: CloudClient, emulator: Emulator, tmp_path: Path) -> None:
    src = tmp_path / "été.txt"
    src.write_bytes(b"content \xe2\x82\xac" * 100)
    result = client.upload(src)
    assert result.file_name == "été.txt"
    assert emulator.read_file("été.txt") == src.read_bytes()
    again = client.upload(src, client.root().id)
    assert again.file_name == "été(1).txt"  # the service never overwrites
    out = io.BytesIO()
    assert client.download(result.file_id, out) == src.stat().st_size
    assert out.getvalue() == src.read_bytes()
    listed = client.get_folder(show_thumbnails=True).files
    out2 = io.BytesIO()
    client.download(next(f for f in listed if f.id == result.file_id), out2)
    assert out2.getvalue() == src.read_bytes()


def test_download_url_from_an_old_listing_is_refetched(
    client: CloudClient, emulator: Emulator
) -> None:
    file_id = emulator.put_file("a.txt", b"one")
    stale = client.get_file(file_id)
    emulator.put_file("a.txt", b"two!")  # new content: the old URL no longer verifies
    out = io.BytesIO()
    client.download(stale, out)
    assert out.getvalue() == b"two!"


def test_terms_not_accepted(client: CloudClient, emulator: Emulator) -> None:
    emulator.faults.update(cgu_not_accepted=True)
    with pytest.raises(TermsNotAccepted) as info:
        client.freespace()
    assert info.value.exit_code == 78


def test_forbidden_outside_the_app_folder(client: CloudClient) -> None:
    with pytest.raises(Forbidden):
        client.get_folder(ids.encode_path("/"))


def test_unreachable_server(settings: CloudSettings, token: TokenSet) -> None:
    from dataclasses import replace

    from .helpers import free_port

    dead = replace(settings, api_url=f"http://127.0.0.1:{free_port()}/cloud/v1", max_attempts=2)
    with CloudClient.from_settings(dead) as client, pytest.raises(CloudUnavailable) as info:
        client.freespace()
    assert info.value.maybe_sent is False


def test_parallel_use_from_threads(client: CloudClient, emulator: Emulator, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    paths = []
    for i in range(8):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(bytes([i]) * (100_000 + i))
        paths.append(p)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client.upload, paths))
    assert sorted(r.file_name for r in results) == sorted(p.name for p in paths)

    def fetch(f: RemoteFile) -> bytes:
        out = io.BytesIO()
        client.download(f, out)
        return out.getvalue()

    listed = client.get_folder(show_thumbnails=True).files
    with ThreadPoolExecutor(8) as pool:
        contents = dict(zip([f.name for f in listed], pool.map(fetch, listed), strict=True))
    assert all(contents[p.name] == p.read_bytes() for p in paths)


def test_lost_answers_to_create_and_delete_count_as_done(
    client: CloudClient, emulator: Emulator
) -> None:
    emulator.faults.update(lost_response_rate=1.0, only=["folder_create", "folder_delete"])
    made = client.create_folder("x")  # applied, answer lost, retry says it exists: done
    assert made.name == "x" and set(emulator.listing()) == {"x"}
    client.delete_folder(made.id)  # applied, answer lost, retry says not found: done
    assert emulator.listing() == {}
    snap = emulator.stats.snapshot()
    assert snap.faults == {"lost_response": 2}
    assert snap.calls["folder_create"] == 2 and snap.calls["folder_delete"] == 2


def test_lost_answers_to_copies_leave_no_duplicate(client: CloudClient, emulator: Emulator) -> None:
    emulator.put_file("src/a.txt", b"abc")
    emulator.mkdir("dest")
    root = client.root()
    src = next(d for d in root.subfolders if d.name == "src")
    dest = next(d for d in root.subfolders if d.name == "dest")
    file_id = client.get_folder(src.id).files[0].id
    emulator.faults.update(lost_response_rate=1.0, only=["file_update", "folder_update"])
    copy = client.copy_file(file_id, dest.id)
    assert copy.name == "a.txt" and copy.parent_id == dest.id
    again = client.copy_file(file_id, dest.id)  # a second, deliberate copy is kept
    assert again.name == "a(1).txt"
    folder_copy = client.copy_folder(src.id, dest.id)
    assert folder_copy.name == "src"
    assert set(emulator.listing()) == {
        "src", "src/a.txt", "dest", "dest/a.txt", "dest/a(1).txt", "dest/src", "dest/src/a.txt"
    }  # fmt: skip
    assert emulator.stats.snapshot().faults == {"lost_response": 3}


def test_lost_answers_to_renames_and_moves_count_as_done(
    client: CloudClient, emulator: Emulator
) -> None:
    """Found by the fault campaign: ids follow paths, so once a rename or move was applied
    and its answer lost, the re-sent call could only say NotFound, and a sync recorded the
    move as failed although it had happened. The client now looks before re-sending."""
    emulator.put_file("src/a.txt", b"abc")
    emulator.mkdir("src/sub")
    emulator.mkdir("dest")
    root = client.root()
    src = next(d for d in root.subfolders if d.name == "src")
    dest = next(d for d in root.subfolders if d.name == "dest")
    listing = client.get_folder(src.id)
    file_id, sub_id = listing.files[0].id, listing.subfolders[0].id
    emulator.faults.update(lost_response_rate=1.0, only=["file_update", "folder_update"])
    renamed = client.rename_file(file_id, "b.txt")
    moved = client.move_file(renamed.id, dest.id)
    folder = client.rename_folder(sub_id, "sub2")
    folder = client.move_folder(folder.id, dest.id)
    assert (moved.name, moved.parent_id, folder.name, folder.parent_id) == (
        "b.txt", dest.id, "sub2", dest.id
    )  # fmt: skip
    assert client.get_file(moved.id).size == 3
    assert set(emulator.listing()) == {"src", "dest", "dest/b.txt", "dest/sub2"}
    snap = emulator.stats.snapshot()
    assert snap.faults == {"lost_response": 4}
    assert snap.calls["file_update"] == 2 and snap.calls["folder_update"] == 2  # no re-send
    with pytest.raises(NotFound):  # a call on an item that is really gone still says so
        client.rename_file(file_id, "c.txt")
