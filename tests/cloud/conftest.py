"""Fixtures for the cloud client tests: a real emulator on loopback, settings, a client.

stamina runs in test mode for every test here: the attempt counts are kept, the sleeps are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from syncd.cloud.client import CloudClient
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenSet
from syncd.emulator import Emulator

from .helpers import free_port, make_settings, seed_token


@pytest.fixture(autouse=True)
def _no_backoff_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture
def redirect_uri() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


@pytest.fixture
def emulator(redirect_uri: str) -> Iterator[Emulator]:
    with Emulator(redirect_uris=[redirect_uri]) as emu:
        yield emu


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
    with CloudClient.from_settings(settings) as c:
        yield c
