"""Commands that delete for good ask first on a terminal, and take `--yes` otherwise: off a
terminal, without `--yes`, they refuse (exit 2) and touch nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from syncd.cli import main
from syncd.sync import localfs
from tests.integration.harness import Harness
from tests.integration.terminal import on_a_terminal


def _with_trash(h: Harness) -> Path:
    h.write("a.txt", "a")
    h.converge()
    trashed = localfs.state_dir(h.root) / "trash" / "2000-01-01T000000" / "old.txt"
    trashed.parent.mkdir(parents=True)
    trashed.write_text("old")
    return trashed


def cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def test_trash_empty_off_a_terminal_needs_yes(h: Harness, tmp_path: Path) -> None:
    trashed = _with_trash(h)
    config = h.write_config(tmp_path / "config.yaml")
    refused = cli(config, "trash", "empty")
    assert refused.exit_code == 2, refused.output
    assert "--yes" in refused.output and "no terminal to ask on" in refused.output
    assert trashed.exists()
    done = cli(config, "trash", "empty", "--yes")
    assert done.exit_code == 0, done.output
    assert done.output == "pair: removed 1 trash folder\n"
    assert not trashed.exists()


def test_cloud_rm_off_a_terminal_needs_yes_for_a_file_too(h: Harness, tmp_path: Path) -> None:
    h.remote_write("doomed.txt", "d")
    config = h.write_config(tmp_path / "config.yaml")
    refused = cli(config, "cloud", "rm", "/sync/doomed.txt")
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert h.remote_read("doomed.txt") == b"d"
    assert cli(config, "cloud", "rm", "-y", "/sync/doomed.txt").exit_code == 0
    assert "sync/doomed.txt" not in h.emulator.listing()


def test_reset_off_a_terminal_needs_yes(h: Harness, tmp_path: Path) -> None:
    h.write("a.txt", "a")
    h.converge()
    config = h.write_config(tmp_path / "config.yaml")
    refused = cli(config, "reset")
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert h.db_path.exists()
    assert cli(config, "reset", "--yes").exit_code == 0
    assert not h.db_path.exists()


def test_trash_empty_asks_on_a_terminal(h: Harness, tmp_path: Path) -> None:
    trashed = _with_trash(h)
    config = str(h.write_config(tmp_path / "config.yaml"))
    question = b"[y/N]: "
    code, shown = on_a_terminal(["trash", "empty", "--config", config], [(question, b"n\n")])
    assert code == 1 and "Delete 1 item in the trash of pair for good?" in shown, shown
    assert trashed.exists()
    code, shown = on_a_terminal(["trash", "empty", "--config", config], [(question, b"y\n")])
    assert code == 0 and "pair: removed 1 trash folder" in shown, shown
    assert not trashed.exists()
