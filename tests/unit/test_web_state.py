"""What the dashboard shows: the state word of a pair, the page's document, the details cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.activity import Activity
from syncd.config import Config, Defaults, PairConfig, parse_config
from syncd.details import PairDetails
from syncd.store import ConflictRecord
from syncd.web.state import (
    DETAILS_TTL_S,
    Details,
    PairFacts,
    overall_state,
    page_state,
    pair_state,
)


@pytest.mark.parametrize(
    ("state", "attention", "conflicts", "shown"),
    [
        ("idle", None, 0, "idle"),
        ("idle", None, 2, "needs-you"),
        ("error", "this sync would delete 9 of 10 synced files", 0, "needs-you"),
        ("error", None, 0, "error"),  # e.g. the disk is full: not the user's to settle here
        ("offline", None, 1, "needs-you"),
        ("syncing", None, 1, "syncing"),  # busy first; the conflicts show when it is done
        ("paused", "anything", 1, "paused"),  # the user chose it
        ("starting", None, 0, "starting"),
    ],
)
def test_the_word_on_a_pair_card(
    state: str, attention: str | None, conflicts: int, shown: str
) -> None:
    assert pair_state(state, attention, conflicts) == shown


def test_work_under_way_is_syncing_before_the_status_says_so() -> None:
    # The activity is live; the status the daemon publishes each second may lag behind it.
    assert pair_state("idle", None, 1, busy=True) == "syncing"
    assert pair_state("paused", None, 0, busy=True) == "paused"


@pytest.mark.parametrize(
    ("states", "shown"),
    [
        (["idle", "idle"], "idle"),
        (["idle", "syncing"], "syncing"),
        (["syncing", "needs-you"], "needs-you"),
        (["needs-you", "error"], "error"),
        (["paused", "idle"], "idle"),  # one pair paused: syncd as a whole is not
        (["paused", "paused"], "paused"),
        ([], "starting"),
    ],
)
def test_the_word_in_the_header(states: list[str], shown: str) -> None:
    assert overall_state(states) == shown


def _config(tmp_path: Path) -> Config:
    text = "pairs:\n" + "".join(
        f"  - {{name: {name}, local: {tmp_path / name}}}\n" for name in ("docs", "photos")
    )
    defaults = Defaults(home=tmp_path, state_dir=tmp_path / "state")
    return parse_config(text, source=None, defaults=defaults)


def test_the_page_joins_status_activity_and_the_stores(tmp_path: Path) -> None:
    config = _config(tmp_path)
    activity = Activity()
    activity.pair("docs").attention("the local folder is missing")
    activity.publish(
        {
            "state": "error",
            "updated": 5.0,
            "free_space": 1000,
            "pairs": {
                "docs": {"state": "error", "message": "stopped"},
                "photos": {"state": "idle"},
            },
            "upload_limit": 0,
            "download_limit": 500,
        }
    )
    conflict = ConflictRecord("a (conflicted copy).txt", "a.txt", "remote", 1.0)
    facts = {"photos": PairFacts(PairDetails(conflicts=(conflict,), excluded=("big",)), (), 0)}
    page = page_state(config, activity.snapshot(), facts, frozenset({"photos"}))
    docs, photos = page["pairs"]
    assert (docs["name"], docs["state"], docs["message"]) == (
        "docs",
        "needs-you",
        "the local folder is missing",
    )
    assert (photos["state"], photos["paused"], photos["excluded"]) == ("needs-you", True, ["big"])
    assert photos["conflicts"][0]["copy_holds"] == "cloud"
    assert page["all_paused"] is False and page["free_space"] == 1000
    assert page["limits"] == {"upload_limit": 0, "download_limit": 500}
    everything = page_state(config, activity.snapshot(), facts, frozenset({"docs", "photos"}))
    assert everything["all_paused"] is True


def test_before_the_daemon_published_anything_the_pairs_are_starting(tmp_path: Path) -> None:
    page = page_state(_config(tmp_path), Activity().snapshot(), {}, frozenset())
    assert page["state"] == "starting"
    assert [p["state"] for p in page["pairs"]] == ["starting", "starting"]


def test_the_stores_are_read_at_most_every_few_seconds_and_after_a_change(
    tmp_path: Path,
) -> None:
    now = [0.0]
    reads: list[str] = []

    def read(_config: Config, pair: PairConfig) -> PairFacts:
        reads.append(pair.name)
        return PairFacts(PairDetails(), (), 0)

    details = Details(_config(tmp_path), clock=lambda: now[0], read=read)
    details.get()
    now[0] += DETAILS_TTL_S / 2
    details.get()
    assert reads == ["docs", "photos"]
    now[0] += DETAILS_TTL_S
    details.get()
    assert len(reads) == 4
    details.invalidate()
    details.get()
    assert len(reads) == 6
