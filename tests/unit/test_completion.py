"""Shell completion: `syncd completion SHELL` prints click's script for bash, zsh and fish,
and the program answers the completion protocol that script speaks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from syncd.cli import main


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_script_is_printed_for_each_shell(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "_SYNCD_COMPLETE" in result.output and "syncd" in result.output


def test_bash_accepts_the_bash_script() -> None:
    script = CliRunner().invoke(main, ["completion", "bash"]).output
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["completion", "tcsh"])
    assert result.exit_code == 2 and "bash" in result.output


def complete(words: str) -> list[str]:
    """What `syncd` offers for the last of `words`, as bash asks it (click's protocol)."""
    parts = words.split(" ")
    env = {
        **os.environ,
        "_SYNCD_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(parts) - 1),
    }
    result = subprocess.run(
        [sys.executable, "-m", "syncd"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_command_names_and_subcommands_complete() -> None:
    assert complete("syncd com") == ["plain,completion"]
    assert complete("syncd cloud l") == ["plain,ls"]
    assert complete("syncd trash ") == ["plain,empty", "plain,list", "plain,restore"]
    assert "plain,--upload-limit" in complete("syncd limit --up")
