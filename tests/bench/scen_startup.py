"""Figures of start-up: the CPU (user + system, from `wait4`) of `syncd --help` and of
`syncd status`, each a fresh process, the median of `Sizes.startup_runs` runs.

`syncd status` reads a config with one pair whose state DB holds a few failures and a
conflicted copy, as a user's would. CPU rather than wall time: on a shared machine the
wall time says more about the neighbours than about syncd. Target: under 0.25 s each.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path

from tests.bench.figures import Context, Figure
from tests.bench.procs import LoadMeter, python, run_measured

TARGET_CPU_S = 0.25


def startup(ctx: Context) -> Iterator[Figure]:
    config = _config_with_a_pair(ctx.work / "startup")
    for name, args in (
        ("startup_help_cpu", ["--help"]),
        ("startup_status_cpu", ["status", "--config", str(config)]),
    ):
        ctx.log(f"{name}: {ctx.sizes.startup_runs} runs of syncd {args[0]}")
        meter = LoadMeter()
        runs = [
            run_measured(python("-m", "syncd", *args), ctx.env, timeout=ctx.timeout).check(name)
            for _ in range(ctx.sizes.startup_runs)
        ]
        cpu = statistics.median(run.cpu_s for run in runs)
        yield Figure(
            name,
            cpu,
            "s CPU",
            f"value < {TARGET_CPU_S}",
            cpu < TARGET_CPU_S,
            extra={
                "runs": len(runs),
                "cpu_s_min_max": [
                    round(min(r.cpu_s for r in runs), 3),
                    round(max(r.cpu_s for r in runs), 3),
                ],
                "wall_s_median": round(statistics.median(run.wall_s for run in runs), 3),
                "load": meter.result(),
            },
        )


def _config_with_a_pair(work: Path) -> Path:
    from syncd.store import Store

    local = work / "Docs"
    (local / "notes").mkdir(parents=True)
    (local / "notes" / "a (conflicted copy).txt").write_text("mine")
    with Store.open(work / "state" / "pairs" / "Docs" / "state.db") as store:
        store.set_meta("last_sync", "1765124436")
        for i in range(3):
            store.record_failure(f"notes/f{i}.txt", "upload", "Permission denied", 4e9)
        store.add_conflict("notes/a (conflicted copy).txt", "notes/a.txt", "local")
    config = work / "config.yaml"
    config.write_text(
        f'state_dir: "{work / "state"}"\npairs:\n  - local: "{local}"\n    remote: /Docs\n',
        encoding="utf-8",
    )
    return config
