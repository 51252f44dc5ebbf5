"""Hashing while writing a download, on a real file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from syncd.sync.io import HashingWriter

MiB = 1 << 20


def test_small_and_big_writes_are_hashed_in_order(tmp_path: Path) -> None:
    pieces = [os.urandom(n) for n in (10, 3 * MiB + 7, 64 * 1024, 2 * MiB, 1)]
    target = tmp_path / "f"
    with target.open("wb", buffering=0) as handle:
        writer = HashingWriter(handle)
        for piece in pieces:
            # A big piece is hashed beside its write, and handed over as a view of a buffer
            # its owner reuses after the call: the hash must be taken before it returns.
            buffer = bytearray(piece)
            assert writer.write(memoryview(buffer)) == len(piece)
            buffer[:] = b"\0" * len(buffer)
        assert writer.tell() == sum(map(len, pieces))
    data = b"".join(pieces)
    assert target.read_bytes() == data
    assert writer.sha256() == hashlib.sha256(data).hexdigest()


def test_a_short_writing_handle_still_gets_every_byte(tmp_path: Path) -> None:
    class Trickle:
        """An unbuffered handle that takes at most 1 MiB per call."""

        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, view: memoryview) -> int:
            taken = bytes(view[:MiB])
            self.data += taken
            return len(taken)

    data = os.urandom(5 * MiB + 3)
    handle = Trickle()
    writer = HashingWriter(handle)  # type: ignore[arg-type]
    writer.write(data)
    assert bytes(handle.data) == data
    assert writer.sha256() == hashlib.sha256(data).hexdigest()


def test_a_resumed_download_hashes_what_was_there_first(tmp_path: Path) -> None:
    data = os.urandom(3 * MiB)
    target = tmp_path / "f"
    target.write_bytes(data[:1000] + b"junk past the offset")
    with target.open("r+b", buffering=0) as handle:
        writer = HashingWriter.resuming(handle, 1000)
        writer.write(data[1000:])
    assert target.read_bytes() == data
    assert writer.sha256() == hashlib.sha256(data).hexdigest()
