"""Byte plumbing for transfers: hashing while reading or writing, and bandwidth limits."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from typing import BinaryIO, cast


class HashingReader:
    """A file opened for an upload that hashes what the upload reads.

    It reads an unbuffered handle and keeps its own position: an upload reads each byte
    once, so a buffer, a terminal check and position queries would only add system calls.
    """

    def __init__(self, handle: BinaryIO, on_close: Callable[[str | None], None]) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self._complete = True
        self._on_close = on_close
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            chunk = self._handle.read()
        else:
            chunk = self._handle.read(size)
            # An unbuffered read may return less than asked before the end of the file.
            while chunk and len(chunk) < size:
                more = self._handle.read(size - len(chunk))
                if not more:
                    break
                chunk += more
        self._digest.update(chunk)
        self._position += len(chunk)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        # A reader that jumps no longer sees every byte in order: the hash is void.
        self._complete = offset == 0 and whence == 0
        self._digest = hashlib.sha256()
        self._position = self._handle.seek(offset, whence)
        return self._position

    def tell(self) -> int:
        return self._position

    def fileno(self) -> int:
        return self._handle.fileno()

    def close(self) -> None:
        if self._handle.closed:
            return
        at_end = self._position == os.fstat(self._handle.fileno()).st_size
        self._handle.close()
        self._on_close(self._digest.hexdigest() if self._complete and at_end else None)

    def __enter__(self) -> HashingReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class HashingSource:
    """An `UploadSource` for a local file that remembers the sha256 of the last full read.

    The size is fixed when the source is made: a file that grows or shrinks meanwhile makes
    the client fail the upload instead of sending a torn file. `open_fd` opens the file for
    reading and returns its descriptor, each time the upload (re)starts.
    """

    def __init__(self, open_fd: Callable[[], int], name: str, size: int) -> None:
        self.open_fd = open_fd
        self.name = name
        self.size = size
        self.sha256: str | None = None

    def open(self) -> BinaryIO:
        handle = open(self.open_fd(), "rb", buffering=0)  # noqa: SIM115 - the reader closes it
        if os.fstat(handle.fileno()).st_size != self.size:
            handle.close()
            from syncd.cloud.transfer import SourceChanged

            raise SourceChanged(self.name, "changed size before it could be uploaded")
        self.sha256 = None
        return cast(BinaryIO, HashingReader(handle, self._finished))

    def _finished(self, digest: str | None) -> None:
        self.sha256 = digest


class HashingWriter:
    """A download destination that hashes what is written, as long as it is written in order.

    It keeps its own position (the handle starts at 0, or see `resuming`), so `tell`
    costs no system call. A big write (a range of a big download) is hashed on a thread of
    its own while it is written: both release the GIL, so the two take the time of the
    longer one (at 1 GB/s, SHA-256 and the page cache each take most of a core).
    """

    HASH_BESIDE = 1 << 20  # writes at least this big are hashed beside the write

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self._in_order = True
        self._position = 0

    @classmethod
    def resuming(cls, handle: BinaryIO, offset: int) -> HashingWriter:
        """Continue after the first `offset` bytes already in `handle` (hashed first)."""
        writer = cls(handle)
        if offset == 0:
            return writer
        handle.seek(0)
        remaining = offset
        while remaining > 0:
            chunk = handle.read(min(remaining, 1 << 20))
            if not chunk:
                break
            writer._digest.update(chunk)
            remaining -= len(chunk)
        writer._position = handle.seek(offset)
        handle.truncate()
        return writer

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        if view.nbytes < self.HASH_BESIDE:
            self._digest.update(view)
            self._write_all(view)
        else:
            hasher = threading.Thread(target=self._digest.update, args=(view,), daemon=True)
            hasher.start()
            try:
                self._write_all(view)
            finally:
                hasher.join()
        self._position += view.nbytes
        return view.nbytes

    def _write_all(self, view: memoryview) -> None:
        while view:  # an unbuffered handle may write less than it was given
            view = view[self._handle.write(view) :]

    def seek(self, offset: int, whence: int = 0) -> int:
        self._position = self._handle.seek(offset, whence)
        self._digest = hashlib.sha256()
        self._in_order = self._position == 0
        return self._position

    def tell(self) -> int:
        return self._position

    def seekable(self) -> bool:
        return True

    def truncate(self, size: int | None = None) -> int:
        return self._handle.truncate(size)

    def flush(self) -> None:
        self._handle.flush()

    def fileno(self) -> int:
        return self._handle.fileno()

    def sha256(self) -> str | None:
        return self._digest.hexdigest() if self._in_order else None


class TokenBucket:
    """A bandwidth limit shared by every transfer in one direction; 0 means unlimited.

    `consume` is called from the transfer threads (in the client's progress callback) after
    each chunk and sleeps just long enough to keep the average rate; `set_rate` may change it
    while transfers run.
    """

    def __init__(
        self,
        rate: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._rate = rate
        self._tokens = 0.0
        self._stamp = clock()

    @property
    def rate(self) -> int:
        return self._rate

    def set_rate(self, value: int) -> None:
        """Change the limit, while transfers run too."""
        with self._lock:
            self._rate = max(0, value)
            self._tokens = 0.0
            self._stamp = self._clock()

    def consume(self, count: int) -> None:
        with self._lock:
            if self._rate <= 0:
                return
            now = self._clock()
            # Allow a burst of at most a quarter second of traffic.
            self._tokens = min(self._rate / 4, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= count
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
