"""File identities two synced files have shared: never evidence of a cloud move.

The API has no checksum: a cloud move is recognised by (size, creation second). Two files
that ever shared those numbers cannot be told apart that way, even after one of them left
the base (a deleted file's look-alike at a new path may be either). So such identities are
remembered, in the store, for 30 days after they were last seen shared.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from syncd.store import SHARED_IDENTITIES_KEY, Store
from syncd.sync.model import BaseEntry, Kind

REMEMBERED_DAYS = 30


class SharedIdentities:
    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now
        self._seen: dict[tuple[int, int], float] = {}  # identity -> when last seen shared

    def load(self) -> None:
        raw = self._store.get_meta(SHARED_IDENTITIES_KEY)
        oldest = self._now().timestamp() - REMEMBERED_DAYS * 86400
        try:
            rows = json.loads(raw) if raw else []
            self._seen = {(int(s), int(c)): float(t) for s, c, t in rows if float(t) >= oldest}
        except (ValueError, TypeError):
            # Damaged: forget it; moves are then judged on the current base alone.
            self._seen = {}

    def remember(self, base: Iterable[BaseEntry]) -> None:
        """Note the identities two base files share, in the store and before any action
        runs: once an action removed one of the two (even in a run that was then stopped),
        the other's look-alike must not pass for a move."""
        counts = Counter(
            (entry.size, entry.remote_created)
            for entry in base
            if entry.kind is Kind.FILE and entry.remote_created
        )
        now = self._now().timestamp()
        shared_now = {identity for identity, count in counts.items() if count > 1}
        unseen = shared_now - self._seen.keys()
        self._seen.update(dict.fromkeys(shared_now, now))
        if unseen:
            rows = [[size, created, seen] for (size, created), seen in self._seen.items()]
            self._store.set_meta(SHARED_IDENTITIES_KEY, json.dumps(rows))

    def known(self) -> frozenset[tuple[int, int]]:
        return frozenset(self._seen)
