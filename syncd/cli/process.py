"""The `syncd` program's own process: its heap, and how a one-shot command ends it.

Kept apart from `common` so that the command group can use it without loading the config
schema.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

import click


def settle_heap() -> None:
    """Call once the modules a long command needs are imported.

    What is loaded by then (SQLAlchemy, httpx, pydantic: some 70,000 objects the collector
    tracks) lives as long as the process, yet every full collection of the cyclic garbage
    collector would walk it again, and a scan of a big tree sets off several: `freeze`
    leaves it out of them all. (The threshold is raised at start-up, in `syncd.cli.run`.)
    """
    gc.freeze()


@contextlib.contextmanager
def snapshots_for_the_process() -> Iterator[None]:
    """Around a one-shot command's scans: the cyclic collector pauses, then what they built
    is frozen.

    A scan of 100,000 paths makes some 330,000 objects the collector tracks (base rows,
    scan and listing entries) that hold no cycles and live until the command ends, yet every
    young-generation collection walks those made since the last one. Frozen, later
    collections skip them too. Cyclic garbage that exists at the freeze is never
    collected: a command that ends soon can afford that, a daemon could not.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    except BaseException:
        # A failure's traceback holds the engine in a cycle: frozen, the engine would
        # outlive its pair while the next pairs sync.
        gc.enable()
        raise
    gc.freeze()
    gc.enable()


@dataclass(frozen=True)
class Program:
    """`ctx.obj` when `syncd` runs as its own program (`syncd.cli.run`) rather than inside a
    caller's click runner: only then may a command end the process itself."""


def owns_process() -> bool:
    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.find_root().obj, Program)


def end_process(code: int, *held: object) -> NoReturn:
    """End the program now, its output flushed, without freeing its heap object by object
    (`held`: what the caller keeps referenced until then).

    Only for a command with nothing left open but memory: the kernel closes files, but
    `atexit` handlers and finalizers do not run.
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (`syncd sync >&-`)
            continue
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(code)
