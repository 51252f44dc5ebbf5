"""Figures of a big synced tree (100,000 files in 10,000 folders, or `--files N` in N/10): a
no-change `syncd sync`, then the daemon watching it (`scen_daemon`).

Reaching a synced pair by uploading 100,000 files would take minutes, so the tree is stored
in the emulator directly, written locally, and the state a first sync would leave is
recorded from a real scan and a real listing (`SyncdPair.seed_state`). The no-change run
must then find nothing to do, which the runner checks.

At a million files that set-up takes many minutes, so it can outlive the run (`--reuse DIR`:
`ctx.setups`): a set-up marked ready is used again, its listing cache removed so that the
first round runs without one, as in a fresh set-up. The daemon figure changes the tree, so
it unmarks the set-up first.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.bench.emulator_proc import EmulatorProcess, seed_cloud
from tests.bench.figures import BIG_TREE, Context, Figure, api_calls
from tests.bench.pairs import SyncdPair, summary_says_nothing
from tests.bench.procs import ChildResult, LoadMeter
from tests.bench.scen_daemon import daemon_figures
from tests.bench.trees import Tree, prefixed, write_local

REMOTE = "tree"
READY = "READY"  # in a set-up's folder once it is complete and unchanged since
IDS = "ids.json"  # rel_path -> remote id of every item, for the daemon figure


@dataclass(frozen=True)
class Targets:
    max_s: float
    ratio: float | None  # to the floor's wall time
    rss_mib: float


# Issue 6's targets hold for the default tree; issue 20's for a tree of up to a million files.
DEFAULT_TARGETS = Targets(max_s=5.0, ratio=2.0, rss_mib=200.0)
MILLION_TARGETS = Targets(max_s=20.0, ratio=None, rss_mib=300.0)


def targets_for(tree: Tree) -> Targets:
    return DEFAULT_TARGETS if tree.files <= BIG_TREE.files else MILLION_TARGETS


def big_tree(ctx: Context, *, no_change: bool, daemon: bool, repeat: int) -> Iterator[Figure]:
    tree = ctx.sizes.big_tree
    home = (ctx.setups or ctx.work) / f"big-tree-{tree.files}x{tree.folders}"
    poll = ctx.sizes.poll_interval
    settings = {} if poll is None else {"poll_interval": poll}
    reuse = (home / READY).exists()
    if reuse:
        ctx.log(f"reusing the synced tree of {tree.files} files in {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)  # what a run cut short left, if anything
        home.mkdir(parents=True)
        ctx.log(f"storing {tree.files} files in {tree.folders} folders in the cloud")
        seed_cloud(home / "emu", prefixed(REMOTE, tree))
    with ctx.emulator(home / "emu") as emu:
        pair = ctx.pair("tree", emu, f"/{REMOTE}", where=home, **settings)
        ids = None if reuse else _seed(ctx, home, pair, tree)
        for cache in pair.state_dir.rglob("listing.cache"):
            cache.unlink()  # as after a fresh set-up
        if no_change:
            yield from _no_change(ctx, emu, pair, repeat)
        if daemon:
            (home / READY).unlink()  # the saves change the tree
            if ids is None:
                ids = json.loads((home / IDS).read_text())
            yield from daemon_figures(ctx, emu, pair, ids)


def seed_pair(ctx: Context, pair: SyncdPair, tree: Tree) -> dict[str, str]:
    """Make `pair` synced: `tree`, already in its cloud folder, written locally, and the state
    a first sync would leave recorded. Returns the remote id of every item, by rel_path."""
    ctx.log("writing the same tree locally")
    digests = write_local(pair.local, tree)
    ctx.log("recording the synced state (as a first sync would)")
    return pair.seed_state(digests)


def _seed(ctx: Context, home: Path, pair: SyncdPair, tree: Tree) -> dict[str, str]:
    ids = seed_pair(ctx, pair, tree)
    (home / IDS).write_text(json.dumps(ids))
    (home / READY).touch()
    return ids


def _root_id(emu: EmulatorProcess) -> str:
    with emu.api(timeout=60) as api:
        root = api.get("/folders").raise_for_status().json()
    return str(next(f["id"] for f in root["subfolders"] if f["name"] == REMOTE))


def _no_change(
    ctx: Context, emu: EmulatorProcess, pair: SyncdPair, repeat: int
) -> Iterator[Figure]:
    tree = ctx.sizes.big_tree
    meter = LoadMeter([emu.pid])
    floors: list[ChildResult] = []
    runs: list[tuple[ChildResult, dict[str, int]]] = []
    for round_ in range(repeat):
        ctx.log(f"no change: floor (round {round_ + 1}/{repeat})")
        floor, line = ctx.floor(
            "no-change", emu, local_root=str(pair.local), folder_id=_root_id(emu)
        )
        if line["remote_files"] != tree.files:
            raise RuntimeError(f"the floor listed {line['remote_files']} files")
        floors.append(floor)
        ctx.log(f"no change: syncd (round {round_ + 1}/{repeat})")
        emu.reset_stats()
        run = pair.sync("no-change sync")
        if not summary_says_nothing(run):
            raise RuntimeError(f"the no-change sync did something: {run.stdout.strip()}")
        runs.append((run, api_calls(emu.stats())))
    floor = sorted(floors, key=lambda r: r.wall_s)[(len(floors) - 1) // 2]
    run, calls = sorted(runs, key=lambda r: r[0].wall_s)[(len(runs) - 1) // 2]
    ratio = run.wall_s / floor.wall_s
    load = meter.result()
    targets = targets_for(tree)
    target = f"value < {targets.max_s:g}"
    ok = run.wall_s < targets.max_s
    if targets.ratio is not None:
        target += f" and ratio <= {targets.ratio:g}"
        ok = ok and ratio <= targets.ratio
    sizes = {"files": tree.files, "folders": tree.folders}
    yield Figure(
        "no_change_time",
        run.wall_s,
        "s",
        target,
        ok,
        floor=floor.wall_s,
        ratio=ratio,
        extra={
            **sizes,
            "runs": len(runs),
            "syncd_runs_s": [round(r.wall_s, 2) for r, _ in runs],
            "floor_runs_s": [round(r.wall_s, 2) for r in floors],
            "syncd_cpu_s": round(run.cpu_s, 2),
            "floor_cpu_s": round(floor.cpu_s, 2),
            "syncd_cpu_us_per_file": round(run.cpu_s / tree.files * 1e6, 1),
            "floor_cpu_us_per_file": round(floor.cpu_s / tree.files * 1e6, 1),
            "syncd_cpu_runs_s": [round(r.cpu_s, 2) for r, _ in runs],
            "floor_cpu_runs_s": [round(r.cpu_s, 2) for r in floors],
            "syncd_calls": calls,
            "load": load,
        },
    )
    yield Figure(
        "no_change_rss",
        run.maxrss_mib,
        "MiB",
        f"value < {targets.rss_mib:g}",
        run.maxrss_mib < targets.rss_mib,
        extra={
            **sizes,
            "floor_peak_rss_MiB": round(floor.maxrss_mib, 1),
            "syncd_rss_runs_MiB": [round(r.maxrss_mib, 1) for r, _ in runs],
        },
    )
