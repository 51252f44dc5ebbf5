"""Pausing: a paused pass ends where it is, and one pair pauses while the others sync."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.emulator import Emulator
from syncd.store import Store
from tests.cloud.helpers import seed_token
from tests.integration.harness import Harness
from tests.integration.test_daemon import wait_for


def test_a_run_halted_from_outside_ends_the_sync(h: Harness) -> None:
    for i in range(6):
        h.remote_write(f"d{i}/f.txt", "x")
    h.root.mkdir()
    with Store.open(h.db_path) as store:
        engine = h.engine(store)
        # What the daemon does while a pair is paused: every outcome halts the run again.
        engine.on_outcome = lambda _outcome: engine.executor.stop_run.set()
        engine.sync()
    # One folder was made before the halt; no later pass went on with the rest.
    assert [p.name for p in h.root.iterdir() if not p.name.startswith(".")] == ["d0"]


@pytest.fixture
def two_pairs(tmp_path: Path) -> Iterator[tuple[Emulator, Path, Path]]:
    with Emulator() as emu:
        token_file = tmp_path / "state" / "token.json"
        seed_token(emu, token_file)
        config = tmp_path / "config.yaml"
        config.write_text(
            f"""
cloud:
  api_url: {emu.api_base}
  content_url: {emu.content_base}
  token_url: {emu.token_url}
  client_id: syncd-emulator
  client_secret: syncd-emulator-secret
  token_file: {token_file}
state_dir: {tmp_path / "state"}
sync:
  poll_interval: 1
  debounce: 0.2
pairs:
  - {{name: docs, local: {tmp_path / "docs"}, remote: /docs}}
  - {{name: photos, local: {tmp_path / "photos"}, remote: /photos}}
""",
            encoding="utf-8",
        )
        yield emu, tmp_path, config


def _syncd(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    environ = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(config)],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _pair_states(config: Path) -> dict[str, str]:
    report = json.loads(_syncd(config, "status", "--json").stdout)
    return {name: pair.get("state", "") for name, pair in report["pairs"].items()}


def _in_cloud(emu: Emulator, path: str) -> bool:
    try:
        emu.read_file(path)
    except (LookupError, OSError):
        return False
    return True


def test_pausing_one_pair_leaves_the_other_syncing(
    two_pairs: tuple[Emulator, Path, Path],
) -> None:
    emu, home, config = two_pairs
    emu.put_file("docs/seed.txt", b"d")
    emu.put_file("photos/seed.txt", b"p")
    log = home / "daemon.log"
    proc = _start(config, log)
    try:
        wait_for(lambda: (home / "photos" / "seed.txt").exists(), 30, "the first sync")
        wait_for(lambda: (home / "docs" / "seed.txt").exists(), 30, "the first sync")
        paused = _syncd(config, "pause", "--pair", "docs")
        assert paused.returncode == 0 and paused.stdout.strip() == "paused docs", paused
        wait_for(lambda: _pair_states(config).get("docs") == "paused", 20, "docs paused")
        report = json.loads(_syncd(config, "status", "--json").stdout)
        assert report["pairs"]["photos"]["state"] != "paused"
        assert report["state"] == "idle"  # one pair of two paused: syncd as a whole is not

        (home / "docs" / "new.txt").write_text("written while paused")
        (home / "photos" / "new.txt").write_text("written meanwhile")
        emu.put_file("docs/from-cloud.txt", b"cloud", created=datetime.now() + timedelta(minutes=1))
        wait_for(lambda: _in_cloud(emu, "photos/new.txt"), 20, "the other pair's upload")
        # Let the paused pair see several listings and its local change: still nothing.
        listed = emu.stats.snapshot().calls.get("folder_get", 0)
        wait_for(
            lambda: emu.stats.snapshot().calls.get("folder_get", 0) >= listed + 6,
            30,
            "three more polls of each pair",
        )
        assert not _in_cloud(emu, "docs/new.txt")
        assert not (home / "docs" / "from-cloud.txt").exists()
        assert _pair_states(config)["docs"] == "paused"

        resumed = _syncd(config, "resume", "--pair", "docs")
        assert resumed.returncode == 0 and resumed.stdout.strip() == "resumed docs", resumed
        wait_for(lambda: _in_cloud(emu, "docs/new.txt"), 20, "the resumed pair's upload")
        wait_for(lambda: (home / "docs" / "from-cloud.txt").exists(), 20, "its download")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()


def test_pausing_an_unknown_pair_is_an_error(two_pairs: tuple[Emulator, Path, Path]) -> None:
    _, _, config = two_pairs
    result = _syncd(config, "pause", "--pair", "music")
    assert result.returncode == 2
    assert "no folder pair named 'music'" in result.stderr
