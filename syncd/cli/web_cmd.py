"""`syncd web`: print the dashboard's address with its access token, and open it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from syncd.cli.common import (
    config_options,
    echo,
    handle_errors,
    load,
    open_browser,
    with_given_config,
)
from syncd.locations import control_dir
from syncd.web.served import browse_host, read_served
from syncd.web.token import load_or_create, rotate


def _graphical() -> bool:
    # Without a display, webbrowser would start a text browser in this very terminal.
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@click.command("web")
@config_options
@click.option(
    "--new-token",
    is_flag=True,
    help="Make a new access token: pages and addresses with the old one stop working.",
)
@click.option("--no-browser", is_flag=True, help="Only print the address.")
@handle_errors
def web(config_path: Path | None, new_token: bool, no_browser: bool) -> None:
    """Print the dashboard's address (with its access token) and open it in a browser."""
    config = load(config_path)
    token = rotate(config.state_dir) if new_token else load_or_create(config.state_dir)
    served = read_served(control_dir(config))
    base = served or f"http://{browse_host(config.web.host)}:{config.web.port}/"
    url = f"{base}?token={token}"
    click.echo(url)
    if new_token:
        echo("a new access token: open pages must be opened again at this address", err=True)
    if served is None:
        echo(
            with_given_config(
                "the daemon does not serve the dashboard now: set `web: {enabled: true}` in "
                "the config, or run `syncd run --web`"
            ),
            err=True,
        )
        return
    if no_browser:
        return
    try:
        opened = _graphical() and open_browser(url)
    except Exception:  # a missing or broken browser must not fail the command
        opened = False
    if not opened:
        echo("(no browser could be started: open the address above yourself)", err=True)
