"""A hostile or broken service, on demand: answers the real one could give on its worst day.

Unlike `faults` (random, transient failures a client must ride out), these switches make
every matching answer wrong in one chosen way, so a test can show that the client and the
sync engine lose nothing to it. All are off by default; set them while the emulator runs
(`Emulator.hostile`, or ``POST /_emulator/hostile`` from another process).

``listing`` damages every folder listing (``GET /folders...``):

* whole-listing damage: ``no-files``, ``no-subfolders`` (key left out), ``null-files``,
  ``null-subfolders`` (JSON null), ``files-as-object`` (``{}`` instead of a list),
  ``entry-not-object`` (the target file entry replaced by a string);
* one file (named ``target``, else the first listed): ``undecodable-id`` (an id that is not
  base64url, so with no ``parentId`` its folder is unknown), ``orphan`` (an id naming a folder
  the listing lacks), ``bad-size`` (a size that is not a number), ``bad-date`` (a creation
  date that is not a date), ``no-name``;
* one subfolder (named ``target``, else the first listed): ``folder-no-parent`` (no
  ``parentId``);
* ``omit-from-flat``: flat listings leave out every file or folder named ``target``, and
  everything below such a folder, while a direct listing of its folder still shows it: an
  incomplete view that reads as "deleted";
* ``short-pages``: a paged flat listing holds one item less than ``limit`` on every page
  (a server that caps its pages below what was asked), so a client that stops at the first
  short page sees only the first page.

``download`` makes every download (``.../content/...``) answer with: ``longer`` (the file,
then 1 MiB more, with a matching Content-Length), ``endless`` (no Content-Length, bytes until
the client hangs up), ``html`` (a small ``text/html`` error page instead of the file, status
200), or ``wrong-length`` (a Content-Length that is not the file's size).

``download_origin`` (e.g. ``"http://127.0.0.1:9"``) puts every download URL the API hands
out (listings with ``showthumbnails``, ``GET /files/{id}``) on that origin instead of the
content host.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any, TypeVar

from syncd.emulator.views import FileRow, FolderRow

R = TypeVar("R", bound=FolderRow)
F = TypeVar("F", bound=FileRow)

LISTING_DAMAGE = frozenset(
    {
        "no-files",
        "no-subfolders",
        "null-files",
        "null-subfolders",
        "files-as-object",
        "entry-not-object",
        "undecodable-id",
        "orphan",
        "bad-size",
        "bad-date",
        "no-name",
        "folder-no-parent",
        "omit-from-flat",
        "short-pages",
    }
)
DOWNLOAD_DAMAGE = frozenset({"longer", "endless", "html", "wrong-length"})
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Session expired</title></head>"
    b"<body><h1>Please sign in again</h1></body></html>"
)
# An endless body stops here, so that a client which never hangs up fails a test instead
# of filling the disk.
ENDLESS_CAP = 256 << 20


@dataclass
class Hostile:
    listing: str | None = None
    target: str | None = None
    download: str | None = None
    download_origin: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, **changes: Any) -> None:
        """Set several switches at once, validated (None switches one off)."""
        allowed = {"listing": LISTING_DAMAGE, "download": DOWNLOAD_DAMAGE}
        for name, value in changes.items():
            if name not in ("listing", "target", "download", "download_origin"):
                raise ValueError(f"unknown hostile setting {name!r}")
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or null")
            if name in allowed and value is not None and value not in allowed[name]:
                raise ValueError(f"{name} must be one of {sorted(allowed[name])}")
        with self._lock:
            for name, value in changes.items():
                setattr(self, name, value)

    def clear(self) -> None:
        self.update(listing=None, target=None, download=None, download_origin=None)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "listing": self.listing,
            "target": self.target,
            "download": self.download,
            "download_origin": self.download_origin,
        }

    def omit(self, folders: list[R], files: list[F], *, flat: bool) -> tuple[list[R], list[F]]:
        """The rows of a listing before it is paged, without what `omit-from-flat` hides."""
        if self.listing != "omit-from-flat" or not flat:
            return folders, files
        target = self.target
        gone = tuple(row.prefix for row in folders if row.name == target)
        return (
            [row for row in folders if row.name != target and not row.prefix.startswith(gone)],
            [row for row in files if row.name != target and not row.path.startswith(gone)],
        )

    def damage_listing(self, text: str, *, flat: bool, limit: int) -> str:
        """The listing `text` (JSON), damaged as `listing` says."""
        damage = self.listing
        if damage is None or damage == "omit-from-flat":
            return text
        if damage == "short-pages" and not (flat and limit):
            return text
        data = json.loads(text)
        if damage == "short-pages":
            for key in ("files", "subfolders"):
                if data[key]:
                    data[key].pop()
                    break
        elif damage in ("no-files", "no-subfolders"):
            data.pop(damage.removeprefix("no-"), None)
        elif damage in ("null-files", "null-subfolders"):
            data[damage.removeprefix("null-")] = None
        elif damage == "files-as-object":
            data["files"] = {}
        elif damage == "folder-no-parent":
            folder = self._pick(data.get("subfolders") or [])
            if folder is not None:
                folder.pop("parentId", None)
        else:
            self._damage_file(data, damage)
        return json.dumps(data, ensure_ascii=False)

    def _damage_file(self, data: dict[str, Any], damage: str) -> None:
        files = data.get("files") or []
        entry = self._pick(files)
        if entry is None:
            return
        if damage == "entry-not-object":
            files[files.index(entry)] = str(entry.get("name"))
        elif damage == "undecodable-id":
            entry["id"] = "%%not-base64%%"
        elif damage == "orphan":
            path = f"no such folder/{entry.get('name')}"
            entry["id"] = base64.urlsafe_b64encode(path.encode()).decode().rstrip("=")
        elif damage == "bad-size":
            entry["size"] = "twelve bytes"
        elif damage == "bad-date":
            entry["creationDate"] = "yesterday"
        elif damage == "no-name":
            entry.pop("name", None)

    def _pick(self, entries: list[Any]) -> dict[str, Any] | None:
        for entry in entries:
            if isinstance(entry, dict) and (
                self.target is None or entry.get("name") == self.target
            ):
                return entry
        return None
