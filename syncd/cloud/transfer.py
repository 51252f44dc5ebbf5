"""Streaming upload and download, with retries that neither duplicate nor corrupt a file.

Upload: the documented multipart body (a `description` JSON part with `name`, `size` as a
string and `folder`, then the `file` part) generated chunk by chunk from a re-openable
source, with an exact Content-Length. A retry (or the auth layer's re-send after a 401)
iterates the body again, which re-opens the source. Because the service renames a second
upload of a name to `name(1).ext`, a re-send after a failure whose outcome is unknown first
lists the folder: a file with the requested name (or `name(n)`) and the same size created since
the upload began means the earlier attempt landed, and its id is returned instead.

Download: streamed to a file object with `Accept-Encoding: identity` (so offsets count the
bytes on the wire), resumed with `Range` after a failure, started over when the server answers
200 to a ranged request. A big file is fetched as ranges in parallel (`RangedDownload`) and
still written in order, so its destination sees what one stream would have written.

Progress callbacks run in the transferring thread, once per chunk, with its byte count. Bytes
re-sent by a retry are reported again (they cross the wire again). Whatever a callback raises
aborts the transfer at once and reaches the caller unchanged, never retried.
"""

from __future__ import annotations

import functools
import json
import logging
import mimetypes
import os
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import httpx

from syncd.cloud.errors import (
    CloudError,
    CloudUnavailable,
    ContentMismatch,
    MalformedResponse,
    ServerError,
    TransferIncomplete,
)
from syncd.cloud.models import FolderListing, RemoteFile, UploadResult
from syncd.errors import PathError

log = logging.getLogger(__name__)

# Called with the byte count of each chunk sent or received (see the module's doc).
Progress = Callable[[int], None]
DEFAULT_CHUNK = 256 * 1024
# Downloads at least this big are fetched as ranges of RANGE_SIZE, DOWNLOAD_STREAMS at once.
RANGED_MIN_SIZE = 64 << 20
RANGE_SIZE = 8 << 20
DOWNLOAD_STREAMS = 4
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")


class UploadSource(Protocol):
    """Something that can be read from the start as many times as a retry needs."""

    @property
    def name(self) -> str:
        """The name the file is uploaded under, unless the upload names another."""

    @property
    def size(self) -> int:
        """The exact number of bytes `open` yields: the upload announces it first."""

    def open(self) -> BinaryIO:
        """A new reader from byte 0 (the upload closes it). May raise `SourceChanged` when
        the content no longer has `size` bytes."""


class SourceChanged(PathError):
    """The local file changed size while it was being uploaded."""


@dataclass(frozen=True, slots=True)
class FileSource:
    """A local file, and the size it must still have when it is read."""

    path: Path
    name: str
    size: int

    @classmethod
    def of(cls, path: str | os.PathLike[str], name: str | None = None) -> FileSource:
        """The file at `path`, uploaded as `name` (default: its own). Raises `OSError` if
        it cannot be read."""
        p = Path(path)
        return cls(p, name or p.name, p.stat().st_size)

    def open(self) -> BinaryIO:
        """The file, opened afresh. Raises `SourceChanged` if its size changed since `of`,
        `OSError` if it cannot be opened."""
        handle = self.path.open("rb")
        size = os.fstat(handle.fileno()).st_size
        if size != self.size:
            handle.close()
            raise SourceChanged(str(self.path), f"changed size ({self.size} -> {size} bytes)")
        return handle


@dataclass(frozen=True, slots=True)
class BytesSource:
    """Bytes in memory, uploaded as `name`."""

    data: bytes
    name: str

    @property
    def size(self) -> int:
        """The number of bytes."""
        return len(self.data)

    def open(self) -> BinaryIO:
        """A reader of the bytes."""
        import io

        return io.BytesIO(self.data)


def as_source(source: UploadSource | str | os.PathLike[str], name: str | None) -> UploadSource:
    """`source` as an `UploadSource`: a path becomes a `FileSource` named `name` (default:
    the file's); a source is returned as it is. Raises `OSError` for a path it cannot read."""
    if isinstance(source, (str, os.PathLike)):
        return FileSource.of(source, name)
    return source


class ProgressAborted(Exception):
    """Carries what a progress callback raised past httpx and the retry loop."""

    def __init__(self, original: BaseException) -> None:
        """Carry `original`, what the callback raised."""
        super().__init__(repr(original))
        self.original = original


def guarded(progress: Progress | None) -> Progress | None:
    """`progress`, with whatever it raises wrapped in `ProgressAborted`, which the retry
    loop does not retry and the client unwraps; None stays None."""
    if progress is None:
        return None

    def call(count: int) -> None:
        try:
            progress(count)
        except Exception as exc:
            raise ProgressAborted(exc) from exc

    return call


def _quote_param(value: str) -> str:
    # What browsers do for multipart field values (HTML5): escape quotes and line breaks.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartUpload(httpx.SyncByteStream):
    """The upload body, generated on the fly; iterating again re-opens the source."""

    def __init__(
        self,
        source: UploadSource,
        *,
        name: str,
        folder_id: str | None,
        progress: Progress | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        """The body that uploads `source` as `name` into `folder_id` (None: the visible
        root), read `chunk_size` bytes at a time, reporting each to `progress`."""
        self._source = source
        self._size = source.size
        self._progress = progress
        self._chunk_size = chunk_size
        self._handle: BinaryIO | None = None
        boundary = f"{_boundary_source().getrandbits(128):032x}"
        description: dict[str, str] = {"name": name, "size": str(self._size)}
        if folder_id is not None:
            description["folder"] = folder_id
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._head = (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="description"\r\n\r\n'
            f"{json.dumps(description)}\r\n"
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{_quote_param(name)}"\r\n'
            f"Content-Type: {mime}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.content_length = len(self._head) + self._size + len(self._tail)

    @property
    def headers(self) -> dict[str, str]:
        """The request headers the body needs: its multipart type and exact length."""
        return {"Content-Type": self.content_type, "Content-Length": str(self.content_length)}

    def __iter__(self) -> Iterator[bytes]:
        self.close()
        self._handle = handle = self._source.open()
        try:
            if self._size <= self._chunk_size:
                # A small file goes out in one piece: one send instead of three.
                data = handle.read(self._size)
                if len(data) != self._size:
                    raise SourceChanged(self._source.name, "shrank while being uploaded")
                yield self._head + data + self._tail
                if self._progress is not None and data:
                    self._progress(len(data))
                return
            yield self._head
            remaining = self._size
            while remaining > 0:
                chunk = handle.read(min(self._chunk_size, remaining))
                if not chunk:
                    raise SourceChanged(self._source.name, "shrank while being uploaded")
                remaining -= len(chunk)
                yield chunk
                if self._progress is not None:
                    self._progress(len(chunk))
            yield self._tail
        finally:
            self.close()

    def close(self) -> None:
        """Close the source's reader, if one is open."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()


@functools.cache
def _boundary_source() -> random.Random:
    # A boundary only has to be absent from the body: a generator seeded once from the OS
    # does that as well as a fresh `secrets` call per upload, without a syscall each time.
    return random.Random()


_NUMBERED = re.compile(r"\(\d+\)")


def is_same_or_numbered(candidate: str, name: str) -> bool:
    """True for `name` itself or `name` with one `(n)` inserted (`a(1).txt` for `a.txt`)."""
    if candidate == name:
        return True
    return any(
        candidate[: m.start()] + candidate[m.end() :] == name for m in _NUMBERED.finditer(candidate)
    )


def find_landed_upload(
    listing: FolderListing, name: str, size: int, since: float
) -> RemoteFile | None:
    """The file an earlier, unanswered attempt stored, if the folder shows one: a file of
    that `size`, named `name` or `name(n)`, created at or after `since` (epoch seconds)."""
    matches = [
        f
        for f in listing.files
        if f.size == size
        and is_same_or_numbered(f.name, name)
        and f.creation_date.timestamp() >= since
    ]
    if not matches:
        return None
    # The exact name first: it is what an attempt that landed first would have got.
    matches.sort(key=lambda f: (f.name != name, -f.creation_date.timestamp()))
    return matches[0]


def parse_content_range(value: str | None) -> int | None:
    """The first byte position of a `Content-Range: bytes a-b/n` header."""
    span = content_range_span(value)
    return span[0] if span else None


def content_range_span(value: str | None) -> tuple[int, int, int | None] | None:
    """(first, last, total) of a `Content-Range: bytes a-b/n` header (total None for `*`)."""
    match = _CONTENT_RANGE.match((value or "").strip())
    if match is None:
        return None
    total = match.group(3)
    return int(match.group(1)), int(match.group(2)), None if total == "*" else int(total)


class UploadJob:
    """One upload; each call is one attempt, and `RetryPolicy.call` repeats it."""

    def __init__(
        self,
        source: UploadSource,
        *,
        folder_id: str | None,
        name: str,
        send: Callable[[MultipartUpload], UploadResult],
        list_folder: Callable[[str | None], FolderListing],
        refresh_if_expiring: Callable[[float], None],
        leeway_s: float,
        progress: Progress | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        clock: Callable[[], float] = time.time,
        dedupe_slack_s: float = 2.0,
    ) -> None:
        """An upload of `source` as `name` into `folder_id` (None: the visible root).

        `send` makes one request of a body; `list_folder` lists the folder, to spot an
        upload that landed without an answer; `refresh_if_expiring(s)` refreshes a token
        that would expire within s seconds, and is called with `leeway_s` plus the time an
        attempt took before it was cut. A file created up to `dedupe_slack_s` seconds before
        the job (by `clock`) still counts as one it stored: server clocks differ.
        """
        self._source = source
        self._folder_id = folder_id
        self._name = name
        self._send = send
        self._list_folder = list_folder
        self._refresh_if_expiring = refresh_if_expiring
        self._leeway_s = leeway_s
        self._progress = progress
        self._chunk_size = chunk_size
        self._clock = clock
        # Server dates have 1 s resolution and its clock is not ours: allow some slack.
        self._since = clock() - dedupe_slack_s
        self._outcome_unknown = False
        self.attempts = 0

    def __call__(self) -> UploadResult:
        """One attempt: the file an earlier attempt stored without an answer, if the
        folder shows one, else an upload. Raises what `send` raises."""
        if self._outcome_unknown:
            listing = self._list_folder(self._folder_id)
            landed = find_landed_upload(listing, self._name, self._source.size, self._since)
            if landed is not None:
                log.info("upload of %s had landed as %s; not re-sending", self._name, landed.name)
                return UploadResult(file_id=landed.id, file_name=landed.name)
        self.attempts += 1
        body = MultipartUpload(
            self._source,
            name=self._name,
            folder_id=self._folder_id,
            progress=self._progress,
            chunk_size=self._chunk_size,
        )
        began = self._clock()
        try:
            return self._send(body)
        except CloudUnavailable as exc:
            if exc.maybe_sent:
                self._outcome_unknown = True
                # The live service resets an upload whose token expired mid-way. The re-send
                # takes as long again, so the token must outlive that.
                elapsed = max(0.0, self._clock() - began)
                self._refresh_if_expiring(self._leeway_s + elapsed)
            raise
        except ServerError:
            # A 5xx after the whole body may still have stored the file.
            self._outcome_unknown = True
            raise
        finally:
            body.close()


class Downloader:
    """One download into `dest`, resumed with Range after a failure."""

    def __init__(
        self,
        stream: Callable[[httpx.URL, dict[str, str]], AbstractContextManager[httpx.Response]],
        iter_body: Callable[[httpx.Response], Iterator[bytes]],
        *,
        dest: BinaryIO,
        url: httpx.URL,
        expected_size: int | None,
        offset: int,
        progress: Progress | None,
        target: str,
    ) -> None:
        """A download of `url` into `dest`, which is positioned at byte `offset` of the file.

        `stream(url, headers)` opens a streamed reply (raising a `CloudError` for one that
        is not 2xx); `iter_body` reads its body. `expected_size` is the listed size (None:
        unknown); `target` is what errors name.
        """
        self._stream = stream
        self._iter_body = iter_body
        self._dest = dest
        self.url = url
        self._expected = expected_size
        self.position = offset
        self._progress = progress
        self.target = target
        self._base: int | None = None
        try:
            if dest.seekable():
                self._base = dest.tell() - offset
        except (OSError, ValueError):
            self._base = None

    def restart(self, url: httpx.URL, expected_size: int | None) -> None:
        """Start over from byte 0 of another version, at `url` (rewinds `dest`)."""
        self.url = url
        self._expected = expected_size
        if self.position:
            self._rewind()

    def done(self) -> bool:
        """Whether the whole listed size has been written."""
        return self._expected is not None and self.position >= self._expected

    def attempt(self) -> int:
        """One request, from where the last attempt stopped; returns the position reached in
        the file (its size, when known).

        Raises `TransferIncomplete` for a body that ends early (or a resume refused),
        `ContentMismatch` for one that is not the listed file, `MalformedResponse` for a
        206 without a usable `Content-Range`, `CloudError` when the server cannot resume and
        `dest` cannot be rewound, and what `stream` and `iter_body` raise.
        """
        if self.done() and self.position > 0:
            return self.position
        headers = {"Accept-Encoding": "identity"}
        if self.position > 0:
            headers["Range"] = f"bytes={self.position}-"
        try:
            with self._stream(self.url, headers) as response:
                self._position_for(response)
                self._check_length(response)
                limit = self._expected
                for chunk in self._iter_body(response):
                    if limit is not None and self.position + len(chunk) > limit:
                        # Never more than the listed size, whatever the body (a longer one,
                        # an endless one, an error page): the rest is not even read.
                        self._write(chunk[: limit - self.position])
                        raise ContentMismatch(
                            f"the cloud sent more than the {limit} bytes it lists for this "
                            f"file{_html_note(response)}; the download was stopped there",
                            target=self.target,
                        )
                    self._write(chunk)
        except CloudError as exc:
            if exc.status == 416 and self._expected is not None and self.position >= self._expected:
                return self.position
            if exc.status == 416:
                self._rewind()
                raise TransferIncomplete(
                    "the server refused to resume", target=self.target
                ) from exc
            raise
        if self._expected is not None and self.position != self._expected:
            raise TransferIncomplete(
                f"got {self.position} of {self._expected} bytes", target=self.target
            )
        return self.position

    def _write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._dest.write(chunk)
        self.position += len(chunk)
        if self._progress is not None:
            self._progress(len(chunk))

    def _check_length(self, response: httpx.Response) -> None:
        """A Content-Length that is not what is left of the listed size fails the download
        before a byte is written."""
        if self._expected is None:
            return
        announced = _content_length(response)
        remaining = self._expected - self.position
        if announced is not None and announced != remaining:
            raise ContentMismatch(
                f"the cloud announced {announced} bytes{_html_note(response)} for a file it "
                f"lists with {self._expected}; not downloaded",
                target=self.target,
            )

    def _position_for(self, response: httpx.Response) -> None:
        if response.status_code == 206:
            start = parse_content_range(response.headers.get("Content-Range"))
            if start == self.position:
                return
            if start is None:
                raise MalformedResponse("206 reply without a usable Content-Range")
        elif self.position == 0:
            return
        # A full reply (200) to a ranged request, or a range we did not ask for: start over.
        self._rewind()

    def _rewind(self) -> None:
        if self._base is None:
            raise CloudError(
                "the server cannot resume this download and the destination cannot be rewound",
                target=self.target,
            )
        self._dest.seek(self._base)
        self._dest.truncate()
        self.position = 0


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _html_note(response: httpx.Response) -> str:
    """Names an HTML page (a proxy's or a login page) sent in place of the file."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return " (an HTML page, not the file)" if kind == "text/html" else ""


class RangesRefused(Exception):
    """The server answered a range request with the whole file: fetch it as one stream."""


class Abandoned(Exception):
    """Another range of the same download failed: this one stops where it is."""


class RangeFetch:
    """Bytes [start, end) of one version of a file into `buffer`; each call is one attempt,
    resumed after what earlier attempts got (`RetryPolicy.call` repeats it).

    Bounded as a whole download is (`Downloader`): a 206 whose Content-Range is not the range
    asked for, or whose Content-Length disagrees, fails before a byte is kept, and nothing
    past `end` is ever kept.
    """

    def __init__(
        self,
        stream: Callable[[httpx.URL, dict[str, str]], AbstractContextManager[httpx.Response]],
        iter_body: Callable[[httpx.Response], Iterator[bytes]],
        *,
        url: httpx.URL,
        start: int,
        end: int,
        size: int,
        buffer: memoryview,
        progress: Progress | None,
        target: str,
        abandoned: threading.Event,
    ) -> None:
        """`stream` and `iter_body` are `Downloader`'s; `size` is the whole file's, which
        the `Content-Range` must state; `buffer` holds `end - start` bytes. `abandoned`,
        once set, stops the fetch at its next piece."""
        self._stream = stream
        self._iter_body = iter_body
        self.url = url
        self._start = start
        self._end = end
        self._size = size
        self._buffer = buffer
        self._progress = progress
        self._target = target
        self._abandoned = abandoned
        self.position = start

    def attempt(self) -> None:
        """One request for what is still missing of the range.

        Raises `Abandoned` once `abandoned` is set, `RangesRefused` for an answer other than
        206, `ContentMismatch` for a range or a length other than asked, `TransferIncomplete`
        for a body that ends early, and what `stream` and `iter_body` raise.
        """
        if self._abandoned.is_set():
            raise Abandoned
        if self.position >= self._end:
            return
        asked = (self.position, self._end - 1)
        headers = {"Accept-Encoding": "identity", "Range": f"bytes={asked[0]}-{asked[1]}"}
        with self._stream(self.url, headers) as response:
            if response.status_code != 206:
                raise RangesRefused
            span = content_range_span(response.headers.get("Content-Range"))
            if span != (*asked, self._size):
                raise ContentMismatch(
                    f"the cloud answered {response.headers.get('Content-Range')!r} to a "
                    f"request for bytes {asked[0]}-{asked[1]} of {self._size}; not downloaded",
                    target=self._target,
                )
            announced = _content_length(response)
            if announced is not None and announced != self._end - self.position:
                raise ContentMismatch(
                    f"the cloud announced {announced} bytes{_html_note(response)} for a range "
                    f"of {self._end - self.position}; not downloaded",
                    target=self._target,
                )
            for piece in self._iter_body(response):
                if self._abandoned.is_set():
                    raise Abandoned
                count = len(piece)
                if self.position + count > self._end:
                    raise ContentMismatch(
                        f"the cloud sent more than bytes {asked[0]}-{asked[1]} it was asked "
                        f"for{_html_note(response)}; the download was stopped there",
                        target=self._target,
                    )
                at = self.position - self._start
                self._buffer[at : at + count] = piece
                self.position += count
                if self._progress is not None:
                    self._progress(count)
        if self.position != self._end:
            raise TransferIncomplete(
                f"got {self.position - asked[0]} of bytes {asked[0]}-{asked[1]}",
                target=self._target,
            )


class RangedDownload:
    """A big download as ranges fetched in parallel, written in order.

    `fetch(start, end, buffer)` gets bytes [start, end) into `buffer`; the ranges run as
    tasks of `submit` (a pool the client shares between its downloads), at most `window` of
    them ahead of the writer, the calling thread, which hands each range to `write` in file
    order. So the destination receives the file as one stream would have delivered it: its
    hash is taken as it is written, and a partial file left by a failure or a crash holds
    only a whole prefix of the file, which a later download resumes. Memory: `window`
    buffers of `range_size` bytes.
    """

    def __init__(
        self,
        fetch: Callable[[int, int, memoryview], None],
        submit: Callable[[Callable[[], None]], Future[None]],
        *,
        start: int,
        size: int,
        range_size: int,
        window: int,
        abandoned: threading.Event,
    ) -> None:
        """Bytes [`start`, `size`) as ranges. `abandoned` is the event `fetch` watches: it
        is set when a range fails, for the others to stop."""
        self._fetch = fetch
        self._submit = submit
        self._size = size
        self._range_size = range_size
        self._window = max(1, window)
        self._abandoned = abandoned
        self.position = start  # what `write` has been given, from byte 0

    def run(self, write: Callable[[memoryview], object]) -> int:
        """Fetch the ranges and hand each to `write` in file order; returns `position`, the
        file's size. Raises the failure of the first range (in file order) that failed,
        once the others have stopped; `position` then says how much `write` was given."""
        starts = iter(range(self.position, self._size, self._range_size))
        free: list[bytearray] = []
        pending: deque[tuple[Future[None], memoryview, bytearray]] = deque()
        try:
            while True:
                while len(pending) < self._window:
                    start = next(starts, None)
                    if start is None:
                        break
                    end = min(start + self._range_size, self._size)
                    buffer = free.pop() if free else bytearray(self._range_size)
                    view = memoryview(buffer)[: end - start]
                    task = functools.partial(self._fetch, start, end, view)
                    pending.append((self._submit(task), view, buffer))
                if not pending:
                    return self.position
                future, view, buffer = pending.popleft()
                future.result()
                write(view)
                self.position += len(view)
                view.release()
                free.append(buffer)
        finally:
            if pending:  # a failure: stop the other ranges before the caller goes on
                self._abandoned.set()
                for future, _, _ in pending:
                    future.cancel()
                wait([future for future, _, _ in pending])
