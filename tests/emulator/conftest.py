"""Fixtures and helpers of the emulator tests: plain httpx over real loopback sockets."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.emulator import Emulator

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def b64id(path: str) -> str:
    return base64.urlsafe_b64encode(path.encode()).rstrip(b"=").decode()


APP = "mes dossiers partenaires/syncd/"
APP_ID = b64id(APP)


def upload(
    http: httpx.Client,
    emulator: Emulator,
    name: str,
    data: bytes,
    folder: str | None = None,
    *,
    size: int | None = None,
) -> httpx.Response:
    """A multipart upload in the usual part order (description, then file)."""
    desc: dict[str, str] = {"name": name, "size": str(len(data) if size is None else size)}
    if folder is not None:
        desc["folder"] = folder
    return http.post(
        emulator.content_base + "/files/content",
        files={"description": (None, json.dumps(desc)), "file": (name, data)},
    )


def listing(http: httpx.Client, emulator: Emulator, folder: str = "", **params: str) -> Any:
    r = http.get(f"{emulator.api_base}/folders/{folder}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture
def full_http(emulator: Emulator) -> Iterator[httpx.Client]:
    """A plain client whose token reads and writes the whole cloud."""
    token = emulator.issue_token("openid cloud cloudfullread cloudfullwrite")
    with httpx.Client(headers=bearer(token), timeout=30) as plain:
        yield plain
