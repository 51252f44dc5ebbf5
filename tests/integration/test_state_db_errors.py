"""State DB errors SQLite reports only later than `Store.open`: damage found when a page is
read, a full disk when a write needs room. The commands say so plainly, with the exit code
of what the user does about it, never with a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from syncd.errors import EXIT_FAILURE, EXIT_NEEDS_USER, EXIT_OK
from syncd.store import Store
from tests.integration.harness import Harness, run_syncd

PAGE = 4096


def test_damage_near_the_end_of_the_state_db_stops_sync_and_status_with_the_reset_advice(
    h: Harness, tmp_path: Path
) -> None:
    h.write("kept.txt", "k")
    h.converge()
    with Store.open(h.db_path) as store:  # a few thousand rows, the last pages theirs
        for i in range(2500):
            store.record_failure(f"elsewhere/f{i:05d}", "upload", "refused " * 8, 0.0)
    size = h.db_path.stat().st_size
    with open(h.db_path, "r+b") as handle:
        handle.seek(size - 3 * PAGE)
        handle.write(b"\xff" * 3 * PAGE)
    with Store.open(h.db_path):
        pass  # opening alone does not see it
    config = h.write_config(tmp_path / "config.yaml")
    for command in ("sync", "status"):
        result = run_syncd(config, command)
        assert result.returncode == EXIT_NEEDS_USER, (command, result.stdout, result.stderr)
        output = result.stdout + result.stderr
        assert "state database is unreadable or corrupt" in output, (command, output)
        assert "database disk image is malformed" in output
        assert f"`syncd reset --config {config}`" in output  # the fix, for this config
        assert "Traceback" not in output
    assert h.read("kept.txt") == b"k" and h.remote_read("kept.txt") == b"k"
    assert h.db_path.stat().st_size == size  # left for `syncd reset` to keep aside


# Run `syncd sync` with SQLite refusing to grow any DB by a page (SQLITE_FULL, as on a full
# disk): a real SQLite condition on real files, set on each connection as it is made.
_ON_A_FULL_DISK = """\
import sys
import sqlalchemy

def no_room(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA max_page_count = 1")  # raised to its current size

sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", no_room)
from syncd.cli import run
sys.argv = ["syncd", *sys.argv[1:]]
run()
"""


def test_a_full_disk_under_the_state_db_is_reported_as_such_and_loses_nothing(
    h: Harness, tmp_path: Path
) -> None:
    h.write("kept.txt", "k")
    h.converge()
    names = [f"new/{'n' * 150}-{i:03d}.txt" for i in range(300)]
    for name in names:
        h.remote_write(name, name)
    config = h.write_config(tmp_path / "config.yaml")
    result = subprocess.run(
        [sys.executable, "-c", _ON_A_FULL_DISK, "sync", "-q", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == EXIT_FAILURE, (result.stdout, result.stderr)
    assert f"{h.db_path}: the disk is full" in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # Once there is room, a sync finishes the job; nothing was lost on either side.
    assert run_syncd(config, "sync", "-q").returncode == EXIT_OK
    assert h.local_tree() == h.remote_tree()
    assert all(h.read(name) == name.encode() for name in names)
