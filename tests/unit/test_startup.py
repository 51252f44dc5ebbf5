"""What `syncd --help` and `syncd status` import: only what they use, so they start fast.

The time itself is a benchmark figure (`python -m tests.bench --only startup`); here, in a
subprocess each, is what decides it: which modules get imported (`python -X importtime`
lists every one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from syncd.cli import COMMANDS, main

# Each costs a tenth of a second or more of start-up, and neither command needs it.
HEAVY = ("sqlalchemy", "alembic", "httpx", "authlib", "rich", "watchdog", "stamina")


def imported_modules(args: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules `syncd ARGS` imports, and its stdout."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "syncd", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    modules.discard("imported package")  # the header line
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return modules, result.stdout


def heavy_among(modules: set[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in heavy)


def test_help_lists_every_command_without_importing_one() -> None:
    modules, output = imported_modules(["--help"])
    assert heavy_among(modules, (*HEAVY, "pydantic", "yaml")) == []
    assert sorted(m for m in modules if m.endswith("_cmd")) == []
    for name in COMMANDS:
        assert f"\n  {name} " in output, output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listed_summary_is_the_command_s_own(name: str) -> None:
    """The group lists each command from its table; the table says what the command's own
    docstring says (so `--help` needs no import, and cannot drift)."""
    command = main.get_command(click.Context(main), name)
    assert command is not None
    assert COMMANDS[name].summary == command.get_short_help_str(limit=1000)


def test_completing_a_command_name_imports_no_command(tmp_path: Path) -> None:
    env = {**os.environ, "_SYNCD_COMPLETE": "bash_complete", "COMP_WORDS": "syncd st"}
    env["COMP_CWORD"] = "1"
    modules, output = imported_modules([], env)
    assert output.split() == ["plain,status"]
    assert sorted(m for m in modules if m.endswith("_cmd")) == []


def test_status_reads_the_state_without_sqlalchemy_or_the_cloud_client(tmp_path: Path) -> None:
    from syncd.store import Store

    local = tmp_path / "Docs"
    (local / "notes").mkdir(parents=True)
    (local / "notes" / "a (conflicted copy).txt").write_text("mine")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\npairs:\n  - local: {local}\n    remote: /Docs\n"
    )
    with Store.open(tmp_path / "state" / "pairs" / "Docs" / "state.db") as store:
        store.set_meta("last_sync", "1765124436")
        store.record_failure("notes/b.txt", "upload", "Permission denied", retry_at=4e9)
        store.add_conflict("notes/a (conflicted copy).txt", "notes/a.txt", "local")

    modules, output = imported_modules(["status", "--config", str(config)])
    assert heavy_among(modules) == []
    assert "error: notes/b.txt: upload: Permission denied" in output
    assert "conflicted copy: notes/a (conflicted copy).txt" in output
