"""The per-pair state database: with `syncd.state_reader`, the only module that speaks SQL.

SQLite through SQLAlchemy Core, schema owned by the Alembic revisions in `migrations/`
(run on every open; a new, empty DB is created from the tables below, which a test holds
identical to what the revisions make). WAL lets `syncd status` read while the daemon
writes; every write transaction starts with `BEGIN IMMEDIATE`, because a deferred
transaction that reads and then writes fails with "database is locked" when another
connection got there first. The plain reads that `syncd status` also makes (meta, failures,
conflicts, the schema revision) are `syncd.state_reader`'s, run here on the driver's own
connection.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from syncd.errors import DiskFull, StateError, StateNotReady
from syncd.state_reader import (
    SCHEMA_HEAD,
    ConflictRecord,
    PathFailure,
    known_problem,
    read_conflicts,
    read_failures,
    read_meta,
    revision_problem,
    schema_revision,
    unusable,
)
from syncd.sync.model import BaseEntry, Kind

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

__all__ = ["SCHEMA_HEAD", "ConflictRecord", "PathFailure", "Store"]

metadata = sa.MetaData()

meta_table = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
entries_table = sa.Table(
    "entries",
    metadata,
    sa.Column("rel_path", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("mtime_ns", sa.Integer, nullable=False, server_default="0"),
    sa.Column("inode", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sha256", sa.Text, nullable=True),
    sa.Column("remote_id", sa.Text, nullable=False, server_default=""),
    sa.Column("remote_created", sa.Integer, nullable=False, server_default="0"),
    sa.Column("remote_modified", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_entries_inode", "inode"),
)
errors_table = sa.Table(
    "path_errors",
    metadata,
    sa.Column("rel_path", sa.Text, primary_key=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_failed", sa.Float, nullable=False),
    sa.Column("retry_at", sa.Float, nullable=False),
)
conflicts_table = sa.Table(
    "conflicts",
    metadata,
    sa.Column("rel_path", sa.Text, primary_key=True),
    sa.Column("original", sa.Text, nullable=False),
    sa.Column("loser", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# Alembic's own bookkeeping table, as Alembic defines it (kept out of `metadata`).
_alembic_version = sa.Table(
    "alembic_version",
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)

_BATCH = 2000

# The keys of the meta table: one value each, for the pair as a whole (with those a
# reader needs, in `state_reader`).
MARKER_KEY = "root_marker"  # the root's .syncd marker this state belongs to
REMOTE_ROOT_KEY = "remote_root"  # the cloud path the pair was synced with
REMOTE_ROOT_ID_KEY = "remote_root_id"  # and that folder's id then
SHARED_IDENTITIES_KEY = "shared_identities"  # see `sync.identities`


def migrations_dir() -> Path:
    """`syncd/_migrations` in a wheel; the repository's `migrations/` in a source checkout."""
    packaged = Path(str(resources.files("syncd"))) / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "migrations"


def _alembic_config(connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def known_revision(revision: str) -> bool:
    """Whether `revision` is one of this syncd's own (older than the head, or the head)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    return any(rev.revision == revision for rev in script.walk_revisions())


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _create_at_head(connection: Connection) -> None:
    """Give a new, empty database the head schema from the tables above, stamped as Alembic
    stamps it. Importing and running Alembic would cost a tenth of a second, a fifth of a
    first sync's start-up; a test checks that both ways make the very same schema."""
    metadata.create_all(connection)
    _alembic_version.create(connection)
    connection.execute(_alembic_version.insert().values(version_num=SCHEMA_HEAD))


def _make_engine(path: Path, readonly: bool) -> Engine:
    url = f"sqlite:///file:{path}?mode=ro&uri=true" if readonly else f"sqlite:///{path}"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool if readonly else sa.pool.QueuePool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Take BEGIN into our own hands (Python 3.11's sqlite3 would issue a deferred one).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=10000")
        if not readonly:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _entry_row(rel_path: str, entry: BaseEntry) -> dict[str, Any]:
    return {
        "rel_path": rel_path,
        "kind": entry.kind.value,
        "size": entry.size,
        "mtime_ns": entry.mtime_ns,
        "inode": entry.inode,
        "sha256": entry.sha256,
        "remote_id": entry.remote_id,
        "remote_created": entry.remote_created,
        "remote_modified": entry.remote_modified,
    }


class Store:
    """One pair's state. Construct with `Store.open`; one writer (the engine thread)."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self._engine = engine
        self.path = path

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Store:
        """Open (creating and migrating unless `readonly`); unusable DBs raise `StateError`."""
        if readonly and not path.exists():
            raise StateNotReady(f"{path}: no state yet (nothing has been synced)")
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                # The DB lists every synced path: keep it private from the start.
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        engine = _make_engine(path, readonly)
        store = cls(engine, path)
        try:
            if readonly:
                store._check_revision()
            else:
                store._migrate()
        except (StateError, DiskFull):
            engine.dispose()
            raise
        except (sa.exc.DatabaseError, sqlite3.DatabaseError) as exc:
            engine.dispose()
            # Whatever keeps a DB from opening makes it unusable as it is.
            raise (known_problem(path, exc) or unusable(path, exc)) from None
        return store

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite finds damage only when it reads the page, and a full disk only when a
        write needs room: either can come from any query, long after `open` succeeded."""
        try:
            yield
        except (sa.exc.DatabaseError, sqlite3.DatabaseError) as exc:
            problem = known_problem(self.path, exc)
            if problem is None:
                raise
            raise problem from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), self._engine.connect() as connection:
            yield connection

    def _migrate(self) -> None:
        with self._engine.begin() as connection:
            current = self._revision(connection)
            if current == SCHEMA_HEAD:
                return
            if current is None and not sa.inspect(connection).get_table_names():
                _create_at_head(connection)
                return
            from alembic import command
            from alembic.util.exc import CommandError

            head = head_revision()
            if current is not None and current != head and not known_revision(current):
                raise StateError(
                    f"{self.path}: state database has schema {current}, newer than this syncd "
                    f"understands ({head}). Upgrade syncd, or run `syncd reset` to rebuild it."
                )
            try:
                command.upgrade(_alembic_config(connection), "head")
            except CommandError as exc:
                raise StateError(f"{self.path}: cannot migrate state database: {exc}") from None

    def _check_revision(self) -> None:
        with self._engine.connect() as connection:
            problem = revision_problem(self.path, self._revision(connection))
        if problem is not None:
            raise problem

    @staticmethod
    def _revision(connection: Connection) -> str | None:
        return schema_revision(_driver(connection))

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._errors(), self._engine.begin() as connection:
            yield connection

    # --- base entries ------------------------------------------------------------------

    def load_base(self) -> dict[str, BaseEntry]:
        kinds = {kind.value: kind for kind in Kind}
        with self._read() as connection:
            # The driver's own cursor, streamed: this runs over every synced path at start,
            # and SQLAlchemy's buffered rows would hold a second copy of the whole table.
            cursor = _driver(connection).cursor()
            try:
                cursor.arraysize = 1000
                cursor.execute(
                    "SELECT rel_path, kind, size, mtime_ns, inode, sha256, remote_id,"
                    " remote_created, remote_modified FROM entries"
                )
                # Paths and ids are interned: the scan and the listing produce equal strings
                # for the same items, and one shared copy saves tens of MiB on big trees.
                intern = sys.intern
                rows: Iterable[tuple[Any, ...]] = cursor
                return {
                    intern(path): BaseEntry(
                        kinds[kind], size, mtime, inode, sha, intern(rid), created, modified
                    )
                    for path, kind, size, mtime, inode, sha, rid, created, modified in rows
                }
            finally:
                cursor.close()

    def count_entries(self) -> int:
        with self._read() as connection:
            return int(
                connection.scalar(sa.select(sa.func.count()).select_from(entries_table)) or 0
            )

    def apply(self, updates: Mapping[str, BaseEntry | None]) -> None:
        """Write new base rows (None deletes one) in a single transaction."""
        if not updates:
            return
        deletes = [path for path, entry in updates.items() if entry is None]
        rows = [_entry_row(path, entry) for path, entry in updates.items() if entry is not None]
        with self._write() as connection:
            for start in range(0, len(deletes), _BATCH):
                chunk = deletes[start : start + _BATCH]
                connection.execute(
                    entries_table.delete().where(entries_table.c.rel_path.in_(chunk))
                )
            if rows:
                statement = sqlite_insert(entries_table)
                statement = statement.on_conflict_do_update(
                    index_elements=["rel_path"],
                    set_={c.name: statement.excluded[c.name] for c in entries_table.columns},
                )
                for start in range(0, len(rows), _BATCH):
                    connection.execute(statement, rows[start : start + _BATCH])

    # --- key/value metadata ------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._read() as connection:
            return read_meta(_driver(connection), key)

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as connection:
            self._upsert_meta(connection, key, value)

    def set_meta_json(self, key: str, value: object) -> None:
        self.set_meta(key, json.dumps(value, sort_keys=True))

    def get_meta_json(self, key: str) -> Any:
        raw = self.get_meta(key)
        return None if raw is None else json.loads(raw)

    @staticmethod
    def _upsert_meta(connection: Connection, key: str, value: str) -> None:
        statement = sqlite_insert(meta_table).values(key=key, value=value)
        connection.execute(
            statement.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        )

    # --- per-path failures -------------------------------------------------------------

    def record_failure(self, rel_path: str, action: str, message: str, retry_at: float) -> int:
        """Count one more failure of `rel_path`; returns how many in a row."""
        now = time.time()
        with self._write() as connection:
            row = connection.execute(
                sa.select(errors_table.c.attempts, errors_table.c.first_failed).where(
                    errors_table.c.rel_path == rel_path
                )
            ).first()
            attempts = 1 if row is None else row.attempts + 1
            first = now if row is None else row.first_failed
            statement = sqlite_insert(errors_table).values(
                rel_path=rel_path,
                action=action,
                message=message,
                attempts=attempts,
                first_failed=first,
                retry_at=retry_at,
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["rel_path"],
                    set_={
                        "action": action,
                        "message": message,
                        "attempts": attempts,
                        "retry_at": retry_at,
                    },
                )
            )
        return attempts

    def set_retry(self, rel_path: str, retry_at: float) -> None:
        with self._write() as connection:
            connection.execute(
                errors_table.update()
                .where(errors_table.c.rel_path == rel_path)
                .values(retry_at=retry_at)
            )

    def clear_failures(self, rel_paths: Iterable[str]) -> None:
        paths = list(rel_paths)
        if not paths:
            return
        with self._write() as connection:
            for start in range(0, len(paths), _BATCH):
                chunk = paths[start : start + _BATCH]
                connection.execute(errors_table.delete().where(errors_table.c.rel_path.in_(chunk)))

    def failures(self) -> list[PathFailure]:
        with self._read() as connection:
            return read_failures(_driver(connection))

    # --- conflicted copies -------------------------------------------------------------

    def add_conflict(self, rel_path: str, original: str, loser: str) -> None:
        with self._write() as connection:
            statement = sqlite_insert(conflicts_table).values(
                rel_path=rel_path, original=original, loser=loser, created_at=time.time()
            )
            connection.execute(statement.on_conflict_do_nothing())

    def remove_conflicts(self, rel_paths: Iterable[str]) -> None:
        paths = list(rel_paths)
        if not paths:
            return
        with self._write() as connection:
            connection.execute(
                conflicts_table.delete().where(conflicts_table.c.rel_path.in_(paths))
            )

    def conflicts(self) -> list[ConflictRecord]:
        with self._read() as connection:
            return read_conflicts(_driver(connection))


def _driver(connection: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under a SQLAlchemy one, for `syncd.state_reader`'s queries."""
    driver = connection.connection.dbapi_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver
