"""`localfs.rename_new`: a download is put in place only where nothing is, on a real disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.sync import localfs


@pytest.fixture(params=["renameat2", "check then rename"])
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways rename_new works: the atomic call, and the fallback for a kernel or a
    filesystem without RENAME_NOREPLACE (simulated by hiding the libc function)."""
    if request.param == "check then rename":
        real = localfs._libc_function
        monkeypatch.setattr(
            localfs, "_libc_function", lambda name: None if name == "renameat2" else real(name)
        )
    return str(request.param)


def test_a_new_name_is_taken(tmp_path: Path, kernel: str) -> None:
    source, target = tmp_path / ".a.partial", tmp_path / "a.txt"
    source.write_bytes(b"new")
    assert localfs.rename_new(source, target)
    assert target.read_bytes() == b"new" and not source.exists()


@pytest.mark.parametrize("occupant", ["file", "symlink", "dangling symlink", "folder"])
def test_whatever_is_at_the_target_is_left_alone(
    tmp_path: Path, kernel: str, occupant: str
) -> None:
    source, target = tmp_path / ".a.partial", tmp_path / "a.txt"
    source.write_bytes(b"new")
    elsewhere = tmp_path / "elsewhere.txt"
    if occupant == "file":
        target.write_bytes(b"mine")
    elif occupant == "symlink":
        elsewhere.write_bytes(b"mine")
        target.symlink_to(elsewhere)
    elif occupant == "dangling symlink":
        target.symlink_to(tmp_path / "nowhere")
    else:
        target.mkdir()
    assert not localfs.rename_new(source, target)
    assert source.read_bytes() == b"new"  # the caller decides what happens to it
    if occupant == "file":
        assert target.read_bytes() == b"mine"
    elif occupant == "folder":
        assert target.is_dir()
    else:
        assert target.is_symlink()
        assert not elsewhere.exists() or elsewhere.read_bytes() == b"mine"


def test_a_failure_names_both_paths(tmp_path: Path, kernel: str) -> None:
    source, target = tmp_path / "missing.partial", tmp_path / "a.txt"
    with pytest.raises(FileNotFoundError) as caught:
        localfs.rename_new(source, target)
    assert caught.value.filename == str(source)
    if kernel == "renameat2":
        assert caught.value.filename2 == str(target)
