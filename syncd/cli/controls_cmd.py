"""`syncd exclude`, `syncd conflicts`, `syncd trash`, `syncd limit`: controls on a pair.

They change only the local folder and the pair's store, then wake a running daemon; the
next sync carries the result to the cloud.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from syncd import controls, units
from syncd.cli.common import (
    bandwidth,
    bandwidth_options,
    config_options,
    confirm,
    echo,
    echo_json,
    handle_errors,
    iso_utc,
    load,
    note,
    pair_option,
    wake_daemon,
    yes_option,
)
from syncd.config import Config, PairConfig
from syncd.errors import SyncdError
from syncd.locations import control_dir
from syncd.status import running_daemon

# --- selective sync -----------------------------------------------------------------------


@click.group("exclude")
def exclude() -> None:
    """Keep cloud folders out of the local side (selective sync). Nothing is ever deleted."""


@exclude.command("add")
@config_options
@pair_option
@click.argument("remote_path")
@handle_errors
def exclude_add(config_path: Path | None, pair_name: str | None, remote_path: str) -> None:
    """Stop syncing the cloud folder REMOTE_PATH to this computer."""
    config = load(config_path)
    pair, rel = controls.pair_for_remote(config, remote_path, pair_name)
    local = controls.exclude(config, pair, rel)
    note(f"{pair.name}: {rel} is no longer synced; the cloud keeps it.")
    problem = _found_nowhere(config, pair, rel)
    if problem is not None:
        echo(f"warning: {problem}; excluded all the same", err=True)
    if local is not None:
        note(
            f"  the local copy {local} is kept as it is and no longer synced; delete it "
            "yourself to free the space (syncd will not upload anything there)."
        )
    wake_daemon(config)


def _found_nowhere(config: Config, pair: PairConfig, rel: str) -> str | None:
    """Why excluding `rel` looks like a mistake (no such folder here or in the cloud), or
    None. The cloud is asked once, without retries: a warning is not worth a wait."""
    from dataclasses import replace

    from syncd.cloud.client import CloudClient
    from syncd.cloud.models import RemoteFolderRef
    from syncd.cloud.paths import PathResolver

    if (pair.local_root / rel).is_dir():
        return None
    remote_path = f"{pair.remote_root.rstrip('/')}/{rel}"
    try:
        with CloudClient.from_settings(replace(config.cloud, max_attempts=1)) as client:
            if isinstance(PathResolver(client).lookup(remote_path), RemoteFolderRef):
                return None
    except SyncdError as exc:
        return f"{remote_path} is not a folder here, and the cloud could not say ({exc})"
    return f"{remote_path} is a folder neither in the cloud nor here (a typo?)"


@exclude.command("remove")
@config_options
@pair_option
@click.argument("remote_path")
@handle_errors
def exclude_remove(config_path: Path | None, pair_name: str | None, remote_path: str) -> None:
    """Sync the cloud folder REMOTE_PATH to this computer again."""
    config = load(config_path)
    pair, rel = controls.pair_for_remote(config, remote_path, pair_name)
    controls.include(config, pair, rel)
    note(f"{pair.name}: {rel} is synced again (from the next sync).")
    wake_daemon(config)


@exclude.command("list")
@config_options
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def exclude_list(config_path: Path | None, as_json: bool) -> None:
    """Show the excluded cloud folders of every pair."""
    config = load(config_path)
    result: dict[str, list[dict[str, object]]] = {}
    for pair in config.pairs:
        with controls.pair_store(config, pair) as store:
            result[pair.name] = [
                {
                    "path": f"{pair.remote_root.rstrip('/')}/{rel}",
                    "local_copy_kept": (pair.local_root / rel).exists(),
                }
                for rel in controls.excluded_folders(store)
            ]
    if as_json:
        echo_json(result)
        return
    for name, items in result.items():
        echo(f"{name}: {units.plural(len(items), 'excluded folder', zero='no')}")
        for item in items:
            kept = "  (a local copy is still on disk)" if item["local_copy_kept"] else ""
            echo(f"  {item['path']}{kept}")


# --- conflicts ----------------------------------------------------------------------------


@click.group("conflicts", invoke_without_command=True)
@config_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def conflicts(ctx: click.Context, config_path: Path | None, as_json: bool) -> None:
    """List unresolved conflicted copies (or resolve one: `conflicts resolve`)."""
    if ctx.invoked_subcommand is not None:
        return
    config = load(config_path)
    result: dict[str, list[dict[str, object]]] = {}
    for pair in config.pairs:
        with controls.pair_store(config, pair) as store:
            result[pair.name] = [
                {
                    "copy": c.rel_path,
                    "original": c.original,
                    "copy_holds": f"the {c.loser} version",
                    "since": iso_utc(c.created_at),
                }
                for c in store.conflicts()
                if (pair.local_root / c.rel_path).exists()
            ]
    if as_json:
        echo_json(result)
        return
    for name, items in result.items():
        echo(f"{name}: {units.plural(len(items), 'unresolved conflict', zero='no')}")
        for item in items:
            echo(f"  {item['original']}: {item['copy_holds']} is in {item['copy']}")


@conflicts.command("resolve")
@config_options
@pair_option
@click.option(
    "--keep",
    type=click.Choice(["local", "remote", "both"]),
    required=True,
    help="Which version keeps the name (both: keep the two files as they are).",
)
@click.argument("path")
@handle_errors
def conflicts_resolve(
    config_path: Path | None, pair_name: str | None, keep: str, path: str
) -> None:
    """Settle the conflict of PATH (the original or the conflicted copy, relative to the pair)."""
    config = load(config_path)
    pair = config.pair(pair_name)
    done = controls.resolve(config, pair, path, keep, datetime.now())
    note(f"{pair.name}: {done.kept} keeps the {keep} version")
    if done.moved_to_trash:
        note(f"  the other version went to the trash ({done.moved_to_trash})")
    wake_daemon(config)


# --- the trash ----------------------------------------------------------------------------


@click.group("trash")
def trash() -> None:
    """What syncs deleted or overwrote on this computer, kept for `trash_retention_days`."""


@trash.command("list")
@config_options
@pair_option
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def trash_list(config_path: Path | None, pair_name: str | None, as_json: bool) -> None:
    """List trashed items with their original path and time."""
    config = load(config_path)
    pairs = [config.pair(pair_name)] if pair_name else list(config.pairs)
    result = {
        pair.name: [
            {
                "path": item.rel_path + ("/" if item.is_dir else ""),
                "trashed_at": iso_utc(item.trashed_at),
            }
            for item in controls.trashed_items(pair.local_root)
        ]
        for pair in pairs
    }
    if as_json:
        echo_json(result)
        return
    for name, items in result.items():
        echo(f"{name}: {units.plural(len(items), 'item', zero='no')} in the trash")
        for item in items:
            echo(f"  {item['trashed_at']}  {item['path']}")


@trash.command("restore")
@config_options
@pair_option
@click.option("--as", "target", help="Restore under this path instead (relative to the pair).")
@click.argument("path")
@handle_errors
def trash_restore(
    config_path: Path | None, pair_name: str | None, target: str | None, path: str
) -> None:
    """Put PATH (its latest trashed version) back; the next sync uploads it."""
    config = load(config_path)
    pair = config.pair(pair_name)
    where = controls.restore(pair.local_root, path, target=target)
    note(f"restored {where}")
    wake_daemon(config)


@trash.command("empty")
@config_options
@pair_option
@click.option("--older-than", type=int, default=0, help="Only items trashed this many days ago.")
@yes_option
@handle_errors
def trash_empty(
    config_path: Path | None, pair_name: str | None, older_than: int, yes: bool
) -> None:
    """Delete trashed items for good (asks first; --yes off a terminal)."""
    config = load(config_path)
    pairs = [config.pair(pair_name)] if pair_name else list(config.pairs)
    now = datetime.now()
    items = sum(
        len(controls.trash_to_empty(pair.local_root, now, older_than_days=older_than))
        for pair in pairs
    )
    names = ", ".join(pair.name for pair in pairs)
    older = f" (trashed over {units.plural(older_than, 'day')} ago)" if older_than else ""
    confirm(
        f"Delete {units.plural(items, 'item')} in the trash of {names}{older} for good?", yes=yes
    )
    for pair in pairs:
        count = controls.empty_trash(pair.local_root, now, older_than_days=older_than)
        note(f"{pair.name}: removed {units.plural(count, 'trash folder')}")


# --- bandwidth ----------------------------------------------------------------------------


@click.command("limit")
@config_options
@bandwidth_options
@click.option("--up", "up", hidden=True)  # the names before --upload-limit: old scripts
@click.option("--down", "down", hidden=True)
@click.option("--reset", is_flag=True, help="Back to the limits in the config.")
@handle_errors
def limit(
    config_path: Path | None,
    upload_limit: str | None,
    download_limit: str | None,
    bwlimit: str | None,
    up: str | None,
    down: str | None,
    reset: bool,
) -> None:
    """Change the bandwidth limits of the running daemon (all transfers together)."""
    config = load(config_path)
    control = control_dir(config)
    if reset:
        controls.clear_limits(control)
    else:
        up_rate, down_rate = bandwidth(upload_limit or up, download_limit or down, bwlimit)
        controls.write_limits(control, up_rate, down_rate)
    now = controls.limits_in_force(config, control)
    wake_daemon(config)
    shown = f"up {units.rate(now['upload_limit'])}, down {units.rate(now['download_limit'])}"
    running = running_daemon(control) is not None
    note(f"limits: {shown}" + ("" if running else " (daemon not running)"))
