"""Crash campaign: `syncd sync` and `syncd run` as real processes, killed with SIGKILL at
random points, then a final `syncd sync` that must leave both sides exactly as an
uninterrupted sync would (see `campaign` for the workload and the checks).

Each trial (one seed): sync a base tree in-process, change both sides (`campaign.Workload`:
edits, new files and folders, deletes, a folder move or rename, a conflict...), run a
`syncd sync` or `syncd run` process and SIGKILL it, maybe run and kill once more, then run
`syncd sync` to the end and check: both trees equal and as expected, no partial download,
no upload temporary, no `name(1)` duplicate in the cloud, every version kept (except the
base versions a side deleted or overwrote), no version at two paths, and a dry run on a
fresh engine plans nothing.

Where the kill lands is chosen per trial, so that kills really hit operations in flight:

- `request KIND #n`: the emulator sees the n-th call of that kind arrive (an upload still
  streaming its body, a rename or delete the server is about to apply): the client dies
  before any answer, whatever the server then does;
- `reply KIND #n`: the n-th answer of that kind is going out (a download's body, the answer
  to a rename): the server has acted, the client may or may not have seen the answer;
- `commit #k`: the k-th write to the state database's WAL is seen (right after a commit);
- `local`: a partial download or the trash appears on disk (between a local write and the
  commit that records it);
- `delay`: a random time after the first API call.

Killed runs get bandwidth limits so larger transfers take a while. The distribution of
where kills landed (the trigger, the calls in flight at that moment, what was left behind)
is printed at the end of the module (`-rA` or `-s` shows it; `SYNCD_CAMPAIGN_REPORT=path`
also writes it as JSON).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from syncd.emulator import Emulator
from syncd.emulator.stats import Stats
from syncd.sync.model import Conflict, MoveRemote, Record
from tests.integration.campaign import Shape, Workload, problems, read_sides, versions
from tests.integration.harness import Harness

DEFAULT_TRIALS = 30
SLOW_TRIALS = 300
KILL_LIMITS = ("--upload-limit", "3 MiB", "--download-limit", "3 MiB")
# Calls that change something (and downloads): where a kill matters most.
CALL_KINDS = (
    "upload",
    "download",
    "file_update",
    "folder_update",
    "file_delete",
    "folder_delete",
    "folder_create",
)


class KillSwitch(Stats):
    """The emulator's counters, which also SIGKILL the client process when a chosen call
    arrives (`request`) or its answer goes out (`reply`), and note what was in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.local = threading.local()
        self.arm(None, None)

    def arm(self, pid: int | None, trigger: tuple[str, str, int] | None) -> None:
        """Aim at process `pid`: kill it at `trigger` = (event, endpoint kind, n)."""
        with self.lock:
            self.pid = pid
            self.trigger = trigger
            self.seen: Counter[tuple[str, str]] = Counter()
            self.inflight: Counter[str] = Counter()
            self.first_call: float | None = None
            self.last_mutation: float | None = None
            self.fired: str | None = None
            self.fired_inflight: list[str] = []

    def call(self, kind: str) -> None:
        super().call(kind)
        self.local.kind = kind
        with self.lock:
            self.inflight[kind] += 1
            if self.first_call is None:
                self.first_call = time.monotonic()
            if kind != "folder_get":
                self.last_mutation = time.monotonic()
        self._event("request", kind)

    def status(self, status: int) -> None:
        super().status(status)
        kind = getattr(self.local, "kind", None)
        if kind is None:
            return
        self.local.kind = None
        self._event("reply", kind)
        with self.lock:
            self.inflight[kind] -= 1

    def _event(self, event: str, kind: str) -> None:
        with self.lock:
            self.seen[(event, kind)] += 1
            if self.trigger == (event, kind, self.seen[(event, kind)]):
                self.fire_locked(f"{event} {kind}")

    def fire(self, label: str) -> None:
        with self.lock:
            self.fire_locked(label)

    def fire_locked(self, label: str) -> None:
        if self.fired is not None or self.pid is None:
            return
        self.fired = label
        self.fired_inflight = sorted(+self.inflight)
        # ESRCH: it had already exited (the caller sees that from its return code).
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


@dataclass
class Landing:
    """Where one kill landed."""

    mode: str  # sync or run
    trigger: str
    outcome: str  # killed / finished before the kill
    inflight: list[str]
    residue: list[str] = field(default_factory=list)


REPORT: list[Landing] = []
TRIAL_TIMES: list[float] = []


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    REPORT.clear()
    TRIAL_TIMES.clear()
    yield
    if not REPORT:
        return
    by_trigger = Counter(f"{r.mode}: {r.trigger} -> {r.outcome}" for r in REPORT)
    in_flight = Counter(", ".join(r.inflight) or "(no call in flight)" for r in REPORT)
    residue = Counter(item for r in REPORT for item in r.residue or ["(nothing left behind)"])
    lines = [
        f"{len(TRIAL_TIMES)} trials, {sum(TRIAL_TIMES):.1f} s "
        f"(mean {sum(TRIAL_TIMES) / len(TRIAL_TIMES):.2f} s), {len(REPORT)} kills",
        "kills by trigger:",
        *(f"  {n:4d}  {k}" for k, n in sorted(by_trigger.items())),
        "calls in flight when the kill came:",
        *(f"  {n:4d}  {k}" for k, n in in_flight.most_common()),
        "left behind by the killed process:",
        *(f"  {n:4d}  {k}" for k, n in residue.most_common()),
    ]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", "crash campaign: where the kills landed")
        for line in lines:
            reporter.write_line(line)
    target = os.environ.get("SYNCD_CAMPAIGN_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"campaign": "crash", "lines": lines}) + "\n")


@pytest.fixture
def switch() -> KillSwitch:
    return KillSwitch()


@pytest.fixture
def emulator(switch: KillSwitch) -> Iterator[Emulator]:
    emu = Emulator()
    emu.stats = switch  # before start(): the server and the app take this one
    with emu:
        yield emu


def expected_calls(workload: Workload) -> Counter[str]:
    """Roughly how many calls of each kind a full sync of the workload makes."""
    per_role: dict[str, dict[str, int]] = {
        "local-edit": {"upload": 2, "file_update": 2, "file_delete": 2},
        "remote-edit": {"download": 2},
        "local-delete": {"file_delete": 1},
        "local-new": {"upload": 2},
        "remote-new": {"download": 2},
        "conflict": {"upload": 1, "download": 1},
        "same-new": {"download": 1},
        "local-rename-folder": {"folder_update": 1},
        "local-move-folder": {"folder_update": 2},
        "local-move-file": {"file_update": 2},
        "local-delete-folder": {"folder_delete": 1},
        "local-new-folder": {"folder_create": 2, "upload": 4},
        "remote-new-folder": {"download": 4},
    }
    calls: Counter[str] = Counter()
    for role, count in workload.counts.items():
        for kind, n in per_role.get(role, {}).items():
            calls[kind] += n * count
    return calls


@dataclass(frozen=True)
class Trigger:
    """A kill point: `call` = (event, endpoint kind, n), or the `count`-th commit, or a
    new partial download or trash entry (`local`), or `delay` seconds after the first call."""

    kind: str  # call, commit, local or delay
    call: tuple[str, str, int] | None = None
    count: int = 0
    delay: float = 0.0

    @property
    def label(self) -> str:
        if self.call is not None:
            return "{} {} #{}".format(*self.call)
        if self.kind == "commit":
            return f"commit #{self.count}"
        if self.kind == "delay":
            return f"delay {self.delay:.2f} s"
        return self.kind

    @property
    def group(self) -> str:
        """The label without its numbers, for the report."""
        if self.call is not None:
            return "{} {}".format(*self.call[:2])
        if self.kind == "delay":
            span = "< 0.3" if self.delay < 0.3 else "0.3-0.6" if self.delay < 0.6 else ">= 0.6"
            return f"delay {span} s"
        return self.kind


def choose_trigger(rng: random.Random, workload: Workload) -> Trigger:
    calls = expected_calls(workload)
    roll = rng.random()
    if roll < 0.55:
        kind = rng.choice([k for k in CALL_KINDS if calls[k]])
        event = rng.choice(("request", "reply"))
        # The counts are estimates (a pass may skip or redo some): aim inside them.
        return Trigger("call", call=(event, kind, rng.randint(1, max(1, calls[kind] * 3 // 4))))
    if roll < 0.7:
        return Trigger("commit", count=rng.randint(1, 3))
    if roll < 0.8:
        return Trigger("local")
    return Trigger("delay", delay=rng.uniform(0.0, 0.9))


class Runner:
    """Starts syncd processes against the trial's config and kills them as chosen."""

    def __init__(self, h: Harness, switch: KillSwitch, config: Path, logs: Path) -> None:
        self.h = h
        self.switch = switch
        self.config = config
        self.logs = logs
        self.wal = h.db_path.with_name(h.db_path.name + "-wal")
        self.count = 0

    def _command(self, mode: str, *extra: str) -> list[str]:
        return [sys.executable, "-m", "syncd", mode, "--config", str(self.config), *extra]

    def run_and_kill(
        self, mode: str, trigger: Trigger, meanwhile: Callable[[], None] | None = None
    ) -> Landing:
        self.count += 1
        log = self.logs / f"run{self.count}-{mode}.log"
        environ = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                self._command(mode, "-v", *KILL_LIMITS),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=environ,
            )
            try:
                self.switch.arm(proc.pid, trigger.call)
                self._watch(proc, mode, trigger, meanwhile)
            finally:
                if proc.poll() is None:
                    self.switch.fire("cleanup")
                proc.wait(timeout=30)
        switch = self.switch
        outcome = "killed" if proc.returncode == -signal.SIGKILL else f"exit {proc.returncode}"
        label = trigger.group
        if switch.fired in (None, "cleanup", "idle"):
            label = (
                f"{trigger.kind} (not reached: {'killed idle' if outcome == 'killed' else 'done'})"
            )
        landing = Landing(mode, label, outcome, switch.fired_inflight)
        switch.arm(None, None)
        return landing

    def _local_marks(self) -> set[str]:
        """Partial downloads and trash buckets. `os.walk` skips a folder that the process
        renames or removes under it (a local move, the trash) where `rglob` would raise."""
        found: set[str] = set()
        for folder, dirs, files in os.walk(self.h.root):
            found.update(os.path.join(folder, f) for f in files if f.endswith(".syncd-partial"))
            if folder.endswith(os.path.join(".syncd", "trash")):
                found.update(os.path.join(folder, d) for d in dirs)
        return found

    def _watch(
        self,
        proc: subprocess.Popen[bytes],
        mode: str,
        trigger: Trigger,
        meanwhile: Callable[[], None] | None,
    ) -> None:
        switch = self.switch
        wal_seen = self._wal_stamp()
        marks = self._local_marks()
        commits = 0
        deadline = time.monotonic() + 20
        while proc.poll() is None and switch.fired is None:
            now = time.monotonic()
            if now > deadline:
                raise AssertionError(f"{mode} neither finished nor was killed in 20 s")
            started = switch.first_call is not None
            if started and meanwhile is not None:
                meanwhile()
                meanwhile = None
            if trigger.kind == "commit":
                stamp = self._wal_stamp()
                if stamp != wal_seen:
                    wal_seen = stamp
                    commits += started
                    if commits >= trigger.count:
                        switch.fire(trigger.label)
            elif trigger.kind == "local":
                if started and self._local_marks() - marks:
                    switch.fire(trigger.label)
            elif trigger.kind == "delay":
                first = switch.first_call
                if first is not None and now - first >= trigger.delay:
                    switch.fire(trigger.label)
            if mode == "run" and switch.last_mutation is not None:
                # The daemon idles after its passes: once nothing but listings happen for a
                # while, the chosen point will not come.
                if now - switch.last_mutation > 1.5:
                    switch.fire("idle")
            elif mode == "run" and started and now - (switch.first_call or now) > 4:
                switch.fire("idle")
            time.sleep(0.002)

    def _wal_stamp(self) -> tuple[int, int]:
        try:
            st = os.stat(self.wal)
        except FileNotFoundError:
            return (0, 0)
        return (st.st_size, st.st_mtime_ns)

    def final_sync(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command("sync", "-v"), capture_output=True, text=True, timeout=120
        )


def residue_of(h: Harness, emu: Emulator) -> list[str]:
    """What the killed process left: temporaries, and (from a dry run's plan) results it
    had brought about on both sides without committing them, and moves left halfway."""
    sides = read_sides(h.root, emu)
    found = []
    if sides.partials:
        found.append("partial download")
    if sides.temporaries:
        found.append("upload temporary in the cloud")
    plan = h.sync(dry_run=True).plan
    assert plan is not None
    if any(isinstance(a, MoveRemote) and a.remote_src for a in plan.actions):
        found.append("a cloud move halfway")
    unrecorded = [
        a
        for a in plan.actions
        if isinstance(a, Record) or (isinstance(a, Conflict) and a.compare_first)
    ]
    if unrecorded:
        found.append("done on both sides, not committed")
    return found


def run_trial(seed: int, h: Harness, switch: KillSwitch, tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(seed)
    workload = Workload(rng, Shape())
    for rel_path, value in workload.make_base().items():
        if isinstance(value, bytes):
            h.write(rel_path, value)
        else:
            (h.root / rel_path).mkdir(parents=True, exist_ok=True)
    h.converge()
    workload.assign_roles()
    workload.apply(h.root, h.emulator)
    before = read_sides(h.root, h.emulator)
    assert before.local == workload.local_tree and before.remote == workload.remote_tree

    config = h.write_config(
        tmp_path / "config.yaml", sync={"transfers": 3, "poll_interval": 1, "debounce": 0.2}
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    runner = Runner(h, switch, config, logs)
    kills = 2 if rng.random() < 0.35 else 1
    for _ in range(kills):
        mode = "run" if rng.random() < 0.35 else "sync"
        trigger = choose_trigger(rng, workload)
        meanwhile = None
        if rng.random() < 0.3:
            meanwhile = lambda: workload.change_meanwhile(h.root, h.emulator)  # noqa: E731
        landing = runner.run_and_kill(mode, trigger, meanwhile)
        landing.residue = residue_of(h, h.emulator)
        REPORT.append(landing)

    result = runner.final_sync()
    after = read_sides(h.root, h.emulator)
    found = problems(workload, after)
    if result.returncode != 0:
        found.insert(0, f"final `syncd sync` exited {result.returncode}")
    if not found:
        again = h.sync(dry_run=True)
        assert again.plan is not None
        if again.plan:
            found.append(f"a fresh dry run still plans {again.plan.actions}")
    TRIAL_TIMES.append(time.monotonic() - started)
    if found:
        history = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-6000:]}" for p in sorted(logs.iterdir())
        )
        landed = [r for r in REPORT[-kills:]]
        raise AssertionError(
            f"seed {seed}: roles {workload.roles}\nkills: {landed}\n"
            + "\n".join(found)
            + f"\nbefore: {len(versions(before.local))} local versions\n"
            f"final sync output:\n{result.stdout[-4000:]}{result.stderr[-8000:]}\n{history}"
        )


@pytest.mark.parametrize("seed", range(DEFAULT_TRIALS))
def test_crash_campaign(seed: int, h: Harness, switch: KillSwitch, tmp_path: Path) -> None:
    run_trial(seed, h, switch, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1000, 1000 + SLOW_TRIALS))
def test_crash_campaign_long(seed: int, h: Harness, switch: KillSwitch, tmp_path: Path) -> None:
    run_trial(seed, h, switch, tmp_path)
