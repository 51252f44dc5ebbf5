"""`syncd auth …` and `syncd cloud …` through click's CliRunner, against the emulator."""

from __future__ import annotations

import json
import logging
import os
import stat
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from syncd.cli import main
from syncd.cloud import login as login_module
from syncd.emulator import Emulator

from .helpers import CLIENT_ID, CLIENT_SECRET, seed_token


@pytest.fixture
def config(tmp_path: Path, emulator: Emulator, redirect_uri: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
cloud:
  api_url: {emulator.api_base}
  content_url: {emulator.content_base}
  authorize_url: {emulator.authorize_url}
  token_url: {emulator.token_url}
  client_id: {CLIENT_ID}
  client_secret: {CLIENT_SECRET}
  redirect_uri: {redirect_uri}
  token_file: {tmp_path / "state" / "token.json"}
  max_attempts: 3
state_dir: {tmp_path / "state"}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def token_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "token.json"


@pytest.fixture
def logged_in(emulator: Emulator, token_path: Path) -> None:
    seed_token(emulator, token_path)


def run(config: Path, *args: str, input: str | None = None) -> Result:
    group, *rest = args
    return CliRunner().invoke(main, [group, *rest[:1], "--config", str(config), *rest[1:]],
                              input=input, catch_exceptions=False)  # fmt: skip


# -- auth ---------------------------------------------------------------------------------


def test_status_logout_when_not_logged_in(config: Path) -> None:
    result = run(config, "auth", "status")
    assert result.exit_code == 78 and "Not logged in" in result.output
    result = run(config, "auth", "status", "--json")
    assert result.exit_code == 78 and json.loads(result.stdout)["logged_in"] is False
    result = run(config, "cloud", "ls")
    assert result.exit_code == 78 and "syncd auth login" in result.stderr
    assert run(config, "auth", "logout").output.strip() == "Was not logged in."


def test_browser_login_status_logout(
    config: Path, token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_browser(url: str, *args: object, **kwargs: object) -> bool:
        assert httpx.get(url, follow_redirects=True, timeout=10).status_code == 200
        return True

    monkeypatch.setattr(webbrowser, "open", fake_browser)
    result = run(config, "auth", "login", "--timeout", "20")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_path.parent.stat().st_mode) == 0o700

    result = run(config, "auth", "status", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["logged_in"] and report["refresh_token"]
    assert report["freespace"] > 0 and report["access_token_expired"] is False
    saved = json.loads(token_path.read_text())
    for secret in (saved["access_token"], saved["refresh_token"]):
        assert secret not in result.output
    human = run(config, "auth", "status")
    assert human.exit_code == 0 and "free space" in human.output
    assert saved["access_token"] not in human.output

    assert run(config, "auth", "logout").exit_code == 0
    assert not token_path.exists()


def test_headless_login_reads_the_pasted_url(
    config: Path, redirect_uri: str, emulator: Emulator, token_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(login_module, "generate_token", lambda _n: "fixed-state-for-the-test")
    authorize = (
        f"{emulator.authorize_url}?response_type=code&client_id={CLIENT_ID}"
        f"&redirect_uri={redirect_uri}&scope=openid+cloud&state=fixed-state-for-the-test"
    )
    pasted = httpx.get(authorize).headers["Location"]
    result = run(config, "auth", "login", "--no-browser", input=pasted + "\n")
    assert result.exit_code == 0, result.output
    assert "Paste" in result.stderr and token_path.exists()

    forged = pasted.replace("fixed-state-for-the-test", "other")
    token_path.unlink()
    result = run(config, "auth", "login", "--no-browser", input=forged + "\n")
    assert result.exit_code == 1 and "state" in result.stderr
    assert not token_path.exists()


def test_revoked_login_exits_78(config: Path, emulator: Emulator, token_path: Path) -> None:
    seed_token(emulator, token_path, expires_in=-5)
    emulator.revoke_refresh_tokens()
    result = run(config, "auth", "status")
    assert result.exit_code == 78 and "problem" in result.output
    assert run(config, "cloud", "df").exit_code == 78


# -- cloud --------------------------------------------------------------------------------


@pytest.mark.usefixtures("logged_in")
def test_ls_info_df(config: Path, emulator: Emulator) -> None:
    emulator.put_file("docs/a.txt", b"a" * 2048)
    emulator.put_file("docs/sub/b.txt", b"b")
    emulator.put_file("top.txt", b"t")
    result = run(config, "cloud", "ls")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].endswith("docs/")
    assert "top.txt" in result.output
    result = run(config, "cloud", "ls", "-R", "/docs")
    names = [line.split()[-1] for line in result.output.splitlines()]
    assert names == ["a.txt", "sub/", "sub/b.txt"]
    listing = json.loads(run(config, "cloud", "ls", "--json", "-R").stdout)
    assert {e["path"] for e in listing} == {
        "/docs", "/docs/a.txt", "/docs/sub", "/docs/sub/b.txt", "/top.txt"
    }  # fmt: skip
    info = json.loads(run(config, "cloud", "info", "--json", "/docs/a.txt").stdout)
    assert info["size"] == 2048 and info["kind"] == "file"
    assert "2.0 KiB" in run(config, "cloud", "info", "/docs/a.txt").output
    folder = json.loads(run(config, "cloud", "info", "--json", "docs").stdout)
    assert folder["files"] == 1 and folder["folders"] == 1
    df = run(config, "cloud", "df")
    assert df.exit_code == 0 and "GiB free" in df.output
    missing = run(config, "cloud", "ls", "/nope")
    assert missing.exit_code == 1 and missing.stderr.strip() == "syncd: /nope: not found"


@pytest.mark.usefixtures("logged_in")
def test_mkdir_rm(config: Path, emulator: Emulator) -> None:
    assert run(config, "cloud", "mkdir", "/a").exit_code == 0
    again = run(config, "cloud", "mkdir", "/a")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert run(config, "cloud", "mkdir", "/x/y").exit_code == 1
    assert run(config, "cloud", "mkdir", "-p", "/x/y/z").exit_code == 0
    assert run(config, "cloud", "mkdir", "-p", "/x/y").exit_code == 0
    assert {"a", "x", "x/y", "x/y/z"} <= set(emulator.listing())
    refused = run(config, "cloud", "rm", "/x")
    assert refused.exit_code == 1 and "-r" in refused.stderr
    # Off a terminal nothing is asked (an answer on stdin is not one): only --yes deletes.
    unasked = run(config, "cloud", "rm", "-r", "/x", input="y\n")
    assert unasked.exit_code == 2 and "--yes" in unasked.stderr and "x" in emulator.listing()
    assert run(config, "cloud", "rm", "-r", "--yes", "/x").exit_code == 0
    assert run(config, "cloud", "rm", "-r", "--yes", "/a").exit_code == 0
    assert emulator.listing() == {}
    assert run(config, "cloud", "rm", "-r", "--yes", "/").exit_code == 2


@pytest.mark.usefixtures("logged_in")
def test_put_get_roundtrip(config: Path, emulator: Emulator, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "one.txt").write_bytes(b"1" * 5000)
    (src / "inner" / "two.bin").write_bytes(os.urandom(70_000))
    single = tmp_path / "single.txt"
    single.write_text("hello")
    assert run(config, "cloud", "mkdir", "/up").exit_code == 0
    result = run(config, "cloud", "put", str(src), str(single), "/up")
    assert result.exit_code == 0, result.output
    assert "uploaded /up/src/inner/two.bin" in result.output  # plain lines off a terminal
    assert {"up/src/one.txt", "up/src/inner/two.bin", "up/single.txt"} <= set(emulator.listing())

    dup = run(config, "cloud", "put", str(single), "/up")
    assert dup.exit_code == 1 and "already exists" in dup.stderr
    assert "up/single(1).txt" not in emulator.listing()
    single.write_text("hello, replaced")
    assert run(config, "cloud", "put", "--force", str(single), "/up").exit_code == 0
    assert emulator.read_file("up/single.txt") == b"hello, replaced"
    assert not any(".syncd-upload" in p for p in emulator.listing())

    out = tmp_path / "out"
    out.mkdir()
    result = run(config, "cloud", "get", "/up", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "up" / "src" / "inner" / "two.bin").read_bytes() == (
        src / "inner" / "two.bin"
    ).read_bytes()
    assert (out / "up" / "single.txt").read_text() == "hello, replaced"
    assert not list(out.rglob("*.syncd-partial"))
    again = run(config, "cloud", "get", "/up/single.txt", str(out / "up"))
    assert again.exit_code == 1 and "exists locally" in again.stderr
    named = run(config, "cloud", "get", "/up/single.txt", str(tmp_path / "renamed.txt"))
    assert named.exit_code == 0 and (tmp_path / "renamed.txt").read_text() == "hello, replaced"


@pytest.mark.usefixtures("logged_in")
def test_failed_download_leaves_no_partial(
    config: Path, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.put_file("a.bin", b"x" * 10)
    emulator.faults.update(download_reset_rate=1.0)
    result = run(config, "cloud", "get", "/a.bin", str(tmp_path))
    assert result.exit_code == 1
    assert sorted(tmp_path.iterdir()) == [tmp_path / "config.yaml", tmp_path / "state"]


@pytest.mark.usefixtures("logged_in")
def test_mv_rename_cp(config: Path, emulator: Emulator) -> None:
    emulator.put_file("a/f.txt", b"f")
    emulator.mkdir("b")
    assert run(config, "cloud", "mv", "/a/f.txt", "/b").exit_code == 0
    assert "b/f.txt" in emulator.listing()
    assert run(config, "cloud", "mv", "/b/f.txt", "/a/g.txt").exit_code == 0
    assert "a/g.txt" in emulator.listing() and "b/f.txt" not in emulator.listing()
    assert run(config, "cloud", "rename", "/a/g.txt", "h.txt").exit_code == 0
    assert "a/h.txt" in emulator.listing()
    assert run(config, "cloud", "cp", "/a/h.txt", "/b").exit_code == 0
    assert run(config, "cloud", "cp", "/a/h.txt", "/a/copy.txt").exit_code == 0
    assert {"a/h.txt", "a/copy.txt", "b/h.txt"} <= set(emulator.listing())
    assert run(config, "cloud", "cp", "/a", "/b").exit_code == 0
    assert "b/a/h.txt" in emulator.listing()
    clash = run(config, "cloud", "mv", "/a/h.txt", "/a/copy.txt")
    assert clash.exit_code == 1 and "already exists" in clash.stderr
    usage = run(config, "cloud", "rename", "/a", "x/y")
    assert usage.exit_code == 2


def test_quota_message(config: Path, tmp_path: Path, redirect_uri: str) -> None:
    with Emulator(redirect_uris=[redirect_uri], quota_bytes=100) as small:
        text = config.read_text()
        for old, new in (("api_url", small.api_base), ("content_url", small.content_base),
                         ("token_url", small.token_url)):  # fmt: skip
            text = "\n".join(
                f"  {old}: {new}" if line.strip().startswith(f"{old}:") else line
                for line in text.splitlines()
            )
        config.write_text(text)
        seed_token(small, tmp_path / "state" / "token.json")
        big = tmp_path / "big.bin"
        big.write_bytes(b"x" * 1000)
        result = run(config, "cloud", "put", str(big), "/")
        assert result.exit_code == 1
        assert "/big.bin: not enough free space in the cloud" in result.stderr


def test_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cloud:\n  nope: 1\n")
    result = CliRunner().invoke(main, ["cloud", "ls", "--config", str(bad)])
    assert result.exit_code == 2 and "cloud.nope" in result.stderr


@pytest.fixture
def _logging_restored() -> Iterator[None]:
    """-v sets up logging for the process (the test's too): undone afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "stamina")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in noisy.items():
        logging.getLogger(name).setLevel(saved)


@pytest.mark.usefixtures("logged_in", "_logging_restored")
def test_quiet_and_verbose_before_or_on_a_cloud_command(config: Path, tmp_path: Path) -> None:
    single = tmp_path / "single.txt"
    single.write_text("hello")
    shown = CliRunner().invoke(main, ["cloud", "put", str(single), "/", "--config", str(config)])
    assert shown.exit_code == 0 and shown.output == "uploaded /single.txt (5 B)\n"
    quiet = CliRunner().invoke(
        main, ["-q", "cloud", "rm", "-y", "/single.txt", "--config", str(config)]
    )
    assert quiet.exit_code == 0 and quiet.output == ""
    quiet = CliRunner().invoke(
        main, ["cloud", "put", "-q", str(single), "/", "--config", str(config)]
    )
    assert quiet.exit_code == 0 and quiet.output == ""
    loud = CliRunner().invoke(main, ["-vv", "--config", str(config), "cloud", "df"])
    assert loud.exit_code == 0, loud.output
    assert "DEBUG httpcore" in loud.stderr  # the HTTP layer logs, at -vv only
    assert "GiB free" in loud.stdout


@pytest.mark.usefixtures("logged_in")
def test_put_into_a_missing_folder_says_how_to_make_it(config: Path, tmp_path: Path) -> None:
    single = tmp_path / "single.txt"
    single.write_text("hello")
    result = run(config, "cloud", "put", str(single), "/no/such dir")
    assert result.exit_code == 1
    assert result.stderr == (
        "syncd: /no/such dir: not found; make it first: "
        f"`syncd cloud mkdir -p '/no/such dir' --config {config}`\n"
    )
