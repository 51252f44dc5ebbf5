"""Human paths to items (`PathResolver`), `mkdir -p`, and paths from flat listings."""

from __future__ import annotations

import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.errors import AlreadyExists, InvalidName, NotAFile, NotAFolder, NotFound
from syncd.cloud.models import RemoteFile, RemoteFolderRef
from syncd.cloud.paths import PathResolver, flat_paths, parent_and_name, split_path
from syncd.emulator import Emulator


def test_split_and_join() -> None:
    assert split_path("/a//b/./c/") == ("a", "b", "c")
    assert split_path("/") == ()
    assert parent_and_name("/a/b.txt") == ("/a", "b.txt")
    assert parent_and_name("b.txt") == ("/", "b.txt")
    with pytest.raises(InvalidName):
        split_path("/a/../b")
    with pytest.raises(InvalidName):
        parent_and_name("/")


def test_resolve(client: CloudClient, emulator: Emulator) -> None:
    emulator.put_file("docs/sub/a.txt", b"abc")
    resolver = PathResolver(client)
    root = resolver.resolve("/")
    assert isinstance(root, RemoteFolderRef) and root.id == client.root().id
    f = resolver.resolve_file("/docs/sub/a.txt")
    assert isinstance(f, RemoteFile) and f.size == 3 and f.parent_id
    assert resolver.resolve_folder("docs/sub").id == f.parent_id
    assert resolver.lookup("/docs/nope") is None
    with pytest.raises(NotFound) as info:
        resolver.resolve("/docs/nope/deeper")
    assert info.value.rel_path == "/docs/nope/deeper"
    with pytest.raises(NotAFolder):
        resolver.resolve("/docs/sub/a.txt/x")
    with pytest.raises(NotAFile):
        resolver.resolve_file("/docs")
    with pytest.raises(NotAFolder):
        resolver.resolve_folder("/docs/sub/a.txt")
    assert [f.name for f in resolver.listing("/docs/sub").files] == ["a.txt"]


def test_ensure_folder(client: CloudClient, emulator: Emulator) -> None:
    emulator.put_file("a/file", b"")
    resolver = PathResolver(client)
    made = resolver.ensure_folder("/a/b/c")
    assert made.name == "c"
    assert resolver.ensure_folder("a/b/c").id == made.id  # idempotent
    assert {"a", "a/b", "a/b/c"} <= set(emulator.listing())
    with pytest.raises(NotAFolder):
        resolver.ensure_folder("/a/file/x")
    assert resolver.ensure_folder("/").id == client.root().id


def test_ensure_folder_survives_a_concurrent_create(
    client: CloudClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = client.create_folder

    def racing_create(name: str, parent_id: str | None = None) -> object:
        emulator.mkdir(name)  # someone else was quicker
        return real_create(name, parent_id)

    monkeypatch.setattr(client, "create_folder", racing_create)
    with pytest.raises(AlreadyExists):
        client.create_folder("x")
    assert PathResolver(client).ensure_folder("/y").name == "y"


def test_flat_paths(client: CloudClient, emulator: Emulator) -> None:
    for path in ("top.txt", "a/one.txt", "a/b/two.txt", "a/b/c/three.txt", "e/"):
        if path.endswith("/"):
            emulator.mkdir(path)
        else:
            emulator.put_file(path, path.encode())
    listing = client.list_flat()
    paths = flat_paths(listing)
    assert sorted(paths.values()) == sorted(
        ["top.txt", "a", "a/one.txt", "a/b", "a/b/two.txt", "a/b/c", "a/b/c/three.txt", "e"]
    )
    sub = client.list_flat(PathResolver(client).resolve_folder("/a/b").id)
    assert sorted(flat_paths(sub).values()) == ["c", "c/three.txt", "two.txt"]
