"""Counters that tests and benchmarks read: calls per endpoint kind, bytes, statuses, faults."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

ENDPOINT_KINDS = (
    "freespace",
    "folder_get",
    "folder_create",
    "folder_update",
    "folder_delete",
    "file_get",
    "file_update",
    "file_delete",
    "upload",
    "download",
    "thumb",
    "preview",
    "session",
    "authorize",
    "token",
)


@dataclass(frozen=True)
class StatsSnapshot:
    calls: dict[str, int]  # every endpoint kind, 0 when never called
    bytes_uploaded: int  # file bytes received by uploads (stored or not)
    bytes_downloaded: int  # body bytes sent by downloads, thumbnails and previews
    statuses: dict[int, int]  # HTTP status → responses sent
    faults: dict[str, int]  # injected fault name → times injected

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "bytes_uploaded": self.bytes_uploaded,
            "bytes_downloaded": self.bytes_downloaded,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "faults": self.faults,
        }


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: Counter[str] = Counter()
            self._statuses: Counter[int] = Counter()
            self._faults: Counter[str] = Counter()
            self._up = 0
            self._down = 0

    def call(self, kind: str) -> None:
        with self._lock:
            self._calls[kind] += 1

    def status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def fault(self, name: str) -> None:
        with self._lock:
            self._faults[name] += 1

    def uploaded(self, n: int) -> None:
        with self._lock:
            self._up += n

    def downloaded(self, n: int) -> None:
        with self._lock:
            self._down += n

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            calls = dict.fromkeys(ENDPOINT_KINDS, 0)
            calls.update(self._calls)
            return StatsSnapshot(
                calls, self._up, self._down, dict(self._statuses), dict(self._faults)
            )
