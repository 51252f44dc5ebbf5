"""Names are shown safely wherever they reach a terminal or a log line: control characters
and escape sequences escaped, and never read as rich markup.

The names are real: files created in the emulator and on disk, synced by the real
commands, whose output is read as a user's terminal would receive it."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pty
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd.cli import main
from syncd.logs import setup_logging
from syncd.store import Store
from tests.integration.harness import Harness, harness_with_quota, run_syncd

ESC = "a\x1b[2Jb.txt"  # clears the screen where it is printed raw
ESC_SHOWN = "a\\x1b[2Jb.txt"
MARKUP = "[red]x.txt"  # turns red, and loses its name, where rich reads it as markup
BIDI = "txt\u202egnp.exe"  # shows as "txtexe.png" where printed raw
BIDI_SHOWN = "txt\\u202egnp.exe"
LATER = datetime.now() + timedelta(minutes=5)


def _assert_safe(output: str) -> None:
    assert "\x1b[2J" not in output and "\u202e" not in output, output


def _cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(config)])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    return output


@pytest.fixture
def named(h: Harness, tmp_path: Path) -> Path:
    """The cloud holds the three names (and a file to keep the tree from looking empty)."""
    for name in (ESC, MARKUP, BIDI, "plain.txt"):
        h.remote_write(name, name)
    return h.write_config(tmp_path / "config.yaml")


def test_sync_prints_the_names_escaped_and_as_they_are(h: Harness, named: Path) -> None:
    result = run_syncd(named, "sync")
    assert result.returncode == 0, result.stderr
    _assert_safe(result.stdout + result.stderr)
    assert f"download      {ESC_SHOWN} (" in result.stdout
    assert f"download      {MARKUP} (" in result.stdout
    assert f"download      {BIDI_SHOWN} (" in result.stdout
    assert h.read(ESC) == ESC.encode()  # the files themselves keep their names


def test_the_dry_run_prints_the_names_escaped(named: Path) -> None:
    result = run_syncd(named, "sync", "--dry-run")
    assert result.returncode == 0, result.stderr
    _assert_safe(result.stdout)
    assert ESC_SHOWN in result.stdout and MARKUP in result.stdout


@contextlib.contextmanager
def _terminal() -> Iterator[tuple[int, io.BytesIO]]:
    """A pseudo-terminal to run a command on (its slave end), and all it received."""
    master, slave = pty.openpty()
    received = io.BytesIO()

    def drain() -> None:
        with contextlib.suppress(OSError):  # EIO once every writer has closed the slave
            while chunk := os.read(master, 65536):
                received.write(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        yield slave, received
    finally:
        os.close(slave)
        reader.join(timeout=60)
        os.close(master)


def test_the_progress_display_on_a_terminal_prints_them_escaped_and_not_as_markup(
    h: Harness, named: Path
) -> None:
    with _terminal() as (slave, received):
        result = subprocess.run(
            [sys.executable, "-m", "syncd", "sync", "--config", str(named)],
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=120,
            env={**os.environ, "COLUMNS": "200", "TERM": "xterm"},
        )
    assert result.returncode == 0
    shown = received.getvalue().decode("utf-8")
    _assert_safe(shown)
    assert ESC_SHOWN in shown and MARKUP in shown and BIDI_SHOWN in shown


def test_cloud_ls_and_info_print_them_escaped(named: Path) -> None:
    listed = _cli(named, "cloud", "ls", "/sync")
    recursive = _cli(named, "cloud", "ls", "-R", "/sync")
    info = _cli(named, "cloud", "info", f"/sync/{ESC}")
    as_json = _cli(named, "cloud", "ls", "--json", "/sync")
    for output in (listed, recursive, info, as_json):
        _assert_safe(output)
    assert ESC_SHOWN in listed and MARKUP in listed and BIDI_SHOWN in listed
    assert ESC_SHOWN in recursive and f"name:          {ESC_SHOWN}" in info
    assert "a\\u001b[2Jb.txt" in as_json and "txt\\u202egnp.exe" in as_json


def test_an_error_line_prints_the_name_escaped(named: Path) -> None:
    output = _cli(named, "cloud", "info", "/sync/gone\x1b[2J.txt")
    _assert_safe(output)
    assert "syncd: " in output and "gone\\x1b[2J.txt" in output


def test_status_prints_failed_paths_escaped(tmp_path: Path) -> None:
    with harness_with_quota(tmp_path, 1500) as h:
        h.write("small.txt", "s" * 500)
        h.converge()
        h.write(ESC, b"b" * 1200)  # over the quota: the upload fails, and is recorded
        config = h.write_config(tmp_path / "config.yaml")
        synced = run_syncd(config, "sync")
        status = _cli(config, "status")
        as_json = _cli(config, "status", "--json")
    assert synced.returncode == 1
    _assert_safe(synced.stdout + synced.stderr)
    assert f"failed: {ESC_SHOWN}: " in synced.stderr
    _assert_safe(status)
    assert f"error: {ESC_SHOWN}: upload: " in status
    _assert_safe(as_json)
    assert "a\\u001b[2Jb.txt" in as_json


def test_conflicts_and_the_trash_print_them_escaped(h: Harness, tmp_path: Path) -> None:
    for name in (ESC, MARKUP, "keep-1.txt", "keep-2.txt"):
        h.write(name, "v1")
    h.converge()
    h.write(ESC, "local v2")
    h.remote_write(ESC, "cloud v2", when=LATER)
    h.emulator.delete(f"sync/{MARKUP}")
    h.sync()  # a conflicted copy of ESC; MARKUP moved to the trash
    config = h.write_config(tmp_path / "config.yaml")
    conflicts = _cli(config, "conflicts")
    trash = _cli(config, "trash", "list")
    for output in (conflicts, trash):
        _assert_safe(output)
    assert f"  {ESC_SHOWN}: the local version is in a\\x1b[2Jb (conflicted copy" in conflicts
    assert trash.rstrip().endswith(f"  {MARKUP}")
    with Store.open(h.db_path) as store:
        assert [c.original for c in store.conflicts()] == [ESC]  # stored as it is


def test_log_lines_show_names_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "syncd.log"
    setup_logging(level="info", log_file=log_file, environ={})
    try:
        logging.getLogger("syncd.test").warning("cannot read %s (%r)", ESC, BIDI)
        logging.getLogger("syncd.test").warning(f"an f-string with {ESC}")
        try:
            raise ValueError(f"cannot open {ESC}")
        except ValueError:
            logging.getLogger("syncd.test").exception("a traceback")
    finally:
        for handler in logging.getLogger().handlers:
            handler.close()
        logging.getLogger().handlers.clear()
    written = log_file.read_text(encoding="utf-8")
    printed = capsys.readouterr().err
    for output in (written, printed):
        _assert_safe(output)
        assert f"cannot read {ESC_SHOWN} ('txt\\u202egnp.exe')" in output
        assert f"an f-string with {ESC_SHOWN}" in output
        assert f"ValueError: cannot open {ESC_SHOWN}" in output
        assert "Traceback (most recent call last):\n" in output


def test_a_verbose_sync_logs_nothing_raw(named: Path) -> None:
    result = run_syncd(named, "sync", "-v")
    assert result.returncode == 0, result.stderr
    _assert_safe(result.stdout + result.stderr)
