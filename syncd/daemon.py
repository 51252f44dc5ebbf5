"""`syncd run`: keep every folder pair in sync until told to stop. Process concerns only.

Per pair, a runner (`sync.runner`: the pair's engine thread, the only one that plans,
applies and writes its store), a poller (`sync.poller`: listings in) and the runner's
watchdog observer (hints in). The daemon's main thread owns what concerns the process:
signals, the pid file, systemd notifications, the status file, and the watchdog ping, which
it sends only while every engine thread shows a fresh heartbeat (a hung engine is
restarted).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from syncd import __version__, journal
from syncd.activity import Activity
from syncd.cloud.client import CloudClient
from syncd.compose import make_limits, state_path
from syncd.config import Config, PairConfig
from syncd.controls import limits_in_force
from syncd.desktop import DesktopNotifier
from syncd.errors import EXIT_NEEDS_USER, EXIT_OK, SyncdError
from syncd.pairlock import PairLock
from syncd.pausing import paused_pairs
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
    overall,
    remove_pid,
    write_pid,
    write_status,
)
from syncd.store import Store
from syncd.sync.engine import PairEngine
from syncd.sync.executor import Limits
from syncd.sync.poller import Poller
from syncd.sync.report import Observers
from syncd.sync.runner import PairRunner
from syncd.sync.watcher import FULL_RESCAN
from syncd.units import plural

log = logging.getLogger(__name__)

EngineFactory = Callable[[PairConfig, Store, threading.Event, Limits, Observers], PairEngine]
# How long a stop waits for the engines to finish what they are doing (a transfer stops at
# its next chunk); systemd's own stop timeout is 90 s.
_STOP_DEADLINE_S = 8.0


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
        engine_factory: EngineFactory,
        control: Path,
        clock: Callable[[], float] = time.monotonic,
        activity: Activity | None = None,
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
        self.limits = make_limits(config)
        self._apply_limits()
        # What the dashboard reads: the daemon's status, each pair's transfers and actions.
        self.activity = activity or Activity()
        self._paused = paused_pairs(control, [p.name for p in config.pairs])
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
        limits = limits_in_force(self.config, self.control)
        self.limits.up.set_rate(limits["upload_limit"])
        self.limits.down.set_rate(limits["download_limit"])

    def _on_control(self, _signum: int, _frame: FrameType | None) -> None:
        self.reload_controls()

    def reload_controls(self) -> None:
        """Take up the limits and pauses that `syncd limit`/`pause` or the dashboard wrote."""
        self._apply_limits()
        self._paused = paused_pairs(self.control, [p.name for p in self.config.pairs])
        for pair in self._pairs:
            if pair.config.name in self._paused:
                pair.runner.halt()
            pair.runner.wake()

    def rescan(self, pair_name: str | None = None) -> None:
        """Scan the local folder and list the cloud now (one pair, or all)."""
        for pair in self._pairs:
            if pair_name in (None, pair.config.name):
                pair.runner.hint(FULL_RESCAN)
                pair.runner.want_poll.set()

    def _is_paused(self, pair_name: str) -> bool:
        return pair_name in self._paused

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
        for pair_config in self.config.pairs:
            lock = PairLock(state_path(self.config, pair_config), pair_config.name)
            lock.acquire()  # held until the process ends
            self._locks.append(lock)

    def _start_pairs(self) -> None:
        for pair_config in self.config.pairs:
            store = Store.open(state_path(self.config, pair_config))

            def make_engine(
                observers: Observers, pair: PairConfig = pair_config, store: Store = store
            ) -> PairEngine:
                return self.engine_factory(pair, store, self.stop, self.limits, observers)

            runner = PairRunner(
                pair_config.name,
                make_engine,
                debounce_s=self.config.sync.debounce_s,
                full_rescan_s=self.config.sync.full_rescan_interval_s,
                paused=functools.partial(self._is_paused, pair_config.name),
                activity=self.activity.pair(pair_config.name),
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

    def _publish(self, *, final: bool = False) -> None:
        pairs = {pair.config.name: pair.runner.status for pair in self._pairs}
        if final:  # stopped: what was going on is over, but errors stay for `syncd status`
            pairs = {
                name: status if status.state in (ERROR, OFFLINE) else replace(status, state=IDLE)
                for name, status in pairs.items()
            }
        # A pair paused on its own does not make syncd as a whole "paused"; all of them do.
        active = [p.state for name, p in pairs.items() if name not in self._paused]
        state = overall(active) if active else PAUSED
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
        self.activity.publish(snapshot)
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
            pair.runner.halt()
            pair.runner.want_poll.set()
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
        if self._pairs:
            self._publish(final=True)
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
