"""Keeps the benchmark runner from rotting: a `--quick` run prints well-formed figures.

Only the shape is checked, never the targets (tiny sizes say nothing about speed). To stay
well under 20 s it runs the figures that together cover every kind of set-up (a local tree,
a cloud tree, a seeded synced pair, a move) and three kinds of floor, and the start-up figures
(a few runs of two commands); the transfer and daemon figures reuse the same pieces. A 1 ms
latency keeps the emulator's latency setting working, and `--profile` the profiles (a one-off
sync ends its own process: they must be written first).
"""

from __future__ import annotations

import json
import pstats
import subprocess
import sys
from pathlib import Path

from syncd.sync import commits
from tests.bench import floors

REPO = Path(__file__).resolve().parents[2]
FIGURES = (
    "first_sync_up",
    "first_sync_down",
    "no_change_time",
    "no_change_rss",
    "move_local",
    "startup_help_cpu",
    "startup_status_cpu",
)
KEYS = {"figure", "value", "unit", "floor", "ratio", "target", "ok"}


def test_quick_run_prints_one_json_line_per_figure(tmp_path: Path) -> None:
    only = "first-sync-up,first-sync-down,no-change,move-local,startup"
    scratch, profiles = tmp_path / "scratch", tmp_path / "profiles"
    scratch.mkdir()
    args = ["--quick", "--only", only, "--latency", "1", "--dir", str(scratch)]
    args += ["--profile", str(profiles)]
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: a target missed, fine here
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["figure"] for line in lines] == list(FIGURES)
    for line in lines:
        assert line.keys() >= KEYS, line
        assert isinstance(line["value"], int | float) and isinstance(line["ok"], bool), line
        assert "error" not in line, line
        assert line["latency_ms"] == 1.0, line
    first_sync = lines[0]
    assert first_sync["floor"] > 0 and first_sync["ratio"] > 0
    assert first_sync["pool_floor"] > 0 and first_sync["ratio_to_pool_floor"] > 0
    for key in ("emulator_cpu_s_for_syncd", "emulator_cpu_s_for_floor"):
        assert first_sync[key] >= 0, first_sync  # ticks of 10 ms: a tiny run may show 0
    down = lines[1]  # and its floor that lands files as syncd must (it checks its own rows)
    assert down["steps_floor"] > 0 and down["ratio_to_steps_floor"] > 0, down
    assert len(down["steps_floor_runs_s"]) == down["runs"]
    assert list(scratch.iterdir()) == []  # the scratch folder is gone
    _check_profiles(profiles)


def _check_profiles(profiles: Path) -> None:
    """Every `syncd sync` wrote its main thread's profile and its transfer threads' profile."""
    main = sorted(profiles.glob("*.main.prof"))
    threads = sorted(profiles.glob("*.threads.prof"))
    assert main, sorted(p.name for p in profiles.iterdir()) if profiles.exists() else "no folder"
    assert [p.name.split(".")[0] for p in threads] == [p.name.split(".")[0] for p in main]
    # The first sync down: its plan ran on the main thread, its downloads in the transfer pool.
    down = next(p for p in main if p.name.startswith("down-0-"))
    assert _functions(down) >= {("engine.py", "sync")}, down
    down_threads = down.with_name(down.name.replace(".main.", ".threads."))
    assert _functions(down_threads) >= {("executor.py", "_fetch")}, down_threads


def _functions(profile: Path) -> set[tuple[str, str]]:
    stats = pstats.Stats(str(profile))
    return {(Path(file).name, name) for file, _, name in stats.stats}  # type: ignore[attr-defined]


def test_the_steps_floor_commits_as_often_as_syncd() -> None:
    # The floor imports nothing of syncd's (it would pay for the imports), so it repeats it.
    assert floors._Landing.COMMIT_EVERY == commits.COMMIT_EVERY
