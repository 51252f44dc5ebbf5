"""Run `syncd` on a pseudo-terminal, as a person would: its stdin, stdout and stderr a real
terminal, its questions answered as they come."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Sequence


def on_a_terminal(
    args: Sequence[str], answers: Sequence[tuple[bytes, bytes]], *, timeout: float = 60
) -> tuple[int, str]:
    """Run `syncd ARGS` on a terminal; for each (question, answer) in turn, wait for the
    question to show, then type the answer. Its exit code and all it wrote."""
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd", *args],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        close_fds=True,
    )
    os.close(child_fd)
    seen, asked_up_to, pending = b"", 0, list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # the child closed the terminal: it has ended
                break
            if not chunk:
                break
            seen += chunk
            while pending and pending[0][0] in seen[asked_up_to:]:
                question, answer = pending.pop(0)
                asked_up_to = seen.index(question, asked_up_to) + len(question)
                os.write(main_fd, answer)
        code = proc.wait(timeout=timeout)
    finally:
        os.close(main_fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    shown = seen.decode(errors="replace")
    assert not pending, f"never asked {pending[0][0]!r}; it wrote:\n{shown}"
    return code, shown
