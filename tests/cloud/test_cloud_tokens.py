"""Token storage and refresh: the file's modes, the refresh rules of this API, the lock."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from syncd.cloud.auth import BearerAuth
from syncd.cloud.client import CloudClient
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import MemoryTokenStore, TokenFileStore, TokenManager, TokenSet
from syncd.emulator import Emulator
from syncd.errors import AuthRequired, ConfigError

from .helpers import make_settings, seed_token


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_token_file_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state" / "token.json"
    store = TokenFileStore(path)
    store.save(TokenSet("at", "rt", 123.0))
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert store.load() == TokenSet("at", "rt", 123.0)
    store.save(TokenSet("at2", "rt", 456.0))  # atomic replace keeps the mode
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["token.json"]


def test_loose_permissions_are_fixed_on_load(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    TokenFileStore(path).save(TokenSet("at", "rt", None))
    os.chmod(path, 0o644)
    assert TokenFileStore(path).load() is not None
    assert mode(path) == 0o600


def test_damaged_or_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    assert TokenFileStore(path).load() is None
    path.write_text("{not json")
    with pytest.raises(AuthRequired):
        TokenFileStore(path).load()
    assert TokenFileStore(path).delete() and not TokenFileStore(path).delete()


def test_repr_never_shows_tokens() -> None:
    token = TokenSet("OFR-secret-access", "OFR-secret-refresh", 1.0)
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert "secret" not in text


def test_refresh_response_without_refresh_token_keeps_the_old_one() -> None:
    old = TokenSet("a1", "r1", 0.0, scope="openid cloud")
    fresh = TokenSet.from_response(
        {"access_token": "a2", "expires_in": 3600}, now=1000.0, previous=old
    )
    assert (fresh.access_token, fresh.refresh_token, fresh.expires_at) == ("a2", "r1", 4600.0)
    rotated = TokenSet.from_response(
        {"access_token": "a3", "refresh_token": "r2", "expires_in": 10}, now=0.0, previous=old
    )
    assert rotated.refresh_token == "r2"


def _recording_manager(
    tmp_path: Path, replies: list[httpx.Response], seen: list[httpx.Request], clock: list[float]
) -> TokenManager:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return replies.pop(0)

    settings = CloudSettings(
        client_id="cid",
        client_secret="csecret",
        redirect_uri="http://127.0.0.1:1/cb",
        token_file=tmp_path / "t.json",
        token_url="http://auth.invalid/token",
        refresh_leeway_s=60,
    )
    store = MemoryTokenStore(TokenSet("a1", "r1", 1000.0))
    return TokenManager(
        settings,
        store,
        transport=httpx.MockTransport(handler),
        clock=lambda: clock[0],
    )


def test_refresh_request_shape_and_leeway(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    clock = [900.0]  # 100 s before expiry, outside the 60 s leeway
    replies = [httpx.Response(200, json={"access_token": "a2", "expires_in": 3600})]
    tokens = _recording_manager(tmp_path, replies, seen, clock)
    assert tokens.access_token() == "a1" and not seen
    clock[0] = 950.0  # inside the leeway: refreshed ahead of expiry
    assert tokens.access_token() == "a2"
    (request,) = seen
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["r1"],
        "redirect_uri": ["http://127.0.0.1:1/cb"],
    }  # no scope on refresh
    assert request.headers["Authorization"] == httpx.BasicAuth("cid", "csecret")._auth_header
    assert tokens.current() == TokenSet("a2", "r1", 950.0 + 3600)
    tokens.close()


def test_the_token_client_is_built_for_the_first_token_request(tmp_path: Path) -> None:
    # It costs a TLS context, about 17 ms of every command's start-up, and most runs never
    # ask the token endpoint for anything.
    seen: list[httpx.Request] = []
    clock = [900.0]
    replies = [httpx.Response(200, json={"access_token": "a2", "expires_in": 3600})]
    tokens = _recording_manager(tmp_path, replies, seen, clock)
    assert tokens.access_token() == "a1"
    assert tokens._http is None
    clock[0] = 950.0
    assert tokens.access_token() == "a2"
    http = tokens._http
    assert http is not None and not http.is_closed
    tokens.close()
    assert http.is_closed


def test_a_closed_token_manager_builds_no_client(tmp_path: Path) -> None:
    tokens = _recording_manager(tmp_path, [], [], [5000.0])  # expired: a refresh is due
    tokens.close()
    with pytest.raises(RuntimeError, match="closed"):
        tokens.access_token()
    assert tokens._http is None


def test_invalid_grant_means_login_again(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    replies = [httpx.Response(400, json={"error": "invalid_grant", "error_description": "no"})]
    tokens = _recording_manager(tmp_path, replies, seen, [5000.0])
    with pytest.raises(AuthRequired, match="syncd auth login") as info:
        tokens.access_token()
    assert info.value.exit_code == 78
    tokens.close()


def test_invalid_client_is_a_configuration_error(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    replies = [httpx.Response(401, json={"error": "invalid_client"})]
    tokens = _recording_manager(tmp_path, replies, seen, [5000.0])
    with pytest.raises(ConfigError):
        tokens.access_token()
    tokens.close()


def test_no_token_at_all(tmp_path: Path) -> None:
    settings = CloudSettings("c", "s", "http://x/cb", tmp_path / "none.json")
    tokens = TokenManager(settings, TokenFileStore(settings.token_file))
    with pytest.raises(AuthRequired):
        tokens.access_token()
    tokens.close()


def _hammer(client: CloudClient, threads: int = 8) -> list[BaseException]:
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            client.freespace()
        except BaseException as exc:  # collected for the assertion below
            failures.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return failures


def test_eight_threads_and_an_expired_token_make_one_refresh(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    seed_token(emulator, token_file, expires_in=-10)  # we know it is expired
    with CloudClient.from_settings(settings, max_connections=8) as client:
        assert _hammer(client) == []
        assert client.tokens.refresh_count == 1
    assert emulator.stats.snapshot().calls["token"] == 1


def test_eight_threads_and_a_401_make_one_refresh(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    seed_token(emulator, token_file)
    emulator.expire_access_tokens()  # the server says expired; we do not know it yet
    # Every call is answered late, so all eight are sent before the first 401 comes back
    # and a refresh could follow it: without that, a thread slow to start (a loaded
    # machine) sends its first call with the new token and meets no 401 at all.
    emulator.faults.update(latency_s=0.3)
    with CloudClient.from_settings(settings, max_connections=8) as client:
        assert _hammer(client) == []
        assert client.tokens.refresh_count == 1
    snap = emulator.stats.snapshot()
    assert snap.calls["token"] == 1
    assert snap.statuses[401] == 8  # every thread met the 401, one refreshed
    assert snap.calls["freespace"] == 16


def test_401_on_the_content_host_refreshes_too(
    emulator: Emulator, client: CloudClient, tmp_path: Path
) -> None:
    emulator.put_file("a.bin", b"x" * 1000)
    info = client.get_folder().files[0]
    emulator.expire_access_tokens()
    with (tmp_path / "out").open("wb") as out:
        assert client.download(info.id, out) == 1000
    assert client.tokens.refresh_count == 1


def test_refresh_saves_the_file_and_keeps_the_refresh_token(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    original = seed_token(emulator, token_file, expires_in=-10)
    with CloudClient.from_settings(settings) as client:
        client.freespace()
    saved = TokenFileStore(token_file).load()
    assert saved is not None
    assert saved.access_token != original.access_token
    assert saved.refresh_token == original.refresh_token  # the emulator sent none back
    assert mode(token_file) == 0o600 and mode(token_file.parent) == 0o700


def test_revoked_refresh_token_asks_for_login(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    seed_token(emulator, token_file, expires_in=-10)
    emulator.revoke_refresh_tokens()
    with CloudClient.from_settings(settings) as client, pytest.raises(AuthRequired):
        client.freespace()


def test_service_rejecting_scope_on_refresh(redirect_uri: str, tmp_path: Path) -> None:
    with Emulator(redirect_uris=[redirect_uri], reject_refresh_scope=True) as emu:
        settings = make_settings(emu, redirect_uri, tmp_path / "t.json")
        seed_token(emu, settings.token_file, expires_in=-10)
        with CloudClient.from_settings(settings) as client:
            assert client.freespace() > 0


def test_rotated_refresh_tokens_are_kept(redirect_uri: str, tmp_path: Path) -> None:
    with Emulator(redirect_uris=[redirect_uri], rotate_refresh_tokens=True) as emu:
        settings = make_settings(emu, redirect_uri, tmp_path / "t.json")
        first = seed_token(emu, settings.token_file, expires_in=-10)
        with CloudClient.from_settings(settings) as client:
            client.freespace()
            emu.expire_access_tokens()
            client.freespace()  # the second refresh must use the rotated token
            assert client.tokens.refresh_count == 2
        saved = TokenFileStore(settings.token_file).load()
        assert saved is not None and saved.refresh_token != first.refresh_token


def test_another_process_refreshed_first(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    seed_token(emulator, token_file, expires_in=-10)
    with CloudClient.from_settings(settings) as client:
        client.tokens.current()  # loaded: expired
        seed_token(emulator, token_file)  # e.g. `syncd auth login` beside the daemon
        client.freespace()
        assert client.tokens.refresh_count == 0
    assert emulator.stats.snapshot().calls["token"] == 0
    assert time.time() > 0


def test_tokens_expiring_every_few_calls(
    emulator: Emulator, client: CloudClient, tmp_path: Path
) -> None:
    emulator.faults.update(expire_token_every=3)
    src = tmp_path / "a.bin"
    src.write_bytes(b"q" * 200_000)
    for i in range(4):
        client.upload(src, name=f"f{i}.bin")
        assert client.freespace() > 0
    assert len(client.get_folder().files) == 4
    assert client.tokens.refresh_count >= 2
    assert emulator.stats.snapshot().calls["upload"] >= 4


class _RacingTokens:
    """A token manager as another thread leaves it: by the time this request's 401 comes
    back, that thread has refreshed T1 into T2, and T2 has been rejected (expired) too."""

    def __init__(self) -> None:
        self.current = "T1"
        self.refreshed: list[str] = []

    def access_token(self) -> str:
        return self.current

    def force_refresh(self, stale: str) -> str:
        if stale == "T1":
            self.current = "T2"  # the other thread's refresh, already too old
        elif stale == self.current:
            self.current = f"T{int(stale[1:]) + 1}"
            self.refreshed.append(self.current)
        return self.current


def test_a_token_another_thread_refreshed_and_that_expired_too_is_refreshed_again() -> None:
    """Found by the fault campaign (a token expiry every 50 calls, parallel transfers): the
    resend used the token another thread had just obtained, which the server had expired
    meanwhile; the second 401 ended the request as `CloudAuthError`, and the whole sync
    stopped asking the user to log in again."""
    sent: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        sent.append(token)
        return httpx.Response(200 if token == "T3" else 401)

    tokens = _RacingTokens()
    auth = BearerAuth(tokens)  # type: ignore[arg-type]
    with httpx.Client(transport=httpx.MockTransport(server), auth=auth) as http:
        assert http.get("https://api.example/x").status_code == 200
    assert sent == ["T1", "T2", "T3"] and tokens.refreshed == ["T3"]

    def refuses_all(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401)

    tokens = _RacingTokens()
    auth = BearerAuth(tokens)  # type: ignore[arg-type]
    with httpx.Client(transport=httpx.MockTransport(refuses_all), auth=auth) as http:
        assert http.get("https://api.example/x").status_code == 401  # bounded, then reported
    assert len(tokens.refreshed) < 4
