"""`printable`: what a terminal or a log shows of a name, whatever the name holds."""

from __future__ import annotations

import json

import pytest

from syncd.text import printable


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("plain.txt", "plain.txt"),
        ("été 🌞 (copie).txt", "été 🌞 (copie).txt"),
        ("famille 👨\u200d👩\u200d👧.jpg", "famille 👨\u200d👩\u200d👧.jpg"),  # ZWJ kept
        ("[red]x", "[red]x"),  # markup is rich's business, not this
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("bell\x07", "bell\\x07"),
        ("two\nlines\r", "two\\x0alines\\x0d"),
        ("tab\there", "tab\\x09here"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b31m", "csi\\x9b31m"),  # C1: a CSI to some terminals
        ("txt.exe\u202egnp", "txt.exe\\u202egnp"),  # bidi override: shows another name
        ("line\u2028sep", "line\\u2028sep"),
        ("bad-\udcff-utf8", "bad-\\udcff-utf8"),  # a name from bytes that are not UTF-8
    ],
)
def test_control_and_reordering_characters_are_shown_escaped(name: str, shown: str) -> None:
    assert printable(name) == shown
    shown.encode("utf-8")  # printable on any UTF-8 terminal


@pytest.mark.parametrize("indent", [None, 2])
def test_json_escapes_stay_json_and_keep_the_name(indent: int | None) -> None:
    name = "a\x1b[2Jb\x7f\x9b\u202e\udcff\n"
    data = {"name": name, "sizes": [1, 2]}
    text = printable(json.dumps(data, ensure_ascii=False, indent=indent), json=True)
    assert not any(c in text for c in "\x1b\x7f\x9b\u202e")
    text.encode("utf-8")
    assert json.loads(text) == data
    assert text.count("\n") == (0 if indent is None else 6)  # the document's own lines
