"""Where the running daemon serves the dashboard: a small file in its control folder, so
that `syncd web` prints the address really taken (`--web` without a config, port 0)."""

from __future__ import annotations

import json
import os
from pathlib import Path

SERVED_FILE = "web.json"


def write_served(control: Path, url: str) -> None:
    control.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = control / f".{SERVED_FILE}.tmp"
    temp.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
    os.replace(temp, control / SERVED_FILE)


def remove_served(control: Path) -> None:
    path = control / SERVED_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def read_served(control: Path) -> str | None:
    """The dashboard's address, if the daemon that wrote it still runs (one killed before it
    could remove the file left an address nobody answers at)."""
    try:
        data = json.loads((control / SERVED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    pid = data.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    return str(data["url"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's: alive
    return True


def browse_host(host: str) -> str:
    """The host to put in the address a browser opens (a wildcard is not one)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
