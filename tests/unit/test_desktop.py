"""Desktop notices: what they say, when there are any, and that no bus can stop the daemon
(a missing one, one that refuses, one that never answers)."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest

from syncd.desktop import (
    CRITICAL,
    NORMAL,
    DesktopNotifier,
    conflict_notice,
    open_notifier,
    stopped_notice,
)
from tests.desktop_bus import notification_server, session_bus
from tests.integration.test_daemon import wait_for

BUS = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}


def test_a_conflict_notice_names_the_file_and_the_copy() -> None:
    notice = conflict_notice(
        "docs", "a/b.txt", "a/b (conflicted copy 2026-12-07 101500 box).txt", "local"
    )
    assert notice.summary == "syncd: conflict in docs"
    assert notice.body == (
        "a/b.txt was changed both here and in the cloud. Both versions are kept: This "
        "computer's is now a/b (conflicted copy 2026-12-07 101500 box).txt."
    )
    assert notice.urgency == NORMAL
    assert "The cloud's is now" in conflict_notice("docs", "x", "y", "remote").body


def test_names_cannot_inject_markup_or_controls() -> None:
    # Notification servers may render the body as markup, and show controls raw.
    notice = conflict_notice("docs", "<b>x</b> & \x1b[2J.txt", "c", "local")
    assert notice.body.startswith("&lt;b&gt;x&lt;/b&gt; &amp; \\x1b[2J.txt was changed")
    stopped = stopped_notice("docs", "the local folder /a<i> is missing")
    assert stopped.summary == "syncd: docs stopped syncing"
    assert stopped.body == "the local folder /a&lt;i&gt; is missing (`syncd status` tells more)"
    assert stopped.urgency == CRITICAL


def test_notices_go_only_where_a_session_bus_is_named() -> None:
    assert not open_notifier("auto", {}).enabled  # a server, or a login without a desktop
    assert not open_notifier("off", BUS).enabled
    on = open_notifier("on", BUS)
    auto = open_notifier("auto", BUS)
    try:
        assert on.enabled and auto.enabled
        assert auto.address == BUS["DBUS_SESSION_BUS_ADDRESS"]
    finally:
        on.close(timeout=5)
        auto.close(timeout=5)


def test_on_without_a_session_bus_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="syncd.desktop"):
        notifier = open_notifier("on", {})
    assert not notifier.enabled
    assert "no session bus" in caplog.text


def test_an_unreachable_bus_is_one_log_line_and_nothing_else(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = DesktopNotifier(f"unix:path={tmp_path / 'no-bus'}", mode="on")
    with caplog.at_level(logging.WARNING, logger="syncd.desktop"):
        for n in range(3):
            notifier.notify(stopped_notice(f"pair{n}", "gone"))
        notifier.close(timeout=30)
    failures = [r for r in caplog.records if "desktop notifications fail" in r.getMessage()]
    assert len(failures) == 1, caplog.text  # one per spell of failures


def test_a_bus_that_never_answers_never_holds_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "silent-bus"
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(path))
    silent.listen(8)  # accepts connections, then says nothing
    notifier = DesktopNotifier(f"unix:path={path}")
    # More notices than the queue holds: the overflow is dropped, not waited for.
    caller = threading.Thread(
        target=lambda: [notifier.notify(stopped_notice("p", str(n))) for n in range(500)],
        daemon=True,
    )
    try:
        caller.start()
        caller.join(60)
        assert not caller.is_alive(), "notify() waited on the bus"
        closer = threading.Thread(target=notifier.close, kwargs={"timeout": 0.5}, daemon=True)
        closer.start()
        closer.join(60)
        assert not closer.is_alive(), "close() waited on the bus past its timeout"
    finally:
        silent.close()


def test_a_notice_reaches_the_server_on_a_real_session_bus(tmp_path: Path) -> None:
    with session_bus(tmp_path) as bus, notification_server(bus.address) as server:
        notifier = DesktopNotifier(bus.address)
        notifier.notify(conflict_notice("docs", "a.txt", "a (conflicted copy).txt", "remote"))
        wait_for(lambda: bool(server.calls), 60, "the Notify call")
        notifier.close(timeout=30)
    (call,) = server.calls
    assert (call.app_name, call.icon, call.summary) == (
        "syncd",
        "dialog-warning",
        "syncd: conflict in docs",
    )
    assert call.hints == {"urgency": ("y", NORMAL)}
