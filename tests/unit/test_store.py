"""The state DB on real SQLite with the real migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command

from syncd.errors import EXIT_FAILURE, DiskFull, StateError
from syncd.store import Store, _alembic_config, head_revision
from syncd.sync.model import BaseEntry, Kind


def entry(i: int) -> BaseEntry:
    return BaseEntry(Kind.FILE, i, i * 10, i, f"{i:064x}", f"id{i}", i, i + 1)


def test_fresh_db_is_created_private_and_at_head(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.db"
    with Store.open(path) as store:
        assert store.count_entries() == 0
    assert path.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            head_revision()
        )
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_entries_round_trip_and_delete(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        store.apply({f"p{i}": entry(i) for i in range(5000)})
        store.apply({"p1": None, "p2": entry(99)})
        base = store.load_base()
    assert len(base) == 4999 and "p1" not in base and base["p2"] == entry(99)


def test_upgrade_from_the_first_schema_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store.open(path) as store:
        store.apply({"a": entry(1)})
    with Store.open(path) as store:  # already at head: a no-op upgrade
        assert store.load_base() == {"a": entry(1)}


def test_upgrade_runs_on_a_db_made_by_an_older_revision(tmp_path: Path) -> None:
    import sqlalchemy as sa

    path = tmp_path / "older.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0001")
        connection.exec_driver_sql(
            "INSERT INTO entries (rel_path, kind, size, mtime_ns, inode, sha256, remote_id,"
            " remote_created, remote_modified) VALUES ('x', 'file', 1, 2, 3, NULL, 'i', 4, 5)"
        )
    engine.dispose()
    with Store.open(path) as store:
        assert store.load_base()["x"] == BaseEntry(Kind.FILE, 1, 2, 3, None, "i", 4, 5)


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    Store.open(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StateError, match="newer than this syncd"):
        Store.open(path)


def test_a_corrupt_db_is_refused_and_not_wiped(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="syncd reset"):
        Store.open(path)
    assert path.read_bytes().startswith(b"this is not a database")


def test_a_reader_sees_the_db_while_a_writer_works(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as writer:
        writer.apply({"a": entry(1)})
        stop = threading.Event()

        def write_forever() -> None:
            i = 2
            while not stop.is_set():
                writer.apply({f"w{i}": entry(i)})
                i += 1

        thread = threading.Thread(target=write_forever)
        thread.start()
        try:
            for _ in range(20):
                with Store.open(path, readonly=True) as reader:
                    assert reader.count_entries() >= 1
        finally:
            stop.set()
            thread.join()


def test_failures_count_up_and_clear(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        assert store.record_failure("a", "upload", "boom", 10.0) == 1
        assert store.record_failure("a", "upload", "boom again", 20.0) == 2
        (failure,) = store.failures()
        assert (failure.attempts, failure.message, failure.retry_at) == (2, "boom again", 20.0)
        store.clear_failures(["a"])
        assert store.failures() == []


def test_the_known_schema_head_is_alembic_s_head() -> None:
    from syncd.store import SCHEMA_HEAD

    assert head_revision() == SCHEMA_HEAD


def _schema(path: Path) -> set[tuple[str, str, str | None]]:
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    return {(kind, name, sql) for kind, name, sql in rows}


def test_a_new_db_gets_exactly_the_schema_the_migrations_make(tmp_path: Path) -> None:
    """New databases skip Alembic (start-up time): the tables in store.py must then be the
    head schema, statement for statement, or a later migration would meet a different DB."""
    import sqlalchemy as sa

    migrated = tmp_path / "migrated.db"
    engine = sa.create_engine(f"sqlite:///{migrated}")
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    engine.dispose()
    with Store.open(tmp_path / "new.db"):
        pass
    assert _schema(tmp_path / "new.db") == _schema(migrated)
    with sqlite3.connect(tmp_path / "new.db") as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]


def test_a_db_with_tables_but_no_revision_is_left_to_alembic(tmp_path: Path) -> None:
    """Only an empty file is created directly: anything else goes through the migrations,
    which refuse what they do not recognise instead of stamping it."""
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE entries (rel_path TEXT PRIMARY KEY)")
    with pytest.raises(StateError):
        Store.open(path)


# --- errors SQLite reports late: damage read by a query, a full disk on a write ---------------

PAGE = 4096


def _damage_the_last_pages(path: Path, pages: int = 3) -> None:
    """Pages of 0xff: no valid b-tree page starts so, and SQLite says "malformed"."""
    assert not Path(f"{path}-wal").exists()  # everything is in the main file
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size - pages * PAGE)
        handle.write(b"\xff" * pages * PAGE)


def _build(path: Path, last: str) -> None:
    """A real DB of 5,000 rows (through the real migrations): `last` filled last, so its
    rows are on the pages at the end of the file."""
    with Store.open(path) as store:
        for table in sorted(("entries", "failures"), key=lambda t: t == last):
            if table == "entries":
                store.apply({f"folder/file-{i:05d}.txt": entry(i) for i in range(3000)})
            else:
                for i in range(2000):
                    store.record_failure(f"other/f{i:05d}", "upload", "refused " * 8, 0.0)


@pytest.mark.parametrize(
    ("last", "read"),
    [("entries", Store.load_base), ("failures", Store.failures)],
    ids=["load_base", "failures"],
)
def test_damage_that_shows_only_when_a_page_is_read_is_a_state_error(
    tmp_path: Path, last: str, read: object
) -> None:
    path = tmp_path / "s.db"
    _build(path, last)
    _damage_the_last_pages(path)
    with Store.open(path) as store:  # the damage is not where opening looks
        assert store.get_meta("absent") is None
        with pytest.raises(StateError) as caught:
            read(store)  # type: ignore[operator]
    message = str(caught.value)
    assert message.startswith(f"{path}: state database is unreadable or corrupt")
    assert "database disk image is malformed" in message and "syncd reset" in message
    assert path.stat().st_size > 100 * PAGE  # never wiped


@pytest.fixture
def fill_disk() -> Iterator[Callable[[], None]]:
    """Once called, every new SQLite connection may not grow its DB by a single page: a
    full disk as SQLite meets one (SQLITE_FULL), on real files."""
    import sqlalchemy as sa

    def no_room(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute("PRAGMA max_page_count = 1")  # raised to its current size

    def fill() -> None:
        sa.event.listen(sa.engine.Engine, "connect", no_room)

    yield fill
    if sa.event.contains(sa.engine.Engine, "connect", no_room):
        sa.event.remove(sa.engine.Engine, "connect", no_room)


def test_a_full_disk_under_the_state_db_is_disk_full_and_loses_nothing(
    tmp_path: Path, fill_disk: Callable[[], None]
) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        store.apply({f"p{i}": entry(i) for i in range(3000)})
    fill_disk()
    with Store.open(path) as store:
        writes = [
            lambda: store.apply({f"new/{'x' * 200}{i}": entry(i) for i in range(300)}),
            lambda: store.set_meta("big", "y" * 100_000),
            lambda: [store.record_failure(f"f{i}" * 50, "upload", "m" * 500, 0) for i in range(50)],
        ]
        for write in writes:
            with pytest.raises(DiskFull) as caught:
                write()
            assert str(caught.value).startswith(f"{path}: the disk is full")
            assert caught.value.exit_code == EXIT_FAILURE
        assert len(store.load_base()) == 3000  # what was there is all there


def test_the_reader_reads_what_the_store_wrote_and_refuses_what_it_cannot_trust(
    tmp_path: Path,
) -> None:
    from syncd.errors import StateNotReady
    from syncd.state_reader import StateReader

    path = tmp_path / "s.db"
    with pytest.raises(StateNotReady, match="nothing has been synced"), StateReader.open(path):
        pass
    with Store.open(path) as store:
        store.set_meta("last_sync", "12.5")
        store.record_failure("a", "upload", "boom", 10.0)
        store.add_conflict("a (copy).txt", "a.txt", "local")
        with StateReader.open(path) as reader:  # beside the writer
            assert reader.get_meta("last_sync") == "12.5"
            assert reader.failures() == store.failures()
            assert reader.conflicts() == store.conflicts()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    with (
        pytest.raises(StateError, match="newer than this syncd") as refused,
        StateReader.open(path),
    ):
        pass
    assert not isinstance(refused.value, StateNotReady)
    path.write_bytes(b"this is not a database" * 100)
    with (
        pytest.raises(StateError, match=r"unreadable or corrupt.*syncd reset"),
        StateReader.open(path),
    ):
        pass
