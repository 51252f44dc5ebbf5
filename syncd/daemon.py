"""`syncd run`: keep every folder pair in sync until told to stop.

Threads, per pair: watchdog's observer (hints in), a poller (listings in, never writes the DB)
and the pair's engine thread (the only one that plans, applies and writes its store). The main
thread owns signals, systemd notifications, the status file and the watchdog ping, which it
sends only while every engine thread shows a fresh heartbeat: a hung engine is restarted.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from syncd import __version__, journal
from syncd.cloud.client import CloudClient
from syncd.config import Config, PairConfig
from syncd.controls import read_limits
from syncd.desktop import DesktopNotifier, conflict_notice, stopped_notice
from syncd.errors import EXIT_NEEDS_USER, EXIT_OK, NeedsUserError, SyncdError, TransientError
from syncd.pairlock import PairLock
from syncd.sdnotify import Notifier
from syncd.status import (
    ERROR,
    IDLE,
    OFFLINE,
    PAUSED,
    STARTING,
    SYNCING,
    DaemonId,
    DaemonStatus,
    PairStatus,
    is_paused,
    overall,
    remove_pid,
    write_pid,
    write_status,
)
from syncd.store import Store
from syncd.sync.engine import PairEngine, SyncReport
from syncd.sync.executor import Limits, Outcome
from syncd.sync.model import Conflict, Download, Plan, Upload
from syncd.sync.remote import RemoteScan
from syncd.sync.watcher import FULL_RESCAN, Watcher
from syncd.units import plural

log = logging.getLogger(__name__)

# Beyond this many distinct hints a full rescan is cheaper than many small ones.
_MAX_HINTS = 2000
# Hints keep arriving (a big copy): sync anyway after this long.
_MAX_HINT_DELAY = 10.0
_IDLE_TICK = 5.0
# How long a stop waits for the engines to finish what they are doing (a transfer stops at
# its next chunk); systemd's own stop timeout is 90 s.
_STOP_DEADLINE_S = 8.0


class PairRunner:
    """The engine thread of one pair."""

    def __init__(
        self,
        engine: PairEngine,
        *,
        debounce_s: float,
        full_rescan_s: float,
        paused: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
        watcher_factory: Callable[[PairRunner], Watcher] | None = None,
        desktop: DesktopNotifier | None = None,
    ) -> None:
        self.engine = engine
        self.desktop = desktop or DesktopNotifier(None)
        # It lists the cloud every poll interval: unchanged pages are not decoded again.
        engine.remote_side.remember_listings = True
        self.name = engine.pair.name
        self.debounce_s = debounce_s
        self.full_rescan_s = full_rescan_s
        self.paused = paused
        self.clock = clock
        self.status = PairStatus(
            local_root=str(engine.pair.local_root), remote_root=engine.pair.remote_root
        )
        self.heartbeat = clock()
        self.needs_user: NeedsUserError | None = None
        self.started = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._hints: set[str] = set()
        self._first_hint: float | None = None
        self._last_hint = 0.0
        self._remote: tuple[RemoteScan, int] | None = None
        self._poll_error: BaseException | None = None
        self.want_poll = threading.Event()
        self._next_full = clock() + full_rescan_s
        factory = watcher_factory or (lambda runner: Watcher(runner.engine.root, runner.hint))
        self.watcher = factory(self)
        # Daemon threads: a transfer stuck in the network must not keep the process alive
        # past its stop deadline (the store's transactions are atomic anyway).
        self.thread = threading.Thread(
            target=self._main, name=f"syncd-engine-{self.name}", daemon=True
        )
        engine.on_outcome = self._on_outcome
        engine.on_plan = self._on_plan
        engine.executor.on_bytes = lambda _action, _count: self._beat()

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

    # --- the loop ------------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def _beat(self) -> None:
        self.heartbeat = self.clock()

    def _set(self, state: str, message: str = "") -> None:
        self.status.state = state
        self.status.message = message

    def _main(self) -> None:
        try:
            self._run()
        except NeedsUserError as exc:
            log.error("%s: %s", self.name, exc)
            self.needs_user = exc
            self._set(ERROR, str(exc))
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
            self.status.message = self.watcher.problem or ""
        self.started.set()
        engine.scan_local()
        self.want_poll.set()
        self._sync_pass(full=True)
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
            self._sync_pass(full=False)

    def _timeout(self) -> float:
        timeout = _IDLE_TICK
        with self._lock:
            if self._first_hint is not None:
                timeout = min(timeout, max(0.05, self._last_hint + self.debounce_s - self.clock()))
        return min(timeout, max(0.05, self._next_full - self.clock()))

    def _quiet_enough(self) -> bool:
        """Wait for about `debounce_s` of quiet after a burst of hints (but not forever)."""
        now = self.clock()
        with self._lock:
            if self._first_hint is None:
                return True
            quiet = now - self._last_hint >= self.debounce_s
            overdue = now - self._first_hint >= _MAX_HINT_DELAY
            return quiet or overdue

    def _take_inputs(self) -> tuple[set[str] | None, tuple[RemoteScan, int] | None]:
        with self._lock:
            hints, self._hints = self._hints, set()
            self._first_hint = None
            remote, self._remote = self._remote, None
            poll_error, self._poll_error = self._poll_error, None
        if poll_error is not None:
            if isinstance(poll_error, NeedsUserError):
                raise poll_error
            self._set(OFFLINE, f"cannot list the cloud: {poll_error}")
        full = FULL_RESCAN in hints or len(hints) > _MAX_HINTS
        return (None if full else hints), remote

    def _sync_pass(self, *, full: bool) -> None:
        engine = self.engine
        hints, remote = self._take_inputs()
        if self.clock() >= self._next_full or not self.watcher.alive():
            full = True
            self._next_full = self.clock() + self.full_rescan_s
            if not self.watcher.alive() and self.status.state != STARTING:
                self.watcher.restart()
        engine.check_root()
        if engine.load_selective():
            full = True
        if full:
            engine.purge_trash()
        if full or hints is None:
            engine.scan_local()
        elif hints:
            engine.scan_local(hints)
        if remote is not None and not engine.set_remote(*remote):
            self.want_poll.set()
        news = hints or (remote is not None and engine.remote_changed)
        if not full and not news and not engine.remote_stale and not engine.retry_due():
            if self.status.state in (PAUSED, STARTING):
                self._set(IDLE)
            return
        self._set(SYNCING)
        report = SyncReport()
        began = self.clock()
        try:
            engine.converge(report, allow_mass_delete=False, max_passes=12)
        except TransientError as exc:
            self._set(OFFLINE, str(exc))
            self.want_poll.set()
            return
        except SyncdError as exc:
            if isinstance(exc, NeedsUserError) and not _is_mass_delete(exc):
                raise
            # The brake: keep running (other paths may be fine later), report it loudly.
            self._set(ERROR, str(exc))
            log.error("%s: %s", self.name, exc)
            return
        finally:
            self.status.pending_uploads = self.status.pending_downloads = 0
            summary = journal.pass_line(
                report.counts,
                report.bytes_up,
                report.bytes_down,
                len(report.failures),
                self.clock() - began,
            )
            if summary is not None:
                log.info("%s: %s", self.name, summary)
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
        self.status.last_sync = engine.mark_synced()
        failed = len(report.failures)
        self._set(IDLE, f"{plural(failed, 'item')} failed; retried later" if failed else "")

    def _on_plan(self, plan: Plan) -> None:
        self.status.pending_uploads = len([a for a in plan.actions if isinstance(a, Upload)])
        self.status.pending_downloads = len(
            [a for a in plan.actions if isinstance(a, Download | Conflict)]
        )

    def _on_outcome(self, outcome: Outcome) -> None:
        self._beat()
        line = journal.outcome_line(outcome)
        if line is not None:
            log.info("%s: %s", self.name, line)
        if isinstance(outcome.action, Conflict) and outcome.ok and outcome.conflict is not None:
            copy_path, rel_path, loser = outcome.conflict
            self.desktop.notify(conflict_notice(self.name, rel_path, copy_path, loser))
        if isinstance(outcome.action, Upload) and self.status.pending_uploads:
            self.status.pending_uploads -= 1
        elif isinstance(outcome.action, Download | Conflict) and self.status.pending_downloads:
            self.status.pending_downloads -= 1

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)


def _is_mass_delete(exc: BaseException) -> bool:
    from syncd.sync.safety import MassDeleteError

    return isinstance(exc, MassDeleteError)


class Poller:
    """Lists one pair's remote folder every `interval` (sooner when asked), backing off on
    errors. Hands listings to the runner; never touches the store."""

    def __init__(
        self,
        runner: PairRunner,
        interval_s: float,
        stop: threading.Event,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.runner = runner
        self.interval_s = interval_s
        self.stop = stop
        self.rng = rng or random.Random()
        self.thread = threading.Thread(
            target=self._main, name=f"syncd-poll-{runner.name}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def _main(self) -> None:
        failures = 0
        engine = self.runner.engine
        self.runner.started.wait()
        while not self.stop.is_set():
            if self.runner.needs_user is not None:
                return
            generation = engine.remote_generation
            try:
                scan = engine.fetch_remote()
            except NeedsUserError as exc:
                self.runner.post_poll_error(exc)
                return
            except Exception as exc:  # a failed poll must never end polling
                if self.stop.is_set():
                    return
                failures += 1
                if not isinstance(exc, SyncdError):
                    log.exception("%s: listing the cloud failed", self.runner.name)
                self.runner.post_poll_error(exc)
                delay = min(600.0, self.interval_s * 2**failures) * self.rng.uniform(0.8, 1.2)
            else:
                failures = 0
                self.runner.post_remote(scan, generation)
                delay = self.interval_s
            # Wake early when the engine wants a fresh listing (after its own changes), or
            # when stopping (`Daemon._shutdown` sets it too).
            if self.runner.want_poll.wait(delay):
                self.runner.want_poll.clear()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)


@dataclass
class _Pair:
    config: PairConfig
    store: Store
    runner: PairRunner
    poller: Poller


class Daemon:
    """All pairs of one config, until SIGTERM/SIGINT. `run()` returns the exit code."""

    def __init__(
        self,
        config: Config,
        client: CloudClient,
        *,
        notifier: Notifier | None = None,
        desktop: DesktopNotifier | None = None,
        install_signals: bool = True,
        engine_factory: Callable[[PairConfig, Store, threading.Event, Limits], PairEngine],
        control: Path,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`control`: this config's folder for the pid, status and control files; `desktop`:
        where conflicts and stopped pairs are told to the user's desktop (its owner closes
        it)."""
        self.config = config
        self.control = control
        self.clock = clock
        self.client = client
        self.notifier = notifier or Notifier()
        self.desktop = desktop or DesktopNotifier(None)
        self.install_signals = install_signals
        self.engine_factory = engine_factory
        self.stop = threading.Event()
        self.limits = Limits()
        self._apply_limits()
        self._paused = is_paused(control)
        self._pairs: list[_Pair] = []
        self._locks: list[PairLock] = []
        self._last_written: dict[str, object] | None = None
        self._free_space: int | None = None
        # None: never read (a monotonic clock may start near 0 on a machine just booted).
        self._free_checked: float | None = None

    # --- signals -------------------------------------------------------------------------

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.stop.set()

    def _apply_limits(self) -> None:
        """Bandwidth from the config, unless `syncd limit` set other values for this run."""
        override = read_limits(self.control)
        self.limits.up.rate = override.get("upload_limit", self.config.sync.upload_limit)
        self.limits.down.rate = override.get("download_limit", self.config.sync.download_limit)

    def _on_control(self, _signum: int, _frame: FrameType | None) -> None:
        self._apply_limits()
        self._paused = is_paused(self.control)
        for pair in self._pairs:
            if self._paused:
                pair.runner.engine.executor.stop_run.set()
            pair.runner.wake()

    def _install(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_control)

    # --- life ----------------------------------------------------------------------------

    def run(self) -> int:
        if self.install_signals:
            self._install()
        me: DaemonId | None = None
        try:
            # The pairs first: a second daemon refused here must not touch the pid file
            # (nor, then, remove the first one's).
            self._lock_pairs()
            me = write_pid(self.control)
            log.info(
                "%s",
                journal.start_line(
                    __version__,
                    ((p.name, str(p.local_root), p.remote_root) for p in self.config.pairs),
                    self.config.sync.poll_interval_s,
                    self.limits.up.rate,
                    self.limits.down.rate,
                ),
            )
            self._start_pairs()
            self.notifier.ready(f"syncing {plural(len(self._pairs), 'folder pair')}")
            return self._loop()
        finally:
            self.notifier.stopping()
            self._shutdown()
            if me is not None:
                remove_pid(self.control, me)
            self.notifier.close()

    def _lock_pairs(self) -> None:
        from syncd.compose import state_path

        for pair_config in self.config.pairs:
            lock = PairLock(state_path(self.config, pair_config), pair_config.name)
            lock.acquire()  # held until the process ends
            self._locks.append(lock)

    def _start_pairs(self) -> None:
        from syncd.compose import state_path

        for pair_config in self.config.pairs:
            store = Store.open(state_path(self.config, pair_config))
            engine = self.engine_factory(pair_config, store, self.stop, self.limits)
            runner = PairRunner(
                engine,
                debounce_s=self.config.sync.debounce_s,
                full_rescan_s=self.config.sync.full_rescan_interval_s,
                paused=lambda: self._paused,
                desktop=self.desktop,
            )
            poller = Poller(runner, self.config.sync.poll_interval_s, self.stop)
            self._pairs.append(_Pair(pair_config, store, runner, poller))
            runner.start()
            poller.start()
        for pair in self._pairs:
            pair.runner.started.wait(timeout=60)

    def _loop(self) -> int:
        interval = 1.0
        if self.notifier.watchdog_interval_s:
            interval = min(interval, self.notifier.watchdog_interval_s / 2)
        stale_after = max(30.0, (self.notifier.watchdog_interval_s or 60.0) / 2)
        while not self.stop.wait(interval):
            runners = [pair.runner for pair in self._pairs]
            if runners and all(r.needs_user is not None for r in runners):
                log.error("every folder pair needs attention; stopping (see `syncd status`)")
                self._publish()
                return EXIT_NEEDS_USER
            alive = all(r.thread.is_alive() or r.needs_user is not None for r in runners) and all(
                time.monotonic() - r.heartbeat < stale_after for r in runners if r.thread.is_alive()
            )
            if alive:
                self.notifier.watchdog()
            self._publish()
        return EXIT_OK

    def _publish(self) -> None:
        pairs = {pair.config.name: pair.runner.status for pair in self._pairs}
        state = PAUSED if self._paused else overall([p.state for p in pairs.values()])
        self._refresh_free_space()
        problem = self.client.health.problem
        if problem is not None and state != PAUSED:
            state = OFFLINE  # from the first failed call, while its retries go on
        status = DaemonStatus(
            pid=_pid(),
            state=state,
            updated=time.time(),
            free_space=self._free_space,
            pairs=pairs,
            upload_limit=int(self.limits.up.rate),
            download_limit=int(self.limits.down.rate),
            cloud_problem=problem,
        )
        snapshot = status.to_json()
        comparable = {k: v for k, v in snapshot.items() if k != "updated"}
        if comparable == self._last_written:
            return
        self._last_written = comparable
        write_status(self.control, status)
        self.notifier.status(_status_line(status))

    def _refresh_free_space(self) -> None:
        now = self.clock()
        if self._free_checked is not None and now - self._free_checked < 300:
            return
        self._free_checked = now
        with contextlib.suppress(SyncdError):
            self._free_space = self.client.freespace()

    def _shutdown(self) -> None:
        self.stop.set()
        for pair in self._pairs:
            pair.runner.wake()
            pair.runner.want_poll.set()
            pair.runner.engine.executor.stop_run.set()
        deadline = time.monotonic() + _STOP_DEADLINE_S
        for pair in self._pairs:
            pair.runner.join(max(0.1, deadline - time.monotonic()))
            pair.poller.join(max(0.1, deadline - time.monotonic()))
        for pair in self._pairs:
            if not pair.runner.thread.is_alive():
                pair.store.close()
            else:  # what it committed stays; the rest is found again at the next start
                log.warning(
                    "%s: still busy %g s after the stop; exiting anyway",
                    pair.config.name,
                    _STOP_DEADLINE_S,
                )
            if pair.runner.status.state not in (ERROR, OFFLINE):
                pair.runner.status.state = IDLE
        if self._pairs:
            self._publish()
        for lock in self._locks:
            lock.release()


def _pid() -> int:
    import os

    return os.getpid()


def _status_line(status: DaemonStatus) -> str:
    parts = []
    for name, pair in status.pairs.items():
        text = f"{name}: {pair.state}"
        if pair.state == SYNCING and (pair.pending_uploads or pair.pending_downloads):
            text += f" ({pair.pending_uploads} up, {pair.pending_downloads} down)"
        elif pair.message and pair.state in (ERROR, OFFLINE):
            text += f" ({pair.message[:80]})"
        parts.append(text)
    return "; ".join(parts) or STARTING
