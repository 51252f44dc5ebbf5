"""What the daemon tells its journal: one line per action applied, one per pass that did
something, one at start. Pure: each function turns what happened into a sentence (or None,
for what is not worth a line); the daemon logs them.

Lines name human paths (never a cloud id, never a hidden temporary's name) and readable
sizes: `uploaded notes/todo.txt (1.2 KiB)`, `trashed x.txt (deleted in the cloud)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from syncd import units
from syncd.sync.executor import Outcome
from syncd.sync.model import (
    Conflict,
    DeleteLocal,
    DeleteRemote,
    Download,
    Kind,
    MkdirLocal,
    MkdirRemote,
    MoveLocal,
    MoveRemote,
    Upload,
)
from syncd.sync.report import SyncReport


def _folder(rel_path: str, kind: Kind) -> str:
    return rel_path + "/" if kind is Kind.DIR else rel_path


def outcome_line(outcome: Outcome) -> str | None:
    """The journal line of one action that was applied, or None (failed, stale, or nothing a
    person would want to read: recording what both sides already agree on)."""
    if not outcome.ok:
        return None
    action = outcome.action
    if isinstance(action, Upload):
        return f"uploaded {action.rel_path} ({units.size(action.local.size)})"
    if isinstance(action, Download):
        return f"downloaded {action.rel_path} ({units.size(action.remote.size)})"
    if isinstance(action, MoveRemote):
        kind = action.remote.kind
        return f"moved {_folder(action.src, kind)} -> {_folder(action.dst, kind)} in the cloud"
    if isinstance(action, MoveLocal):
        kind = action.remote.kind
        return (
            f"moved {_folder(action.src, kind)} -> {_folder(action.dst, kind)} here "
            "(moved in the cloud)"
        )
    if isinstance(action, DeleteLocal):
        shown = _folder(action.rel_path, action.expected.kind)
        return f"trashed {shown} (deleted in the cloud)"
    if isinstance(action, DeleteRemote):
        shown = _folder(action.rel_path, action.expected.kind)
        return f"deleted {shown} in the cloud (deleted here)"
    if isinstance(action, MkdirLocal):
        return f"made folder {action.rel_path}/ here"
    if isinstance(action, MkdirRemote):
        return f"made folder {action.rel_path}/ in the cloud"
    if isinstance(action, Conflict):
        if outcome.conflict is None:
            return f"{action.rel_path}: same content on both sides, recorded"
        return f"conflict: {action.rel_path} kept both ({action.conflict_path})"
    return None


_PAST = {
    "upload": ("uploaded", None),
    "download": ("downloaded", None),
    "move-cloud": ("moved in the cloud", None),
    "move-local": ("moved here", None),
    "trash-local": ("trashed", None),
    "delete-cloud": ("deleted in the cloud", None),
    "mkdir-local": ("folder made here", "folders made here"),
    "mkdir-cloud": ("folder made in the cloud", "folders made in the cloud"),
    "conflict": ("conflict", "conflicts"),
    "equal": ("equal on both sides, recorded", None),
}


def pass_line(
    counts: Mapping[str, int],
    bytes_up: int,
    bytes_down: int,
    failures: int,
    seconds: float,
) -> str | None:
    """One line for a pass that did something; None for one that did nothing."""
    done = applied(counts)
    if not done and not failures:
        return None
    text = "pass done: " + (done or "nothing applied")
    if bytes_up or bytes_down:
        text += f"; {transferred(bytes_up, bytes_down)}"
    if failures:
        text += f"; {units.plural(failures, 'item')} failed (retried later)"
    return f"{text}; {seconds:.1f} s"


def report_line(report: SyncReport) -> str:
    """What a one-off sync did, in the same words: `2 uploaded, 1 downloaded; 1.5 KiB up,
    3.0 MiB down; 1 conflicted copy; 1 item failed`, or `nothing to do`."""
    text = applied(report.counts) or "nothing to do"
    if report.bytes_up or report.bytes_down:
        text += f"; {transferred(report.bytes_up, report.bytes_down)}"
    if report.conflicts:
        text += f"; {units.plural(len(report.conflicts), 'conflicted copy', 'conflicted copies')}"
    if report.failures:
        text += f"; {units.plural(len(report.failures), 'item')} failed"
    return text


def applied(counts: Mapping[str, int]) -> str:
    """What was applied, by kind of action (`outcome_name`s): `2 uploaded, 1 folder made
    here`; empty for nothing worth a word (only records of what both sides agree on)."""
    return ", ".join(_counted(name, counts[name]) for name in _PAST if counts.get(name))


def transferred(bytes_up: int, bytes_down: int) -> str:
    return f"{units.size(bytes_up)} up, {units.size(bytes_down)} down"


def _counted(name: str, count: int) -> str:
    verb, plural_form = _PAST[name]
    if plural_form is None:  # "3 uploaded"
        return f"{count} {verb}"
    return units.plural(count, verb, plural_form)


def start_line(
    version: str,
    pairs: Iterable[tuple[str, str, str]],
    poll_interval_s: float,
    upload_limit: int,
    download_limit: int,
) -> str:
    """`syncd 0.1.0 started: 1 pair (docs: /home/u/Docs <-> /Docs); poll every 60 s; ...`"""
    listed = list(pairs)
    shown = "; ".join(f"{name}: {local} <-> {remote}" for name, local, remote in listed)
    return (
        f"syncd {version} started: {units.plural(len(listed), 'pair')} ({shown}); "
        f"cloud polled every {poll_interval_s:g} s; "
        f"limits: up {units.rate(upload_limit)}, down {units.rate(download_limit)}"
    )
