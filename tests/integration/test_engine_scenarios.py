"""Each row of the decision table as a real sync: a temporary folder, the emulator, the store.

Remote edits that keep a file's size are given explicit, later timestamps: the API has only
1-second dates and no checksum, so two same-size versions written within one second are
indistinguishable to any client (see the README's limitations).
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta

import pytest

from syncd.errors import RootGuardError
from syncd.store import Store
from syncd.sync.safety import MassDeleteError
from tests.integration.harness import DIR, Harness

LATER = datetime.now() + timedelta(minutes=5)
COPY = " (conflicted copy 2026-11-26 175502 box)"


def calls(h: Harness) -> dict[str, int]:
    return {k: v for k, v in h.emulator.stats.snapshot().calls.items() if v}


def test_first_sync_brings_both_sides_together(h: Harness) -> None:
    h.write("docs/local.txt", "from disk")
    h.write("empty-local/.keep", "")
    h.remote_write("photos/remote.jpg", b"\xff\xd8 jpeg")
    h.emulator.mkdir("sync/empty-remote")
    report = h.converge()
    assert h.read("photos/remote.jpg") == b"\xff\xd8 jpeg"
    assert h.remote_read("docs/local.txt") == b"from disk"
    assert h.local_tree()["empty-remote"] == DIR
    assert report.counts["upload"] == 2 and report.counts["download"] == 1


def test_row2_local_edit_replaces_the_cloud_version_without_duplicates(h: Harness) -> None:
    h.write("a.txt", "v1")
    h.converge()
    h.write("a.txt", "version two")
    report = h.converge()
    assert report.counts["upload"] == 1
    assert h.remote_tree() == {"a.txt": b"version two"}  # no a(1).txt, no temporary left


def test_row3_cloud_edit_downloads_and_keeps_the_old_version_in_the_trash(h: Harness) -> None:
    h.write("a.txt", "v1")
    h.converge()
    h.remote_write("a.txt", "v2 from the cloud", when=LATER)
    h.converge()
    assert h.read("a.txt") == b"v2 from the cloud"
    trashed = [p.read_bytes() for p in (h.root / ".syncd" / "trash").rglob("a.txt")]
    assert trashed == [b"v1"]


def test_row5_different_edits_keep_both_versions(h: Harness) -> None:
    h.write("a.txt", "v1")
    h.converge()
    h.write("a.txt", "local edit")
    h.remote_write("a.txt", "remote edit!", when=LATER)
    report = h.converge()
    assert h.read("a.txt") == b"remote edit!"
    assert h.read(f"a{COPY}.txt") == b"local edit"
    assert h.remote_read(f"a{COPY}.txt") == b"local edit"
    assert report.conflicts == [f"a{COPY}.txt"]
    with Store.open(h.db_path) as store:
        assert [c.rel_path for c in store.conflicts()] == [f"a{COPY}.txt"]


def test_row4_and_13_equal_content_on_both_sides_is_recorded_not_duplicated(h: Harness) -> None:
    h.write("same.txt", "identical")
    h.remote_write("same.txt", "identical")
    report = h.converge()
    assert h.local_tree() == {"same.txt": b"identical"}
    assert report.counts["upload"] == 0 and not report.conflicts


def test_row13_first_sync_different_content_becomes_a_conflict(h: Harness) -> None:
    h.write("n.txt", "local")
    h.remote_write("n.txt", "remote!")
    h.converge()
    assert h.read("n.txt") == b"remote!"
    assert h.read(f"n{COPY}.txt") == b"local"


def test_row6_local_delete_deletes_in_the_cloud(h: Harness) -> None:
    for i in range(4):
        h.write(f"f{i}.txt", str(i))
    h.converge()
    (h.root / "f0.txt").unlink()
    h.converge()
    assert "f0.txt" not in h.remote_tree()


def test_row7_cloud_delete_moves_the_local_file_to_the_trash(h: Harness) -> None:
    for i in range(4):
        h.write(f"f{i}.txt", str(i))
    h.converge()
    h.emulator.delete("sync/f0.txt")
    h.converge()
    assert not (h.root / "f0.txt").exists()
    assert [p.read_bytes() for p in (h.root / ".syncd" / "trash").rglob("f0.txt")] == [b"0"]


def test_row9_cloud_edit_beats_local_delete(h: Harness) -> None:
    h.write("a.txt", "v1")
    h.write("b.txt", "b")
    h.converge()
    (h.root / "a.txt").unlink()
    h.remote_write("a.txt", "edited in the cloud")
    h.converge()
    assert h.read("a.txt") == b"edited in the cloud"


def test_row10_local_edit_beats_cloud_delete(h: Harness) -> None:
    h.write("a.txt", "v1")
    h.write("b.txt", "b")
    h.converge()
    h.emulator.delete("sync/a.txt")
    h.write("a.txt", "edited here")
    h.converge()
    assert h.remote_read("a.txt") == b"edited here"


def test_row15_folder_deleted_locally_keeps_what_changed_in_the_cloud(h: Harness) -> None:
    for i in range(3):
        h.write(f"d/f{i}.txt", str(i))
    h.write("other.txt", "o")
    h.converge()
    for path in (h.root / "d").iterdir():
        path.unlink()
    (h.root / "d").rmdir()
    h.remote_write("d/f1.txt", "changed in the cloud")
    h.converge()
    assert h.local_tree() == {"d": DIR, "d/f1.txt": b"changed in the cloud", "other.txt": b"o"}


def test_folder_deleted_in_the_cloud_goes_to_the_trash_in_one_piece(h: Harness) -> None:
    for i in range(5):
        h.write(f"d/e/f{i}.txt", str(i))
    keep = {f"keep{i}.txt": b"k" for i in range(6)}
    for path, data in keep.items():
        h.write(path, data)
    h.converge()
    h.emulator.delete("sync/d")
    h.converge()
    assert h.local_tree() == keep
    trashed = list((h.root / ".syncd" / "trash").glob("*/d/e/f*.txt"))
    assert len(trashed) == 5


def test_local_folder_delete_is_one_recursive_cloud_delete(h: Harness) -> None:
    for i in range(20):
        h.write(f"d/f{i}.txt", str(i))
    keep = {f"keep{i}.txt": b"k" for i in range(21)}
    for path, data in keep.items():
        h.write(path, data)
    h.converge()
    h.emulator.stats.reset()
    shutil.rmtree(h.root / "d")
    h.converge()
    assert h.remote_tree() == keep
    assert calls(h).get("file_delete", 0) == 0
    assert calls(h)["folder_delete"] == 1


def test_row14_file_replaced_by_folder_and_back(h: Harness) -> None:
    h.write("x", "a file")
    h.write("y", "y")
    h.converge()
    (h.root / "x").unlink()
    h.write("x/inner.txt", "inside")
    h.converge()
    assert h.remote_tree()["x/inner.txt"] == b"inside"
    h.emulator.delete("sync/x")
    h.remote_write("x", "a file again")
    h.converge()
    assert h.local_tree()["x"] == b"a file again"


def test_row16_local_rename_and_move_are_server_side_calls(h: Harness) -> None:
    h.write("a.txt", "content a")
    h.write("dir/b.txt", "content b")
    h.converge()
    h.emulator.stats.reset()
    os.rename(h.root / "a.txt", h.root / "renamed.txt")
    os.rename(h.root / "dir/b.txt", h.root / "b-moved.txt")
    h.converge()
    counts = calls(h)
    assert counts.get("upload", 0) == 0 and counts.get("download", 0) == 0
    assert h.remote_tree() == {"renamed.txt": b"content a", "b-moved.txt": b"content b", "dir": DIR}


def test_row16_moving_a_folder_of_many_files_costs_a_handful_of_calls(h: Harness) -> None:
    for i in range(60):
        h.write(f"big/f{i:02}.txt", f"file {i}")
    h.write("target/.keep", "")
    h.converge()
    h.emulator.stats.reset()
    os.rename(h.root / "big", h.root / "target" / "big-moved")
    assert h.sync().ok
    counts = calls(h)
    # the poll, a move and a rename (the API has no single move-and-rename), one listing
    assert sum(counts.values()) <= 5, counts
    assert counts["folder_update"] == 2
    stats = h.emulator.stats.snapshot()
    assert stats.bytes_uploaded == 0 and stats.bytes_downloaded == 0
    h.converge()
    assert h.remote_read("target/big-moved/f07.txt") == b"file 7"


def test_row17_cloud_folder_move_is_a_local_rename(h: Harness) -> None:
    for i in range(30):
        h.write(f"src/f{i:02}.txt", f"file {i}")
    h.converge()
    inode = (h.root / "src" / "f03.txt").stat().st_ino
    h.emulator.stats.reset()
    h.emulator.move("sync/src", "sync/moved")
    h.converge()
    assert h.emulator.stats.snapshot().bytes_downloaded == 0
    assert (h.root / "moved" / "f03.txt").stat().st_ino == inode


def test_row17_cloud_file_rename_is_a_local_rename(h: Harness) -> None:
    h.write("a.txt", "content")
    h.write("b.txt", "other content")
    h.converge()
    inode = (h.root / "a.txt").stat().st_ino
    h.emulator.move("sync/a.txt", "sync/c.txt")
    h.converge()
    assert (h.root / "c.txt").stat().st_ino == inode


def test_local_move_is_found_across_a_restart(h: Harness) -> None:
    """The engine is rebuilt for every sync: the move is found by inode from the store."""
    h.write("a/one.txt", "1")
    h.converge()
    os.rename(h.root / "a", h.root / "b")
    h.emulator.stats.reset()
    h.converge()
    assert calls(h).get("upload", 0) == 0
    assert h.remote_tree() == {"b": DIR, "b/one.txt": b"1"}


def test_dry_run_changes_nothing_anywhere(h: Harness) -> None:
    h.write("a.txt", "local")
    h.remote_write("b.txt", "remote")
    report = h.sync(dry_run=True)
    assert report.plan is not None
    assert sorted(a.rel_path for a in report.plan.actions) == ["a.txt", "b.txt"]
    assert not (h.root / ".syncd").exists()
    assert h.remote_tree() == {"b.txt": b"remote"}
    assert not h.db_path.exists() or Store.open(h.db_path).count_entries() == 0


def test_root_guard_stops_when_the_local_folder_is_gone(h: Harness) -> None:
    h.write("a.txt", "a")
    h.converge()
    os.rename(h.root, h.root.with_name("elsewhere"))
    with pytest.raises(RootGuardError):
        h.sync()
    assert h.remote_tree() == {"a.txt": b"a"}


def test_root_guard_stops_when_the_folder_was_replaced(h: Harness) -> None:
    h.write("a.txt", "a")
    h.converge()
    shutil.rmtree(h.root)
    h.root.mkdir()
    with pytest.raises(RootGuardError):
        h.sync()
    assert h.remote_tree() == {"a.txt": b"a"}


def test_remote_folder_vanishing_deletes_nothing_locally(h: Harness) -> None:
    h.write("a.txt", "a")
    h.converge()
    h.emulator.delete("sync")
    with pytest.raises(RootGuardError):
        h.sync()
    assert h.read("a.txt") == b"a"


def test_mass_delete_brake_needs_confirmation(h: Harness) -> None:
    for i in range(4):
        h.write(f"f{i}.txt", str(i))
    h.converge()
    for i in range(3):
        (h.root / f"f{i}.txt").unlink()
    with pytest.raises(MassDeleteError):
        h.sync()
    assert len(h.remote_tree()) == 4
    h.converge(allow_mass_delete=True)
    assert h.remote_tree() == {"f3.txt": b"3"}


def test_excluded_items_stay_where_they_are(tmp_path, emulator, client) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, emulator, client, excludes=("*.tmp", "build/"))
    h.write("keep.txt", "k")
    h.write("scratch.tmp", "t")
    h.write("build/out.o", "o")
    h.write(".notes.txt.swp", "vim")
    h.remote_write("cloud.tmp", "c")
    h.sync()
    assert h.remote_tree() == {"keep.txt": b"k", "cloud.tmp": b"c"}
    assert not (h.root / "cloud.tmp").exists()


def test_symlinks_are_never_followed_or_synced(h: Harness, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    h.write("real.txt", "r")
    os.symlink(outside, h.root / "link-to-outside")
    os.symlink(h.root, h.root / "loop")
    h.sync()
    assert h.remote_tree() == {"real.txt": b"r"}


def test_hostile_cloud_names_never_leave_the_root(h: Harness, tmp_path) -> None:  # type: ignore[no-untyped-def]
    h.write("ok.txt", "ok")
    h.converge()
    for name in ("..", ".", "a/../../escape", "x" * 300, "nul\0byte"):
        h.emulator.inject_raw_name("sync", name, b"evil")
    report = h.sync()
    assert report.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["local", "state", "token"])
    assert h.local_tree() == {"ok.txt": b"ok"}
