"""One command line: `--config`, `-q` and `-v` before the command or on it, and one set of
bandwidth names (`--upload-limit`, `--download-limit`, `--bwlimit UP:DOWN`) everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from syncd.cli import COMMANDS, main
from syncd.cli.common import bandwidth


def _config(path: Path, pair: str) -> Path:
    local = path.parent / pair
    path.write_text(
        f'state_dir: "{path.parent / "state"}"\n'
        f'pairs:\n  - local: "{local}"\n    remote: /{pair}\n    name: {pair}\n',
        encoding="utf-8",
    )
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env or {"SYNCD_CONFIG": None})  # type: ignore[dict-item]


def test_config_before_the_command_is_the_command_s_config(tmp_path: Path) -> None:
    alpha = _config(tmp_path / "a.yaml", "alpha")
    result = invoke("--config", str(alpha), "status")
    assert result.exit_code == 0, result.output
    assert "  alpha: " in result.output


def test_the_config_named_nearest_the_command_wins(tmp_path: Path) -> None:
    alpha = _config(tmp_path / "a.yaml", "alpha")
    beta = _config(tmp_path / "b.yaml", "beta")
    gamma = _config(tmp_path / "c.yaml", "gamma")
    env = {"SYNCD_CONFIG": str(gamma)}
    assert "  gamma: " in invoke("status", env=env).output
    assert "  alpha: " in invoke("--config", str(alpha), "status", env=env).output
    both = invoke("--config", str(alpha), "status", "--config", str(beta), env=env)
    assert "  beta: " in both.output and "alpha" not in both.output


def _commands(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        assert command is not None
        yield f"{prefix} {name}".strip(), command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


READING_A_CONFIG = sorted(
    (name, command)
    for name, command in _commands(main, "")
    if any(param.name == "config_path" for param in command.params)
)


def test_the_commands_that_read_a_config_are_found() -> None:
    names = [name for name, _ in READING_A_CONFIG]
    for expected in ("status", "sync", "run", "cloud ls", "trash empty", "limit", "auth login"):
        assert expected in names
    assert set(COMMANDS) - {name.split()[0] for name in names} == {"completion", "demo", "emulator"}


@pytest.mark.parametrize(("name", "command"), READING_A_CONFIG, ids=lambda v: str(v))
def test_every_command_that_reads_a_config_takes_the_common_options(
    name: str, command: click.Command
) -> None:
    options = {opt for param in command.params for opt in param.opts}
    assert {"--config", "-q", "--quiet", "-v", "--verbose"} <= options, name


def test_quiet_before_or_on_the_command_leaves_only_problems(tmp_path: Path) -> None:
    config = str(_config(tmp_path / "a.yaml", "alpha"))
    assert invoke("pause", "--config", config).output.startswith("paused")
    assert invoke("pause", "--config", config, "-q").output == ""
    assert invoke("-q", "resume", "--config", config).output == ""
    assert invoke("resume", "--config", config).output.startswith("resumed")


def test_limit_takes_the_names_sync_and_run_take(tmp_path: Path) -> None:
    config = str(_config(tmp_path / "a.yaml", "alpha"))
    result = invoke("limit", "--config", config, "--upload-limit", "2MiB", "--download-limit", "0")
    assert result.exit_code == 0, result.output
    assert result.output == "limits: up 2.0 MiB/s, down unlimited (daemon not running)\n"
    result = invoke("limit", "--config", config, "--bwlimit", "1MiB:512KiB")
    assert result.output == "limits: up 1.0 MiB/s, down 512.0 KiB/s (daemon not running)\n"
    # The old names still work (scripts use them), but are no longer shown.
    result = invoke("limit", "--config", config, "--up", "0", "--down", "3 MiB")
    assert result.output == "limits: up unlimited, down 3.0 MiB/s (daemon not running)\n"
    shown = invoke("limit", "--help").output
    assert "--upload-limit" in shown and "--bwlimit" in shown and "--up " not in shown


def test_bwlimit_is_up_colon_down_or_one_rate_for_both() -> None:
    assert bandwidth(None, None, "1MiB:512KiB") == (1024**2, 512 * 1024)
    assert bandwidth(None, None, "2 MiB") == (2 * 1024**2, 2 * 1024**2)
    assert bandwidth(None, None, "off:1k") == (0, 1000)
    assert bandwidth(None, None, ":1k") == (None, 1000)  # the upload limit left as it is
    assert bandwidth("5k", None, None) == (5000, None)
    assert bandwidth(None, None, None) == (None, None)


@pytest.mark.parametrize(
    ("upload", "download", "bwlimit", "problem"),
    [
        ("1k", None, "2k:2k", "--bwlimit or --upload-limit/--download-limit, not both"),
        (None, None, "1k:2k:3k", "UP:DOWN"),
        (None, None, "fast", "not a size"),
        ("-1", None, None, "not a size"),
    ],
)
def test_a_bad_bandwidth_is_a_usage_error_that_says_why(
    upload: str | None, download: str | None, bwlimit: str | None, problem: str
) -> None:
    with pytest.raises(click.BadParameter, match=problem):
        bandwidth(upload, download, bwlimit)


def test_sync_and_run_take_bwlimit() -> None:
    for command in ("sync", "run"):
        shown = invoke(command, "--help").output
        assert "--bwlimit UP:DOWN" in shown and "--upload-limit" in shown, command
