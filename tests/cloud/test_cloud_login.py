"""The login flow end to end against the emulator's OAuth server: browser and paste modes."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.login import (
    LoginError,
    authorization_request,
    code_from_redirect,
    login_with_browser,
    login_with_paste,
)
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenFileStore, TokenManager
from syncd.emulator import Emulator


def browser(url: str) -> bool:
    """An unattended browser: follow the authorize redirect to our loopback receiver."""
    response = httpx.get(url, follow_redirects=True, timeout=10)
    assert response.status_code == 200, response.text
    assert "logged in" in response.text
    return True


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_authorize_url(settings: CloudSettings) -> None:
    request = authorization_request(settings, prompt="login consent")
    params = query(request.url)
    assert request.url.startswith(settings.authorize_url + "?")
    assert params == {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": settings.redirect_uri,
        "scope": settings.scope,
        "state": request.state,
        "prompt": "login consent",
    }
    assert len(request.state) >= 32
    assert authorization_request(settings).state != request.state
    assert request.state not in repr(request)


def test_browser_login_end_to_end(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    tokens = TokenManager(settings, TokenFileStore(token_file))
    messages: list[str] = []
    token = login_with_browser(
        settings, tokens, open_browser=browser, notify=messages.append, timeout_s=10
    )
    tokens.close()
    assert token.refresh_token and token.expires_at
    assert TokenFileStore(token_file).load() == token
    assert any(settings.authorize_url in m for m in messages)
    with CloudClient.from_settings(settings) as client:
        assert client.freespace() > 0
    calls = emulator.stats.snapshot().calls
    assert calls["authorize"] == 1 and calls["token"] == 1


def test_wrong_or_missing_state_is_ignored_and_the_login_keeps_waiting(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    urls: queue.Queue[str] = queue.Queue()
    outcome: list[object] = []
    tokens = TokenManager(settings, TokenFileStore(token_file))

    def capture(url: str) -> bool:
        urls.put(url)
        return True

    def run() -> None:
        try:
            outcome.append(
                login_with_browser(
                    settings,
                    tokens,
                    open_browser=capture,
                    notify=lambda _m: None,
                    timeout_s=20,
                )
            )
        except Exception as exc:  # handed to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        authorize = urls.get(timeout=10)
        genuine = httpx.get(authorize, follow_redirects=False).headers["Location"]
        code = query(genuine)["code"]
        base = settings.redirect_uri
        with httpx.Client(timeout=10) as web:
            forged = web.get(f"{base}?code={code}&state=not-the-state")
            assert forged.status_code == 400
            assert web.get(f"{base}?code={code}").status_code == 400
            assert web.get(base.replace("/callback", "/favicon.ico")).status_code == 404
            assert web.get(genuine).status_code == 200
    finally:
        thread.join(timeout=20)
        tokens.close()
    assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    assert TokenFileStore(token_file).load() is not None
    with pytest.raises(httpx.ConnectError):  # one code accepted, then the receiver stops
        httpx.get(genuine, timeout=2)


def test_refused_consent_ends_the_login(settings: CloudSettings, token_file: Path) -> None:
    def refusing_browser(url: str) -> bool:
        state = query(url)["state"]
        redirect = f"{settings.redirect_uri}?error=access_denied&error_description=no&state={state}"
        assert httpx.get(redirect).status_code == 200
        return True

    tokens = TokenManager(settings, TokenFileStore(token_file))
    with pytest.raises(LoginError, match="access_denied"):
        login_with_browser(settings, tokens, open_browser=refusing_browser, notify=lambda _m: None)
    tokens.close()
    assert not token_file.exists()


def test_login_times_out(settings: CloudSettings, token_file: Path) -> None:
    tokens = TokenManager(settings, TokenFileStore(token_file))
    with pytest.raises(LoginError, match="no login redirect"):
        login_with_browser(
            settings,
            tokens,
            open_browser=lambda _url: False,
            notify=lambda _m: None,
            timeout_s=0.3,
        )
    tokens.close()


def _paste_reader(messages: list[str], *, tamper: bool = False) -> Callable[[], str]:
    def read_line() -> str:
        url = re.search(r"https?://\S+/authorize\?\S+", "\n".join(messages))
        assert url is not None
        redirect = httpx.get(url.group(0), follow_redirects=False).headers["Location"]
        if tamper:
            redirect = re.sub(r"state=[^&]+", "state=forged", redirect)
        return redirect + "\n"

    return read_line


def test_paste_login(emulator: Emulator, settings: CloudSettings, token_file: Path) -> None:
    messages: list[str] = []
    tokens = TokenManager(settings, TokenFileStore(token_file))
    token = login_with_paste(
        settings,
        tokens,
        read_line=_paste_reader(messages),
        notify=messages.append,
    )
    tokens.close()
    assert TokenFileStore(token_file).load() == token


def test_paste_login_checks_the_state(settings: CloudSettings, token_file: Path) -> None:
    messages: list[str] = []
    tokens = TokenManager(settings, TokenFileStore(token_file))
    with pytest.raises(LoginError, match="state"):
        login_with_paste(
            settings,
            tokens,
            read_line=_paste_reader(messages, tamper=True),
            notify=messages.append,
        )
    tokens.close()
    assert not token_file.exists()


def test_code_from_redirect_rules() -> None:
    assert code_from_redirect("http://h/cb?code=c1&state=s&LANG=en", "s") == "c1"
    with pytest.raises(LoginError, match="state"):
        code_from_redirect("http://h/cb?code=c1&state=t", "s")
    with pytest.raises(LoginError, match="state"):
        code_from_redirect("http://h/cb?code=c1", "s")
    with pytest.raises(LoginError, match="no authorization code"):
        code_from_redirect("http://h/cb?state=s", "s")


def test_a_used_code_is_refused(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    request = authorization_request(settings)
    redirect = httpx.get(request.url, follow_redirects=False).headers["Location"]
    code = code_from_redirect(redirect, request.state)
    tokens = TokenManager(settings, TokenFileStore(token_file))
    tokens.exchange_code(code)
    from syncd.errors import AuthRequired

    with pytest.raises(AuthRequired, match="authorization code"):
        tokens.exchange_code(code)
    tokens.close()
