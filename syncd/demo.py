"""`syncd demo`: the whole product in a minute, with no account and no network.

It starts the emulator in this process on a free port, logs in to it, makes a temporary local
folder, puts different files on each side, runs one sync, then starts the daemon and edits a
file on each side to show the changes flow across by themselves. Everything is removed at the
end unless asked to keep it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from syncd import journal
from syncd.cloud.client import CloudClient
from syncd.cloud.settings import CloudSettings
from syncd.compose import control_dir, engine_factory, make_engine, make_limits, open_store
from syncd.config import Config, PairConfig
from syncd.emulator import Emulator
from syncd.newconfig import save_token
from syncd.sdnotify import Notifier
from syncd.sync.options import SyncOptions

REMOTE = "Demo"
Echo = Callable[[str], None]


def _content(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"({len(data)} bytes)"
    lines = text.strip().splitlines() or [""]
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return f'"{lines[0][:40]}"{more}'


def _tree(paths: dict[str, bytes | None]) -> list[str]:
    lines = []
    for path in sorted(paths):
        data = paths[path]
        depth = path.count("/")
        name = path.rsplit("/", 1)[-1]
        shown = f"{name}/" if data is None else f"{name}  {_content(data)}"
        lines.append("    " + "  " * depth + shown)
    return lines or ["    (empty)"]


def local_tree(root: Path) -> dict[str, bytes | None]:
    tree: dict[str, bytes | None] = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        rel = "" if rel == "." else rel
        dirs[:] = sorted(d for d in dirs if not (rel == "" and d == ".syncd"))
        for d in dirs:
            tree[f"{rel}/{d}".lstrip("/")] = None
        for f in files:
            tree[f"{rel}/{f}".lstrip("/")] = (Path(folder) / f).read_bytes()
    return tree


def remote_tree(emulator: Emulator) -> dict[str, bytes | None]:
    tree: dict[str, bytes | None] = {}
    prefix = REMOTE + "/"
    for path, entry in emulator.listing().items():
        if path.startswith(prefix):
            rel = path[len(prefix) :]
            tree[rel] = None if entry.kind == "folder" else emulator.read_file(path)
    return tree


def show(echo: Echo, title: str, root: Path, emulator: Emulator) -> None:
    echo(f"\n{title}")
    echo(f"  local folder {root}:")
    for line in _tree(local_tree(root)):
        echo(line)
    echo(f"  cloud folder /{REMOTE}:")
    for line in _tree(remote_tree(emulator)):
        echo(line)


def wait_until(predicate: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError("the change did not arrive in time")


def run_demo(echo: Echo, *, keep: Path | None = None) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="syncd-demo-")) if keep is None else keep
    scratch.mkdir(parents=True, exist_ok=True)
    with Emulator(scratch / "emulator") as emulator:
        echo(f"Started the Orange Cloud emulator at {emulator.origin}")
        token_file = scratch / "state" / "token.json"
        save_token(token_file, emulator.issue_token())
        echo("Logged in to it (OAuth tokens saved with mode 0600)")
        config = Config(
            cloud=CloudSettings(
                client_id="syncd-emulator",
                client_secret="syncd-emulator-secret",
                redirect_uri="http://127.0.0.1:8976/callback",
                token_file=token_file,
                api_url=emulator.api_base,
                content_url=emulator.content_base,
                authorize_url=emulator.authorize_url,
                token_url=emulator.token_url,
            ),
            state_dir=scratch / "state",
            pairs=(PairConfig("demo", scratch / "local", "/" + REMOTE),),
            sync=replace(SyncOptions(), poll_interval_s=1.0, debounce_s=0.3),
        )
        root = config.pairs[0].local_root
        _seed(root, emulator)
        show(echo, "Before the first sync:", root, emulator)
        with CloudClient.from_settings(config.cloud) as client:
            with open_store(config, config.pairs[0]) as store:
                engine = make_engine(
                    config, config.pairs[0], store, client, limits=make_limits(config)
                )
                report = engine.sync()
            echo(f"\nsyncd sync: {journal.report_line(report)}")
            show(echo, "After the first sync (both sides hold everything):", root, emulator)
            _live(echo, config, client, emulator, root)
    if keep is None:
        _remove(scratch)
    else:
        echo(f"\nKept everything in {scratch}")
    return 0


def _seed(root: Path, emulator: Emulator) -> None:
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "todo.txt").write_text("buy milk\n")
    (root / "hello.txt").write_text("hello from this computer\n")
    emulator.put_file(f"{REMOTE}/shared/report.txt", b"quarterly report, from the cloud\n")
    emulator.put_file(f"{REMOTE}/photos/cat.jpg", b"\xff\xd8\xff\xe0 (a small jpeg)")


def _live(echo: Echo, config: Config, client: CloudClient, emulator: Emulator, root: Path) -> None:
    from syncd.daemon import Daemon

    daemon = Daemon(
        config,
        client,
        notifier=Notifier({}),
        install_signals=False,
        engine_factory=engine_factory(config, client),
        control=control_dir(config),
    )
    thread = threading.Thread(target=daemon.run, name="syncd-demo-daemon")
    thread.start()
    try:
        echo("\nStarted the daemon (`syncd run`): it watches the folder and polls the cloud.")
        wait_until(lambda: any(p.runner.status.last_sync for p in daemon._pairs), 30)

        (root / "notes" / "todo.txt").write_text("buy milk\nwalk the dog\n")
        echo("Edited notes/todo.txt on this computer ...")
        took = wait_until(
            lambda: remote_tree(emulator).get("notes/todo.txt") == b"buy milk\nwalk the dog\n",
            30,
        )
        echo(f"  ... it reached the cloud {took:.1f} s later, with no command run.")

        later = datetime.now() + timedelta(minutes=1)
        emulator.put_file(
            f"{REMOTE}/shared/report.txt", b"quarterly report, edited on a phone\n", created=later
        )
        echo("Edited shared/report.txt in the cloud (as another device would) ...")
        took = wait_until(
            lambda: (
                (root / "shared" / "report.txt").exists()
                and (root / "shared" / "report.txt").read_bytes()
                == b"quarterly report, edited on a phone\n"
            ),
            30,
        )
        echo(f"  ... it reached this computer {took:.1f} s later.")
    finally:
        daemon.stop.set()
        thread.join(timeout=15)
    show(echo, "Both sides after the live edits:", root, emulator)


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
