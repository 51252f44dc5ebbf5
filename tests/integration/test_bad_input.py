"""The bad-input catalogue (README, "Bad input"): each case gets a clear message naming the
problem, loses nothing, and lets the rest of the tree sync."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import traceback
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from syncd.errors import RootGuardError
from syncd.store import Store
from syncd.sync import executor
from syncd.sync.options import SyncOptions
from syncd.sync.remote import RemoteSide
from syncd.sync.report import Observers
from tests.integration.harness import Harness

# --- the local root -----------------------------------------------------------------------


def test_root_that_is_a_file_is_refused_clearly(h: Harness) -> None:
    h.root.write_text("not a folder")
    with pytest.raises(RootGuardError, match="is a file, not a folder"):
        h.sync()
    assert h.root.read_text() == "not a folder"


def test_root_whose_parent_is_missing_is_refused(tmp_path, emulator, client) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, emulator, client)
    h.root = tmp_path / "missing" / "local"
    h.pair = replace(h.pair, local_root=h.root)
    with pytest.raises(RootGuardError, match="parent does not exist"):
        h.sync()


# --- local files that misbehave -------------------------------------------------------------


def _engine_with_hook(h: Harness, store: Store, hook):  # type: ignore[no-untyped-def]
    fired: list[str] = []

    def on_bytes(action, count):  # type: ignore[no-untyped-def]
        if action.rel_path not in fired:
            fired.append(action.rel_path)
            hook(action.rel_path)

    return h.engine(store, observers=Observers(progress=on_bytes))


def test_file_growing_while_it_uploads_is_not_sent_torn(h: Harness) -> None:
    h.write("keep.txt", "k")
    h.write("growing.log", b"a" * 300_000)
    with Store.open(h.db_path) as store:
        engine = _engine_with_hook(
            h, store, lambda rel: rel == "growing.log" and h.write("growing.log", b"b" * 400_000)
        )
        report = engine.sync()
    assert report.ok
    # The upload that raced the writer was withdrawn; the settled file went up afterwards.
    assert h.remote_read("growing.log") == b"b" * 400_000
    assert h.remote_read("keep.txt") == b"k"
    assert not [p for p in h.remote_tree() if p.startswith(".syncd-upload")]


def test_file_deleted_while_it_uploads_leaves_nothing_behind(h: Harness) -> None:
    h.write("keep.txt", "k")
    h.write("doomed.bin", b"d" * 300_000)
    with Store.open(h.db_path) as store:
        engine = _engine_with_hook(
            h, store, lambda rel: rel == "doomed.bin" and (h.root / rel).unlink()
        )
        report = engine.sync()
    assert report.ok
    assert h.remote_tree() == {"keep.txt": b"k"}


@pytest.mark.parametrize("appears", ["file", "symlink", "folder"])
def test_what_appears_locally_while_a_new_cloud_file_downloads_is_not_overwritten(
    h: Harness, tmp_path: Path, appears: str
) -> None:
    h.remote_write("notes.txt", b"from the cloud")
    outside = tmp_path / "outside.txt"
    outside.write_text("not synced")
    target = h.root / "notes.txt"
    make = {
        "file": lambda: target.write_text("typed meanwhile"),
        "symlink": lambda: target.symlink_to(outside),
        "folder": lambda: (target.mkdir(), (target / "inner.txt").write_text("i")),
    }[appears]
    with Store.open(h.db_path) as store:
        engine = _engine_with_hook(h, store, lambda rel: rel == "notes.txt" and make())
        engine.sync()
    # The download stopped short of the rename: what the user put there is untouched.
    if appears == "file":
        assert target.read_text() == "typed meanwhile"
    elif appears == "symlink":
        assert target.is_symlink() and outside.read_text() == "not synced"
    else:
        assert (target / "inner.txt").read_text() == "i"
    assert h.remote_read("notes.txt") == b"from the cloud"
    assert not list(h.root.glob(".notes.txt*"))  # no partial left behind


def test_a_folder_swapped_for_a_symlink_before_its_download_gets_nothing_through_it(
    h: Harness, tmp_path: Path
) -> None:
    """The swap happens after the folder was made and before the file opens: what is
    checked is the path as the file is opened, not as it was planned."""
    h.remote_write("d/f.txt", b"from the cloud")
    outside = tmp_path / "outside"
    outside.mkdir()

    def swap(action) -> None:  # type: ignore[no-untyped-def]
        if action.rel_path == "d/f.txt" and not (h.root / "d").is_symlink():
            (h.root / "d").rmdir()
            os.symlink(outside, h.root / "d")

    with Store.open(h.db_path) as store:
        report = h.engine(store, observers=Observers(start=swap)).sync()
    assert list(outside.iterdir()) == []
    assert "d is not a folder (or a link)" in report.failures["d/f.txt"]
    assert h.remote_read("d/f.txt") == b"from the cloud"


def test_a_folder_swapped_for_a_symlink_as_its_upload_opens_sends_nothing_from_outside(
    h: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The swap lands between the check of the file and its open: the open itself refuses."""
    h.write("d/f.txt", "mine")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text("priv")  # the same name and size

    check_local = executor._Context._check_local

    def check_then_swap(self, rel_path, expected):  # type: ignore[no-untyped-def]
        current = check_local(self, rel_path, expected)
        if rel_path == "d/f.txt" and not (h.root / "d").is_symlink():
            os.rename(h.root / "d", tmp_path / "d-moved")
            os.symlink(outside, h.root / "d")
        return current

    monkeypatch.setattr(executor._Context, "_check_local", check_then_swap)
    h.emulator.stats.reset()
    report = h.sync()
    assert "d is not a folder (or a link)" in report.failures["d/f.txt"]
    assert h.emulator.stats.snapshot().bytes_uploaded == 0  # not even sent, then withdrawn
    assert b"priv" not in h.remote_tree().values()
    assert (outside / "f.txt").read_text() == "priv"


def test_a_root_moved_away_just_after_an_upload_keeps_that_upload_in_the_cloud(
    h: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new file sent, then its whole root gone before the check that follows the send: the
    file is out of reach, not deleted, so the upload is not withdrawn."""
    h.sync()  # the root gets its marker
    h.write("new.txt", "only copy in the cloud, once the disk is gone")
    upload_new = RemoteSide.upload_new

    def upload_then_unmount(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        entry = upload_new(self, *args, **kwargs)
        h.root.rename(tmp_path / "unmounted")
        return entry

    monkeypatch.setattr(RemoteSide, "upload_new", upload_then_unmount)
    h.sync()
    assert h.remote_read("new.txt") == b"only copy in the cloud, once the disk is gone"
    with pytest.raises(RootGuardError, match="nothing was deleted in the cloud"):
        h.sync()  # the next pass, as the daemon's, finds the root gone


def _as_nobody(work) -> int:  # type: ignore[no-untyped-def]
    """Run `work()` in a forked child that has given up root (root reads everything)."""
    pid = os.fork()
    if pid == 0:  # the child: no exec, so the interpreter and imports stay usable
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            code = work()
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_unreadable_file_is_reported_and_never_deleted_remotely(h: Harness, tmp_path: Path) -> None:
    from syncd.cloud.client import CloudClient
    from syncd.cloud.tokens import TokenFileStore

    # Warm up every code path as root first: the child cannot import what it cannot read
    # (the interpreter's own library may live in root's home).
    warm = Harness(tmp_path / "warm", h.emulator, h.client, name="warm")
    warm.write("w.txt", "w")
    warm.remote_write("x.txt", "x")
    warm.converge()
    h.emulator.delete("sync")

    shared = Path("/tmp") / f"syncd-unreadable-{os.getpid()}"
    shutil.rmtree(shared, ignore_errors=True)
    shared.mkdir(mode=0o755)
    try:
        h.root = shared / "local"
        h.state_dir = shared / "state"
        h.db_path = h.state_dir / "pairs" / "pair" / "state.db"
        h.pair = replace(h.pair, local_root=h.root)
        h.write("readable.txt", "fine")
        h.write("secret.txt", "cannot read me")
        token = shared / "token.json"
        TokenFileStore(token).save(TokenFileStore(h.client.settings.token_file).load())  # type: ignore[arg-type]
        for folder, dirs, files in os.walk(shared):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chown(name, 65534, 65534)
        secret = h.root / "secret.txt"
        os.chown(secret, 0, 0)
        secret.chmod(0o600)
        h.state_dir.mkdir(mode=0o700)
        os.chown(h.state_dir, 65534, 65534)
        settings = replace(h.client.settings, token_file=token)

        def sync_as_nobody() -> int:
            with CloudClient.from_settings(settings) as client:
                h.client = client
                report = h.sync()
            # One clear failure naming the file and the reason; everything else synced.
            named = list(report.failures) == ["secret.txt"]
            reason = "Permission denied" in report.failures.get("secret.txt", "")
            return 0 if named and reason else 3

        assert _as_nobody(sync_as_nobody) == 0
        assert h.remote_tree() == {"readable.txt": b"fine"}
        with Store.open(h.db_path) as store:
            (failure,) = store.failures()
            assert failure.rel_path == "secret.txt" and failure.retry_at > 0
            store.set_retry("secret.txt", 0)  # its retry time has come
        # Now the cloud loses nothing when the file is unreadable *after* it was synced.
        secret.chmod(0o644)
        h.converge()
        assert h.remote_read("secret.txt") == b"cannot read me"
        secret.chmod(0o600)
        h.write("readable.txt", "still syncing")
        os.chown(h.root / "readable.txt", 65534, 65534)

        def again_as_nobody() -> int:
            with CloudClient.from_settings(settings) as client:
                h.client = client
                report = h.sync()
            return 0 if report.ok and report.counts["upload"] == 1 else 3

        assert _as_nobody(again_as_nobody) == 0
        assert h.remote_read("secret.txt") == b"cannot read me"
        assert h.remote_read("readable.txt") == b"still syncing"
        assert secret.read_text() == "cannot read me"
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_names_that_are_not_utf8_are_skipped_and_reported(h: Harness) -> None:
    h.write("ok.txt", "ok")
    raw = os.path.join(os.fsencode(h.root), b"caf\xe9.txt")
    with open(raw, "wb") as handle:
        handle.write(b"latin-1 name")
    report = h.sync()
    assert report.ok
    assert h.remote_tree() == {"ok.txt": b"ok"}
    assert any("not valid UTF-8" in note or "not synced" in note for note in report.notes)
    assert os.path.exists(raw)


def test_names_differing_by_case_or_normalization_stay_distinct(h: Harness) -> None:
    nfc = unicodedata.normalize("NFC", "Café.txt")
    nfd = unicodedata.normalize("NFD", "Café.txt")
    assert nfc != nfd
    h.write(nfc, "composed")
    h.write(nfd, "decomposed")
    h.write("readme.md", "lower")
    h.write("README.md", "upper")
    h.converge()
    assert h.remote_tree() == {
        nfc: b"composed",
        nfd: b"decomposed",
        "readme.md": b"lower",
        "README.md": b"upper",
    }
    h.converge()  # and nothing flips back and forth


def test_cloud_names_with_backslashes_stay_inside_the_root(h: Harness, tmp_path: Path) -> None:
    h.write("ok.txt", "ok")
    h.converge()
    h.emulator.put_file("sync/back\\slash.txt", b"b")
    h.emulator.put_file("sync/..\\..\\up.txt", b"u")
    h.converge()
    assert h.read("back\\slash.txt") == b"b"
    assert h.read("..\\..\\up.txt") == b"u"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local", "state"]  # nothing beside


# --- the disk -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_while_downloading_keeps_everything_else_going(
    small_disk: Path,
    tmp_path: Path,
    emulator,
    client,  # type: ignore[no-untyped-def]
) -> None:
    options = replace(SyncOptions(transfers=1), min_free_space=0, min_free_percent=0)
    h = Harness(tmp_path, emulator, client, options=options)
    h.root = small_disk / "local"
    h.pair = replace(h.pair, local_root=h.root)
    h.write("mine.txt", "local file")
    h.remote_write("huge.bin", os.urandom(1536 * 1024))
    h.remote_write("small.txt", "fits")
    filler = small_disk / "filler"

    def fill_the_disk(rel_path: str) -> None:
        # Someone else fills the disk while the download runs.
        if rel_path == "huge.bin":
            with open(filler, "wb") as handle, contextlib.suppress(OSError):
                handle.write(b"\0" * (1024 * 1024))

    with Store.open(h.db_path) as store:
        report = _engine_with_hook(h, store, fill_the_disk).sync()
    assert "huge.bin" in report.failures and "disk full" in report.failures["huge.bin"]
    assert h.read("small.txt") == b"fits"
    assert h.remote_read("mine.txt") == b"local file"
    assert not (h.root / "huge.bin").exists()
    assert not list(h.root.glob(".huge.bin*"))  # the partial does not keep the disk full
    assert len(h.emulator.read_file("sync/huge.bin")) == 1536 * 1024
    filler.unlink()
    h.options = SyncOptions()
    report = h.sync()  # the failure waits for its retry time; a restart picks it up later
    assert "huge.bin" not in h.local_tree()


def test_low_disk_reserve_pauses_downloads_before_the_disk_fills(
    small_disk: Path,
    tmp_path: Path,
    emulator,
    client,  # type: ignore[no-untyped-def]
) -> None:
    h = Harness(tmp_path, emulator, client)  # default reserve: 1 GiB or 1 %
    h.root = small_disk / "local"
    h.pair = replace(h.pair, local_root=h.root)
    h.remote_write("any.txt", "waits")
    report = h.sync()
    assert report.downloads_paused and report.failures == {}
    assert not (h.root / "any.txt").exists()


# --- state, login --------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args], capture_output=True, text=True, timeout=60
    )


def test_corrupt_state_db_stops_clearly_and_reset_rebuilds(h: Harness, tmp_path: Path) -> None:
    config = h.write_config(tmp_path / "c.yaml")
    h.write("a.txt", "a")
    assert _cli("sync", "--config", str(config)).returncode == 0
    h.db_path.write_bytes(b"garbage" * 1000)
    broken = _cli("sync", "--config", str(config))
    assert broken.returncode == 78
    assert "corrupt" in broken.stderr and "syncd reset" in broken.stderr
    assert h.remote_read("a.txt") == b"a" and h.read("a.txt") == b"a"
    reset = _cli("reset", "--config", str(config), "--yes")
    assert reset.returncode == 0, reset.stderr
    assert list(h.db_path.parent.glob("state.db.reset-*"))  # kept aside, not wiped
    again = _cli("sync", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert h.remote_tree() == {"a.txt": b"a"}


def test_state_db_from_a_newer_syncd_is_refused(h: Harness, tmp_path: Path) -> None:
    import sqlite3

    config = h.write_config(tmp_path / "c.yaml")
    assert _cli("sync", "--config", str(config)).returncode == 0
    with sqlite3.connect(h.db_path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0999'")
    result = _cli("sync", "--config", str(config))
    assert result.returncode == 78 and "newer than this syncd" in result.stderr


def test_revoked_refresh_token_asks_for_a_new_login(h: Harness, tmp_path: Path) -> None:
    config = h.write_config(tmp_path / "c.yaml")
    h.write("a.txt", "a")
    h.emulator.revoke_refresh_tokens()
    h.emulator.expire_access_tokens()
    result = _cli("sync", "--config", str(config))
    assert result.returncode == 78, result.stderr
    assert "syncd auth login" in result.stderr
    assert h.read("a.txt") == b"a"


def test_config_errors_name_the_place_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("sync:\n  transfers: lots\n", encoding="utf-8")
    result = _cli("sync", "--config", str(config))
    assert result.returncode == 2
    assert f"{config}:2:3: sync.transfers:" in result.stderr
