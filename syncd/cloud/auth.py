"""Signs API and content requests with the bearer token, without ever buffering the body.

`requires_request_body = False` is the point of this class: authlib's auth reads the whole
request body into memory first (a 300 MiB upload peaked at 926 MiB RSS when measured). On a
401 from either host, whatever its body shape, the token is refreshed (under the manager's
lock) and the request re-sent; httpx re-iterates the body stream, which re-opens the upload
source. The refresh is skipped when another thread already replaced the rejected token; if
the token it got was rejected too (expired while this request was in flight), that one is
refreshed in turn, up to `_MAX_REFRESHES` times, so a race never reads as a revoked login.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterable

import httpx

from syncd.cloud.tokens import TokenManager

# Refreshes per request: one for the token it was sent with, more only when the token another
# thread refreshed meanwhile was rejected as well. The bound keeps a server that refuses every
# token from making us refresh forever.
_MAX_REFRESHES = 3


class BearerAuth(httpx.Auth):
    """Signs requests with the access token of a `TokenManager`; on a 401, refreshes it and
    sends the request again (see the module's doc)."""

    requires_request_body = False
    requires_response_body = False

    def __init__(self, tokens: TokenManager, *, allowed_origins: Iterable[str] = ()) -> None:
        """`allowed_origins`: the base URLs whose scheme, host and port may receive the
        token; a request elsewhere goes out unsigned. Empty signs every request."""
        self._tokens = tokens
        # The token goes only to the configured hosts, whatever URL a response hands us.
        self._origins = frozenset(_origin(httpx.URL(url)) for url in allowed_origins)

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        """httpx's hook: yields `request` signed, and again after each refresh a 401 calls
        for. Raises what the token manager raises (`syncd.errors.AuthRequired` when there is
        no token or it cannot be refreshed); a 401 after the last refresh is the answer."""
        if self._origins and _origin(request.url) not in self._origins:
            yield request
            return
        sent = self._tokens.access_token()
        request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        for _ in range(_MAX_REFRESHES):
            if response.status_code != 401:
                return
            # Release the connection before refreshing: with a full pool, the token request
            # would otherwise wait for the very connection this thread is holding.
            response.read()
            sent = self._tokens.force_refresh(sent)
            request.headers["Authorization"] = f"Bearer {sent}"
            response = yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Not supported: raises `NotImplementedError` (the client is synchronous)."""
        raise NotImplementedError("syncd's cloud client is synchronous")
        yield request  # pragma: no cover


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)
