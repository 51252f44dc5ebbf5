"""Desktop notifications: the freedesktop `org.freedesktop.Notifications.Notify` call over the
user's session D-Bus, as other sync clients make it, for what a person should see without
reading the journal: a conflicted copy made, a folder pair that stopped and needs them.

What a notice says is pure (`conflict_notice`, `stopped_notice`). `DesktopNotifier` sends
on a thread of its own: the engine never waits on the bus, and a bus that is missing, gone,
refusing or silent costs a log line, never the daemon. `notifications: auto` (the default)
sends only where a session bus is named (`DBUS_SESSION_BUS_ADDRESS`) and answers.
"""

from __future__ import annotations

import contextlib
import html
import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from jeepney.wrappers import unwrap_msg

from syncd.text import printable

if TYPE_CHECKING:
    from syncd.config import NotificationMode

log = logging.getLogger(__name__)

APP_NAME = "syncd"
# freedesktop's urgency hint: 1 normal, 2 critical (kept on screen until dismissed).
NORMAL, CRITICAL = 1, 2
# Seconds a connection's authentication and a call may take. (jeepney waits on the bus's
# answer to Hello without a limit: a bus that never gives it holds the sending thread only.)
_CONNECT_TIMEOUT_S = 5.0
_CALL_TIMEOUT_S = 10.0
# Notices waiting for the bus beyond this many are dropped (a burst of conflicts).
_QUEUE_SIZE = 100
_SERVER = DBusAddress(
    "/org/freedesktop/Notifications",
    bus_name="org.freedesktop.Notifications",
    interface="org.freedesktop.Notifications",
)


@dataclass(frozen=True, slots=True)
class Notice:
    summary: str  # plain text
    body: str  # may hold markup on servers that render it: names in it are escaped
    icon: str
    urgency: int


def _shown(name: str) -> str:
    return html.escape(printable(name), quote=False)


def conflict_notice(pair_name: str, rel_path: str, copy_path: str, loser: str) -> Notice:
    """Both sides changed `rel_path`; the `loser` side's version is now `copy_path`."""
    whose = "This computer's" if loser == "local" else "The cloud's"
    return Notice(
        summary=f"syncd: conflict in {printable(pair_name)}",
        body=(
            f"{_shown(rel_path)} was changed both here and in the cloud. Both versions are "
            f"kept: {whose} is now {_shown(copy_path)}."
        ),
        icon="dialog-warning",
        urgency=NORMAL,
    )


def stopped_notice(pair_name: str, problem: str) -> Notice:
    """The pair stopped syncing until the user acts on `problem`."""
    return Notice(
        summary=f"syncd: {printable(pair_name)} stopped syncing",
        body=f"{_shown(problem)} (`syncd status` tells more)",
        icon="dialog-error",
        urgency=CRITICAL,
    )


def bus_address(mode: NotificationMode, environ: Mapping[str, str]) -> str | None:
    """The session bus to notify on, or None: off, or no desktop session to notify."""
    if mode == "off":
        return None
    return environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip() or None


def open_notifier(mode: NotificationMode, environ: Mapping[str, str]) -> DesktopNotifier:
    """The daemon's notifier, as the config's `notifications` and the session say."""
    address = bus_address(mode, environ)
    if address is None and mode == "on":
        log.warning(
            "notifications: on, but there is no session bus to send them on "
            "(DBUS_SESSION_BUS_ADDRESS is not set)"
        )
    return DesktopNotifier(address, mode=mode)


class DesktopNotifier:
    """Sends notices to the notification server on the bus at `address` (None: nowhere)."""

    def __init__(self, address: str | None, *, mode: NotificationMode = "auto") -> None:
        self.address = address
        # Failures are news when the user asked for notifications, a fact of life otherwise.
        self._failure_level = logging.WARNING if mode == "on" else logging.DEBUG
        self._queue: queue.Queue[Notice | None] = queue.Queue(_QUEUE_SIZE)
        self._abandoned = threading.Event()
        self._thread: threading.Thread | None = None
        if address is not None:
            self._thread = threading.Thread(
                target=self._main, name="syncd-desktop-notify", daemon=True
            )
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return self._thread is not None

    def notify(self, notice: Notice) -> None:
        """Queue `notice`; returns at once, whatever the bus does."""
        if self._thread is None:
            return
        try:
            self._queue.put_nowait(notice)
        except queue.Full:
            log.debug("desktop notification dropped (too many waiting): %s", notice.summary)

    def close(self, timeout: float = 2.0) -> None:
        """Send what is queued if the bus answers within `timeout`; then stop (a thread still
        waiting on the bus drops the rest after that wait)."""
        if self._thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        self._abandoned.set()

    def _main(self) -> None:
        connection: DBusConnection | None = None
        failing = False
        while (notice := self._queue.get()) is not None and not self._abandoned.is_set():
            try:
                if connection is None:
                    connection = open_dbus_connection(
                        bus=self.address, auth_timeout=_CONNECT_TIMEOUT_S
                    )
                _send(connection, notice)
                failing = False
            except Exception as exc:  # whatever the bus does, the daemon goes on
                if not failing:  # one line per spell of failures, not one per notice
                    log.log(self._failure_level, "desktop notifications fail: %s", exc)
                failing = True
                if connection is not None:
                    connection.close()
                    connection = None
        if connection is not None:
            connection.close()


def _send(connection: DBusConnection, notice: Notice) -> None:
    call = new_method_call(
        _SERVER,
        "Notify",
        "susssasa{sv}i",
        (
            APP_NAME,
            0,  # replaces no earlier notice
            notice.icon,
            notice.summary,
            notice.body,
            [],  # no actions
            {"urgency": ("y", notice.urgency)},
            -1,  # the server's own display time
        ),
    )
    # An error reply (no notification server on the bus, say) raises here.
    unwrap_msg(connection.send_and_get_reply(call, timeout=_CALL_TIMEOUT_S))
