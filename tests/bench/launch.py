"""Runs one measured command for `procs.run_measured`, and writes its figures as JSON:
`python -m tests.bench.launch RESULT_FILE CMD...`.

A child's peak RSS as `wait4` reports it starts from what its parent held when it forked:
Linux copies the parent's memory map into the child and keeps its high-water mark across
exec. A runner that holds a big tree's listing would lend it to every child it measures
(a `python -c pass` measured 432 MiB beside a runner holding 400 MiB). Forked from this small
process instead, the command's peak starts from a few MiB. Its wall time is taken here too,
from the fork to the end of the command, so this process's own start-up is not in it.
"""

from __future__ import annotations

import json
import os
import sys
import time

from tests.bench.procs import die_with_parent


def main(result_file: str, cmd: list[str]) -> None:
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: nothing but exec (or the reason it failed)
        try:
            die_with_parent()
            os.execvp(cmd[0], cmd)
        except BaseException as exc:
            print(f"cannot run {cmd[0]}: {exc}", file=sys.stderr, flush=True)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    figures = {
        "returncode": os.waitstatus_to_exitcode(status),
        "wall_s": wall,
        "maxrss_kib": usage.ru_maxrss,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }
    with open(result_file, "w", encoding="ascii") as out:
        json.dump(figures, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
