"""What `syncd run` tells its journal, read from a real daemon's stderr under JOURNAL_STREAM;
the status it publishes; and several configs side by side with one state folder."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd import __version__
from syncd.cli import main
from syncd.compose import control_dir
from syncd.config import load_config
from syncd.emulator import Emulator
from syncd.status import PID_FILE, STATUS_FILE, DaemonId
from tests.cloud.helpers import seed_token
from tests.integration.test_daemon import wait_for

REMOTE = "sync"
ID_PREFIX = "bWVz"  # every emulator id starts so: base64 of "mes dossiers partenaires/"


class Journal:
    """A daemon's stderr as journald gets it: a pipe named by JOURNAL_STREAM, read on."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        st = os.fstat(self.write_fd)
        self.stream = f"{st.st_dev}:{st.st_ino}"
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with os.fdopen(self.read_fd, "r", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                self.lines.append(line.rstrip("\n"))

    def has(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in list(self.lines))

    def has_after(self, first: str, then: str) -> bool:
        """A line matching `then` somewhere after the first line matching `first`."""
        lines = list(self.lines)
        for index, line in enumerate(lines):
            if re.search(first, line):
                return any(re.search(then, later) for later in lines[index + 1 :])
        return False

    def close(self) -> None:
        os.close(self.write_fd)
        self._reader.join(30)


def write_config(path: Path, emu: Emulator, state: Path, local: Path, **sync: object) -> Path:
    options = {"poll_interval": 1, "debounce": 0.3, **sync}
    lines = "".join(f"  {key}: {value}\n" for key, value in options.items())
    path.write_text(
        f"""
cloud:
  api_url: {emu.api_base}
  content_url: {emu.content_base}
  token_url: {emu.token_url}
  client_id: syncd-emulator
  client_secret: syncd-emulator-secret
  token_file: {state / "token.json"}
state_dir: {state}
sync:
{lines}pairs:
  - name: {local.name}
    local: {local}
    remote: /{REMOTE}/{local.name}
""",
        encoding="utf-8",
    )
    return path


def start(config: Path, journal: Journal | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ}
    env.pop("NOTIFY_SOCKET", None)
    if journal is not None:
        env["JOURNAL_STREAM"] = journal.stream
    else:
        env.pop("JOURNAL_STREAM", None)
    return subprocess.Popen(
        [sys.executable, "-m", "syncd", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=journal.write_fd if journal is not None else subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator() as emulator:
        seed_token(emulator, tmp_path / "state" / "token.json")
        yield emulator


def status_of(config: Path) -> dict[str, object]:
    result = CliRunner().invoke(main, ["status", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_the_journal_tells_the_story_in_human_paths(emu: Emulator, tmp_path: Path) -> None:
    local = tmp_path / "docs"
    local.mkdir()
    (local / "gone.txt").write_text("to be deleted in the cloud")
    (local / "both.txt").write_text("base")
    config = write_config(tmp_path / "config.yaml", emu, tmp_path / "state", local)
    journal = Journal()
    proc = start(config, journal)
    try:
        cloud = f"{REMOTE}/docs"
        wait_for(lambda: journal.has(r"uploaded both\.txt \(4 B\)"), 60, "the first pass")
        (local / "notes").mkdir()
        (local / "notes" / "todo.txt").write_text("x" * 1300)
        wait_for(lambda: journal.has(r"uploaded notes/todo\.txt \(1\.3 KiB\)"), 60, "an upload")
        later = datetime.now() + timedelta(minutes=1)
        emu.put_file(f"{cloud}/from-cloud.txt", b"cloud", created=later)
        emu.delete(f"{cloud}/gone.txt")
        wait_for(lambda: journal.has(r"downloaded from-cloud\.txt \(5 B\)"), 60, "a download")
        wait_for(lambda: journal.has(r"trashed gone\.txt \(deleted in the cloud\)"), 60, "trash")
        (local / "both.txt").write_text("edited here")
        emu.put_file(f"{cloud}/both.txt", b"edited in the cloud, longer", created=later)
        wait_for(lambda: journal.has(r"conflict: both\.txt kept both \(both \(conflicted"), 60,
                 "the conflict")  # fmt: skip
        emu.move(f"{cloud}/notes", f"{cloud}/archive")
        moved = r"moved notes/ -> archive/ here \(moved in the cloud\)"
        wait_for(lambda: journal.has(moved), 60, "the move")
        # The summary of the pass that made the move comes at its end, after the move.
        wait_for(lambda: journal.has_after(moved, r"pass done: "), 60, "its pass summary")
        # Idle polls say nothing: three more listings, not one more line.
        settled = len(journal.lines)
        polls = emu.stats.snapshot().calls["folder_get"]
        wait_for(lambda: emu.stats.snapshot().calls["folder_get"] >= polls + 3, 60, "3 polls")
        assert journal.lines[settled:] == []
    finally:
        code = stop(proc)
        journal.close()
    assert code == 0
    text = "\n".join(journal.lines)
    assert re.search(
        rf"^<6>syncd\.daemon: syncd {re.escape(__version__)} started: 1 pair \(docs: "
        rf"{re.escape(str(local))} <-> /{REMOTE}/docs\); cloud polled every 1 s; "
        r"limits: up unlimited, down unlimited$",
        text,
        re.M,
    ), text
    assert re.search(r"^<6>syncd\.sync\.runner: docs: uploaded both\.txt \(4 B\)$", text, re.M), (
        text
    )
    assert re.search(r"^<6>syncd\.sync\.runner: docs: pass done: .*; \d+\.\d s$", text, re.M), text
    assert ID_PREFIX not in text  # no cloud id in any line
    assert ".syncd-upload-" not in text  # nor a hidden temporary's name
    assert all(re.match(r"<[0-7]>", line) for line in journal.lines), journal.lines


def test_a_fatal_error_reaches_the_journal_at_error_priority(emu: Emulator, tmp_path: Path) -> None:
    local = tmp_path / "docs"
    config = write_config(tmp_path / "config.yaml", emu, tmp_path / "state", local)
    (tmp_path / "state" / "token.json").unlink()
    journal = Journal()
    proc = start(config, journal)
    code = proc.wait(timeout=60)
    journal.close()
    assert code == 78
    assert any(
        line.startswith("<3>syncd: ") and "syncd auth login" in line for line in journal.lines
    ), journal.lines


def test_status_says_offline_from_the_first_failed_call_and_shows_the_limits(
    emu: Emulator, tmp_path: Path
) -> None:
    local = tmp_path / "docs"
    config = write_config(
        tmp_path / "config.yaml",
        emu,
        tmp_path / "state",
        local,
        upload_limit="'2 MiB'",
    )
    text = config.read_text(encoding="utf-8")
    # Retries that would go on for many minutes before a listing failed for good.
    config.write_text(text.replace("token_file:", "max_attempts: 50\n  token_file:"))
    proc = start(config)
    try:
        wait_for(lambda: status_of(config)["state"] == "idle", 60, "the first pass")
        report = status_of(config)
        assert report["limits"] == {"upload": 2 * 1024 * 1024, "download": 0}
        output = CliRunner().invoke(main, ["status", "--config", str(config)]).output
        assert "  limits: up 2.0 MiB/s, down unlimited\n" in output
        emu.faults.update(error_5xx_rate=1.0)
        wait_for(lambda: status_of(config)["state"] == "offline", 30, "offline")
        problem = str(status_of(config)["cloud_problem"])
        assert problem.endswith(
            ("An unexpected error occurred", "temporarily unavailable", "over capacity")
        ), problem
        assert ID_PREFIX not in problem
        emu.faults.clear()
        wait_for(lambda: status_of(config)["state"] == "idle", 60, "back online")
    finally:
        assert stop(proc) == 0


def test_two_configs_with_one_state_folder_keep_apart(emu: Emulator, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first_root, second_root = tmp_path / "work", tmp_path / "home"
    first = write_config(tmp_path / "work.yaml", emu, state, first_root)
    second = write_config(tmp_path / "home.yaml", emu, state, second_root)
    assert control_dir(load_config(first)) != control_dir(load_config(second))
    one, two = start(first), start(second)
    try:
        wait_for(lambda: status_of(first)["pid"] == one.pid, 60, "the first daemon")
        wait_for(lambda: status_of(second)["pid"] == two.pid, 60, "the second daemon")
        assert set(status_of(first)["pairs"]) == {"work"}  # type: ignore[call-overload]
        assert set(status_of(second)["pairs"]) == {"home"}  # type: ignore[call-overload]
        CliRunner().invoke(main, ["pause", "--config", str(first)])
        wait_for(lambda: status_of(first)["state"] == "paused", 60, "the first to pause")
        assert status_of(second)["state"] != "paused"
    finally:
        assert stop(one) == 0 and stop(two) == 0


def test_status_reads_a_status_file_it_did_not_write(emu: Emulator, tmp_path: Path) -> None:
    """One written by another syncd version, or with pairs this config does not have."""
    local = tmp_path / "docs"
    config = write_config(tmp_path / "config.yaml", emu, tmp_path / "state", local)
    control = control_dir(load_config(config))
    control.mkdir(parents=True)
    me = DaemonId.of_this_process()  # a live process stands for the daemon
    (control / PID_FILE).write_text(me.render(), encoding="utf-8")
    (control / STATUS_FILE).write_text(
        json.dumps(
            {
                "pid": me.pid,
                "state": "idle",
                "pairs": {"other": {"state": "idle", "future_key": 1}, "docs": {"state": "idle"}},
                "something_new": True,
            }
        ),
        encoding="utf-8",
    )
    report = status_of(config)
    assert report["daemon"] == "running" and set(report["pairs"]) == {"docs"}  # type: ignore[call-overload]
    result = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert result.exit_code == 0 and "docs: idle" in result.output, result.output
