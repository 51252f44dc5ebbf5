"""What `syncd.cloud`'s comments say stays true when the code gets faster: figures live in
docs/benchmarks.md."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOUD = ROOT / "syncd" / "cloud"

# A measured duration: a number with a unit below the second, CPU seconds, or micro- and
# milliseconds spelled out. Plain seconds are left alone: "1 s resolution" is a fact of the
# API, not a measurement of ours.
_TIMING = re.compile(
    r"\d[\d.,]*(?:\s?[–-]\s?\d[\d.,]*)?\s?(?:ns|µs|us|ms)\b"
    r"|\bs of CPU\b|\b(?:micro|milli)seconds?\b"
)


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
