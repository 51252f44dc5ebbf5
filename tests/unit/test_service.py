"""The systemd unit passes `systemd-analyze verify` without a single warning."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from syncd import service


def test_rendered_unit_runs_this_installation(tmp_path: Path) -> None:
    unit = service.render_unit(tmp_path / "config.yaml")
    assert "Type=notify" in unit
    assert "RestartPreventExitStatus=78" in unit
    assert "WatchdogSec=" in unit
    exec_line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_line.endswith(f"run --config {tmp_path / 'config.yaml'}")
    assert Path(exec_line.removeprefix("ExecStart=").split()[0]).exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_unit_verifies_cleanly(tmp_path: Path) -> None:
    written = service.install(tmp_path / "config.yaml", enable=False, target=tmp_path / "units")
    path = tmp_path / "units" / service.UNIT_NAME
    assert written == [f"wrote {path}"]
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_LEVEL": "warning"}
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    # Unknown keys and bad values are warnings with exit code 0: any output is a failure.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_uninstall_removes_the_unit(tmp_path: Path) -> None:
    service.install(None, enable=False, target=tmp_path)
    assert service.uninstall(target=tmp_path) == [f"removed {tmp_path / service.UNIT_NAME}"]
    assert not (tmp_path / service.UNIT_NAME).exists()


def test_a_second_account_gets_its_own_unit(tmp_path: Path) -> None:
    service.install(tmp_path / "work.yaml", enable=False, target=tmp_path)
    written = service.install(tmp_path / "home.yaml", enable=False, target=tmp_path, name="home")
    assert written == [f"wrote {tmp_path / 'syncd-home.service'}"]
    first = (tmp_path / "syncd.service").read_text(encoding="utf-8")
    second = (tmp_path / "syncd-home.service").read_text(encoding="utf-8")
    assert f"--config {tmp_path / 'work.yaml'}" in first
    assert f"--config {tmp_path / 'home.yaml'}" in second
    assert "Description=syncd (home): " in second and "Description=syncd: " in first
    assert service.uninstall(target=tmp_path, name="home") == [
        f"removed {tmp_path / 'syncd-home.service'}"
    ]
    assert (tmp_path / "syncd.service").exists()
    with pytest.raises(ValueError, match="may only hold"):
        service.install(None, enable=False, target=tmp_path, name="../evil")
