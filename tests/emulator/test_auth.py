"""Bearer checks on both hosts, and the OAuth authorize / token endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from syncd.emulator import Emulator
from tests.emulator.conftest import bearer, upload

CLIENT = ("syncd-emulator", "syncd-emulator-secret")
REDIRECT = "http://127.0.0.1:8976/callback"


def authorize(emulator: Emulator, **overrides: str) -> httpx.Response:
    params = {"response_type": "code", "client_id": CLIENT[0], "redirect_uri": REDIRECT,
              "scope": "openid cloud", "state": "xyz", "prompt": "login consent"}  # fmt: skip
    params.update(overrides)
    return httpx.get(emulator.authorize_url, params={k: v for k, v in params.items() if v != "-"})


def redirect_query(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 302
    location = r.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token(emulator: Emulator, auth: tuple[str, str] | None = CLIENT, **form: str) -> httpx.Response:
    return httpx.post(emulator.token_url, data=form, auth=auth)


def code_grant(emulator: Emulator) -> dict[str, Any]:
    code = redirect_query(authorize(emulator))["code"]
    r = token(emulator, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert r.status_code == 200, r.text
    return dict(r.json())


# -- bearer checks -----------------------------------------------------------------------------


def test_api_host_401_shapes(emulator: Emulator) -> None:
    url = emulator.api_base + "/freespace"
    r = httpx.get(url)
    assert r.status_code == 401
    assert r.json()["code"] == 40 and r.json()["message"] == "Missing credentials"
    assert isinstance(r.json()["description"], str)
    for header in ("Bearer nope", "Basic abc", "Bearer"):
        r = httpx.get(url, headers={"Authorization": header})
        assert r.status_code == 401
        assert r.json()["code"] in (40, 41)
    r = httpx.get(url, headers={"Authorization": "Bearer OFR-unknown"})
    assert (r.json()["code"], r.json()["message"]) == (41, "Invalid credentials")


def test_content_host_401_shape(emulator: Emulator) -> None:
    r = httpx.post(emulator.content_base + "/files/content", params={"name": "a"}, content=b"a")
    assert r.status_code == 401
    assert r.json() == {"error": {"code": "PDK_RP_0004", "label": "INVALID_TOKEN",
                                  "details": "OIDC rejected the token"}}  # fmt: skip
    assert emulator.listing() == {}


def test_expired_token(make_emulator: Callable[..., Emulator]) -> None:
    now = [1_800_000_000.0]
    emulator = make_emulator(token_ttl=1, clock=lambda: now[0])
    headers = bearer(emulator.issue_token())
    assert httpx.get(emulator.api_base + "/freespace", headers=headers).status_code == 200
    now[0] += 1.1  # the token's second is over
    r = httpx.get(emulator.api_base + "/freespace", headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, 41)


def test_expired_code_42(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(expired_code=42)
    headers = bearer(emulator.issue_token())
    emulator.expire_access_tokens()
    r = httpx.get(emulator.api_base + "/freespace", headers=headers)
    assert (r.json()["code"], r.json()["message"]) == (42, "Expired credentials")
    r = httpx.get(emulator.api_base + "/freespace", headers={"Authorization": "Bearer OFR-x"})
    assert r.json()["code"] == 41


def test_legacy_session_call(emulator: Emulator, http: httpx.Client) -> None:
    r = http.post(emulator.api_base + "/session", headers={"X-Orange-CA-ESID": "ignored"})
    assert r.status_code == 200 and isinstance(r.json()["esid"], str)


# -- authorize -----------------------------------------------------------------------------------


def test_authorization_code_flow(emulator: Emulator) -> None:
    query = redirect_query(authorize(emulator))
    assert query["state"] == "xyz" and query["code"]
    r = token(emulator, grant_type="authorization_code", code=query["code"], redirect_uri=REDIRECT)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token_type", "access_token", "expires_in", "refresh_token"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert r.headers["cache-control"] == "no-store"
    with httpx.Client(headers=bearer(body)) as c:
        assert upload(c, emulator, "via-oauth.txt", b"ok").status_code == 201
    again = token(
        emulator, grant_type="authorization_code", code=query["code"], redirect_uri=REDIRECT
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"  # single use
    assert emulator.stats.snapshot().calls["token"] == 2


def test_code_exchange_needs_the_same_redirect_uri(make_emulator: Callable[..., Emulator]) -> None:
    other = "http://localhost:9999/cb"
    emulator = make_emulator(redirect_uris=[REDIRECT, other])
    code = redirect_query(authorize(emulator))["code"]
    r = token(emulator, grant_type="authorization_code", code=code, redirect_uri=other)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "-"}, "invalid_scope"),
        ({"state": "-"}, "invalid_request"),
    ],
)
def test_authorize_errors_go_back_to_the_client(
    emulator: Emulator, overrides: dict[str, str], error: str
) -> None:
    query = redirect_query(authorize(emulator, **overrides))
    assert query["error"] == error and query["error_description"]
    assert "code" not in query


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": "other"}, {"redirect_uri": "http://evil/cb"}, {"redirect_uri": "-"}],
)
def test_authorize_errors_without_a_trusted_redirect(
    emulator: Emulator, overrides: dict[str, str]
) -> None:
    r = authorize(emulator, **overrides)
    assert r.status_code == 400
    assert "error" in r.json()


def test_custom_client(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(client_id="me", client_secret="s3cret", redirect_uris=["http://x/cb"])
    r = httpx.get(emulator.authorize_url, params={"response_type": "code", "client_id": "me",
                  "redirect_uri": "http://x/cb", "scope": "cloud", "state": "s"})  # fmt: skip
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    ok = token(emulator, ("me", "s3cret"), grant_type="authorization_code", code=code,
               redirect_uri="http://x/cb")  # fmt: skip
    assert ok.status_code == 200


# -- token endpoint ------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, ("syncd-emulator", "wrong"), ("other", "x")])
def test_token_needs_basic_client_auth(emulator: Emulator, auth: tuple[str, str] | None) -> None:
    refresh = emulator.issue_token()["refresh_token"]
    r = token(emulator, auth, grant_type="refresh_token", refresh_token=refresh)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


def test_token_bad_requests(emulator: Emulator) -> None:
    assert token(emulator).json()["error"] == "invalid_request"
    assert token(emulator, grant_type="password").json()["error"] == "unsupported_grant_type"
    assert token(emulator, grant_type="authorization_code").json()["error"] == "invalid_request"
    r = token(emulator, grant_type="authorization_code", code="bogus", redirect_uri=REDIRECT)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    r = token(emulator, grant_type="refresh_token", refresh_token="OFR-bogus")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    assert isinstance(r.json()["error_description"], str)


def test_refresh_keeps_the_refresh_token(emulator: Emulator) -> None:
    grant = code_grant(emulator)
    for extra in ({}, {"redirect_uri": REDIRECT}, {"scope": "openid cloud"}):
        r = token(
            emulator, grant_type="refresh_token", refresh_token=grant["refresh_token"], **extra
        )
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"token_type", "access_token", "expires_in"}
        assert body["access_token"] != grant["access_token"]
        assert httpx.get(emulator.api_base + "/freespace", headers=bearer(body)).status_code == 200


def test_rotating_refresh_tokens(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(rotate_refresh_tokens=True)
    old = emulator.issue_token()["refresh_token"]
    r = token(emulator, grant_type="refresh_token", refresh_token=old)
    new = r.json()["refresh_token"]
    assert new != old
    assert token(emulator, grant_type="refresh_token", refresh_token=old).status_code == 400
    assert token(emulator, grant_type="refresh_token", refresh_token=new).status_code == 200


def test_refresh_scope_can_be_refused(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(reject_refresh_scope=True)
    refresh = emulator.issue_token()["refresh_token"]
    r = token(emulator, grant_type="refresh_token", refresh_token=refresh, scope="cloud")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")
    assert token(emulator, grant_type="refresh_token", refresh_token=refresh).status_code == 200


def test_revoked_refresh_tokens(emulator: Emulator) -> None:
    grant = emulator.issue_token()
    emulator.revoke_refresh_tokens()
    r = token(emulator, grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    # Access tokens are untouched by the revocation.
    assert httpx.get(emulator.api_base + "/freespace", headers=bearer(grant)).status_code == 200


def test_scope_of_the_grant_is_kept_on_refresh(emulator: Emulator) -> None:
    emulator.put_file("/outside.txt", b"")
    grant = emulator.issue_token("openid cloud cloudfullread")
    r = token(emulator, grant_type="refresh_token", refresh_token=grant["refresh_token"],
              scope="openid cloud")  # fmt: skip
    root = httpx.get(emulator.api_base + "/folders", headers=bearer(r.json())).json()
    assert root["id"] == "Lw"
