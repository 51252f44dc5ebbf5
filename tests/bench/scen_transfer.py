"""Figures of one big file through `syncd sync`, each way: throughput next to the floor's,
and how far the peak RSS of the syncd process rises for it.

Both syncd and the floor start a Python process, but the figure is about the transfer: a
syncd round runs the pair once with nothing to do (start-up, state, listing: the baseline),
then once with the file, and counts the difference of their wall times as the transfer time
and the difference of their peak RSS as the growth; the floor times its requests alone.
Before each timed transfer, `os.sync()` writes back what earlier rounds left dirty in the
page cache, so neither side pays for the other's writes; rounds alternate who goes first.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from tests.bench.emulator_proc import EmulatorProcess
from tests.bench.figures import Context, Figure, MiB
from tests.bench.procs import ChildResult, LoadMeter
from tests.bench.trees import write_big_file

THROUGHPUT_SHARE = 0.8
RSS_GROWTH_MIB = 64.0
A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class _Round:
    baseline: ChildResult  # the same pair, nothing to transfer
    run: ChildResult
    floor_s: float

    def transfer_s(self) -> float:
        return max(self.run.wall_s - self.baseline.wall_s, 1e-3)

    def growth_mib(self) -> float:
        return self.run.maxrss_mib - self.baseline.maxrss_mib


def transfers(ctx: Context, *, up: bool, down: bool, repeat: int) -> Iterator[Figure]:
    size = ctx.sizes.big_file
    payload = ctx.work / "big.bin"
    ctx.log(f"writing a {size // MiB} MiB file")
    write_big_file(payload, size)
    with ctx.emulator(ctx.work / "emu-transfer") as emu:
        # Download rounds fetch what the upload rounds stored, so uploads always run.
        meter = LoadMeter([emu.pid])
        rounds = [_upload_round(ctx, emu, payload, r) for r in range(repeat)]
        if up:
            yield from _figures("upload", size, rounds, meter)
        if down:
            meter = LoadMeter([emu.pid])
            rounds = [_download_round(ctx, emu, r) for r in range(repeat)]
            yield from _figures("download", size, rounds, meter)


def _in_turn(round_: int, first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """Both, in alternating order from round to round."""
    if round_ % 2 == 0:
        a = first()
        return a, second()
    b = second()
    return first(), b


def _upload_round(ctx: Context, emu: EmulatorProcess, payload: os.PathLike[str], r: int) -> _Round:
    pair = ctx.pair(f"upload-{r}", emu, f"/up-{r}")
    ctx.log(f"upload round {r + 1}: syncd with nothing to do (baseline)")
    baseline = pair.sync("baseline sync")
    os.link(payload, pair.local / "big.bin")  # the same bytes, already in the page cache
    with emu.api(timeout=60) as api:
        api.post("/folders", json={"name": f"floor-up-{r}"}).raise_for_status()
    folder_id = emu.item_id(f"floor-up-{r}")

    def floor() -> float:
        ctx.log(f"upload round {r + 1}: floor")
        os.sync()
        _, line = ctx.floor("upload-file", emu, path=os.fspath(payload), folder_id=folder_id)
        return float(line["transfer_s"])

    def syncd() -> ChildResult:
        ctx.log(f"upload round {r + 1}: syncd")
        os.sync()
        return pair.sync("upload sync")

    floor_s, run = _in_turn(r, floor, syncd)
    if emu.listing()[f"up-{r}/big.bin"]["size"] != ctx.sizes.big_file:
        raise RuntimeError("the upload did not arrive whole")
    return _Round(baseline, run, floor_s)


def _download_round(ctx: Context, emu: EmulatorProcess, r: int) -> _Round:
    pair = ctx.pair(f"download-{r}", emu, f"/down-{r}")
    ctx.log(f"download round {r + 1}: syncd with nothing to do (baseline)")
    baseline = pair.sync("baseline sync")
    # The floor's upload becomes syncd's download; syncd's upload the floor's.
    with emu.api(timeout=60) as api:
        body = {"parentFolderId": emu.item_id(f"down-{r}")}
        api.post(f"/files/{emu.item_id(f'floor-up-{r}/big.bin')}", json=body).raise_for_status()
    source_id = emu.item_id(f"up-{r}/big.bin")
    target = ctx.work / "floor-download.bin"

    def floor() -> float:
        ctx.log(f"download round {r + 1}: floor")
        os.sync()
        _, line = ctx.floor("download-file", emu, file_id=source_id, dest=str(target))
        target.unlink()
        return float(line["transfer_s"])

    def syncd() -> ChildResult:
        ctx.log(f"download round {r + 1}: syncd")
        os.sync()
        return pair.sync("download sync")

    floor_s, run = _in_turn(r, floor, syncd)
    if (pair.local / "big.bin").stat().st_size != ctx.sizes.big_file:
        raise RuntimeError("the download did not arrive whole")
    return _Round(baseline, run, floor_s)


def _figures(way: str, size: int, rounds: list[_Round], meter: LoadMeter) -> Iterator[Figure]:
    value = statistics.median(size / r.transfer_s() / 1e6 for r in rounds)
    floor = statistics.median(size / r.floor_s / 1e6 for r in rounds)
    ratio = value / floor
    load = meter.result()
    yield Figure(
        f"{way}_throughput",
        value,
        "MB/s",
        f"ratio >= {THROUGHPUT_SHARE}",
        ratio >= THROUGHPUT_SHARE,
        floor=floor,
        ratio=ratio,
        extra={
            "bytes": size,
            "runs": len(rounds),
            "syncd_transfer_s": [round(r.transfer_s(), 2) for r in rounds],
            "floor_transfer_s": [round(r.floor_s, 2) for r in rounds],
            "syncd_wall_s": [round(r.run.wall_s, 2) for r in rounds],
            "syncd_cpu_s": [round(r.run.cpu_s, 2) for r in rounds],
            "load": load,
        },
    )
    growth = max(r.growth_mib() for r in rounds)
    yield Figure(
        f"{way}_rss_growth",
        growth,
        "MiB",
        f"value < {RSS_GROWTH_MIB:g}",
        growth < RSS_GROWTH_MIB,
        extra={
            "peak_rss_MiB": round(max(r.run.maxrss_mib for r in rounds), 1),
            "baseline_peak_rss_MiB": round(max(r.baseline.maxrss_mib for r in rounds), 1),
            "load": load,
        },
    )
