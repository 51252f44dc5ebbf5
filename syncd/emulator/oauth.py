"""OAuth 2 authorization server of the emulator: one registered test client, codes, tokens.

It approves every authorization request at once (there is no user to ask), so a test or the
demo can run the real browser flow without a browser: GET the authorize URL, follow the 302.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlencode

from syncd.emulator import errors
from syncd.emulator.journal import Record

CODE_TTL_S = 600


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass
class AccessToken:
    scope: frozenset[str]
    expires_at: float


@dataclass(frozen=True)
class _Code:
    redirect_uri: str
    scope: str
    expires_at: float


def new_token() -> str:
    """``OFR-`` and 100 hex digits, the shape of the service's tokens."""
    return "OFR-" + secrets.token_hex(50)


class OAuthServer:
    def __init__(
        self,
        client: Client,
        *,
        token_ttl: int,
        rotate_refresh_tokens: bool = False,
        reject_refresh_scope: bool = False,
        log: Callable[[Record], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.token_ttl = token_ttl
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.reject_refresh_scope = reject_refresh_scope
        self._log = log
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, str] = {}  # refresh token → scope

    # -- authorization endpoint -----------------------------------------------------------

    def authorize(self, params: Mapping[str, str]) -> str:
        """The redirect Location for an authorization request (approved at once).

        Errors go back to the client as a redirect once the redirect_uri is known to be
        registered; before that there is nowhere safe to send them, hence a 400.
        """
        if params.get("client_id") != self.client.client_id:
            raise errors.oauth(400, "invalid_client", "unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in self.client.redirect_uris:
            raise errors.oauth(400, "invalid_request", "redirect_uri is not registered")
        state = params.get("state")
        reply: dict[str, str]
        if params.get("response_type") != "code":
            reply = _error("unsupported_response_type", "response_type must be 'code'")
        elif not params.get("scope", "").strip():
            reply = _error("invalid_scope", "scope is required")
        elif not state:
            reply = _error("invalid_request", "state is required")
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = _Code(redirect_uri, params["scope"], self._clock() + CODE_TTL_S)
            reply = {"code": code}
        if state:
            reply["state"] = state
        sep = "&" if "?" in redirect_uri else "?"
        return redirect_uri + sep + urlencode(reply)

    # -- token endpoint -------------------------------------------------------------------

    def token(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        self._check_client(authorization)
        grant = form.get("grant_type")
        if not grant:
            raise errors.oauth(400, "invalid_request", "grant_type is required")
        if grant == "authorization_code":
            return self._exchange_code(form)
        if grant == "refresh_token":
            return self._refresh_grant(form)
        raise errors.oauth(400, "unsupported_grant_type", f"grant_type {grant!r} not supported")

    def issue(self, scope: str) -> dict[str, Any]:
        """A fresh access + refresh token pair, as the token endpoint returns it."""
        refresh = new_token()
        with self._lock:
            self._refresh[refresh] = scope
            self._journal(["rt", refresh, scope])
        return {**self._new_access(scope), "refresh_token": refresh}

    def _exchange_code(self, form: Mapping[str, str]) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise errors.oauth(400, "invalid_request", "code is required")
        with self._lock:
            entry = self._codes.pop(code, None)  # single use, even when the exchange fails
        if entry is None or entry.expires_at < self._clock():
            raise errors.oauth(400, "invalid_grant", "authorization code is invalid or used")
        if form.get("redirect_uri") != entry.redirect_uri:
            raise errors.oauth(400, "invalid_grant", "redirect_uri does not match")
        return self.issue(entry.scope)

    def _refresh_grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        refresh = form.get("refresh_token")
        if not refresh:
            raise errors.oauth(400, "invalid_request", "refresh_token is required")
        if "scope" in form and self.reject_refresh_scope:
            raise errors.oauth(400, "invalid_scope", "scope is not allowed when refreshing")
        with self._lock:
            scope = self._refresh.get(refresh)
            if scope is not None and self.rotate_refresh_tokens:
                del self._refresh[refresh]
                self._journal(["rt-x", refresh])
        if scope is None:
            raise errors.oauth(400, "invalid_grant", "refresh token is invalid or revoked")
        # A requested scope is accepted and ignored: the grant keeps the scope it was given.
        return self.issue(scope) if self.rotate_refresh_tokens else self._new_access(scope)

    def _new_access(self, scope: str) -> dict[str, Any]:
        token = new_token()
        expires_at = self._clock() + self.token_ttl
        with self._lock:
            self._access[token] = AccessToken(frozenset(scope.split()), expires_at)
            self._journal(["at", token, scope, expires_at])
        return {"token_type": "Bearer", "access_token": token, "expires_in": self.token_ttl}

    def _check_client(self, authorization: str | None) -> None:
        denied = errors.oauth(401, "invalid_client", "client authentication failed")
        denied.headers["WWW-Authenticate"] = 'Basic realm="oauth"'
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            raise denied
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise denied from None
        client_id, sep, secret = raw.partition(":")
        if not (
            sep
            and _same(unquote_plus(client_id), self.client.client_id)
            and _same(unquote_plus(secret), self.client.client_secret)
        ):
            raise denied

    # -- bearer checks --------------------------------------------------------------------

    def lookup(self, token: str) -> tuple[AccessToken | None, bool]:
        """(grant, expired): the grant when valid; expired tells an expired token apart."""
        with self._lock:
            grant = self._access.get(token)
        if grant is None:
            return None, False
        if grant.expires_at <= self._clock():
            return None, True
        return grant, False

    def expire(self, token: str | None = None) -> None:
        """Expire one access token, or every one when `token` is None."""
        now = self._clock()
        with self._lock:
            self._expire(token, now)
            self._journal(["at-x", token, now])

    def _expire(self, token: str | None, when: float) -> None:
        grants = self._access.values() if token is None else [self._access.get(token)]
        for grant in grants:
            if grant is not None:
                grant.expires_at = min(grant.expires_at, when)

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh.clear()
            self._journal(["rt-x", None])

    # -- persistence ----------------------------------------------------------------------

    def apply(self, record: Record) -> None:
        op = record[0]
        if op == "at":
            self._access[record[1]] = AccessToken(frozenset(record[2].split()), record[3])
        elif op == "rt":
            self._refresh[record[1]] = record[2]
        elif op == "rt-x":
            if record[1] is None:
                self._refresh.clear()
            else:
                self._refresh.pop(record[1], None)
        elif op == "at-x":
            self._expire(record[1], record[2])

    def records(self) -> Iterator[Record]:
        now = self._clock()
        with self._lock:
            for token, grant in self._access.items():
                if grant.expires_at > now:  # expired ones need not survive a restart
                    yield ["at", token, " ".join(sorted(grant.scope)), grant.expires_at]
            for refresh, scope in self._refresh.items():
                yield ["rt", refresh, scope]

    def _journal(self, record: Record) -> None:
        if self._log is not None:
            self._log(record)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _error(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}
