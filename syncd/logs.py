"""Logging set-up: journald-friendly under systemd, timestamps otherwise, optional file.

Under systemd, stderr goes to the journal ($JOURNAL_STREAM names it): the journal adds the
time, and a `<N>` prefix gives each line its priority. Token values never reach a log line:
the client redacts them, and `RedactingFilter` masks anything that looks like one anyway.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from syncd.text import printable

_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
# OAuth tokens of the service ("OFR-" + hex) and bearer headers, wherever they appear.
_SECRET = re.compile(r"(OFR-[0-9A-Za-z]{8})[0-9A-Za-z]+|(Bearer\s+)[^\s\"']+")


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is when a record comes (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


class JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{record.name}: {super().format(record)}"


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "…", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class EscapingFilter(logging.Filter):
    """Names reach log lines (paths, errors that quote them): their control characters and
    escape sequences are shown escaped (`printable`), never sent to a terminal, a log file
    or the journal raw; so are those of a record's traceback, line by line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = printable(message)
        if shown != message:
            record.msg, record.args = shown, None
        if record.exc_info and not record.exc_text:
            # Formatters use the cached text rather than formatting the exception again.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = "\n".join(printable(line) for line in text.split("\n"))
        return True


def under_journal(environ: Mapping[str, str] | None = None, stream_fd: int = 2) -> bool:
    env = os.environ if environ is None else environ
    value = env.get("JOURNAL_STREAM", "")
    if ":" not in value:
        return False
    device, inode = value.split(":", 1)
    try:
        st = os.fstat(stream_fd)
    except OSError:
        return False
    return f"{st.st_dev}:{st.st_ino}" == f"{device}:{inode}"


def setup_logging(
    *,
    verbose: int = 0,
    level: str = "info",
    log_file: Path | None = None,
    max_bytes: int = 10 * 1024**2,
    backups: int = 3,
    environ: Mapping[str, str] | None = None,
) -> None:
    chosen = logging.DEBUG if verbose else getattr(logging, level.upper(), logging.INFO)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(chosen)
    console = _StderrHandler()
    if under_journal(environ):
        console.setFormatter(JournalFormatter("%(message)s"))
    else:
        console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    console.addFilter(RedactingFilter())
    console.addFilter(EscapingFilter())
    root.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        rotating.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        rotating.addFilter(RedactingFilter())
        rotating.addFilter(EscapingFilter())
        root.addHandler(rotating)
    # Third-party chatter only with -vv.
    noisy = logging.DEBUG if verbose >= 2 else logging.WARNING
    for name in ("httpx", "httpcore", "alembic", "watchdog"):
        logging.getLogger(name).setLevel(noisy)
    # stamina logs every scheduled retry at WARNING with no cause; our client logs the cause.
    logging.getLogger("stamina").setLevel(logging.DEBUG if verbose >= 2 else logging.ERROR)
