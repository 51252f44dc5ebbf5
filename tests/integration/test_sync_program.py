"""`syncd sync` as its own program ends the process itself once done (`syncd.cli.process`),
and builds its snapshots with the cyclic collector paused; inside a caller it does neither."""

from __future__ import annotations

import contextlib
import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd.cli import main, sync_cmd
from syncd.cli.process import snapshots_for_the_process
from syncd.pairlock import PairLock
from syncd.store import Store
from syncd.sync.engine import PairEngine
from tests.integration.harness import Harness


def _command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "syncd", "sync", "--config", str(config), "-q", *args]


def _program(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(config, *args), capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def _gc_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    try:
        yield
    finally:
        gc.unfreeze()  # give this test process's heap back to the collector
        (gc.enable if enabled else gc.disable)()


def test_the_program_ends_with_its_summary_written_and_its_exit_code(
    h: Harness, tmp_path: Path
) -> None:
    h.write("up.txt", "up")
    h.remote_write("down.txt", "down")
    result = _program(h.write_config(tmp_path / "c.yaml"))
    assert result.returncode == 0, result.stderr
    # All the output of a process that ended itself (click flushes each line anyway).
    assert result.stdout == "pair: 1 uploaded, 1 downloaded; 2 B up, 4 B down\n"
    assert h.read("down.txt") == b"down"
    assert h.remote_read("up.txt") == b"up"


def _started_by(config: Path, *lines: str) -> subprocess.CompletedProcess[str]:
    """`syncd sync -q` run by a Python program of its own: `lines` call `run`."""
    program = "\n".join(
        [
            "import atexit, sys",
            "from pathlib import Path",
            "from syncd.cli import run",
            "from syncd.cli.process import Program",
            f"sys.argv = ['syncd', 'sync', '-q', '--config', {str(config)!r}]",
            *lines,
        ]
    )
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )


def test_the_program_ends_its_process_itself_without_the_interpreter_s_shutdown(
    h: Harness, tmp_path: Path
) -> None:
    result = _started_by(
        h.write_config(tmp_path / "c.yaml"),
        "atexit.register(lambda: print('interpreter shutdown', file=sys.stderr))",
        "run()",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pair: nothing to do\n"
    assert result.stderr == ""  # no atexit handler ran: the process ended in `end_process`


def test_the_program_runs_its_on_end_before_it_ends_its_process(h: Harness, tmp_path: Path) -> None:
    # How a profiler that started the program gets to write what it gathered.
    mark = tmp_path / "ended"
    result = _started_by(
        h.write_config(tmp_path / "c.yaml"),
        f"run(Program(on_end=lambda: Path({str(mark)!r}).write_text('written')))",
        "print('run() returned', file=sys.stderr)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pair: nothing to do\n"
    assert result.stderr == ""  # the process ended in `end_process`, not after run()
    assert mark.read_text() == "written"


def test_the_program_started_with_stdout_closed_still_syncs_and_exits_0(
    h: Harness, tmp_path: Path
) -> None:
    h.remote_write("down.txt", "down")
    command = _command(h.write_config(tmp_path / "c.yaml"))
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *command], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert h.read("down.txt") == b"down"


def test_a_dry_run_as_the_program_prints_its_plan_and_changes_nothing(
    h: Harness, tmp_path: Path
) -> None:
    h.remote_write("down.txt", "down")
    result = _program(h.write_config(tmp_path / "c.yaml"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pair: 1 planned action\n  download      down.txt (4 B)\n"
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
    with _gc_restored():
        result = CliRunner().invoke(
            main, ["sync", "-q", "--config", str(h.write_config(tmp_path / "c"))]
        )
    # Still here to check: the test process was not ended with the command.
    assert result.exit_code == 0, result.output
    assert result.output == "pair: 1 downloaded; 0 B up, 4 B down\n"
    assert h.read("down.txt") == b"down"


def test_snapshots_are_built_with_the_collector_paused_then_frozen() -> None:
    with _gc_restored():
        gc.enable()
        before = gc.get_freeze_count()
        with snapshots_for_the_process():
            assert not gc.isenabled()
            built = [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(built)


class _Engine:
    """Holds its failure, as an engine's traceback holds the engine: a cycle."""

    failure: BaseException | None = None

    def sync(self) -> None:
        with snapshots_for_the_process():
            self.failure = RuntimeError("offline")
            raise self.failure


def test_a_failure_inside_the_scope_freezes_nothing_and_stays_collectable() -> None:
    with _gc_restored():
        gc.enable()
        before = gc.get_freeze_count()
        engine = _Engine()
        alive = weakref.ref(engine)
        with contextlib.suppress(RuntimeError):
            engine.sync()
        assert gc.isenabled()
        assert gc.get_freeze_count() == before
        del engine
        gc.collect()
        assert alive() is None


def test_the_sync_command_builds_its_snapshots_in_the_program_s_scope(
    h: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered: list[str] = []

    @contextlib.contextmanager
    def scope() -> Iterator[None]:
        entered.append("scope")
        yield

    monkeypatch.setattr(sync_cmd, "snapshots_for_the_process", scope)
    config = h.write_config(tmp_path / "c.yaml")
    with _gc_restored():  # the command still freezes the heap once its modules are loaded
        result = CliRunner().invoke(main, ["sync", "-q", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert entered == ["scope"]


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

    engines: list[PairEngine] = []

    @contextlib.contextmanager
    def scope() -> Iterator[None]:
        views = engines[0].views
        seen.append((set(views.base), set(views.local), set(views.remote)))
        yield
        seen.append((set(views.base), set(views.local), set(views.remote)))

    with Store.open(h.db_path) as store:
        engines.append(h.engine(store, snapshot_scope=scope))
        assert engines[0].sync().ok
    both = {"here.txt", "there.txt"}
    assert seen == [(set(), set(), set()), (both, both, both)]
