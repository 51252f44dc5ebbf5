"""Helpers shared by the cloud tests (fixtures are in conftest.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenFileStore, TokenSet
from syncd.emulator import Emulator, Faults

CLIENT_ID = "syncd-emulator"
CLIENT_SECRET = "syncd-emulator-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(
    emu: Emulator, redirect_uri: str, token_file: Path, **overrides: object
) -> CloudSettings:
    values: dict[str, object] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": redirect_uri,
        "token_file": token_file,
        "api_url": emu.api_base,
        "content_url": emu.content_base,
        "authorize_url": emu.authorize_url,
        "token_url": emu.token_url,
        "max_attempts": 5,
        "connect_timeout_s": 5.0,
        "read_timeout_s": 20.0,
    }
    values.update(overrides)
    return CloudSettings(**values)  # type: ignore[arg-type]


def seed_token(emu: Emulator, token_file: Path, *, expires_in: float | None = None) -> TokenSet:
    """Log in without a browser: a token pair from the emulator, saved where the client looks."""
    response = emu.issue_token()
    if expires_in is not None:
        response = {**response, "expires_in": expires_in}
    token = TokenSet.from_response(response, now=time.time())
    TokenFileStore(token_file).save(token)
    return token


def seed_for(pattern: str, probe: Callable[[Faults], bool], **settings: Any) -> int:
    """A fault seed whose successive calls fault ("1") or not ("0") as `pattern` says.

    `probe` performs the draws one emulator call makes (e.g. `lambda f: f.roll(f.reset_rate,
    "upload")`), on a scratch `Faults` with the same settings, so the emulator's own RNG use
    decides: the test stays exact if the emulator changes how it draws.
    """
    for seed in range(10_000):
        faults = Faults(**settings, seed=seed)
        if all(probe(faults) == (c == "1") for c in pattern):
            return seed
    raise AssertionError(f"no seed gives the pattern {pattern}")


def gateway(kind: str) -> Callable[[Faults], bool]:
    return lambda f: f.gateway_fault(kind) is not None


def rolls(rate_name: str, kind: str) -> Callable[[Faults], bool]:
    return lambda f: f.roll(getattr(f, rate_name), kind)
