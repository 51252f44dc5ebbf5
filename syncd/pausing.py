"""Which folder pairs are paused: flag files that `syncd pause` and the dashboard both write.

In the daemon's control folder (`compose.control_dir`), a pair is paused while the flag for
all of them (`paused`, as older versions wrote it) or its own (`paused.<name>`) exists.
Files rather than daemon memory: a pause outlives a restart, and a command needs no
connection to the daemon to set one. The caller wakes the daemon afterwards (a signal, or
in-process), which reads them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from syncd.status import PAUSE_FILE


def _pair_flag(control: Path, name: str) -> Path:
    # Pair names are letters, digits, '.', '_' and '-' (the config checks): a plain name.
    return control / f"{PAUSE_FILE}.{name}"


def paused_pairs(control: Path, names: Iterable[str]) -> frozenset[str]:
    names = tuple(names)
    if (control / PAUSE_FILE).exists():
        return frozenset(names)
    return frozenset(name for name in names if _pair_flag(control, name).exists())


def set_paused(
    control: Path, names: Sequence[str], paused: bool, *, pair: str | None = None
) -> None:
    """Pause or resume every pair of `names` (`pair` None), or just `pair`.

    Resuming one pair while all are paused turns "all" into "each of the others", so the
    others stay paused."""
    control.mkdir(parents=True, exist_ok=True, mode=0o700)
    everything = control / PAUSE_FILE
    if pair is None:
        if paused:
            everything.touch()
            return
        everything.unlink(missing_ok=True)
        for name in names:
            _pair_flag(control, name).unlink(missing_ok=True)
        return
    if not paused and everything.exists():
        for name in names:
            if name != pair:
                _flag(control, name, True)
        everything.unlink()
    _flag(control, pair, paused)


def _flag(control: Path, name: str, on: bool) -> None:
    flag = _pair_flag(control, name)
    if on:
        flag.touch()
    else:
        flag.unlink(missing_ok=True)
