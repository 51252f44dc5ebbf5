"""The `Emulator`: lifecycle (start, stop, persistence) and the direct Python API for tests."""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from zoneinfo import ZoneInfo

from syncd.emulator.admin import DEFAULT_SCOPE
from syncd.emulator.app import API_PREFIX, CONTENT_PREFIX, OAUTH_PREFIX, App
from syncd.emulator.blobs import BlobStore
from syncd.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_QUOTA,
    DEFAULT_REDIRECT_URIS,
    EmulatorConfig,
)
from syncd.emulator.faults import Faults
from syncd.emulator.handler import Handler
from syncd.emulator.hostile import Hostile
from syncd.emulator.ids import folder_id
from syncd.emulator.journal import Journal, Record
from syncd.emulator.model import File, Folder
from syncd.emulator.oauth import Client, OAuthServer
from syncd.emulator.stats import Stats
from syncd.emulator.store import Store
from syncd.emulator.views import Entry, PageSplit, UrlSigner, tree_listing
from syncd.httpserver import TrackingHTTPServer

log = logging.getLogger("syncd.emulator")

_TREE_OPS = frozenset({"mkdir", "file", "rm", "mv"})


class EmulatorHTTPServer(TrackingHTTPServer):
    """The emulator's server: its app and counters, for the handler to reach."""

    thread_prefix = "emulator-conn"

    def __init__(self, address: tuple[str, int], app: App, stats: Stats) -> None:
        self.app = app
        self.stats = stats
        self.access_log = False
        super().__init__(address, Handler)

    @property
    def netloc(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"


class Emulator:
    """A local Orange Cloud France API on a real loopback HTTP server.

    Settings: ``data_dir`` keeps the state across restarts (None: a private temporary folder,
    removed by `stop`); ``port`` 0 picks a free port; the OAuth test client is ``client_id``,
    ``client_secret`` and its exact ``redirect_uris``; ``token_ttl`` is the access token
    lifetime in seconds; ``app_name`` names the app folder; ``quota_bytes`` and
    ``max_file_size`` bound uploads and copies; ``timezone`` (a zone name or a fixed
    ``datetime.timezone``) renders dates; ``rotate_refresh_tokens``, ``reject_refresh_scope``,
    ``conflict_status``, ``expired_code`` and ``page_split`` pick between the plausible
    behaviours described in the package docstring; ``faults`` can be given up front or changed
    later via `faults`; ``clock`` (epoch seconds) is what tokens and codes expire by.

    Paths in the direct API are relative to the app folder (the root a ``cloud``-scope token
    sees), e.g. ``"docs/a.txt"``; a leading ``/`` makes a path relative to the true cloud root.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        redirect_uris: Iterable[str] = DEFAULT_REDIRECT_URIS,
        token_ttl: int = 3600,
        app_name: str = "syncd",
        quota_bytes: int = DEFAULT_QUOTA,
        max_file_size: int | None = None,
        timezone: str | tzinfo = "Europe/Paris",
        rotate_refresh_tokens: bool = False,
        reject_refresh_scope: bool = False,
        conflict_status: int = 400,
        expired_code: int = 41,
        page_split: PageSplit = "combined",
        faults: Faults | None = None,
        access_log: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = EmulatorConfig(
            client=Client(client_id, client_secret, tuple(redirect_uris)),
            zone=ZoneInfo(timezone) if isinstance(timezone, str) else timezone,
            token_ttl=token_ttl,
            app_name=app_name,
            quota_bytes=quota_bytes,
            max_file_size=max_file_size,
            rotate_refresh_tokens=rotate_refresh_tokens,
            reject_refresh_scope=reject_refresh_scope,
            conflict_status=conflict_status,
            expired_code=expired_code,
            page_split=page_split,
        )
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.faults = faults if faults is not None else Faults()
        self.hostile = Hostile()
        self.stats = Stats()
        self._address = (host, port)
        self._access_log = access_log
        self._clock = clock
        self._own_dir: Path | None = None
        self._journal: Journal | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._app: App | None = None
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        if self._app is not None:
            raise RuntimeError("an Emulator starts once; make a new one on the same data_dir")
        if self.data_dir is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="syncd-emulator-"))
        root = self.data_dir or self._own_dir
        assert root is not None
        blobs = BlobStore(root)
        blobs.prepare()
        # Without a data_dir nothing outlives stop(), so there is nothing to journal.
        self._journal = Journal(root / "journal.jsonl") if self.data_dir else None
        log_fn = self._journal.append if self._journal else None
        store = Store(blobs, log_fn)
        oauth = OAuthServer(
            self.config.client,
            token_ttl=self.config.token_ttl,
            rotate_refresh_tokens=self.config.rotate_refresh_tokens,
            reject_refresh_scope=self.config.reject_refresh_scope,
            log=log_fn,
            clock=self._clock,
        )
        key = self._load(store, oauth, blobs)
        self._app = App(
            self.config, store, oauth, self.faults, self.stats, UrlSigner(key), self.hostile
        )
        try:
            self._server = EmulatorHTTPServer(self._address, self._app, self.stats)
        except OSError:
            self._close_storage()
            raise
        self._server.access_log = self._access_log
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits up to this long
            name="emulator-accept",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end every connection, persist the state (compacted)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close_storage()
        self._stopped = True

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _load(self, store: Store, oauth: OAuthServer, blobs: BlobStore) -> bytes:
        """Replay the journal, drop orphan blobs, compact; returns the URL signing key."""
        key: bytes | None = None
        if self._journal is not None:
            replayed = False
            for record in self._journal.replay():
                replayed = True
                if record[0] == "key":
                    key = bytes.fromhex(record[1])
                elif record[0] in _TREE_OPS:
                    store.apply(record)
                else:
                    oauth.apply(record)
            if replayed:
                blobs.remove_unreferenced(store.live_blobs())
        key = key or secrets.token_bytes(32)
        if self._journal is not None:
            self._journal.compact(self._records(key, store, oauth))
            self._journal.open()
        return key

    def _records(self, key: bytes, store: Store, oauth: OAuthServer) -> Iterator[Record]:
        yield ["key", key.hex()]
        yield from store.records()
        yield from oauth.records()

    def _close_storage(self) -> None:
        if self._journal is not None and self._app is not None:
            app = self._app
            with app.store.lock:
                key = app.signer.key
                self._journal.compact(self._records(key, app.store, app.oauth))
            self._journal.close()
        self._journal = None
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    # -- addresses ------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://{self._running().netloc}"

    @property
    def port(self) -> int:
        return int(self._running().server_address[1])

    @property
    def api_base(self) -> str:
        return self.origin + API_PREFIX

    @property
    def content_base(self) -> str:
        return self.origin + CONTENT_PREFIX

    @property
    def authorize_url(self) -> str:
        return self.origin + OAUTH_PREFIX + "/authorize"

    @property
    def token_url(self) -> str:
        return self.origin + OAUTH_PREFIX + "/token"

    @property
    def admin_url(self) -> str:
        return self.origin + "/_emulator"

    @property
    def state_dir(self) -> Path:
        """Where files and the journal live: `data_dir`, or the private temporary folder."""
        directory = self.data_dir or self._own_dir
        if directory is None:
            raise RuntimeError("the emulator is not running")
        return directory

    @property
    def app_root_id(self) -> str:
        return folder_id(self.config.app_root_names)

    # -- tokens ---------------------------------------------------------------------------

    def issue_token(self, scope: str = DEFAULT_SCOPE) -> dict[str, Any]:
        """A token response (access + refresh token) as the token endpoint would give it."""
        return self._started().oauth.issue(scope)

    def expire_access_tokens(self) -> None:
        self._started().oauth.expire()

    def revoke_refresh_tokens(self) -> None:
        self._started().oauth.revoke_refresh_tokens()

    # -- direct store access (no HTTP, no faults) -----------------------------------------

    def put_file(
        self,
        path: str,
        data: bytes,
        *,
        created: datetime | None = None,
        modified: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Store `data` at `path` (parents made, an existing file replaced); returns its id."""
        store = self._started().store
        *parent_names, name = self._names(path)
        blob = store.blobs.write(data)
        created_s = _epoch(created) if created else int(time.time())
        modified_s = _epoch(modified) if modified else created_s
        with store.lock:
            parent = store.mkdirs(tuple(parent_names))
            old = parent.children.get(name)
            if isinstance(old, Folder):
                store.blobs.delete(blob)
                raise IsADirectoryError(path)
            if old is not None:
                store.remove(old)
            f = store.add_file(
                parent, name, blob=blob, size=len(data), created=created_s,
                modified=modified_s, metadata=metadata,
            )  # fmt: skip
            return f.id

    def mkdir(self, path: str, parents: bool = True) -> str:
        """Create a folder (idempotent); returns its id."""
        store = self._started().store
        names = self._names(path)
        with store.lock:
            if not parents and not isinstance(store.resolve(names[:-1]), Folder):
                raise FileNotFoundError(path)
            existing = store.resolve(names)
            if isinstance(existing, File):
                raise FileExistsError(path)
            return store.mkdirs(names).id

    def read_file(self, path: str) -> bytes:
        store = self._started().store
        with store.lock:
            node = store.resolve(self._names(path))
            if not isinstance(node, File):
                raise FileNotFoundError(path)
            blob = node.blob
        return store.blobs.read(blob)

    def delete(self, path: str) -> None:
        store = self._started().store
        with store.lock:
            store.remove(self._node(path))

    def move(self, src: str, dst: str) -> str:
        """Rename and/or move like the API does (a file's lastUpdateDate is bumped)."""
        store = self._started().store
        *parent_names, name = self._names(dst)
        with store.lock:
            node = self._node(src)
            if store.resolve(self._names(dst)) is not None:
                raise FileExistsError(dst)
            parent = store.mkdirs(tuple(parent_names))
            modified = int(time.time()) if isinstance(node, File) else None
            return store.move(node, parent, name, modified=modified).id

    def listing(self) -> dict[str, Entry]:
        """Every item below the app folder by relative path (``"docs"``, ``"docs/a.txt"``)."""
        app = self._started()
        with app.store.lock:
            return tree_listing(app.app_root, app.dates)

    def inject_raw_name(self, parent_path: str, raw_name: str, data: bytes | None = b"") -> str:
        """Add an item whose name the API would refuse (``..``, ``a/b``, NUL…), as a file with
        `data`, or a folder when `data` is None; returns its id. For hostile-name tests.

        Such items are listed and served by id like any other, except a file named ``""``,
        whose id is its folder's id (the path encoding cannot tell them apart)."""
        store = self._started().store
        with store.lock:
            parent = store.mkdirs(self._names(parent_path))
            if raw_name in parent.children:
                raise FileExistsError(raw_name)
            if data is None:
                return store.mkdir(parent, raw_name).id
            now = int(time.time())
            blob = store.blobs.write(data)
            f = store.add_file(parent, raw_name, blob=blob, size=len(data), created=now,
                               modified=now)  # fmt: skip
            return f.id

    # -- internals ------------------------------------------------------------------------

    def _names(self, path: str) -> tuple[str, ...]:
        parts = tuple(p for p in path.split("/") if p)
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"path must not contain '.' or '..': {path!r}")
        return parts if path.startswith("/") else (*self.config.app_root_names, *parts)

    def _node(self, path: str) -> File | Folder:
        """The item at `path`, to delete or move: never a folder holding the app folder."""
        app = self._started()
        node = app.store.resolve(self._names(path))
        if node is None:
            raise FileNotFoundError(path)
        if isinstance(node, Folder) and app.app_root.is_within(node):
            raise PermissionError(f"{path!r} is or holds the app folder")
        return node

    def _started(self) -> App:
        if self._app is None or self._stopped:
            raise RuntimeError("the emulator is not running")
        return self._app

    def _running(self) -> EmulatorHTTPServer:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return self._server


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # naive datetimes are taken as UTC
    return int(moment.timestamp())
