"""The systemd user unit: render it for this installation, install or remove it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import platformdirs

UNIT_NAME = "syncd.service"


def unit_dir() -> Path:
    # $XDG_CONFIG_HOME/systemd/user is where `systemctl --user` looks for user units.
    return platformdirs.user_config_path("systemd") / "user"


def exec_start(config: Path | None) -> str:
    """The command the unit runs: the installed `syncd` itself, so it is the main PID."""
    script = Path(sys.executable).parent / "syncd"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "syncd"]
    argv.append("run")
    if config is not None:
        argv += ["--config", str(config.resolve())]
    return shlex.join(argv)


def render_unit(config: Path | None) -> str:
    template = (resources.files("syncd") / "resources" / "syncd.service.in").read_text("utf-8")
    return template.replace("@EXEC_START@", exec_start(config))


def _systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemctl", "--user", *args], capture_output=True, text=True, check=False
    )


def install(config: Path | None, *, enable: bool, target: Path | None = None) -> list[str]:
    """Write the unit; with `enable`, reload systemd and start it. Returns what was done."""
    folder = target or unit_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / UNIT_NAME
    path.write_text(render_unit(config), encoding="utf-8")
    done = [f"wrote {path}"]
    if enable:
        if shutil.which("systemctl") is None:
            raise OSError("systemctl is not available: enable the unit by hand")
        for args in (("daemon-reload",), ("enable", "--now", UNIT_NAME)):
            result = _systemctl(*args)
            if result.returncode != 0:
                raise OSError(f"systemctl --user {' '.join(args)}: {result.stderr.strip()}")
            done.append(f"systemctl --user {' '.join(args)}")
    return done


def uninstall(*, target: Path | None = None) -> list[str]:
    path = (target or unit_dir()) / UNIT_NAME
    done: list[str] = []
    managed = shutil.which("systemctl") is not None and target is None
    if managed and _systemctl("disable", "--now", UNIT_NAME).returncode == 0:
        done.append(f"systemctl --user disable --now {UNIT_NAME}")
    if path.exists():
        path.unlink()
        done.append(f"removed {path}")
    if managed:
        _systemctl("daemon-reload")
    return done
