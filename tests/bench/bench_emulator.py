"""Emulator benchmark: throughput and memory of the real server, one JSON line per measure.

Run: ``.venv/bin/python -m tests.bench.bench_emulator [--quick]``

The emulator runs in a child process (``syncd emulator --json``), so its RSS and CPU time are
measured apart from the clients. Measures:

* ``small_uploads``: 5,000 multipart uploads of 4 KiB from 4 client threads;
* ``flat_listing``: ``?flat=true`` of a 100,000-file tree (time to first byte = server time);
* ``restart``: start-up of an emulator whose data dir holds those 100,000 files;
* ``big_upload`` / ``big_download``: 1 GiB each way, with the emulator's peak RSS growth.

Every upload creates one file: on a disk where creating a file is slow (about 0.8 ms on the
development VM, 6 µs on tmpfs) that dominates ``small_uploads``; ``--data-root /dev/shm``
shows the emulator's own cost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from syncd.emulator import Emulator

GiB = 1 << 30


def emit(name: str, **values: Any) -> None:
    print(json.dumps({"bench": name, **values}), flush=True)


@contextmanager
def emulator_process(data_dir: Path) -> Iterator[tuple[dict[str, Any], int]]:
    cmd = [sys.executable, "-m", "syncd", "emulator", "--port", "0", "--json"]
    cmd += ["--data", str(data_dir)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        info["startup_s"] = round(time.perf_counter() - started, 3)
        yield info, proc.pid
    finally:
        proc.terminate()
        proc.wait(60)
        if proc.stdout is not None:
            proc.stdout.close()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM in bytes, and CPU seconds (user+system) in ms."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    out["cpu_ms"] = (int(fields[11]) + int(fields[12])) * 1000 // ticks
    return out


def token(info: dict[str, Any]) -> str:
    r = httpx.post(info["admin_url"] + "/token", json={})
    r.raise_for_status()
    return str(r.json()["access_token"])


def small_uploads(info: dict[str, Any], pid: int, count: int, threads: int) -> None:
    headers = {"Authorization": "Bearer " + token(info)}
    with httpx.Client(headers=headers) as c:
        r = c.post(info["api_base"] + "/folders", json={"name": "small"})
        folder = r.json()["id"]
    payload = os.urandom(4096)
    per_thread = count // threads
    errors: list[str] = []

    def worker(n: int) -> None:
        with httpx.Client(headers=headers) as client:
            for i in range(per_thread):
                desc = json.dumps({"name": f"f{n}-{i}.bin", "size": "4096", "folder": folder})
                r = client.post(
                    info["content_base"] + "/files/content",
                    files={"description": (None, desc), "file": ("x.bin", payload)},
                )
                if r.status_code != 201:
                    errors.append(r.text)

    before = proc_status(pid)
    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    after = proc_status(pid)
    done = per_thread * threads
    emit(
        "small_uploads",
        uploads=done,
        threads=threads,
        seconds=round(elapsed, 3),
        uploads_per_s=round(done / elapsed),
        server_cpu_us_per_upload=round((after["cpu_ms"] - before["cpu_ms"]) * 1000 / done),
        errors=len(errors),
    )


def build_tree(data_dir: Path, files: int) -> None:
    """100 folders × N files, made through the direct API (no HTTP) and persisted."""
    t0 = time.perf_counter()
    with Emulator(data_dir) as emu:
        for i in range(files):
            emu.put_file(f"tree/d{i % 100:03d}/file{i:06d}.txt", b"x")
    emit("build_tree", files=files, seconds=round(time.perf_counter() - t0, 2))


def flat_listing(info: dict[str, Any], files: int) -> None:
    headers = {"Authorization": "Bearer " + token(info)}
    with httpx.Client(headers=headers, timeout=60) as c:
        for flags in ({"flat": "true"}, {"flat": "true", "showthumbnails": "true"}):
            t0 = time.perf_counter()
            with c.stream("GET", info["api_base"] + "/folders", params=flags) as r:
                ttfb = time.perf_counter() - t0
                body = r.read()
            total = time.perf_counter() - t0
            listed = len(json.loads(body)["files"])
            assert listed == files, listed
            emit(
                "flat_listing",
                flags=list(flags),
                files=listed,
                server_s=round(ttfb, 3),
                total_s=round(total, 3),
                mbytes=round(len(body) / 1e6, 1),
            )


def big_transfer(info: dict[str, Any], pid: int, size: int, work: Path) -> None:
    src = work / "big.bin"
    with src.open("wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    headers = {"Authorization": "Bearer " + token(info)}
    timeout = httpx.Timeout(60, read=300)
    with httpx.Client(headers=headers, timeout=timeout) as c:
        base = proc_status(pid)
        desc = json.dumps({"name": "big.bin", "size": str(size)})
        t0 = time.perf_counter()
        with src.open("rb") as f:
            r = c.post(
                info["content_base"] + "/files/content",
                files={"description": (None, desc), "file": ("big.bin", f)},
            )
        up = time.perf_counter() - t0
        r.raise_for_status()
        after_up = proc_status(pid)
        emit(
            "big_upload",
            bytes=size,
            seconds=round(up, 2),
            mb_per_s=round(size / up / 1e6),
            rss_growth_mib=round((after_up["VmHWM"] - base["VmRSS"]) / 2**20, 1),
            server_cpu_s=round((after_up["cpu_ms"] - base["cpu_ms"]) / 1000, 2),
        )
        url = c.get(info["api_base"] + "/files/" + r.json()["fileId"]).json()["downloadUrl"]
        t0 = time.perf_counter()
        got = 0
        with c.stream("GET", url, headers={"Accept-Encoding": "identity"}) as resp:
            for chunk in resp.iter_raw(1 << 20):
                got += len(chunk)
        down = time.perf_counter() - t0
        after_down = proc_status(pid)
        assert got == size, got
        emit(
            "big_download",
            bytes=size,
            seconds=round(down, 2),
            mb_per_s=round(size / down / 1e6),
            rss_growth_mib=round((after_down["VmHWM"] - base["VmRSS"]) / 2**20, 1),
            server_cpu_s=round((after_down["cpu_ms"] - after_up["cpu_ms"]) / 1000, 2),
        )
    src.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--data-root",
        default=None,
        help="where the emulators keep their data (e.g. /dev/shm to take the disk out)",
    )
    args = parser.parse_args()
    uploads = 500 if args.quick else 5000
    tree = 5000 if args.quick else 100_000
    big = (64 << 20) if args.quick else GiB
    with tempfile.TemporaryDirectory(prefix="bench-emulator-", dir=args.data_root) as tmp:
        work = Path(tmp)
        with emulator_process(work / "a") as (info, pid):
            small_uploads(info, pid, uploads, threads=4)
            big_transfer(info, pid, big, work)
        build_tree(work / "b", tree)
        with emulator_process(work / "b") as (info, pid):
            emit("restart", files=tree, startup_s=info["startup_s"], **proc_status(pid))
            flat_listing(info, tree)


if __name__ == "__main__":
    main()
