"""Each row of the decision table as a real sync: a temporary folder, the emulator, the store.

Remote edits that keep a file's size are given explicit, later timestamps: the API has only
1-second dates and no checksum, so two same-size versions written within one second are
indistinguishable to any client (see the README's limitations).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd.cli import main
from syncd.cloud.errors import CloudUnavailable
from syncd.cloud.models import RemoteFile
from syncd.errors import RootGuardError
from syncd.store import MARKER_KEY, Store
from syncd.sync import commits, localfs
from syncd.sync.model import Kind, RemoteEntry
from syncd.sync.remote import TEMP_PREFIX, temp_owner
from syncd.sync.report import Observers
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


@pytest.mark.parametrize("files", [3, 40], ids=["few", "many"])
def test_a_first_sync_down_gets_its_download_urls_from_the_one_listing(
    h: Harness, files: int
) -> None:
    """Before the first sync everything in the cloud is new here: the listing that plans
    the downloads already carries their URLs (no GET per file, no second listing)."""
    h.page_size = 10_000  # one page per listing: this counts listings, not pages
    for i in range(files):
        h.remote_write(f"d/f{i}.txt", f"cloud {i}")
    h.emulator.stats.reset()
    h.converge()
    # Two to find the pair's folder by path, one listing to plan, one to confirm the end.
    assert calls(h) == {"folder_get": 4, "download": files}
    assert h.read(f"d/f{files - 1}.txt") == f"cloud {files - 1}".encode()


def _open_paths() -> set[str]:
    paths = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            paths.add(os.readlink(f"/proc/self/fd/{fd}"))
    return paths


def test_downloads_reach_the_disk_beside_the_transfers_before_their_rows(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushes: list[str] = []  # the thread each disk flush ran on
    sync_filesystem = localfs.sync_filesystem

    def recording(folder_fd: int) -> None:
        flushes.append(threading.current_thread().name)
        sync_filesystem(folder_fd)

    monkeypatch.setattr(localfs, "sync_filesystem", recording)
    monkeypatch.setattr(commits, "COMMIT_EVERY", 0.0)  # a commit due after every result
    for i in range(12):
        h.remote_write(f"d/f{i}.txt", f"cloud {i}")
    threads = set(threading.enumerate())
    h.converge()
    assert h.read("d/f11.txt") == b"cloud 11"
    assert "syncd-flush_0" in flushes  # beside the run, not on its thread
    with Store.open(h.db_path) as store:
        assert {f"d/f{i}.txt" for i in range(12)} <= store.load_base().keys()
    # The run's flushing thread and its descriptor of the root are gone with it.
    assert not [t for t in set(threading.enumerate()) - threads if t.name.startswith("syncd")]
    assert str(h.root) not in _open_paths()


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


def test_a_same_size_cloud_edit_after_an_interrupted_upload_is_not_taken_for_ours(
    h: Harness,
) -> None:
    """Found by the state machine: an upload answers with an id only, and ids follow paths.
    Stopped before the next listing, the sync left the base without the upload's dates, and
    the next run took another client's same-size replacement for its own upload: both
    sides then differed for good (and a local edit would have overwritten the cloud's)."""
    h.write("keep.txt", "k")
    h.converge()
    h.write("a.txt", "ours")
    with Store.open(h.db_path) as store:
        stop = threading.Event()  # set after the upload
        h.engine(store, stop=stop, observers=Observers(outcome=lambda _: stop.set())).sync()
    assert h.remote_read("a.txt") == b"ours"
    h.remote_write("a.txt", "them", when=LATER)  # another client, same size
    h.converge()
    assert h.read("a.txt") == b"them"


def test_a_look_alike_is_not_taken_for_a_move_after_a_stopped_run(h: Harness) -> None:
    """Found by the long state machine run: two files of one size, created in the same
    second, so moves cannot tell them apart. In the cloud one moves and the other is
    deleted. A run stopped after its first action dropped one of them from the base; the
    next run took the other for the moved one, moved its local copy over, and the two
    sides differed for good."""
    created = datetime(2026, 11, 26, 12, 0, 0)
    h.remote_write("b.txt", "L2.", when=created)
    h.remote_write("c.md", "L8.", when=created)
    h.remote_write("d/keep.txt", "keep")
    h.converge()
    h.emulator.move("sync/b.txt", "sync/d/c.txt")
    h.emulator.delete("sync/c.md")
    with Store.open(h.db_path) as store:
        stop = threading.Event()  # set after one action
        engine = h.engine(store, stop=stop, observers=Observers(outcome=lambda _: stop.set()))
        engine.sync(allow_mass_delete=True)
    h.converge(allow_mass_delete=True)
    assert h.local_tree() == {"d": DIR, "d/keep.txt": b"keep", "d/c.txt": b"L2."}
    trashed = {p.read_bytes() for p in (h.root / ".syncd" / "trash").rglob("*") if p.is_file()}
    assert b"L8." in trashed  # deleted in the cloud, kept locally in the trash


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


def test_trash_holds_a_file_and_later_a_folder_of_that_name_from_the_same_second(
    h: Harness,
) -> None:
    """Found by the state machine (the harness's clock stands still): once the file `b` was in
    the trash, nothing under a folder `b` could go there in the same second, as the trash's
    `b` was a file; the version an overwrite replaced collided the same way."""
    for i in range(3):
        h.write(f"keep{i}", "k")
    h.write("b", "a file")
    h.converge()
    h.emulator.delete("sync/b")
    h.converge()
    h.write("b/x.txt", "x1")
    h.write("b/a/y.txt", "y")
    h.converge()
    h.remote_write("b/x.txt", "x2 from the cloud", when=LATER)  # overwrite: keeps x1
    h.emulator.delete("sync/b/a")  # delete: trashes b/a
    h.converge()
    trash = h.root / ".syncd" / "trash"
    kept = {
        p.relative_to(trash).as_posix(): p.read_bytes() for p in trash.rglob("*") if p.is_file()
    }
    assert sorted(kept.values()) == [b"a file", b"x1", b"y"], kept
    assert kept["2026-11-26T175502/b"] == b"a file"


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


def test_local_folder_against_cloud_file_moves_the_whole_folder_aside(h: Harness) -> None:
    """Found by the state machine: after the folder was renamed aside, the engine's view still
    held its children at the old path, so the next pass tried `a/sub` under the new file."""
    (h.root / "a" / "sub").mkdir(parents=True)
    h.write("a/note.txt", "inside")
    h.remote_write("a", "a cloud file")
    h.converge()
    assert h.local_tree() == {
        "a": b"a cloud file",
        f"a{COPY}": DIR,
        f"a{COPY}/sub": DIR,
        f"a{COPY}/note.txt": b"inside",
    }


def test_a_partial_download_of_a_version_gone_from_the_cloud_is_removed(h: Harness) -> None:
    """Found by the state machine: a download cut short keeps its partial to resume it, but
    when the cloud no longer holds that version nothing ever removed the partial."""
    h.write("d/keep.txt", "k")
    h.converge()
    h.remote_write("d/new.bin", b"n" * 5000)
    with Store.open(h.db_path) as store:
        stop = threading.Event()  # set as the download starts
        h.engine(store, stop=stop, observers=Observers(start=lambda _: stop.set())).sync()
    assert list((h.root / "d").glob(".new.bin.*.syncd-partial"))  # kept, to resume
    h.emulator.delete("sync/d/new.bin")
    h.converge()  # the harness fails on any partial left behind
    assert h.local_tree() == {"d": DIR, "d/keep.txt": b"k"}


def test_a_partial_of_a_version_already_in_place_is_removed(h: Harness) -> None:
    """Found by the state machine: a download cut short inside a folder that then moved
    with it, and the file reached its place by another way. The cloud still holds that
    version, so the partial was kept for a resume that nothing would ever do."""
    h.write("d/f.bin", b"f" * 5000)
    h.converge()
    with Store.open(h.db_path) as store:
        known = store.load_base()["d/f.bin"]
    entry = RemoteEntry(
        Kind.FILE, known.remote_id, known.size, known.remote_created, known.remote_modified
    )
    partial = localfs.partial_path(h.root, "d/f.bin", version=entry.fingerprint_tag())
    partial.write_bytes(b"f" * 100)
    h.converge()  # the harness fails on any partial left behind
    assert not partial.exists()
    assert h.read("d/f.bin") == b"f" * 5000


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


def test_row18_twins_in_a_moved_folder_each_take_their_own_edit(h: Harness) -> None:
    """Found by the state machine: two files of one content (a conflict's twin, say) in a
    folder moved locally, one edited here and the other replaced in the cloud. Each edit
    replaces its own file, wherever the other file's copy of the old content is."""
    h.write("f/b", "twin")
    h.write("f/b copy", "twin")
    h.converge()
    os.rename(h.root / "f", h.root / "g")
    h.write("g/b", "edited here")
    h.remote_write("f/b copy", "replaced in the cloud", when=LATER)
    h.converge()
    expected = {"g": DIR, "g/b": b"edited here", "g/b copy": b"replaced in the cloud"}
    assert h.remote_tree() == expected


@pytest.mark.parametrize("old_name_taken_here", [False, True], ids=["free", "taken"])
def test_row16_move_and_rename_when_the_old_name_is_taken_in_the_target_folder(
    h: Harness, old_name_taken_here: bool
) -> None:
    """Found by the state machine: the API moves and renames in two calls, and moving `a`
    into `d` under its old name collided with `d/a`. With `b` also taken in the source
    folder, the item goes through a hidden temporary name."""
    h.write("a", "moving")
    h.write("d/a", "already there")
    if old_name_taken_here:
        h.write("b", "taken in the source folder")
    h.converge()
    h.emulator.stats.reset()
    os.rename(h.root / "a", h.root / "d" / "b")
    report = h.converge()
    assert report.counts["move-cloud"] == 1
    assert calls(h).get("upload", 0) == 0
    assert h.remote_read("d/b") == b"moving" and h.remote_read("d/a") == b"already there"


def test_row16_moving_a_folder_of_many_files_costs_a_handful_of_calls(h: Harness) -> None:
    h.page_size = 10_000  # one page per listing: this counts calls per listing
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


def test_row17_cloud_folder_moved_into_a_new_folder_downloads_nothing(h: Harness) -> None:
    """`archive/` made in the web UI and `photos/` dragged into it: 200 files of one batch
    upload (one size, one creation second) in nested folders follow as one local rename."""
    batch = datetime(2026, 1, 5, 10, 0, 0)
    for year in ("2024", "2025"):
        for month in range(1, 11):
            for index in range(10):
                h.remote_write(f"photos/{year}/{month:02}/img{index}.jpg", "JPEG", when=batch)
    h.converge()
    inode = (h.root / "photos/2025/07/img3.jpg").stat().st_ino
    h.emulator.mkdir("sync/archive")
    h.emulator.move("sync/photos", "sync/archive/photos")
    h.emulator.stats.reset()
    h.converge()
    stats = h.emulator.stats.snapshot()
    assert stats.calls["download"] == 0 and stats.bytes_downloaded == 0
    assert (h.root / "archive/photos/2025/07/img3.jpg").stat().st_ino == inode
    assert not (h.root / "photos").exists()


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


def test_root_guard_stops_when_the_local_folder_goes_between_two_plans(h: Harness) -> None:
    h.write("a.txt", "a")
    h.converge()
    h.write("b.txt", "b")
    elsewhere = h.root.with_name("elsewhere")
    with Store.open(h.db_path) as store:
        # Just before the plan is applied: the scan saw the folder, the run cannot use it.
        engine = h.engine(
            store, observers=Observers(plan=lambda _plan: os.rename(h.root, elsewhere))
        )
        with pytest.raises(RootGuardError, match="is missing"):
            engine.sync()
    assert h.remote_tree() == {"a.txt": b"a"}
    assert sorted(p.name for p in elsewhere.iterdir()) == [".syncd", "a.txt", "b.txt"]


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
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["local", "state"])
    assert h.local_tree() == {"ok.txt": b"ok"}


# --- interrupted operations (found by the crash and fault campaigns) ----------------------


def _temporaries(h: Harness) -> list[str]:
    return sorted(p for p in h.emulator.listing() if TEMP_PREFIX in p)


def test_an_upload_temporary_left_by_a_cut_off_replace_is_swept(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the crash campaign: a process killed between a replace's upload and its
    rename (or a rename that failed for good) left the hidden temporary in the cloud
    forever. The engine now sweeps its own (tagged with the pair) between plans; another
    pair's only after a day, and untagged names (a move may park an item there) never."""
    h.write("a.txt", "v1")
    h.converge()
    h.write("a.txt", "version two")

    def rename_fails(file_id: str, new_name: str) -> None:
        raise CloudUnavailable("connection reset", target=file_id)

    monkeypatch.setattr(h.client, "rename_file", rename_fails)
    report = h.sync()
    assert "a.txt" in report.failures
    (orphan,) = _temporaries(h)
    with Store.open(h.db_path) as store:
        tag = (store.get_meta(MARKER_KEY) or "")[:8]
        store.clear_failures(["a.txt"])  # retry now rather than after the backoff
    assert temp_owner(orphan.rpartition("/")[2]) == tag != ""
    monkeypatch.undo()
    day_old = datetime.now() - timedelta(days=2)
    h.remote_write(".syncd-upload-0badc0de.12345678-old.txt", "old, someone else's", when=day_old)
    h.remote_write(".syncd-upload-0badc0de.87654321-new.txt", "someone else's, in flight")
    h.remote_write(".syncd-upload-0123456789ab-parked.txt", "untagged: maybe a parked move")
    assert h.sync().ok
    assert h.remote_read("a.txt") == b"version two"
    assert h.local_tree() == {"a.txt": b"version two"}
    assert _temporaries(h) == [
        "sync/.syncd-upload-0123456789ab-parked.txt",
        "sync/.syncd-upload-0badc0de.87654321-new.txt",
    ]


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_move_cut_off_between_its_two_calls_is_finished_not_duplicated(
    h: Harness, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Found by the crash campaign: the API moves and renames in two calls; a process killed
    between them left the item halfway (its old name in the new folder), and the next sync
    downloaded it there as a new item while uploading the local one: two copies. The next
    plan now finishes the move from where the cloud holds it."""
    if kind == "file":
        h.write("a.txt", "moving")
        src, dst = "a.txt", "d/b.txt"
    else:
        h.write("a/one.txt", "1")
        h.write("a/two.txt", "22")
        src, dst = "a", "d/b"
    h.write("d/keep.txt", "k")
    h.converge()

    def cut_off(item_id: str, new_name: str) -> None:
        raise CloudUnavailable("connection reset", target=item_id)

    monkeypatch.setattr(h.client, "rename_file" if kind == "file" else "rename_folder", cut_off)
    os.rename(h.root / src, h.root / dst)
    assert not h.sync().ok
    halfway = f"d/{src}"
    assert f"sync/{halfway}" in h.emulator.listing()
    monkeypatch.undo()
    h.emulator.stats.reset()
    # While the failed move waits to be retried, nothing of it is planned piecemeal: the
    # halfway item is not downloaded as a new one, the local item not uploaded.
    waiting = h.sync()
    assert not waiting.counts, waiting.counts
    assert not (h.root / halfway).exists()
    h.clock_offset += 7200  # past the backoff
    report = h.converge()
    assert report.counts["move-cloud"] == 1
    assert calls(h).get("upload", 0) == 0 and calls(h).get("download", 0) == 0
    assert halfway not in h.remote_tree()
    assert h.remote_read(f"{dst}/two.txt" if kind == "folder" else dst) in (b"22", b"moving")


def test_an_item_moved_the_same_way_on_both_sides_is_only_re_keyed(h: Harness) -> None:
    """Also what a crash between a move's last call and the commit of its result leaves
    behind: the base still at the old path, both sides at the new one. Before, every file
    was downloaded again to compare it."""
    h.write("a/one.txt", "1")
    h.write("b.txt", "b")
    h.write("d/keep.txt", "k")
    h.converge()
    os.rename(h.root / "a", h.root / "d" / "a2")
    h.emulator.move("sync/a", "sync/d/a2")
    os.rename(h.root / "b.txt", h.root / "d" / "c.txt")
    h.emulator.move("sync/b.txt", "sync/d/c.txt")
    h.emulator.stats.reset()
    h.converge()
    counts = calls(h)
    assert counts.get("upload", 0) == 0 and counts.get("download", 0) == 0, counts
    assert counts.get("file_update", 0) == 0 and counts.get("folder_update", 0) == 0, counts
    assert h.remote_tree() == {
        "d": DIR,
        "d/keep.txt": b"k",
        "d/a2": DIR,
        "d/a2/one.txt": b"1",
        "d/c.txt": b"b",
    }


def test_a_move_that_failed_waits_whole_and_the_cloud_copy_is_not_deleted(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the fault campaign: a failed move backs off from its target path only, so
    the next pass planned the source on its own, as a local delete: the cloud folder was
    deleted (to be uploaded again from scratch once the backoff was over)."""
    for i in range(5):
        h.write(f"a/f{i}.txt", f"file {i}")
    h.write("d/keep.txt", "k")
    h.converge()

    def refused(item_id: str, dest_id: str) -> None:
        raise CloudUnavailable("connection reset", target=item_id)

    monkeypatch.setattr(h.client, "move_folder", refused)
    os.rename(h.root / "a", h.root / "d" / "a")
    assert "d/a" in h.sync().failures
    monkeypatch.undo()
    h.emulator.stats.reset()
    waiting = h.sync()
    assert not waiting.counts, waiting.counts
    assert h.remote_read("a/f3.txt") == b"file 3"  # still there, untouched
    h.clock_offset += 7200
    h.converge()
    counts = calls(h)
    assert counts.get("upload", 0) == 0 and counts.get("folder_delete", 0) == 0, counts
    assert h.remote_read("d/a/f3.txt") == b"file 3"


def test_a_moved_and_edited_file_whose_move_failed_gets_no_false_conflict(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the fault campaign: a move that went through in the cloud but failed on its
    way back (here reading the moved file) waited to be retried, while the rest of the pass
    dropped the source's base row ("gone on both sides"). The retry then saw two unrelated
    new files of different sizes at the target: a conflict, with the old version keeping
    the name and the user's edit as the conflicted copy."""
    h.write("a.txt", "old")
    h.write("d/keep.txt", "k")
    h.converge()
    os.rename(h.root / "a.txt", h.root / "d" / "b.txt")
    (h.root / "d" / "b.txt").write_text("new and longer")  # moved, then edited in place
    real_get_file = h.client.get_file
    failed: list[str] = []

    def fails_once(file_id: str) -> RemoteFile:
        if not failed:
            failed.append(file_id)
            raise CloudUnavailable("connection reset", target=file_id)
        return real_get_file(file_id)

    monkeypatch.setattr(h.client, "get_file", fails_once)
    assert not h.sync().ok
    assert failed and "sync/d/b.txt" in h.emulator.listing()  # the move itself went through
    monkeypatch.undo()
    h.sync()  # while it waits
    h.clock_offset += 7200
    report = h.converge()
    assert not report.conflicts
    assert h.remote_tree() == {"d": DIR, "d/keep.txt": b"k", "d/b.txt": b"new and longer"}


def test_a_cloud_version_with_the_content_already_here_leaves_the_file_alone(h: Harness) -> None:
    """New dates, same bytes (a cloud "touch", or a file written back): the download is
    checked against the local file's hash, and the file stays, with nothing in the trash."""
    h.write("a.txt", "same bytes")
    h.converge()
    inode = (h.root / "a.txt").stat().st_ino
    h.remote_write("a.txt", "same bytes", when=LATER)
    report = h.converge()
    assert report.counts["download"] == 1
    assert (h.root / "a.txt").stat().st_ino == inode
    assert not list((localfs.state_dir(h.root) / "trash").rglob("a.txt"))
    assert h.read("a.txt") == b"same bytes"


def test_after_a_reset_identical_files_are_equal_and_recorded_not_conflicts(
    h: Harness, tmp_path: Path
) -> None:
    """`syncd reset` then `syncd sync`: files found identical on both sides are reported as
    equal and recorded, and the bytes downloaded to compare them are counted."""
    h.write("a.txt", "same on both sides")
    h.write("d/b.txt", "also the same")
    h.converge()
    config = h.write_config(tmp_path / "c.yaml")

    def reset() -> None:
        result = CliRunner().invoke(main, ["reset", "--yes", "--config", str(config)])
        assert result.exit_code == 0, result.output

    reset()
    output = CliRunner().invoke(main, ["sync", "--config", str(config)]).output
    assert "conflict" not in output, output
    assert "equal         a.txt (same content on both sides, recorded)" in output, output
    reset()
    report = h.sync()
    assert report.ok and report.conflicts == []
    assert report.counts["equal"] == 2 and "conflict" not in report.counts, report.counts
    assert report.bytes_down == len("same on both sides") + len("also the same")
    assert not any("conflicted copy" in path for path in h.local_tree())
