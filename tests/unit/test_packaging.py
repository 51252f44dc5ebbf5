"""What the wheel ships beside the code: the commented example config, which
`syncd init --example` prints from an installed syncd as from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from click.testing import CliRunner

from syncd.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.yaml").read_text(encoding="utf-8")


def test_init_example_prints_the_example_config() -> None:
    result = CliRunner().invoke(main, ["init", "--example"])
    assert result.exit_code == 0, result.output
    assert result.output == EXAMPLE


def test_the_wheel_ships_the_example_config_and_prints_it_installed(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("syncd-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("syncd/resources/config.example.yaml").decode("utf-8")
        archive.extractall(tmp_path / "installed")
    assert shipped == EXAMPLE
    # The unpacked wheel first on the path, run from elsewhere: no checkout to fall back on.
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "installed")}
    printed = subprocess.run(
        [sys.executable, "-c", "import syncd, sys; print(syncd.__file__, file=sys.stderr)\n"
         "from syncd.cli import run; sys.argv = ['syncd', 'init', '--example']; run()"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    assert printed.stderr.startswith(str(tmp_path / "installed")), printed.stderr
    assert printed.stdout == EXAMPLE
