"""Where a download goes: `checked_parent`, `partial_path` and `Beneath`, on a real temporary
folder."""

from __future__ import annotations

import ctypes
import errno
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


def _no_openat2(*args: object) -> int:
    """A syscall(2) as a seccomp sandbox or an old kernel answers openat2."""
    ctypes.set_errno(errno.ENOSYS)
    return -1


def _kernel_has_openat2() -> bool:
    syscall = localfs._openat2()
    if syscall is None:
        return False
    here = os.open(".", os.O_PATH | os.O_DIRECTORY)
    try:
        fd = localfs._call_openat2(syscall, here, ".", os.O_PATH | os.O_CLOEXEC, 0)
    finally:
        os.close(here)
    if fd < 0:
        return False
    os.close(fd)
    return True


needs_openat2 = pytest.mark.skipif(
    not _kernel_has_openat2(), reason="openat2 is Linux-only (5.6 and later)"
)
OPENERS = [
    pytest.param(None, id="openat2", marks=needs_openat2),
    pytest.param(_no_openat2, id="folder-by-folder"),
]
CREATE = os.O_RDWR | os.O_CREAT | os.O_TRUNC


@pytest.mark.parametrize("syscall", OPENERS)
def test_beneath_opens_and_creates_below_the_root(tmp_path: Path, syscall: object) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "old.txt").write_text("old")
    with localfs.Beneath(tmp_path, syscall=syscall) as beneath:  # type: ignore[arg-type]
        fd = beneath.open("a/b/new.txt", CREATE)
        with open(fd, "wb") as handle:
            handle.write(b"new")
        with open(beneath.open("a/b/old.txt", os.O_RDONLY), "rb") as handle:
            assert handle.read() == b"old"
        with open(beneath.open("top.txt", CREATE), "wb") as handle:
            handle.write(b"top")
    assert (tmp_path / "a" / "b" / "new.txt").read_bytes() == b"new"
    assert (tmp_path / "top.txt").read_bytes() == b"top"


@pytest.mark.parametrize("syscall", OPENERS)
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root, outside: (root / "a").mkdir(), "folder a/b is missing"),
        (lambda root, outside: (root / "a").write_text("x"), "a is not a folder (or a link)"),
        (lambda root, outside: os.symlink(outside, root / "a"), "a is not a folder (or a link)"),
        (
            lambda root, outside: ((root / "a").mkdir(), os.symlink(outside, root / "a" / "b")),
            "a/b is not a folder (or a link)",
        ),
    ],
    ids=["missing", "a file", "a symlink", "a deeper symlink"],
)
def test_beneath_refuses_a_folder_on_the_way_that_is_not_a_plain_folder(
    tmp_path: Path, syscall: object, make: object, message: str
) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    (outside / "b").mkdir(parents=True)
    make(root, outside)  # type: ignore[operator]
    with (
        localfs.Beneath(root, syscall=syscall) as beneath,  # type: ignore[arg-type]
        pytest.raises(PathError, match=re.escape(message)),
    ):
        beneath.open("a/b/f.txt", CREATE)
    assert not list(outside.rglob("f.txt"))


@pytest.mark.parametrize("syscall", OPENERS)
def test_beneath_never_opens_through_a_symlink_at_the_end(tmp_path: Path, syscall: object) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not synced")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "f.txt")
    with (
        localfs.Beneath(root, syscall=syscall) as beneath,  # type: ignore[arg-type]
        pytest.raises(OSError) as raised,
    ):
        beneath.open("f.txt", CREATE)
    assert raised.value.errno == errno.ELOOP
    assert outside.read_text() == "not synced"


@pytest.mark.parametrize("syscall", OPENERS)
@pytest.mark.parametrize("rel_path", ["../f", "a/../../f", "/etc/passwd", "a//f", ""])
def test_beneath_refuses_a_path_that_could_leave_the_root(
    tmp_path: Path, syscall: object, rel_path: str
) -> None:
    with (
        localfs.Beneath(tmp_path, syscall=syscall) as beneath,  # type: ignore[arg-type]
        pytest.raises(PathError),
    ):
        beneath.open(rel_path, CREATE)


@needs_openat2
def test_with_openat2_the_kernel_itself_refuses_a_symlinked_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No check of ours runs before the open: the refusal is the kernel's, so a folder
    swapped for a symlink between a check and the open cannot get through either."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "a")
    monkeypatch.setattr(localfs, "checked_parent", lambda root, rel_path: root)
    with localfs.Beneath(root) as beneath, pytest.raises(OSError) as raised:
        beneath.open("a/f.txt", CREATE)
    assert raised.value.errno == errno.ELOOP
    assert not list(outside.iterdir())


class _CountingSyscall:
    """The real syscall(2), counted, failing the open of `refuse` with `code` once."""

    def __init__(self, refuse: str | None = None, code: int = errno.EPERM) -> None:
        real = localfs._openat2()
        assert real is not None
        self.real = real
        self.refuse = os.fsencode(refuse) if refuse is not None else None
        self.code = code
        self.calls: list[bytes] = []

    def __call__(self, number: object, root_fd: object, path: bytes, *rest: object) -> int:
        self.calls.append(path)
        if self.refuse is not None and path == self.refuse:
            self.refuse = None
            ctypes.set_errno(self.code)
            return -1
        return int(self.real(number, root_fd, path, *rest))


@needs_openat2
@pytest.mark.parametrize("code", [errno.EPERM, errno.EINVAL])
def test_one_open_refused_by_the_kernel_does_not_turn_openat2_off(
    tmp_path: Path, code: int
) -> None:
    """An EPERM or EINVAL from the open of one file is that file's answer: it is raised,
    and the next open still goes through openat2 (not folder-by-folder checks)."""
    (tmp_path / "a").mkdir()
    for name in ("first.txt", "second.txt"):
        (tmp_path / "a" / name).write_text(name)
    syscall = _CountingSyscall(refuse="a/first.txt", code=code)
    with localfs.Beneath(tmp_path, syscall=syscall) as beneath:
        with pytest.raises(OSError) as raised:
            beneath.open("a/first.txt", os.O_RDONLY)
        assert raised.value.errno == code
        before = len(syscall.calls)
        with open(beneath.open("a/second.txt", os.O_RDONLY), "rb") as handle:
            assert handle.read() == b"second.txt"
    assert syscall.calls[before:] == [b"a/second.txt"]


@pytest.mark.parametrize("code", [errno.ENOSYS, errno.EPERM, errno.E2BIG])
def test_a_kernel_or_sandbox_without_openat2_is_found_once_at_the_start(
    tmp_path: Path, code: int
) -> None:
    """The probe when the object is made decides; no open asks again."""
    calls: list[object] = []

    def refusing(*args: object) -> int:
        calls.append(args)
        ctypes.set_errno(code)
        return -1

    (tmp_path / "f.txt").write_text("f")
    with localfs.Beneath(tmp_path, syscall=refusing) as beneath:
        probes = len(calls)
        for _ in range(3):
            os.close(beneath.open("f.txt", os.O_RDONLY))
    assert probes == 1 and len(calls) == 1


@needs_openat2
def test_reads_and_writes_go_through_openat2_every_time(tmp_path: Path) -> None:
    """openat2, unlike open(2), refuses a mode with flags that create nothing: a read (as
    every upload does) must not pass one, or its EINVAL would stop the kernel's check."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "old.txt").write_text("old")
    syscall = _CountingSyscall()
    with localfs.Beneath(tmp_path, syscall=syscall) as beneath:
        for _ in range(2):
            with open(beneath.open("a/old.txt", os.O_RDONLY), "rb") as handle:
                assert handle.read() == b"old"
            os.close(beneath.open("a/new.txt", CREATE, 0o600))
    assert syscall.calls[1:] == [b"a/old.txt", b"a/new.txt"] * 2  # after the probe of "."
    assert (tmp_path / "a" / "new.txt").stat().st_mode & 0o777 == 0o600
