"""Which paths are not synced: gitignore-style patterns from the config plus built-in ones.

An excluded path is invisible on both sides and in the base alike, so adding a pattern never
reads as a delete, and removing one simply makes the items appear (and sync) again.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

import pathspec

# Our own files, then what editors and desktops leave behind while they work.
BUILTIN_PATTERNS: tuple[str, ...] = (
    "/.syncd/",
    "*.syncd-partial",
    ".syncd-upload-*",
    "*.swp",
    "*.swo",
    "*.swx",
    "4913",
    "*~",
    ".#*",
    "#*#",
    ".~lock.*#",
    "~$*",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
)


STATE_DIR = ".syncd"
_BUILTIN_NAMES = re.compile(
    "|".join(fnmatch.translate(p) for p in BUILTIN_PATTERNS if not p.startswith("/"))
)


class Excludes:
    """`excluded(rel_path, is_dir)` answers for one path; its ancestors are checked by walks.

    `folders` are exact rel_paths left out by selective sync (`syncd exclude add`): kept out
    of the local side, untouched in the cloud.
    """

    def __init__(
        self,
        patterns: Iterable[str] = (),
        *,
        builtin: bool = True,
        folders: Iterable[str] = (),
        private: Iterable[str] = (),
    ) -> None:
        self.user_patterns = tuple(patterns)
        self.patterns = (*(BUILTIN_PATTERNS if builtin else ()), *self.user_patterns)
        self.builtin = builtin
        self.folders = frozenset(folders)
        # syncd's own files that lie inside the root (its state, token, log, config): never
        # synced, whatever the config says. Walks stop at a folder, so exact paths suffice.
        self.private = frozenset(private)
        # pathspec tries each pattern's regex in turn, for every path of every scan; the
        # built-in ones are all plain file-name globs, so one regex on the name does.
        self._spec = (
            pathspec.GitIgnoreSpec.from_lines(self.user_patterns) if self.user_patterns else None
        )

    def key(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What decides which paths are excluded: equal keys, equal decisions."""
        return self.patterns, tuple(sorted(self.folders | self.private))

    def with_folders(self, folders: Iterable[str]) -> Excludes:
        """The same excludes, with these folders left out by selective sync."""
        return Excludes(
            self.user_patterns, builtin=self.builtin, folders=folders, private=self.private
        )

    def excluded(self, rel_path: str, is_dir: bool) -> bool:
        if self.private and rel_path in self.private:
            return True
        if self.builtin:
            if rel_path == STATE_DIR or rel_path.startswith(STATE_DIR + "/"):
                return True
            if _BUILTIN_NAMES.match(rel_path.rpartition("/")[2]):
                return True
        if self.folders and self.in_folders(rel_path):
            return True
        if self._spec is None:
            return False
        return self._spec.match_file(rel_path + "/" if is_dir else rel_path)

    def in_folders(self, rel_path: str) -> bool:
        """Is `rel_path` one of the selectively excluded folders, or inside one?"""
        if rel_path in self.folders:
            return True
        parts = rel_path.split("/")
        return any("/".join(parts[:depth]) in self.folders for depth in range(1, len(parts)))

    def excluded_or_below(self, rel_path: str, is_dir: bool) -> bool:
        """Also true when an ancestor folder is excluded (for paths not reached by a walk)."""
        parts = rel_path.split("/")
        for depth in range(1, len(parts)):
            if self.excluded("/".join(parts[:depth]), True):
                return True
        return self.excluded(rel_path, is_dir)
