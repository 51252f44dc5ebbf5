"""A real `syncd sync` from an installed wheel: `syncd emulator` in the background, a config
pointing at it, a token, a file on each side; both must end up on both sides.

Run by the Python of the venv the wheel went into (`.ci/wheel-check`), from outside the
source tree, so that every import and command is the installed package's.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import syncd
from syncd.cloud.tokens import TokenFileStore, TokenSet

BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 120
COMMAND_TIMEOUT_S = 300


def syncd_command(*args: str) -> str:
    result = subprocess.run(
        [str(BIN / "syncd"), *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise SystemExit(f"syncd {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def start_emulator(data: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [str(BIN / "syncd"), "emulator", "--port", "0", "--json", "--data", str(data)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT_S)
    line = proc.stdout.readline() if ready else ""
    if not line:
        proc.kill()
        raise SystemExit("syncd emulator did not start")
    return proc, json.loads(line)


def write_config(home: Path, emulator: dict[str, str]) -> Path:
    state = home / "state"
    response = httpx.post(f"{emulator['admin_url']}/token", timeout=30)
    response.raise_for_status()
    TokenFileStore(state / "token.json").save(
        TokenSet.from_response(response.json(), now=time.time())
    )
    config = {
        "cloud": {
            "api_url": emulator["api_base"],
            "content_url": emulator["content_base"],
            "authorize_url": emulator["authorize_url"],
            "token_url": emulator["token_url"],
            "client_id": emulator["client_id"],
            "client_secret": emulator["client_secret"],
        },
        "state_dir": str(state),
        "pairs": [{"local": str(home / "local"), "remote": "/ci"}],
    }
    path = home / "config.yaml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def main() -> None:
    installed = Path(syncd.__file__).resolve()
    if not installed.is_relative_to(Path(sys.prefix).resolve()):
        raise SystemExit(f"syncd was imported from {installed}, not from the installed wheel")
    home = Path(tempfile.mkdtemp(prefix="syncd-wheel-"))
    proc, emulator = start_emulator(home / "cloud")
    try:
        config = str(write_config(home, emulator))
        (home / "local").mkdir()
        (home / "local" / "from-here.txt").write_text("written here\n", encoding="utf-8")
        upload = home / "upload" / "from-cloud.txt"
        upload.parent.mkdir()
        upload.write_text("written in the cloud\n", encoding="utf-8")
        syncd_command("cloud", "mkdir", "--config", config, "/ci")
        syncd_command("cloud", "put", "--config", config, str(upload), "/ci")
        print(syncd_command("sync", "--config", config), end="")
        arrived = (home / "local" / "from-cloud.txt").read_text(encoding="utf-8")
        assert arrived == "written in the cloud\n", arrived
        syncd_command("cloud", "get", "--config", config, "/ci/from-here.txt", str(home / "got"))
        sent = (home / "got").read_text(encoding="utf-8")
        assert sent == "written here\n", sent
        again = syncd_command("sync", "--config", config)
        print(again, end="")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)
    print(f"wheel smoke test passed on Python {sys.version.split()[0]} ({installed.parent})")


if __name__ == "__main__":
    os.umask(0o077)
    main()
