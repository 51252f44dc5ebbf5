"""What a run measures (the sizes), what it reports (one `Figure` per JSON line), and the
context every scenario gets (scratch folder, child environment, floors)."""

from __future__ import annotations

import json
import sys
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.bench.emulator_proc import EmulatorProcess, emulator_process
from tests.bench.floors import ENV_VAR as FLOOR_ENV
from tests.bench.pairs import SyncdPair
from tests.bench.procs import ChildResult, python, run_measured
from tests.bench.trees import Tree

MiB = 1 << 20
GiB = 1 << 30
TRANSFERS = 4  # syncd's default `sync.transfers`; the floors use as many connections
FIRST_SYNC = Tree(5_000, 200, 4096)
BIG_TREE = Tree(100_000, 10_000)
CHANGE_TREE = Tree(20_000, 2_000)


@dataclass(frozen=True)
class Sizes:
    first_sync: Tree = FIRST_SYNC
    big_file: int = GiB
    big_tree: Tree = BIG_TREE
    saves: int = 20
    # None: syncd's default poll interval (60 s), and the idle window waits for one poll.
    poll_interval: float | None = None
    move_files: int = 1_000
    startup_runs: int = 21
    change_tree: Tree = CHANGE_TREE  # the small change beside rclone
    changed_files: int = 10


QUICK = Sizes(
    first_sync=Tree(40, 4, 4096),
    big_file=4 * MiB,
    big_tree=Tree(400, 40),
    saves=2,
    poll_interval=1.0,
    move_files=20,
    startup_runs=3,
    change_tree=Tree(200, 20),
    changed_files=4,
)


@dataclass
class Figure:
    figure: str
    value: float
    unit: str
    target: str
    ok: bool
    floor: float | None = None
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "value": _round(self.value),
            "unit": self.unit,
            "floor": _round(self.floor),
            "ratio": _round(self.ratio),
            "target": self.target,
            "ok": self.ok,
            **self.extra,
        }


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 3) if abs(value) < 100 else round(value, 1)


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def with_big_tree(sizes: Sizes, files: int) -> Sizes:
    """`sizes` with a big tree of `files` files in a tenth as many folders."""
    return replace(sizes, big_tree=Tree(files, max(1, files // 10)))


@dataclass
class Context:
    work: Path
    env: dict[str, str]
    sizes: Sizes
    timeout: float
    profile_dir: Path | None = None
    # Where set-ups that take minutes to build live (the big tree): `work` (removed with
    # it), or a folder kept from run to run (`--reuse`).
    setups: Path | None = None
    code: str = ""  # the syncd version measured (`procs.code_version`)
    latency_s: float = 0.0  # added by the emulator to every API call
    web: bool = False  # `syncd run` serves the dashboard (nobody opens it)
    started: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s] {message}", file=sys.stderr, flush=True)

    def emulator(self, data_dir: Path) -> AbstractContextManager[EmulatorProcess]:
        return emulator_process(data_dir, self.env, latency_s=self.latency_s)

    def pair(
        self,
        name: str,
        emulator: EmulatorProcess,
        remote: str,
        *,
        where: Path | None = None,
        **sync: Any,
    ) -> SyncdPair:
        """A pair in `where / name` (default: the scratch folder)."""
        return SyncdPair(
            (where or self.work) / name,
            emulator,
            remote,
            self.env,
            sync=sync,
            timeout=self.timeout,
            profile_dir=self.profile_dir,
            web=self.web,
        )

    def floor(
        self, kind: str, emulator: EmulatorProcess, **spec: Any
    ) -> tuple[ChildResult, dict[str, Any]]:
        """Run one floor process; its result line and its own measures."""
        settings = {
            "api_base": emulator.info["api_base"],
            "content_base": emulator.info["content_base"],
            "token": emulator.access_token,
            "threads": TRANSFERS,
            **spec,
        }
        env = {**self.env, FLOOR_ENV: json.dumps(settings)}
        cmd = python("-m", "tests.bench.floors", kind)
        result = run_measured(cmd, env, timeout=self.timeout).check(f"floor {kind}")
        line: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return result, line


def api_calls(stats: dict[str, Any]) -> dict[str, int]:
    """The non-zero call counters of an emulator stats snapshot."""
    return {kind: n for kind, n in stats["calls"].items() if n}
