"""The systemd notify protocol (sd_notify(3)): one datagram of KEY=VALUE lines to the socket
named by $NOTIFY_SOCKET. A no-op when not started by systemd with Type=notify."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping


class Notifier:
    def __init__(
        self, environ: Mapping[str, str] | None = None, *, send_timeout_s: float = 1.0
    ) -> None:
        self._send_timeout_s = send_timeout_s
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # '@' names a socket in the abstract namespace.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        watchdog_usec = env.get("WATCHDOG_USEC", "")
        watchdog_pid = env.get("WATCHDOG_PID", "")
        applies = not watchdog_pid or watchdog_pid == str(os.getpid())
        self.watchdog_interval_s = (
            int(watchdog_usec) / 1_000_000 if watchdog_usec.isdigit() and applies else None
        )

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, **fields: str) -> None:
        if not self._address:
            return
        if self._socket is None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # A datagram to a full socket waits until the reader makes room. Every service
            # shares systemd's queue, so wait a little (READY=1 must get through a busy
            # boot), but never for good: a systemd that does not read must not stop us.
            self._socket.settimeout(self._send_timeout_s)
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        # systemd gone or its socket full: never let a notification stop the daemon.
        with contextlib.suppress(OSError):
            self._socket.sendto(message.encode(), self._address)

    def ready(self, status: str) -> None:
        self.notify(ready="1", status=status)

    def status(self, text: str) -> None:
        self.notify(status=text)

    def watchdog(self) -> None:
        self.notify(watchdog="1")

    def stopping(self) -> None:
        self.notify(stopping="1", status="stopping")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
