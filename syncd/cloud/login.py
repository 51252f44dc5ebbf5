"""The authorization-code login: authorize URL, loopback redirect receiver, paste mode.

Browser mode: print the authorize URL, offer it to the browser, and wait for the redirect on a
small HTTP server bound to 127.0.0.1 only, at the port and path of the configured redirect URI
(the host name of that URI may be an alias of 127.0.0.1, as the seed README suggests). The
receiver accepts exactly one code, then stops.

A redirect whose `state` is missing or wrong is answered with an error page and **ignored**:
the login keeps waiting for the genuine redirect until the timeout. That way a stale tab or a
forged request can neither log us in nor abort the login. An `error=` redirect that carries our
state (the user refused consent) ends the login at once.

Paste mode (`--no-browser`, for headless machines): print the URL, read the URL the browser was
sent to from stdin, check its `state`, and fail clearly on a mismatch.
"""

from __future__ import annotations

import html
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]

from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenManager, TokenSet
from syncd.errors import ConfigError, SyncdError

LOOPBACK_HOST = "127.0.0.1"


class LoginError(SyncdError):
    """The login did not complete (refused, timed out, wrong state)."""


@dataclass(frozen=True, slots=True, repr=False)
class AuthorizationRequest:
    """One login attempt: the `url` to open, the `state` its redirect must carry back, and
    the `redirect_uri` it was asked for. `repr` hides the state."""

    url: str
    state: str
    redirect_uri: str

    def __repr__(self) -> str:
        return f"AuthorizationRequest(redirect_uri={self.redirect_uri!r}, state=<redacted>)"


def authorization_request(
    settings: CloudSettings, *, state: str | None = None, prompt: str | None = None
) -> AuthorizationRequest:
    """The URL to open; `state` is random unless given (Orange requires one). `prompt` is
    OAuth's (`login`, `consent`...). Raises `ConfigError` when no client id is set."""
    if not settings.client_id:
        raise ConfigError("cloud.client_id is not set", key="cloud.client_id")
    state = state or generate_token(32)
    url = prepare_grant_uri(
        settings.authorize_url,
        settings.client_id,
        "code",
        redirect_uri=settings.redirect_uri,
        scope=settings.scope,
        state=state,
        prompt=prompt,
    )
    return AuthorizationRequest(url=str(url), state=state, redirect_uri=settings.redirect_uri)


class StateMismatch(LoginError):
    """A redirect whose `state` is missing or not this login's: a stale page or a forgery."""

    def __init__(self) -> None:
        """The error, with its fixed message."""
        super().__init__(
            "the redirect's state does not match this login (a stale page, or not ours)"
        )


def code_from_redirect(url: str, expected_state: str) -> str:
    """The code of a redirect URL, after checking its state.

    Raises `StateMismatch` for another login's (or no) state, `LoginError` when the user
    refused consent or the redirect carries no code.
    """
    query = parse_qs(urlsplit(url.strip()).query)

    def one(key: str) -> str | None:
        values = query.get(key)
        return values[0] if values else None

    if one("state") != expected_state:
        raise StateMismatch()
    error = one("error")
    if error:
        description = one("error_description") or ""
        raise LoginError(f"the authorization was refused: {error} {description}".strip())
    code = one("code")
    if not code:
        raise LoginError("the redirect carries no authorization code")
    return code


class _Server(HTTPServer):
    receiver: LoopbackReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        status, message = self.server.receiver.offer(self.path)
        body = (
            "<!doctype html><meta charset=utf-8><title>syncd login</title>"
            f"<p>{html.escape(message)}</p>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # The request line holds the authorization code: never log it.
        return


class LoopbackReceiver:
    """Catches the one redirect of a login on 127.0.0.1 at the redirect URI's port and path."""

    def __init__(self, redirect_uri: str, expected_state: str) -> None:
        """Bind the server (it serves once entered as a context manager). Raises
        `LoginError` if `redirect_uri` is not `http://` or its port cannot be bound."""
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http":
            raise LoginError(
                f"the redirect URI {redirect_uri} is not http://: it cannot be caught locally; "
                "use --no-browser and paste the redirected URL"
            )
        self._path = parts.path or "/"
        self._state = expected_state
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._code: str | None = None
        self._error: LoginError | None = None
        self.rejected = 0
        try:
            self._server = _Server((LOOPBACK_HOST, parts.port or 80), _Handler)
        except OSError as exc:
            raise LoginError(
                f"cannot listen on {LOOPBACK_HOST}:{parts.port or 80} for the redirect "
                f"({exc.strerror}); is another login running?"
            ) from None
        self._server.receiver = self
        self._server.timeout = 0.2
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on: the redirect URI's (80 when the URI names none)."""
        return int(self._server.server_address[1])

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def offer(self, path: str) -> tuple[int, str]:
        """Judge one request to the server: (HTTP status, message for the browser)."""
        if urlsplit(path).path != self._path:
            return 404, "Not the syncd login callback."
        with self._lock:
            if self._done.is_set():
                return 410, "This login is already complete."
            try:
                self._code = code_from_redirect(path, self._state)
            except StateMismatch:
                self.rejected += 1
                return 400, "This page does not belong to the login in progress; it was ignored."
            except LoginError as exc:
                self._error = exc
                self._done.set()
                return 200, f"syncd login failed: {exc}"
            self._done.set()
        return 200, "syncd is now logged in. You can close this tab."

    def wait(self, timeout_s: float) -> str:
        """The authorization code, once the genuine redirect came. Raises `LoginError` when
        none came within `timeout_s`, or when it said the login failed."""
        if not self._done.wait(timeout_s):
            raise LoginError(f"no login redirect within {timeout_s:g} s; run the login again")
        if self._error is not None:
            raise self._error
        assert self._code is not None
        return self._code


def login_with_browser(
    settings: CloudSettings,
    tokens: TokenManager,
    *,
    open_browser: Callable[[str], object] = webbrowser.open,
    notify: Callable[[str], None] = print,
    timeout_s: float = 300.0,
    prompt: str | None = None,
) -> TokenSet:
    """Run the login with a browser and the loopback receiver; save and return the tokens.

    `open_browser` offers the URL to a browser (a failure to start one is only reported);
    `notify` shows the user what to do. Raises `LoginError` (refused, timed out, the port
    taken), `ConfigError` (no client id, or the client rejected), and what
    `TokenManager.exchange_code` raises.
    """
    request = authorization_request(settings, prompt=prompt)
    with LoopbackReceiver(request.redirect_uri, request.state) as receiver:
        notify(f"Open this URL in a browser to log in:\n\n  {request.url}\n")
        try:
            opened = open_browser(request.url)
        except Exception:  # a missing or broken browser must not end the login
            opened = False
        if not opened:
            notify("(no browser could be started: open the URL above yourself)")
        notify(f"Waiting for the redirect to {request.redirect_uri} ...")
        code = receiver.wait(timeout_s)
    return tokens.exchange_code(code)


def login_with_paste(
    settings: CloudSettings,
    tokens: TokenManager,
    *,
    read_line: Callable[[], str],
    notify: Callable[[str], None] = print,
    prompt: str | None = None,
) -> TokenSet:
    """Headless login: the user opens the URL elsewhere and pastes where it redirected to.

    `read_line` reads the pasted line. Raises `LoginError` (nothing pasted, another login's
    state, refused), `ConfigError` (no client id, or the client rejected), and what
    `TokenManager.exchange_code` raises.
    """
    request = authorization_request(settings, prompt=prompt)
    notify(
        "Open this URL in a browser (on any machine) and log in:\n\n"
        f"  {request.url}\n\n"
        f"The browser is then sent to {request.redirect_uri}?code=... (the page may fail to "
        "load). Paste that whole address here:"
    )
    pasted = read_line().strip()
    if not pasted:
        raise LoginError("no redirect URL was pasted")
    try:
        code = code_from_redirect(pasted, request.state)
    except StateMismatch as exc:
        raise LoginError(f"{exc}: paste the address this login's URL led to") from None
    return tokens.exchange_code(code)
