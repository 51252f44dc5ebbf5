"""The systemd user unit: render it for this installation, install or remove it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import platformdirs

UNIT_NAME = "syncd.service"
_NAME = re.compile(r"[A-Za-z0-9._-]+")


def unit_name(name: str | None = None) -> str:
    """`syncd.service`, or `syncd-NAME.service` for a second account's config (so that
    installing it does not overwrite the first one's unit)."""
    if name is None:
        return UNIT_NAME
    if not _NAME.fullmatch(name):
        raise ValueError(f"service name {name!r} may only hold letters, digits, '.', '_', '-'")
    return f"syncd-{name}.service"


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


def render_unit(config: Path | None, name: str | None = None) -> str:
    template = (resources.files("syncd") / "resources" / "syncd.service.in").read_text("utf-8")
    label = f" ({name})" if name else ""
    return template.replace("@EXEC_START@", exec_start(config)).replace("@LABEL@", label)


def _systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemctl", "--user", *args], capture_output=True, text=True, check=False
    )


def install(
    config: Path | None, *, enable: bool, target: Path | None = None, name: str | None = None
) -> list[str]:
    """Write the unit; with `enable`, reload systemd and start it. Returns what was done."""
    unit = unit_name(name)
    folder = target or unit_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / unit
    path.write_text(render_unit(config, name), encoding="utf-8")
    done = [f"wrote {path}"]
    if enable:
        if shutil.which("systemctl") is None:
            raise OSError("systemctl is not available: enable the unit by hand")
        for args in (("daemon-reload",), ("enable", "--now", unit)):
            result = _systemctl(*args)
            if result.returncode != 0:
                raise OSError(f"systemctl --user {' '.join(args)}: {result.stderr.strip()}")
            done.append(f"systemctl --user {' '.join(args)}")
    return done


def uninstall(*, target: Path | None = None, name: str | None = None) -> list[str]:
    unit = unit_name(name)
    path = (target or unit_dir()) / unit
    done: list[str] = []
    managed = shutil.which("systemctl") is not None and target is None
    if managed and _systemctl("disable", "--now", unit).returncode == 0:
        done.append(f"systemctl --user disable --now {unit}")
    if path.exists():
        path.unlink()
        done.append(f"removed {path}")
    if managed:
        _systemctl("daemon-reload")
    return done
