"""Desktop notifications from a real `syncd run`: a private session bus, a notification
server on it that records each call, and the daemon told of the bus as a desktop session
tells it (DBUS_SESSION_BUS_ADDRESS)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.emulator import Emulator
from tests.cloud.helpers import seed_token
from tests.desktop_bus import SessionBus, notification_server, session_bus
from tests.integration.test_daemon import STOP_BOUND_S, stop_daemon, wait_for
from tests.integration.test_journal import REMOTE, write_config


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator() as emulator:
        seed_token(emulator, tmp_path / "state" / "token.json")
        yield emulator


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[SessionBus]:
    with session_bus(tmp_path) as running:
        yield running


@pytest.fixture
def docs(emu: Emulator, tmp_path: Path) -> tuple[Path, Path]:
    """A pair `docs` holding both.txt, not synced yet: its folder and its config."""
    local = tmp_path / "docs"
    local.mkdir()
    (local / "both.txt").write_text("base")
    return local, write_config(tmp_path / "config.yaml", emu, tmp_path / "state", local)


def start(config: Path, bus_address: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus_address}
    for name in ("NOTIFY_SOCKET", "JOURNAL_STREAM"):
        env.pop(name, None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(config)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def make_conflict(emu: Emulator, local: Path) -> None:
    """Both sides change docs/both.txt after it was synced."""
    wait_for(lambda: _cloud(emu, "both.txt") == b"base", 60, "the first sync")
    (local / "both.txt").write_text("edited here")
    later = datetime.now() + timedelta(minutes=1)
    emu.put_file(f"{REMOTE}/docs/both.txt", b"edited in the cloud, longer", created=later)


def _cloud(emu: Emulator, rel_path: str) -> bytes | None:
    try:
        return emu.read_file(f"{REMOTE}/docs/{rel_path}")
    except (LookupError, OSError):
        return None


def test_a_conflict_and_a_stopped_pair_reach_the_desktop(
    emu: Emulator, bus: SessionBus, docs: tuple[Path, Path], tmp_path: Path
) -> None:
    local, config = docs
    log = tmp_path / "daemon.log"
    with notification_server(bus.address) as server:
        proc = start(config, bus.address, log)
        try:
            make_conflict(emu, local)
            wait_for(lambda: bool(server.seen("conflict in docs")), 60, "the conflict notice")
            (conflict,) = server.seen("conflict in docs")
            assert conflict.app_name == "syncd"
            assert conflict.body.startswith("both.txt was changed both here and in the cloud.")
            assert "both (conflicted copy " in conflict.body
            assert conflict.hints["urgency"] == ("y", 1)

            local.rename(tmp_path / "moved-away")
            code = proc.wait(timeout=STOP_BOUND_S)
        finally:
            if proc.poll() is None:
                stop_daemon(proc)
        output = log.read_text(errors="replace")
        assert code == 78, output
        # Sent before the daemon exited.
        (stopped,) = server.seen("docs stopped syncing")
        assert "is missing" in stopped.body and stopped.hints["urgency"] == ("y", 2)
        assert stopped.summary == "syncd: docs stopped syncing"
    assert "bWVz" not in "".join(c.body for c in server.calls)  # human paths, never ids


def test_a_bus_that_goes_away_costs_nothing_but_the_notice(
    emu: Emulator, bus: SessionBus, docs: tuple[Path, Path], tmp_path: Path
) -> None:
    local, config = docs
    log = tmp_path / "daemon.log"
    proc = start(config, bus.address, log)
    try:
        wait_for(lambda: _cloud(emu, "both.txt") == b"base", 60, "the first sync")
        bus.stop()  # the desktop session ended
        make_conflict(emu, local)
        # The conflict is made and synced all the same.
        wait_for(
            lambda: any(_cloud(emu, p.name) == b"edited here" for p in local.glob("both (*")),
            60,
            "the conflicted copy in the cloud",
        )
        assert proc.poll() is None
    finally:
        output = stop_daemon(proc)
    assert proc.returncode == 0, output
    assert "Traceback" not in log.read_text(errors="replace")
