"""Retrying transient failures: jittered exponential backoff (stamina), Retry-After honoured.

Retried: `TransientError`s (5xx, 403 code 53 / 429, network failures, a download cut short).
Never retried: any other error, in particular 4xx answers and whatever a progress callback
raised (the sync engine cancels a transfer that way).

Tests switch stamina to test mode (`stamina.set_testing(True, attempts=..., cap=True)`), which
keeps the attempt count and drops every sleep; the backoff hook is a pure function tested on its
own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from syncd.cloud.errors import CloudUnavailable, RateLimited
from syncd.errors import TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How transient failures are retried: `max_attempts` attempts in all, waits growing
    from `initial_backoff_s` up to `max_backoff_s`, each with up to `jitter_s` of random
    jitter; a `RateLimited` error's `retry_after` replaces the wait (capped the same)."""

    max_attempts: int = 6
    max_backoff_s: float = 60.0
    initial_backoff_s: float = 0.5
    jitter_s: float = 1.0

    def backoff_for(self, exc: BaseException) -> bool | float:
        """stamina's hook: False = give up now, True = default backoff, float = wait that long."""
        if not isinstance(exc, TransientError):
            return False
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_backoff_s)
        return True

    def call(self, operation: Callable[[], T]) -> T:
        """Run `operation`, retrying transient failures; returns its result. Raises its
        first error that is not transient, or the last transient one once the attempts are
        spent."""
        # Nearly every call succeeds at once, and setting up stamina's loop costs more than
        # a small download: the loop starts at the first failure, which it is handed first.
        try:
            return operation()
        except Exception as exc:
            if self.max_attempts <= 1 or self.backoff_for(exc) is False:
                raise
            first_failure: Exception | None = exc
        # Imported at the first retry: stamina and tenacity under it are a noticeable part of
        # every command's start-up, and most runs never retry.
        import stamina

        for attempt in stamina.retry_context(
            on=self._hook,
            attempts=self.max_attempts,
            timeout=None,
            wait_initial=self.initial_backoff_s,
            wait_max=self.max_backoff_s,
            wait_jitter=self.jitter_s,
        ):
            with attempt:
                if first_failure is not None:
                    failure, first_failure = first_failure, None
                    raise failure
                return operation()
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _hook(self, exc: BaseException) -> bool | float:
        decision = self.backoff_for(exc)
        if decision is not False:
            detail = "network" if isinstance(exc, CloudUnavailable) else type(exc).__name__
            log.info("transient cloud failure (%s: %s); retrying", detail, exc)
        return decision
