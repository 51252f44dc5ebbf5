"""A per-path failure names the path, not the opaque id the client used."""

from __future__ import annotations

import errno

from syncd.cloud.errors import Forbidden, NotFound
from syncd.errors import PathError
from syncd.sync.executor import _as_path_error


def test_a_cloud_error_about_an_id_is_reported_for_the_path() -> None:
    error = _as_path_error("docs/a.txt", Forbidden(target="bWVzIGRvc3NpZXJzL2EudHh0"))
    assert isinstance(error, Forbidden) and isinstance(error, PathError)
    assert str(error) == "docs/a.txt: access forbidden"
    assert error.rel_path == "docs/a.txt"


def test_a_cloud_error_already_about_the_path_is_kept() -> None:
    original = NotFound(target="docs/a.txt")
    assert _as_path_error("docs/a.txt", original) is original


def test_a_full_disk_says_so() -> None:
    error = _as_path_error("a.bin", OSError(errno.ENOSPC, "No space left on device"))
    assert str(error) == "a.bin: local disk full (No space left on device)"
