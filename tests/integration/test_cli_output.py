"""What the commands print, the same way everywhere: counts with their right plural ("1 item",
"2 conflicted copies"), and every timestamp in `--json` as ISO-8601 UTC to the second
(`2026-12-07T16:20:36Z`), whatever the local time zone."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncd import controls
from syncd.cli import main
from syncd.config import load_config
from syncd.locations import control_dir
from syncd.status import DaemonStatus, PairStatus, write_pid, write_status
from syncd.store import Store
from tests.integration.harness import Harness

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
LAST_SYNC = 1765124436.0  # 2025-12-07T16:20:36Z
RETRY_AT = 4102444800.0  # 2100-01-01T00:00:00Z


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time five and a half hours from UTC: a local time shown as UTC would show."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _one_of_each(h: Harness, tmp_path: Path) -> Path:
    """A synced pair with one conflicted copy, one trashed file, one excluded folder and one
    failed path; its config."""
    h.write("a.txt", "v1")
    h.write("gone.txt", "g")
    h.remote_write("photos/p.jpg", "p")
    h.converge()
    h.write("a.txt", "local edit")
    h.remote_write("a.txt", "cloud edit!", when=datetime.now().replace(year=2099))
    h.emulator.delete("sync/gone.txt")
    h.converge()
    with Store.open(h.db_path) as store:
        controls.set_excluded(store, ["photos"])
        store.record_failure("b.txt", "upload", "Permission denied", RETRY_AT)
        store.set_meta("last_sync", str(LAST_SYNC))
    return h.write_config(tmp_path / "config.yaml")


def cli(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    assert result.exit_code in (0, 1), result.output
    return result


def test_one_of_each_is_said_in_the_singular(h: Harness, tmp_path: Path) -> None:
    config = _one_of_each(h, tmp_path)
    assert "pair: 1 unresolved conflict\n" in cli(config, "conflicts").output
    assert "pair: 1 item in the trash\n" in cli(config, "trash", "list").output
    assert "pair: 1 excluded folder\n" in cli(config, "exclude", "list").output
    h.write("new.txt", "n")
    assert "pair: 1 planned action\n" in cli(config, "sync", "--dry-run").output
    control = control_dir(load_config(config))
    write_pid(control)  # this process stands for the daemon
    write_status(
        control,
        DaemonStatus(
            pid=write_pid(control).pid,
            pairs={"pair": PairStatus("syncing", pending_uploads=1, pending_downloads=2)},
        ),
    )
    assert "pending: 1 upload, 2 downloads" in cli(config, "status").output


def test_nothing_is_said_as_no_items(h: Harness, tmp_path: Path) -> None:
    h.write("a.txt", "a")
    h.converge()
    config = h.write_config(tmp_path / "config.yaml")
    assert "pair: no unresolved conflicts\n" in cli(config, "conflicts").output
    assert "pair: no items in the trash\n" in cli(config, "trash", "list").output
    assert "pair: no excluded folders\n" in cli(config, "exclude", "list").output
    assert "pair: no planned actions\n" in cli(config, "sync", "--dry-run").output


@pytest.mark.usefixtures("far_from_utc")
def test_every_json_timestamp_is_iso_8601_utc(h: Harness, tmp_path: Path) -> None:
    config = _one_of_each(h, tmp_path)
    status = json.loads(cli(config, "status", "--json").stdout)["pairs"]["pair"]
    assert status["last_sync"] == "2025-12-07T16:20:36Z"
    assert status["errors"][0]["retry_at"] == "2100-01-01T00:00:00Z"

    (conflict,) = json.loads(cli(config, "conflicts", "--json").stdout)["pair"]
    assert ISO_UTC.fullmatch(conflict["since"]), conflict
    since = datetime.strptime(conflict["since"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - since).total_seconds()) < 600  # UTC, not local time
    # The trash is labelled in local time (the harness's clock: 17:55:02 in Kolkata).
    (trashed,) = json.loads(cli(config, "trash", "list", "--json").stdout)["pair"]
    assert trashed["trashed_at"] == "2026-11-26T12:25:02Z"

    auth = json.loads(cli(config, "auth", "status", "--json").stdout)
    assert ISO_UTC.fullmatch(auth["access_token_expires"]), auth

    listing = json.loads(cli(config, "cloud", "ls", "--json", "-R", "/sync").stdout)
    files = [entry for entry in listing if entry["kind"] == "file"]
    assert files and all(
        ISO_UTC.fullmatch(entry[key]) for entry in files for key in ("created", "modified")
    ), files
