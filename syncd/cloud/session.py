"""How a `CloudClient` speaks HTTP: signing, timeouts, and error mapping.

Requests are built by the `httpx.Client` (its headers and timeouts) and go straight to its
connection pool (`HTTPTransport.handle_request`), through `BearerAuth`'s flow. The client's
send layers this skips (cookies, redirects, event hooks) are ones this API does not use: it
sets no cookies and we follow no redirects. They cost CPU on every request, and on a first
sync of small files the sync waits on that CPU. With a proxy set in the
environment, which only the client's send applies, every request goes through it instead.

Every non-2xx answer becomes a typed `CloudError` (see `errors.py`), and every transport failure
a `CloudUnavailable` that says whether the request may have reached the server (a connect
failure certainly did not; a reset or timeout after sending may have been acted on).

The pool's sockets are read up to `READ_SIZE` bytes at a time, not httpcore's 64 KiB: each
read goes through three HTTP layers (httpcore, h11, httpx) in Python, holding the GIL, and a
1 GiB download took 16,385 of them, CPU that the parallel ranges of a big download had to
share. A read returns what has arrived, so small answers are not delayed.
"""

from __future__ import annotations

import logging
import ssl
import threading
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from syncd.cloud.auth import BearerAuth
from syncd.cloud.errors import CloudError, CloudUnavailable, MalformedResponse, error_from_response
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenManager
from syncd.errors import TransientError

log = logging.getLogger(__name__)

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSIENT = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
USER_AGENT = "syncd (Orange Cloud client)"
READ_SIZE = 1 << 20


def transport_error(exc: httpx.TransportError, target: str | None = None) -> CloudError:
    """A transport failure as a cloud error; only network-ish ones are transient."""
    if not isinstance(exc, _TRANSIENT):
        return CloudError(f"HTTP failure: {type(exc).__name__}: {exc}", target=target)
    error = CloudUnavailable(f"cannot reach the cloud ({type(exc).__name__}: {exc})", target=target)
    error.maybe_sent = not isinstance(exc, _NOT_SENT)
    return error


class Health:
    """Whether the cloud answered the last call: a status can say "offline" from the first
    failed call, not only once its retries are spent. Thread-safe."""

    def __init__(self) -> None:
        """Healthy until a call fails."""
        self._lock = threading.Lock()
        self._problem: str | None = None

    def failed(self, error: CloudError) -> None:
        """Record a call that did not reach the cloud (a transient `error`)."""
        with self._lock:
            self._problem = str(error)

    def answered(self) -> None:
        """Record a call the cloud answered, whatever the answer."""
        if self._problem is not None:
            with self._lock:
                self._problem = None

    @property
    def problem(self) -> str | None:
        """Why the last call did not reach the cloud; None when it did."""
        return self._problem


class CloudSession:
    """The HTTP side of a `CloudClient`: one `httpx.Client` signed by `BearerAuth`, whose
    answers other than 2xx become `CloudError`s and whose transport failures become
    `CloudUnavailable`; `health` says whether the last call reached the cloud.

    Thread-safe: httpx's client and its pool may be shared between threads (httpx docs,
    PR #2380), and each request keeps its own auth flow.
    """

    def __init__(
        self,
        settings: CloudSettings,
        tokens: TokenManager,
        *,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 8,
    ) -> None:
        """`tokens` signs requests to the settings' two hosts, and to no other;
        `transport` replaces the network (tests); `max_connections` sizes the pool."""
        self.settings = settings
        self.health = Health()
        self.api_url = settings.api_url.rstrip("/")
        self.content_url = settings.content_url.rstrip("/")
        self._auth = BearerAuth(tokens, allowed_origins=(self.api_url, self.content_url))
        timeout = httpx.Timeout(
            settings.read_timeout_s,
            connect=settings.connect_timeout_s,
            read=settings.read_timeout_s,
            write=settings.read_timeout_s,
            pool=settings.read_timeout_s,
        )
        limits = httpx.Limits(
            max_connections=max(1, max_connections),
            max_keepalive_connections=max(1, max_connections),
        )
        # The pool requests go to directly, shared with the client (see the module's doc).
        if transport is None and not _proxy_from_environment():
            transport = _BigReadTransport(verify=settings.verify_tls, limits=limits)
        self._direct = transport
        self.http = httpx.Client(
            auth=self._auth,
            transport=transport,
            verify=settings.verify_tls,
            timeout=timeout,
            limits=limits,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connections; the session cannot be used afterwards."""
        self.http.close()

    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> httpx.Response:
        """Send, read the whole (small) reply, and raise a `CloudError` unless it is a 2xx
        (the class `errors.error_from_response` picks; `CloudUnavailable` for a transport
        failure). `target` is what the error names; not retried here."""
        try:
            request = self.http.build_request(
                method, url, params=params, json=json_body, content=content, headers=headers
            )
            response = self._send(request, stream=False)
        except httpx.TransportError as exc:
            raise self._failed(transport_error(exc, target)) from exc
        _unbind(response)
        if not response.is_success:
            raise self._failed(self._error(response, target))
        self.health.answered()
        return response

    @contextmanager
    def stream(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> Iterator[httpx.Response]:
        """A streamed reply, closed on leaving the context; a non-2xx one is read (it is
        small) and raised as `request` raises it."""
        try:
            request = self.http.build_request(method, url, headers=headers)
            response = self._send(request, stream=True)
            try:
                if not response.is_success:
                    response.read()
                    raise self._failed(self._error(response, target))
                self.health.answered()
                yield response
            finally:
                response.close()
                _unbind(response)
        except httpx.TransportError as exc:
            raise self._failed(transport_error(exc, target)) from exc

    def _failed(self, error: CloudError) -> CloudError:
        if isinstance(error, TransientError):
            self.health.failed(error)
        else:
            self.health.answered()  # an answer, if not the one we wanted
        return error

    def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        if self._direct is None:
            return self.http.send(request, stream=stream)
        # The client's auth loop, over the bare pool: send what the flow yields until it
        # is satisfied (it re-sends a 401 with a refreshed token).
        flow = self._auth.sync_auth_flow(request)
        try:
            request = next(flow)
            while True:
                response = self._direct.handle_request(request)
                response.request = request
                try:
                    request = flow.send(response)
                except StopIteration:
                    break
                except BaseException:
                    response.close()
                    raise
                response.close()
        finally:
            flow.close()
        if log.isEnabledFor(logging.DEBUG):  # the line httpx's client logs, without the query
            log.debug(
                "%s %s: %d", request.method, request.url.copy_with(query=None), response.status_code
            )
        if not stream:
            try:
                response.read()
            finally:
                response.close()
        return response

    @staticmethod
    def iter_body(response: httpx.Response) -> Iterator[bytes]:
        """The body as it arrives, transport failures mapped to `CloudUnavailable`.

        No `chunk_size`: httpx would hold bytes back to fill a chunk, and lose them on a reset,
        so a resume would start earlier than it could (or never progress on small files).
        """
        try:
            yield from response.iter_bytes()
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc

    @staticmethod
    def json(response: httpx.Response) -> Any:
        """The decoded JSON body of `response`. Raises `MalformedResponse` for one that is
        not JSON."""
        try:
            return response.json()
        except ValueError:
            raise MalformedResponse(
                f"expected JSON from {response.request.method} "
                f"{response.request.url.copy_with(query=None)}, got "
                f"{response.headers.get('Content-Type', 'no content type')}"
            ) from None

    @staticmethod
    def _error(response: httpx.Response, target: str | None) -> CloudError:
        error = error_from_response(
            response.status_code,
            response.content,
            retry_after=response.headers.get("Retry-After"),
            target=target,
        )
        log.debug(
            "%s %s -> %s %s",
            response.request.method,
            response.request.url.copy_with(query=None),
            response.status_code,
            type(error).__name__,
        )
        return error


class _BigReadTransport(httpx.HTTPTransport):
    """httpx's transport over a pool whose sockets read `READ_SIZE` bytes at a time.

    httpx takes no network backend, so the pool it made is replaced by the same one with
    ours (`_pool` is where httpx 0.28 keeps it; the version is pinned, and a test checks
    that reads are big).
    """

    def __init__(self, *, verify: bool, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_BigReads(),
        )


class _BigReads(httpcore.SyncBackend):
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
        return _BigReadStream(stream)


class _BigReadStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max(max_bytes, READ_SIZE), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # A TLS read still ends with its record (16 KiB at most), whatever it asks for.
        return _BigReadStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def _proxy_from_environment() -> bool:
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _unbind(response: httpx.Response) -> None:
    """Break the cycle between a closed response and its stream (encode/httpx#3733).

    httpx's stream wrapper points back at its response, so every response, body included,
    outlives its last use until the cyclic garbage collector runs: a listing page of a big
    tree is 1.5 MB, and a dozen of them were alive at once at the peak of a sync.
    """
    response.stream = httpx.ByteStream(b"")
