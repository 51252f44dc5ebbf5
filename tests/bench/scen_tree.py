"""Figures of a big synced tree (100,000 files in 10,000 folders): a no-change `syncd sync`,
then the daemon watching it (`scen_daemon`).

Reaching a synced pair by uploading 100,000 files would take minutes, so the tree is stored
in the emulator directly, written locally, and the state a first sync would leave is
recorded from a real scan and a real listing (`SyncdPair.seed_state`). The no-change run
must then find nothing to do, which the runner checks.
"""

from __future__ import annotations

from collections.abc import Iterator

from tests.bench.emulator_proc import EmulatorProcess, seed_cloud
from tests.bench.figures import Context, Figure, api_calls
from tests.bench.pairs import SyncdPair, summary_says_nothing
from tests.bench.procs import ChildResult, LoadMeter
from tests.bench.scen_daemon import daemon_figures
from tests.bench.trees import prefixed, write_local

NO_CHANGE_MAX_S = 5.0
NO_CHANGE_RATIO = 2.0
NO_CHANGE_RSS_MIB = 200.0
REMOTE = "tree"


def big_tree(ctx: Context, *, no_change: bool, daemon: bool, repeat: int) -> Iterator[Figure]:
    tree = ctx.sizes.big_tree
    data_dir = ctx.work / "emu-big-tree"
    ctx.log(f"storing {tree.files} files in {tree.folders} folders in the cloud")
    seed_cloud(data_dir, prefixed(REMOTE, tree))
    with ctx.emulator(data_dir) as emu:
        poll = ctx.sizes.poll_interval
        settings = {} if poll is None else {"poll_interval": poll}
        pair = ctx.pair("tree", emu, f"/{REMOTE}", **settings)
        ctx.log("writing the same tree locally")
        digests = write_local(pair.local, tree)
        ctx.log("recording the synced state (as a first sync would)")
        ids = pair.seed_state(digests)
        if no_change:
            yield from _no_change(ctx, emu, pair, repeat)
        if daemon:
            yield from daemon_figures(ctx, emu, pair, ids)


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
    yield Figure(
        "no_change_time",
        run.wall_s,
        "s",
        f"value < {NO_CHANGE_MAX_S:g} and ratio <= {NO_CHANGE_RATIO:g}",
        run.wall_s < NO_CHANGE_MAX_S and ratio <= NO_CHANGE_RATIO,
        floor=floor.wall_s,
        ratio=ratio,
        extra={
            "files": tree.files,
            "folders": tree.folders,
            "runs": len(runs),
            "syncd_runs_s": [round(r.wall_s, 2) for r, _ in runs],
            "floor_runs_s": [round(r.wall_s, 2) for r in floors],
            "syncd_cpu_s": round(run.cpu_s, 2),
            "floor_cpu_s": round(floor.cpu_s, 2),
            "syncd_calls": calls,
            "load": load,
        },
    )
    yield Figure(
        "no_change_rss",
        run.maxrss_mib,
        "MiB",
        f"value < {NO_CHANGE_RSS_MIB:g}",
        run.maxrss_mib < NO_CHANGE_RSS_MIB,
        extra={"files": tree.files, "floor_peak_rss_MiB": round(floor.maxrss_mib, 1)},
    )
