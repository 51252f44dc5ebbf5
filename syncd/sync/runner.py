"""The engine thread of one pair in the daemon: it waits for something to do, then has the
engine run a pass (`PairEngine.run_pass`), and says how it went (the pair's status, the
journal).

Inputs come from other threads and only wake it: local hints from the watcher (debounced:
about `debounce_s` of quiet after a burst, but never more than `_MAX_HINT_DELAY`), listings
from the poller, a pause or a stop. Nothing else ever touches the engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from syncd import journal
from syncd.activity import Activity, PairActivity
from syncd.desktop import DesktopNotifier, conflict_notice, stopped_notice
from syncd.errors import NeedsUserError, SyncdError, TransientError
from syncd.status import ERROR, IDLE, OFFLINE, PAUSED, STARTING, PairStatus
from syncd.sync.engine import PairEngine
from syncd.sync.executor import Outcome
from syncd.sync.model import Action, Conflict, Download, Plan, Upload
from syncd.sync.remote import RemoteScan
from syncd.sync.report import Observers, SyncReport
from syncd.sync.safety import MassDeleteError
from syncd.sync.watcher import FULL_RESCAN, Watcher
from syncd.units import plural

log = logging.getLogger(__name__)

# Beyond this many distinct hints a full rescan is cheaper than many small ones.
_MAX_HINTS = 2000
# Hints keep arriving (a big copy): sync anyway after this long.
_MAX_HINT_DELAY = 10.0
_IDLE_TICK = 5.0


class PairRunner:
    """The engine thread of one pair. `make_engine` builds the pair's engine with the
    observers the runner gives it (its status and journal)."""

    def __init__(
        self,
        name: str,
        make_engine: Callable[[Observers], PairEngine],
        *,
        debounce_s: float,
        full_rescan_s: float,
        paused: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
        make_watcher: Callable[[PairRunner], Watcher] | None = None,
        activity: PairActivity | None = None,
        desktop: DesktopNotifier | None = None,
    ) -> None:
        """`desktop`: where a conflicted copy made and a stop that needs the user are told
        to the user's desktop."""
        self.name = name
        self.desktop = desktop or DesktopNotifier(None)
        # What the dashboard shows of this pair (fed from the observers below).
        self.activity = activity or Activity().pair(name)
        self.engine = make_engine(
            Observers(
                plan=self._on_plan,
                start=self._on_start,
                progress=self._on_progress,
                outcome=self._on_outcome,
            )
        )
        self.debounce_s = debounce_s
        self.full_rescan_s = full_rescan_s
        self.paused = paused
        self.clock = clock
        pair = self.engine.pair
        self.status = PairStatus(local_root=str(pair.local_root), remote_root=pair.remote_root)
        self.heartbeat = clock()
        self.needs_user: NeedsUserError | None = None
        self.started = threading.Event()
        self.want_poll = threading.Event()  # the poller lists at once when set
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._hints: set[str] = set()
        self._first_hint: float | None = None
        self._last_hint = 0.0
        self._remote: tuple[RemoteScan, int] | None = None
        self._poll_error: BaseException | None = None
        self._next_full = clock() + full_rescan_s
        self.watcher = (make_watcher or _default_watcher)(self)
        # Daemon threads: a transfer stuck in the network must not keep the process alive
        # past its stop deadline (the store's transactions are atomic anyway).
        self.thread = threading.Thread(target=self._main, name=f"syncd-engine-{name}", daemon=True)

    # --- inputs (any thread) -------------------------------------------------------------

    def hint(self, rel_path: str) -> None:
        now = self.clock()
        with self._lock:
            self._hints.add(rel_path)
            self._last_hint = now
            if self._first_hint is None:
                self._first_hint = now
        self._wake.set()

    def post_remote(self, scan: RemoteScan, generation: int) -> None:
        with self._lock:
            self._remote = (scan, generation)
            self._poll_error = None
        self._wake.set()

    def post_poll_error(self, error: BaseException) -> None:
        with self._lock:
            self._poll_error = error
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def halt(self) -> None:
        """End the pass in progress early (a pause, a stop): transfers stop at once."""
        self.engine.executor.halt()
        self._wake.set()

    # --- the loop ------------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _beat(self) -> None:
        self.heartbeat = self.clock()

    def _set(self, state: str, message: str = "") -> None:
        # A new status object each time: the daemon's thread reads it whole, never half set.
        self.status = replace(self.status, state=state, message=message)

    def _main(self) -> None:
        try:
            self._run()
        except NeedsUserError as exc:
            log.error("%s: %s", self.name, exc)
            self.needs_user = exc
            self._set(ERROR, str(exc))
            self.activity.attention(str(exc))
            self.desktop.notify(stopped_notice(self.name, str(exc)))
        except Exception as exc:  # keep the message in the status, then let systemd act
            log.exception("%s: engine stopped", self.name)
            self._set(ERROR, f"engine stopped: {exc!r}")
        finally:
            self.started.set()
            self.watcher.stop()

    def _run(self) -> None:
        engine = self.engine
        self._set(STARTING, "first scan")
        engine.prepare()
        if not self.watcher.start():
            self._set(STARTING, self.watcher.problem or "")
        self.started.set()
        self.want_poll.set()
        self._pass(full=True)
        while not engine.stop.is_set():
            self._wake.wait(self._timeout())
            self._wake.clear()
            self._beat()
            if engine.stop.is_set():
                return
            if self.paused():
                self._set(PAUSED, "paused by the user")
                continue
            if not self._quiet_enough():
                continue
            self._pass(full=False)

    def _timeout(self) -> float:
        timeout = _IDLE_TICK
        with self._lock:
            if self._first_hint is not None:
                timeout = min(timeout, max(0.05, self._last_hint + self.debounce_s - self.clock()))
        return min(timeout, max(0.05, self._next_full - self.clock()))

    def _quiet_enough(self) -> bool:
        now = self.clock()
        with self._lock:
            if self._first_hint is None:
                return True
            quiet = now - self._last_hint >= self.debounce_s
            overdue = now - self._first_hint >= _MAX_HINT_DELAY
            return quiet or overdue

    def _take_inputs(self) -> tuple[set[str] | None, tuple[RemoteScan, int] | None]:
        """The hints (None: rescan everything) and the listing that came in."""
        with self._lock:
            hints, self._hints = self._hints, set()
            self._first_hint = None
            remote, self._remote = self._remote, None
            poll_error, self._poll_error = self._poll_error, None
        if poll_error is not None:
            if isinstance(poll_error, NeedsUserError):
                raise poll_error
            self._set(OFFLINE, f"cannot list the cloud: {poll_error}")
        everything = FULL_RESCAN in hints or len(hints) > _MAX_HINTS
        return (None if everything else hints), remote

    def _pass(self, *, full: bool) -> None:
        hints, remote = self._take_inputs()
        if self.clock() >= self._next_full or not self.watcher.alive():
            full = True
            self._next_full = self.clock() + self.full_rescan_s
            if not self.watcher.alive() and self.status.state != STARTING:
                self.watcher.restart()
        began = self.clock()
        report: SyncReport | None = None
        try:
            report = self.engine.run_pass(hints, remote, full=full)
        except TransientError as exc:
            self._set(OFFLINE, str(exc))
            self.want_poll.set()
            return
        except MassDeleteError as exc:
            # The brake: keep running (other paths may be fine later), report it loudly.
            self._set(ERROR, str(exc))
            self.activity.attention(str(exc))
            log.error("%s: %s", self.name, exc)
            return
        except SyncdError as exc:
            if isinstance(exc, NeedsUserError):
                raise
            self._set(ERROR, str(exc))
            log.error("%s: %s", self.name, exc)
            return
        finally:
            self.status = replace(self.status, pending_uploads=0, pending_downloads=0)
            self.activity.idle()
            if report is not None:
                summary = journal.pass_line(
                    report.counts,
                    report.bytes_up,
                    report.bytes_down,
                    len(report.failures),
                    self.clock() - began,
                )
                if summary is not None:
                    log.info("%s: %s", self.name, summary)
        if report is None:  # nothing to do
            if self.status.state in (PAUSED, STARTING):
                self._set(IDLE)
            return
        self._settle(report)

    def _settle(self, report: SyncReport) -> None:
        """The pair's state after a pass, from its report."""
        if self.paused():
            # Paused in the middle of the pass: it stopped short, so it is not "in sync".
            self._set(PAUSED, "paused by the user")
            return
        if report.offline:
            self._set(OFFLINE, report.offline)
            self.want_poll.set()
            return
        if report.listing_problem:
            # The next poll lists again; asking now could loop on a server that keeps
            # leaving the same items out.
            self._set(IDLE, report.listing_problem)
            return
        if report.downloads_paused or report.uploads_paused:
            self._set(ERROR, report.downloads_paused or report.uploads_paused or "")
            return
        self.status = replace(self.status, last_sync=self.engine.mark_synced())
        self.activity.attention(None)
        failed = len(report.failures)
        self._set(IDLE, f"{plural(failed, 'item')} failed; retried later" if failed else "")

    # --- what the engine tells (the observers) -------------------------------------------

    def _on_plan(self, plan: Plan) -> None:
        self.activity.plan(plan)
        self.status = replace(
            self.status,
            pending_uploads=sum(isinstance(a, Upload) for a in plan.actions),
            pending_downloads=sum(isinstance(a, Download | Conflict) for a in plan.actions),
        )

    def _on_start(self, action: Action) -> None:
        self._hold_if_paused()
        self.activity.start(action)

    def _on_progress(self, action: Action, count: int) -> None:
        self._beat()
        self._hold_if_paused()
        self.activity.advance(action, count)

    def _hold_if_paused(self) -> None:
        # A pause that came between two passes, or between two actions, stops this run too.
        if self.paused():
            self.engine.executor.halt()

    def _on_outcome(self, outcome: Outcome) -> None:
        self._beat()
        self.activity.done(outcome)
        self._hold_if_paused()
        line = journal.outcome_line(outcome)
        if line is not None:
            log.info("%s: %s", self.name, line)
        if isinstance(outcome.action, Conflict) and outcome.ok and outcome.conflict is not None:
            copy_path, rel_path, loser = outcome.conflict
            self.desktop.notify(conflict_notice(self.name, rel_path, copy_path, loser))
        status = self.status
        if isinstance(outcome.action, Upload) and status.pending_uploads:
            self.status = replace(status, pending_uploads=status.pending_uploads - 1)
        elif isinstance(outcome.action, Download | Conflict) and status.pending_downloads:
            self.status = replace(status, pending_downloads=status.pending_downloads - 1)


def _default_watcher(runner: PairRunner) -> Watcher:
    return Watcher(runner.engine.root, runner.hint)
