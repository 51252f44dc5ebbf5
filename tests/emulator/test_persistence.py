"""State survives a restart on the same data dir: tree, bytes, tokens, URLs."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from syncd.emulator import Emulator
from tests.emulator.conftest import APP, b64id, bearer, listing, upload


def test_restart_keeps_tree_tokens_and_urls(
    make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    data = tmp_path / "state"
    first = make_emulator(data)
    grant = first.issue_token()
    with httpx.Client(headers=bearer(grant)) as c:
        upload(c, first, "a.txt", b"alpha")
        c.post(first.api_base + "/folders", json={"name": "docs"})
        upload(c, first, "b.jpg", b"beta", b64id(APP + "docs/"))
        c.post(f"{first.api_base}/folders/{b64id(APP + 'docs/')}", json={"name": "papers"})
        c.delete(f"{first.api_base}/files/{b64id(APP + 'a.txt')}")
        url = c.get(f"{first.api_base}/files/{b64id(APP + 'papers/b.jpg')}").json()["downloadUrl"]
        before = listing(c, first, flat="true")
    old_origin = first.origin
    first.stop()

    second = make_emulator(data)
    with httpx.Client(headers=bearer(grant)) as c:  # the old access token still works
        after = listing(c, second, flat="true")
        assert after == before
        old_port_url = url.replace(old_origin, second.origin)
        assert c.get(old_port_url).content == b"beta"
    refresh = httpx.post(
        second.token_url,
        data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
        auth=("syncd-emulator", "syncd-emulator-secret"),
    )
    assert refresh.status_code == 200
    assert second.read_file("papers/b.jpg") == b"beta"


def test_state_survives_a_crash_without_stop(tmp_path: Path) -> None:
    """The journal is flushed per change: a process killed without stop() loses nothing."""
    data = tmp_path / "state"
    crashed = Emulator(data).start()
    when = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)
    crashed.put_file("x/y.txt", b"y", created=when, metadata={"k": [1]})
    crashed.move("x/y.txt", "x/z.txt")
    token = crashed.issue_token()["access_token"]
    # The crash: a copy of the data dir taken while this emulator still runs.
    snapshot = tmp_path / "copy"
    shutil.copytree(data, snapshot)
    crashed.stop()
    with Emulator(snapshot) as again:
        entry = again.listing()["x/z.txt"]
        assert entry.size == 1 and entry.created == when
        headers = {"Authorization": f"Bearer {token}"}
        body = httpx.get(f"{again.api_base}/files/{entry.id}", headers=headers).json()
        assert body["metadata"] == {"k": [1]}
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(again.api_base + "/freespace", headers=headers).status_code == 200


def test_torn_journal_line_and_orphans_are_ignored(tmp_path: Path) -> None:
    data = tmp_path / "state"
    with Emulator(data) as emulator:
        emulator.put_file("keep.txt", b"k")
    with (data / "journal.jsonl").open("a") as f:
        f.write('["file",["mes dossiers partenaires","syncd","torn')
    orphan = data / "blobs" / "ab" / "ab0000"
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"orphan")
    (data / "tmp" / "partial").write_bytes(b"partial upload")
    with Emulator(data) as emulator:
        assert set(emulator.listing()) == {"keep.txt"}
    assert not orphan.exists()
    assert not (data / "tmp" / "partial").exists()


def test_journal_is_compacted(tmp_path: Path) -> None:
    data = tmp_path / "state"
    with Emulator(data) as emulator:
        for i in range(50):
            emulator.put_file("same.txt", str(i).encode())
        journal = (data / "journal.jsonl").read_text()
        assert journal.count("\n") > 50
    lines = (data / "journal.jsonl").read_text().splitlines()
    assert len(lines) < 10
    with Emulator(data) as emulator:
        assert emulator.read_file("same.txt") == b"49"
        blobs = [p for p in (data / "blobs").rglob("*") if p.is_file()]
        assert len(blobs) == 1


def test_without_data_dir_nothing_is_left(tmp_path: Path) -> None:
    emulator = Emulator().start()
    emulator.put_file("a", b"a")
    root = emulator.state_dir
    assert root.exists()
    emulator.stop()
    assert not root.exists()


def test_stop_ends_busy_and_idle_connections(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path / "s").start()
    token = emulator.issue_token()["access_token"]
    host, port = emulator.origin.removeprefix("http://").split(":")
    idle = httpx.Client(headers={"Authorization": f"Bearer {token}"})
    busy = socket.create_connection((host, int(port)))
    try:
        assert idle.get(emulator.api_base + "/freespace").status_code == 200  # kept alive
        busy.sendall(
            f"POST /content/cloud/v1/files/content?name=x HTTP/1.1\r\nHost: h\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: 1000000\r\n\r\n".encode()
            + b"x" * 1000
        )
        # The upload is being received once its temporary file is there.
        deadline = time.monotonic() + 60
        while not os.listdir(tmp_path / "s" / "tmp") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.listdir(tmp_path / "s" / "tmp"), "the upload never started"
        # A stop that waited for the half-sent upload would hang: it must end on its own.
        stopper = threading.Thread(target=emulator.stop)
        stopper.start()
        stopper.join(60)
        assert not stopper.is_alive(), "stop() hangs on a busy connection"
        assert not [t for t in threading.enumerate() if t.name.startswith("emulator-")]
        assert os.listdir(tmp_path / "s" / "tmp") == []
    finally:
        idle.close()
        busy.close()
