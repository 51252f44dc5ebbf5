"""The README's first command: `syncd demo` runs with no account and no network."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from syncd.cli import main


def test_demo_shows_sync_both_ways_and_cleans_up(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--keep", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert (  # in the words and units of every other summary
        "syncd sync: 2 uploaded, 2 downloaded, 2 folders made here, 1 folder made in the "
        "cloud; 34 B up, 52 B down\n"
    ) in out
    assert "it reached the cloud" in out and "it reached this computer" in out
    local = tmp_path / "demo" / "local"
    assert (
        local / "shared" / "report.txt"
    ).read_bytes() == b"quarterly report, edited on a phone\n"
    assert (local / "notes" / "todo.txt").read_text() == "buy milk\nwalk the dog\n"
