"""Big downloads as ranges fetched in parallel, against the emulator over loopback.

The client here switches to ranges from 1 MiB, in ranges of 256 KiB (the defaults are
64 MiB and 16 MiB), so that small files exercise every path.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenSet
from syncd.emulator import Emulator
from syncd.sync.io import HashingWriter, TokenBucket

from .helpers import rolls, seed_for

KiB = 1024
MiB = 1024 * KiB
RANGE = 256 * KiB


@pytest.fixture
def ranged(settings: CloudSettings, token: TokenSet) -> Iterator[CloudClient]:
    with CloudClient.from_settings(settings) as client:
        client._ranged_min_size = MiB
        client._range_size = RANGE
        yield client


class Stop(Exception):
    """What a caller's progress callback raises to stop a transfer (never retried)."""


def _ranges(first: int, size: int) -> int:
    return -(-(size - first) // RANGE)


def test_a_big_download_is_fetched_as_ranges_in_parallel_and_written_in_order(
    ranged: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    data = os.urandom(4 * MiB + 5)
    emulator.put_file("big.bin", data)
    threads: set[str] = set()
    counted: list[int] = []

    def progress(count: int) -> None:
        threads.add(threading.current_thread().name)
        counted.append(count)

    out = tmp_path / "big.bin"
    with out.open("wb", buffering=0) as handle:
        writer = HashingWriter(handle)
        size = ranged.download(ranged.get_folder().files[0].id, writer, progress=progress)  # type: ignore[arg-type]
    assert size == len(data)
    assert out.read_bytes() == data
    # Hashed as it was written: so it was written in order.
    assert writer.sha256() == hashlib.sha256(data).hexdigest()
    snap = emulator.stats.snapshot()
    assert snap.statuses.get(206) == _ranges(0, len(data))
    assert snap.bytes_downloaded == len(data)
    assert sum(counted) == len(data)
    assert len({name for name in threads if name.startswith("syncd-range")}) > 1, threads


def test_ranges_resume_a_partial_download_after_its_prefix(
    ranged: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    data = os.urandom(3 * MiB)
    emulator.put_file("big.bin", data)
    out = tmp_path / "big.part"
    out.write_bytes(data[:1000])
    with out.open("ab") as handle:
        assert ranged.download(ranged.get_folder().files[0].id, handle, offset=1000) == len(data)
    assert out.read_bytes() == data
    snap = emulator.stats.snapshot()
    assert snap.bytes_downloaded == len(data) - 1000
    assert snap.statuses.get(206) == _ranges(1000, len(data))


def test_a_range_cut_by_a_reset_is_resumed_where_it_stopped(
    ranged: CloudClient, emulator: Emulator
) -> None:
    data = os.urandom(2 * MiB + 3)
    emulator.put_file("big.bin", data)
    resets = rolls("download_reset_rate", "download")
    requests = _ranges(0, len(data)) + 1  # and one more for the range that was cut
    seed = seed_for("01".ljust(requests, "0"), resets, download_reset_rate=0.5)
    emulator.faults.update(download_reset_rate=0.5, seed=seed)
    out = io.BytesIO()
    assert ranged.download(ranged.get_folder().files[0].id, out) == len(data)
    assert out.getvalue() == data
    snap = emulator.stats.snapshot()
    assert snap.faults == {"download_reset": 1}
    # Nothing fetched twice but what the reset lost in flight (at most one range).
    assert snap.bytes_downloaded < len(data) + RANGE


def test_a_callback_error_stops_every_range_and_leaves_a_prefix(
    ranged: CloudClient, emulator: Emulator
) -> None:
    data = os.urandom(8 * MiB)
    emulator.put_file("big.bin", data)
    seen = 0
    calls_after_stop = 0
    stopped = threading.Event()
    lock = threading.Lock()

    def progress(count: int) -> None:
        nonlocal seen, calls_after_stop
        with lock:
            if stopped.is_set():
                calls_after_stop += 1
            seen += count
            if seen >= 2 * MiB:
                stopped.set()
                raise Stop("stop")

    out = io.BytesIO()
    with pytest.raises(Stop, match="stop"):
        ranged.download(ranged.get_folder().files[0].id, out, progress=progress)
    finished_with = calls_after_stop
    written = out.getvalue()
    assert written == data[: len(written)]  # a prefix of the file, nothing out of order
    assert len(written) % RANGE == 0 and len(written) < len(data)
    # Every range had stopped when the call returned: no callback runs afterwards.
    ranged.download(ranged.get_folder().files[0].id, io.BytesIO())  # the pool is free
    assert calls_after_stop == finished_with


def test_the_bandwidth_limit_holds_for_the_ranges_together(
    ranged: CloudClient, emulator: Emulator
) -> None:
    data = os.urandom(2 * MiB)
    emulator.put_file("big.bin", data)
    slept: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:  # a fake clock: the limit's arithmetic, not time
        slept.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(MiB, clock=lambda: clock[0], sleep=sleep)
    out = io.BytesIO()
    ranged.download(ranged.get_folder().files[0].id, out, progress=bucket.consume)
    assert out.getvalue() == data
    # 2 MiB at 1 MiB/s with a quarter second of burst: at least 1.75 s of waiting, whatever
    # the number of streams.
    assert sum(slept) >= 1.75


def test_a_small_download_is_one_stream(ranged: CloudClient, emulator: Emulator) -> None:
    data = os.urandom(MiB - 1)
    emulator.put_file("small.bin", data)
    out = io.BytesIO()
    assert ranged.download(ranged.get_folder().files[0].id, out) == len(data)
    assert out.getvalue() == data
    assert emulator.stats.snapshot().statuses.get(200, 0) >= 1
    assert 206 not in emulator.stats.snapshot().statuses
