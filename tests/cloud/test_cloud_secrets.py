"""Tokens never reach the logs or a repr, even at DEBUG level with every library logging."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import httpx
import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.login import login_with_browser
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenFileStore, TokenManager
from syncd.emulator import Emulator


def test_no_token_in_debug_logs_or_reprs(
    emulator: Emulator,
    settings: CloudSettings,
    token_file: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen_tokens: set[str] = set()

    def remember() -> None:
        saved = json.loads(token_file.read_text())
        seen_tokens.update(t for t in (saved["access_token"], saved["refresh_token"]) if t)

    tokens = TokenManager(settings, TokenFileStore(token_file))
    login_with_browser(
        settings,
        tokens,
        open_browser=lambda url: httpx.get(url, follow_redirects=True).is_success,
        notify=lambda _m: None,
        timeout_s=10,
    )
    remember()
    reprs = [repr(tokens), repr(tokens.current())]
    tokens.close()

    src = tmp_path / "a.bin"
    src.write_bytes(b"z" * 300_000)
    with CloudClient.from_settings(settings) as client:
        emulator.expire_access_tokens()  # a 401, then a refresh
        result = client.upload(src)
        remember()
        client.download(result.file_id, io.BytesIO())
        emulator.faults.update(error_5xx_rate=1.0)  # retries log their causes
        with pytest.raises(Exception):  # noqa: B017 - any failure will do, it is logged
            client.freespace()
        emulator.faults.clear()
        emulator.revoke_refresh_tokens()
        emulator.expire_access_tokens()
        with pytest.raises(Exception) as failure:
            client.freespace()
        reprs += [repr(client), repr(client.tokens), repr(failure.value), str(failure.value)]

    assert len(seen_tokens) >= 3  # two access tokens and a refresh token at least
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG was on
    text = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records
    )
    for secret in seen_tokens:
        assert secret not in text
        assert not any(secret in r for r in reprs)
