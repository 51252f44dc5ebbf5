"""The dashboard over plain HTTP: who gets in, what a change needs, and each action doing
what its CLI command does, on a real pair (emulator, folder, store)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import pytest

from syncd import controls
from syncd.activity import PairActivity
from syncd.pausing import paused_pairs
from syncd.store import Store
from syncd.sync.executor import Outcome
from syncd.sync.model import Download, Kind, RemoteEntry
from syncd.web.token import csrf_for, rotate
from tests.integration.harness import Harness
from tests.web.conftest import Served

LATER = datetime.now() + timedelta(minutes=5)
COPY = "a (conflicted copy 2026-11-26 175502 box).txt"


def _pair_state(served: Served, client: httpx.Client) -> dict[str, object]:
    response = client.get("/api/state")
    assert response.status_code == 200, response.text
    (pair,) = response.json()["pairs"]
    return dict(pair)


# --- who gets in --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/app.js", "/app.css", "/api/state", "/nowhere"])
def test_every_request_without_the_token_gets_401(served: Served, path: str) -> None:
    with served.client(cookie=False) as bare:
        response = bare.get(path)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "syncd web" in response.text
        wrong = bare.get(path, headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        assert bare.get(f"{path}?token=not-the-token").status_code == 401
        refused = bare.post("/api/pause", json={}, headers={"X-Syncd-Csrf": "x"})
        assert refused.status_code == 401
    assert paused_pairs(served.control, ["pair"]) == frozenset()


def test_the_first_visit_trades_the_token_in_the_address_for_a_cookie(served: Served) -> None:
    with served.client(cookie=False) as browser:
        first = browser.get(f"/?token={served.token}")
        assert first.status_code == 303 and first.headers["Location"] == "/"
        cookie = first.headers["Set-Cookie"]
        assert cookie.startswith(f"syncd_token_{served.port}={served.token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        page = browser.get("/")  # the cookie alone, from now on
        assert page.status_code == 200
        assert f'<meta name="syncd-csrf" content="{csrf_for(served.token)}">' in page.text
        assert browser.get("/api/state").status_code == 200


def test_scripts_may_send_the_token_as_a_bearer_header(served: Served) -> None:
    with served.client(cookie=False) as script:
        headers = {"Authorization": f"Bearer {served.token}"}
        assert script.get("/api/state", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "localhost.evil.example:{port}", "127.0.0.1:1"]
)
def test_a_foreign_host_header_is_refused_even_with_the_token(served: Served, host: str) -> None:
    # What a DNS-rebinding page sends: its own name, resolving to 127.0.0.1 now.
    with served.client() as client:
        response = client.get("/api/state", headers={"Host": host.format(port=served.port)})
        assert response.status_code == 421
        assert "answers only to its own address" in response.text
        post = client.post(
            "/api/pause",
            json={},
            headers={"Host": host.format(port=served.port), "X-Syncd-Csrf": csrf_for(served.token)},
        )
        assert post.status_code == 421
    assert paused_pairs(served.control, ["pair"]) == frozenset()


def test_localhost_is_our_own_address(served: Served) -> None:
    with served.client() as client:
        response = client.get("/api/state", headers={"Host": f"localhost:{served.port}"})
        assert response.status_code == 200


def test_a_new_token_locks_out_the_old_one_at_once(served: Served) -> None:
    with served.client() as old:
        assert old.get("/api/state").status_code == 200
        new = rotate(served.config.state_dir)
        assert old.get("/api/state").status_code == 401
        headers = {"Authorization": f"Bearer {new}"}
        assert old.get("/api/state", headers=headers).status_code == 200


# --- what a change needs ------------------------------------------------------------------


def test_changes_are_post_only(served: Served) -> None:
    with served.client() as client:
        response = client.get("/api/pause")
        assert response.status_code == 405 and response.headers["Allow"] == "GET, POST"
        assert client.post("/api/state").status_code == 405
        assert client.request("PUT", "/api/pause").status_code == 405
        assert client.request("DELETE", "/api/pause").status_code == 405
    assert paused_pairs(served.control, ["pair"]) == frozenset()
    assert served.wakes == []


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"X-Syncd-Csrf": None}, "X-Syncd-Csrf"),
        ({"X-Syncd-Csrf": "a guess"}, "X-Syncd-Csrf"),
        ({"Origin": "http://evil.example"}, "another origin"),
        ({"Sec-Fetch-Site": "cross-site"}, "another site"),
        ({"Content-Type": "text/plain"}, "application/json"),
    ],
)
def test_a_change_not_sent_by_our_own_page_is_refused(
    served: Served, changed: dict[str, str | None], problem: str
) -> None:
    headers = {"X-Syncd-Csrf": csrf_for(served.token), "Content-Type": "application/json"}
    headers.update(changed)  # type: ignore[arg-type]
    with served.client() as client:
        response = client.post(
            "/api/pause", content=b"{}", headers={k: v for k, v in headers.items() if v}
        )
        assert response.status_code == 403
        assert problem in response.json()["error"]
    assert paused_pairs(served.control, ["pair"]) == frozenset()
    assert served.wakes == []


def test_no_response_carries_cors_headers(served: Served) -> None:
    with served.client() as client:
        origin = {"Origin": "http://evil.example"}
        for response in (
            client.get("/api/state", headers=origin),
            client.request("OPTIONS", "/api/pause", headers=origin),
            served.post(client, "pause", {}),
        ):
            assert not [h for h in response.headers if h.lower().startswith("access-control")]


def test_the_page_loads_nothing_from_elsewhere(served: Served) -> None:
    with served.client() as client:
        page = client.get("/")
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        for asset in ("/", "/app.js", "/app.css"):
            text = client.get(asset).text
            assert "http://" not in text and "https://" not in text and "//cdn" not in text
        assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_bad_bodies_are_refused_with_a_reason(served: Served) -> None:
    with served.client() as client:
        headers = {"X-Syncd-Csrf": csrf_for(served.token), "Content-Type": "application/json"}
        response = client.post("/api/pause", content=b"{not json", headers=headers)
        assert response.status_code == 400 and response.json()["error"] == "the body is not JSON"
        response = client.post("/api/pause", content=b"[1]", headers=headers)
        assert response.status_code == 400
        response = client.post("/api/pause", content=b"x" * 70_000, headers=headers)
        assert response.status_code == 413
        chunks = iter([b"{", b"}"])  # a streamed body: chunked, no Content-Length
        response = client.post("/api/pause", content=chunks, headers=headers)
        assert response.status_code == 411
        assert served.post(client, "nothing", {}).status_code == 404
        response = served.post(client, "pause", {"pair": "music"})
        assert response.status_code == 400
        assert "no folder pair named 'music'" in response.json()["error"]


# --- what the page shows ------------------------------------------------------------------


def test_the_state_shows_failures_with_their_retry_and_the_activity(
    served: Served, h: Harness
) -> None:
    h.write("keep.txt", "k")
    h.converge()
    retry_at = time.time() + 600
    with Store.open(h.db_path) as store:
        store.record_failure("locked.txt", "upload", "Permission denied", retry_at)
    pair: PairActivity = served.activity.pair("pair")
    pair.done(Outcome(Download("from-cloud.txt", RemoteEntry(Kind.FILE, "id", 5))))
    served.activity.publish(
        {
            "state": "idle",
            "pairs": {"pair": {"state": "idle", "last_sync": 1.0}},
            "upload_limit": 1000,
            "download_limit": 0,
        }
    )
    with served.client() as client:
        state = client.get("/api/state").json()
    (shown,) = state["pairs"]
    assert shown["errors"] == [
        {
            "path": "locked.txt",
            "action": "upload",
            "message": "Permission denied",
            "attempts": 1,
            "retry_at": retry_at,
        }
    ]
    assert (shown["name"], shown["state"], shown["local"]) == ("pair", "idle", str(h.root))
    assert state["recent"][0]["rel_path"] == "from-cloud.txt"
    assert state["limits"] == {"upload_limit": 1000, "download_limit": 0}


# --- what the page does, through the CLI's own functions --------------------------------


def test_resolving_a_conflict_from_the_page(served: Served, h: Harness) -> None:
    h.write("a.txt", "base")
    h.converge()
    served.activity.publish({"state": "idle", "pairs": {"pair": {"state": "idle"}}})
    h.write("a.txt", "edited here")
    h.remote_write("a.txt", "edited in the cloud", when=LATER)
    h.sync()
    assert h.read(COPY) == b"edited here"
    with served.client() as client:
        conflicts = _pair_state(served, client)["conflicts"]
        assert conflicts == [
            {
                "copy": COPY,
                "original": "a.txt",
                "copy_holds": "local",
                "since": conflicts[0]["since"],
            }  # type: ignore[index]
        ]
        assert _pair_state(served, client)["state"] == "needs-you"
        response = served.post(client, "resolve", {"pair": "pair", "path": COPY, "keep": "local"})
        assert response.status_code == 200, response.text
        assert "a.txt: kept this computer's version" in response.json()["message"]
        assert served.wakes == [None]
        # Shown at once (the page's next poll), not after the details' cache runs out.
        assert _pair_state(served, client)["conflicts"] == []
        trash = _pair_state(served, client)["trash"]
        assert [item["path"] for item in trash] == ["a.txt"]  # type: ignore[index]
    h.converge()
    assert h.read("a.txt") == b"edited here" and h.remote_read("a.txt") == b"edited here"
    assert not (h.root / COPY).exists()


def test_restoring_from_the_trash_from_the_page(served: Served, h: Harness) -> None:
    h.write("notes/todo.txt", "milk")
    h.write("keep.txt", "k")  # one deletion of one synced file would set off the brake
    h.converge()
    h.emulator.delete("sync/notes/todo.txt")
    h.sync()
    assert not (h.root / "notes" / "todo.txt").exists()
    with served.client() as client:
        response = served.post(client, "restore", {"pair": "pair", "path": "notes/todo.txt"})
        assert response.status_code == 200, response.text
        assert response.json()["message"] == "restored notes/todo.txt"
        again = served.post(client, "restore", {"pair": "pair", "path": "notes/todo.txt"})
        assert again.status_code == 400
        assert again.json()["error"] == "'notes/todo.txt' is not in the trash"
    h.converge()
    assert h.remote_read("notes/todo.txt") == b"milk"


def test_excluding_and_including_a_folder_from_the_page(served: Served, h: Harness) -> None:
    h.remote_write("big/video.bin", "v")
    h.converge()
    with served.client() as client:
        response = served.post(client, "exclude", {"pair": "pair", "path": "big"})
        assert response.status_code == 200, response.text
        assert "big is no longer synced" in response.json()["message"]
        assert _pair_state(served, client)["excluded"] == ["big"]
        with controls.pair_store(served.config, served.config.pairs[0]) as store:
            assert controls.excluded_folders(store) == ["big"]  # what `exclude list` reads
        assert served.post(client, "include", {"pair": "pair", "path": "big"}).status_code == 200
        assert _pair_state(served, client)["excluded"] == []
        again = served.post(client, "include", {"pair": "pair", "path": "big"})
        assert again.status_code == 400
        assert again.json()["error"] == "big is not excluded in pair 'pair'"
        climbing = served.post(client, "exclude", {"pair": "pair", "path": "../etc"})
        assert climbing.status_code == 400 and "not a folder path" in climbing.json()["error"]


def test_limits_pause_and_rescan_from_the_page(served: Served) -> None:
    config = served.config
    with served.client() as client:
        response = served.post(client, "limits", {"upload": "2 MiB", "download": ""})
        assert response.status_code == 200, response.text
        assert response.json()["message"] == "limits: up 2.0 MiB/s, down unlimited"
        assert controls.limits_in_force(config, served.control)["upload_limit"] == 2 * 1024 * 1024
        bad = served.post(client, "limits", {"upload": "fast"})
        assert bad.status_code == 400 and "not a size: 'fast'" in bad.json()["error"]
        assert served.post(client, "limits", {"reset": True}).status_code == 200
        assert controls.limits_in_force(config, served.control)["upload_limit"] == 0

        assert served.post(client, "pause", {"pair": "pair"}).json()["message"] == "paused pair"
        assert paused_pairs(served.control, ["pair"]) == {"pair"}
        assert _pair_state(served, client)["paused"] is True
        assert client.get("/api/state").json()["all_paused"] is True
        assert served.post(client, "resume", {}).json()["message"] == "resumed every folder pair"
        assert paused_pairs(served.control, ["pair"]) == frozenset()

        assert served.post(client, "rescan", {"pair": "pair"}).status_code == 200
        assert served.rescans == ["pair"]
    assert len(served.wakes) == 5  # every change that went through woke the daemon
