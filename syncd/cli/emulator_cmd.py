"""``syncd emulator``: run the local Orange Cloud France emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import shlex
import signal
import threading
from datetime import date, timedelta
from datetime import timezone as fixed_zone
from pathlib import Path
from types import FrameType
from typing import Any

import click

from syncd.cli.common import handle_errors
from syncd.emulator import Emulator, Faults
from syncd.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_QUOTA,
    DEFAULT_REDIRECT_URIS,
)
from syncd.emulator.stats import ENDPOINT_KINDS
from syncd.errors import ConfigError
from syncd.newconfig import (
    Emulated,
    NewConfig,
    checked,
    local_folder,
    render,
    save_token,
    write,
    written_by_the_emulator,
)

# The default local folder of the pair `--write-config` writes: apart from a real account's.
EMULATOR_FOLDER = "OrangeCloud-emulator"

_SIZE = re.compile(r"(\d+)\s*([KMGT]?)(i?)B?", re.IGNORECASE)
_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")


def _size(value: str) -> int:
    """Bytes from ``123``, ``10G`` / ``10GB`` (powers of 1000) or ``10GiB`` (powers of 1024)."""
    m = _SIZE.fullmatch(value.strip())
    if m is None:
        raise click.BadParameter(f"not a size: {value!r} (e.g. 500M, 10GiB)")
    number, unit, binary = m.groups()
    power = " KMGT".index(unit.upper() or " ")
    return int(number) * int((1024 if binary else 1000) ** power)


def _zone(offset: str) -> fixed_zone:
    m = _OFFSET.fullmatch(offset.strip())
    if m is None:
        raise click.BadParameter(f"not a UTC offset: {offset!r} (e.g. +0200)")
    sign, hours, minutes = m.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return fixed_zone(-delta if sign == "-" else delta)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


RATE = click.FloatRange(0, 1)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, help="Port (0 = any free port).")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the cloud's state here across restarts (default: a temporary folder).",
)
@click.option("--client-id", default=DEFAULT_CLIENT_ID, show_default=True)
@click.option("--client-secret", default=DEFAULT_CLIENT_SECRET, show_default=True)
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help=f"Allowed OAuth redirect URI, repeatable (default: {DEFAULT_REDIRECT_URIS[0]}).",
)
@click.option("--token-ttl", default=3600, show_default=True, help="Access token lifetime (s).")
@click.option("--app-name", default="syncd", show_default=True, help="App folder name.")
@click.option("--quota", default=str(DEFAULT_QUOTA), show_default=True, help="Storage quota.")
@click.option("--max-file-size", default=None, help="Largest accepted upload (default: none).")
@click.option("--timezone", "zone_name", default="Europe/Paris", show_default=True)
@click.option("--utc-offset", default=None, help="Fixed date offset, e.g. +0200 (overrides).")
@click.option("--rotate-refresh-tokens", is_flag=True, help="Refresh returns a new refresh token.")
@click.option("--reject-refresh-scope", is_flag=True, help="Refresh with `scope` fails.")
@click.option("--conflict-status", default=400, show_default=True, help="Status of ALREADY_EXISTS.")
@click.option("--expired-code", type=click.Choice(["41", "42"]), default="41", show_default=True)
@click.option(
    "--page-split",
    type=click.Choice(["combined", "separate"]),
    default="combined",
    show_default=True,
    help="limit/offset over subfolders-then-files, or over each list on its own.",
)
@click.option("--fault-5xx", type=RATE, default=0.0, help="Rate of 500/503 answers.")
@click.option("--fault-reset", type=RATE, default=0.0, help="Rate of resets mid-upload.")
@click.option("--fault-lost-response", type=RATE, default=0.0, help="Rate of lost replies.")
@click.option("--fault-download-reset", type=RATE, default=0.0, help="Rate of cut downloads.")
@click.option("--fault-rate-limit", type=RATE, default=0.0, help="Rate of 403/53 bursts.")
@click.option("--rate-limit-burst", default=1, show_default=True, help="Calls per 403/53 burst.")
@click.option("--retry-after", type=int, default=None, help="Retry-After seconds on 403/53.")
@click.option("--expire-token-every", default=0, help="Expire the token every N calls.")
@click.option("--latency", type=float, default=0.0, help="Seconds of delay per request.")
@click.option("--cgu-not-accepted", is_flag=True, help="Answer every call 403 CGU_NOT_ACCEPTED.")
@click.option("--fault-only", multiple=True, type=click.Choice(ENDPOINT_KINDS), help="Repeatable.")
@click.option("--fault-seed", default=0, show_default=True, help="Seed of the fault RNG.")
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option("--json", "as_json", is_flag=True, help="Print the addresses as one JSON line.")
@click.option(
    "--write-config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a complete syncd config for this emulator here (logged in, one pair).",
)
@click.option(
    "--local",
    default=f"~/{EMULATOR_FOLDER}",
    show_default=True,
    help="The local folder of that config's pair.",
)
@handle_errors
def emulator(
    host: str,
    port: int,
    data_dir: Path | None,
    client_id: str,
    client_secret: str,
    redirect_uris: tuple[str, ...],
    token_ttl: int,
    app_name: str,
    quota: str,
    max_file_size: str | None,
    zone_name: str,
    utc_offset: str | None,
    rotate_refresh_tokens: bool,
    reject_refresh_scope: bool,
    conflict_status: int,
    expired_code: str,
    page_split: str,
    fault_5xx: float,
    fault_reset: float,
    fault_lost_response: float,
    fault_download_reset: float,
    fault_rate_limit: float,
    rate_limit_burst: int,
    retry_after: int | None,
    expire_token_every: int,
    latency: float,
    cgu_not_accepted: bool,
    fault_only: tuple[str, ...],
    fault_seed: int,
    access_log: bool,
    as_json: bool,
    config_file: Path | None,
    local: str,
) -> None:
    """Run a local emulator of the Orange Cloud France API (API, content host and OAuth).

    It binds to loopback unless --host says otherwise, and runs until Ctrl-C or SIGTERM;
    with --data, the files, folders and tokens are kept for the next run. --write-config
    FILE writes a config for it that `syncd sync --config FILE` uses at once (its state in
    FILE-state beside it; written again by each run, never over another config).
    """
    if (
        config_file is not None
        and config_file.exists()
        and not written_by_the_emulator(config_file)
    ):
        raise ConfigError(
            "already exists and is not the emulator's: kept as it is (name another file)",
            file=config_file,
        )
    if access_log:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not _is_loopback(host):
        click.echo(f"warning: listening on {host}, reachable beyond this machine", err=True)
    faults = Faults(
        error_5xx_rate=fault_5xx,
        reset_rate=fault_reset,
        lost_response_rate=fault_lost_response,
        download_reset_rate=fault_download_reset,
        rate_limit_rate=fault_rate_limit,
        rate_limit_burst=rate_limit_burst,
        retry_after=retry_after,
        expire_token_every=expire_token_every,
        latency_s=latency,
        cgu_not_accepted=cgu_not_accepted,
        only=frozenset(fault_only) or None,
        seed=fault_seed,
    )
    emu = Emulator(
        data_dir,
        host=host,
        port=port,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=redirect_uris or DEFAULT_REDIRECT_URIS,
        token_ttl=token_ttl,
        app_name=app_name,
        quota_bytes=_size(quota),
        max_file_size=_size(max_file_size) if max_file_size else None,
        timezone=_zone(utc_offset) if utc_offset else zone_name,
        rotate_refresh_tokens=rotate_refresh_tokens,
        reject_refresh_scope=reject_refresh_scope,
        conflict_status=conflict_status,
        expired_code=int(expired_code),
        page_split="separate" if page_split == "separate" else "combined",
        faults=faults,
        access_log=access_log,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with emu:
            addresses = _addresses(emu, data_dir)
            if config_file is not None:
                _write_config(emu, config_file, local)
                addresses["config_file"] = str(config_file)
            if as_json:
                click.echo(json.dumps(addresses), nl=True)
            else:
                click.echo(_banner(addresses))
            stop.wait()
        if not as_json:
            click.echo("emulator stopped" + (f", state kept in {data_dir}" if data_dir else ""))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _write_config(emu: Emulator, config_file: Path, local: str) -> None:
    """A config for this emulator at `config_file`: its addresses, its application, its own
    state folder with a token already issued, one pair."""
    client = emu.config.client
    state_dir = config_file.absolute().with_name(f"{config_file.stem}-state")
    new = NewConfig(
        local=local_folder(local),
        client_id=client.client_id,
        client_secret=client.client_secret,
        redirect_uri=client.redirect_uris[0],
        emulator=Emulated(
            origin=emu.origin,
            api_url=emu.api_base,
            content_url=emu.content_base,
            authorize_url=emu.authorize_url,
            token_url=emu.token_url,
            state_dir=state_dir,
        ),
    )
    text = render(new, date.today())
    config = checked(text, config_file)
    save_token(config.cloud.token_file, emu.issue_token())
    write(config_file, text, replace=True)


def _addresses(emu: Emulator, data_dir: Path | None) -> dict[str, Any]:
    client = emu.config.client
    return {
        "origin": emu.origin,
        "api_base": emu.api_base,
        "content_base": emu.content_base,
        "authorize_url": emu.authorize_url,
        "token_url": emu.token_url,
        "admin_url": emu.admin_url,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": client.redirect_uris[0],
        "data_dir": str(data_dir) if data_dir else None,
    }


def _banner(a: dict[str, Any]) -> str:
    kept = a["data_dir"] or "a temporary folder (lost on exit; use --data DIR to keep it)"
    written = ""
    if a.get("config_file"):
        written = (
            f"A complete config for syncd, logged in already, is in {a['config_file']}:\n"
            f"  syncd sync --config {shlex.quote(a['config_file'])}\n\n"
        )
    return f"""Orange Cloud France emulator running; state in {kept}.

  API host      {a["api_base"]}
  content host  {a["content_base"]}
  OAuth         {a["authorize_url"]}
                {a["token_url"]}
  admin         {a["admin_url"]}/stats  (see syncd.emulator docs)

Configuration snippet for syncd:

cloud:
  api_url: {a["api_base"]}
  content_url: {a["content_base"]}
  authorize_url: {a["authorize_url"]}
  token_url: {a["token_url"]}
  client_id: {a["client_id"]}
  client_secret: {a["client_secret"]}
  redirect_uri: {a["redirect_uri"]}

{written}Press Ctrl-C to stop."""
