"""`syncd sync` as its own program ends the process itself once done (`syncd.cli.process`);
inside a caller it returns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from syncd.cli import main
from syncd.pairlock import PairLock
from tests.integration.harness import Harness


def _program(config: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "syncd", "sync", "--config", str(config), "-q"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_program_ends_with_its_summary_written_and_its_exit_code(
    h: Harness, tmp_path: Path
) -> None:
    h.write("up.txt", "up")
    h.remote_write("down.txt", "down")
    result = _program(h.write_config(tmp_path / "c.yaml"))
    assert result.returncode == 0, result.stderr
    # All the output of a process that ended itself (click flushes each line anyway).
    assert result.stdout == "pair: 1 download, 1 record, 1 upload; 2 B up, 4 B down\n"
    assert h.read("down.txt") == b"down"
    assert h.remote_read("up.txt") == b"up"


def test_the_program_ends_with_exit_code_1_when_a_pair_could_not_sync(
    h: Harness, tmp_path: Path
) -> None:
    config = h.write_config(tmp_path / "c.yaml")
    h.db_path.parent.mkdir(parents=True)
    with PairLock(h.db_path, h.pair.name):
        result = _program(config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("pair: not synced:"), result.stderr


def test_inside_a_click_runner_the_command_returns_instead(h: Harness, tmp_path: Path) -> None:
    h.remote_write("down.txt", "down")
    result = CliRunner().invoke(
        main, ["sync", "-q", "--config", str(h.write_config(tmp_path / "c"))]
    )
    # Still here to check: the test process was not ended with the command.
    assert result.exit_code == 0, result.output
    assert result.output == "pair: 1 download; 0 B up, 4 B down\n"
    assert h.read("down.txt") == b"down"
