"""The dashboard served in-process for a real pair (the emulator on loopback, a real folder
and store), with plain HTTP clients to knock on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest

from syncd.activity import Activity
from syncd.compose import control_dir
from syncd.config import Config, WebOptions, load_config
from syncd.web.actions import Levers
from syncd.web.server import Dashboard, DashboardServer
from syncd.web.token import csrf_for, load_or_create
from tests.integration.conftest import h
from tests.integration.harness import Harness

__all__ = ["h"]  # the fixture (one way of paging is enough here: the root's default)


@dataclass
class Served:
    """A running dashboard, its config, and what it asked of the daemon."""

    config: Config
    control: Path
    activity: Activity
    server: DashboardServer
    token: str
    wakes: list[None] = field(default_factory=list)
    rescans: list[str | None] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return int(self.base.rstrip("/").rsplit(":", 1)[1])

    def client(self, *, cookie: bool = True) -> httpx.Client:
        """A client as the page's browser is after its first visit (the cookie), or bare."""
        cookies = {f"syncd_token_{self.port}": self.token} if cookie else {}
        return httpx.Client(base_url=self.base, cookies=cookies, timeout=30)

    def post(self, client: httpx.Client, action: str, body: object) -> httpx.Response:
        """A change as the page sends it: JSON, the CSRF header, our own origin."""
        return client.post(
            f"/api/{action}",
            json=body,
            headers={"X-Syncd-Csrf": csrf_for(self.token), "Origin": self.base.rstrip("/")},
        )


@pytest.fixture
def served(h: Harness, tmp_path: Path) -> Iterator[Served]:
    config = load_config(h.write_config(tmp_path / "config.yaml"))
    config = replace(config, web=WebOptions(enabled=True, host="127.0.0.1", port=0))
    activity = Activity()
    wakes: list[None] = []
    rescans: list[str | None] = []
    control = control_dir(config)
    levers = Levers(config, control, wake=lambda: wakes.append(None), rescan=rescans.append)
    server = DashboardServer(Dashboard(config, activity, levers), "127.0.0.1", 0)
    server.start()
    try:
        token = load_or_create(config.state_dir)
        yield Served(config, control, activity, server, token, wakes, rescans)
    finally:
        server.stop()
