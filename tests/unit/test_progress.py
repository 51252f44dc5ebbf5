"""What `syncd sync` prints: plan lines, plain per-action lines, and the rich bars."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from syncd.cli.progress import PlainDisplay, RichDisplay, describe
from syncd.sync.executor import Outcome
from syncd.sync.model import (
    Conflict,
    Download,
    Kind,
    LocalEntry,
    MoveRemote,
    Plan,
    Record,
    RemoteEntry,
    Upload,
)

LOCAL = LocalEntry(Kind.FILE, 20 * 1024 * 1024, 1, 1)
REMOTE = RemoteEntry(Kind.FILE, "id", 5, 1, 1)


def test_describe_names_every_action_plainly() -> None:
    assert describe(Upload("a.txt", LOCAL)) == f"upload        a.txt ({LOCAL.size} B)"
    assert describe(Download("b.txt", REMOTE)) == "download      b.txt (5 B)"
    assert describe(MoveRemote("a", "b", REMOTE, LOCAL)) == "move-cloud    a -> b"
    conflict = Conflict("c.txt", LOCAL, REMOTE, "c (copy).txt", compare_first=True)
    assert describe(conflict) == (
        "conflict      c.txt (the cloud version keeps the name; the other becomes "
        "c (copy).txt, comparing contents first)"
    )


def test_plain_display_prints_finished_actions_and_failures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    display = PlainDisplay(quiet=False)
    display.done(Outcome(Upload("a.txt", LOCAL)))
    display.done(Outcome(Record("r", None, None)))
    display.done(Outcome(Download("b.txt", REMOTE), error=OSError("disk on fire")))
    out = capsys.readouterr()
    assert out.out == f"upload        a.txt ({LOCAL.size} B)\n"
    assert out.err == "failed        b.txt: disk on fire\n"


def test_rich_display_tracks_bytes_and_gives_big_files_their_own_bar() -> None:
    buffer = io.StringIO()
    display = RichDisplay(Console(file=buffer, force_terminal=True, width=100))
    big = Upload("big.iso", LOCAL)
    display.plan(Plan((big, Download("small.txt", REMOTE), Record("x", None, None))))
    display.start(big)
    assert "big.iso" in display._bars
    display.advance(big, LOCAL.size)
    display.done(Outcome(big))
    assert "big.iso" not in display._bars
    tasks = {task.description.split()[0]: task for task in display.progress.tasks}
    assert tasks["syncing"].total == LOCAL.size + 5
    assert tasks["syncing"].completed == LOCAL.size
    assert "syncing 1/2 items" in tasks["syncing"].description
    display.close()
    assert "upload        big.iso" in buffer.getvalue()
