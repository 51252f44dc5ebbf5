"""The composition root: build clients, stores and engines from a `Config`.

Commands and the daemon construct everything through here, so the pieces themselves take
their dependencies as arguments and never reach for globals.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from syncd import __version__
from syncd.cloud.client import CloudClient
from syncd.config import Config, PairConfig, check_pair_roots
from syncd.locations import control_dir, state_path
from syncd.pairlock import PairLock
from syncd.store import Store
from syncd.sync.engine import PairEngine
from syncd.sync.executor import Limits
from syncd.sync.io import TokenBucket
from syncd.sync.remote import ListingCache, RemoteSide
from syncd.sync.report import Observers

__all__ = [
    "control_dir",
    "make_engine",
    "make_limits",
    "open_client",
    "open_store",
    "private_paths",
    "state_path",
]


def open_client(config: Config) -> CloudClient:
    # One connection per transfer thread, plus room for listings and the poller.
    return CloudClient.from_settings(config.cloud, max_connections=config.sync.transfers + 4)


def make_limits(config: Config) -> Limits:
    """The bandwidth limits of `syncd sync` and `syncd run` alike (a running daemon then
    follows `syncd limit`: `controls.limits_in_force`)."""
    return Limits(
        up=TokenBucket(config.sync.upload_limit), down=TokenBucket(config.sync.download_limit)
    )


@contextmanager
def open_store(config: Config, pair: PairConfig, *, dry_run: bool = False) -> Iterator[Store]:
    """The pair's store; for a dry run, a throw-away copy, so nothing real is touched."""
    check_pair_roots(config)  # the disk as it is at this start, not as it was at load
    path = state_path(config, pair)
    if not dry_run:
        with PairLock(path, pair.name), Store.open(path) as store:
            yield store
        return
    with tempfile.TemporaryDirectory(prefix="syncd-dry-run-") as scratch:
        copy = Path(scratch) / "state.db"
        for suffix in ("", "-wal"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                shutil.copy2(source, copy.with_name(copy.name + suffix))
        with Store.open(copy) as store:
            yield store


def make_engine(
    config: Config,
    pair: PairConfig,
    store: Store,
    client: CloudClient,
    *,
    limits: Limits,
    observers: Observers | None = None,
    stop: threading.Event | None = None,
    daemon: bool = False,
    snapshot_scope: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> PairEngine:
    """The engine of `pair`, for `syncd sync` or (with `daemon`) for `syncd run`."""
    check_pair_roots(config)  # where the daemon starts its pairs, too
    remote = RemoteSide(
        client,
        pair.remote_root,
        # Beside the state DB (a dry run's throw-away copy gets its own: it writes nothing).
        listing_cache=ListingCache(store.path.with_name("listing.cache"), __version__),
        remember_listings=daemon,
    )
    return PairEngine(
        pair,
        config.sync,
        store,
        remote,
        limits=limits,
        observers=observers,
        stop=stop,
        snapshot_scope=snapshot_scope,
        private_paths=private_paths(config, store.path),
    )


def engine_factory(
    config: Config, client: CloudClient
) -> Callable[[PairConfig, Store, threading.Event, Limits, Observers], PairEngine]:
    """How the daemon builds each pair's engine (once the runner knows its observers)."""

    def make(
        pair: PairConfig,
        store: Store,
        stop: threading.Event,
        limits: Limits,
        observers: Observers,
    ) -> PairEngine:
        return make_engine(
            config, pair, store, client, limits=limits, observers=observers, stop=stop, daemon=True
        )

    return make


def private_paths(config: Config, state_db: Path) -> list[Path]:
    """Where syncd keeps its own files: never to be synced, even if a root holds them (the
    config refuses such a root; this is the second wall)."""
    paths = [config.state_dir, state_db.parent, config.cloud.token_file]
    if config.source is not None:
        paths.append(config.source)
    log_file = config.logging.file
    if log_file is not None:
        paths.append(log_file)
        # Its rotated copies too (`syncd.log.1`, ...), as many as it may keep.
        count = max(config.logging.backups, 9)
        paths.extend(log_file.with_name(f"{log_file.name}.{n}") for n in range(1, count + 1))
    return paths
