"""Fixtures of the engine tests beyond the shared ones (`tests/conftest.py`): every test here
runs under each way a listing page may be windowed (the service's is not known), and the
harness lists in small pages, so that listings span several."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.cloud.client import CloudClient
from syncd.emulator import Emulator
from tests.integration.harness import Harness


@pytest.fixture(params=["combined", "separate"])
def page_split(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def h(tmp_path: Path, emulator: Emulator, client: CloudClient) -> Harness:
    return Harness(tmp_path, emulator, client)
