"""`syncd sync` as its own program ends the process itself once done (`syncd.cli.process`),
and builds its snapshots with the cyclic collector paused; inside a caller it does neither."""

from __future__ import annotations

import contextlib
import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from syncd.cli import main
from syncd.cli.process import snapshots_for_the_process
from syncd.pairlock import PairLock
from syncd.store import Store
from tests.integration.harness import Harness


def _program(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "syncd", "sync", "--config", str(config), "-q", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_program_ends_with_its_summary_written_and_its_exit_code(
    h: Harness, tmp_path: Path
) -> None:
    h.write("up.txt", "up")
    h.remote_write("down.txt", "down")
    result = _program(h.write_config(tmp_path / "c.yaml"))
    assert result.returncode == 0, result.stderr
    # All the output of a process that ended itself (click flushes each line anyway).
    assert result.stdout == "pair: 1 download, 1 record, 1 upload; 2 B up, 4 B down\n"
    assert h.read("down.txt") == b"down"
    assert h.remote_read("up.txt") == b"up"


def test_a_dry_run_as_the_program_prints_its_plan_and_changes_nothing(
    h: Harness, tmp_path: Path
) -> None:
    h.remote_write("down.txt", "down")
    result = _program(h.write_config(tmp_path / "c.yaml"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pair: 1 planned actions\n  download      down.txt (4 B)\n"
    assert not (h.root / "down.txt").exists()


def test_the_program_ends_with_exit_code_1_when_a_pair_could_not_sync(
    h: Harness, tmp_path: Path
) -> None:
    config = h.write_config(tmp_path / "c.yaml")
    h.db_path.parent.mkdir(parents=True)
    with PairLock(h.db_path, h.pair.name):
        result = _program(config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("pair: not synced:"), result.stderr


def test_inside_a_click_runner_the_command_returns_instead(h: Harness, tmp_path: Path) -> None:
    h.remote_write("down.txt", "down")
    result = CliRunner().invoke(
        main, ["sync", "-q", "--config", str(h.write_config(tmp_path / "c"))]
    )
    # Still here to check: the test process was not ended with the command.
    assert result.exit_code == 0, result.output
    assert result.output == "pair: 1 download; 0 B up, 4 B down\n"
    assert h.read("down.txt") == b"down"


@contextlib.contextmanager
def _gc_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    try:
        yield
    finally:
        gc.unfreeze()  # give this test process's heap back to the collector
        (gc.enable if enabled else gc.disable)()


def test_snapshots_are_built_with_the_collector_paused_then_frozen() -> None:
    with _gc_restored():
        gc.enable()
        before = gc.get_freeze_count()
        with snapshots_for_the_process():
            assert not gc.isenabled()
            built = [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(built)


def test_with_the_collector_off_already_snapshots_leave_it_off_and_freeze_nothing() -> None:
    with _gc_restored():
        gc.disable()
        before = gc.get_freeze_count()
        with snapshots_for_the_process():
            built = [[i] for i in range(1000)]
        assert not gc.isenabled()
        assert gc.get_freeze_count() == before
        assert len(built) == 1000


def test_the_engine_loads_and_scans_inside_its_snapshot_scope(h: Harness) -> None:
    h.write("here.txt", "here")
    h.remote_write("there.txt", "there")
    h.converge()
    seen: list[tuple[set[str], set[str], set[str]]] = []

    with Store.open(h.db_path) as store:
        engine = h.engine(store)

        @contextlib.contextmanager
        def scope() -> Iterator[None]:
            seen.append((set(engine.base), set(engine.local), set(engine.remote)))
            yield
            seen.append((set(engine.base), set(engine.local), set(engine.remote)))

        engine.snapshot_scope = scope
        assert engine.sync().ok
    both = {"here.txt", "there.txt"}
    assert seen == [(set(), set(), set()), (both, both, both)]
