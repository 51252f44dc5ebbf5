"""The trash is syncd's own folder inside the root, and it is never reached through a
symlink: not by `syncd trash list|empty|restore`, not by the engine's own trash writes.

Every case puts a real symlink where syncd's folders are (`.syncd`, `.syncd/trash`, a
bucket, a folder inside a bucket, or a folder on a restore's way) pointing at an outside
folder, and checks that nothing outside is read, moved, created or deleted."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncd import controls
from syncd.cli import main
from syncd.errors import EXIT_NEEDS_USER, NeedsUserError, PathError
from syncd.sync import localfs
from tests.integration.harness import Harness, read_local_tree

LATER = datetime.now() + timedelta(minutes=5)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the root, shaped like a trash, with files someone cares about."""
    folder = tmp_path / "outside"
    for rel in ("2000-01-01T000000/old.txt", "photos/a.jpg", "trash/2000-01-01T000000/x.txt"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(rel)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    return read_local_tree(folder)[0]


def _trash(h: Harness, tmp_path: Path, *args: str) -> Result:
    config = h.write_config(tmp_path / "config.yaml")
    return CliRunner().invoke(main, ["trash", *args, "--config", str(config)])


def _link_trash(h: Harness, target: Path) -> Path:
    link = localfs.state_dir(h.root) / localfs.TRASH_DIR
    if link.is_dir():
        os.rmdir(link)
    link.symlink_to(target)
    return link


def _link_state_dir(h: Harness, target: Path) -> Path:
    link = localfs.state_dir(h.root)
    for child in link.iterdir():
        (target / child.name).write_bytes(child.read_bytes())  # the marker comes along
    link.rename(h.root.parent / "saved-state-dir")
    link.symlink_to(target)
    return link


def _synced(h: Harness) -> None:
    h.write("keep.txt", "k")
    h.converge()


@pytest.mark.parametrize("command", [["empty"], ["empty", "--older-than", "1"], ["list"]])
def test_trash_commands_refuse_a_symlinked_trash(
    h: Harness, tmp_path: Path, outside: Path, command: list[str]
) -> None:
    _synced(h)
    before = _snapshot(outside)
    link = _link_trash(h, outside)
    result = _trash(h, tmp_path, *command)
    assert result.exit_code == EXIT_NEEDS_USER, result.output
    assert f"{link} is a symbolic link" in result.output
    assert "2000-01-01" not in result.output  # nothing listed from the link's target
    assert _snapshot(outside) == before


@pytest.mark.parametrize("command", [["empty"], ["list"], ["restore", "x.txt"]])
def test_trash_commands_refuse_a_symlinked_state_folder(
    h: Harness, tmp_path: Path, outside: Path, command: list[str]
) -> None:
    _synced(h)
    link = _link_state_dir(h, outside)
    before = _snapshot(outside)
    result = _trash(h, tmp_path, *command)
    assert result.exit_code == EXIT_NEEDS_USER, result.output
    assert f"{link} is a symbolic link" in result.output
    assert _snapshot(outside) == before
    assert not (h.root / "x.txt").exists()


def test_a_symlinked_bucket_is_refused_and_not_emptied(
    h: Harness, tmp_path: Path, outside: Path
) -> None:
    _synced(h)
    trash = localfs.state_dir(h.root) / localfs.TRASH_DIR
    trash.mkdir(exist_ok=True)
    bucket = trash / "2000-01-01T000000"
    bucket.symlink_to(outside / "photos")
    before = _snapshot(outside)
    for command in (["empty"], ["empty", "--older-than", "1"], ["list"]):
        result = _trash(h, tmp_path, *command)
        assert result.exit_code == EXIT_NEEDS_USER, result.output
        assert f"{bucket} is a symbolic link" in result.output
    assert _snapshot(outside) == before


def test_restore_never_takes_a_file_through_a_link_inside_a_bucket(
    h: Harness, outside: Path
) -> None:
    _synced(h)
    bucket = localfs.state_dir(h.root) / localfs.TRASH_DIR / "2000-01-01T000000"
    bucket.mkdir(parents=True)
    (bucket / "photos").symlink_to(outside / "photos")
    before = _snapshot(outside)
    with pytest.raises(PathError, match="photos is not a folder"):
        controls.restore(h.root, "photos/a.jpg")
    assert _snapshot(outside) == before
    assert not (h.root / "photos").exists()
    assert "photos/a.jpg" not in [item.rel_path for item in controls.trashed_items(h.root)]


def test_restore_creates_its_folders_one_level_at_a_time_never_through_a_link(
    h: Harness, outside: Path
) -> None:
    for name in ("keep-1.txt", "keep-2.txt", "docs/deep/f.txt"):
        h.write(name, name[-5])
    h.converge()
    h.emulator.delete("sync/docs")
    h.converge()  # docs/ and what it held are in the trash now
    assert not (h.root / "docs").exists()
    (h.root / "docs").symlink_to(outside)
    before = _snapshot(outside)
    with pytest.raises(PathError, match="docs is not a folder"):
        controls.restore(h.root, "docs/deep/f.txt")
    assert _snapshot(outside) == before  # no outside/deep made, nothing moved there
    os.unlink(h.root / "docs")
    assert controls.restore(h.root, "docs/deep/f.txt") == h.root / "docs/deep/f.txt"
    assert h.read("docs/deep/f.txt") == b"f"


def test_a_sync_that_would_trash_through_a_symlinked_trash_stops_and_keeps_the_file(
    h: Harness, outside: Path
) -> None:
    _synced(h)
    h.write("doomed.txt", "d")
    h.converge()
    h.emulator.delete("sync/doomed.txt")
    before = _snapshot(outside)
    link = _link_trash(h, outside)
    with pytest.raises(NeedsUserError, match=f"{link} is a symbolic link"):
        h.sync()
    assert h.read("doomed.txt") == b"d"
    assert _snapshot(outside) == before


def test_an_overwrite_never_keeps_its_old_version_through_a_symlinked_trash(
    h: Harness, outside: Path
) -> None:
    h.write("notes.txt", "v1")
    h.converge()
    h.remote_write("notes.txt", "v2 from the cloud", when=LATER)
    before = _snapshot(outside)
    link = _link_trash(h, outside)
    report = None
    with pytest.raises(NeedsUserError, match=f"{link} is a symbolic link"):
        report = h.sync()
    assert report is None
    assert h.read("notes.txt") == b"v1"
    assert _snapshot(outside) == before


def test_the_engine_never_purges_old_buckets_through_a_symlinked_trash(
    h: Harness, outside: Path
) -> None:
    _synced(h)
    before = _snapshot(outside)
    _link_trash(h, outside)  # outside holds a "2000-01-01T000000" bucket, long expired
    with pytest.raises(NeedsUserError, match="is a symbolic link"):
        h.sync()
    assert _snapshot(outside) == before


def test_the_root_marker_is_never_read_or_written_through_a_symlinked_state_folder(
    h: Harness, outside: Path
) -> None:
    _synced(h)
    link = _link_state_dir(h, outside)  # with the very marker the guard expects
    before = _snapshot(outside)
    with pytest.raises(NeedsUserError, match=f"{link} is a symbolic link"):
        h.sync()
    assert _snapshot(outside) == before
    os.unlink(link)
    with pytest.raises(NeedsUserError, match="marker"):  # the guard: no marker at all now
        h.sync()
    assert _snapshot(outside) == before


# --- the engine's trash writes, one by one ----------------------------------------------------

WHEN = datetime(2026, 11, 26, 17, 55, 2)


def _root_with_file(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f.txt").write_text("f")
    return root


@pytest.mark.parametrize("where", [".syncd", ".syncd/trash", ".syncd/trash/2026-11-26T175502"])
def test_trash_and_its_slots_are_never_made_through_a_link(
    tmp_path: Path, outside: Path, where: str
) -> None:
    root = _root_with_file(tmp_path)
    link = root / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    before = _snapshot(outside)
    for write in (localfs.trash, localfs.trash_slot):
        with pytest.raises(NeedsUserError, match=f"{link} is a symbolic link"):
            write(root, "d/f.txt", WHEN)
    assert (root / "d" / "f.txt").read_text() == "f"
    assert _snapshot(outside) == before
    with pytest.raises(NeedsUserError, match=f"{link} is a symbolic link"):
        localfs.purge_trash(root, WHEN, retention_days=0)
    assert _snapshot(outside) == before


def test_a_link_inside_a_bucket_sends_the_item_to_the_next_bucket(
    tmp_path: Path, outside: Path
) -> None:
    root = _root_with_file(tmp_path)
    bucket = root / ".syncd" / "trash" / "2026-11-26T175502"
    bucket.mkdir(parents=True)
    (bucket / "d").symlink_to(outside)
    before = _snapshot(outside)
    target = localfs.trash(root, "d/f.txt", WHEN)
    assert target == bucket.with_name("2026-11-26T175502-2") / "d" / "f.txt"
    assert target.read_text() == "f" and not (root / "d" / "f.txt").exists()
    assert _snapshot(outside) == before
