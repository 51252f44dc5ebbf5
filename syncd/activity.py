"""What the daemon is doing right now, for the dashboard: each pair's transfers with their
bytes and rates, its queue, what it needs from the user, and the last 200 actions.

The daemon feeds it from the engine's hooks (`plan`, `start`, `advance`, `done`), on the
engine thread and the transfer threads; the web layer reads immutable snapshots of it. One
lock guards everything and is held only for a few assignments: `advance` runs for every
chunk of every transfer. Nothing here keeps more than the current plan and 200 actions.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncd.sync.executor import Cancelled, Outcome
from syncd.sync.model import (
    Action,
    Conflict,
    Download,
    MoveLocal,
    MoveRemote,
    Plan,
    Record,
    Skip,
    Upload,
)
from syncd.sync.report import action_name, outcome_name

RECENT = 200
QUEUE_SHOWN = 50
# Rates are the bytes of the last few seconds: steady enough to read, quick to fall to 0.
RATE_WINDOW_S = 3.0
_SAMPLE_EVERY_S = 0.25


def transfer_size(action: Action) -> int:
    """The bytes an action sends or receives (a conflict downloads the cloud version)."""
    if isinstance(action, Upload):
        return action.local.size
    if isinstance(action, Download | Conflict):
        return action.remote.size
    return 0


def _shown(action: Action) -> bool:
    return not isinstance(action, Record | Skip)


class RateMeter:
    """Bytes per second over the last `RATE_WINDOW_S`, from a running total sampled at most
    every `_SAMPLE_EVERY_S` (so a chunk costs an addition, not an append)."""

    def __init__(self, now: float) -> None:
        self.total = 0
        self._started = now
        self._samples: deque[tuple[float, int]] = deque([(now, 0)])

    def add(self, count: int, now: float) -> None:
        self.total += count
        if now - self._samples[-1][0] >= _SAMPLE_EVERY_S:
            self._samples.append((now, self.total))
            # Keep one sample at or before the window's start: the baseline.
            while len(self._samples) > 2 and self._samples[1][0] <= now - RATE_WINDOW_S:
                self._samples.popleft()

    def rate(self, now: float) -> float:
        since = now - RATE_WINDOW_S
        baseline = 0
        for when, total in self._samples:
            if when > since:
                break
            baseline = total
        span = min(RATE_WINDOW_S, now - self._started)
        if span <= 0:
            return 0.0
        return max(0, self.total - baseline) / span


@dataclass(frozen=True, slots=True)
class TransferView:
    rel_path: str
    direction: str  # "up" or "down"
    size: int
    done: int
    rate: float


@dataclass(frozen=True, slots=True)
class QueuedView:
    action: str
    rel_path: str
    size: int


@dataclass(frozen=True, slots=True)
class ActionView:
    """One finished action. `rel_path` is where it ended (a move's destination); `source`
    where a move came from; `error` what went wrong, if it failed."""

    at: float
    pair: str
    action: str
    rel_path: str
    size: int = 0
    source: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PairView:
    name: str
    transfers: tuple[TransferView, ...] = ()
    queue: tuple[QueuedView, ...] = ()
    queued: int = 0
    rate_up: float = 0.0
    rate_down: float = 0.0
    bytes_up: int = 0
    bytes_down: int = 0
    attention: str | None = None


@dataclass(frozen=True, slots=True)
class ActivitySnapshot:
    pairs: dict[str, PairView]
    recent: tuple[ActionView, ...]  # newest first
    status: dict[str, Any] | None  # the daemon's last published `DaemonStatus.to_json()`


@dataclass
class _Transfer:
    action: Action
    size: int
    meter: RateMeter


class Activity:
    """The daemon's activity, all pairs. `pair(name)` gives the recorder the daemon feeds."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.lock = threading.Lock()
        self.recent: deque[ActionView] = deque(maxlen=RECENT)
        self._pairs: dict[str, PairActivity] = {}
        self._status: dict[str, Any] | None = None

    def pair(self, name: str) -> PairActivity:
        with self.lock:
            return self._pairs.setdefault(name, PairActivity(self, name))

    def publish(self, status: dict[str, Any]) -> None:
        """The daemon's status (with the limits in force), as it last published it."""
        with self.lock:
            self._status = status

    def snapshot(self) -> ActivitySnapshot:
        now = self.clock()
        with self.lock:
            return ActivitySnapshot(
                pairs={name: pair.view(now) for name, pair in self._pairs.items()},
                recent=tuple(reversed(self.recent)),
                status=self._status,
            )


class PairActivity:
    """One pair's recorder: the same hooks a progress display gets, plus `idle` when a pass
    ends and `attention` when the pair waits for the user. Any thread may call it."""

    def __init__(self, activity: Activity, name: str) -> None:
        self._activity = activity
        self._lock = activity.lock
        self.name = name
        self._queue: dict[str, Action] = {}
        self._transfers: dict[str, _Transfer] = {}
        now = activity.clock()
        self._up = RateMeter(now)
        self._down = RateMeter(now)
        self._attention: str | None = None

    # --- the engine's hooks --------------------------------------------------------------

    def plan(self, plan: Plan) -> None:
        queue = {action.rel_path: action for action in plan.actions if _shown(action)}
        with self._lock:
            self._queue = queue

    def start(self, action: Action) -> None:
        transfer = _Transfer(action, transfer_size(action), RateMeter(self._activity.clock()))
        with self._lock:
            self._queue.pop(action.rel_path, None)
            self._transfers[action.rel_path] = transfer

    def advance(self, action: Action, count: int) -> None:
        now = self._activity.clock()
        with self._lock:
            transfer = self._transfers.get(action.rel_path)
            if transfer is not None:
                transfer.meter.add(count, now)
            (self._up if isinstance(action, Upload) else self._down).add(count, now)

    def done(self, outcome: Outcome) -> None:
        action = outcome.action
        view = self._describe(outcome)
        with self._lock:
            self._queue.pop(action.rel_path, None)
            self._transfers.pop(action.rel_path, None)
            if view is not None:
                self._activity.recent.append(view)

    def idle(self) -> None:
        """The pass ended (done, stopped or paused): whatever it still planned is not queued."""
        with self._lock:
            self._queue = {}
            self._transfers = {}

    def attention(self, message: str | None) -> None:
        """What the pair waits for the user to do (None: nothing)."""
        with self._lock:
            self._attention = message

    # --- reading -------------------------------------------------------------------------

    def _describe(self, outcome: Outcome) -> ActionView | None:
        action = outcome.action
        error = outcome.error
        # Bookkeeping, a stop, or "plan again" (nothing happened): not news for the user.
        if not _shown(action) or isinstance(error, Cancelled) or (error is None and outcome.stale):
            return None
        return ActionView(
            at=self._activity.wall(),
            pair=self.name,
            action=outcome_name(outcome),
            rel_path=action.dst if isinstance(action, MoveLocal | MoveRemote) else action.rel_path,
            size=transfer_size(action),
            source=action.src if isinstance(action, MoveLocal | MoveRemote) else None,
            error=None if error is None else str(error),
        )

    def view(self, now: float) -> PairView:
        """Called with the lock held."""
        transfers = tuple(
            TransferView(
                rel_path=path,
                direction="up" if isinstance(t.action, Upload) else "down",
                size=t.size,
                done=t.meter.total,
                rate=t.meter.rate(now),
            )
            for path, t in self._transfers.items()
        )
        queue = tuple(
            QueuedView(action_name(action), action.rel_path, transfer_size(action))
            for action in itertools.islice(self._queue.values(), QUEUE_SHOWN)
        )
        return PairView(
            name=self.name,
            transfers=transfers,
            queue=queue,
            queued=len(self._queue),
            rate_up=self._up.rate(now),
            rate_down=self._down.rate(now),
            bytes_up=self._up.total,
            bytes_down=self._down.total,
            attention=self._attention,
        )
