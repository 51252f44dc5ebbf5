"""Routing and the per-call pipeline: route → count → latency → gateway faults → bearer check →
endpoint → (maybe) lost response.

Three path prefixes stand for the service's hosts: ``/cloud/v1`` (api.orange.com),
``/content/cloud/v1`` (cloudapi.orange.com) and ``/oauth/v2``; ``/_emulator`` is the admin API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from syncd.emulator import admin, api, content, errors
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.errors import ApiError
from syncd.emulator.faults import MUTATING_KINDS, Faults
from syncd.emulator.handler import Reply, Request
from syncd.emulator.hostile import Hostile
from syncd.emulator.model import DateFormat, Folder, Node
from syncd.emulator.oauth import AccessToken, OAuthServer
from syncd.emulator.stats import Stats
from syncd.emulator.store import Store
from syncd.emulator.views import Renderer, UrlSigner

API_PREFIX = "/cloud/v1"
CONTENT_PREFIX = "/content/cloud/v1"
OAUTH_PREFIX = "/oauth/v2"
ADMIN_PREFIX = "/_emulator"


Endpoint = Callable[["Call"], Reply | None]

# (method, pattern relative to the host prefix, endpoint kind, endpoint)
_API_ROUTES: list[tuple[str, re.Pattern[str], str, Endpoint]] = [
    ("GET", re.compile(r"/freespace/?"), "freespace", api.freespace),
    ("POST", re.compile(r"/session/?"), "session", api.session),
    ("GET", re.compile(r"/folders(?:/(?P<id>[^/]*))?/?"), "folder_get", api.folder_get),
    ("POST", re.compile(r"/folders/?"), "folder_create", api.folder_create),
    ("POST", re.compile(r"/folders/(?P<id>[^/]+)/?"), "folder_update", api.folder_update),
    ("DELETE", re.compile(r"/folders/(?P<id>[^/]+)/?"), "folder_delete", api.item_delete),
    ("GET", re.compile(r"/files/(?P<id>[^/]+)/?"), "file_get", api.file_get),
    ("POST", re.compile(r"/files/(?P<id>[^/]+)/?"), "file_update", api.file_update),
    ("DELETE", re.compile(r"/files/(?P<id>[^/]+)/?"), "file_delete", api.item_delete),
]
_CONTENT_ROUTES: list[tuple[str, re.Pattern[str], str, Endpoint]] = [
    ("POST", re.compile(r"/files/content/?"), "upload", content.upload),
    ("GET", re.compile(r"/files/(?P<id>[^/]+)/content/(?P<opaque>[^/]+)"), "download",
     content.download),
    ("GET", re.compile(r"/files/(?P<id>[^/]+)/thumb/(?P<opaque>[^/]+)"), "thumb",
     content.download),
    ("GET", re.compile(r"/files/(?P<id>[^/]+)/preview/(?P<opaque>[^/]+)"), "preview",
     content.download),
]  # fmt: skip


class App:
    """Everything a request needs: the tree, OAuth, faults, counters and settings."""

    def __init__(
        self,
        config: EmulatorConfig,
        store: Store,
        oauth: OAuthServer,
        faults: Faults,
        stats: Stats,
        signer: UrlSigner,
        hostile: Hostile | None = None,
    ) -> None:
        self.config = config
        self.hostile = hostile if hostile is not None else Hostile()
        self.store = store
        self.oauth = oauth
        self.faults = faults
        self.stats = stats
        self.signer = signer
        self.dates = DateFormat(config.zone)
        self.app_root = store.mkdirs(config.app_root_names)

    def handle(self, req: Request) -> None:
        path = req.path
        if path.startswith(CONTENT_PREFIX + "/"):
            self._service_call(req, path[len(CONTENT_PREFIX) :], _CONTENT_ROUTES, content=True)
        elif path.startswith(API_PREFIX + "/"):
            self._service_call(req, path[len(API_PREFIX) :], _API_ROUTES, content=False)
        elif path.startswith(OAUTH_PREFIX + "/"):
            self._send(req, self._oauth_call(req, path[len(OAUTH_PREFIX) :]))
        elif path.startswith(ADMIN_PREFIX + "/"):
            req.conn.count_status = False
            self._send(req, admin.handle(self, req, path[len(ADMIN_PREFIX) + 1 :]))
        else:
            raise errors.not_found(f"No such endpoint: {path}")

    # -- API and content hosts ------------------------------------------------------------

    def _service_call(
        self,
        req: Request,
        path: str,
        routes: list[tuple[str, re.Pattern[str], str, Endpoint]],
        *,
        content: bool,
    ) -> None:
        kind, endpoint, params = _route(req.method, path, routes, content=content)
        self.stats.call(kind)
        if self.faults.latency_s > 0:
            time.sleep(self.faults.latency_s)
        fault = self.faults.gateway_fault(kind)
        if fault is not None:
            self.stats.fault(fault[0])
            raise fault[1]
        call = Call(self, req, kind, self._authenticate(req, content=content), params)
        reply = endpoint(call)
        if reply is None:
            return
        if kind in MUTATING_KINDS and self.faults.roll(self.faults.lost_response_rate, kind):
            self.stats.fault("lost_response")
            req.conn.reset()
            return
        self._send(req, reply)

    def _authenticate(self, req: Request, *, content: bool) -> AccessToken:
        scheme, _, token = (req.header("Authorization") or "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token and content:
            token = req.query.get("token", "")
        if not token:
            raise _unauthorized(content, 40, "Missing credentials")
        grant, expired = self.oauth.lookup(token)
        if grant is not None and self.faults.expire_now():
            self.stats.fault("expire_token")
            self.oauth.expire(token)
            grant, expired = None, True
        if grant is None:
            code = self.config.expired_code if expired else 41
            message = "Expired credentials" if code == 42 else "Invalid credentials"
            raise _unauthorized(content, code, message)
        return grant

    # -- OAuth ----------------------------------------------------------------------------

    def _oauth_call(self, req: Request, path: str) -> Reply:
        if path.rstrip("/") == "/authorize":
            if req.method != "GET":
                raise errors.oauth(405, "invalid_request", "use GET")
            self.stats.call("authorize")
            return Reply(302, headers={"Location": self.oauth.authorize(req.query)})
        if path.rstrip("/") == "/token":
            if req.method != "POST":
                raise errors.oauth(405, "invalid_request", "use POST")
            self.stats.call("token")
            if self.faults.latency_s > 0:
                time.sleep(self.faults.latency_s)
            raw = req.body.read(1 << 16).decode("utf-8", "replace")
            form = dict(parse_qsl(raw, keep_blank_values=True))
            body = self.oauth.token(req.header("Authorization"), form)
            return Reply(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})
        raise errors.oauth(404, "invalid_request", f"No such endpoint: {req.path}")

    def _send(self, req: Request, reply: Reply) -> None:
        if reply.raw is not None:
            req.conn.send_bytes(reply.status, reply.raw, "application/json", reply.headers)
        elif reply.body is None:
            req.conn.send_empty(reply.status, reply.headers)
        else:
            req.conn.send_json(reply.status, reply.body, reply.headers)


@dataclass
class Call:
    """One authenticated API or content call."""

    app: App
    req: Request
    kind: str
    grant: AccessToken
    params: dict[str, str]

    @property
    def full_read(self) -> bool:
        return "cloudfullread" in self.grant.scope

    @property
    def full_write(self) -> bool:
        return "cloudfullwrite" in self.grant.scope

    def view_root(self) -> Folder:
        """The root this call sees: the app folder unless full read without restrictedmode."""
        if self.full_read and not self.flag("restrictedmode"):
            return self.app.store.root
        return self.app.app_root

    def flag(self, name: str) -> bool:
        """Query flags are on when present and not ``false``/``0`` (bare ``?flat`` is on)."""
        value = self.req.query.get(name)
        return value is not None and value.strip().lower() not in ("false", "0")

    def check_read(self, node: Node) -> None:
        if not self.full_read and not _within(node, self.app.app_root):
            raise errors.forbidden_access()

    def check_write(self, node: Node) -> None:
        if not self.full_write and not _within(node, self.app.app_root):
            raise errors.forbidden_access()

    def renderer(self) -> Renderer:
        # URLs follow the Host the client used, so they work behind --host 0.0.0.0 too.
        host = self.req.header("Host") or self.req.conn.server.netloc
        base = f"http://{host}{CONTENT_PREFIX}"
        elsewhere = self.app.hostile.download_origin
        download_base = f"{elsewhere.rstrip('/')}{CONTENT_PREFIX}" if elsewhere else None
        return Renderer(self.app.dates, self.app.signer, base, download_base=download_base)


def _within(node: Node, folder: Folder) -> bool:
    parent = node if isinstance(node, Folder) else node.parent
    return parent.is_within(folder)


def _route(
    method: str,
    path: str,
    routes: list[tuple[str, re.Pattern[str], str, Endpoint]],
    *,
    content: bool,
) -> tuple[str, Endpoint, dict[str, str]]:
    path_matched = False
    for route_method, pattern, kind, endpoint in routes:
        m = pattern.fullmatch(path)
        if m is None:
            continue
        path_matched = True
        if route_method == method:
            return kind, endpoint, {k: v for k, v in m.groupdict().items() if v is not None}
    if path_matched:
        raise errors.method_not_allowed()
    if content:
        raise errors.nested(404, "PDK_RP_0060", "NOT_FOUND", f"No such endpoint: {path}")
    raise errors.not_found(f"No such endpoint: {path}")


def _unauthorized(content: bool, code: int, message: str) -> ApiError:
    if content:
        return errors.nested(401, "PDK_RP_0004", "INVALID_TOKEN", "OIDC rejected the token")
    return errors.gateway(401, code, message, f"{message}: provide a valid Bearer access token")
