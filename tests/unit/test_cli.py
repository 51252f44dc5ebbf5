"""Every command of the lazy CLI group loads and answers --help."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from syncd.cli import COMMANDS, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_loads(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"], prog_name="syncd")
    assert result.exit_code == 0, result.output
    assert "Usage: syncd" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["nope"])
    assert result.exit_code == 2 and "No such command" in result.output
