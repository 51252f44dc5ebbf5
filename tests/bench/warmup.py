"""Compile everything a measured process imports, once, before anything is timed.

Run as a child (`python -m tests.bench.warmup DIR`) with the children's environment: their
bytecode goes to a cache in the scratch folder (`PYTHONPYCACHEPREFIX`), as an installed
package would have it, instead of being recompiled by every process when the environment
says not to write bytecode. Opening a store runs the Alembic migrations, whose scripts are
imported too.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(scratch: Path) -> None:
    import importlib

    import watchdog.observers  # noqa: F401

    import syncd.daemon  # noqa: F401  imported by `syncd run` only when it runs
    from syncd.cli import COMMANDS

    for entry in COMMANDS.values():  # each imported only when its command runs
        importlib.import_module(entry.target.split(":")[0])
    import tests.bench.floors  # noqa: F401
    from syncd.store import Store

    with Store.open(scratch / "warmup.db"):
        pass


if __name__ == "__main__":
    main(Path(sys.argv[1]))
