"""The benchmark's measure of a child process is the child's own."""

from __future__ import annotations

import os
import sys

from tests.bench.procs import run_measured

MiB = 1 << 20


def test_a_child_s_peak_rss_is_not_the_runner_s() -> None:
    # Linux counts what a forked child inherited from its parent in the child's peak RSS, even
    # across exec: a runner that holds a big tree's listing would lend it to every child.
    held = bytearray(b"\x01") * (400 * MiB)  # resident: every page written
    result = run_measured([sys.executable, "-c", "pass"], dict(os.environ), timeout=60)
    assert result.returncode == 0, result.stderr
    assert 1 < result.maxrss_mib < 100, result
    assert 0 < result.wall_s < 60 and result.cpu_s > 0, result
    assert len(held) == 400 * MiB


def test_the_child_s_exit_code_and_output_come_back() -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    result = run_measured([sys.executable, "-c", code], dict(os.environ), timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
