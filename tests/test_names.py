"""Odd file names as they are printed, stored and found again (words.shown, files.find_shown)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from megabackup.files import find_shown
from megabackup.words import listing, shown


def test_plain_names_are_shown_as_they_are() -> None:
    assert shown("Résumé für Zoë 😀.txt") == "Résumé für Zoë 😀.txt"


def test_newlines_control_characters_and_bytes_that_are_not_utf8_are_escaped() -> None:
    assert shown("new\nline.txt") == "new\\nline.txt"
    assert shown("bell\x07.txt") == "bell\\x07.txt"
    assert shown(os.fsdecode(b"bad\xff\xfe.txt")) == "bad\\xff\\xfe.txt"
    assert shown(os.fsdecode(b"bad\xff.txt")).encode("utf-8")  # storable as text


@pytest.mark.posix  # a name that is not UTF-8 exists only on POSIX disks
def test_a_shown_name_finds_its_file_again(tmp_path: Path) -> None:
    odd = os.fsencode(tmp_path) + b"/D\xffir/new\nline.txt"
    Path(os.fsdecode(odd)).parent.mkdir()
    Path(os.fsdecode(odd)).write_text("x")
    found = find_shown(tmp_path, "D\\xffir/new\\nline.txt")
    assert found is not None and os.fsencode(found) == odd
    as_a_tool_printed_it = "D\ufffdir/new\nline.txt"  # read with undecodable bytes replaced
    assert find_shown(tmp_path, as_a_tool_printed_it) == found
    assert find_shown(tmp_path, "D\\xffir/other.txt") is None


def test_a_listing_names_ten_and_counts_the_rest() -> None:
    names = [f"f{i}" for i in range(13)]
    assert listing(names) == "f0, f1, f2, f3, f4, f5, f6, f7, f8, f9 and 3 more"
    assert listing(names[:2]) == "f0, f1"
