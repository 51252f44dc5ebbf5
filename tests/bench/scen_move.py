"""Figures of moving a synced folder of 1,000 files into another folder, on either side: the
API calls and bytes of the `syncd sync` that follows, counted by the emulator.

The local move is an `os.rename`; the cloud move one API call (`POST /folders/{id}` with a new
parentFolderId), made before the emulator's counters are reset. A move must travel as a move:
at most a handful of calls, not a byte of content.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from tests.bench.emulator_proc import EmulatorProcess
from tests.bench.figures import Context, Figure, api_calls
from tests.bench.pairs import SyncdPair
from tests.bench.procs import LoadMeter

MAX_CALLS = 5
REMOTE = "move"


def moves(ctx: Context, *, local: bool, remote: bool) -> Iterator[Figure]:
    count = ctx.sizes.move_files
    with ctx.emulator(ctx.work / "emu-move") as emu:
        pair = ctx.pair("move", emu, f"/{REMOTE}")
        box = pair.local / "a" / "box"
        box.mkdir(parents=True)
        (pair.local / "b").mkdir()
        for i in range(count):
            (box / f"f{i:05d}.txt").write_bytes(f"file {i}\n".encode() * 10)
        ctx.log(f"move: first sync of a folder of {count} files")
        pair.sync("first sync")
        where = "a"
        if local:
            os.rename(pair.local / where / "box", pair.local / "b" / "box")
            where = "b"
            yield _measure("move_local", ctx, emu, pair, where)
        if remote:
            other = "b" if where == "a" else "a"
            with emu.api(timeout=60) as api:
                box_id = emu.item_id(f"{REMOTE}/{where}/box")
                body = {"parentFolderId": emu.item_id(f"{REMOTE}/{other}")}
                api.post(f"/folders/{box_id}", json=body).raise_for_status()
            yield _measure("move_remote", ctx, emu, pair, other)


def _measure(name: str, ctx: Context, emu: EmulatorProcess, pair: SyncdPair, to: str) -> Figure:
    count = ctx.sizes.move_files
    ctx.log(f"{name}: syncd")
    meter = LoadMeter([emu.pid])
    emu.reset_stats()
    run = pair.sync(name)
    stats = emu.stats()
    calls = sum(stats["calls"].values())
    moved_bytes = int(stats["bytes_uploaded"]) + int(stats["bytes_downloaded"])
    _check_moved(emu, pair.local, to, count)
    return Figure(
        name,
        calls,
        "API calls",
        f"value <= {MAX_CALLS} and bytes == 0",
        calls <= MAX_CALLS and moved_bytes == 0,
        extra={
            "files": count,
            "bytes": moved_bytes,
            "calls_by_kind": api_calls(stats),
            "summary": run.stdout.strip(),
            "syncd_wall_s": round(run.wall_s, 2),
            "load": meter.result(),
        },
    )


def _check_moved(emu: EmulatorProcess, local: Path, to: str, count: int) -> None:
    """Both sides hold the folder at its new place, whole, and nothing at the old one."""
    old = "b" if to == "a" else "a"
    listing = emu.listing()
    in_cloud = sum(1 for path in listing if path.startswith(f"{REMOTE}/{to}/box/"))
    left_in_cloud = any(path.startswith(f"{REMOTE}/{old}/box") for path in listing)
    on_disk = len(os.listdir(local / to / "box")) if (local / to / "box").is_dir() else 0
    if in_cloud != count or on_disk != count or left_in_cloud or (local / old / "box").exists():
        raise RuntimeError(
            f"after the move: {in_cloud} files in the cloud, {on_disk} on disk (want {count}),"
            f" old folder left in the cloud: {left_in_cloud}"
        )
