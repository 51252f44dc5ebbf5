"""Tidying up between passes: what a killed or failed run left behind, in the cloud and on
the disk. Runs only when no transfer of the pair is in flight."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from syncd.cloud.errors import CloudError
from syncd.sync import localfs
from syncd.sync.model import Kind, RemoteEntry
from syncd.sync.remote import RemoteSide, temp_owner

log = logging.getLogger(__name__)

# Another computer's upload temporary this old is orphaned too: a replace renames its
# temporary seconds after the upload ends (the file only appears once fully uploaded).
FOREIGN_TEMP_AGE = 24 * 3600.0


def sweep_temporaries(
    pair_name: str,
    side: RemoteSide,
    temporaries: dict[str, RemoteEntry],
    clock: Callable[[], float],
) -> None:
    """Delete upload temporaries a killed or failed replace left in the cloud (and drop
    them from `temporaries`).

    A temporary with this pair's tag is then an orphan (one listed before its replace
    finished is gone by now, and deleting it finds nothing). Another pair's, or another
    computer's, is left for a day first. Untagged ones are left alone: a move may park an
    item under such a name (`RemoteSide.move`). Only files are ever swept, never folders.
    """
    for rel_path, entry in sorted(temporaries.items()):
        owner = temp_owner(rel_path.rpartition("/")[2])
        if owner is None:
            continue
        if owner != side.temp_tag and clock() - entry.created < FOREIGN_TEMP_AGE:
            continue
        try:
            side.delete_temporary(entry)
        except CloudError as exc:  # offline or refused: the next sweep tries again
            log.info("%s: could not remove the temporary %s: %s", pair_name, rel_path, exc)
            return
        log.info("%s: removed the upload temporary %s", pair_name, rel_path)
        del temporaries[rel_path]


def drop_orphan_partials(
    root: Path,
    partials: set[str],
    remote: Mapping[str, RemoteEntry],
    retrying: Iterable[str],
) -> None:
    """With nothing left to do, remove the partial downloads nothing will resume (and drop
    them from `partials`): all but those of a version a download waiting to retry still
    wants. (One of a version the cloud still holds can be an orphan too: a folder moved
    with a partial inside, or a file that reached the disk by another way.)"""
    if not partials:
        return
    wanted = {
        entry.fingerprint_tag()
        for rel_path in retrying
        if (entry := remote.get(rel_path)) is not None and entry.kind is Kind.FILE
    }
    for rel_path in sorted(partials):
        if localfs.partial_version(rel_path) not in wanted:
            localfs.remove_partial(root, rel_path)
            partials.discard(rel_path)
