"""A real `syncd run` (with or without its dashboard) against the emulator, in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from syncd.compose import control_dir
from syncd.config import load_config
from syncd.emulator import Emulator
from syncd.sync.localfs import STATE_DIR_NAME
from tests.cloud.helpers import seed_token

# Generous: the machine is shared and busy; every wait ends as soon as its state is reached.
DEADLINE_S = 60.0


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


class DaemonProcess:
    """`syncd run [--web]` on pairs `<home>/<name>` <-> cloud `/sync-<name>` (app folder),
    polling every second unless `sync` says otherwise."""

    def __init__(
        self,
        emu: Emulator,
        home: Path,
        pairs: tuple[str, ...],
        sync: dict[str, str] | None = None,
        *,
        web: bool = True,
    ) -> None:
        self.emu = emu
        self.home = home
        self.pairs = pairs
        self.web = web
        self.config = home / "config.yaml"
        self.log = home / "daemon.log"
        token_file = home / "state" / "token.json"
        seed_token(emu, token_file)
        sync = {"poll_interval": "1", "debounce": "0.2", **(sync or {})}
        settings = "".join(f"  {key}: {value}\n" for key, value in sync.items())
        listed = "".join(
            f"  - {{name: {name}, local: {home / name}, remote: /sync-{name}}}\n" for name in pairs
        )
        self.config.write_text(
            f"cloud:\n  api_url: {emu.api_base}\n  content_url: {emu.content_base}\n"
            f"  token_url: {emu.token_url}\n  client_id: syncd-emulator\n"
            f"  client_secret: syncd-emulator-secret\n  token_file: {token_file}\n"
            f"state_dir: {home / 'state'}\n"
            f"sync:\n{settings}"
            f"pairs:\n{listed}" + ('web:\n  listen: "127.0.0.1:0"\n' if web else ""),
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def local(self, pair: str) -> Path:
        return self.home / pair

    def start(self) -> None:
        # No NOTIFY_SOCKET: nobody would read it, and a full one blocks the daemon.
        environ = {
            k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")
        }
        command = [sys.executable, "-m", "syncd", "run", "--config", str(self.config)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                command + (["--web"] if self.web else []),
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        ready = control_dir(load_config(self.config)) / ("web.json" if self.web else "daemon.pid")
        wait_for(lambda: self._alive() and ready.exists(), "the daemon to start")
        if self.web:
            self.url = self.syncd("web", "--no-browser").stdout.strip()

    def _alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"the daemon exited with {self.proc.returncode}:\n{self.output}")
        return True

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def base(self) -> str:
        return self.url.split("?", 1)[0]

    def syncd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "syncd", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
            check=True,
        )

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    # --- both sides ----------------------------------------------------------------------

    def local_tree(self, pair: str) -> dict[str, bytes]:
        root = self.local(pair)
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in root.rglob("*")
            if path.is_file() and STATE_DIR_NAME not in path.relative_to(root).parts
        }

    def cloud_tree(self, pair: str) -> dict[str, bytes]:
        prefix = f"sync-{pair}/"
        return {
            path[len(prefix) :]: self.emu.read_file(path)
            for path, entry in self.emu.listing().items()
            if path.startswith(prefix) and entry.kind == "file"
        }
