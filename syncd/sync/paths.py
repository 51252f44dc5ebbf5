"""Relative paths inside a folder pair, and the rules a name must keep to exist on both sides.

A `RelPath` is POSIX, relative to the pair's root, with no leading slash, no `.` or `..`
component, and `""` for the root itself. The local side and the cloud side share these
rules: a name that breaks them (`/`, NUL, `.`, `..`, more than 255 bytes) is never written
anywhere and never read as deleted.

Pure: no I/O.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeAlias

from syncd.errors import PathError

RelPath: TypeAlias = str
NAME_MAX = 255


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a file name on both sides, or None if it can."""
    if name in ("", ".", ".."):
        return f"name {name!r} is reserved"
    if "/" in name or "\0" in name:
        return "name contains '/' or NUL"
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not valid UTF-8"
    if len(encoded) > NAME_MAX:
        return f"name is {len(encoded)} bytes long (the limit is {NAME_MAX})"
    return None


def rel_path_problem(rel_path: RelPath) -> str | None:
    for name in rel_path.split("/"):
        problem = name_problem(name)
        if problem is not None:
            return problem
    return None


def refuse_unsafe(rel_path: RelPath) -> None:
    """Raise `PathError` unless `rel_path` is a plain relative path that stays below a root."""
    problem = rel_path_problem(rel_path)
    if problem is not None:
        raise PathError(rel_path, problem)


def parent_of(rel_path: RelPath) -> RelPath:
    return posixpath.dirname(rel_path)


def ancestors(rel_path: RelPath) -> Iterator[RelPath]:
    """The folders above `rel_path`, nearest first (the root, "", is not one)."""
    parent = parent_of(rel_path)
    while parent:
        yield parent
        parent = parent_of(parent)


def is_within(rel_path: RelPath, folder: RelPath) -> bool:
    """Is `rel_path` the folder `folder` or below it? (Everything is within the root.)"""
    return not folder or rel_path == folder or rel_path.startswith(folder + "/")


def is_blocked(rel_path: RelPath, blocked: frozenset[RelPath]) -> bool:
    """Is `rel_path`, or a folder above it, in `blocked`?"""
    if not blocked:
        return False
    return rel_path in blocked or any(folder in blocked for folder in ancestors(rel_path))


def outermost(paths: Iterable[RelPath]) -> list[RelPath]:
    """The paths not below another of them, sorted ([""] when the root is among them)."""
    chosen: list[RelPath] = []
    for path in sorted(set(paths)):
        if not path:
            return [""]
        if not any(is_within(path, done) for done in chosen):
            chosen.append(path)
    return chosen


def conflict_path(
    rel_path: RelPath, now: str, host: str, taken: Mapping[str, object] | set[str]
) -> RelPath:
    """`dir/name (conflicted copy 2026-11-26 175502 host).ext`, unique among `taken`."""
    folder, name = posixpath.split(rel_path)
    stem, ext = posixpath.splitext(name)
    if not stem:  # a dotfile such as ".bashrc" has no extension
        stem, ext = name, ""
    label = f"conflicted copy {now} {host}"
    candidate = posixpath.join(folder, f"{stem} ({label}){ext}")
    counter = 2
    while candidate in taken:
        candidate = posixpath.join(folder, f"{stem} ({label} {counter}){ext}")
        counter += 1
    return candidate
