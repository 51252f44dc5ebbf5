"""Fixtures for engine tests: the emulator on loopback, a logged-in client, a pair harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from syncd.cloud.client import CloudClient
from syncd.emulator import Emulator
from tests.cloud.helpers import make_settings, seed_token
from tests.integration.harness import Harness


@pytest.fixture(autouse=True)
def _no_backoff_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture(params=["combined", "separate"])
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """The emulator, under each way a listing page may be windowed (the service's is not
    known); the harness lists in small pages, so listings span several."""
    with Emulator(page_split=request.param) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator, tmp_path: Path) -> Iterator[CloudClient]:
    token_file = tmp_path / "token" / "token.json"
    settings = make_settings(emulator, "http://127.0.0.1:8976/callback", token_file)
    seed_token(emulator, token_file)
    with CloudClient.from_settings(settings) as c:
        yield c


@pytest.fixture
def h(tmp_path: Path, emulator: Emulator, client: CloudClient) -> Harness:
    return Harness(tmp_path, emulator, client)
