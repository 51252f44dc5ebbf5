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
from collections.abc import Callable, Iterator
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
    caller's click runner: only then may a command end the process itself.

    `on_end` runs just before a command ends the process itself, its output flushed: what
    the interpreter's shutdown would have done for whoever started the program (a profiler
    writing its figures), since that shutdown never comes.
    """

    on_end: Callable[[], None] | None = None


def _program() -> Program | None:
    context = click.get_current_context(silent=True)
    if context is None:
        return None
    program = context.find_root().obj
    return program if isinstance(program, Program) else None


def owns_process() -> bool:
    return _program() is not None


def end_process(code: int, *held: object) -> NoReturn:
    """End the program now, its output flushed, without freeing its heap object by object
    (`held`: what the caller keeps referenced until then).

    Only for a command with nothing left open but memory: the kernel closes files, but
    `atexit` handlers and finalizers do not run; the program's `on_end` does.
    """
    program = _program()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (`syncd sync >&-`)
            continue
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    if program is not None and program.on_end is not None:
        program.on_end()
    os._exit(code)
