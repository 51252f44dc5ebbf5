"""Unit tests of the rendering helpers that listings depend on."""

from __future__ import annotations

import json
import os
from zoneinfo import ZoneInfo

import pytest

from syncd.emulator.ids import ROOT_ID, decode_id, encode_path, file_id, folder_id, split_id
from syncd.emulator.model import DateFormat, file_type, numbered_name
from syncd.emulator.views import FileRow, FolderRow, Renderer, UrlSigner, page

ROWS = [
    FileRow("a/photo.JPG", "photo.JPG", 10, 1_700_000_000, 1_700_000_100, "b1", {}),
    FileRow("a/song.mp3", "song.mp3", 20, 1_600_000_000, 1_600_000_000, "b2",
            {"duration": 12, "hasCover": False}),
    FileRow('q/"quoted" é\\\x01.txt', '"quoted" é\\\x01.txt', 0, 0, 0, "b3", {}),
]  # fmt: skip


@pytest.mark.parametrize("with_urls", [False, True])
def test_fast_listing_json_equals_the_plain_rendering(with_urls: bool) -> None:
    signer = UrlSigner(os.urandom(32))
    render = Renderer(DateFormat(ZoneInfo("Europe/Paris")), signer, 'http://h:1/"x"/cloud')
    fast = json.loads(render.files_json(ROWS, with_urls=with_urls))
    plain = [render.file(row, with_urls=with_urls) for row in ROWS]
    assert fast == plain
    assert [list(f) for f in fast] == [list(f) for f in plain]  # same key order too


def test_signed_urls() -> None:
    signer = UrlSigner(b"k" * 32)
    tail = signer.signer("content", b"12345678")("blob")
    assert signer.verify("content", "blob", tail)
    assert not signer.verify("thumb", "blob", tail)
    assert not signer.verify("content", "other", tail)
    assert not signer.verify("content", "blob", tail[:-1])
    assert not signer.verify("content", "blob", "%%%")
    assert signer.signer("content", b"87654321")("blob") != tail


def test_dates() -> None:
    paris = DateFormat(ZoneInfo("Europe/Paris"))
    assert paris.render(1_469_881_226) == "2016-07-30T14:20:26+0200"
    assert paris.render(1_451_606_400) == "2016-01-01T01:00:00+0100"


def test_ids() -> None:
    assert folder_id(()) == ROOT_ID == "Lw"
    assert folder_id(("__upload",)) == "X191cGxvYWQv"
    assert file_id(("Music", "Kalimba.mp3")) == "TXVzaWMvS2FsaW1iYS5tcDM"
    assert split_id("TXVzaWMvS2FsaW1iYS5tcDM") == (["Music", "Kalimba.mp3"], False)
    assert split_id("Lw") == ([], True)
    assert decode_id(encode_path("Привет/é")) == "Привет/é"
    for bad in ("", "a", "!!!!", "_w", "Lw!!", "Lw=="):
        with pytest.raises(ValueError):
            split_id(bad)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.JPG", "PICTURE"), ("b.heic", "PICTURE"), ("c.MOV", "VIDEO"), ("d.m4a", "AUDIO"),
     ("e.pdf", "FILE"), ("noext", "FILE"), (".jpg", "FILE"), ("f.tar.gz", "FILE")],
)  # fmt: skip
def test_file_types(name: str, kind: str) -> None:
    assert file_type(name) == kind


def test_numbered_names() -> None:
    assert numbered_name("upload.jpg", 1) == "upload(1).jpg"
    assert numbered_name("README", 2) == "README(2)"
    assert numbered_name(".bashrc", 1) == ".bashrc(1)"


def test_page_splits_subfolders_then_files() -> None:
    folders = [FolderRow(f"d{i}/", f"d{i}", "") for i in range(3)]
    files = ROWS
    assert page(folders, files, 0, 0) == (folders, files)
    assert page(folders, files, 2, 0) == (folders[:2], [])
    assert page(folders, files, 2, 2) == (folders[2:], files[:1])
    assert page(folders, files, 0, 4) == ([], files[1:])
    assert page(folders, files, 5, 10) == ([], [])
