"""One syncd folder pair against the emulator process: its config file, its token, and the
commands a user would run on it (`syncd sync`, `syncd run`), each in a fresh process."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.bench.emulator_proc import EmulatorProcess
from tests.bench.procs import ChildResult, python, run_measured, spawn

CLIENT_ID = "syncd-emulator"
CLIENT_SECRET = "syncd-emulator-secret"


class SyncdPair:
    def __init__(
        self,
        home: Path,
        emulator: EmulatorProcess,
        remote: str,
        env: Mapping[str, str],
        *,
        sync: Mapping[str, Any] | None = None,
        timeout: float = 900,
        profile_dir: Path | None = None,
        web: bool = False,
    ) -> None:
        from syncd.cloud.tokens import TokenFileStore, TokenSet

        self.home = home
        self.emulator = emulator
        self.remote = remote
        self.env = dict(env)
        self.timeout = timeout
        self.profile_dir = profile_dir
        self.local = home / "local"
        self.state_dir = home / "state"
        self.config_path = home / "config.yaml"
        self.local.mkdir(parents=True, exist_ok=True)
        token_file = self.state_dir / "token.json"
        TokenFileStore(token_file).save(
            TokenSet.from_response(emulator.token_response(), now=time.time())
        )
        info = emulator.info
        config = {
            "cloud": {
                "api_url": info["api_base"],
                "content_url": info["content_base"],
                "authorize_url": info["authorize_url"],
                "token_url": info["token_url"],
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "token_file": str(token_file),
            },
            "state_dir": str(self.state_dir),
            "sync": dict(sync or {}),
            "pairs": [{"name": "bench", "local": str(self.local), "remote": remote}],
        }
        if web:
            config["web"] = {"enabled": True, "listen": "127.0.0.1:0"}
        # JSON is YAML: no quoting rules to get wrong.
        self.config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        self._runs = 0

    def sync(self, what: str = "syncd sync") -> ChildResult:
        """`syncd sync -q` in a fresh process (under cProfile when profiling: `profiled`)."""
        self._runs += 1
        args = ("sync", "--config", str(self.config_path), "-q")
        cmd = python("-m", "syncd", *args)
        if self.profile_dir is not None:
            out = self.profile_dir / f"{self.home.name}-{self._runs}"
            cmd = python("-m", "tests.bench.profiled", str(out), *args)
        return run_measured(cmd, self.env, timeout=self.timeout).check(what)

    def start_daemon(self, log_file: Path) -> subprocess.Popen[bytes]:
        cmd = python("-m", "syncd", "run", "--config", str(self.config_path))
        with log_file.open("wb") as log:
            return spawn(cmd, self.env, stdout=log, stderr=subprocess.STDOUT)

    def daemon_status(self) -> dict[str, Any] | None:
        from syncd.compose import control_dir
        from syncd.config import load_config
        from syncd.status import STATUS_FILE

        status_file = control_dir(load_config(self.config_path)) / STATUS_FILE
        try:
            data: dict[str, Any] = json.loads(status_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        pair: dict[str, Any] | None = data.get("pairs", {}).get("bench")
        return pair

    def seed_state(self, digests: Mapping[str, str]) -> dict[str, str]:
        """Write the state a first sync of identical trees would have left: the root marker,
        the remote root and one base row per item, from a real local scan and a real listing
        (with `digests` as the hashes). Saves uploading 100,000 files to reach a synced pair.
        Returns the remote id of every item, by rel_path."""
        from syncd.compose import open_client, state_path
        from syncd.config import load_config
        from syncd.store import MARKER_KEY, REMOTE_ROOT_ID_KEY, REMOTE_ROOT_KEY, Store
        from syncd.sync import localfs
        from syncd.sync.engine import PAGE_SIZE
        from syncd.sync.excludes import Excludes
        from syncd.sync.model import BaseEntry, Kind
        from syncd.sync.remote import RemoteSide

        config = load_config(self.config_path)
        pair = config.pairs[0]
        excludes = Excludes(pair.excludes)
        with open_client(config) as client, Store.open(state_path(config, pair)) as store:
            remote = RemoteSide(client, pair.remote_root)
            root_id = remote.resolve_root(create=False)
            remote_entries = remote.scan(excludes, page_size=PAGE_SIZE).entries
            store.set_meta(MARKER_KEY, localfs.write_marker(pair.local_root))
            local_entries = localfs.scan(pair.local_root, {}, excludes).entries
            if local_entries.keys() != remote_entries.keys():
                raise RuntimeError("the local and cloud trees differ; cannot seed a base")
            base: dict[str, BaseEntry | None] = {}
            for path, local in local_entries.items():
                if local.kind is Kind.FILE:
                    local = replace(local, sha256=digests[path])
                base[path] = BaseEntry.of(local, remote_entries[path])
            store.apply(base)
            store.set_meta(REMOTE_ROOT_KEY, pair.remote_root)
            store.set_meta(REMOTE_ROOT_ID_KEY, root_id)
        return {path: entry.id for path, entry in remote_entries.items()}


def summary_says_nothing(result: ChildResult) -> bool:
    """`syncd sync` prints `<pair>: nothing to do` when a pass changed nothing on either
    side (at most it recorded what both already agree on)."""
    return any(line.strip() == "bench: nothing to do" for line in result.stdout.splitlines())
