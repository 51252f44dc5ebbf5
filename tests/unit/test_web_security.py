"""The dashboard's request checks, one by one (the server applies them in this order)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from syncd.web.security import (
    CSRF_HEADER,
    change_refused,
    cookie_header,
    host_allowed,
    presented_token,
    same_token,
)
from syncd.web.token import TokenSource, csrf_for, load_or_create, rotate, token_path


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8977", "localhost:8977", "[::1]:8977", "192.168.1.20:8977"],
)
def test_addresses_and_localhost_are_allowed_hosts(host: str) -> None:
    assert host_allowed(host, 8977)


@pytest.mark.parametrize(
    "host",
    [
        None,
        "",
        "evil.example:8977",  # a name re-pointed at 127.0.0.1 (DNS rebinding)
        "localhost.evil.example:8977",
        "127.0.0.1",  # no port: port 80, not ours
        "127.0.0.1:8978",
        "[::1]",
        "[evil]:8977",
        "::1:8977",
    ],
)
def test_other_hosts_are_refused(host: str | None) -> None:
    assert not host_allowed(host, 8977)


def test_the_token_is_taken_from_the_query_a_bearer_header_or_our_cookie() -> None:
    assert presented_token({}.get, "abc", 8977) == ("abc", "query")
    bearer = {"Authorization": "Bearer abc"}
    assert presented_token(bearer.get, None, 8977) == ("abc", "header")
    cookie = {"Cookie": "other=1; syncd_token_8977=abc"}
    assert presented_token(cookie.get, None, 8977) == ("abc", "cookie")
    # Another daemon's cookie (another port) is not ours.
    other = {"Cookie": "syncd_token_9000=abc"}
    assert presented_token(other.get, None, 8977) == (None, "")
    assert presented_token({"Cookie": 'bad="'}.get, None, 8977) == (None, "")


def test_tokens_compare_whole() -> None:
    assert same_token("abc", "abc")
    assert not same_token("ab", "abc")
    assert not same_token(None, "abc") and not same_token("", "") and not same_token("a", None)


def test_the_cookie_is_http_only_and_same_site_strict() -> None:
    header = cookie_header("abc", 8977)
    assert header.startswith("syncd_token_8977=abc;")
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header


def _post(**extra: str) -> dict[str, str]:
    headers = {
        "Host": "127.0.0.1:8977",
        "Origin": "http://127.0.0.1:8977",
        "Sec-Fetch-Site": "same-origin",
        "Content-Type": "application/json",
        CSRF_HEADER: csrf_for("tok"),
    }
    headers.update(extra)
    return {k: v for k, v in headers.items() if v}


def refusal(**extra: str) -> str | None:
    return change_refused(_post(**extra).get, csrf_for("tok"))


def test_a_change_needs_the_csrf_header_from_our_own_page() -> None:
    assert refusal() is None
    assert "X-Syncd-Csrf" in (refusal(**{CSRF_HEADER: ""}) or "")
    assert "X-Syncd-Csrf" in (refusal(**{CSRF_HEADER: "guess"}) or "")
    assert "another site" in (refusal(**{"Sec-Fetch-Site": "cross-site"}) or "")
    assert "another origin" in (refusal(Origin="http://evil.example") or "")
    assert "application/json" in (refusal(**{"Content-Type": "text/plain"}) or "")
    # Scripts (curl) send neither Origin nor Sec-Fetch-Site: the header is what counts.
    assert refusal(Origin="", **{"Sec-Fetch-Site": ""}) is None


def test_the_csrf_token_rotates_with_the_access_token() -> None:
    assert csrf_for("one") != csrf_for("two") and csrf_for("one") == csrf_for("one")


def test_the_token_file_is_private_and_rotates(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = load_or_create(state)
    assert len(first) >= 40
    assert load_or_create(state) == first
    assert stat.S_IMODE(token_path(state).stat().st_mode) == 0o600
    source = TokenSource(state)
    assert source.current() == first
    second = rotate(state)
    assert second != first
    assert stat.S_IMODE(token_path(state).stat().st_mode) == 0o600
    assert source.current() == second
    assert [p.name for p in state.iterdir()] == ["web-token"]  # no temporary left


def test_no_token_file_means_no_access(tmp_path: Path) -> None:
    assert TokenSource(tmp_path).current() is None
