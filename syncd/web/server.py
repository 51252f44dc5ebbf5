"""The dashboard's HTTP server, inside the daemon: one accept thread, one per open connection.

Closed page, no cost: the accept thread sleeps on the listening socket and a wake-up pipe
(no polling timer, unlike `serve_forever`), an idle connection closes after a minute, and
the pairs' stores are read only while a page asks. Every request passes the checks of
`security` in order (Host, token, then CSRF for changes) before anything else happens.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from syncd.activity import Activity
from syncd.config import Config
from syncd.httpserver import TrackingHTTPServer
from syncd.pausing import paused_pairs
from syncd.web import security
from syncd.web.actions import ActionError, Levers
from syncd.web.served import browse_host, remove_served, write_served
from syncd.web.state import Details, page_state
from syncd.web.token import TokenSource, csrf_for, load_or_create

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
# Scripts and styles from this origin only (no inline code, no other site), no frames.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_ASSETS = {"/app.js": "text/javascript", "/app.css": "text/css"}
_UNAUTHORIZED = (
    "<!doctype html><title>syncd</title><p>This page needs its access token. Run "
    "<code>syncd web</code> on the computer that runs syncd: it prints the address to open."
)


class DaemonControls(Protocol):
    """What the dashboard asks of the daemon (`syncd.daemon.Daemon` is one)."""

    activity: Activity
    control: Path  # its folder of pid, status and control files

    def reload_controls(self) -> None: ...

    def rescan(self, pair_name: str | None = None) -> None: ...


class Dashboard:
    """The page's data and actions, for one daemon."""

    def __init__(self, config: Config, activity: Activity, levers: Levers) -> None:
        self.config = config
        self.activity = activity
        self.levers = levers
        self.details = Details(config)

    def state(self) -> dict[str, Any]:
        names = [pair.name for pair in self.config.pairs]
        return page_state(
            self.config,
            self.activity.snapshot(),
            self.details.get(),
            paused_pairs(self.levers.control, names),
        )

    def perform(self, name: str, body: dict[str, Any]) -> str:
        try:
            return self.levers.perform(name, body)
        finally:
            self.details.invalidate()


@dataclass(frozen=True)
class _Assets:
    index: str
    files: dict[str, bytes]

    @classmethod
    def load(cls) -> _Assets:
        # Shipped in the wheel beside this module: the page never loads anything else.
        static = resources.files("syncd.web") / "static"
        files = {path: (static / path[1:]).read_bytes() for path in _ASSETS}
        return cls((static / "index.html").read_text(encoding="utf-8"), files)


class _HTTPServer(TrackingHTTPServer):
    thread_prefix = "syncd-web"
    max_connections = 16

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        dashboard: Dashboard,
        tokens: TokenSource,
        assets: _Assets,
    ) -> None:
        self.dashboard = dashboard
        self.tokens = tokens
        self.assets = assets
        super().__init__(address, _Handler, family=family)
        self.port: int = self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "syncd"
    sys_version = ""
    # An idle keep-alive connection (a closed tab's) ends after this long.
    timeout = 60
    _unread_body = False

    def setup(self) -> None:
        super().setup()
        # Headers and body go in two writes: without this, the second waits for the
        # client's delayed ACK (40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        # Never the request line: a first visit carries the token in it.
        log.debug("dashboard: %s %s", self.command, urlsplit(self.path).path)

    def handle_one_request(self) -> None:
        self._unread_body = False
        super().handle_one_request()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        # Whatever body a request brings must be read before the next request on the same
        # connection; one refused before its body was read ends the connection instead.
        self._unread_body = self.headers.get("Content-Length", "0") not in ("", "0") or (
            "Transfer-Encoding" in self.headers
        )
        return True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _refuse_method(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"", "text/plain", {"Allow": "GET, POST"})

    do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    # --- the checks, in order ------------------------------------------------------------

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        port = self.server.port
        if not security.host_allowed(self.headers.get("Host"), port):
            self._text(
                HTTPStatus.MISDIRECTED_REQUEST,
                f"this dashboard answers only to its own address (127.0.0.1:{port} or "
                f"localhost:{port}), not to {self.headers.get('Host')!r}",
            )
            return
        query = parse_qs(url.query)
        token = self.server.tokens.current()
        query_token = query["token"][0] if method == "GET" and "token" in query else None
        presented, where = security.presented_token(self.headers.get, query_token, port)
        if not security.same_token(presented, token):
            self._send(
                HTTPStatus.UNAUTHORIZED,
                _UNAUTHORIZED.encode(),
                "text/html; charset=utf-8",
                {"WWW-Authenticate": 'Bearer realm="syncd"'},
            )
            return
        assert token is not None
        if where == "query":
            # Swap the token in the address for the cookie, and out of the history.
            rest = urlencode([(k, v) for k, vs in query.items() if k != "token" for v in vs])
            headers = {
                "Location": url.path + (f"?{rest}" if rest else ""),
                "Set-Cookie": security.cookie_header(token, port),
            }
            self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", headers)
            return
        if method == "POST":
            self._post(url.path, token)
        else:
            self._get(url.path, token)

    def _get(self, path: str, token: str) -> None:
        assets = self.server.assets
        if path == "/":
            page = assets.index.replace("{{csrf}}", csrf_for(token))
            self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")
        elif path in assets.files:
            self._send(HTTPStatus.OK, assets.files[path], f"{_ASSETS[path]}; charset=utf-8")
        elif path == "/api/state":
            self._json(HTTPStatus.OK, self.server.dashboard.state())
        elif self._action(path) is not None:
            self._refuse_method()
        else:
            self._text(HTTPStatus.NOT_FOUND, f"nothing at {path}")

    def _post(self, path: str, token: str) -> None:
        name = self._action(path)
        if name is None:
            if path == "/" or path in self.server.assets.files or path == "/api/state":
                self._refuse_method()
            else:
                self._text(HTTPStatus.NOT_FOUND, f"nothing at {path}")
            return
        refused = security.change_refused(self.headers.get, csrf_for(token))
        if refused is not None:
            self._json(HTTPStatus.FORBIDDEN, {"error": f"refused: {refused}"})
            return
        try:
            body = self._body()
            message = self.server.dashboard.perform(name, body)
        except ActionError as exc:
            self._json(HTTPStatus(exc.status), {"error": str(exc)})
            return
        self._json(HTTPStatus.OK, {"ok": True, "message": message})

    def _action(self, path: str) -> str | None:
        name = path.removeprefix("/api/")
        if path.startswith("/api/") and name in self.server.dashboard.levers.names:
            return name
        return None

    def _body(self) -> dict[str, Any]:
        if "Transfer-Encoding" in self.headers:
            raise ActionError("send the body with a Content-Length", status=411)
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise ActionError("bad Content-Length") from None
        if length < 0 or length > MAX_BODY:
            raise ActionError(f"the body must be at most {MAX_BODY} bytes", status=413)
        raw = self.rfile.read(length) if length else b"{}"
        self._unread_body = False
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ActionError("the body is not JSON") from None
        if not isinstance(body, dict):
            raise ActionError("the body must be a JSON object")
        return body

    # --- responses -----------------------------------------------------------------------

    def _json(self, status: HTTPStatus, value: object) -> None:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        self._send(status, data, "application/json")

    def _text(self, status: HTTPStatus, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        if self._unread_body:
            self.close_connection = True
        self.send_response(status)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CSP)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)


class DashboardServer:
    """Serves `dashboard` on `host:port` (0: any free port) from `start()` to `stop()`."""

    def __init__(self, dashboard: Dashboard, host: str, port: int) -> None:
        self.dashboard = dashboard
        self.control = dashboard.levers.control
        state_dir = dashboard.config.state_dir
        load_or_create(state_dir)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        bind_host = "127.0.0.1" if host == "localhost" else host
        self._http = _HTTPServer(
            (bind_host, port), family, dashboard, TokenSource(state_dir), _Assets.load()
        )
        self.url = f"http://{browse_host(host)}:{self._http.port}/"
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="syncd-web", daemon=True)

    def start(self) -> str:
        self._thread.start()
        write_served(self.control, self.url)
        log.info("dashboard at %s (open it with `syncd web`)", self.url)
        return self.url

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._http.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            self._http.timeout = 0  # `handle_request` below must never wait
            while True:
                ready = selector.select()
                if any(key.fileobj == self._wake_r for key, _ in ready):
                    return
                self._http.handle_request()

    def stop(self) -> None:
        remove_served(self.control)
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._http.server_close()
        self._http.close_connections(timeout=2)
        os.close(self._wake_r)
        os.close(self._wake_w)


@contextlib.contextmanager
def serving(config: Config, daemon: DaemonControls) -> Iterator[DashboardServer | None]:
    """The dashboard around a daemon's run, if the config turns it on. A port that cannot be
    had is logged, not fatal: syncing matters more than the page."""
    if not config.web.enabled:
        yield None
        return
    levers = Levers(config, daemon.control, wake=daemon.reload_controls, rescan=daemon.rescan)
    try:
        server = DashboardServer(
            Dashboard(config, daemon.activity, levers), config.web.host, config.web.port
        )
    except OSError as exc:
        log.error(
            "the dashboard cannot listen on %s:%s (%s); syncing without it",
            config.web.host,
            config.web.port,
            exc.strerror or exc,
        )
        yield None
        return
    server.start()
    try:
        yield server
    finally:
        server.stop()
