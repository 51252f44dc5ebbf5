"""A private session D-Bus (Debian's `dbus-daemon`) and a notification server on it that
records every `Notify` call: the desktop side of syncd's notifications, for real."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

SERVER_NAME = "org.freedesktop.Notifications"
START_TIMEOUT_S = 60


def require_dbus_daemon() -> str:
    """The `dbus-daemon` binary; skipped where it is missing, except in CI (`.ci/run`
    installs it there, and a missing install step must fail, not hide)."""
    found = shutil.which("dbus-daemon")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("dbus-daemon is missing: .ci/run installs Debian's dbus-daemon")
        pytest.skip("dbus-daemon is not installed (Debian: apt-get install dbus-daemon)")
    return found


class SessionBus:
    """A session bus of its own (`dbus-daemon --session`), listening in `folder`."""

    def __init__(self, folder: Path) -> None:
        binary = require_dbus_daemon()
        address = f"--address=unix:path={folder / 'bus'}"
        with (folder / "dbus-daemon.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [binary, "--session", "--nofork", "--nopidfile", "--print-address=1", address],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        self.address = self.proc.stdout.readline().strip() if ready else ""
        if not self.address:
            self.stop()
            raise AssertionError("dbus-daemon printed no address")

    def stop(self) -> None:
        """The bus goes away, as when the desktop session ends."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=START_TIMEOUT_S)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextmanager
def session_bus(folder: Path) -> Iterator[SessionBus]:
    bus = SessionBus(folder)
    try:
        yield bus
    finally:
        bus.stop()


@dataclass(frozen=True)
class Call:
    app_name: str
    icon: str
    summary: str
    body: str
    hints: dict[str, Any]


class NotificationServer:
    """Owns `org.freedesktop.Notifications` on the bus and answers `Notify` as a desktop's
    server does (with a new id), keeping each call."""

    def __init__(self, address: str) -> None:
        self.calls: list[Call] = []
        self._connection: DBusConnection = open_dbus_connection(bus=address)
        reply = self._connection.send_and_get_reply(
            message_bus.RequestName(SERVER_NAME), timeout=START_TIMEOUT_S
        )
        assert reply.body == (1,), f"could not own {SERVER_NAME}: {reply.body}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._connection.receive(timeout=0.1)
            except TimeoutError:
                continue
            except OSError:  # the bus went away
                return
            if message.header.message_type != MessageType.method_call:
                continue
            member = message.header.fields.get(HeaderFields.member)
            if member == "Notify":
                app, _replaces, icon, summary, body, _actions, hints, _timeout = message.body
                self.calls.append(Call(app, icon, summary, body, dict(hints)))
                reply = new_method_return(message, "u", (len(self.calls),))
            else:
                reply = new_error(message, "org.freedesktop.DBus.Error.UnknownMethod")
            self._connection.send(reply)

    def seen(self, text: str) -> list[Call]:
        return [c for c in list(self.calls) if text in c.summary or text in c.body]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(START_TIMEOUT_S)
        self._connection.close()


@contextmanager
def notification_server(address: str) -> Iterator[NotificationServer]:
    server = NotificationServer(address)
    try:
        yield server
    finally:
        server.close()
