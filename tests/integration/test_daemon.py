"""`syncd run` as a real subprocess: the notify protocol, changes flowing both ways with no
manual trigger, pause, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.emulator import Emulator
from tests.cloud.helpers import seed_token

REMOTE = "sync"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class NotifySocket:
    """The systemd side of sd_notify: a datagram socket that collects what the daemon says,
    read all along as systemd reads it (a socket nobody reads fills up, and its sender
    waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[dict[str, str]] = []
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closing.is_set():
            self._receive()

    def _receive(self) -> bool:
        try:
            data = self.sock.recv(4096)
        except (TimeoutError, BlockingIOError):
            return False
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        self.messages.append(fields)
        return True

    def seen(self, key: str, value: str | None = None) -> bool:
        return any(key in m and (value is None or m[key] == value) for m in list(self.messages))

    def close(self) -> None:
        self._closing.set()
        self._reader.join()
        while self._receive():  # what the daemon said last
            pass
        self.sock.close()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Emulator, Path, Path]]:
    with Emulator() as emu:
        token_file = tmp_path / "state" / "token.json"
        seed_token(emu, token_file)
        local = tmp_path / "local"
        config = tmp_path / "config.yaml"
        config.write_text(
            f"""
cloud:
  api_url: {emu.api_base}
  content_url: {emu.content_base}
  authorize_url: {emu.authorize_url}
  token_url: {emu.token_url}
  client_id: syncd-emulator
  client_secret: syncd-emulator-secret
  token_file: {token_file}
state_dir: {tmp_path / "state"}
sync:
  poll_interval: 1
  debounce: 0.3
pairs:
  - local: {local}
    remote: /{REMOTE}
""",
            encoding="utf-8",
        )
        yield emu, local, config


def start_daemon(config: Path, notify: NotifySocket, **env: str) -> subprocess.Popen[bytes]:
    environ = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000", **env}
    environ.pop("JOURNAL_STREAM", None)
    return subprocess.Popen(
        [sys.executable, "-m", "syncd", "run", "--config", str(config)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


# A stop that takes longer is a hang (the daemon's own deadline is 8 s); how long a stop
# really takes is the benchmark's `daemon_stop` figure.
STOP_BOUND_S = 60


def stop_daemon(proc: subprocess.Popen[bytes]) -> str:
    """SIGTERM, then the daemon's output once it has exited; a hang fails the test (and the
    process is killed, not left behind for a later test to trip over)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return (proc.communicate(timeout=STOP_BOUND_S)[0] or b"").decode()
    except subprocess.TimeoutExpired:
        proc.kill()
        output = (proc.communicate()[0] or b"").decode()
        message = f"the daemon did not stop within {STOP_BOUND_S} s:\n{output}"
        raise AssertionError(message) from None


def test_daemon_syncs_both_ways_and_speaks_the_notify_protocol(
    setup: tuple[Emulator, Path, Path], tmp_path: Path
) -> None:
    emu, local, config = setup
    notify = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, notify)
    try:
        wait_for(lambda: notify.seen("READY", "1"), 30, "READY=1")
        wait_for(lambda: (local / ".syncd").is_dir(), 30, "the first pass")

        # A local save reaches the cloud with no manual trigger.
        (local / "note.txt").write_text("written locally")
        wait_for(
            lambda: _remote_bytes(emu, "note.txt") == b"written locally", 30, "upload of note.txt"
        )

        # A cloud edit reaches the disk within the poll interval.
        later = datetime.now() + timedelta(minutes=1)
        emu.put_file(f"{REMOTE}/from-cloud.txt", b"written in the cloud", created=later)
        wait_for(
            lambda: (
                (local / "from-cloud.txt").exists()
                and (local / "from-cloud.txt").read_bytes() == b"written in the cloud"
            ),
            30,
            "download of from-cloud.txt",
        )

        wait_for(lambda: notify.seen("WATCHDOG", "1"), 30, "WATCHDOG=1")
        assert notify.seen("STATUS")

        # A one-off sync of the same pair is refused while the daemon holds it.
        clash = subprocess.run(
            [sys.executable, "-m", "syncd", "sync", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert clash.returncode == 1 and "being synced by another syncd process" in clash.stderr

        # `syncd status` reads the running daemon's state (and the store, read-only).
        status = subprocess.run(
            [sys.executable, "-m", "syncd", "status", "--config", str(config), "--json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["daemon"] == "running" and report["pid"] == proc.pid
        (pair,) = report["pairs"].values()
        assert pair["last_sync"] and pair["errors"] == [] and pair["state"] in ("idle", "syncing")
        assert report["free_space"] > 0
        paused = subprocess.run(
            [sys.executable, "-m", "syncd", "pause", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert paused.returncode == 0 and paused.stdout.strip() == "paused"
        wait_for(lambda: _status(config)["state"] == "paused", 30, "the paused state")
        subprocess.run(
            [sys.executable, "-m", "syncd", "resume", "--config", str(config)], timeout=30
        )
        wait_for(lambda: _status(config)["state"] != "paused", 30, "the resumed state")
    finally:
        output = stop_daemon(proc)
        notify.close()
    assert proc.returncode == 0, output
    assert any(m.get("STOPPING") == "1" for m in notify.messages)
    assert not list(local.rglob("*.syncd-partial"))


def test_daemon_stops_with_78_when_not_logged_in(
    setup: tuple[Emulator, Path, Path], tmp_path: Path
) -> None:
    _, _, config = setup
    (tmp_path / "state" / "token.json").unlink()
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 78
    assert "syncd auth login" in result.stderr


def test_daemon_exits_78_when_the_root_vanishes_and_deletes_nothing(
    setup: tuple[Emulator, Path, Path], tmp_path: Path
) -> None:
    emu, local, config = setup
    local.mkdir()
    for i in range(3):
        (local / f"f{i}.txt").write_text(str(i))
    notify = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, notify)
    try:
        # All three, or the rename could race an upload still reading its file.
        wait_for(
            lambda: all(_remote_bytes(emu, f"f{i}.txt") == str(i).encode() for i in range(3)),
            30,
            "the first sync",
        )
        local.rename(tmp_path / "moved-away")
        code = proc.wait(timeout=STOP_BOUND_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate()[0].decode()
        notify.close()
    assert code == 78, output
    assert all(_remote_bytes(emu, f"f{i}.txt") == str(i).encode() for i in range(3))


def _status(config: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "syncd", "status", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return dict(json.loads(out))


def _remote_bytes(emu: Emulator, rel_path: str) -> bytes | None:
    try:
        return emu.read_file(f"{REMOTE}/{rel_path}")
    except (FileNotFoundError, KeyError, LookupError, OSError):
        return None


def test_sigterm_during_a_transfer_stops_fast_and_the_next_start_resumes(
    setup: tuple[Emulator, Path, Path], tmp_path: Path
) -> None:
    emu, local, config = setup
    size = 32 * 1024 * 1024
    data = os.urandom(size)
    emu.put_file(f"{REMOTE}/large.bin", data)
    text = config.read_text(encoding="utf-8").replace(
        "  debounce: 0.3\n", "  debounce: 0.3\n  download_limit: 4 MiB\n"
    )
    config.write_text(text, encoding="utf-8")
    notify = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, notify)
    try:
        wait_for(
            lambda: any(p.stat().st_size > 4 * 1024 * 1024 for p in local.glob(".large.bin.*")),
            30,
            "the download to get going",
        )
        output = stop_daemon(proc)
    finally:
        if proc.poll() is None:  # a failed wait above
            proc.kill()
            proc.communicate()
        notify.close()
    assert proc.returncode == 0, output
    # The transfer stopped at the signal, well inside the daemon's stop deadline (how fast:
    # the benchmark's `daemon_stop` figure).
    assert "after the stop; exiting anyway" not in output, output
    assert not (local / "large.bin").exists()  # nothing half-written at the final path
    (partial,) = local.glob(".large.bin.*.syncd-partial")
    kept = partial.stat().st_size

    emu.stats.reset()
    config.write_text(text.replace("  download_limit: 4 MiB\n", ""), encoding="utf-8")
    notify = NotifySocket(tmp_path / "notify2.sock")
    proc = start_daemon(config, notify)
    try:
        wait_for(lambda: (local / "large.bin").exists(), 60, "the download to finish")
    finally:
        stop_daemon(proc)
        notify.close()
    assert (local / "large.bin").read_bytes() == data
    assert emu.stats.snapshot().bytes_downloaded == size - kept
