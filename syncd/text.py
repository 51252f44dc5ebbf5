"""What a terminal or a log line may show of a text that holds names (cloud or local).

A name can hold anything but `/` and NUL: an escape sequence that clears the screen or
retitles the window, a newline that forges a second line, a bidi override that shows
`gnp.exe` as `exe.png`, bytes that are not UTF-8. `printable` shows each such character
as a visible escape and leaves every other character, accents and emoji included, as is.
Rich markup is a separate matter: output through rich is given as plain `Text`.
"""

from __future__ import annotations

import re

# The bidi embeddings, overrides, isolates and marks; line and paragraph separators; lone
# surrogates (how Python keeps bytes that are not UTF-8).
_REORDERING = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
# ... and the C0 and C1 controls and DEL.
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_REORDERING}]")
# What `json.dumps` leaves raw: it escapes C0 controls inside strings itself, and those
# outside strings (newlines, indents) are the document's own.
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_REORDERING}]")


def _python_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: str, *, json: bool = False) -> str:
    """`text` with every control, reordering or undecodable character shown escaped (`\\x1b`,
    `\\u202e`). With `json`, `text` is a document from `json.dumps`, and what that left raw
    in its strings becomes JSON escapes: the document still decodes to the same data."""
    if json:
        return _UNSAFE_IN_JSON.sub(_json_escape, text)
    if text.isascii() and text.isprintable():
        return text  # nearly always: no regex to run
    return _UNSAFE.sub(_python_escape, text)
