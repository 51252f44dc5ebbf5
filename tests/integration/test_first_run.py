"""The first run is one obvious path: every "no config" or "not set" error names the config
file it looked at and the command that fixes it (keeping `--config X` in it when one was
given)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncd.cli import main
from syncd.config import load_config
from syncd.emulator import Emulator
from tests.integration.terminal import on_a_terminal


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with no config at all: the default places are inside the test's folder."""
    for name in ("CONFIG", "STATE", "CACHE", "DATA"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / "xdg" / name.lower()))
    monkeypatch.delenv("SYNCD_CONFIG", raising=False)
    return tmp_path


def syncd(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def default_config(home: Path) -> Path:
    return home / "xdg" / "config" / "syncd" / "config.yaml"


def test_no_config_at_all_names_the_default_file_and_syncd_init(home: Path) -> None:
    for command in ("sync", "run"):
        result = syncd(command)
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"syncd: {default_config(home)}: no such file, so no folder pairs: "
            "`syncd init` writes a config with one\n"
        )


def test_a_config_without_pairs_says_so_and_how_to_add_one(home: Path) -> None:
    config = home / "work.yaml"
    config.write_text("sync:\n  transfers: 2\n", encoding="utf-8")
    result = syncd("sync", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr == (
        f"syncd: {config}: no folder pairs configured: add a `pairs:` entry "
        f"(`syncd init --example --config {config}` prints a complete config)\n"
    )


def test_a_missing_config_file_given_by_name_says_how_to_write_it(home: Path) -> None:
    missing = home / "nope.yaml"
    result = syncd("--config", str(missing), "status")
    assert result.exit_code == 2
    assert result.stderr == (
        f"syncd: {missing}: config file not found: `syncd init --config {missing}` writes one\n"
    )


def test_login_without_a_client_id_names_the_config_and_syncd_init(home: Path) -> None:
    result = syncd("auth", "login", "--no-browser")
    assert result.exit_code == 2
    assert result.stderr == (
        f"syncd: {default_config(home)}: cloud.client_id: not set (no such file): "
        "`syncd init` writes a config with it\n"
    )
    config = home / "c.yaml"
    config.write_text('cloud:\n  client_secret: "s"\n', encoding="utf-8")
    result = syncd("auth", "login", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr == (
        f"syncd: {config}: cloud.client_id: not set: add your application's client id "
        f"(developer.orange.com), or `syncd init --force --config {config}` writes a new config\n"
    )


def test_not_logged_in_names_the_config_and_keeps_it_in_the_fix(home: Path) -> None:
    with Emulator() as emulator:
        config = home / "c.yaml"
        config.write_text(
            f"cloud:\n  api_url: {emulator.api_base}\n  content_url: {emulator.content_base}\n"
            f"  token_url: {emulator.token_url}\n  client_id: x\n  client_secret: y\n",
            encoding="utf-8",
        )
        result = syncd("cloud", "ls", "--config", str(config))
        assert result.exit_code == 78
        assert result.stderr == (
            f"syncd: not logged in: run `syncd auth login --config {config}` (config {config})\n"
        )
        # The same from the default place, with nothing to keep.
        default_config(home).parent.mkdir(parents=True)
        default_config(home).write_text(config.read_text(), encoding="utf-8")
        result = syncd("cloud", "ls")
        assert result.stderr == (
            f"syncd: not logged in: run `syncd auth login` (config {default_config(home)})\n"
        )


def test_a_config_path_with_spaces_is_quoted_in_the_fix(home: Path) -> None:
    missing = home / "my configs" / "a.yaml"
    result = syncd("status", "--config", str(missing))
    assert f"`syncd init --config '{missing}'` writes one" in result.stderr


def test_status_without_pairs_says_where_it_looked_and_what_to_run(home: Path) -> None:
    result = syncd("status")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        f"  no folder pairs: {default_config(home)} does not exist (`syncd init` writes one)\n"
    )
    config = home / "empty.yaml"
    config.write_text("{}\n", encoding="utf-8")
    result = syncd("status", "--config", str(config))
    assert result.output.endswith(
        f"  no folder pairs in {config} (`syncd init --example --config {config}` prints a "
        "complete config)\n"
    )


# --- syncd init ---------------------------------------------------------------------------

CLIENT = ["--client-id", "my-app", "--client-secret", "s3cret"]


def test_init_writes_a_config_that_loads_and_says_the_next_command(home: Path) -> None:
    config = home / "work.yaml"
    local = home / "Work"
    result = syncd("init", "--config", str(config), "--local", str(local), *CLIENT)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"wrote {config}: Work: {local} <-> /\n"
        f"next: `syncd auth login --config {config}` (then `syncd sync --config {config}`)\n"
    )
    assert config.stat().st_mode & 0o777 == 0o600  # it holds the client secret
    loaded = load_config(config)
    assert [(p.local_root, p.remote_root) for p in loaded.pairs] == [(local, "/")]
    assert (loaded.cloud.client_id, loaded.cloud.client_secret) == ("my-app", "s3cret")
    assert "# " in config.read_text()  # commented


def test_init_at_the_default_place_keeps_the_next_command_short(home: Path) -> None:
    result = syncd("init", "--remote", "/Backup", *CLIENT)
    assert result.exit_code == 0, result.output
    assert result.output.endswith("next: `syncd auth login` (then `syncd sync`)\n")
    loaded = load_config(None)
    assert loaded.source == default_config(home)
    assert loaded.pairs[0].local_root == Path.home() / "OrangeCloud"
    assert loaded.pairs[0].remote_root == "/Backup"


def test_init_never_overwrites_without_force(home: Path) -> None:
    config = home / "c.yaml"
    config.write_text("# mine\n", encoding="utf-8")
    refused = syncd("init", "--config", str(config), "--local", str(home / "A"), *CLIENT)
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"syncd: {config}: already exists: kept as it is "
        f"(`syncd init --force --config {config}` replaces it)\n"
    )
    assert config.read_text() == "# mine\n"
    forced = syncd("init", "--config", str(config), "--local", str(home / "A"), "--force", *CLIENT)
    assert forced.exit_code == 0 and load_config(config).pairs[0].local_root == home / "A"


def test_init_off_a_terminal_needs_the_client_and_refuses_a_bad_folder(home: Path) -> None:
    config = home / "c.yaml"
    missing = syncd("init", "--config", str(config), "--client-id", "x")
    assert missing.exit_code == 2 and "--client-secret is required" in missing.output
    system = syncd("init", "--config", str(config), "--local", "/etc", *CLIENT)
    assert system.exit_code == 2 and "pairs.0.local: /etc is a system folder" in system.stderr
    assert not config.exists()  # nothing written for what would not load


def test_init_takes_a_relative_folder_as_the_one_it_names_here(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(home)
    config = home / "c.yaml"
    assert syncd("init", "--config", str(config), "--local", "Docs", *CLIENT).exit_code == 0
    assert load_config(config).pairs[0].local_root == home / "Docs"


def test_init_asks_on_a_terminal(home: Path) -> None:
    config = home / "asked.yaml"
    local = home / "Asked"
    code, shown = on_a_terminal(
        ["init", "--config", str(config)],
        [
            (b"Local folder to sync [~/OrangeCloud]: ", f"{local}\n".encode()),
            (b"Cloud folder to sync it with [/]: ", b"/Shared\n"),
            (b"Client id of your application: ", b"app-id\n"),
            (b"Its client secret: ", b"hidden-secret\n"),
            (b"Its redirect URI [http://127.0.0.1:8976/callback]: ", b"\n"),
        ],
    )
    assert code == 0, shown
    assert "hidden-secret" not in shown  # not echoed
    assert f"next: `syncd auth login --config {config}`" in shown
    loaded = load_config(config)
    assert (loaded.pairs[0].local_root, loaded.pairs[0].remote_root) == (local, "/Shared")
    assert (loaded.cloud.client_id, loaded.cloud.client_secret) == ("app-id", "hidden-secret")
