"""What a pair's store says about it, read beside a running daemon: when it was last in sync,
the paths that failed (with their next retry), the conflicted copies still on disk, and the
excluded cloud folders. `syncd status` and the dashboard both read it through here, with
the standard `sqlite3` alone (`state_reader`), so `syncd status` starts without SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.config import Config, PairConfig
from syncd.errors import StateError
from syncd.locations import state_path
from syncd.state_reader import (
    LAST_SYNC_KEY,
    SELECTIVE_KEY,
    ConflictRecord,
    PathFailure,
    StateReader,
)


@dataclass(frozen=True, slots=True)
class PairDetails:
    last_sync: float | None = None
    failures: tuple[PathFailure, ...] = ()
    conflicts: tuple[ConflictRecord, ...] = ()  # only those whose copy is still there
    excluded: tuple[str, ...] = ()
    error: StateError | None = None  # why the store could not be read

    @property
    def problem(self) -> str | None:
        return None if self.error is None else str(self.error)


def failure_json(failure: PathFailure) -> dict[str, object]:
    """A failed path as `syncd status --json` and the dashboard show it."""
    return {
        "path": failure.rel_path,
        "action": failure.action,
        "message": failure.message,
        "attempts": failure.attempts,
        "retry_at": failure.retry_at,
    }


def pair_details(config: Config, pair: PairConfig) -> PairDetails:
    try:
        with StateReader.open(state_path(config, pair)) as store:
            raw = store.get_meta(LAST_SYNC_KEY)
            return PairDetails(
                last_sync=float(raw) if raw else None,
                failures=tuple(store.failures()),
                conflicts=tuple(
                    c for c in store.conflicts() if (pair.local_root / c.rel_path).exists()
                ),
                excluded=tuple(sorted(store.get_meta_json(SELECTIVE_KEY) or [])),
            )
    except StateError as exc:
        return PairDetails(error=exc)
