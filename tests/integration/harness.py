"""A folder pair against the emulator: a real temporary folder, the real client and store.

Every `sync()` builds a fresh engine (a new process, as far as state goes), so each scenario
also exercises restarts.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import yaml

from syncd.cloud.client import CloudClient
from syncd.emulator import Emulator
from syncd.store import Store
from syncd.sync.engine import PairEngine, SyncReport
from syncd.sync.localfs import PARTIAL_SUFFIX, STATE_DIR_NAME
from syncd.sync.options import PairOptions, SyncOptions
from syncd.sync.remote import RemoteSide

DIR = "<dir>"
REMOTE_ROOT = "sync"


class Harness:
    def __init__(
        self,
        tmp_path: Path,
        emulator: Emulator,
        client: CloudClient,
        *,
        name: str = "pair",
        excludes: tuple[str, ...] = (),
        conflict_policy: str = "keep-both",
        options: SyncOptions | None = None,
        page_size: int = 5,
    ) -> None:
        self.emulator = emulator
        # Small pages, so that every listing of a test tree spans several.
        self.page_size = page_size
        self.client = client
        self.root = tmp_path / "local"
        self.state_dir = tmp_path / "state"
        self.db_path = self.state_dir / "pairs" / name / "state.db"  # as compose.state_path
        self.pair = PairOptions(
            name=name,
            local_root=self.root,
            remote_root="/" + REMOTE_ROOT,
            excludes=excludes,
            conflict_policy=conflict_policy,  # type: ignore[arg-type]
        )
        self.options = options or SyncOptions(transfers=3)
        self.clock_offset = 0.0
        # The wall time that labels conflicted copies and trash slots: fixed, so that tests
        # can name the copies they expect.
        self.now: Callable[[], datetime] = lambda: datetime(2026, 11, 26, 17, 55, 2)

    # --- running -------------------------------------------------------------------------

    def engine(self, store: Store) -> PairEngine:
        return PairEngine(
            self.pair,
            self.options,
            store,
            RemoteSide(self.client, self.pair.remote_root),
            hostname="box",
            now=self.now,
            # Retry times of failed paths follow this clock: a test moves it on instead of
            # waiting out the backoff.
            clock=lambda: time.time() + self.clock_offset,
            page_size=self.page_size,
        )

    def sync(self, **kwargs: object) -> SyncReport:
        with Store.open(self.db_path) as store:
            return self.engine(store).sync(**kwargs)  # type: ignore[arg-type]

    def converge(self, **kwargs: object) -> SyncReport:
        report = self.sync(**kwargs)
        assert report.ok, (report.failures, report.offline)
        local, remote = self.local_tree(), self.remote_tree()
        assert local == remote, {
            "local only": local.items() - remote.items(),
            "cloud only": remote.items() - local.items(),
        }
        again = self.sync(dry_run=True)
        assert again.plan is not None and not again.plan, again.plan
        return report

    # --- the local side ------------------------------------------------------------------

    def write(self, rel_path: str, data: bytes | str) -> Path:
        path = self.root / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def read(self, rel_path: str) -> bytes:
        return (self.root / rel_path).read_bytes()

    def local_tree(self) -> dict[str, bytes | str]:
        tree, partials = read_local_tree(self.root)
        if partials:
            raise AssertionError(f"partial left behind: {partials[0]}")
        return tree

    def write_config(
        self,
        path: Path,
        *,
        state_dir: Path | None = None,
        sync: dict[str, object] | None = None,
    ) -> Path:
        """A config file for `syncd` subprocesses: this pair, its cloud and its state."""
        settings = self.client.settings
        config: dict[str, object] = {
            "cloud": {
                "api_url": settings.api_url,
                "content_url": settings.content_url,
                "token_url": settings.token_url,
                "client_id": settings.client_id,
                "client_secret": settings.client_secret,
                "token_file": str(settings.token_file),
            },
            "state_dir": str(state_dir or self.state_dir),
            "pairs": [
                {"name": self.pair.name, "local": str(self.root), "remote": self.pair.remote_root}
            ],
        }
        if sync:
            config["sync"] = sync
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    # --- the remote side -----------------------------------------------------------------

    def remote_write(
        self, rel_path: str, data: bytes | str, *, when: datetime | None = None
    ) -> None:
        payload = data.encode() if isinstance(data, str) else data
        self.emulator.put_file(f"{REMOTE_ROOT}/{rel_path}", payload, created=when, modified=when)

    def remote_read(self, rel_path: str) -> bytes:
        return self.emulator.read_file(f"{REMOTE_ROOT}/{rel_path}")

    def remote_tree(self) -> dict[str, bytes | str]:
        tree: dict[str, bytes | str] = {}
        prefix = REMOTE_ROOT + "/"
        for path, entry in self.emulator.listing().items():
            if not path.startswith(prefix):
                continue
            rel = path[len(prefix) :]
            tree[rel] = DIR if entry.kind == "folder" else self.emulator.read_file(path)
        return tree


def walk_files(root: Path) -> Iterator[Path]:
    for folder, _, files in os.walk(root):
        for name in files:
            yield Path(folder) / name


def read_local_tree(root: Path) -> tuple[dict[str, bytes | str], list[str]]:
    """The synced tree under `root` (our `.syncd` folder left out) and, apart, the partial
    downloads found in it."""
    tree: dict[str, bytes | str] = {}
    partials: list[str] = []
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        rel = "" if rel == "." else rel + "/"
        if not rel:
            dirs[:] = [d for d in dirs if d != STATE_DIR_NAME]
        for name in dirs:
            tree[rel + name] = DIR
        for name in files:
            if name.endswith(PARTIAL_SUFFIX):
                partials.append(rel + name)
            else:
                tree[rel + name] = (Path(folder) / name).read_bytes()
    return tree, sorted(partials)


def run_syncd(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`syncd ARGS --config CONFIG` as its own process, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextlib.contextmanager
def harness_with_quota(tmp_path: Path, quota_bytes: int) -> Iterator[Harness]:
    """A harness whose cloud holds at most `quota_bytes` (its own emulator and client)."""
    from tests.cloud.helpers import make_settings, seed_token

    with Emulator(quota_bytes=quota_bytes) as emulator:
        token_file = tmp_path / "token.json"
        seed_token(emulator, token_file)
        settings = make_settings(emulator, "http://127.0.0.1:8976/callback", token_file)
        with CloudClient.from_settings(settings) as client:
            yield Harness(tmp_path, emulator, client)
