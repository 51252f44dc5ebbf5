"""Where a config keeps its files: each pair's state DB, and its daemon's control folder.

Pure paths from a `Config`, apart from the composition root (`syncd.compose`, which
re-exports them) so that `syncd status` finds them without importing the client or the
engine.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from syncd.config import Config, PairConfig


def state_path(config: Config, pair: PairConfig) -> Path:
    return config.state_dir / "pairs" / pair.name / "state.db"


def control_dir(config: Config) -> Path:
    """Where the daemon of this config keeps its pid, status and control files (pause flag,
    limits): apart from any other config's, even with the same `state_dir`. Named after the
    config file (its name, and a digest of its resolved path)."""
    if config.source is None:
        return config.state_dir / "daemons" / "default"
    resolved = str(config.source.resolve())
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", config.source.stem) or "config"
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return config.state_dir / "daemons" / f"{stem}-{digest}"
