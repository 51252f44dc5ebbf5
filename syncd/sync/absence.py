"""Confirmed absence: a local delete read from a cloud listing is checked before it happens.

A flat listing of a big tree arrives in pages, and how the service windows a page is not
documented; a page it leaves out, or a listing it cuts short, reads as "those files were
deleted in the cloud". So before the engine moves anything to the local trash because the
listing lacks it, it asks the cloud directly: one non-flat listing of the nearest folder the
listing still holds shows whether the missing child is really gone, for every missing path
below that child at once (a deleted folder of 1,000 files costs one call). Where the answer
contradicts the listing, those deletes are dropped and the pass says the listing was
incomplete. A pass with no such delete costs no call at all.

The grouping and the verdict are pure; the caller makes the calls.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from syncd.sync.model import DeleteLocal, Kind, Plan, RemoteEntry


@dataclass(frozen=True, slots=True)
class Verdict:
    """`contradicted`: deletes the cloud says must not happen (their item is still there);
    `unconfirmed`: deletes whose folder could not be listed (gone or changed meanwhile)."""

    contradicted: frozenset[str] = frozenset()
    unconfirmed: frozenset[str] = frozenset()

    @property
    def dropped(self) -> frozenset[str]:
        return self.contradicted | self.unconfirmed


def deletes_by_listed_folder(plan: Plan, remote: Mapping[str, RemoteEntry]) -> dict[str, list[str]]:
    """The local deletes of `plan` that the listing implies by leaving their path out, keyed
    by the nearest folder the listing still holds ("" for the pair's root)."""
    groups: dict[str, list[str]] = {}
    for action in plan.actions:
        if not isinstance(action, DeleteLocal) or action.rel_path in remote:
            continue
        folder = posixpath.dirname(action.rel_path)
        while folder and not _is_folder(remote.get(folder)):
            folder = posixpath.dirname(folder)
        groups.setdefault(folder, []).append(action.rel_path)
    return groups


@dataclass(frozen=True, slots=True)
class Children:
    """What a direct listing of one folder found in it: the names of its children, and
    whether some child could not be read (then any name may be there)."""

    names: frozenset[str]
    unreadable: bool = False


def judge(
    groups: Mapping[str, Iterable[str]],
    children: Callable[[str], Children | None],
) -> Verdict:
    """Check each group against what `children(folder)` says the cloud holds in it now (None
    when the folder could not be listed: it is gone, or changed, since the listing)."""
    contradicted: set[str] = set()
    unconfirmed: set[str] = set()
    for folder, paths in groups.items():
        found = children(folder)
        for rel_path in paths:
            if found is None:
                unconfirmed.add(rel_path)
                continue
            below = rel_path[len(folder) + 1 :] if folder else rel_path
            if found.unreadable or below.split("/", 1)[0] in found.names:
                contradicted.add(rel_path)
    return Verdict(frozenset(contradicted), frozenset(unconfirmed))


def without(plan: Plan, dropped: frozenset[str]) -> Plan:
    """`plan` without the local deletes of `dropped`."""
    if not dropped:
        return plan
    kept = tuple(
        action
        for action in plan.actions
        if not (isinstance(action, DeleteLocal) and action.rel_path in dropped)
    )
    return Plan(kept, plan.notes)


def _is_folder(entry: RemoteEntry | None) -> bool:
    return entry is not None and entry.kind is Kind.DIR
