"""``syncd emulator``: runs until SIGTERM, keeps state with --data, applies fault flags."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from syncd.cli import main
from syncd.cli.emulator_cmd import _is_loopback, _size, _zone
from syncd.config import Defaults, parse_config
from tests.integration.harness import run_syncd


@contextmanager
def spawn(*args: str) -> Iterator[subprocess.Popen[str]]:
    cmd = [sys.executable, "-m", "syncd", "emulator", "--port", "0", *args]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    with spawn("--json", *args) as proc:
        assert proc.stdout is not None
        yield proc, json.loads(proc.stdout.readline())


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(main, ["emulator", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--data", "--redirect-uri", "--fault-5xx", "--latency", "--json"):
        assert option in result.output


def test_runs_until_sigterm_and_keeps_state(tmp_path: Path) -> None:
    data = tmp_path / "cloud"
    with running("--data", str(data), "--app-name", "Demo") as (proc, info):
        assert info["api_base"].startswith("http://127.0.0.1:")
        assert info["content_base"] == info["origin"] + "/content/cloud/v1"
        assert info["client_id"] == "syncd-emulator"
        grant = httpx.post(info["admin_url"] + "/token", json={}).json()
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        r = httpx.post(info["api_base"] + "/folders", json={"name": "kept"}, headers=headers)
        assert r.status_code == 201
        assert stop(proc) == 0
    with running("--data", str(data)) as (proc, info):
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        root = httpx.get(info["api_base"] + "/folders", headers=headers).json()
        assert root["name"] == "syncd"  # the app name is a setting, the tree is state
        demo = httpx.get(info["admin_url"] + "/listing").json()
        assert demo == {}
        assert stop(proc) == 0
    assert '"kept"' in (data / "journal.jsonl").read_text()


def test_banner_and_fault_flags(tmp_path: Path) -> None:
    args = ("--fault-5xx", "1", "--client-id", "cid", "--redirect-uri", "http://127.0.0.1:1/cb")
    with spawn(*args) as proc:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            lines.append(proc.stdout.readline())
        banner = "".join(lines)
        assert "client_id: cid" in banner and "redirect_uri: http://127.0.0.1:1/cb" in banner
        snippet = banner[banner.index("cloud:") : banner.index("Press Ctrl-C")]
        config = parse_config(
            snippet, source=None, defaults=Defaults(home=tmp_path, state_dir=tmp_path)
        )  # the snippet pastes into a syncd config as it is
        assert config.cloud.client_id == "cid" and config.cloud.api_url.endswith("/cloud/v1")
        api = next(line.split()[-1] for line in lines if "API host" in line)
        faults = httpx.get(api.replace("/cloud/v1", "/_emulator/faults")).json()
        assert faults["error_5xx_rate"] == 1.0
        assert stop(proc) == 0


@pytest.mark.parametrize(
    ("text", "size"),
    [("123", 123), ("10K", 10_000), ("2GB", 2 * 10**9), ("1GiB", 2**30), ("5mib", 5 * 2**20)],
)
def test_sizes(text: str, size: int) -> None:
    assert _size(text) == size


def test_bad_size_and_offset() -> None:
    with pytest.raises(click.BadParameter):
        _size("lots")
    with pytest.raises(click.BadParameter):
        _zone("CEST")


def test_offsets_and_loopback() -> None:
    assert _zone("+0200").utcoffset(None) == timedelta(hours=2)
    assert _zone("-03:30").utcoffset(None) == -timedelta(hours=3, minutes=30)
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("example.org")


def test_write_config_gives_a_config_that_syncs_at_once(tmp_path: Path) -> None:
    config = tmp_path / "emu.yaml"
    local = tmp_path / "here"
    with running("--write-config", str(config), "--local", str(local)) as (proc, info):
        assert config.stat().st_mode & 0o777 == 0o600
        loaded = parse_config(
            config.read_text(), source=config, defaults=Defaults.from_environment()
        )
        assert loaded.cloud.api_url == info["api_base"]
        assert loaded.state_dir == tmp_path / "emu-state"  # apart from a real account's
        assert [(p.local_root, p.remote_root) for p in loaded.pairs] == [(local, "/")]
        local.mkdir()
        (local / "hello.txt").write_text("hello")
        synced = run_syncd(config, "sync")  # no login: the token is there already
        assert synced.returncode == 0, synced.stdout + synced.stderr
        listed = run_syncd(config, "cloud", "ls")
        assert listed.returncode == 0 and "hello.txt" in listed.stdout, listed.stderr
        assert stop(proc) == 0
    # The next run writes it again (a new port, a new token), and syncs on.
    with running("--write-config", str(config), "--local", str(local)) as (proc, info):
        assert (
            parse_config(
                config.read_text(), source=config, defaults=Defaults.from_environment()
            ).cloud.api_url
            == info["api_base"]
        )
        assert run_syncd(config, "cloud", "df").returncode == 0
        assert stop(proc) == 0


def test_write_config_never_replaces_another_config(tmp_path: Path) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text("# my real account\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "emulator", "--port", "0", "--write-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{config}: already exists and is not the emulator's: kept as it is" in result.stderr
    assert config.read_text() == "# my real account\n"
