"""Polls that find the same listing pages again do not decode them (issue 6: idle CPU)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from syncd.cloud.client import CloudClient
from syncd.emulator import Emulator
from syncd.sync import remote as remote_module
from syncd.sync.excludes import Excludes
from syncd.sync.remote import ListingCache, RemoteScan, RemoteSide

PAGE = 4


def _tree(emulator: Emulator, files: int = 10) -> None:
    for i in range(files):
        emulator.put_file(f"tree/d{i % 3}/f{i}.txt", b"x" * i)


def _scan(side: RemoteSide, excludes: Excludes) -> RemoteScan:
    return side.scan(excludes, page_size=PAGE)


def _fresh(client: CloudClient, excludes: Excludes) -> RemoteScan:
    """What a side that remembers nothing sees."""
    side = RemoteSide(client, "/tree")
    side.resolve_root(create=False)
    return _scan(side, excludes)


@pytest.fixture
def side(client: CloudClient, emulator: Emulator) -> RemoteSide:
    _tree(emulator)
    remote = RemoteSide(client, "/tree")
    remote.resolve_root(create=False)
    remote.remember_listings = True
    return remote


def test_known_pages_are_not_decoded(client: CloudClient, emulator: Emulator) -> None:
    _tree(emulator)
    root_id = client.list_flat().subfolders[0].id
    first = list(client.iter_flat_pages(root_id, page_size=PAGE))
    assert all(page.listing is not None for page in first)
    assert [page.count for page in first] == [4, 4, 4, 1]  # 3 folders and 10 files
    known = [(page.digest, page.count) for page in first]
    again = list(client.iter_flat_pages(root_id, page_size=PAGE, known=known))
    assert [page.listing for page in again] == [None] * 4
    assert [(page.digest, page.count) for page in again] == known
    emulator.put_file("tree/d2/f8.txt", b"changed")  # same name, other content: a late page
    changed = list(client.iter_flat_pages(root_id, page_size=PAGE, known=known))
    assert [page.listing is None for page in changed] != [True] * 4


def test_an_unchanged_listing_gives_the_same_snapshot_without_decoding(
    side: RemoteSide, client: CloudClient, emulator: Emulator
) -> None:
    excludes = Excludes([])
    first = _scan(side, excludes)
    emulator.stats.reset()
    second = _scan(side, excludes)
    assert second.entries == first.entries and second.entries is not first.entries
    assert emulator.stats.snapshot().calls["folder_get"] == 4  # one pass over the pages
    second.entries.clear()  # the engine changes its copy as it works: the memo must not see it
    assert _scan(side, excludes).entries == first.entries


@pytest.mark.parametrize(
    "change",
    ["tree/d0/f0.txt", "tree/d1/f7.txt", "tree/new/late.txt"],
    ids=["early-page", "late-page", "new-folder"],
)
def test_a_change_on_any_page_is_seen(
    side: RemoteSide, client: CloudClient, emulator: Emulator, change: str
) -> None:
    excludes = Excludes([])
    _scan(side, excludes)
    emulator.put_file(change, b"new content, new size")
    after = _scan(side, excludes)
    fresh = _fresh(client, excludes)
    assert after.entries == fresh.entries
    assert after.entries[change.removeprefix("tree/")].size == len(b"new content, new size")


def test_a_deleted_file_is_seen(side: RemoteSide, client: CloudClient, emulator: Emulator) -> None:
    excludes = Excludes([])
    before = _scan(side, excludes)
    emulator.delete("tree/d1/f4.txt")
    after = _scan(side, excludes)
    assert "d1/f4.txt" in before.entries and "d1/f4.txt" not in after.entries
    assert after.entries == _fresh(client, excludes).entries


def test_other_excludes_are_not_served_from_memory(side: RemoteSide) -> None:
    everything = _scan(side, Excludes([]))
    fewer = _scan(side, Excludes(["d1/"]))
    assert "d1/f1.txt" in everything.entries and "d1/f1.txt" not in fewer.entries


def _cached_side(client: CloudClient, cache: ListingCache) -> RemoteSide:
    side = RemoteSide(client, "/tree")
    side.resolve_root(create=False)
    side.listing_cache = cache
    return side


def test_the_next_run_reads_an_unchanged_listing_from_its_cache(
    client: CloudClient, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(emulator)
    excludes = Excludes([])
    cache = ListingCache(tmp_path / "listing.cache", "1.0")
    first = _scan(_cached_side(client, cache), excludes)
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600  # file names are private
    decoded: list[object] = []
    monkeypatch.setattr(remote_module, "file_row", lambda item: decoded.append(item))
    second = _scan(_cached_side(client, cache), excludes)  # a new run: nothing in memory
    assert second.entries == first.entries and decoded == []
    monkeypatch.undo()
    emulator.put_file("tree/d1/f4.txt", b"changed in the cloud")
    third = _scan(_cached_side(client, cache), excludes)
    assert third.entries == _fresh(client, excludes).entries != first.entries


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "undecodable", "other-version"])
def test_a_damaged_or_foreign_cache_is_ignored(
    client: CloudClient, emulator: Emulator, tmp_path: Path, damage: str
) -> None:
    _tree(emulator)
    excludes = Excludes([])
    path = tmp_path / "listing.cache"
    _scan(_cached_side(client, ListingCache(path, "1.0")), excludes)
    raw = path.read_bytes()
    if damage == "corrupt":
        path.write_bytes(raw[:40] + bytes([raw[40] ^ 0xFF]) + raw[41:])
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "undecodable":  # its digest matches: only decoding finds it out
        payload = b"\xff not marshal data"
        path.write_bytes(hashlib.blake2b(payload, digest_size=32).digest() + payload)
    version = "2.0" if damage == "other-version" else "1.0"
    assert ListingCache(path, version).load() is None
    emulator.put_file("tree/d0/f0.txt", b"new")  # proves the scan is not from the cache
    scan = _scan(_cached_side(client, ListingCache(path, version)), excludes)
    assert scan.entries == _fresh(client, excludes).entries
