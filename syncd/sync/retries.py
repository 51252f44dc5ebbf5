"""When each failed path is tried again: 30 s, 1 min, 2 min, ... up to an hour, with jitter
so that failures do not march in step. A path waiting out its backoff is left alone by the
planner (on both sides), so a failure never turns into a delete."""

from __future__ import annotations

import random
from collections.abc import Callable, Container, Iterable

from syncd.store import PathFailure

MAX_BACKOFF = 3600.0


def backoff_delay(attempts: int, rng: random.Random) -> float:
    delay = min(MAX_BACKOFF, 30.0 * 2 ** max(0, attempts - 1))
    return float(delay * rng.uniform(0.75, 1.25))


def shown_delay(seconds: float) -> str:
    """`45 s`, `8 min`, `1.0 h`: a wait as a person reads it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Retries:
    """The retry time of each failed path, kept in step with the store's failure rows."""

    def __init__(self, clock: Callable[[], float], rng: random.Random) -> None:
        self._clock = clock
        self._rng = rng
        self.at: dict[str, float] = {}

    def load(self, failures: Iterable[PathFailure]) -> None:
        self.at = {failure.rel_path: failure.retry_at for failure in failures}

    def due(self) -> bool:
        """Has a failed path's retry time come (so a pass is worth it even with no change)?"""
        now = self._clock()
        return any(when <= now for when in self.at.values())

    def backing_off(self) -> set[str]:
        now = self._clock()
        return {path for path, when in self.at.items() if when > now}

    def waiting(self, failed_now: Container[str]) -> dict[str, float]:
        """The paths still backing off that did not fail in this very sync, by retry time."""
        now = self._clock()
        return {
            path: when
            for path, when in sorted(self.at.items())
            if path not in failed_now and when > now
        }

    def schedule(self, rel_path: str, attempts: int) -> tuple[float, float]:
        """After the `attempts`-th failure in a row: (the retry time, the delay)."""
        delay = backoff_delay(attempts, self._rng)
        retry = self._clock() + delay
        self.at[rel_path] = retry
        return retry, delay

    def clear(self, rel_path: str) -> bool:
        """Forget a path that succeeded; True if it had failed before."""
        return self.at.pop(rel_path, None) is not None
