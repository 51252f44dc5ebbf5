"""The admin HTTP API under ``/_emulator/``, so a test can drive an emulator in another process.

* ``GET stats``, ``POST stats/reset``
* ``GET faults``, ``POST faults`` (JSON object of settings to change), ``POST faults/clear``
* ``GET hostile``, ``POST hostile`` (JSON object of switches, see `hostile`), ``POST
  hostile/clear``
* ``POST revoke-tokens`` (all refresh tokens), ``POST expire-tokens`` (all access tokens)
* ``POST token`` (optional JSON ``{"scope": …}``): a token response without the browser flow
* ``GET listing``: every item below the app folder, as ``Emulator.listing()``

No authentication (the emulator binds to loopback), no faults, not counted in the stats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncd.emulator.handler import Reply, Request
from syncd.emulator.views import tree_listing

if TYPE_CHECKING:
    from syncd.emulator.app import App

DEFAULT_SCOPE = "openid cloud offline_access"


def handle(app: App, req: Request, path: str) -> Reply:
    route = (req.method, path.rstrip("/"))
    if route == ("GET", "stats"):
        return Reply(200, app.stats.snapshot().to_json())
    if route == ("POST", "stats/reset"):
        app.stats.reset()
        return Reply(204)
    if route == ("GET", "faults"):
        return Reply(200, app.faults.to_dict())
    if route == ("POST", "faults"):
        changes = _json(req)
        try:
            app.faults.update(**changes)
        except ValueError as exc:
            return Reply(400, {"error": str(exc)})
        return Reply(200, app.faults.to_dict())
    if route == ("POST", "faults/clear"):
        app.faults.clear()
        return Reply(200, app.faults.to_dict())
    if route == ("GET", "hostile"):
        return Reply(200, app.hostile.to_dict())
    if route == ("POST", "hostile"):
        try:
            app.hostile.update(**_json(req))
        except (TypeError, ValueError) as exc:
            return Reply(400, {"error": str(exc)})
        return Reply(200, app.hostile.to_dict())
    if route == ("POST", "hostile/clear"):
        app.hostile.clear()
        return Reply(200, app.hostile.to_dict())
    if route == ("POST", "revoke-tokens"):
        app.oauth.revoke_refresh_tokens()
        return Reply(204)
    if route == ("POST", "expire-tokens"):
        app.oauth.expire()
        return Reply(204)
    if route == ("POST", "token"):
        scope = _json(req).get("scope", DEFAULT_SCOPE)
        return Reply(200, app.oauth.issue(str(scope)))
    if route == ("GET", "listing"):
        with app.store.lock:
            entries = tree_listing(app.app_root, app.dates)
        return Reply(200, {path: entry.to_json() for path, entry in entries.items()})
    return Reply(404, {"error": f"no admin endpoint {req.method} /_emulator/{path}"})


def _json(req: Request) -> dict[str, Any]:
    if req.body.complete:
        return {}
    body = req.json()
    return body if isinstance(body, dict) else {}
