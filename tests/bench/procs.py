"""Child processes for the benchmarks: run one and measure it, read a live one's CPU and RSS,
and tell how busy the machine was meanwhile.

Every child is started from the main thread with a parent-death signal, so a runner that is
killed (even with SIGKILL) takes its emulator, daemon and syncd children with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
_TICK = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1
# Inherited from a systemd unit or a developer's shell, these would make a child talk to the
# wrong notify socket, log to the journal or load another config.
_DROP_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "SYNCD_CONFIG")


def die_with_parent() -> None:
    # Runs in the child between fork and exec. Linux only; elsewhere the runner's `finally`
    # blocks are the only guard.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def child_env(scratch: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every child: XDG folders inside the scratch folder, so nothing is
    read from or left in the user's home; the repository importable from any cwd; bytecode
    cached in the scratch folder (see `warm_up`), so no process pays for compiling syncd."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    xdg = scratch / "xdg"
    for name in ("CONFIG", "STATE", "CACHE", "DATA"):
        env[f"XDG_{name}_HOME"] = str(xdg / name.lower())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env.update(extra or {})
    return env


def warm_up(scratch: Path, env: Mapping[str, str]) -> float:
    """Fill the bytecode cache of `child_env` (an installed syncd has its .pyc files; a
    checkout run with PYTHONDONTWRITEBYTECODE would recompile in every process)."""
    cmd = python("-m", "tests.bench.warmup", str(scratch))
    return run_measured(cmd, env, timeout=300).check("warm-up").wall_s


def spawn(cmd: Sequence[str], env: Mapping[str, str], **kwargs: Any) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        list(cmd), env=dict(env), cwd=REPO, preexec_fn=die_with_parent, **kwargs
    )


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


@dataclass(frozen=True)
class ChildResult:
    returncode: int
    wall_s: float
    maxrss_mib: float  # peak RSS of the child (ru_maxrss)
    cpu_s: float  # user + system
    stdout: str
    stderr: str

    def check(self, what: str) -> ChildResult:
        if self.returncode != 0:
            tail = "\n".join((self.stderr or self.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"{what} exited with {self.returncode}:\n{tail}")
        return self


def run_measured(cmd: Sequence[str], env: Mapping[str, str], *, timeout: float) -> ChildResult:
    """Run `cmd` to the end; its wall time, peak RSS and CPU are its own (not the runner's,
    not other children's): `launch` forks it from a small process and reports them."""
    # Anonymous files (unlinked at once): no pipe to drain, nothing left behind.
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(prefix="syncd-bench-", suffix=".json") as figures,
    ):
        launcher = python("-m", "tests.bench.launch", figures.name, *cmd)
        proc = spawn(launcher, env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            status, _ = _wait4(proc.pid, time.perf_counter() + timeout)
        except BaseException:
            _kill_and_reap(proc)  # and its child with it (a parent-death signal)
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"the launcher of {cmd[0]} exited with {proc.returncode}: {stderr}")
        measured = json.loads(Path(figures.name).read_text(encoding="ascii"))
    return ChildResult(
        returncode=measured["returncode"],
        wall_s=measured["wall_s"],
        maxrss_mib=measured["maxrss_kib"] / 1024,
        cpu_s=measured["cpu_s"],
        stdout=stdout,
        stderr=stderr,
    )


def _wait4(pid: int, deadline: float) -> tuple[int, resource.struct_rusage]:
    # A pidfd wakes us the moment the child exits (no polling delay in the wall time).
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    try:
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                return status, usage
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"child {pid} still running at its deadline")
            if fd is not None:
                select.select([fd], [], [], min(left, 1.0))
            else:
                time.sleep(min(left, 0.005))
    finally:
        if fd is not None:
            os.close(fd)


def _kill_and_reap(proc: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(ChildProcessError):
        proc.wait(timeout=30)


def stop_process(proc: subprocess.Popen[Any], *, grace: float = 15.0) -> None:
    """SIGTERM, wait `grace` seconds, then SIGKILL; always reaped, pipes closed."""
    try:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _kill_and_reap(proc)
    finally:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def code_version() -> str:
    """The commit measured, plus a digest of uncommitted changes to the product (several
    people edit this checkout at once: two runs compare only if this matches)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", "syncd", "migrations"], cwd=REPO, capture_output=True
        ).stdout
    except OSError:
        return "unknown"
    if not diff:
        return head or "unknown"
    return f"{head}+dirty.{hashlib.sha256(diff).hexdigest()[:8]}"


# -- live processes ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a live process, in MiB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def wait_quiet(pid: int, *, quiet_s: float, timeout: float, step: float = 0.25) -> float:
    """Wait until `pid` used (almost) no CPU for `quiet_s`; returns the seconds waited.

    "Almost": one clock tick per step is allowed, for timers that wake and sleep again.
    """
    started = time.monotonic()
    last = cpu_seconds(pid)
    quiet_since = time.monotonic()
    while True:
        time.sleep(step)
        now = cpu_seconds(pid)
        if now - last > 1.5 / _TICK:
            quiet_since = time.monotonic()
        last = now
        if time.monotonic() - quiet_since >= quiet_s:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"process {pid} did not go quiet within {timeout:.0f} s")


# -- how busy the machine was --------------------------------------------------------------


def _cpu_times() -> tuple[float, float, float]:
    """(busy, total, stolen) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest times are already in user/nice
    return (total - idle) / _TICK, total / _TICK, values[7] / _TICK


def _own_cpu() -> float:
    """CPU of the runner plus every child it has reaped."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class LoadMeter:
    """How busy the machine was over a stretch, and how much of that was not us.

    `tracked` are live children not reaped inside the stretch (the emulator): their CPU is
    read from /proc, since `RUSAGE_CHILDREN` only counts a child once it is reaped.
    """

    def __init__(self, tracked: Sequence[int] = ()) -> None:
        self.tracked = list(tracked)
        self.cores = os.cpu_count() or 1
        self.load1 = os.getloadavg()[0]
        self._busy, self._total, self._stolen = _cpu_times()
        self._ours = _own_cpu() + self._tracked_cpu()

    def _tracked_cpu(self) -> float:
        total = 0.0
        for pid in self.tracked:
            with contextlib.suppress(OSError):
                total += cpu_seconds(pid)
        return total

    def result(self) -> dict[str, float]:
        busy, total, stolen = _cpu_times()
        ours = _own_cpu() + self._tracked_cpu() - self._ours
        span = max(total - self._total, 1e-9)  # CPU-seconds available on all cores
        busy -= self._busy
        return {
            "loadavg1_before": round(self.load1, 2),
            "machine_busy_pct": round(100 * busy / span, 1),
            "others_busy_pct": round(100 * max(busy - ours, 0.0) / span, 1),
            # Taken by the hypervisor for other machines: our threads were ready, not running.
            "steal_pct": round(100 * (stolen - self._stolen) / span, 1),
            "cores": self.cores,
        }
