"""Issue 7's controls against the emulator: resume, selective sync, conflicts, the trash,
the disk guard, the cloud quota and bandwidth limits."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd import controls
from syncd.cli import main
from syncd.store import Store
from syncd.sync import localfs
from syncd.sync.engine import PairEngine
from syncd.sync.io import TokenBucket
from syncd.sync.model import Action
from syncd.sync.options import SyncOptions
from syncd.sync.report import Observers
from tests.integration.harness import Harness, harness_with_quota

LATER = datetime.now() + timedelta(minutes=5)
COPY = " (conflicted copy 2026-11-26 175502 box)"


# --- resume -------------------------------------------------------------------------------


def test_an_interrupted_download_resumes_with_a_range_request(h: Harness) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    h.remote_write("big.bin", data)
    h.write("keep.txt", "k")
    h.converge()
    h.remote_write("big.bin", data[::-1], when=LATER)  # a new version to download
    with Store.open(h.db_path) as store:
        engine = h.engine(store)
        engine.prepare()
        engine.take_listing(engine.fetch_remote(), engine.views.generation)
        remote = engine.views.remote["big.bin"]
    partial = localfs.partial_path(h.root, "big.bin", version=remote.fingerprint_tag())
    partial.write_bytes(data[::-1][:1_000_000])  # what a killed run left behind
    h.emulator.stats.reset()
    h.converge()
    assert h.read("big.bin") == data[::-1]
    assert h.emulator.stats.snapshot().bytes_downloaded == len(data) - 1_000_000
    assert not partial.exists()


def test_a_download_in_ranges_stopped_midway_leaves_a_prefix_that_resumes(h: Harness) -> None:
    h.client._ranged_min_size = 1024 * 1024  # ranges of 256 KiB from 1 MiB (not 64 MiB)
    h.client._range_size = 256 * 1024
    data = os.urandom(6 * 1024 * 1024 + 5)
    h.write("keep.txt", "k")
    h.converge()
    h.remote_write("big.bin", data)
    h.emulator.stats.reset()
    arrived = 0

    def on_bytes(_action: Action, count: int) -> None:
        nonlocal arrived
        arrived += count  # from several range threads: a rough count is enough
        if arrived >= 2 * 1024 * 1024:
            engine.executor.halt()  # as a stop or a pause does (`PairRunner.halt`)

    with Store.open(h.db_path) as store:
        engine = h.engine(store, observers=Observers(progress=on_bytes))
        report = engine.sync()
    assert "download" not in report.counts  # cancelled, not done and not failed
    assert h.emulator.stats.snapshot().statuses.get(206, 0) > 1  # it went in ranges
    (partial,) = h.root.glob(".big.bin.*.syncd-partial")
    kept = partial.read_bytes()
    assert 0 < len(kept) < len(data) and kept == data[: len(kept)]  # whole, in order
    h.emulator.stats.reset()
    h.converge()
    assert h.read("big.bin") == data
    assert h.emulator.stats.snapshot().bytes_downloaded == len(data) - len(kept)
    with Store.open(h.db_path) as store:
        row = store.load_base()["big.bin"]
    assert row is not None and row.sha256 == hashlib.sha256(data).hexdigest()


def test_a_partial_of_an_older_version_is_not_resumed(h: Harness) -> None:
    h.remote_write("f.bin", b"x" * 5000)
    h.write("keep.txt", "k")
    h.converge()
    stale = localfs.partial_path(h.root, "f.bin", version="0123456789ab")
    stale.write_bytes(b"y" * 2000)
    h.remote_write("f.bin", b"z" * 6000, when=LATER)
    h.emulator.stats.reset()
    h.converge()
    assert h.read("f.bin") == b"z" * 6000
    assert h.emulator.stats.snapshot().bytes_downloaded == 6000
    assert not stale.exists()


def test_download_killed_halfway_resumes_after_restart(h: Harness, tmp_path: Path) -> None:
    """A real `syncd sync` process, slowed by a download limit, killed mid-download."""
    size = 24 * 1024 * 1024
    data = os.urandom(size)
    h.remote_write("large.bin", data)
    config = h.write_config(
        tmp_path / "config.yaml",
        state_dir=h.state_dir.parent / "state-cli",
        sync={"download_limit": "6 MiB"},
    )
    command = [sys.executable, "-m", "syncd", "sync", "--config", str(config), "-q"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        partial_size = 0
        while time.monotonic() < deadline and partial_size < size // 3:
            partials = list(h.root.glob(".large.bin.*.syncd-partial"))
            partial_size = partials[0].stat().st_size if partials else 0
            time.sleep(0.05)
        assert partial_size >= size // 3, "the download never got going"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    (partial,) = h.root.glob(".large.bin.*.syncd-partial")
    kept = partial.stat().st_size
    h.emulator.stats.reset()
    result = subprocess.run(
        [*command, "--download-limit", "0"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert h.read("large.bin") == data
    assert h.emulator.stats.snapshot().bytes_downloaded == size - kept


# --- selective sync -----------------------------------------------------------------------


def _exclude(h: Harness, rel: str, add: bool = True) -> None:
    with Store.open(h.db_path) as store:
        folders = controls.excluded_folders(store)
        controls.set_excluded(store, [*folders, rel] if add else [f for f in folders if f != rel])


def test_selective_sync_keeps_a_cloud_folder_out_and_deletes_nothing(h: Harness) -> None:
    h.remote_write("photos/2019/a.jpg", "a")
    h.remote_write("photos/2020/b.jpg", "b")
    h.write("doc.txt", "d")
    h.converge()
    _exclude(h, "photos/2019")
    report = h.sync()
    assert report.ok
    # Nothing deleted on either side: the local copy stays, the cloud keeps the folder.
    assert h.read("photos/2019/a.jpg") == b"a"
    assert h.remote_read("photos/2019/a.jpg") == b"a"
    # Changes inside no longer travel, either way.
    h.remote_write("photos/2019/new.jpg", "n")
    h.write("photos/2019/local-only.txt", "mine")
    (h.root / "photos" / "2019" / "a.jpg").unlink()
    assert h.sync().ok
    assert not (h.root / "photos/2019/new.jpg").exists()
    assert "photos/2019/local-only.txt" not in h.remote_tree()
    assert h.remote_read("photos/2019/a.jpg") == b"a"
    # Back in: both sides meet again, still with no deletion.
    _exclude(h, "photos/2019", add=False)
    assert h.sync().ok
    assert h.read("photos/2019/new.jpg") == b"n"
    assert h.remote_read("photos/2019/local-only.txt") == b"mine"
    assert h.read("photos/2019/a.jpg") == b"a"


def test_exclude_commands_find_the_pair_from_a_cloud_path(h: Harness, tmp_path: Path) -> None:
    config = h.write_config(tmp_path / "cli-config.yaml")
    runner = CliRunner()
    result = runner.invoke(main, ["exclude", "add", "--config", str(config), "/sync/photos"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["exclude", "list", "--config", str(config), "--json"])
    assert '"/sync/photos"' in listed.output
    outside = runner.invoke(main, ["exclude", "add", "--config", str(config), "/elsewhere"])
    assert outside.exit_code == 2 and "not inside the cloud folder" in outside.output


def test_exclude_add_warns_about_a_folder_found_nowhere(h: Harness, tmp_path: Path) -> None:
    h.remote_write("photos/a.jpg", "a")  # only in the cloud (not synced yet)
    h.write("music/b.mp3", "b")  # only here
    h.write("notes.txt", "n")  # a file, not a folder
    config = h.write_config(tmp_path / "cli-config.yaml")

    def add(path: str) -> str:
        result = CliRunner().invoke(main, ["exclude", "add", "--config", str(config), path])
        assert result.exit_code == 0, result.output
        return result.stderr

    assert add("/sync/photos") == ""
    assert add("/sync/music") == ""
    assert add("/sync/photso") == (
        "warning: /sync/photso is a folder neither in the cloud nor here (a typo?); "
        "excluded all the same\n"
    )
    assert "/sync/notes.txt is a folder neither" in add("/sync/notes.txt")
    listed = CliRunner().invoke(main, ["exclude", "list", "--config", str(config)])
    assert "/sync/photso" in listed.output  # excluded all the same


# --- conflicts ----------------------------------------------------------------------------


def _conflicted(h: Harness) -> None:
    h.write("a.txt", "v1")
    h.write("b.txt", "b")
    h.converge()
    h.write("a.txt", "local edit")
    h.remote_write("a.txt", "cloud edit!", when=LATER)
    h.converge()
    assert h.read(f"a{COPY}.txt") == b"local edit"


@pytest.mark.parametrize(
    ("keep", "expected", "copy_left"),
    [("local", b"local edit", False), ("remote", b"cloud edit!", False), ("both", None, True)],
)
def test_conflicts_resolve(h: Harness, keep: str, expected: bytes | None, copy_left: bool) -> None:
    _conflicted(h)
    with Store.open(h.db_path) as store:
        controls.resolve_conflict(h.root, store, "a.txt", keep, datetime.now())
        assert store.conflicts() == []
    h.converge()
    assert (f"a{COPY}.txt" in h.remote_tree()) is copy_left
    if expected is not None:
        assert h.remote_read("a.txt") == expected
    # The version that lost the name is not destroyed: it is in the trash.
    if keep == "local":
        assert any(p.read_bytes() == b"cloud edit!" for p in (h.root / ".syncd").rglob("a.txt"))


def test_conflicts_command_lists_and_resolves(h: Harness, tmp_path: Path) -> None:
    _conflicted(h)
    config = h.write_config(tmp_path / "cli-config.yaml")
    listed = CliRunner().invoke(main, ["conflicts", "--config", str(config)])
    assert listed.exit_code == 0 and f"a{COPY}.txt" in listed.output
    done = CliRunner().invoke(
        main, ["conflicts", "resolve", "--config", str(config), "--keep", "remote", "a.txt"]
    )
    assert done.exit_code == 0, done.output


# --- the trash ----------------------------------------------------------------------------


def test_trash_list_restore_and_retention(h: Harness) -> None:
    for i in range(4):
        h.write(f"f{i}.txt", str(i))
    h.converge()
    h.emulator.delete("sync/f1.txt")
    h.converge()
    items = controls.trashed_items(h.root)
    assert [item.rel_path for item in items] == ["f1.txt"]
    controls.restore(h.root, "f1.txt")
    h.converge()
    assert h.remote_read("f1.txt") == b"1"
    # Retention: buckets older than the limit go at the next start.
    old = localfs.state_dir(h.root) / "trash" / "2000-01-01T000000" / "x.txt"
    old.parent.mkdir(parents=True)
    old.write_text("ancient")
    h.sync()
    assert not old.exists()


# --- disk guard and quota -------------------------------------------------------------------


def test_low_disk_pauses_downloads_without_failing_paths(tmp_path, emulator, client) -> None:  # type: ignore[no-untyped-def]
    options = replace(SyncOptions(transfers=2), min_free_space=2**60)
    h = Harness(tmp_path, emulator, client, options=options)
    h.write("up.txt", "goes up")
    h.remote_write("down.txt", "waits")
    report = h.sync()
    assert report.downloads_paused and "local disk" in report.downloads_paused
    assert report.failures == {}
    assert h.remote_read("up.txt") == b"goes up"
    assert not (h.root / "down.txt").exists()
    h.options = SyncOptions(transfers=2)
    h.converge()
    assert h.read("down.txt") == b"waits"


def test_a_full_cloud_pauses_uploads_with_a_clear_status(tmp_path: Path) -> None:
    with harness_with_quota(tmp_path, 1500) as h:
        h.write("small.txt", "s" * 500)
        h.converge()
        h.write("big.bin", b"b" * 1200)
        report = h.sync()
    assert report.uploads_paused and "full" in report.uploads_paused
    assert "big.bin" in report.failures
    assert "NO_SPACE_LEFT" in report.failures["big.bin"] or "space" in report.failures["big.bin"]


# --- bandwidth ------------------------------------------------------------------------------


def test_token_bucket_keeps_the_average_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(1000, clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        bucket.consume(500)
    assert now[0] == pytest.approx(5.0, abs=0.01)  # 5000 B at 1000 B/s, from an empty bucket
    bucket.set_rate(0)  # unlimited, at once
    bucket.consume(10**9)
    assert now[0] == pytest.approx(5.0, abs=0.01)


def test_limit_command_changes_a_running_daemon(tmp_path: Path, h: Harness) -> None:
    from syncd.compose import control_dir
    from syncd.config import load_config
    from syncd.daemon import Daemon
    from syncd.sdnotify import Notifier

    config_path = h.write_config(tmp_path / "cli-config.yaml")
    config = load_config(config_path)
    daemon = Daemon(
        config,
        h.client,
        notifier=Notifier({}),
        install_signals=False,
        engine_factory=None,  # type: ignore[arg-type]
        control=control_dir(config),
    )
    assert daemon.limits.up.rate == 0
    result = CliRunner().invoke(main, ["limit", "--config", str(config_path), "--up", "2 MiB"])
    assert result.exit_code == 0, result.output
    daemon._on_control(signal.SIGUSR1, None)
    assert daemon.limits.up.rate == 2 * 1024 * 1024
    CliRunner().invoke(main, ["limit", "--config", str(config_path), "--reset"])
    daemon._on_control(signal.SIGUSR1, None)
    assert daemon.limits.up.rate == 0


def test_a_download_halted_mid_way_resumes_in_the_same_engine_s_next_run(h: Harness) -> None:
    """A pause halts a run in the middle of a download; the daemon's next run (the same
    engine, whose scan has not seen the partial yet) goes on from where it stopped."""
    size = 4 * 1024 * 1024
    data = os.urandom(size)
    h.write("keep.txt", "k")
    h.converge()
    h.remote_write("big.bin", data)
    engines: list[PairEngine] = []
    seen = [0]

    def halt_once(action: Action, count: int) -> None:
        seen[0] += count
        if seen[0] >= size // 2 and not getattr(halt_once, "done", False):
            halt_once.done = True  # type: ignore[attr-defined]
            engines[0].executor.halt()

    h.emulator.stats.reset()
    with Store.open(h.db_path) as store:
        engines.append(h.engine(store, observers=Observers(progress=halt_once)))
        engines[0].sync()
        assert not (h.root / "big.bin").exists()
        # The daemon's next pass, woken by the resume: no hint, no new listing.
        report = engines[0].run_pass(set(), None, full=False)
        assert report is not None and report.ok
    assert (h.root / "big.bin").read_bytes() == data
    assert h.emulator.stats.snapshot().bytes_downloaded < 2 * size
