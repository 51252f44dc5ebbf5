"""What every test shares: the emulator on loopback, a logged-in cloud client, and two rules
that hold for every test (retries never sleep; no thread outlives its test).

- `emulator`: a started `Emulator` (`page_split` says how it windows listings: one way
  here, both ways in the integration tests, which override `page_split`);
- `make_emulator(data_dir=None, **settings)`: more of them, with other settings (a
  `data_dir` makes one persist); all are stopped after the test;
- `client`: a `CloudClient` logged in to `emulator` (`settings`, `token_file`, `token`,
  `redirect_uri` are its parts);
- `http`: a plain `httpx.Client` with a bearer token for `emulator` (`emulator_token`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina

from syncd.cloud.client import CloudClient
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenSet
from syncd.emulator import Emulator
from syncd.emulator.config import DEFAULT_REDIRECT_URIS
from tests.cloud.helpers import free_port, make_settings, seed_token

# A thread a test started may take this long to notice it must end (a poll, a timeout).
_THREAD_GRACE_S = 30.0


@pytest.fixture(autouse=True)
def _no_backoff_sleeps() -> Iterator[None]:
    """Retries keep their attempt counts, not their sleeps."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture(autouse=True)
def _no_thread_leaks() -> Iterator[None]:
    """Every thread a test starts has ended when it is over (a daemon that stops, an
    emulator's connections, a transfer pool...)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + _THREAD_GRACE_S
    left = _new_threads(before)
    while left and time.monotonic() < deadline:
        left[0].join(0.1)
        left = _new_threads(before)
    assert not left, f"threads left running: {sorted(t.name for t in left)}"


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    # An event loop's default executor ("asyncio_N") belongs to the loop that Playwright's
    # browser fixture keeps for a whole module: it is not the test's to stop.
    return [
        t for t in threading.enumerate() if t not in before and not t.name.startswith("asyncio_")
    ]


@pytest.fixture
def redirect_uri() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


@pytest.fixture
def page_split() -> str:
    return "combined"


@pytest.fixture
def make_emulator(redirect_uri: str) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def make(data_dir: Path | None = None, **settings: Any) -> Emulator:
        # The emulator's own default, and one on a free port for a real login receiver.
        settings.setdefault("redirect_uris", [*DEFAULT_REDIRECT_URIS, redirect_uri])
        emulator = Emulator(data_dir, **settings).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in reversed(started):
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., Emulator], page_split: str) -> Emulator:
    return make_emulator(page_split=page_split)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "token.json"


@pytest.fixture
def settings(emulator: Emulator, redirect_uri: str, token_file: Path) -> CloudSettings:
    return make_settings(emulator, redirect_uri, token_file)


@pytest.fixture
def token(emulator: Emulator, token_file: Path) -> TokenSet:
    return seed_token(emulator, token_file)


@pytest.fixture
def client(settings: CloudSettings, token: TokenSet) -> Iterator[CloudClient]:
    with CloudClient.from_settings(settings) as cloud:
        yield cloud


@pytest.fixture
def emulator_token(emulator: Emulator) -> dict[str, Any]:
    return emulator.issue_token()


@pytest.fixture
def http(emulator_token: dict[str, Any]) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator_token['access_token']}"}
    with httpx.Client(headers=headers, timeout=30) as plain:
        yield plain
