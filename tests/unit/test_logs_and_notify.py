"""Journald-aware logging, secret redaction, and the sd_notify datagrams."""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

import pytest

from syncd.logs import JournalFormatter, RedactingFilter, setup_logging, under_journal
from syncd.sdnotify import Notifier


def test_journal_stream_is_recognised_only_for_our_own_stderr(tmp_path: Path) -> None:
    log_file = tmp_path / "out"
    with open(log_file, "w") as handle:
        st = os.fstat(handle.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert under_journal(env, stream_fd=handle.fileno())
        assert not under_journal({"JOURNAL_STREAM": "1:2"}, stream_fd=handle.fileno())
        assert not under_journal({}, stream_fd=handle.fileno())


def test_journal_lines_carry_priorities_and_no_timestamps() -> None:
    formatter = JournalFormatter("%(message)s")
    record = logging.LogRecord("syncd.x", logging.WARNING, __file__, 1, "careful", None, None)
    assert formatter.format(record) == "<4>syncd.x: careful"
    record = logging.LogRecord("syncd.x", logging.DEBUG, __file__, 1, "detail", None, None)
    assert formatter.format(record) == "<7>syncd.x: detail"


def test_tokens_are_redacted_from_any_log_line(capsys: pytest.CaptureFixture[str]) -> None:
    token = "OFR-" + "ab12" * 25
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        setup_logging(verbose=2)
        log = logging.getLogger("syncd.test")
        log.debug("refreshed %s", token)
        log.info("header Authorization: Bearer %s", token)
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    assert token not in err and token[:30] not in err
    assert "OFR-ab12ab12…" in err


def test_redacting_filter_leaves_plain_messages_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "uploaded %s", ("a.txt",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "uploaded a.txt"


def test_notifier_speaks_the_protocol(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    try:
        notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "30000000"})
        assert notifier.enabled and notifier.watchdog_interval_s == 30
        notifier.ready("syncing 1 folder pair(s)")
        notifier.watchdog()
        notifier.stopping()
        notifier.close()
        messages = [server.recv(4096).decode() for _ in range(3)]
    finally:
        server.close()
    assert messages == [
        "READY=1\nSTATUS=syncing 1 folder pair(s)",
        "WATCHDOG=1",
        "STOPPING=1\nSTATUS=stopping",
    ]


def test_notifier_never_hangs_on_a_systemd_that_does_not_read(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))  # and never read: its queue fills after a few datagrams
    notifier = Notifier({"NOTIFY_SOCKET": str(path)}, send_timeout_s=0.05)
    sender = threading.Thread(
        target=lambda: [notifier.status(f"line {n}") for n in range(50)], daemon=True
    )
    try:
        sender.start()
        sender.join(60)
        assert not sender.is_alive(), "a full notify socket blocked the daemon"
        server.settimeout(5)
        assert server.recv(4096) == b"STATUS=line 0"  # what fitted was sent, in order
    finally:
        notifier.close()
        server.close()


def test_notifier_is_a_no_op_outside_systemd() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.ready("x")  # must not raise
    assert Notifier({"WATCHDOG_USEC": "10", "WATCHDOG_PID": "1"}).watchdog_interval_s is None
