"""Transfer benchmark: throughput and peak-RSS growth of a 1 GiB upload and download.

    .venv/bin/python -m tests.bench.bench_transfer [--size 1GiB] [--repeat 3] [--dir DIR]

Prints one JSON line per figure (the median of --repeat runs): upload and download through
`CloudClient`, and the same requests made by a bare httpx loop (the "floor": httpx's own
multipart streaming and `iter_bytes`). The emulator runs in its own process (`syncd
emulator`), so its memory does not count, and each figure runs in a fresh child process that
reports how far its peak RSS (VmHWM) rose above its RSS just before the transfer. The figure
that matters: our client must not add more than 64 MiB; the process exits 1 if it does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.bench.trees import write_big_file

LIMIT_MIB = 64
ENV_VAR = "SYNCD_BENCH_ENV"
FIGURES = ("syncd-upload", "floor-upload", "syncd-download", "floor-download")


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    # Linux: writing 5 resets VmHWM to the current RSS. Without it the peak includes the
    # imports, which only makes the growth figure smaller, never hides a big buffer.
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


# -- child: one figure --------------------------------------------------------------------


def _child(figure: str, env: dict[str, Any], file: Path, out_dir: Path) -> dict[str, Any]:
    from syncd.cloud.client import CloudClient
    from syncd.cloud.settings import CloudSettings
    from syncd.cloud.tokens import MemoryTokenStore, TokenSet

    token = TokenSet.from_response(env["token"], now=time.time())
    settings = CloudSettings(
        client_id=env["client_id"],
        client_secret=env["client_secret"],
        redirect_uri=env["redirect_uri"],
        token_file=out_dir / "unused-token.json",
        api_url=env["api_base"],
        content_url=env["content_base"],
        token_url=env["token_url"],
        read_timeout_s=300,
    )
    size = file.stat().st_size
    name = f"{figure}.bin"
    with CloudClient.from_settings(settings, store=MemoryTokenStore(token)) as client:
        root = client.root()
        source = next((f for f in root.files if f.name == "payload.bin"), None)
        if figure.endswith("download") and source is None:
            raise SystemExit("run an upload figure first: nothing to download")
        source_info = client.get_file(source.id) if source is not None else None
        auth = {"Authorization": f"Bearer {token.access_token}"}
        target = out_dir / name
        baseline = _status_kib("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        if figure == "syncd-upload":
            client.upload(file, root.id, name=name)
        elif figure == "floor-upload":
            description = json.dumps({"name": name, "size": str(size), "folder": root.id})
            with httpx.Client(timeout=300) as bare, file.open("rb") as handle:
                response = bare.post(
                    env["content_base"] + "/files/content",
                    headers=auth,
                    data={"description": description},
                    files={"file": (name, handle, "application/octet-stream")},
                )
                response.raise_for_status()
        elif figure == "syncd-download":
            assert source_info is not None
            with target.open("wb") as out:
                client.download(source_info, out)
        elif figure == "floor-download":
            assert source_info is not None and source_info.download_url
            headers = {**auth, "Accept-Encoding": "identity"}
            with (
                httpx.Client(timeout=300) as bare,
                bare.stream("GET", source_info.download_url, headers=headers) as response,
                target.open("wb") as out,
            ):
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    out.write(chunk)
        seconds = time.perf_counter() - started
        peak = _status_kib("VmHWM")
        if figure.endswith("download"):
            assert target.stat().st_size == size
            target.unlink()
        else:
            uploaded = next(f for f in client.get_folder(root.id).files if f.name == name)
            assert uploaded.size == size
            client.delete_file(uploaded.id)
    growth_mib = max(peak - baseline, 0) / 1024
    return {
        "figure": figure.split("-", 1)[1],
        "impl": "syncd" if figure.startswith("syncd") else "floor (bare httpx)",
        "bytes": size,
        "seconds": round(seconds, 2),
        "MB_per_s": round(size / seconds / 1e6, 1),
        "peak_rss_growth_MiB": round(growth_mib, 1),
        "baseline_rss_MiB": round(baseline / 1024, 1),
    }


# -- parent: the emulator and one child per figure ----------------------------------------


def _parse_size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1GiB", help="file size (default 1GiB)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median kept)")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder")
    parser.add_argument("--child", choices=FIGURES, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # The settings (with a token) come through the environment, not the command line.
        result = _child(args.child, json.loads(os.environ[ENV_VAR]), args.file, args.dir)
        print(json.dumps(result), flush=True)
        return 0

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="syncd-bench-") as scratch:
        work = Path(scratch)
        emulator = subprocess.Popen(
            [sys.executable, "-m", "syncd", "emulator", "--port", "0", "--json",
             "--data", str(work / "emulator")],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert emulator.stdout is not None
            env: dict[str, Any] = json.loads(emulator.stdout.readline())
            with httpx.Client() as admin:
                env["token"] = admin.post(env["admin_url"] + "/token").json()
            payload = work / "payload.bin"
            write_big_file(payload, _parse_size(args.size))
            runs: dict[str, list[dict[str, Any]]] = {figure: [] for figure in FIGURES}
            # Interleaved, so page-cache and disk write-back noise hits both sides alike.
            for _ in range(args.repeat):
                for figure in ("floor-upload", "syncd-upload"):
                    runs[figure].append(_run_child(figure, env, payload, work))
            _store_payload(env, payload)  # what the downloads read, stored once, untimed
            for _ in range(args.repeat):
                for figure in ("floor-download", "syncd-download"):
                    runs[figure].append(_run_child(figure, env, payload, work))
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
            if emulator.stdout is not None:
                emulator.stdout.close()
    failed = False
    for figure in FIGURES:
        summary = _summarise(runs[figure])
        if figure.startswith("syncd"):
            summary["limit_MiB"] = LIMIT_MIB
            summary["within_limit"] = summary["peak_rss_growth_MiB"] <= LIMIT_MIB
            failed |= not summary["within_limit"]
        print(json.dumps(summary), flush=True)
    return 1 if failed else 0


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    speeds = sorted(r["MB_per_s"] for r in runs)
    first = runs[0]
    return {
        "figure": first["figure"],
        "impl": first["impl"],
        "bytes": first["bytes"],
        "runs": len(runs),
        "MB_per_s": speeds[len(speeds) // 2],
        "MB_per_s_min": speeds[0],
        "MB_per_s_max": speeds[-1],
        "peak_rss_growth_MiB": max(r["peak_rss_growth_MiB"] for r in runs),
        "baseline_rss_MiB": first["baseline_rss_MiB"],
    }


def _store_payload(env: dict[str, Any], payload: Path) -> None:
    auth = {"Authorization": f"Bearer {env['token']['access_token']}"}
    description = json.dumps({"name": "payload.bin", "size": str(payload.stat().st_size)})
    with httpx.Client(timeout=300) as bare, payload.open("rb") as handle:
        bare.post(
            env["content_base"] + "/files/content",
            headers=auth,
            data={"description": description},
            files={"file": ("payload.bin", handle, "application/octet-stream")},
        ).raise_for_status()


def _run_child(figure: str, env: dict[str, Any], payload: Path, work: Path) -> dict[str, Any]:
    """One figure in a fresh process, so each peak RSS is its own."""
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_transfer", "--child", figure,
         "--file", str(payload), "--dir", str(work)],
        env={**os.environ, ENV_VAR: json.dumps(env)},
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout  # fmt: skip
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
