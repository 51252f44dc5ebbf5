"""Local change hints from watchdog. Events are hints, never facts: each names a path whose
subtree the engine rescans and compares with the base, so a lost, doubled or reordered event
can delay a sync but never change its outcome.

The watchdog handler runs on watchdog's thread and only enqueues. inotify drops events when
its queue overflows and then only logs a warning; we listen for that warning and ask for a
full rescan, as we do when the observer dies or cannot start (watch limits).
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from syncd.sync.localfs import STATE_DIR_NAME

log = logging.getLogger(__name__)

FULL_RESCAN = ""  # the rel_path of the root: rescan everything
_OVERFLOW_LOGGER = "watchdog.observers.inotify_c"
# Only events that can mean a change. Opens and read-only closes are the bulk of what a walk
# of a big tree produces (our own scans included), and on 10,000 folders they overflow the
# kernel queue, which watchdog answers with a re-walk: a loop that never ends.
EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
    FileMovedEvent,
    DirMovedEvent,
]
# At most one full rescan per this many seconds because of overflows.
_OVERFLOW_COOLDOWN = 30.0


class ObserverLike(Protocol):
    def schedule(
        self,
        handler: Any,
        path: str,
        *,
        recursive: bool = ...,
        event_filter: list[type[FileSystemEvent]] | None = ...,
    ) -> Any: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def join(self, timeout: float | None = ...) -> None: ...

    def is_alive(self) -> bool: ...


class _Handler(FileSystemEventHandler):
    def __init__(self, root: str, hint: Callable[[str], None]) -> None:
        self.root = root
        self.hint = hint

    def on_any_event(self, event: FileSystemEvent) -> None:
        # A folder's own "modified" only says its listing changed: the child's event covers
        # it. Opens and read-only closes change nothing.
        if isinstance(event, DirModifiedEvent | FileOpenedEvent | FileClosedNoWriteEvent):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = os.fsdecode(raw)
            rel_path = os.path.relpath(path, self.root)
            if rel_path == ".":
                self.hint(FULL_RESCAN)
            elif not rel_path.startswith("..") and rel_path.split(os.sep)[0] != STATE_DIR_NAME:
                self.hint(rel_path.replace(os.sep, "/"))


class _OverflowListener(logging.Handler):
    def __init__(
        self, on_overflow: Callable[[], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(logging.WARNING)
        self.on_overflow = on_overflow
        self.clock = clock
        self._last = -_OVERFLOW_COOLDOWN

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" not in record.getMessage().lower():
            return
        now = self.clock()
        if now - self._last >= _OVERFLOW_COOLDOWN:
            self._last = now
            self.on_overflow()


def watch_limit_advice(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return (
            "the inotify watch limit is reached (one watch per folder); raise it with "
            "`sudo sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.d/ to keep "
            "it). Until then changes are found by periodic full rescans."
        )
    if exc.errno == errno.EMFILE:
        return (
            "the inotify instance limit is reached; raise `fs.inotify.max_user_instances`. "
            "Until then changes are found by periodic full rescans."
        )
    return f"cannot watch the folder ({exc}); changes are found by periodic full rescans"


class Watcher:
    """Watches one root and calls `hint(rel_path)` (from watchdog's thread) per change."""

    def __init__(
        self,
        root: Path,
        hint: Callable[[str], None],
        *,
        observer_factory: Callable[[], ObserverLike] | None = None,
    ) -> None:
        self.root = root
        self.hint = hint
        self._factory = observer_factory or _default_observer
        self._observer: ObserverLike | None = None
        self._listener = _OverflowListener(lambda: hint(FULL_RESCAN))
        self.problem: str | None = None
        self._lock = threading.Lock()

    def start(self) -> bool:
        """Start watching; False (with `problem` set) if the OS refused, e.g. watch limits."""
        with self._lock:
            logging.getLogger(_OVERFLOW_LOGGER).addHandler(self._listener)
            observer = self._factory()
            try:
                observer.schedule(
                    _Handler(str(self.root), self.hint),
                    str(self.root),
                    recursive=True,
                    event_filter=EVENTS,
                )
                observer.start()
            except OSError as exc:
                self.problem = watch_limit_advice(exc)
                log.warning("%s: %s", self.root, self.problem)
                _stop_quietly(observer)
                return False
            self._observer = observer
            self.problem = None
            return True

    def alive(self) -> bool:
        return self._observer is not None and self._observer.is_alive()

    def restart(self) -> bool:
        """After the observer died (or the root came back): start again, rescan everything."""
        self.stop()
        started = self.start()
        self.hint(FULL_RESCAN)
        return started

    def stop(self) -> None:
        with self._lock:
            logging.getLogger(_OVERFLOW_LOGGER).removeHandler(self._listener)
            observer, self._observer = self._observer, None
        if observer is not None:
            _stop_quietly(observer)


def _default_observer() -> ObserverLike:
    from watchdog.observers import Observer

    # A folder moved within the tree (into our trash, say) keeps its inotify watch, and
    # watchdog warns when it re-registers the same callback on it. The callback is simply
    # replaced, so the warning is noise on stderr (and an error under strict filters).
    warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)
    return Observer()


def _stop_quietly(observer: ObserverLike) -> None:
    try:
        observer.stop()
        observer.join(timeout=5)
    except (OSError, RuntimeError):
        pass
