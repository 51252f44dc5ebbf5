"""Fault campaign: the engine against an emulator that fails like a bad day of the service.

Faults, all at once: 5 % of calls answer a 5xx, 2 % of uploads and of downloads are cut by
a connection reset part-way through the bytes, bursts of 403 code 53 (rate limit; 1 % of
calls start a burst of 3), and every 50th authenticated call finds its token expired. A second
variant adds lost answers: 3 % of the calls that change something are carried out, then the
connection is reset before the answer (the client cannot tell whether they happened).

A tree of 500 files in 50 folders, half of it local and half in the cloud, is synced under
these faults (uploads and downloads), then both sides change
(`campaign.Workload`: edits, new files and folders, deletes, folder moves and renames, file
moves, a conflict, false conflicts), and the pair is synced again under the same faults
until a sync has nothing left to do. Then: both trees equal and exactly as expected, nothing
lost, no version at two paths, no `name(1)` duplicate, no upload temporary, no partial
download, and a dry run with the faults off plans nothing.

The engine runs in-process (the faults are the point here, not processes). Each call gets
4 attempts (`ATTEMPTS`; stamina's test mode drops the sleeps), fewer than the client's own
default, so that some calls do give up and the engine's own recovery is exercised too: a
transient failure ends the sync as offline, and a path that failed is recorded and backed
off from for 30 s to an hour. Rather than wait, the
test moves the engine's clock on by two hours between syncs (`Harness.clock_offset`), so every
failed path is retried by the next sync, as it would be by a daemon a while later.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import stamina

from syncd.errors import TransientError
from tests.integration.campaign import Shape, Workload, problems, read_sides
from tests.integration.harness import DIR, REMOTE_ROOT, Harness

FAULTS: dict[str, Any] = {
    "error_5xx_rate": 0.05,
    "reset_rate": 0.02,
    "download_reset_rate": 0.02,
    "rate_limit_rate": 0.01,
    "rate_limit_burst": 3,
    "retry_after": 0,
    "expire_token_every": 50,
}
LOST_ANSWERS = {**FAULTS, "lost_response_rate": 0.03}
FULL = Shape(folders=50, files_per_folder=10, sub_every=0, big_files=2, big_size=96 * 1024)
MAX_SYNCS = 12
ATTEMPTS = 4  # more than a rate-limit burst (3), fewer than the client's default (5)


@dataclass
class Summary:
    label: str
    seconds: float = 0.0
    syncs: list[int] = field(default_factory=list)  # per phase: syncs until nothing was left
    failures: int = 0  # paths reported failed along the way (then retried)
    offline: int = 0  # syncs that could not list the cloud at all
    faults: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    changes: Counter[str] = field(default_factory=Counter)


SUMMARIES: list[Summary] = []


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    SUMMARIES.clear()
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not SUMMARIES:
        return
    reporter.write_sep("-", "fault campaign")
    for s in SUMMARIES:
        reporter.write_line(
            f"{s.label}: {s.seconds:.1f} s, syncs per phase {s.syncs}, {s.calls} calls, "
            f"{s.failures} path failures retried, {s.offline} syncs offline, "
            f"faults {dict(s.faults)}"
        )


def converge_under_faults(h: Harness, summary: Summary) -> None:
    """Sync until a sync succeeds with nothing left to do; fail after MAX_SYNCS."""
    history: list[object] = []
    for count in range(1, MAX_SYNCS + 1):
        try:
            report = h.sync()
        except TransientError as exc:
            # The listing itself gave up: the sync ends as offline (`syncd sync` exits 1).
            summary.offline += 1
            history.append(exc)
            continue
        finally:
            h.clock_offset += 7200.0  # past any backoff (an hour at most)
        summary.failures += len(report.failures)
        history.append((dict(report.counts), report.failures, report.offline))
        if report.ok and not report.counts:
            summary.syncs.append(count)
            return
    raise AssertionError(f"no convergence in {MAX_SYNCS} syncs: {history}")


def run_campaign(h: Harness, seed: int, shape: Shape, faults: dict[str, Any], label: str) -> None:
    started = time.monotonic()
    summary = Summary(label)
    emu = h.emulator
    workload = Workload(random.Random(seed), shape)
    for rel_path, value in workload.make_base().items():
        # Half the folders start on each side: the first sync uploads and downloads.
        in_cloud = rel_path[:3] in {f"d{i:02d}" for i in range(1, shape.folders, 2)}
        if value == DIR:
            if in_cloud:
                emu.mkdir(f"{REMOTE_ROOT}/{rel_path}")
            else:
                (h.root / rel_path).mkdir(parents=True, exist_ok=True)
        else:
            assert isinstance(value, bytes)
            if in_cloud:
                emu.put_file(f"{REMOTE_ROOT}/{rel_path}", value)
            else:
                h.write(rel_path, value)
    emu.faults.update(**faults, seed=seed)
    with stamina.set_testing(True, attempts=ATTEMPTS, cap=True):
        converge_under_faults(h, summary)
        workload.assign_roles()
        workload.apply(h.root, emu)
        summary.changes = workload.counts
        converge_under_faults(h, summary)
    emu.faults.clear()
    stats = emu.stats.snapshot()
    summary.faults.update(stats.faults)
    summary.calls = sum(stats.calls.values())
    summary.seconds = time.monotonic() - started
    SUMMARIES.append(summary)

    found = problems(workload, read_sides(h.root, emu))
    if not found:
        plan = h.sync(dry_run=True).plan
        assert plan is not None
        if plan:
            found.append(f"a dry run still plans {plan.actions}")
    assert not found, f"seed {seed}, roles {workload.roles}:\n" + "\n".join(found)
    # The faults really happened, every kind of them.
    for name in ("error_5xx", "rate_limit", "expire_token"):
        assert summary.faults[name] > 0, summary.faults
    assert summary.faults["reset"] + summary.faults["download_reset"] > 0, summary.faults
    if faults.get("lost_response_rate"):
        assert summary.faults["lost_response"] > 0, summary.faults


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_fault_campaign_500_files_converges(h: Harness, seed: int) -> None:
    run_campaign(h, seed, FULL, FAULTS, f"seed {seed}")


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_fault_campaign_with_lost_answers_converges(h: Harness, seed: int) -> None:
    run_campaign(h, seed, FULL, LOST_ANSWERS, f"seed {seed}, lost answers")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 130))
def test_fault_campaign_more_seeds(h: Harness, seed: int) -> None:
    lost = seed % 2 == 1
    run_campaign(h, seed, FULL, LOST_ANSWERS if lost else FAULTS, f"seed {seed}, lost {lost}")
