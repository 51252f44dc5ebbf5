"""How `syncd sync` shows its work: rich bars on a terminal, one line per action otherwise."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from syncd import units
from syncd.activity import transfer_size
from syncd.cli.common import echo
from syncd.sync.executor import Outcome
from syncd.sync.report import action_name, outcome_name
from syncd.text import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

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

# A file this big gets its own bar; smaller ones only advance the totals.
_OWN_BAR = 8 * 1024 * 1024


def describe(action: Action) -> str:
    """One line for an action, as the dry run prints it and the plain display logs it; the
    names in it are shown escaped (`printable`)."""
    return printable(_describe(action))


def _describe(action: Action) -> str:
    name = action_name(action)
    if isinstance(action, MoveLocal | MoveRemote):
        return f"{name:<13} {action.src} -> {action.dst}"
    if isinstance(action, Conflict):
        keeps = "cloud" if action.loser == "local" else "local"
        check = ", comparing contents first" if action.compare_first else ""
        return (
            f"{name:<13} {action.rel_path} (the {keeps} version keeps the name; the other "
            f"becomes {action.conflict_path}{check})"
        )
    if isinstance(action, Skip):
        return f"{name:<13} {action.rel_path} ({action.reason})"
    if isinstance(action, Upload):
        return f"{name:<13} {action.rel_path} ({units.size(action.local.size)})"
    if isinstance(action, Download):
        return f"{name:<13} {action.rel_path} ({units.size(action.remote.size)})"
    return f"{name:<13} {action.rel_path}"


def describe_outcome(outcome: Outcome) -> str:
    """`describe` of an action that was applied, which may have found both sides equal."""
    if outcome_name(outcome) == "equal":
        return f"{'equal':<13} {outcome.action.rel_path} (same content on both sides, recorded)"
    return describe(outcome.action)


class Display(Protocol):
    def plan(self, plan: Plan) -> None: ...

    def start(self, action: Action) -> None: ...

    def advance(self, action: Action, count: int) -> None: ...

    def done(self, outcome: Outcome) -> None: ...

    def close(self) -> None: ...


class PlainDisplay:
    """Not a terminal (a log, a pipe): one line per finished action, nothing per chunk."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def plan(self, plan: Plan) -> None:
        pass

    def start(self, action: Action) -> None:
        pass

    def advance(self, action: Action, count: int) -> None:
        pass

    def done(self, outcome: Outcome) -> None:
        if self.quiet or isinstance(outcome.action, Record | Skip):
            return
        if outcome.error is not None:
            echo(f"failed        {outcome.action.rel_path}: {outcome.error}", err=True)
        elif outcome.ok:
            echo(describe_outcome(outcome))

    def close(self) -> None:
        pass


class RichDisplay:
    """A terminal: totals for files and bytes with an ETA, and a bar per large transfer."""

    def __init__(self, console: Console | None = None) -> None:
        # rich costs a noticeable share of start-up: only a terminal pays for it.
        from rich.console import Console
        from rich.progress import Progress

        from syncd.cli.bars import transfer_columns

        self.console = console or Console(stderr=True)
        self.progress = Progress(*transfer_columns(), console=self.console, transient=False)
        self._lock = threading.Lock()
        self._bytes = self.progress.add_task("bytes", total=0)
        self._files = self.progress.add_task("files", total=0, visible=False)
        self._count = 0
        self._total = 0
        self._bars: dict[str, TaskID] = {}
        self.progress.start()

    def plan(self, plan: Plan) -> None:
        sizes = [transfer_size(a) for a in plan.actions if not isinstance(a, Record | Skip)]
        with self._lock:
            self._total += len(sizes)
            total = (self.progress.tasks[self._bytes].total or 0) + sum(sizes)
            self.progress.update(self._bytes, total=total, description=self._label())

    def _label(self) -> str:
        return f"syncing {self._count}/{units.plural(self._total, 'item')}"

    def start(self, action: Action) -> None:
        size = transfer_size(action)
        if size >= _OWN_BAR:
            with self._lock:
                self._bars[action.rel_path] = self.progress.add_task(
                    printable(f"  {action_name(action)} {action.rel_path}"), total=size
                )

    def advance(self, action: Action, count: int) -> None:
        with self._lock:
            self.progress.advance(self._bytes, count)
            bar = self._bars.get(action.rel_path)
            if bar is not None:
                self.progress.advance(bar, count)

    def done(self, outcome: Outcome) -> None:
        action = outcome.action
        with self._lock:
            bar = self._bars.pop(action.rel_path, None)
            if bar is not None:
                self.progress.remove_task(bar)
            if isinstance(action, Record | Skip):
                return
            self._count += 1
            self.progress.update(self._bytes, description=self._label())
        from rich.text import Text  # imported by __init__ already

        # Plain Text, never markup: a name like "[red]x" is printed as it is.
        if outcome.error is not None:
            failure = printable(f" {action.rel_path}: {outcome.error}")
            self.console.print(Text.assemble(("failed", "red"), failure))
        elif outcome.ok:
            self.console.print(Text(describe_outcome(outcome)), highlight=False)

    def close(self) -> None:
        self.progress.stop()
