"""A threading HTTP server that knows its open connections, for the emulator and the dashboard.

`stop` can then end every connection and leave no thread or socket behind: an idle
keep-alive connection's thread would otherwise block in a read until its client leaves.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


class TrackingHTTPServer(ThreadingHTTPServer):
    """One daemon thread per connection, named `<thread_prefix>-<client port>`; at most
    `max_connections` at once (more are closed as they arrive), None for no limit."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 makes a 6th simultaneous connection wait for a SYN
    # retransmit (1 s): parallel transfers and benchmarks open more than that.
    request_queue_size = 128
    thread_prefix = "http-conn"
    max_connections: int | None = None

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        family: socket.AddressFamily = socket.AF_INET,
    ) -> None:
        self.address_family = family
        self._conn_lock = threading.Lock()
        self._conns: dict[socket.socket, threading.Thread] = {}
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.thread_prefix}-{client_address[1]}",
            daemon=True,
        )
        with self._conn_lock:
            if self.max_connections is not None and len(self._conns) >= self.max_connections:
                log.warning("%s: too many connections, closing a new one", self.thread_prefix)
                self.shutdown_request(request)
                return
            self._conns[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._conns.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients vanish mid-request all the time (tabs closed, fault tests): not an error.
        log.debug("%s: connection from %s ended with an error", self.thread_prefix, client_address)

    def close_connections(self, timeout: float = 5.0) -> None:
        with self._conn_lock:
            conns = list(self._conns.items())
        for sock, _ in conns:
            with contextlib.suppress(OSError):  # already closed by its own thread
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, thread in conns:
            thread.join(max(deadline - time.monotonic(), 0))
