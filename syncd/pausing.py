"""Which folder pairs are paused: flag files that `syncd pause` and the dashboard both write.

A pair is paused while the global flag (`<state_dir>/paused`, which every version wrote) or
its own (`<state_dir>/pairs/<name>/paused`) exists. Files rather than daemon memory: a
pause outlives a restart, and a command needs no connection to the daemon to set one.
The caller wakes the daemon afterwards (a signal, or in-process), which re-reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from syncd.status import PAUSE_FILE


def _pair_flag(state_dir: Path, name: str) -> Path:
    return state_dir / "pairs" / name / PAUSE_FILE


def paused_pairs(state_dir: Path, names: Iterable[str]) -> frozenset[str]:
    names = tuple(names)
    if (state_dir / PAUSE_FILE).exists():
        return frozenset(names)
    return frozenset(name for name in names if _pair_flag(state_dir, name).exists())


def set_paused(
    state_dir: Path, names: Sequence[str], paused: bool, *, pair: str | None = None
) -> None:
    """Pause or resume every pair of `names` (`pair` None), or just `pair`.

    Resuming one pair while all are paused turns "all" into "each of the others", so the
    others stay paused."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    everything = state_dir / PAUSE_FILE
    if pair is None:
        if paused:
            everything.touch()
            return
        everything.unlink(missing_ok=True)
        for name in names:
            _pair_flag(state_dir, name).unlink(missing_ok=True)
        return
    if not paused and everything.exists():
        for name in names:
            if name != pair:
                _flag(state_dir, name, True)
        everything.unlink()
    _flag(state_dir, pair, paused)


def _flag(state_dir: Path, name: str, on: bool) -> None:
    flag = _pair_flag(state_dir, name)
    if on:
        flag.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flag.touch()
    else:
        flag.unlink(missing_ok=True)
