"""Nothing of syncd's own leaves the machine: even when a sync root holds syncd's state, its
token, its log or its config (the config refuses that; this is the wall behind it), the
scan never offers them for upload, and the cloud can never write over them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from syncd.compose import private_paths, state_path
from syncd.config import load_config
from syncd.store import Store
from syncd.sync.engine import PairEngine
from syncd.sync.remote import RemoteSide
from tests.integration.harness import REMOTE_ROOT, Harness


def test_syncd_s_own_files_inside_a_root_are_never_synced(h: Harness, tmp_path: Path) -> None:
    home = h.root  # the pair syncs a whole home folder
    config = load_config(h.write_config(tmp_path / "outside.yaml"))
    state_dir = home / ".local/state/syncd"
    config_file = home / ".config/syncd/config.yaml"
    log_file = home / "syncd.log"
    config = dataclasses.replace(
        config,
        state_dir=state_dir,
        cloud=dataclasses.replace(config.cloud, token_file=state_dir / "token.json"),
        logging=dataclasses.replace(config.logging, file=log_file, backups=2),
        source=config_file,
    )
    (pair,) = config.pairs
    secrets = {
        ".local/state/syncd/token.json": '{"refresh_token": "secret"}',
        ".config/syncd/config.yaml": "cloud: {client_secret: secret}",
        "syncd.log": "a log line",
        "syncd.log.1": "an older log line",
        "syncd.log.2": "an even older log line",
    }
    for rel_path, text in secrets.items():
        h.write(rel_path, text)
    h.write("notes.txt", "the user's own file")
    # The cloud offers a file where the local token is: it must not come down over it.
    h.remote_write(".local/state/syncd/token.json", "a token planted in the cloud")
    for _ in range(2):  # the second pass runs with the state DB and its WAL present
        with Store.open(state_path(config, pair)) as store:
            # Built by hand: `make_engine` checks the roots first (the first wall), and
            # this is the wall behind it.
            engine = PairEngine(
                pair,
                config.sync,
                store,
                RemoteSide(h.client, pair.remote_root),
                private_paths=private_paths(config, store.path),
            )
            report = engine.sync()
        assert report.ok, (report.failures, report.offline)
    cloud_files = {path for path, entry in h.emulator.listing().items() if entry.kind == "file"}
    assert cloud_files == {
        f"{REMOTE_ROOT}/notes.txt",
        f"{REMOTE_ROOT}/.local/state/syncd/token.json",  # the planted one, untouched
    }
    assert state_path(config, pair).exists()  # the state DB is inside the root, and stayed home
    for rel_path, text in secrets.items():
        assert h.read(rel_path).decode() == text, rel_path
    assert h.remote_read(".local/state/syncd/token.json") == b"a token planted in the cloud"
