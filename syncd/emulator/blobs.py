"""File contents on disk, one immutable blob file per stored file.

Blobs are named by a random id, not by path, so renaming or moving a folder of 100,000 files
touches no file on disk. The API has no way to change a file's content in place, hence a blob
never changes after it is committed; a copy is a hard link (a byte copy where links fail).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.blob_dir = root / "blobs"

    def prepare(self) -> None:
        """Create the layout and drop temporaries a previous run left behind."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(exist_ok=True)
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink(missing_ok=True)

    def path(self, blob: str) -> Path:
        return self.blob_dir / blob[:2] / blob

    def new_temp(self) -> tuple[str, BinaryIO]:
        """A fresh blob id and an open temporary file for its bytes."""
        blob = secrets.token_hex(16)
        return blob, (self.tmp_dir / blob).open("xb")

    def commit(self, blob: str) -> None:
        target = self.path(blob)
        try:
            os.replace(self.tmp_dir / blob, target)
        except FileNotFoundError:
            # The 256 fan-out folders are made on first use: making them all at start would
            # be paid by every test that starts an emulator, most of which store a few blobs.
            target.parent.mkdir(exist_ok=True)
            os.replace(self.tmp_dir / blob, target)

    def discard_temp(self, blob: str) -> None:
        (self.tmp_dir / blob).unlink(missing_ok=True)

    def write(self, data: bytes) -> str:
        blob, f = self.new_temp()
        with f:
            f.write(data)
        self.commit(blob)
        return blob

    def clone(self, blob: str) -> str:
        new = secrets.token_hex(16)
        target = self.path(new)
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(self.path(blob), target)
        except OSError:
            shutil.copyfile(self.path(blob), target)
        return new

    def read(self, blob: str) -> bytes:
        return self.path(blob).read_bytes()

    def delete(self, blob: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(blob).unlink()

    def remove_unreferenced(self, live: set[str]) -> int:
        """Delete blobs no file refers to (left by a crash between commit and journal write)."""
        removed = 0
        for sub in self.blob_dir.iterdir():
            for entry in os.scandir(sub):
                if entry.name not in live:
                    os.unlink(entry.path)
                    removed += 1
        return removed
