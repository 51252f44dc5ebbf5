"""The gates between a plan and the world: refuse what looks like an accident.

A sync tool that reads "missing" as "deleted" wipes the other side when a disk is unmounted,
a folder renamed, or a listing comes back empty. The root guard catches the missing or
replaced root; the mass-delete brake catches the rest by counting what a plan would delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncd.errors import NeedsUserError, RootGuardError
from syncd.sync import localfs
from syncd.sync.model import BaseSnapshot, DeleteLocal, DeleteRemote, Kind, Plan


class MassDeleteError(NeedsUserError):
    """A plan would delete too much of one side; the user must confirm it."""


@dataclass(frozen=True, slots=True)
class DeleteCounts:
    local: int
    remote: int
    synced_files: int


def count_deletes(plan: Plan, base: BaseSnapshot) -> DeleteCounts:
    """Files each side would lose, counting the files inside deleted folders."""
    local = remote = 0
    for action in plan.actions:
        if isinstance(action, DeleteLocal):
            kinds = [action.expected.kind, *(entry.kind for _, entry in action.subtree)]
            local += kinds.count(Kind.FILE)
        elif isinstance(action, DeleteRemote):
            kinds = [action.expected.kind, *(entry.kind for _, entry in action.subtree)]
            remote += kinds.count(Kind.FILE)
    synced = sum(entry.kind is Kind.FILE for entry in base.values())
    return DeleteCounts(local, remote, synced)


def check_mass_delete(plan: Plan, base: BaseSnapshot, *, max_percent: float) -> None:
    """Raise `MassDeleteError` if a side would lose more than `max_percent` of the synced
    files, or all of them."""
    counts = count_deletes(plan, base)
    if counts.synced_files == 0:
        return
    for side, deleted in (("local", counts.local), ("cloud", counts.remote)):
        if deleted == 0:
            continue
        share = 100.0 * deleted / counts.synced_files
        if deleted >= counts.synced_files or share > max_percent:
            where = "on this computer" if side == "local" else "in the cloud"
            raise MassDeleteError(
                f"this sync would delete {deleted} of {counts.synced_files} synced files "
                f"{where} ({share:.0f} %, limit {max_percent:g} %). Nothing was changed. If "
                "that is what you want, run `syncd sync --allow-mass-delete`; if not, check "
                "that the folders are mounted and in place."
            )


def check_root(root: Path, marker: str | None, *, synced: bool, dry_run: bool) -> str | None:
    """The local root must be the folder that was synced: present, holding the marker the
    state remembers. Before the first sync (no `marker`), it is made and marked: returns
    the new marker for the state to remember (None otherwise). Raises `RootGuardError`."""
    if marker is None:
        if synced:
            raise RootGuardError(
                f"state for {root} has no root marker; run `syncd reset` to rebuild it"
            )
        if dry_run:
            return None
        try:
            root.mkdir(parents=False, exist_ok=True)
        except FileNotFoundError:
            raise RootGuardError(
                f"cannot create the local folder {root}: its parent does not exist"
            ) from None
        except FileExistsError:
            raise RootGuardError(
                f"the local folder {root} is a file, not a folder: change `local` "
                "in the configuration or move the file away"
            ) from None
        if not root.is_dir():
            raise RootGuardError(f"the local folder {root} is not a folder")
        return localfs.write_marker(root)
    if not root.is_dir():
        raise RootGuardError(
            f"the local folder {root} is missing (or not a folder): nothing was "
            "deleted in the cloud. Mount or restore it, or run `syncd reset` to start over."
        )
    found = localfs.read_marker(root)
    if found != marker:
        raise RootGuardError(
            f"{root} is not the folder that was synced (its .syncd marker is "
            f"{'missing' if found is None else 'different'}): nothing was deleted in the "
            "cloud. Restore the folder, or run `syncd reset` to sync it from scratch."
        )
    return None
