"""Every fault switch, over real sockets."""

from __future__ import annotations

import os
import socket
import time

import httpx
import pytest

from syncd.emulator import Emulator, Faults
from tests.emulator.conftest import APP, b64id, bearer, upload


def test_5xx_faults_are_gateway_errors_and_reproducible(
    emulator: Emulator, http: httpx.Client
) -> None:
    def run() -> list[tuple[int, int]]:
        emulator.faults.update(error_5xx_rate=1.0, seed=42)
        out = []
        for _ in range(12):
            r = http.get(emulator.api_base + "/freespace")
            out.append((r.status_code, r.json()["code"]))
            assert set(r.json()) == {"code", "message", "description"}
        return out

    first = run()
    assert set(first) <= {(500, 1), (503, 5), (503, 6)} and len(set(first)) > 1
    assert run() == first
    assert emulator.stats.snapshot().faults["error_5xx"] == 24


def test_5xx_rate_is_a_probability(emulator: Emulator, http: httpx.Client) -> None:
    emulator.faults.update(error_5xx_rate=0.5, seed=1)
    statuses = [http.get(emulator.api_base + "/freespace").status_code for _ in range(200)]
    assert 60 < statuses.count(200) < 140


def test_only_restricts_faults_to_endpoint_kinds(emulator: Emulator, http: httpx.Client) -> None:
    emulator.faults.update(error_5xx_rate=1.0, only=["upload"])
    assert http.get(emulator.api_base + "/freespace").status_code == 200
    assert upload(http, emulator, "a", b"a").status_code in (500, 503)


def test_reset_mid_upload_stores_nothing(emulator: Emulator, http: httpx.Client) -> None:
    emulator.faults.update(reset_rate=1.0)
    with pytest.raises(httpx.TransportError):
        upload(http, emulator, "big.bin", os.urandom(4 << 20))
    assert emulator.listing() == {}
    assert emulator.stats.snapshot().faults == {"reset": 1}
    emulator.faults.clear()
    assert upload(http, emulator, "big.bin", b"ok").status_code == 201


def test_lost_upload_response_still_stores(emulator: Emulator, http: httpx.Client) -> None:
    emulator.faults.update(lost_response_rate=1.0)
    with pytest.raises(httpx.TransportError):
        upload(http, emulator, "stored.txt", b"data")
    assert emulator.read_file("stored.txt") == b"data"


def test_lost_response_of_other_mutations(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("f.txt", b"")
    emulator.faults.update(lost_response_rate=1.0)
    assert http.get(emulator.api_base + "/folders").status_code == 200  # reads are not lost
    with pytest.raises(httpx.TransportError):
        http.post(emulator.api_base + "/folders", json={"name": "made"})
    with pytest.raises(httpx.TransportError):
        http.post(f"{emulator.api_base}/files/{b64id(APP + 'f.txt')}", json={"name": "g.txt"})
    assert set(emulator.listing()) == {"made", "g.txt"}


def test_download_reset(emulator: Emulator, http: httpx.Client) -> None:
    data = os.urandom(1 << 20)
    emulator.put_file("d.bin", data)
    url = http.get(f"{emulator.api_base}/files/{b64id(APP + 'd.bin')}").json()["downloadUrl"]
    emulator.faults.update(download_reset_rate=1.0)
    got = bytearray()
    with pytest.raises(httpx.TransportError), http.stream("GET", url) as r:
        assert r.headers["content-length"] == str(len(data))
        for chunk in r.iter_bytes():
            got += chunk
    assert 0 < len(got) < len(data)
    assert data.startswith(bytes(got))
    emulator.faults.clear()
    assert http.get(url).content == data


def test_rate_limit_bursts(emulator: Emulator, http: httpx.Client) -> None:
    emulator.faults.update(rate_limit_rate=1.0, rate_limit_burst=3, retry_after=7)
    r = http.get(emulator.api_base + "/freespace")
    assert r.status_code == 403
    assert r.json() == {"code": 53, "message": "Too many requests",
                        "description": r.json()["description"]}  # fmt: skip
    assert r.headers["retry-after"] == "7"
    emulator.faults.rate_limit_rate = 0.0  # the burst already started goes on
    statuses = [http.get(emulator.api_base + "/freespace").status_code for _ in range(3)]
    assert statuses == [403, 403, 200]
    assert emulator.stats.snapshot().faults["rate_limit"] == 3


def test_expire_token_every(emulator: Emulator) -> None:
    emulator.faults.update(expire_token_every=3)
    headers = bearer(emulator.issue_token())
    codes = [httpx.get(emulator.api_base + "/freespace", headers=headers).status_code
             for _ in range(4)]  # fmt: skip
    assert codes == [200, 200, 401, 401]
    fresh = bearer(emulator.issue_token())
    assert httpx.get(emulator.api_base + "/freespace", headers=fresh).status_code == 200


def test_latency(emulator: Emulator, http: httpx.Client) -> None:
    emulator.faults.latency_s = 0.2
    t0 = time.perf_counter()
    http.get(emulator.api_base + "/freespace")
    assert time.perf_counter() - t0 >= 0.2


def test_cgu_not_accepted(emulator: Emulator, http: httpx.Client) -> None:
    emulator.faults.cgu_not_accepted = True
    for r in (http.get(emulator.api_base + "/folders"), upload(http, emulator, "a", b"")):
        assert r.status_code == 403
        assert r.json()["error"]["label"] == "CGU_NOT_ACCEPTED"


def test_oauth_and_admin_are_never_faulted(emulator: Emulator) -> None:
    emulator.faults.update(error_5xx_rate=1.0, cgu_not_accepted=True, rate_limit_rate=1.0)
    refresh = emulator.issue_token()["refresh_token"]
    r = httpx.post(
        emulator.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=("syncd-emulator", "syncd-emulator-secret"),
    )
    assert r.status_code == 200
    assert httpx.get(emulator.admin_url + "/stats").status_code == 200


def test_fault_settings_are_validated() -> None:
    faults = Faults()
    for bad in ({"error_5xx_rate": 2}, {"nope": 1}, {"rate_limit_burst": -1},
                {"only": "upload"}, {"cgu_not_accepted": 1}, {"latency_s": "x"}):  # fmt: skip
        with pytest.raises(ValueError):
            faults.update(**bad)
    faults.update(error_5xx_rate=1, retry_after=None, only=["upload"], seed=3)
    assert faults.to_dict()["only"] == ["upload"]
    faults.clear()
    assert faults.to_dict() == {**Faults(seed=3).to_dict()}


def test_upload_reset_is_a_tcp_rst(emulator: Emulator) -> None:
    """Not a clean close: the client sees ECONNRESET, as with the real service."""
    emulator.faults.update(reset_rate=1.0)
    token = emulator.issue_token()["access_token"]
    host, port = emulator.origin.removeprefix("http://").split(":")
    head = (
        f"POST /content/cloud/v1/files/content?name=x HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as s:
        s.sendall(head + b"x" * 60000)
        with pytest.raises(ConnectionResetError):
            s.recv(100)
