"""A hostile or broken cloud: a view that is incomplete or ambiguous deletes nothing, and a
download never writes more than the file the listing announced.

Every case runs against the emulator's hostile switches (`syncd.emulator.hostile`), under both
ways a listing page may be windowed, and asserts: no local file deleted or trashed, no cloud
file deleted, the problem named, the exit code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd.cli import main
from syncd.cloud.errors import IncompleteListing
from syncd.emulator import Emulator
from syncd.sync.localfs import STATE_DIR_NAME, TRASH_DIR
from tests.integration.harness import Harness

TREE = {
    "a.txt": "a",
    "b.txt": "bb",
    "d1/c.txt": "ccc",
    "d1/d.txt": "dddd",
    "d2/e.txt": "eeeee",
    "d2/f.txt": "ffffff",
    "d2/sub/g.txt": "ggggggg",
    "h.txt": "hhhhhhhh",
}


@pytest.fixture
def synced(h: Harness) -> Harness:
    for rel_path, text in TREE.items():
        h.write(rel_path, text)
    h.converge()
    return h


def trash_of(h: Harness) -> list[str]:
    trash = h.root / STATE_DIR_NAME / TRASH_DIR
    return sorted(str(p.relative_to(trash)) for p in trash.rglob("*")) if trash.exists() else []


def assert_nothing_lost(h: Harness) -> None:
    local = h.local_tree()
    for rel_path, text in TREE.items():
        assert local.get(rel_path) == text.encode(), rel_path
    assert trash_of(h) == []
    remote = h.remote_tree()
    for rel_path, text in TREE.items():
        assert remote.get(rel_path) == text.encode(), rel_path


def sync_command(h: Harness, tmp_path: Path, *args: str) -> tuple[int, str]:
    config = h.write_config(tmp_path / "config.yaml")
    result = CliRunner().invoke(main, ["sync", "--config", str(config), "-q", *args])
    return result.exit_code, result.output


@pytest.fixture
def hostile(emulator: Emulator) -> Iterator[Emulator]:
    yield emulator
    emulator.hostile.clear()


# --- A1: paging, whichever way the server windows a page ----------------------------------


def test_a_tree_over_several_pages_lists_whole_under_both_page_splits(h: Harness) -> None:
    """3 folders and 12 files in pages of 5: a client that moves on by the count it got
    skips 3 files when each list is windowed on its own, and then trashes them."""
    for folder in ("x", "y", "z"):
        for index in range(4):
            h.write(f"{folder}/{index}.txt", f"{folder}{index}")
    h.converge()
    report = h.sync()
    assert report.ok and not report.counts, report.counts
    assert trash_of(h) == []
    assert len([p for p in h.local_tree() if p.endswith(".txt")]) == 12


# --- A2: confirmed absence ----------------------------------------------------------------


@pytest.mark.parametrize("target", ["c.txt", "d1", "sub"])
def test_a_listing_that_leaves_items_out_deletes_nothing(
    synced: Harness, hostile: Emulator, tmp_path: Path, target: str
) -> None:
    h = synced
    hostile.hostile.update(listing="omit-from-flat", target=target)
    report = h.sync()
    assert report.listing_problem is not None
    assert report.listing_problem.startswith("the cloud listing was incomplete (it left out ")
    assert not report.ok
    assert_nothing_lost(h)
    code, output = sync_command(h, tmp_path)
    assert code == 1
    assert "the cloud listing was incomplete" in output
    assert_nothing_lost(h)


def test_a_real_cloud_delete_is_confirmed_with_one_call_per_folder(synced: Harness) -> None:
    h = synced
    h.page_size = 10_000  # one page per listing: this counts calls
    for index in range(30):
        h.remote_write(f"big/f{index}.txt", "x")
    h.converge()
    h.emulator.delete("sync/big")
    h.emulator.delete("sync/d2/sub/g.txt")
    h.emulator.stats.reset()
    report = h.sync(allow_mass_delete=True)  # 31 of 38 files
    assert report.ok and report.counts["trash-local"] == 2, report.counts
    assert not (h.root / "big").exists() and not (h.root / "d2/sub/g.txt").exists()
    calls = h.emulator.stats.snapshot().calls
    # One listing, and one direct listing for each folder that lost children: the pair's
    # root (big/) and d2/sub (g.txt).
    assert calls["folder_get"] == 1 + 2, calls


def test_a_pass_without_deletes_costs_no_extra_call(synced: Harness) -> None:
    h = synced
    h.page_size = 10_000
    h.remote_write("new.txt", "new")
    h.emulator.stats.reset()
    report = h.sync()
    assert report.ok and report.counts["download"] == 1
    assert h.emulator.stats.snapshot().calls["folder_get"] == 1


# --- A3: a listing that cannot be read whole -----------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        "no-files",
        "no-subfolders",
        "null-files",
        "null-subfolders",
        "files-as-object",
        "entry-not-object",
    ],
)
def test_a_listing_without_its_lists_is_not_a_listing(
    synced: Harness, hostile: Emulator, tmp_path: Path, damage: str
) -> None:
    h = synced
    hostile.hostile.update(listing=damage)
    with pytest.raises(IncompleteListing, match="the cloud listing was incomplete: "):
        h.sync()
    assert_nothing_lost(h)
    code, output = sync_command(h, tmp_path)
    assert code == 1
    assert "pair: not synced: the cloud listing was incomplete: " in output
    assert_nothing_lost(h)


@pytest.mark.parametrize(
    ("damage", "target", "unknown"),
    [
        ("undecodable-id", "c.txt", "a cloud file named 'c.txt': cannot tell which folder"),
        ("orphan", "c.txt", "a cloud file named 'c.txt': cannot tell which folder"),
        ("bad-size", "c.txt", "d1/c.txt: the cloud's listing of this file has a size that"),
        ("bad-date", "c.txt", "d1/c.txt: the cloud's listing of this file has a date that"),
        ("no-name", "c.txt", "d1: a file in it has no name; the folder is skipped"),
        ("folder-no-parent", "d1", "d1: the cloud's listing of this folder has no parent id"),
    ],
)
def test_an_item_that_cannot_be_read_whole_is_unknown_not_deleted(
    synced: Harness, hostile: Emulator, tmp_path: Path, damage: str, target: str, unknown: str
) -> None:
    h = synced
    h.write("a.txt", "edited locally")  # the rest of the tree still syncs
    hostile.hostile.update(listing=damage, target=target)
    report = h.sync()
    assert report.listing_problem is not None and unknown in report.listing_problem
    assert report.counts.get("trash-local", 0) == 0 and report.counts.get("delete-cloud", 0) == 0
    assert h.remote_read("a.txt") == b"edited locally"
    now = {**TREE, "a.txt": "edited locally"}
    assert {p: h.read(p).decode() for p in now} == now
    assert trash_of(h) == []
    code, output = sync_command(h, tmp_path)
    assert code == 1 and "the cloud listing could not be read whole" in output
    assert {p: h.read(p).decode() for p in now} == now
    hostile.hostile.clear()
    assert h.sync().ok  # once the listing is whole again, all is well


def test_an_unreadable_item_at_the_top_with_no_name_stops_the_listing(
    synced: Harness, hostile: Emulator
) -> None:
    h = synced
    hostile.hostile.update(listing="no-name", target="a.txt")
    with pytest.raises(IncompleteListing, match="at the top of the folder has no name"):
        h.sync()
    assert_nothing_lost(h)


# --- A4: a dry run refuses what the real run would ------------------------------------------


def test_a_dry_run_prints_what_the_brake_would_refuse_and_exits_78(
    synced: Harness, tmp_path: Path
) -> None:
    h = synced
    for rel_path in ("a.txt", "b.txt", "h.txt", "d1/c.txt", "d1/d.txt"):
        h.emulator.delete(f"sync/{rel_path}")
    code, output = sync_command(h, tmp_path, "--dry-run")
    assert code == 78, output
    assert "trash-local" in output or "trash" in output  # the plan is printed first
    assert "this sync would delete 5 of 8 synced files on this computer" in output
    code, output = sync_command(h, tmp_path, "--dry-run", "--allow-mass-delete")
    assert code == 0, output
    assert_nothing_lost_locally(h)


@pytest.mark.parametrize("how", ["missing", "replaced", "cloud-folder-gone"])
def test_a_dry_run_stops_at_the_root_guard_with_78(
    synced: Harness, tmp_path: Path, how: str
) -> None:
    h = synced
    if how == "missing":
        h.root.rename(tmp_path / "moved-away")
    elif how == "replaced":
        h.root.rename(tmp_path / "moved-away")
        h.root.mkdir()
        (h.root / "other.txt").write_text("another folder")
    else:
        h.emulator.move("sync", "elsewhere")
    code, output = sync_command(h, tmp_path, "--dry-run")
    assert code == 78, output
    assert "nothing was deleted" in output


def assert_nothing_lost_locally(h: Harness) -> None:
    local = h.local_tree()
    assert all(local.get(rel_path) == text.encode() for rel_path, text in TREE.items())
    assert trash_of(h) == []


# --- C7, C8: downloads are bounded, and only from the configured hosts ----------------------


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("longer", "the cloud announced 1048590 bytes for a file it lists with 14"),
        ("endless", "the cloud sent more than the 14 bytes it lists for this file"),
        ("html", "bytes (an HTML page, not the file) for a file it lists with 14"),
        ("wrong-length", "the cloud announced 38 bytes for a file it lists with 14"),
    ],
)
def test_a_download_that_is_not_the_listed_file_fails_that_path_and_writes_nothing_more(
    synced: Harness, hostile: Emulator, tmp_path: Path, damage: str, message: str
) -> None:
    h = synced
    h.remote_write("a.txt", "cloud version!")  # 14 bytes
    h.remote_write("new.txt", "n")  # and a second download, so both paths are seen
    hostile.hostile.update(download=damage)
    report = h.sync()
    assert set(report.failures) == {"a.txt", "new.txt"}
    assert message in report.failures["a.txt"], report.failures
    assert not report.ok and report.offline is None
    assert h.read("a.txt") == b"a"  # the local version is untouched
    assert "new.txt" not in h.local_tree()  # and no partial is left (local_tree checks)
    assert trash_of(h) == []
    # Retried with the normal backoff, not at once: the next pass downloads nothing.
    downloads = h.emulator.stats.snapshot().calls["download"]
    assert h.sync().failures == {}
    assert h.emulator.stats.snapshot().calls["download"] == downloads
    code, output = sync_command(h, tmp_path)
    assert code == 1 and "a.txt" in output  # still waiting to retry: not in sync
    status = CliRunner().invoke(
        main, ["status", "--json", "--config", str(tmp_path / "config.yaml")]
    )
    assert message in status.output
    hostile.hostile.clear()
    h.clock_offset += 3600  # past the backoff
    assert h.sync().ok
    assert h.read("a.txt") == b"cloud version!" and h.read("new.txt") == b"n"


def test_a_download_url_on_another_host_fails_that_path_only(
    synced: Harness, hostile: Emulator, make_other: Emulator
) -> None:
    h = synced
    h.remote_write("new.txt", "new")
    hostile.hostile.update(download_origin=make_other.api_base.rsplit("/cloud/v1", 1)[0])
    h.write("up.txt", "uploaded meanwhile")
    report = h.sync()
    assert set(report.failures) == {"new.txt"}
    assert "another host (127.0.0.1); not followed" in report.failures["new.txt"]
    assert make_other.stats.snapshot().calls == {k: 0 for k in make_other.stats.snapshot().calls}
    assert h.remote_read("up.txt") == b"uploaded meanwhile"  # the pair goes on
    assert_nothing_lost(h)


@pytest.fixture
def make_other() -> Iterator[Emulator]:
    with Emulator() as other:
        yield other
