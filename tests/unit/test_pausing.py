"""Pausing all pairs or one: flag files that `syncd pause` and the dashboard both write."""

from __future__ import annotations

from pathlib import Path

from syncd.pausing import paused_pairs, set_paused

NAMES = ("docs", "photos", "music")


def test_nothing_is_paused_at_first(tmp_path: Path) -> None:
    assert paused_pairs(tmp_path, NAMES) == frozenset()


def test_pause_and_resume_everything(tmp_path: Path) -> None:
    set_paused(tmp_path, NAMES, True)
    assert paused_pairs(tmp_path, NAMES) == frozenset(NAMES)
    set_paused(tmp_path, NAMES, False)
    assert paused_pairs(tmp_path, NAMES) == frozenset()


def test_pause_one_pair(tmp_path: Path) -> None:
    set_paused(tmp_path, NAMES, True, pair="photos")
    assert paused_pairs(tmp_path, NAMES) == {"photos"}
    set_paused(tmp_path, NAMES, False, pair="photos")
    assert paused_pairs(tmp_path, NAMES) == frozenset()


def test_resuming_one_pair_after_pausing_all_leaves_the_others_paused(tmp_path: Path) -> None:
    set_paused(tmp_path, NAMES, True)
    set_paused(tmp_path, NAMES, False, pair="docs")
    assert paused_pairs(tmp_path, NAMES) == {"photos", "music"}


def test_resuming_all_clears_single_pauses_too(tmp_path: Path) -> None:
    set_paused(tmp_path, NAMES, True, pair="music")
    set_paused(tmp_path, NAMES, False)
    assert paused_pairs(tmp_path, NAMES) == frozenset()


def test_the_global_flag_is_the_one_older_versions_wrote(tmp_path: Path) -> None:
    # A daemon started paused by an older `syncd pause` stays paused.
    (tmp_path / "paused").touch()
    assert paused_pairs(tmp_path, NAMES) == frozenset(NAMES)
