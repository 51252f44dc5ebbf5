"""`syncd web`: the address with its token, a private token file, rotation, the browser."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import webbrowser
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd.cli import main
from syncd.compose import control_dir
from syncd.config import load_config
from syncd.web.served import SERVED_FILE
from syncd.web.token import token_path


def _config(tmp_path: Path, listen: str = "127.0.0.1:8977") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        f'state_dir: {tmp_path / "state"}\nweb:\n  enabled: true\n  listen: "{listen}"\n',
        encoding="utf-8",
    )
    return config


def _web(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["web", "--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def _pretend_the_daemon_serves(tmp_path: Path, url: str, pid: int | None = None) -> None:
    # This very process stands in for the daemon: its pid is alive.
    control = control_dir(load_config(_config(tmp_path)))
    control.mkdir(parents=True, exist_ok=True)
    (control / SERVED_FILE).write_text(json.dumps({"url": url, "pid": pid or os.getpid()}))


def test_an_address_left_by_a_dead_daemon_is_not_used(tmp_path: Path) -> None:
    _pretend_the_daemon_serves(tmp_path, "http://127.0.0.1:41234/", pid=_ended_pid())
    code, out, err = _web(_config(tmp_path), "--no-browser")
    assert code == 0 and out.startswith("http://127.0.0.1:8977/?token=")
    assert "does not serve the dashboard now" in err


def _ended_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_it_prints_the_address_with_a_new_private_token(tmp_path: Path) -> None:
    code, out, err = _web(_config(tmp_path), "--no-browser")
    assert code == 0
    token = token_path(tmp_path / "state").read_text().strip()
    assert out.strip() == f"http://127.0.0.1:8977/?token={token}"
    assert stat.S_IMODE(token_path(tmp_path / "state").stat().st_mode) == 0o600
    assert "does not serve the dashboard now" in err and "syncd run --web" in err
    # The same token the next time; another with --new-token.
    assert _web(_config(tmp_path), "--no-browser")[1] == out
    code, rotated, err = _web(_config(tmp_path), "--new-token", "--no-browser")
    assert code == 0 and rotated != out and "a new access token" in err
    assert rotated.strip().endswith(token_path(tmp_path / "state").read_text().strip())


def test_a_wildcard_listen_address_prints_a_loopback_one(tmp_path: Path) -> None:
    out = _web(_config(tmp_path, "0.0.0.0:9000"), "--no-browser")[1]
    assert out.startswith("http://127.0.0.1:9000/?token=")
    out = _web(_config(tmp_path, "[::]:9000"), "--no-browser")[1]
    assert out.startswith("http://[::1]:9000/?token=")


def test_the_address_the_daemon_took_wins_and_opens_in_a_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pretend_the_daemon_serves(tmp_path, "http://127.0.0.1:41234/")
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    monkeypatch.setenv("DISPLAY", ":0")
    code, out, err = _web(_config(tmp_path))
    assert code == 0 and err == ""
    assert out.startswith("http://127.0.0.1:41234/?token=")
    assert opened == [out.strip()]


def test_no_browser_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_the_daemon_serves(tmp_path, "http://127.0.0.1:41234/")

    def broken(url: str) -> bool:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "open", broken)
    monkeypatch.setenv("DISPLAY", ":0")
    code, out, err = _web(_config(tmp_path))
    assert code == 0 and out.startswith("http://127.0.0.1:41234/?token=")
    assert "open the address above yourself" in err
    # Without a display no browser is tried at all (it would be a text one, in this terminal).
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(webbrowser, "open", lambda url: pytest.fail("tried a browser"))
    code, _, err = _web(_config(tmp_path))
    assert code == 0 and "open the address above yourself" in err
