"""What a sync did, and the names its actions go by in reports, the journal and displays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from syncd.sync.model import (
    Action,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    Download,
    MkdirLocal,
    MkdirRemote,
    MoveLocal,
    MoveRemote,
    Plan,
    Record,
    Skip,
    Upload,
)

if TYPE_CHECKING:
    from syncd.sync.executor import Outcome


@dataclass
class SyncReport:
    """What a sync did. `plan` is set for a dry run, which does nothing else."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    bytes_up: int = 0
    bytes_down: int = 0
    plan: Plan | None = None
    offline: str | None = None
    uploads_paused: str | None = None
    downloads_paused: str | None = None
    # The cloud contradicted its own listing: deletes were dropped, the next pass lists again.
    listing_problem: str | None = None
    # Paths an earlier failure keeps out of this sync, and when they are tried again.
    waiting: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and self.offline is None
            and self.downloads_paused is None
            and self.listing_problem is None
            and not self.waiting
        )

    def done(self, name: str, *, up: int = 0, down: int = 0) -> None:
        """One action applied, by its report name, and the bytes it moved."""
        self.counts[name] += 1
        self.bytes_up += up
        self.bytes_down += down

    def stopped(self, why: str) -> None:
        """The sync stopped early: the cloud cannot be reached (or another passing cause)."""
        self.offline = why

    def listing_incomplete(self, problem: str) -> None:
        if self.listing_problem is None:
            self.listing_problem = problem

    def pause_downloads(self, why: str) -> None:
        self.downloads_paused = why

    def pause_uploads(self, why: str) -> None:
        self.uploads_paused = why

    def still_waiting(self, waiting: dict[str, float]) -> None:
        """The paths an earlier failure kept out, and when they are tried again."""
        self.waiting = waiting


@dataclass(frozen=True)
class Observers:
    """Who watches a pair's work (a progress display; the daemon's status and journal).
    Each is called on the thread it says, and must return quickly."""

    plan: Callable[[Plan], None] | None = None  # the engine thread, before a plan is applied
    start: Callable[[Action], None] | None = None  # a transfer thread, as a transfer starts
    progress: Callable[[Action, int], None] | None = None  # a transfer thread, per chunk
    outcome: Callable[[Outcome], None] | None = None  # the engine thread, per action done


_NAMES: dict[type, str] = {
    Upload: "upload",
    Download: "download",
    MkdirLocal: "mkdir-local",
    MkdirRemote: "mkdir-cloud",
    DeleteLocal: "trash-local",
    DeleteRemote: "delete-cloud",
    MoveLocal: "move-local",
    MoveRemote: "move-cloud",
    Record: "record",
    Conflict: "conflict",
    Skip: "skip",
}


def action_name(action: object) -> str:
    return _NAMES.get(type(action), type(action).__name__.lower())


def outcome_name(outcome: Outcome) -> str:
    """`action_name`, except for a conflict that found both sides equal: "equal" (recorded;
    nothing kept twice), which is no conflict at all."""
    action = outcome.action
    if isinstance(action, Conflict) and outcome.ok and outcome.conflict is None:
        return "equal"
    return action_name(action)
