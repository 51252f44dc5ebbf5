"""The emulator in its own process (`syncd emulator --json`), so its CPU and memory never count
against syncd, plus the little admin client the figures need.

Start-up: `--port 0` lets the kernel pick a free port (no race between choosing a port and
binding it); readiness is the JSON line the command prints once the server listens. Stop:
SIGTERM (the emulator compacts its journal), SIGKILL after a grace period, always reaped.
"""

from __future__ import annotations

import json
import select
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.bench.procs import python, spawn, stop_process


class EmulatorProcess:
    def __init__(self, proc: subprocess.Popen[str], info: dict[str, Any]) -> None:
        self.proc = proc
        self.info = info
        self.admin = httpx.Client(base_url=info["admin_url"], timeout=120)
        self._token: str | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def token_response(self) -> dict[str, Any]:
        """A fresh token response (access + refresh token), without the browser flow."""
        response = self.admin.post("/token")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    @property
    def access_token(self) -> str:
        if self._token is None:
            self._token = str(self.token_response()["access_token"])
        return self._token

    def api(self, **kwargs: Any) -> httpx.Client:
        """A bare client of the API host, authorised (the caller closes it)."""
        headers = {"Authorization": f"Bearer {self.access_token}"}
        return httpx.Client(base_url=self.info["api_base"], headers=headers, **kwargs)

    def stats(self) -> dict[str, Any]:
        response = self.admin.get("/stats")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def reset_stats(self) -> None:
        self.admin.post("/stats/reset").raise_for_status()

    def listing(self) -> dict[str, dict[str, Any]]:
        """Every item below the app folder by path (`kind`, `id`, `size`); small trees only."""
        response = self.admin.get("/listing")
        response.raise_for_status()
        data: dict[str, dict[str, Any]] = response.json()
        return data

    def item_id(self, path: str) -> str:
        return str(self.listing()[path]["id"])

    def close(self) -> None:
        self.admin.close()
        stop_process(self.proc, grace=60)


@contextmanager
def emulator_process(
    data_dir: Path, env: dict[str, str], *, latency_s: float = 0.0, ready_timeout: float = 120
) -> Iterator[EmulatorProcess]:
    """A running emulator persisting to `data_dir` (which may hold a seeded state), answering
    every API call `latency_s` late (a network's round trip, for syncd and floor alike)."""
    cmd = python("-m", "syncd", "emulator", "--port", "0", "--json", "--data", str(data_dir))
    proc = spawn(cmd, env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        info = _read_ready_line(proc, ready_timeout)
    except BaseException:
        stop_process(proc)
        raise
    emulator = EmulatorProcess(proc, info)
    try:
        if latency_s:
            emulator.admin.post("/faults", json={"latency_s": latency_s}).raise_for_status()
        yield emulator
    finally:
        emulator.close()


def _read_ready_line(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    # select() first: a readline() on a child that hangs before printing would block forever.
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"the emulator printed nothing within {timeout:.0f} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the emulator exited before listening (code {proc.wait()})")
    info: dict[str, Any] = json.loads(line)
    return info


def seed_cloud(data_dir: Path, files: Iterable[tuple[str, bytes]]) -> float:
    """Store files straight into an emulator's state (no HTTP), before its process starts;
    paths are relative to the app folder. Returns the seconds it took."""
    from syncd.emulator import Emulator

    started = time.perf_counter()
    with Emulator(data_dir) as emu:
        for path, data in files:
            emu.put_file(path, data)
    return time.perf_counter() - started
