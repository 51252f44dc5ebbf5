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
    assert describe(Upload("a.txt", LOCAL)) == "upload        a.txt (20.0 MiB)"
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
    assert out.out == "upload        a.txt (20.0 MiB)\n"
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
    assert "upload        big.iso (20.0 MiB)" in buffer.getvalue()
    # Sizes and rates in binary units, as everywhere else (rich's default is decimal).
    assert "20.0/20.0 MiB" in buffer.getvalue() and " MB" not in buffer.getvalue()


def test_the_rate_column_shows_binary_rates() -> None:
    from rich.progress import Progress

    from syncd.cli.bars import BinaryRateColumn

    clock = [0.0]
    progress = Progress(console=Console(file=io.StringIO()), get_time=lambda: clock[0])
    task_id = progress.add_task("x", total=10_000)
    column = BinaryRateColumn()
    assert str(column.render(progress.tasks[task_id])) == "?"
    progress.advance(task_id, 100)
    clock[0] = 1.0
    progress.advance(task_id, 1536)
    assert str(column.render(progress.tasks[task_id])) == "1.5 KiB/s"


def test_the_summary_counts_in_words_and_sizes_in_binary_units() -> None:
    from collections import Counter

    from syncd.journal import report_line
    from syncd.sync.engine import SyncReport

    report = SyncReport(
        counts=Counter(upload=2, download=1, record=3, conflict=1),
        failures={"x": "boom"},
        conflicts=["c (conflicted copy).txt"],
        bytes_up=1536,
        bytes_down=3 * 1024**2,
    )
    assert report_line(report) == (
        "2 uploaded, 1 downloaded, 1 conflict; 1.5 KiB up, 3.0 MiB down; "
        "1 conflicted copy; 1 item failed"
    )
    report.conflicts.append("d (conflicted copy).txt")
    report.failures["y"] = "boom"
    assert report_line(report).endswith("; 2 conflicted copies; 2 items failed")
    assert report_line(SyncReport(counts=Counter(record=2))) == "nothing to do"
