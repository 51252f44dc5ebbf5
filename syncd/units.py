"""How numbers read to a person: binary sizes, rates, counts with the right plural.

One place for them, so that the plan, the summary, the journal, `syncd status` and the cloud
commands all say `1.2 KiB` the same way.
"""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(count: int | None) -> str:
    """`1234` -> `"1.2 KiB"`; bytes below 1 KiB as a whole number (`"512 B"`)."""
    if count is None:
        return "unknown"
    value = float(count)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def rate(per_second: int) -> str:
    """A bandwidth limit: `"2.0 MiB/s"`, or `"unlimited"` for 0."""
    return f"{size(per_second)}/s" if per_second > 0 else "unlimited"


def plural(
    count: int, singular: str, plural_form: str | None = None, *, zero: str | None = None
) -> str:
    """`plural(1, "item")` -> `"1 item"`; `plural(3, "copy", "copies")` -> `"3 copies"`;
    `plural(0, "item", zero="no")` -> `"no items"`."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{zero if count == 0 and zero else count} {word}"
