"""The admin HTTP API: what a test in another process uses to drive the emulator."""

from __future__ import annotations

import httpx

from syncd.emulator import Emulator
from tests.emulator.conftest import bearer, upload


def test_stats_count_calls_and_bytes(emulator: Emulator, http: httpx.Client) -> None:
    upload(http, emulator, "a", b"12345")
    http.get(emulator.api_base + "/folders")
    http.get(emulator.api_base + "/folders")
    stats = httpx.get(emulator.admin_url + "/stats").json()
    assert stats["calls"]["upload"] == 1
    assert stats["calls"]["folder_get"] == 2
    assert stats["calls"]["download"] == 0
    assert stats["bytes_uploaded"] == 5
    assert stats["statuses"] == {"200": 2, "201": 1}
    assert httpx.post(emulator.admin_url + "/stats/reset").status_code == 204
    snapshot = emulator.stats.snapshot()
    assert sum(snapshot.calls.values()) == 0 and snapshot.bytes_uploaded == 0


def test_admin_calls_are_not_counted(emulator: Emulator) -> None:
    httpx.get(emulator.admin_url + "/stats")
    assert emulator.stats.snapshot().statuses == {}


def test_faults_over_http(emulator: Emulator, http: httpx.Client) -> None:
    r = httpx.post(
        emulator.admin_url + "/faults", json={"error_5xx_rate": 1, "only": ["freespace"]}
    )
    assert r.status_code == 200
    assert r.json()["error_5xx_rate"] == 1.0
    assert httpx.get(emulator.admin_url + "/faults").json()["only"] == ["freespace"]
    assert emulator.faults.error_5xx_rate == 1.0
    assert http.get(emulator.api_base + "/freespace").status_code >= 500
    bad = httpx.post(emulator.admin_url + "/faults", json={"error_5xx_rate": 3})
    assert bad.status_code == 400 and "error" in bad.json()
    assert httpx.post(emulator.admin_url + "/faults/clear").json()["error_5xx_rate"] == 0.0
    assert http.get(emulator.api_base + "/freespace").status_code == 200


def test_token_revocation_and_expiry_over_http(emulator: Emulator) -> None:
    grant = httpx.post(emulator.admin_url + "/token", json={"scope": "openid cloud"}).json()
    assert set(grant) == {"token_type", "access_token", "expires_in", "refresh_token"}
    url = emulator.api_base + "/freespace"
    assert httpx.get(url, headers=bearer(grant)).status_code == 200
    assert httpx.post(emulator.admin_url + "/expire-tokens").status_code == 204
    assert httpx.get(url, headers=bearer(grant)).status_code == 401
    form = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    auth = ("syncd-emulator", "syncd-emulator-secret")
    assert httpx.post(emulator.token_url, data=form, auth=auth).status_code == 200
    assert httpx.post(emulator.admin_url + "/revoke-tokens").status_code == 204
    r = httpx.post(emulator.token_url, data=form, auth=auth)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_listing_over_http(emulator: Emulator) -> None:
    emulator.put_file("d/f.txt", b"abc")
    body = httpx.get(emulator.admin_url + "/listing").json()
    assert body["d"] == {"kind": "folder", "id": emulator.listing()["d"].id, "size": 0}
    assert body["d/f.txt"]["size"] == 3 and body["d/f.txt"]["kind"] == "file"
    assert "creationDate" in body["d/f.txt"]


def test_unknown_admin_path(emulator: Emulator) -> None:
    assert httpx.get(emulator.admin_url + "/nope").status_code == 404
    assert httpx.get(emulator.origin + "/elsewhere").status_code == 404
