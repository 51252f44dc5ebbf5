"""What the sync engine is told: one folder pair, and how to sync. Its own small types, so
the engine never depends on how a configuration is written or validated (`syncd.config`
builds these from the YAML; tests and the demo build them directly).

The defaults written here are the configuration's defaults too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncd.sync.model import ConflictPolicy


@dataclass(frozen=True, slots=True)
class PairOptions:
    """One folder pair: its name, its two roots, what is left out, who wins conflicts."""

    name: str
    local_root: Path
    remote_root: str  # a cloud path: "/" or "/a/b"
    excludes: tuple[str, ...] = ()
    conflict_policy: ConflictPolicy = "keep-both"


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """How every pair syncs (the `sync:` section of the configuration)."""

    poll_interval_s: float = 60.0
    debounce_s: float = 1.0
    full_rescan_interval_s: float = 3600.0
    transfers: int = 4
    max_delete_percent: float = 50.0
    upload_limit: int = 0  # bytes/s, 0 = none
    download_limit: int = 0
    min_free_space: int = 1024**3
    min_free_percent: float = 1.0
    trash_retention_days: int = 30
