"""What the page shows, as one JSON document: the daemon's activity and status, joined with
what each pair's store and trash say. `page_state` is pure; `Details` reads the stores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from syncd import __version__
from syncd.activity import ActivitySnapshot, PairView
from syncd.config import Config, PairConfig
from syncd.controls import trashed_items
from syncd.details import PairDetails, failure_json, pair_details
from syncd.status import ERROR, IDLE, OFFLINE, PAUSED, STARTING, SYNCING

NEEDS_YOU = "needs-you"
# The trash can hold thousands of files: the page lists the newest.
TRASH_SHOWN = 100
# Stores and trash are read at most this often while a page is open (never when none is).
DETAILS_TTL_S = 3.0


@dataclass(frozen=True, slots=True)
class TrashEntry:
    path: str
    trashed_at: str | None
    is_dir: bool


@dataclass(frozen=True, slots=True)
class PairFacts:
    """What the disk says about a pair: its store's details and its trash."""

    details: PairDetails
    trash: tuple[TrashEntry, ...]
    trash_count: int


def read_facts(config: Config, pair: PairConfig) -> PairFacts:
    items = sorted(
        trashed_items(pair.local_root),
        key=lambda item: (item.trashed_at or datetime.min, item.rel_path),
        reverse=True,
    )
    trash = tuple(
        TrashEntry(
            path=item.rel_path,
            trashed_at=item.trashed_at.isoformat() if item.trashed_at else None,
            is_dir=item.is_dir,
        )
        for item in items[:TRASH_SHOWN]
    )
    return PairFacts(pair_details(config, pair), trash, len(items))


class Details:
    """The pairs' facts, read again when older than `DETAILS_TTL_S` or after a change."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.monotonic,
        read: Callable[[Config, PairConfig], PairFacts] = read_facts,
    ) -> None:
        self.config = config
        self.clock = clock
        self.read = read
        self._lock = threading.Lock()
        self._facts: dict[str, PairFacts] = {}
        self._at: float | None = None

    def get(self) -> dict[str, PairFacts]:
        with self._lock:
            if self._at is None or self.clock() - self._at >= DETAILS_TTL_S:
                self._facts = {
                    pair.name: self.read(self.config, pair) for pair in self.config.pairs
                }
                self._at = self.clock()
            return self._facts

    def invalidate(self) -> None:
        with self._lock:
            self._at = None


def pair_state(state: str, attention: str | None, conflicts: int, *, busy: bool = False) -> str:
    """The one word on a pair's card. "needs-you" when it waits for the user (a brake, a
    missing root, conflicted copies), unless it is busy or the user paused it. `busy`: its
    activity shows work under way, which the status (published each second) may not yet."""
    if state == PAUSED:
        return state
    if busy or state in (SYNCING, STARTING):
        return SYNCING if busy else state
    if attention or conflicts:
        return NEEDS_YOU
    return state


# The header's word for all pairs: what most needs a look first.
_PRECEDENCE = (ERROR, NEEDS_YOU, OFFLINE, SYNCING, STARTING, IDLE)


def overall_state(states: list[str]) -> str:
    """Paused only when every pair is; otherwise the most pressing of the others."""
    active = [state for state in states if state != PAUSED]
    if not active:
        return PAUSED if states else STARTING
    return next((state for state in _PRECEDENCE if state in active), active[0])


def _pair(
    pair: PairConfig,
    status: Mapping[str, Any],
    view: PairView,
    facts: PairFacts,
    paused: bool,
) -> dict[str, Any]:
    details = facts.details
    state = str(status.get("state", STARTING))
    return {
        "name": pair.name,
        "local": str(pair.local_root),
        "remote": pair.remote_root,
        "state": pair_state(
            state, view.attention, len(details.conflicts), busy=bool(view.transfers or view.queued)
        ),
        "message": view.attention or status.get("message", ""),
        "paused": paused,
        "last_sync": status.get("last_sync") or details.last_sync,
        "pending_uploads": status.get("pending_uploads", 0),
        "pending_downloads": status.get("pending_downloads", 0),
        "rate_up": view.rate_up,
        "rate_down": view.rate_down,
        "transfers": [asdict(t) for t in view.transfers],
        "queue": [asdict(q) for q in view.queue],
        "queued": view.queued,
        "errors": [failure_json(f) for f in details.failures],
        "conflicts": [
            {
                "copy": c.rel_path,
                "original": c.original,
                # The copy holds the version that lost the name.
                "copy_holds": "cloud" if c.loser == "remote" else "local",
                "since": c.created_at,
            }
            for c in details.conflicts
        ],
        "excluded": list(details.excluded),
        "trash": [asdict(t) for t in facts.trash],
        "trash_count": facts.trash_count,
        "problem": details.problem,
    }


def page_state(
    config: Config,
    snapshot: ActivitySnapshot,
    facts: Mapping[str, PairFacts],
    paused: frozenset[str],
) -> dict[str, Any]:
    status = snapshot.status or {}
    statuses = status.get("pairs", {})
    empty = PairFacts(PairDetails(), (), 0)
    pairs = [
        _pair(
            pair,
            statuses.get(pair.name, {}),
            snapshot.pairs.get(pair.name) or PairView(pair.name),
            facts.get(pair.name, empty),
            pair.name in paused,
        )
        for pair in config.pairs
    ]
    return {
        "version": __version__,
        "state": overall_state([pair["state"] for pair in pairs]),
        "updated": status.get("updated"),
        "free_space": status.get("free_space"),
        "limits": {
            "upload_limit": int(status.get("upload_limit") or 0),
            "download_limit": int(status.get("download_limit") or 0),
        },
        "all_paused": bool(pairs) and len(paused) == len(pairs),
        "pairs": pairs,
        "recent": [asdict(item) for item in snapshot.recent],
    }
