"""Reusable pytest fixtures around the local Orange Cloud emulator.

A test folder's ``conftest.py`` imports the ones it needs, and lists them in ``__all__`` so
linters see them used (tests name fixtures as parameters)::

    from tests.conftest_emulator import emulator, emulator_client, emulator_token

    __all__ = ["emulator", "emulator_client", "emulator_token"]

* ``emulator``: a started `Emulator` persisting to ``tmp_path / "cloud"``, stopped afterwards;
* ``emulator_token``: a token response (``cloud`` scope) for it, as the token endpoint gives;
* ``emulator_client``: an ``httpx.Client`` sending that token, closed afterwards;
* ``make_emulator``: a factory ``make_emulator(**settings) -> Emulator`` for custom settings
  (``token_ttl=1``, ``quota_bytes=…``); everything it started is stopped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.emulator import Emulator


@pytest.fixture
def make_emulator(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def make(data_dir: Path | None = None, **settings: Any) -> Emulator:
        directory = data_dir if data_dir is not None else tmp_path / f"cloud{len(started)}"
        emu = Emulator(directory, **settings).start()
        started.append(emu)
        return emu

    yield make
    for emu in reversed(started):
        emu.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator()


@pytest.fixture
def emulator_token(emulator: Emulator) -> dict[str, Any]:
    return emulator.issue_token()


@pytest.fixture
def emulator_client(emulator: Emulator, emulator_token: dict[str, Any]) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator_token['access_token']}"}
    with httpx.Client(headers=headers, timeout=30) as client:
        yield client
