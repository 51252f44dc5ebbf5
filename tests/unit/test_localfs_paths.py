"""Where a download goes: `checked_parent` and `partial_path` on a real temporary folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from syncd.errors import PathError
from syncd.sync import localfs


def test_the_parent_of_a_nested_file_is_its_folder(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert localfs.checked_parent(tmp_path, "a/b/f.txt") == tmp_path / "a" / "b"
    assert localfs.checked_parent(tmp_path, "f.txt") == tmp_path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: (root / "a").mkdir(), "folder a/b is missing"),
        (lambda root: (root / "a").write_text("x"), "a is not a folder (or a link)"),
        (lambda root: os.symlink(root.parent, root / "a"), "a is not a folder (or a link)"),
    ],
    ids=["missing", "a file", "a symlink"],
)
def test_a_folder_on_the_way_that_is_not_a_plain_folder_is_refused(
    tmp_path: Path, make: object, message: str
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    make(root)  # type: ignore[operator]
    with pytest.raises(PathError, match=re.escape(message)):
        localfs.checked_parent(root, "a/b/f.txt")


@pytest.mark.parametrize("rel_path", ["../f", "a/../../f", "/etc/passwd", "a//f", ""])
def test_a_path_that_could_leave_the_root_is_refused(tmp_path: Path, rel_path: str) -> None:
    with pytest.raises(PathError):
        localfs.checked_parent(tmp_path, rel_path)
    with pytest.raises(PathError):
        localfs.partial_path(tmp_path, rel_path, version="v1")


def test_a_partial_is_hidden_beside_its_file_and_names_its_version(tmp_path: Path) -> None:
    partial = localfs.partial_path(tmp_path, "a/f.txt", version="0123abcd")
    assert partial.parent == tmp_path / "a"
    assert partial.name.startswith(".f.txt.0123abcd") and partial.name.endswith(
        localfs.PARTIAL_SUFFIX
    )
    assert localfs.partial_version(f"a/{partial.name}") == "0123abcd"
    top = localfs.partial_path(tmp_path, "g.txt")
    assert top.parent == tmp_path and top.name == f".g.txt{localfs.PARTIAL_SUFFIX}"


def test_a_partial_of_a_long_name_stays_within_the_name_limit(tmp_path: Path) -> None:
    name = "é" * 120 + ".txt"  # 244 bytes: the partial's additions take it over NAME_MAX
    partial = localfs.partial_path(tmp_path, f"d/{name}", version="0123abcd")
    assert partial.parent == tmp_path / "d"
    assert len(partial.name.encode()) <= 255 and ".0123abcd" in partial.name
