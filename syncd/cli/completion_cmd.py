"""`syncd completion SHELL`: the shell completion script (click's), for bash, zsh or fish."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  syncd completion bash > ~/.local/share/bash-completion/completions/syncd
    zsh:   syncd completion zsh > ~/.zfunc/_syncd   (with fpath+=(~/.zfunc) before compinit)
    fish:  syncd completion fish > ~/.config/fish/completions/syncd.fish
    """
    from click.shell_completion import get_completion_class

    from syncd.cli import COMPLETE_VAR, PROG_NAME, main

    shell_class = get_completion_class(shell)
    assert shell_class is not None  # every one of SHELLS is click's
    click.echo(shell_class(main, {}, PROG_NAME, COMPLETE_VAR).source())
