"""A pair's state DB read with the standard library's `sqlite3` alone: what `syncd status`
shows (last sync, per-path failures, conflicted copies, excluded folders), without
SQLAlchemy.

`syncd.store` owns the DB: it creates, migrates and writes it through SQLAlchemy and
Alembic, whose import alone costs more than everything else `syncd status` does. The reads
here are few and plain, and the store runs these very functions on its own connection, so
each query, the rows it makes and the rule for which schema a reader may trust exist once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncd.errors import DiskFull, StateError, StateNotReady, SyncdError

# The newest schema revision in `migrations/versions` (a test checks it against Alembic's
# own view). Knowing it here lets an up-to-date DB open without importing Alembic at all.
SCHEMA_HEAD = "0001"

# The meta keys a reader needs (the store has the others).
LAST_SYNC_KEY = "last_sync"  # when the pair was last fully in sync (epoch seconds)
SELECTIVE_KEY = "selective_excludes"  # `syncd exclude`: folders kept off this computer


@dataclass(frozen=True, slots=True)
class PathFailure:
    rel_path: str
    action: str
    message: str
    attempts: int
    first_failed: float
    retry_at: float


@dataclass(frozen=True, slots=True)
class ConflictRecord:
    rel_path: str
    original: str
    loser: str
    created_at: float


# --- queries, on any sqlite3 connection to the DB (the store's included) ------------------


def schema_revision(connection: sqlite3.Connection) -> str | None:
    """The revision Alembic stamped, or None for a DB without one (new, or being made)."""
    table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if table is None:
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def read_meta(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def read_failures(connection: sqlite3.Connection) -> list[PathFailure]:
    rows = connection.execute(
        "SELECT rel_path, action, message, attempts, first_failed, retry_at"
        " FROM path_errors ORDER BY rel_path"
    )
    return [PathFailure(*row) for row in rows]


def read_conflicts(connection: sqlite3.Connection) -> list[ConflictRecord]:
    rows = connection.execute(
        "SELECT rel_path, original, loser, created_at FROM conflicts ORDER BY rel_path"
    )
    return [ConflictRecord(*row) for row in rows]


def revision_problem(path: Path, current: str | None) -> StateError | None:
    """Why a reader may not trust a DB at schema `current`; None when it may."""
    if current == SCHEMA_HEAD:
        return None
    if current is None or _known_revision(current):
        # Being created (by a sync that has just started), or older: the next sync
        # migrates it.
        return StateNotReady(
            f"{path}: state database has schema {current}, expected {SCHEMA_HEAD}"
            " (start the daemon or run `syncd sync` once to migrate it)"
        )
    return StateError(
        f"{path}: state database has schema {current}, newer than this syncd "
        f"understands ({SCHEMA_HEAD}). Upgrade syncd, or run `syncd reset` to rebuild it."
    )


def _known_revision(revision: str) -> bool:
    from syncd.store import known_revision  # Alembic: only for a DB not at the head

    return known_revision(revision)


# --- what SQLite's errors mean to the user ------------------------------------------------


def unusable(path: Path, exc: BaseException) -> StateError:
    return StateError(
        f"{path}: state database is unreadable or corrupt ({exc.__class__.__name__}: "
        f"{_first_line(exc)}). Run `syncd reset` to rebuild it from both sides "
        "(nothing is deleted; differing files become conflicted copies)."
    )


def known_problem(path: Path, exc: BaseException) -> SyncdError | None:
    """The error the user can act on for what SQLite reported (raised by `sqlite3`, or
    wrapped by SQLAlchemy), by its result code; None for anything else."""
    cause = getattr(exc, "orig", None) or exc
    code = getattr(cause, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF  # extended result codes keep the primary one in the low byte
    if primary == sqlite3.SQLITE_FULL:
        return DiskFull(
            f"{path}: the disk is full, the state database cannot grow ({_first_line(exc)}). "
            "Free some space; the next sync carries on where this one stopped (nothing is "
            "lost)."
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return unusable(path, exc)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else exc.__class__.__name__


# --- the reader ---------------------------------------------------------------------------


class StateReader:
    """One pair's state, read only: never created, migrated, locked or written. WAL lets it
    read while the daemon writes."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self.path = path

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[StateReader]:
        """The reader of the DB at `path`; `StateNotReady` if nothing was synced yet (or its
        schema is not migrated yet), `StateError` if it cannot be used as it is."""
        if not path.exists():
            raise StateNotReady(f"{path}: no state yet (nothing has been synced)")
        connection = sqlite3.connect(
            path.absolute().as_uri() + "?mode=ro", uri=True, isolation_level=None
        )
        try:
            try:
                connection.execute("PRAGMA busy_timeout=10000")
                problem = revision_problem(path, schema_revision(connection))
            except sqlite3.DatabaseError as exc:
                # Whatever keeps a DB from opening makes it unusable as it is.
                raise (known_problem(path, exc) or unusable(path, exc)) from None
            if problem is not None:
                raise problem
            yield cls(connection, path)
        finally:
            connection.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite finds damage only when it reads the page: any query can meet it."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            problem = known_problem(self.path, exc)
            if problem is None:
                raise
            raise problem from None

    def get_meta(self, key: str) -> str | None:
        with self._errors():
            return read_meta(self._connection, key)

    def get_meta_json(self, key: str) -> Any:
        raw = self.get_meta(key)
        return None if raw is None else json.loads(raw)

    def failures(self) -> list[PathFailure]:
        with self._errors():
            return read_failures(self._connection)

    def conflicts(self) -> list[ConflictRecord]:
        with self._errors():
            return read_conflicts(self._connection)
