"""`syncd auth login | status | logout`: get, inspect and forget the Orange Cloud tokens.

Exit codes: 0 done, 1 the login failed, 2 bad usage or configuration, 78 not logged in
(`status` when there is no usable token).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from syncd.cli.common import (
    config_options,
    echo_json,
    handle_errors,
    iso_utc,
    load,
    note,
    open_browser,
    require_client,
)
from syncd.cloud.client import CloudClient
from syncd.cloud.login import login_with_browser, login_with_paste
from syncd.cloud.retry import RetryPolicy
from syncd.cloud.tokens import TokenFileStore, TokenManager
from syncd.errors import EXIT_NEEDS_USER, AuthRequired, ConfigError, SyncdError


def _read_line() -> str:
    return sys.stdin.readline()


def _notify(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def auth() -> None:
    """Log in to Orange Cloud, show the login, or forget it."""


@auth.command()
@config_options
@click.option(
    "--no-browser",
    is_flag=True,
    help="Headless: print the URL, then read the address the browser was sent to from stdin.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for the browser's redirect.",
)
@click.option(
    "--prompt",
    type=click.Choice(["login", "consent", "login consent", "none"]),
    default=None,
    help="Ask the login page to re-ask for the password and/or the consent.",
)
@handle_errors
def login(config_path: Path | None, no_browser: bool, timeout: float, prompt: str | None) -> None:
    """Log in with the browser and save the tokens (0600 file).

    The browser is sent back to the configured redirect URI, caught on 127.0.0.1 at that
    port. A redirect with a wrong or missing state is ignored and the login keeps waiting
    until --timeout. With --no-browser, paste the redirected address instead.
    """
    config = load(config_path)
    require_client(config)
    settings = config.cloud
    tokens = TokenManager(settings, TokenFileStore(settings.token_file))
    try:
        if no_browser:
            login_with_paste(settings, tokens, read_line=_read_line, notify=_notify, prompt=prompt)
        else:
            login_with_browser(
                settings,
                tokens,
                open_browser=open_browser,
                notify=_notify,
                timeout_s=timeout,
                prompt=prompt,
            )
    finally:
        tokens.close()
    note(f"Logged in. Tokens saved in {settings.token_file}")


@auth.command()
@config_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def status(config_path: Path | None, as_json: bool) -> None:
    """Say whether we are logged in, until when, and how much cloud space is free."""
    config = load(config_path)
    settings = config.cloud
    store = TokenFileStore(settings.token_file)
    token = store.load()
    report: dict[str, Any] = {
        "logged_in": token is not None,
        "token_file": str(settings.token_file),
        "access_token_expires": None,
        "access_token_expired": None,
        "refresh_token": False,
        "freespace": None,
        "problem": None,
    }
    usable = token is not None
    if token is not None:
        now = datetime.now(UTC)
        if token.expires_at is not None:
            expires = datetime.fromtimestamp(token.expires_at, UTC)
            report["access_token_expires"] = iso_utc(expires)
            report["access_token_expired"] = expires <= now
        report["refresh_token"] = bool(token.refresh_token)
        tokens = TokenManager(settings, store)
        client = CloudClient(settings, tokens, retry=RetryPolicy(max_attempts=1))
        try:
            report["freespace"] = client.freespace()
        except AuthRequired as exc:
            usable = False
            report["problem"] = str(exc)
        except ConfigError:
            raise
        except SyncdError as exc:
            report["problem"] = f"cloud not reachable: {exc}"
        finally:
            client.close()
            tokens.close()
    report["usable"] = usable
    if as_json:
        echo_json(report)
    else:
        _print_status(report)
    if not usable:
        raise SystemExit(EXIT_NEEDS_USER)


def _print_status(report: dict[str, Any]) -> None:
    if not report["logged_in"]:
        click.echo("Not logged in: run `syncd auth login`.")
        return
    click.echo(f"Logged in (tokens in {report['token_file']})")
    if report["access_token_expires"]:
        state = "expired" if report["access_token_expired"] else "valid"
        click.echo(f"  access token: {state} until {report['access_token_expires']}")
    click.echo(f"  refresh token: {'present' if report['refresh_token'] else 'absent'}")
    if report["freespace"] is not None:
        from syncd import units

        click.echo(f"  free space: {units.size(report['freespace'])}")
    if report["problem"]:
        click.echo(f"  problem: {report['problem']}")


@auth.command()
@config_options
@handle_errors
def logout(config_path: Path | None) -> None:
    """Forget the tokens (delete the token file)."""
    config = load(config_path)
    if TokenFileStore(config.cloud.token_file).delete():
        note(f"Logged out (deleted {config.cloud.token_file}).")
    else:
        note("Was not logged in.")
