"""Control of the daemon reaches the daemon and nothing else: the pid file is the daemon's
only once it holds its pairs, names it by pid *and* start time, and is removed only by it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd.cli import main
from syncd.compose import control_dir, open_client
from syncd.config import load_config
from syncd.daemon import Daemon
from syncd.emulator import Emulator
from syncd.status import PID_FILE, STATUS_FILE, DaemonId, process_start
from tests.integration.test_daemon import NotifySocket, setup, start_daemon, wait_for

__all__ = ["setup"]  # the fixture


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process, such as the one a reused pid may belong to after a crash
    (SIGUSR1 would end it: its default action is to terminate)."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


def run_cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--config", str(config)])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "pid_file", ["{pid}\n", "{pid} {wrong_start}\n"], ids=["pid-only", "reused-pid"]
)
def test_control_commands_never_signal_a_process_that_is_not_the_daemon(
    setup: tuple[Emulator, Path, Path],
    tmp_path: Path,
    bystander: subprocess.Popen[bytes],
    pid_file: str,
) -> None:
    _, _, config = setup
    state = control_dir(load_config(config))
    state.mkdir(parents=True)
    start = process_start(bystander.pid)
    assert start is not None
    (state / PID_FILE).write_text(
        pid_file.format(pid=bystander.pid, wrong_start=start - 1), encoding="utf-8"
    )
    assert run_cli(config, "pause") == (0, "paused (the daemon is not running; it starts paused)\n")
    assert run_cli(config, "resume")[0] == 0
    assert run_cli(config, "limit", "--up", "1 MiB")[0] == 0
    code, output = run_cli(config, "status", "--json")
    assert code == 0 and json.loads(output)["daemon"] == "not running"
    assert bystander.poll() is None, "a bystander got the daemon's signal"


def test_a_refused_second_daemon_leaves_the_first_in_control(
    setup: tuple[Emulator, Path, Path], tmp_path: Path
) -> None:
    _, _, config = setup
    state = control_dir(load_config(config))
    notify = NotifySocket(tmp_path / "notify.sock")
    first = start_daemon(config, notify)
    try:
        wait_for(lambda: notify.seen("READY", "1"), 60, "READY=1")
        first_id = DaemonId.parse((state / PID_FILE).read_text(encoding="utf-8"))
        assert first_id == DaemonId(first.pid, process_start(first.pid) or -1)
        second = subprocess.run(
            [sys.executable, "-m", "syncd", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1, second.stderr
        assert "being synced by another syncd process" in second.stderr
        # The first daemon's pid file is untouched, so pause still reaches it.
        assert DaemonId.parse((state / PID_FILE).read_text(encoding="utf-8")) == first_id
        assert run_cli(config, "pause") == (0, "paused\n")
        wait_for(lambda: _state(state) == "paused", 60, "the first daemon to pause")
    finally:
        first.terminate()
        first.communicate(timeout=60)
        notify.close()
    assert first.returncode == 0
    assert not (state / PID_FILE).exists()  # removed by the daemon that wrote it


def _state(state_dir: Path) -> str | None:
    try:
        return str(json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))["state"])
    except (OSError, ValueError, KeyError):
        return None


def test_free_space_is_read_at_once_on_a_machine_just_booted(
    setup: tuple[Emulator, Path, Path], tmp_path: Path
) -> None:
    """A monotonic clock starts near 0 at boot: a service started then must still read the
    cloud's free space in its first status, not 5 minutes later."""
    _, _, config_path = setup
    config = load_config(config_path)
    config = dataclasses.replace(config, pairs=())  # no pairs: only the status
    with open_client(config) as client:
        daemon = Daemon(
            config,
            client,
            install_signals=False,
            engine_factory=lambda *args: pytest.fail("no pair to sync"),
            clock=lambda: 12.0,  # 12 s after boot
            control=control_dir(config),
        )
        runner = threading.Thread(target=daemon.run)
        runner.start()
        try:
            wait_for(lambda: _free_space(control_dir(config)) is not None, 60, "the free space")
        finally:
            daemon.stop.set()
            runner.join(60)
    assert (_free_space(control_dir(config)) or 0) > 0


def _free_space(state_dir: Path) -> int | None:
    try:
        value = json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))["free_space"]
    except (OSError, ValueError, KeyError):
        return None
    return int(value) if value is not None else None
