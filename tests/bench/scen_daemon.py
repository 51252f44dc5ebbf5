"""Figures of `syncd run` watching a big synced pair (set up by `scen_tree`): how long a
local save takes to reach the cloud, and how much CPU the daemon uses while idle.

Arrival is seen through the API (`GET /files/{id}` until the new size shows), the daemon's
CPU in /proc. Between saves the daemon is left to settle (no CPU for a second), so a save
never pays for the previous one. A daemon that never settles, or saves that never arrive,
are measured as they are (bounded waits, flagged in the figures), not waited for.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.bench.emulator_proc import EmulatorProcess
from tests.bench.figures import Context, Figure
from tests.bench.pairs import SyncdPair
from tests.bench.procs import LoadMeter, cpu_seconds, memory_mib, stop_process
from tests.bench.procs import wait_quiet as _wait_quiet

SAVE_LATENCY_S = 2.0
IDLE_CPU_PCT = 2.0
DEFAULT_POLL_S = 60.0
SETTLE_TIMEOUT_S = 60.0  # longest wait for the daemon to go quiet
ARRIVAL_TIMEOUT_S = 30.0  # a save not in the cloud by then counts as this long
MAX_TIMEOUTS = 3  # ...and after this many such saves the series stops


class _Daemon:
    """`syncd run` on the pair; every wait fails fast (with the log) if it died."""

    def __init__(self, ctx: Context, pair: SyncdPair) -> None:
        self.ctx = ctx
        self.pair = pair
        self.log_file = pair.home / "daemon.log"
        self.proc: subprocess.Popen[bytes] = pair.start_daemon(self.log_file)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> None:
        if self.proc.poll() is not None:
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"the daemon exited with {self.proc.returncode}:\n{tail}")

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            self.alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the daemon: no {what} within {timeout:.0f} s")
            time.sleep(0.02)

    def quiet(self, quiet_s: float = 1.0) -> bool:
        """Wait until the daemon uses no CPU for `quiet_s`; False if it did not within
        `SETTLE_TIMEOUT_S` (then it is busy on its own, which the figures report)."""
        self.alive()
        try:
            _wait_quiet(self.pid, quiet_s=quiet_s, timeout=SETTLE_TIMEOUT_S)
        except TimeoutError:
            self.ctx.log(f"daemon: still busy after {SETTLE_TIMEOUT_S:.0f} s, measuring anyway")
            return False
        return True

    def log_count(self, text: str) -> int:
        return self.log_file.read_text(errors="replace").count(text)

    def stop(self) -> None:
        stop_process(self.proc, grace=20)


def daemon_figures(
    ctx: Context, emu: EmulatorProcess, pair: SyncdPair, ids: dict[str, str]
) -> Iterator[Figure]:
    meter = LoadMeter([emu.pid])
    ctx.log("daemon: starting, waiting for its first pass to end")
    started = time.monotonic()
    daemon = _Daemon(ctx, pair)
    try:
        daemon.wait_for(_synced(pair), "first pass", ctx.timeout)
        settled = daemon.quiet(1.5)
        settled_s = time.monotonic() - started
        saves = _saves(ctx, emu, pair, ids, daemon, settle=settled)
        idle = _idle(ctx, emu, daemon)
        memory = memory_mib(daemon.pid)
    finally:
        daemon.stop()
    # watchdog logs this when the kernel's inotify queue overflowed (events were lost).
    overflows = daemon.log_count("Inotify queue overflowed; filesystem events were lost")
    load = meter.result()
    latency = float(statistics.median(saves.latencies))
    yield Figure(
        "daemon_save_latency",
        latency,
        "s",
        f"value < {SAVE_LATENCY_S:g}",
        latency < SAVE_LATENCY_S,
        extra={
            "files_watched": ctx.sizes.big_tree.files,
            "saves": len(saves.latencies),
            "latencies_s": [round(s, 2) for s in saves.latencies],
            "saves_timed_out": saves.timed_out,
            "settled_after_start": settled,
            "start_to_settled_s": round(settled_s, 1),
            "saves_not_settled": saves.unsettled,
            "inotify_overflows": overflows,
            "load": load,
        },
    )
    yield Figure(
        "daemon_idle_cpu",
        idle["pct"],
        "% of a core",
        f"value < {IDLE_CPU_PCT:g}",
        idle["pct"] < IDLE_CPU_PCT,
        extra={
            **{k: v for k, v in idle.items() if k != "pct"},
            "inotify_overflows": overflows,
            "rss_MiB": round(memory.get("VmRSS", 0.0), 1),
            "peak_rss_MiB": round(memory.get("VmHWM", 0.0), 1),
            "load": load,
        },
    )


def _synced(pair: SyncdPair) -> Callable[[], bool]:
    def check() -> bool:
        status = pair.daemon_status()
        return status is not None and status["state"] == "idle" and bool(status["last_sync"])

    return check


@dataclass
class _Saves:
    latencies: list[float] = field(default_factory=list)
    timed_out: int = 0  # saves that had not arrived after ARRIVAL_TIMEOUT_S (counted as that)
    unsettled: int = 0  # times the daemon was still busy when the next save came


def _saves(
    ctx: Context,
    emu: EmulatorProcess,
    pair: SyncdPair,
    ids: dict[str, str],
    daemon: _Daemon,
    *,
    settle: bool,
) -> _Saves:
    """Overwrite files spread over the tree, one at a time; each time, how long until the
    cloud serves the new version (its size is unique), then let the daemon settle (unless
    it never does: then a second apart). A save that does not arrive counts as
    ARRIVAL_TIMEOUT_S (a lower bound); after MAX_TIMEOUTS of them the series stops."""
    files = sorted(path for path in ids if path.endswith(".dat"))
    step = max(1, len(files) // ctx.sizes.saves)
    chosen = files[::step][: ctx.sizes.saves]
    result = _Saves()
    with emu.api(timeout=30) as api:
        for i, path in enumerate(chosen):
            data = f"save {i} of {path}\n".encode().ljust(1000 + i, b".")
            with open(pair.local / path, "wb") as out:
                out.write(data)
            saved = time.monotonic()
            try:
                daemon.wait_for(_arrived(api, ids[path], len(data)), "upload", ARRIVAL_TIMEOUT_S)
            except TimeoutError:
                result.timed_out += 1
            result.latencies.append(time.monotonic() - saved)
            ctx.log(f"daemon: save {i + 1}/{len(chosen)}: {result.latencies[-1]:.2f} s")
            if result.timed_out >= MAX_TIMEOUTS:
                ctx.log(f"daemon: {MAX_TIMEOUTS} saves never arrived; stopping the series")
                break
            if settle:
                result.unsettled += not daemon.quiet()
            else:
                result.unsettled += 1
                time.sleep(1.0)
    return result


def _arrived(api: Any, file_id: str, size: int) -> Callable[[], bool]:
    def check() -> bool:
        response = api.get(f"/files/{file_id}")
        return bool(response.status_code == 200 and int(response.json()["size"]) == size)

    return check


def _idle(ctx: Context, emu: EmulatorProcess, daemon: _Daemon) -> dict[str, Any]:
    """CPU over exactly one poll period: from the end of the work of one poll of the cloud
    to the end of the work of the next (polls seen on the emulator's listing counter).

    The poller's timer runs on its own, so a window starting anywhere else would hold a
    poll or not by chance. Costs one to two poll intervals of waiting.
    """
    interval = ctx.sizes.poll_interval or DEFAULT_POLL_S
    ctx.log(f"daemon: idle, waiting for a poll, then measuring until the next (~{interval:.0f} s)")
    timeout = 2 * interval + 120

    def next_poll() -> None:
        seen = emu.stats()["calls"]["folder_get"]

        def polled() -> bool:
            time.sleep(0.5)  # the stats call is cheap, but not free for the emulator
            return bool(emu.stats()["calls"]["folder_get"] > seen)

        daemon.wait_for(polled, "poll of the cloud", timeout)

    next_poll()
    settled_before = daemon.quiet(1.5)
    listings = emu.stats()["calls"]["folder_get"]
    cpu, started = cpu_seconds(daemon.pid), time.monotonic()
    next_poll()
    settled = daemon.quiet(1.5)
    used, window = cpu_seconds(daemon.pid) - cpu, time.monotonic() - started
    return {
        "pct": 100 * used / window,
        "window_s": round(window, 1),
        "cpu_s": round(used, 2),
        "listing_calls": emu.stats()["calls"]["folder_get"] - listings,
        "settled_after_poll": settled_before and settled,
        "poll_interval_s": interval,
    }
