"""The test data: trees of N files in F folders, written to disk or stored in the emulator.

Folders are two levels deep (about sqrt(F) top folders, the rest below them), so creating
them has an order to respect, as in a real tree. Files go round-robin into all folders.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


@dataclass(frozen=True)
class Tree:
    files: int
    folders: int
    size: int = 0  # bytes of random data per file; 0: a few bytes naming the file

    def folder_paths(self) -> list[str]:
        """Parents before children."""
        top = max(1, min(self.folders, math.isqrt(self.folders)))
        paths = [f"t{j:03d}" for j in range(top)]
        paths += [f"t{(j - top) % top:03d}/s{j:05d}" for j in range(top, self.folders)]
        return paths

    def file_paths(self) -> Iterator[str]:
        folders = self.folder_paths()
        for i in range(self.files):
            yield f"{folders[i % len(folders)]}/f{i:06d}.dat"

    def items(self) -> Iterator[tuple[str, bytes]]:
        for path in self.file_paths():
            yield path, self.content(path)

    def content(self, path: str) -> bytes:
        if self.size == 0:
            return f"{path}\n".encode()
        return os.urandom(self.size)


def write_local(root: Path, tree: Tree) -> dict[str, str]:
    """Write `tree` under `root`; returns rel_path -> sha256 of what was written."""
    for folder in tree.folder_paths():
        (root / folder).mkdir(parents=True, exist_ok=True)
    digests: dict[str, str] = {}
    for path, data in tree.items():
        with open(root / path, "wb") as out:
            out.write(data)
        digests[path] = hashlib.sha256(data).hexdigest()
    return digests


def prefixed(prefix: str, tree: Tree) -> Iterator[tuple[str, bytes]]:
    """The tree's files under a cloud folder, for `seed_cloud`."""
    for path, data in tree.items():
        yield f"{prefix}/{path}", data


def write_big_file(path: Path, size: int) -> None:
    """`size` bytes of incompressible data, written in 1 MiB blocks (one random block reused:
    nothing on the way compresses or deduplicates)."""
    block = os.urandom(CHUNK)
    with path.open("wb") as out:
        left = size
        while left > 0:
            n = min(left, CHUNK)
            out.write(block[:n])
            left -= n
