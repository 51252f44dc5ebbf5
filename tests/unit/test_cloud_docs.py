"""`syncd.cloud` is a library people import: its public names are documented, and what its
comments say stays true when the code gets faster (figures live in docs/benchmarks.md)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOUD = ROOT / "syncd" / "cloud"

UNDOCUMENTED = """\
class Public:
    def __init__(self, value: int) -> None:
        self.value = value

    def method(self) -> int:
        return self.value


def function() -> None:
    return None
"""

# A measured duration: a number with a unit below the second, CPU seconds, or micro- and
# milliseconds spelled out. Plain seconds are left alone: "1 s resolution" is a fact of the
# API, not a measurement of ours.
_TIMING = re.compile(
    r"\d[\d.,]*(?:\s?[–-]\s?\d[\d.,]*)?\s?(?:ns|µs|us|ms)\b"
    r"|\bs of CPU\b|\b(?:micro|milli)seconds?\b"
)


def _ruff_codes(source: str, as_path: str) -> set[str]:
    """The rules the project's ruff configuration reports for `source` as if at `as_path`."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "ruff", "check", "--no-cache", "--exit-zero"),
            *("--output-format", "json", "--stdin-filename", as_path, "-"),
        ],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return {finding["code"] for finding in json.loads(result.stdout)}


def test_ruff_requires_docstrings_on_the_cloud_client_s_public_names() -> None:
    codes = _ruff_codes(UNDOCUMENTED, "syncd/cloud/example.py")
    # Module, class, method, function, constructor.
    assert {"D100", "D101", "D102", "D103", "D107"} <= codes


def test_an_empty_docstring_does_not_count() -> None:
    codes = _ruff_codes('""""""\n', "syncd/cloud/example.py")
    assert "D419" in codes


@pytest.mark.parametrize("as_path", ["syncd/sync/example.py", "tests/unit/test_example.py"])
def test_the_docstring_rules_hold_only_the_cloud_client(as_path: str) -> None:
    codes = _ruff_codes(UNDOCUMENTED, as_path)
    assert not {code for code in codes if code.startswith("D")}


def _timings(path: Path) -> list[str]:
    """Each duration written in a comment or a string (docstrings included) of `path`."""
    found = []
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for token in tokens:
        if token.type not in (tokenize.COMMENT, tokenize.STRING):
            continue
        for match in _TIMING.finditer(token.string):
            line = token.start[0] + token.string.count("\n", 0, match.start())
            found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)!r}")
    return found


def test_cloud_comments_hold_no_timings() -> None:
    found = [timing for path in sorted(CLOUD.rglob("*.py")) for timing in _timings(path)]
    assert not found, "timings belong in docs/benchmarks.md:\n" + "\n".join(found)
