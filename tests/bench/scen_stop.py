"""How long `syncd run` takes to exit after SIGTERM in the middle of a download.

The README promises that SIGTERM stops transfers within seconds (systemd waits 90 s, then
kills). The download is slowed by `download_limit` so that it is surely under way when the
signal comes: the daemon is signalled once its partial file has grown past a quarter of the
file, and the figure is the time from the signal to the process's exit, seen by wait4.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.bench.emulator_proc import seed_cloud
from tests.bench.figures import Context, Figure, MiB
from tests.bench.procs import LoadMeter, stop_process

STOP_S = 3.0
# Slow enough that the download is still running when the signal comes, whatever the size.
RATE = 4 * MiB
GROWN_TIMEOUT_S = 120.0
EXIT_TIMEOUT_S = 120.0  # past this the stop counts as a hang, and as this long


def stop_during_download(ctx: Context, repeat: int) -> Iterator[Figure]:
    size = min(ctx.sizes.big_file, 64 * MiB)
    data_dir = ctx.work / "emu-stop"
    seed_cloud(data_dir, [(f"stop-{r}/big.bin", os.urandom(size)) for r in range(repeat)])
    stops: list[float] = []
    codes: list[int | None] = []
    with ctx.emulator(data_dir) as emu:
        meter = LoadMeter([emu.pid])
        for r in range(repeat):
            pair = ctx.pair(f"stop-{r}", emu, f"/stop-{r}", download_limit=RATE)
            log_file = pair.home / "daemon.log"
            proc = pair.start_daemon(log_file)
            try:
                _wait_grown(pair.local, size // 4, proc.poll)
                signalled = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                try:
                    codes.append(proc.wait(timeout=EXIT_TIMEOUT_S))
                    stops.append(time.monotonic() - signalled)
                except subprocess.TimeoutExpired:
                    codes.append(None)
                    stops.append(EXIT_TIMEOUT_S)
            finally:
                stop_process(proc)
            ctx.log(f"stop round {r + 1}: exited {stops[-1]:.2f} s after SIGTERM")
        load = meter.result()
    value = statistics.median(stops)
    yield Figure(
        "daemon_stop",
        value,
        "s",
        f"value < {STOP_S:g}",
        value < STOP_S and all(code == 0 for code in codes),
        extra={
            "runs": len(stops),
            "stops_s": [round(s, 2) for s in stops],
            "exit_codes": codes,
            "file_bytes": size,
            "download_limit": RATE,
            "load": load,
        },
    )


def _wait_grown(local: Path, size: int, exited: Callable[[], int | None]) -> None:
    """Until a partial download beside the target holds `size` bytes."""
    deadline = time.monotonic() + GROWN_TIMEOUT_S
    while time.monotonic() < deadline:
        if exited() is not None:
            raise RuntimeError("the daemon exited before the download got going")
        if any(_size(p) >= size for p in local.glob(".big.bin.*.syncd-partial")):
            return
        time.sleep(0.05)
    raise TimeoutError(f"no partial download reached {size} bytes in {GROWN_TIMEOUT_S:.0f} s")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed into place meanwhile
        return 0
