"""Which paths are not synced: gitignore-style patterns from the config plus built-in ones.

An excluded path is invisible on both sides and in the base alike, so adding a pattern never
reads as a delete, and removing one simply makes the items appear (and sync) again.
"""

from __future__ import annotations

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
    ) -> None:
        self.patterns = (*(BUILTIN_PATTERNS if builtin else ()), *patterns)
        self.folders = frozenset(folders)
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def excluded(self, rel_path: str, is_dir: bool) -> bool:
        if self.folders and self.in_folders(rel_path):
            return True
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
