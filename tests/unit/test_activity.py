"""The dashboard's view of the daemon: transfers with rates, the queue, the last actions."""

from __future__ import annotations

from syncd.activity import QUEUE_SHOWN, RECENT, Activity, RateMeter
from syncd.errors import PathError
from syncd.sync.executor import Cancelled, Outcome
from syncd.sync.model import (
    Conflict,
    Download,
    Kind,
    LocalEntry,
    MoveLocal,
    Plan,
    Record,
    RemoteEntry,
    Upload,
)

LOCAL = LocalEntry(Kind.FILE, 4000, 1, 1)
REMOTE = RemoteEntry(Kind.FILE, "id", 1000, 1, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make() -> tuple[Activity, Clock]:
    clock = Clock()
    return Activity(clock=clock, wall=lambda: 1_800_000_000.0), clock


def test_a_transfer_shows_its_progress_and_rate_then_leaves() -> None:
    activity, clock = make()
    pair = activity.pair("docs")
    upload = Upload("reports/q1.pdf", LOCAL)
    pair.plan(Plan((upload, Download("b.txt", REMOTE))))
    pair.start(upload)
    for _ in range(8):  # 1000 bytes every 0.25 s: 4000 B/s
        clock.now += 0.25
        pair.advance(upload, 1000)
    view = activity.snapshot().pairs["docs"]
    (transfer,) = view.transfers
    assert (transfer.rel_path, transfer.direction, transfer.size) == ("reports/q1.pdf", "up", 4000)
    assert transfer.done == 8000
    assert 3000 <= transfer.rate <= 5000
    assert 3000 <= view.rate_up <= 5000 and view.rate_down == 0
    assert [q.rel_path for q in view.queue] == ["b.txt"] and view.queued == 1

    pair.done(Outcome(upload, transferred=4000))
    view = activity.snapshot().pairs["docs"]
    assert view.transfers == () and view.queued == 1
    (recent,) = activity.snapshot().recent
    assert (recent.pair, recent.action, recent.rel_path, recent.error) == (
        "docs",
        "upload",
        "reports/q1.pdf",
        None,
    )


def test_the_rate_falls_to_zero_when_bytes_stop() -> None:
    clock = Clock()
    meter = RateMeter(clock.now)
    for _ in range(4):
        clock.now += 0.5
        meter.add(500, clock.now)
    assert meter.rate(clock.now) > 0
    clock.now += 10
    assert meter.rate(clock.now) == 0


def test_the_queue_shows_its_head_and_counts_the_rest() -> None:
    activity, _ = make()
    pair = activity.pair("docs")
    downloads = [Download(f"f{i:04}.txt", REMOTE) for i in range(QUEUE_SHOWN + 30)]
    pair.plan(Plan((Record("same.txt", None, None), *downloads)))
    view = activity.snapshot().pairs["docs"]
    assert view.queued == QUEUE_SHOWN + 30  # the record is bookkeeping, not queued work
    assert [q.rel_path for q in view.queue] == [d.rel_path for d in downloads[:QUEUE_SHOWN]]
    pair.idle()
    assert activity.snapshot().pairs["docs"].queued == 0


def test_recent_keeps_the_last_200_newest_first_with_failures_and_moves() -> None:
    activity, _ = make()
    pair = activity.pair("docs")
    for i in range(RECENT + 5):
        pair.done(Outcome(Download(f"f{i}.txt", REMOTE)))
    failed = Download("locked.txt", REMOTE)
    pair.done(Outcome(failed, error=PathError("locked.txt", "Permission denied")))
    pair.done(Outcome(MoveLocal("old/a.txt", "new/a.txt", LOCAL, REMOTE)))
    recent = activity.snapshot().recent
    assert len(recent) == RECENT
    assert (recent[0].action, recent[0].source, recent[0].rel_path) == (
        "move-local",
        "old/a.txt",
        "new/a.txt",
    )
    assert recent[1].error == "locked.txt: Permission denied"
    assert recent[-1].rel_path == "f7.txt"  # the oldest ones left


def test_stops_and_replans_are_not_news() -> None:
    activity, _ = make()
    pair = activity.pair("docs")
    download = Download("big.bin", REMOTE)
    pair.start(download)
    pair.done(Outcome(download, error=Cancelled("stopping")))
    pair.done(Outcome(Download("other.bin", REMOTE), stale=True))
    pair.done(Outcome(Record("same.txt", None, None)))
    snapshot = activity.snapshot()
    assert snapshot.recent == () and snapshot.pairs["docs"].transfers == ()


def test_what_the_daemon_publishes_and_what_the_pair_needs() -> None:
    activity, _ = make()
    pair = activity.pair("docs")
    pair.attention("this sync would delete 10 of 12 synced files")
    activity.publish({"state": "error", "upload_limit": 1000})
    snapshot = activity.snapshot()
    assert snapshot.status == {"state": "error", "upload_limit": 1000}
    assert snapshot.pairs["docs"].attention == "this sync would delete 10 of 12 synced files"
    pair.attention(None)
    assert activity.snapshot().pairs["docs"].attention is None


def test_a_conflict_that_found_both_sides_equal_is_shown_as_equal() -> None:
    activity, _ = make()
    pair = activity.pair("docs")
    conflict = Conflict("a.txt", LOCAL, REMOTE, "a (copy).txt", compare_first=True)
    pair.done(Outcome(conflict))  # no copy made: the contents were the same
    pair.done(Outcome(conflict, conflict=("a (copy).txt", "a.txt", "local")))
    assert [item.action for item in activity.snapshot().recent] == ["conflict", "equal"]
