"""Append-only JSON-lines journal: how the emulator's state survives a restart.

The in-memory tree and token tables are the truth while the emulator runs. Every change is
appended here as one small JSON array and flushed to the OS at once, so each request costs O(1)
and a killed process (even SIGKILL) loses nothing. A clean stop, and every start, rewrites the
journal as the minimal record list of the current state (compaction), atomically via a
temporary file and ``os.replace``.

A torn last line (the process died inside a write) is ignored on replay.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

Record = list[Any]

_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def replay(self) -> Iterator[Record]:
        """The records written so far, oldest first."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # torn final write
                if isinstance(record, list) and record:
                    yield record

    def open(self) -> None:
        self._file = self.path.open("a", encoding="utf-8")

    def append(self, record: Record) -> None:
        line = _DUMPS(record) + "\n"
        with self._lock:
            if self._file is None:
                raise RuntimeError("journal is closed")
            self._file.write(line)
            self._file.flush()

    def compact(self, records: Iterable[Record]) -> None:
        """Replace the journal by `records`; the caller keeps the state still meanwhile."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        with self._lock:
            with tmp.open("w", encoding="utf-8") as f:
                for record in records:
                    f.write(_DUMPS(record))
                    f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            was_open = self._file is not None
            self._close_file()
            os.replace(tmp, self.path)
            if was_open:
                self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
