"""The floors: the least work that does the same job as syncd, with a bare `httpx.Client`.

Each floor runs as its own process (`python -m tests.bench.floors KIND`, settings as JSON in
$SYNCD_BENCH_FLOOR), so it pays for a Python start-up and an `import httpx` like a syncd
command pays for its own, and prints one JSON line: what it did and how long the timed part
took. The same emulator, the same API calls, `threads` connections like syncd's `transfers`:

* upload-tree: create the folders (parents first, each level with `threads` threads), then
  upload every file with `threads` threads;
* download-tree: one flat listing with download URLs, make the folders, GET every file with
  `threads` threads; with `"steps": true`, land each file as syncd's safety rules require
  (see `_Landing`);
* upload-file / download-file: one streamed multipart upload / one streamed GET (fsync'd, as
  syncd makes a download durable);
* no-change: an `os.scandir` walk that lstat()s every entry, plus one flat listing, parsed.

The tree floors take `"http": "pool"` to send their requests straight to httpx's connection
pool, as syncd does, rather than through `httpx.Client`: the first-sync figures report that
lower floor beside the other.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from syncd.cloud.ids import parent_id_of

ENV_VAR = "SYNCD_BENCH_FLOOR"
READ_CHUNK = 1 << 20


def _client(spec: dict[str, Any]) -> httpx.Client | _Pool:
    limits = httpx.Limits(max_connections=spec.get("threads", 1) + 1)
    headers = {"Authorization": f"Bearer {spec['token']}"}
    if spec.get("http") == "pool":
        return _Pool(headers, limits)
    return httpx.Client(headers=headers, limits=limits, timeout=300)


class _Pool:
    """The same calls sent straight to httpx's connection pool, as syncd sends them: the
    floor without the client's layers (cookies, redirects, hooks) in each request."""

    def __init__(self, headers: dict[str, str], limits: httpx.Limits) -> None:
        self._headers = headers
        self._transport = httpx.HTTPTransport(limits=limits)
        self._timeout = httpx.Timeout(300).as_dict()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        request = httpx.Request(
            method, url, headers=self._headers, extensions={"timeout": self._timeout}, **kwargs
        )
        response = self._transport.handle_request(request)
        response.request = request
        try:
            response.read()
        finally:
            response.close()
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._transport.close()


def _parallel(threads: int, func: Callable[[Any], object], items: Iterable[Any]) -> None:
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(func, items):  # re-raises the first failure
            pass


def _walk(root: str, rel: str = "") -> Iterable[tuple[str, os.DirEntry[str]]]:
    with os.scandir(os.path.join(root, rel) if rel else root) as entries:
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            yield path, entry
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(root, path)


def upload_tree(spec: dict[str, Any]) -> dict[str, Any]:
    root, threads = spec["local_root"], spec["threads"]
    folders: list[str] = []
    files: list[str] = []
    for path, entry in _walk(root):
        (folders if entry.is_dir(follow_symlinks=False) else files).append(path)
    upload_url = spec["content_base"] + "/files/content"
    with _client(spec) as client:
        created = client.post(spec["api_base"] + "/folders", json={"name": spec["remote_name"]})
        ids = {"": created.raise_for_status().json()["id"]}

        def mkdir(path: str) -> None:
            parent, _, name = path.rpartition("/")
            body = {"name": name, "parentFolderId": ids[parent]}
            response = client.post(spec["api_base"] + "/folders", json=body)
            ids[path] = response.raise_for_status().json()["id"]

        for depth in sorted({p.count("/") for p in folders}):
            _parallel(threads, mkdir, [p for p in folders if p.count("/") == depth])

        def upload(path: str) -> None:
            parent, _, name = path.rpartition("/")
            with open(os.path.join(root, path), "rb") as handle:
                data = handle.read()
            description = {"name": name, "size": str(len(data)), "folder": ids[parent]}
            response = client.post(
                upload_url,
                files={"description": (None, json.dumps(description)), "file": (name, data)},
            )
            response.raise_for_status()

        _parallel(threads, upload, files)
    return {"folders": len(folders), "files": len(files)}


def download_tree(spec: dict[str, Any]) -> dict[str, Any]:
    root, threads = Path(spec["local_root"]), spec["threads"]
    with _client(spec) as client:
        response = client.get(
            f"{spec['api_base']}/folders/{spec['folder_id']}",
            params={"flat": "true", "showthumbnails": "true"},
        )
        listing = response.raise_for_status().json()
        paths = {listing["id"]: ""}
        for folder in listing["subfolders"]:  # pre-order: parents come first
            parent = paths[folder["parentId"]]
            paths[folder["id"]] = f"{parent}/{folder['name']}" if parent else folder["name"]
            (root / paths[folder["id"]]).mkdir(parents=True, exist_ok=True)

        def rel_path_of(item: dict[str, Any]) -> str:
            parent = paths[item.get("parentId") or parent_id_of(item["id"]) or ""]
            return f"{parent}/{item['name']}" if parent else item["name"]

        def fetch(item: dict[str, Any]) -> None:
            data = client.get(item["downloadUrl"]).raise_for_status().content
            with open(root / rel_path_of(item), "wb") as out:
                out.write(data)

        if spec.get("steps"):
            landed = _fetch_and_land(client, root, threads, listing["files"], rel_path_of)
        else:
            _parallel(threads, fetch, listing["files"])
            landed = 0
    return {"folders": len(listing["subfolders"]), "files": len(listing["files"]), "landed": landed}


def _fetch_and_land(
    client: httpx.Client | _Pool,
    root: Path,
    threads: int,
    items: list[dict[str, Any]],
    rel_path_of: Callable[[dict[str, Any]], str],
) -> int:
    """GET every file with `threads` threads and land each (`_Landing`); the rows recorded."""
    with _Landing(root) as landing, ThreadPoolExecutor(threads) as pool:

        def fetch(item: dict[str, Any]) -> tuple[Any, ...]:
            data = client.get(item["downloadUrl"]).raise_for_status().content
            return landing.land(rel_path_of(item), data, item)

        for future in as_completed([pool.submit(fetch, item) for item in items]):
            landing.record(future.result())
    return landing.committed


class _Landing:
    """What syncd does with each file it downloads, beyond writing it (the landing rules of
    `syncd/sync/executor.py`), in the fewest steps: the price of those rules, measured apart
    from syncd's own code.

    A hidden partial beside the target, opened relative to the root's descriptor without
    following a link in its last component (syncd's openat2 with RESOLVE_BENEATH refuses
    links anywhere: one system call either way); its SHA-256 (the base row keeps it) and its
    size checked; the cloud's date set on it; a rename that cannot replace what appeared
    meanwhile; a row per file in SQLite, committed at most every `COMMIT_EVERY` seconds and
    only once the files reached the disk (syncfs), as syncd's engine commits.
    """

    COMMIT_EVERY = 0.25  # syncd's `commits.COMMIT_EVERY`
    RENAME_NOREPLACE = 1

    def __init__(self, root: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        self._db = sqlite3.connect(root.parent / f"{root.name}.landing.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE base (rel_path TEXT PRIMARY KEY, size INT, mtime_ns INT, inode INT,"
            " sha256 TEXT, remote_id TEXT, remote_modified INT)"
        )
        self._rows: list[tuple[Any, ...]] = []
        self._last = time.monotonic()
        self.committed = 0  # rows

    def land(self, rel_path: str, data: bytes, item: dict[str, Any]) -> tuple[Any, ...]:
        folder, _, name = rel_path.rpartition("/")
        partial = f"{folder}/.{name}.syncd-partial" if folder else f".{name}.syncd-partial"
        modified = datetime.fromisoformat(item["lastUpdateDate"]).timestamp()
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        fd = os.open(partial, flags, 0o644, dir_fd=self._root_fd)
        try:
            os.write(fd, data)
            sha256 = hashlib.sha256(data).hexdigest()
            os.utime(fd, (modified, modified))
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if st.st_size != item["size"]:
            raise RuntimeError(f"{rel_path}: {st.st_size} bytes, not {item['size']}")
        renamed = self._libc.renameat2(
            self._root_fd, os.fsencode(partial), self._root_fd, os.fsencode(rel_path),
            self.RENAME_NOREPLACE,
        )  # fmt: skip
        if renamed != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), rel_path)
        return (rel_path, st.st_size, st.st_mtime_ns, st.st_ino, sha256, item["id"], modified)

    def record(self, row: tuple[Any, ...]) -> None:
        self._rows.append(row)
        if time.monotonic() - self._last >= self.COMMIT_EVERY:
            self._commit()

    def _commit(self) -> None:
        self._last = time.monotonic()
        if self._libc.syncfs(self._root_fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany("INSERT INTO base VALUES (?, ?, ?, ?, ?, ?, ?)", self._rows)
        self._db.execute("COMMIT")
        self.committed += len(self._rows)
        self._rows.clear()

    def __enter__(self) -> _Landing:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                self._commit()
        finally:
            self._db.close()
            os.close(self._root_fd)


def upload_file(spec: dict[str, Any]) -> dict[str, Any]:
    path = Path(spec["path"])
    size = path.stat().st_size
    description = {"name": path.name, "size": str(size), "folder": spec["folder_id"]}
    with _client(spec) as client, path.open("rb") as handle:
        started = time.perf_counter()
        response = client.post(
            spec["content_base"] + "/files/content",
            files={"description": (None, json.dumps(description)), "file": (path.name, handle)},
        )
        response.raise_for_status()
        seconds = time.perf_counter() - started
    return {"bytes": size, "transfer_s": seconds}


def download_file(spec: dict[str, Any]) -> dict[str, Any]:
    target = Path(spec["dest"])
    with _client(spec) as client:
        started = time.perf_counter()
        info = client.get(f"{spec['api_base']}/files/{spec['file_id']}").raise_for_status()
        url = info.json()["downloadUrl"]
        headers = {"Accept-Encoding": "identity"}
        with client.stream("GET", url, headers=headers) as response, target.open("wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes(READ_CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        seconds = time.perf_counter() - started
    return {"bytes": target.stat().st_size, "transfer_s": seconds}


def no_change(spec: dict[str, Any]) -> dict[str, Any]:
    entries = 0
    for _, entry in _walk(spec["local_root"]):
        entry.stat(follow_symlinks=False)  # size, mtime, inode: what a change check needs
        entries += 1
    with _client(spec) as client:
        response = client.get(
            f"{spec['api_base']}/folders/{spec['folder_id']}", params={"flat": "true"}
        )
        listing = response.raise_for_status().json()
    return {"local_entries": entries, "remote_files": len(listing["files"])}


FLOORS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "upload-tree": upload_tree,
    "download-tree": download_tree,
    "upload-file": upload_file,
    "download-file": download_file,
    "no-change": no_change,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in FLOORS:
        print(f"usage: python -m tests.bench.floors {{{','.join(FLOORS)}}}", file=sys.stderr)
        return 2
    spec: dict[str, Any] = json.loads(os.environ[ENV_VAR])
    started = time.perf_counter()
    result = FLOORS[argv[0]](spec)
    result.setdefault("seconds", time.perf_counter() - started)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
