"""Uploads and downloads under faults: streaming, retries without duplicates, resume."""

from __future__ import annotations

import hashlib
import io
import random
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from syncd.cloud.client import CloudClient
from syncd.cloud.errors import (
    CloudUnavailable,
    FileTooLarge,
    QuotaExceeded,
    RateLimited,
    ServerError,
)
from syncd.cloud.retry import RetryPolicy
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenSet
from syncd.cloud.transfer import BytesSource, find_landed_upload, is_same_or_numbered
from syncd.emulator import Emulator

from .helpers import gateway, make_settings, rolls, seed_for, seed_token

MiB = 1 << 20


class CountingSource(BytesSource):
    """Counts how often the upload body was (re)started."""

    opens = 0

    def open(self) -> BinaryIO:
        type(self).opens += 1
        return super().open()


def blob(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def files_named(emulator: Emulator, stem: str) -> list[str]:
    return sorted(p for p in emulator.listing() if p.startswith(stem))


class Cancelled(Exception):
    pass


def test_upload_streams_and_reports_progress_in_the_calling_thread(
    client: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(blob(3 * MiB + 17))
    counts: list[int] = []
    threads: set[int] = set()

    def progress(n: int) -> None:
        counts.append(n)
        threads.add(threading.get_ident())

    client.upload(src, progress=progress)
    assert sum(counts) == src.stat().st_size and len(counts) > 1
    assert threads == {threading.get_ident()}
    assert emulator.read_file("big.bin") == src.read_bytes()

    out_counts: list[int] = []
    out = io.BytesIO()
    file_id = client.get_folder().files[0].id
    client.download(file_id, out, progress=out_counts.append)
    assert sum(out_counts) == src.stat().st_size and out.getvalue() == src.read_bytes()


def test_a_raising_progress_callback_aborts_at_once_and_is_not_retried(
    client: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(blob(4 * MiB))
    cancel = Cancelled("stop")
    seen = 0

    def progress(n: int) -> None:
        nonlocal seen
        seen += n
        if seen > MiB:
            raise cancel

    CountingSource.opens = 0
    with pytest.raises(Cancelled) as info:
        client.upload(CountingSource(src.read_bytes(), "big.bin"), progress=progress)
    assert info.value is cancel
    assert seen < 2 * MiB
    assert CountingSource.opens == 1  # not retried
    assert "big.bin" not in emulator.listing()

    emulator.put_file("down.bin", src.read_bytes())
    seen = 0
    with pytest.raises(Cancelled) as info:
        client.download(client.get_folder().files[0].id, io.BytesIO(), progress=progress)
    assert info.value is cancel
    assert emulator.stats.snapshot().calls["download"] == 1


def test_a_transient_looking_callback_error_is_not_retried(
    client: CloudClient, emulator: Emulator
) -> None:
    boom = ServerError("raised by the callback")

    def progress(n: int) -> None:
        raise boom

    CountingSource.opens = 0
    with pytest.raises(ServerError) as info:
        client.upload(CountingSource(blob(MiB), "x.bin"), progress=progress)
    assert info.value is boom
    assert CountingSource.opens == 1


def test_401_during_an_upload_refreshes_and_resends_once(
    client: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(blob(2 * MiB))
    emulator.expire_access_tokens()  # the server rejects the token while we stream the body
    result = client.upload(src)
    snap = emulator.stats.snapshot()
    assert snap.calls["upload"] == 2 and snap.calls["token"] == 1 and snap.statuses[401] == 1
    assert result.file_name == "a.bin"
    assert files_named(emulator, "a") == ["a.bin"]
    assert emulator.read_file("a.bin") == src.read_bytes()


def test_reset_mid_upload_is_retried(
    client: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(blob(2 * MiB))
    emulator.faults.update(
        reset_rate=0.5, seed=seed_for("10", rolls("reset_rate", "upload"), reset_rate=0.5)
    )
    result = client.upload(src)
    snap = emulator.stats.snapshot()
    assert snap.faults == {"reset": 1}
    assert snap.calls["upload"] == 2
    assert snap.calls["folder_get"] == 1  # checked the folder before re-sending
    assert result.file_name == "a.bin" and files_named(emulator, "a") == ["a.bin"]
    assert emulator.read_file("a.bin") == src.read_bytes()


def test_lost_response_leaves_no_duplicate(
    client: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.put_file("a.bin", b"an older file of another size")
    src = tmp_path / "a.bin"
    src.write_bytes(blob(MiB))
    emulator.faults.update(lost_response_rate=1.0, only=["upload"])
    result = client.upload(src)
    snap = emulator.stats.snapshot()
    assert snap.faults == {"lost_response": 1} and snap.calls["upload"] == 1
    assert result.file_name == "a(1).bin"
    assert files_named(emulator, "a") == ["a(1).bin", "a.bin"]
    assert emulator.read_file("a(1).bin") == src.read_bytes()


def test_5xx_is_retried(client: CloudClient, emulator: Emulator, tmp_path: Path) -> None:
    seed = seed_for("110", gateway("freespace"), error_5xx_rate=0.5)
    emulator.faults.update(error_5xx_rate=0.5, seed=seed)
    assert client.freespace() > 0
    assert emulator.stats.snapshot().calls["freespace"] == 3
    only = frozenset({"upload"})
    seed = seed_for("10", gateway("upload"), error_5xx_rate=0.5, only=only)
    emulator.faults.update(error_5xx_rate=0.5, only=["upload"], seed=seed)
    client.upload(BytesSource(b"x" * 1000, "f.txt"))
    assert files_named(emulator, "f") == ["f.txt"]


def test_5xx_gives_up_after_max_attempts(
    emulator: Emulator, redirect_uri: str, token_file: Path, token: TokenSet
) -> None:
    settings = make_settings(emulator, redirect_uri, token_file, max_attempts=3)
    emulator.faults.update(error_5xx_rate=1.0)
    with CloudClient.from_settings(settings) as client, pytest.raises(ServerError):
        client.freespace()
    assert emulator.stats.snapshot().calls["freespace"] == 3


def test_rate_limit_backs_off_then_succeeds(client: CloudClient, emulator: Emulator) -> None:
    limits = {"rate_limit_rate": 0.5, "rate_limit_burst": 3, "retry_after": 2}
    seed = seed_for("11100", gateway("freespace"), **limits)
    emulator.faults.update(**limits, seed=seed)
    assert client.freespace() > 0
    snap = emulator.stats.snapshot()
    assert snap.calls["freespace"] == 4 and snap.statuses[403] == 3


def test_rate_limit_carries_retry_after(
    emulator: Emulator, settings: CloudSettings, token: TokenSet
) -> None:
    emulator.faults.update(rate_limit_rate=1.0, retry_after=7)
    policy = RetryPolicy(max_attempts=1, max_backoff_s=5.0)
    with CloudClient.from_settings(settings) as client:
        client._retry = policy  # one attempt, to look at the error itself
        with pytest.raises(RateLimited) as info:
            client.freespace()
    assert info.value.retry_after == 7.0
    assert policy.backoff_for(info.value) == 5.0  # honoured, capped at max_backoff_s


def test_4xx_is_not_retried(client: CloudClient, emulator: Emulator) -> None:
    from syncd.cloud.errors import NotFound

    with pytest.raises(NotFound):
        client.get_file("bm9uZQ")
    assert emulator.stats.snapshot().calls["file_get"] == 1


def test_quota_and_size_limits(redirect_uri: str, tmp_path: Path) -> None:
    with Emulator(redirect_uris=[redirect_uri], quota_bytes=3 * MiB, max_file_size=2 * MiB) as emu:
        settings = make_settings(emu, redirect_uri, tmp_path / "t.json")
        seed_token(emu, settings.token_file)
        with CloudClient.from_settings(settings) as client:
            with pytest.raises(FileTooLarge):
                client.upload(BytesSource(blob(2 * MiB + 1), "big.bin"))
            client.upload(BytesSource(blob(2 * MiB), "one.bin"))
            with pytest.raises(QuotaExceeded) as info:
                client.upload(BytesSource(blob(2 * MiB), "two.bin"))
            assert info.value.rel_path == "two.bin"
        assert emu.stats.snapshot().calls["upload"] == 3  # none retried
        assert set(emu.listing()) == {"one.bin"}


def test_download_resumes_with_range_after_a_reset(
    client: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    # Big enough that the client reads some of it before the reset: a reset discards what
    # still sits in the socket buffer, and a small body fits there entirely.
    data = blob(16 * MiB + 5)
    emulator.put_file("a.bin", data)
    resets = rolls("download_reset_rate", "download")
    seed = seed_for("10", resets, download_reset_rate=0.5)
    emulator.faults.update(download_reset_rate=0.5, seed=seed)
    file = client.get_folder(show_thumbnails=True).files[0]
    out = tmp_path / "a.bin"
    with out.open("wb") as handle:
        assert client.download(file, handle) == len(data)
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    snap = emulator.stats.snapshot()
    assert snap.faults == {"download_reset": 1}
    assert snap.statuses.get(206) == 1  # the second request asked for the rest only
    assert snap.bytes_downloaded < len(data) * 1.6


def test_download_resumes_a_partial_file(
    client: CloudClient, emulator: Emulator, tmp_path: Path
) -> None:
    data = blob(MiB)
    emulator.put_file("a.bin", data)
    out = tmp_path / "a.part"
    out.write_bytes(data[:1000])
    with out.open("ab") as handle:
        assert client.download(client.get_folder().files[0].id, handle, offset=1000) == MiB
    assert out.read_bytes() == data
    assert emulator.stats.snapshot().bytes_downloaded == MiB - 1000


def test_download_resumes_past_the_attempt_budget_while_progressing(
    emulator: Emulator, redirect_uri: str, token_file: Path, token: TokenSet
) -> None:
    data = blob(24 * MiB)
    emulator.put_file("a.bin", data)
    settings = make_settings(emulator, redirect_uri, token_file, max_attempts=2)
    resets = rolls("download_reset_rate", "download")
    seed = seed_for("1110", resets, download_reset_rate=0.5)
    emulator.faults.update(download_reset_rate=0.5, seed=seed)
    out = io.BytesIO()
    with CloudClient.from_settings(settings) as client:
        client.download(client.get_folder().files[0].id, out)
    assert out.getvalue() == data


def test_download_of_a_stuck_file_gives_up(client: CloudClient, emulator: Emulator) -> None:
    emulator.put_file("a.bin", b"x")  # a 1-byte body cannot make progress when cut
    emulator.faults.update(download_reset_rate=1.0)
    with pytest.raises(CloudUnavailable):
        client.download(client.get_folder().files[0].id, io.BytesIO())


def test_landed_upload_matching_rules() -> None:
    assert is_same_or_numbered("a.txt", "a.txt")
    assert is_same_or_numbered("a(1).txt", "a.txt")
    assert is_same_or_numbered("a.tar(12).gz", "a.tar.gz")
    assert is_same_or_numbered("README(2)", "README")
    assert not is_same_or_numbered("b(1).txt", "a.txt")
    assert not is_same_or_numbered("a(x).txt", "a.txt")

    from datetime import UTC, datetime

    from syncd.cloud.models import FolderListing, RemoteFile

    def f(name: str, size: int, ts: float) -> RemoteFile:
        when = datetime.fromtimestamp(ts, UTC)
        return RemoteFile(name, name, size, "FILE", when, when)

    listing = FolderListing(
        "F", "F", "f", (f("a.txt", 5, 100), f("a(1).txt", 5, 200), f("a(2).txt", 6, 200)), ()
    )
    assert find_landed_upload(listing, "a.txt", 5, since=150) == listing.files[1]
    assert find_landed_upload(listing, "a.txt", 5, since=250) is None
    assert find_landed_upload(listing, "a.txt", 7, since=0) is None


def test_reset_with_a_token_too_short_for_a_resend_refreshes_first(
    emulator: Emulator, settings: CloudSettings, token_file: Path
) -> None:
    from syncd.cloud.tokens import TokenFileStore, TokenManager

    now = [1_000_000.0]
    leeway = settings.refresh_leeway_s
    issued = emulator.issue_token()
    # Valid for the proactive check (beyond the leeway), too short for a second slow attempt.
    TokenFileStore(token_file).save(
        TokenSet(issued["access_token"], issued["refresh_token"], now[0] + leeway + 60)
    )
    tokens = TokenManager(settings, TokenFileStore(token_file), clock=lambda: now[0])
    seed = seed_for("10", rolls("reset_rate", "upload"), reset_rate=0.5)
    emulator.faults.update(reset_rate=0.5, seed=seed)
    slow = {"first": True}

    def progress(_n: int) -> None:
        if slow["first"]:  # the first attempt takes 50 s
            now[0] += 50
            slow["first"] = False

    with CloudClient(settings, tokens, clock=lambda: now[0]) as client:
        client.upload(BytesSource(blob(2 * MiB), "a.bin"), progress=progress)
        assert tokens.refresh_count == 1
    tokens.close()
    assert emulator.stats.snapshot().faults == {"reset": 1}
