"""OAuth tokens: the value, the 0600 file that keeps it, and the manager that refreshes it.

authlib is used for the protocol pieces only (building the token request bodies); the form is
POSTed with our own `httpx.Client`, because authlib's httpx integration buffers request bodies
and does not serialise refreshes.

Refresh rules of this API, as its public clients found them: HTTP Basic client
authentication, `redirect_uri` sent again, no `scope` (the service may reject it), and a
response without `refresh_token`
keeps the old one. One lock serialises refreshes; everyone re-checks after taking it, so eight
threads meeting one expired token cause exactly one refresh.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import httpx
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
    prepare_token_request,
)

from syncd.cloud.errors import CloudUnavailable, ServerError, error_from_response
from syncd.cloud.settings import CloudSettings
from syncd.errors import AuthRequired, ConfigError, SyncdError

log = logging.getLogger(__name__)

_FILE_MODE = 0o600
_DIR_MODE = 0o700


@dataclass(frozen=True, slots=True, repr=False)
class TokenSet:
    """An access token, its expiry (epoch seconds) and the refresh token, if any."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None
    token_type: str = "Bearer"
    scope: str | None = None

    @classmethod
    def from_response(
        cls, data: Mapping[str, Any], *, now: float, previous: TokenSet | None = None
    ) -> TokenSet:
        """A token endpoint reply, received at `now` (epoch seconds); a missing
        `refresh_token` or `scope` keeps `previous`'s. Raises `SyncdError` for a reply
        without an access token."""
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise SyncdError("the token endpoint returned no access_token")
        expires_in = data.get("expires_in")
        expires_at = None
        if expires_in is not None:
            try:
                expires_at = now + float(expires_in)
            except (TypeError, ValueError):
                expires_at = None
        refresh = data.get("refresh_token") or (previous.refresh_token if previous else None)
        scope = data.get("scope") or (previous.scope if previous else None)
        return cls(
            access_token=access,
            refresh_token=str(refresh) if refresh else None,
            expires_at=expires_at,
            token_type=str(data.get("token_type") or "Bearer"),
            scope=str(scope) if scope else None,
        )

    def expires_within(self, seconds: float, *, now: float) -> bool:
        """Whether the token expires within `seconds` of `now`. A token of unknown expiry
        never does: only a 401 will tell."""
        return self.expires_at is not None and self.expires_at - seconds <= now

    def to_json(self) -> dict[str, Any]:
        """The token as a JSON object, as `from_json` reads it back (secrets included)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "token_type": self.token_type,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenSet:
        """A token saved by `to_json`. Raises `KeyError`, `TypeError` or `ValueError` for
        one that is damaged."""
        expires_at = data.get("expires_at")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token") or None,
            expires_at=float(expires_at) if expires_at is not None else None,
            token_type=str(data.get("token_type") or "Bearer"),
            scope=data.get("scope") or None,
        )

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token=<redacted>, refresh_token="
            f"{'<redacted>' if self.refresh_token else None}, expires_at={self.expires_at!r}, "
            f"scope={self.scope!r})"
        )

    __str__ = __repr__


class TokenStorage(Protocol):
    """Where a `TokenManager` keeps the token between runs."""

    def load(self) -> TokenSet | None:
        """The saved token, or None if there is none."""

    def save(self, token: TokenSet) -> None:
        """Keep `token`, replacing the saved one."""

    def delete(self) -> bool:
        """Forget the saved token; returns whether there was one."""


class MemoryTokenStore:
    """For tests and one-shot tools that must not touch the disk."""

    def __init__(self, token: TokenSet | None = None) -> None:
        """Start with `token` saved, or none."""
        self._token = token

    def load(self) -> TokenSet | None:
        """The saved token, or None."""
        return self._token

    def save(self, token: TokenSet) -> None:
        """Keep `token` in memory."""
        self._token = token

    def delete(self) -> bool:
        """Forget the token; returns whether there was one."""
        had, self._token = self._token is not None, None
        return had


class TokenFileStore:
    """A JSON file readable by its owner only, replaced atomically on every save."""

    def __init__(self, path: Path) -> None:
        """Keep the token at `path`; a missing folder is made (owner only) at a save."""
        self.path = path

    def __repr__(self) -> str:
        return f"TokenFileStore({str(self.path)!r})"

    def load(self) -> TokenSet | None:
        """The saved token, or None if there is no file. A file others could read is made
        owner-only, with a warning. Raises `AuthRequired` for a file that cannot be read or
        is damaged."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AuthRequired(f"cannot read the token file {self.path}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            if mode & 0o077:
                log.warning(
                    "token file %s was readable by others (mode %o); fixing it to 600",
                    self.path,
                    mode,
                )
                os.fchmod(handle.fileno(), _FILE_MODE)
            raw = handle.read()
        try:
            return TokenSet.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            raise AuthRequired(
                f"the token file {self.path} is damaged: run `syncd auth login`"
            ) from None

    def save(self, token: TokenSet) -> None:
        """Write `token` to a new owner-only file, synced, then rename it over the old one:
        a crash leaves the old token or the new, never a mix. Raises `OSError`."""
        folder = self.path.parent
        self._ensure_folder(folder)
        tmp = folder / f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        # O_EXCL + 0600 from the start: the secret is never in a file others could open.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(token.to_json(), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        _fsync_dir(folder)

    def delete(self) -> bool:
        """Remove the file; returns whether there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    @staticmethod
    def _ensure_folder(folder: Path) -> None:
        if not folder.is_dir():
            folder.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            # mkdir's mode is filtered by the umask; say it again to be sure.
            folder.chmod(_DIR_MODE)
            return
        # An existing folder may be shared (the user's home): never chmod it, but a folder
        # others can write to lets them swap the token file, which deserves a warning.
        if stat.S_IMODE(folder.stat().st_mode) & 0o022:
            log.warning("the token folder %s is writable by others", folder)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class TokenManager:
    """Hands out a valid access token; refreshes ahead of expiry and on demand, once at a time.

    Its calls that may reach the token endpoint raise `syncd.errors.AuthRequired` when a
    new login is needed (no token, no refresh token, or a code or refresh token rejected),
    `ConfigError` when the client id or secret is missing or rejected, `CloudUnavailable`
    when the endpoint cannot be reached, and another `CloudError` for any other refusal.
    Thread-safe.
    """

    def __init__(
        self,
        settings: CloudSettings,
        store: TokenStorage,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`store` keeps the token between runs. The token endpoint is reached through
        `http` (which stays the caller's to close), or a client of the manager's own over
        `transport` (tests); `clock` gives epoch seconds."""
        self._settings = settings
        self._store = store
        self._clock = clock
        self._owns_http = http is None
        self._http = http
        self._transport = transport
        self._http_lock = threading.Lock()
        self._closed = False
        self._lock = threading.Lock()
        self._token: TokenSet | None = None
        self._loaded = False
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"TokenManager(store={self._store!r}, refreshes={self.refresh_count})"

    def close(self) -> None:
        """Close the HTTP client the manager made for the token endpoint, if it made one."""
        with self._http_lock:
            self._closed = True
            if self._owns_http and self._http is not None:
                self._http.close()

    def _token_http(self) -> httpx.Client:
        # Built for the first token request: most runs make none, and building it loads a
        # TLS context (the CA bundle), which every command's start-up would otherwise pay.
        with self._http_lock:
            if self._http is None:
                if self._closed:  # as a closed client would
                    raise RuntimeError("the token manager is closed")
                self._http = httpx.Client(
                    transport=self._transport,
                    verify=self._settings.verify_tls,
                    timeout=httpx.Timeout(
                        self._settings.read_timeout_s, connect=self._settings.connect_timeout_s
                    ),
                    limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
                )
            return self._http

    @property
    def store(self) -> TokenStorage:
        """Where the token is kept."""
        return self._store

    def current(self) -> TokenSet | None:
        """The token as known now (loaded from the store on first use), without refreshing."""
        with self._lock:
            return self._current_locked()

    def _current_locked(self) -> TokenSet | None:
        if not self._loaded:
            self._token = self._store.load()
            self._loaded = True
        return self._token

    def access_token(self) -> str:
        """A token valid for at least `refresh_leeway_s` more, if the service allows it:
        refreshed first when it is about to expire."""
        token = self._token
        leeway = self._settings.refresh_leeway_s
        if token is not None and not token.expires_within(leeway, now=self._clock()):
            return token.access_token
        with self._lock:
            token = self._current_locked()
            if token is None:
                raise AuthRequired()
            if token.expires_within(leeway, now=self._clock()):
                token = self._refresh_locked(token)
            return token.access_token

    def force_refresh(self, stale_access_token: str) -> str:
        """After a 401: refresh, unless another thread already replaced `stale_access_token`."""
        with self._lock:
            token = self._current_locked()
            if token is None:
                raise AuthRequired()
            if token.access_token != stale_access_token:
                return token.access_token
            return self._refresh_locked(token).access_token

    def refresh_if_expiring(self, within_s: float) -> None:
        """Refresh now if the token would expire within `within_s` seconds."""
        with self._lock:
            token = self._current_locked()
            if token is not None and token.expires_within(within_s, now=self._clock()):
                self._refresh_locked(token)

    def expires_in(self) -> float | None:
        """Seconds until the access token expires (negative once it has); None without a
        token or a known expiry."""
        token = self.current()
        if token is None or token.expires_at is None:
            return None
        return token.expires_at - self._clock()

    def set_token(self, token: TokenSet) -> None:
        """Adopt a token obtained elsewhere (the login flow) and persist it."""
        with self._lock:
            self._store.save(token)
            self._token = token
            self._loaded = True

    def forget(self) -> bool:
        """Drop the token from memory and from the store (logout)."""
        with self._lock:
            self._token = None
            self._loaded = True
            return self._store.delete()

    def exchange_code(self, code: str) -> TokenSet:
        """Trade an authorization code for tokens, and save them."""
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=self._settings.redirect_uri
        )
        data = self._post_token_form(body, grant="authorization_code")
        token = TokenSet.from_response(data, now=self._clock())
        self.set_token(token)
        return token

    def _refresh_locked(self, token: TokenSet) -> TokenSet:
        # Another process (a CLI command beside the daemon) may have refreshed already.
        on_disk = self._store.load()
        now = self._clock()
        if (
            on_disk is not None
            and on_disk.access_token != token.access_token
            and not on_disk.expires_within(self._settings.refresh_leeway_s, now=now)
        ):
            self._token = on_disk
            return on_disk
        if on_disk is not None and on_disk.refresh_token:
            token = replace(token, refresh_token=on_disk.refresh_token)
        if not token.refresh_token:
            raise AuthRequired(
                "the access token expired and there is no refresh token: run `syncd auth login`"
            )
        # No scope on refresh: the live service may reject it (a public client found so).
        body = prepare_token_request(
            "refresh_token",
            refresh_token=token.refresh_token,
            redirect_uri=self._settings.redirect_uri,
        )
        data = self._post_token_form(body, grant="refresh_token")
        fresh = TokenSet.from_response(data, now=self._clock(), previous=token)
        self._store.save(fresh)
        self._token = fresh
        self.refresh_count += 1
        log.info("access token refreshed (valid for %.0f s)", (fresh.expires_at or now) - now)
        return fresh

    def _post_token_form(self, body: str, *, grant: str) -> dict[str, Any]:
        if not self._settings.client_id:
            raise ConfigError("cloud.client_id is not set", key="cloud.client_id")
        try:
            response = self._token_http().post(
                self._settings.token_url,
                content=body.encode("ascii"),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
                auth=httpx.BasicAuth(self._settings.client_id, self._settings.client_secret),
            )
        except httpx.TransportError as exc:
            raise CloudUnavailable(
                f"cannot reach the token endpoint: {type(exc).__name__}"
            ) from exc
        if response.status_code == 200:
            try:
                data = response.json()
            except ValueError:
                data = None
            if isinstance(data, dict):
                return data
            raise ServerError("the token endpoint returned an unreadable reply")
        error = error_from_response(response.status_code, response.content)
        oauth_error = (error.label or "").lower()
        if oauth_error == "invalid_grant":
            what = "refresh token" if grant == "refresh_token" else "authorization code"
            raise AuthRequired(f"the {what} was rejected ({error.message}): run `syncd auth login`")
        if oauth_error in ("invalid_client", "unauthorized_client"):
            raise ConfigError(
                f"the token endpoint rejected the client id/secret ({error.message})",
                key="cloud.client_id",
            )
        raise error
