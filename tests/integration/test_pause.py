"""Pausing: a paused pass ends where it is, and one pair pauses while the others sync."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd.emulator import Emulator
from syncd.store import Store
from syncd.sync.engine import PairEngine
from syncd.sync.report import Observers
from tests.daemon_proc import DaemonProcess, wait_for
from tests.integration.harness import Harness


def test_a_run_halted_from_outside_ends_the_sync(h: Harness) -> None:
    for i in range(6):
        h.remote_write(f"d{i}/f.txt", "x")
    h.root.mkdir()
    engines: list[PairEngine] = []
    # What the daemon does while a pair is paused: every outcome halts the run again.
    halt = Observers(outcome=lambda _outcome: engines[0].executor.halt())
    with Store.open(h.db_path) as store:
        engines.append(h.engine(store, observers=halt))
        engines[0].sync()
    # One folder was made before the halt; no later pass went on with the rest.
    assert [p.name for p in h.root.iterdir() if not p.name.startswith(".")] == ["d0"]


@pytest.fixture
def two_pairs(tmp_path: Path) -> Iterator[DaemonProcess]:
    with Emulator() as emu:
        daemon = DaemonProcess(emu, tmp_path, ("docs", "photos"), web=False)
        for pair in daemon.pairs:
            emu.put_file(f"sync-{pair}/seed.txt", pair.encode())
        yield daemon


def _status(daemon: DaemonProcess) -> dict[str, Any]:
    return dict(json.loads(daemon.syncd("status", "--json").stdout))


def _pair_state(daemon: DaemonProcess, pair: str) -> str:
    return str(_status(daemon)["pairs"][pair].get("state", ""))


def _in_cloud(emu: Emulator, path: str) -> bool:
    try:
        emu.read_file(path)
    except (LookupError, OSError):
        return False
    return True


def test_pausing_one_pair_leaves_the_other_syncing(two_pairs: DaemonProcess) -> None:
    daemon, emu = two_pairs, two_pairs.emu
    docs, photos = daemon.local("docs"), daemon.local("photos")
    daemon.start()
    try:
        wait_for(lambda: (photos / "seed.txt").exists(), "the first sync")
        wait_for(lambda: (docs / "seed.txt").exists(), "the first sync")
        paused = daemon.syncd("pause", "--pair", "docs")
        assert paused.stdout.strip() == "paused docs"
        wait_for(lambda: _pair_state(daemon, "docs") == "paused", "docs paused")
        report = _status(daemon)
        assert report["pairs"]["photos"]["state"] != "paused"
        assert report["state"] == "idle"  # one pair of two paused: syncd as a whole is not

        (docs / "new.txt").write_text("written while paused")
        (photos / "new.txt").write_text("written meanwhile")
        emu.put_file(
            "sync-docs/from-cloud.txt", b"cloud", created=datetime.now() + timedelta(minutes=1)
        )
        wait_for(lambda: _in_cloud(emu, "sync-photos/new.txt"), "the other pair's upload")
        # Let the paused pair see several listings and its local change: still nothing.
        listed = emu.stats.snapshot().calls["folder_get"]
        wait_for(
            lambda: emu.stats.snapshot().calls["folder_get"] >= listed + 6,
            "three more polls of each pair",
        )
        assert not _in_cloud(emu, "sync-docs/new.txt")
        assert not (docs / "from-cloud.txt").exists()
        assert _pair_state(daemon, "docs") == "paused"

        resumed = daemon.syncd("resume", "--pair", "docs")
        assert resumed.stdout.strip() == "resumed docs"
        wait_for(lambda: _in_cloud(emu, "sync-docs/new.txt"), "the resumed pair's upload")
        wait_for(lambda: (docs / "from-cloud.txt").exists(), "its download")
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output


def test_pausing_an_unknown_pair_is_an_error(two_pairs: DaemonProcess) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        two_pairs.syncd("pause", "--pair", "music")
    assert failed.value.returncode == 2
    assert "no folder pair named 'music'" in failed.value.stderr
