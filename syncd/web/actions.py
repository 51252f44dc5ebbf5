"""The page's buttons, each through the same `syncd.controls` function as its CLI command.

A command then signals the daemon; the page runs inside it, so it calls `wake` (the
daemon's `reload_controls`) instead. Each action answers one line for the page to show,
or raises `ActionError` with a message that names the problem (and human paths only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from syncd import controls, units
from syncd.config import Config, PairConfig, parse_size
from syncd.errors import SyncdError

KEEPS = ("local", "remote", "both")


class ActionError(Exception):
    """A request the page may not make, or that failed: `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _optional_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ActionError(f"{key!r} must be a string")
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = _optional_text(body, key)
    if value is None or not value.strip():
        raise ActionError(f"{key!r} is missing (a non-empty string)")
    return value


def _rate(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ActionError(f"{key!r} is not a rate")
    try:
        rate = parse_size(value.strip() if isinstance(value, str) else value)
    except ValueError as exc:
        raise ActionError(f"{key}: {exc}") from None
    if not isinstance(rate, int) or rate < 0:
        raise ActionError(f"{key!r} is not a rate: {value!r}")
    return rate


@dataclass
class Levers:
    """What the page may do to the daemon of `config`, whose control folder (pause flags,
    limits) is `control`."""

    config: Config
    control: Path
    wake: Callable[[], None]
    rescan: Callable[[str | None], None]
    now: Callable[[], datetime] = datetime.now
    _actions: dict[str, Callable[[Mapping[str, Any]], str]] = field(init=False)

    def __post_init__(self) -> None:
        self._actions = {
            "pause": lambda body: self._pause(body, True),
            "resume": lambda body: self._pause(body, False),
            "rescan": self._rescan,
            "limits": self._limits,
            "resolve": self._resolve,
            "restore": self._restore,
            "exclude": self._exclude,
            "include": self._include,
        }

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._actions)

    def perform(self, name: str, body: Mapping[str, Any]) -> str:
        action = self._actions.get(name)
        if action is None:
            raise ActionError(f"no such action: {name!r}", status=404)
        try:
            message = action(body)
        except SyncdError as exc:
            raise ActionError(str(exc)) from None
        self.wake()
        return message

    # --- the actions ---------------------------------------------------------------------

    def _pair(self, body: Mapping[str, Any]) -> PairConfig:
        return self.config.pair(_text(body, "pair"))

    def _pause(self, body: Mapping[str, Any], paused: bool) -> str:
        name = _optional_text(body, "pair")
        controls.pause(self.config, self.control, paused, name)
        verb = "paused" if paused else "resumed"
        return f"{verb} {name}" if name else f"{verb} every folder pair"

    def _rescan(self, body: Mapping[str, Any]) -> str:
        name = _optional_text(body, "pair")
        if name is not None:
            self.config.pair(name)
        self.rescan(name)
        return f"rescanning {name or 'every folder pair'}"

    def _limits(self, body: Mapping[str, Any]) -> str:
        if body.get("reset") is True:
            controls.clear_limits(self.control)
        else:
            controls.write_limits(self.control, _rate(body, "upload"), _rate(body, "download"))
        limits = controls.limits_in_force(self.config, self.control)
        up, down = limits["upload_limit"], limits["download_limit"]
        return f"limits: up {units.rate(up)}, down {units.rate(down)}"

    def _resolve(self, body: Mapping[str, Any]) -> str:
        pair = self._pair(body)
        keep = _text(body, "keep")
        if keep not in KEEPS:
            raise ActionError(f"'keep' must be one of {', '.join(KEEPS)}, not {keep!r}")
        done = controls.resolve(self.config, pair, _text(body, "path"), keep, self.now())
        kept = {"local": "this computer's", "remote": "the cloud's", "both": "both"}[keep]
        message = f"{done.kept}: kept {kept} version" + ("s" if keep == "both" else "")
        if done.moved_to_trash:
            message += f"; the other went to the trash ({done.moved_to_trash})"
        return message

    def _restore(self, body: Mapping[str, Any]) -> str:
        pair = self._pair(body)
        target = _optional_text(body, "as")
        where = controls.restore(pair.local_root, _text(body, "path"), target=target)
        return f"restored {where.relative_to(pair.local_root)}"

    def _exclude(self, body: Mapping[str, Any]) -> str:
        pair = self._pair(body)
        rel_path = controls.normalise_rel(_text(body, "path"))
        local = controls.exclude(self.config, pair, rel_path)
        kept = f"; the local copy {local} stays, unsynced" if local is not None else ""
        return f"{rel_path} is no longer synced to this computer{kept}"

    def _include(self, body: Mapping[str, Any]) -> str:
        pair = self._pair(body)
        rel_path = controls.normalise_rel(_text(body, "path"))
        controls.include(self.config, pair, rel_path)
        return f"{rel_path} is synced again"
