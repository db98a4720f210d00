"""File names as archives have them: bytes that are not UTF-8 (Windows-1258
names from old Windows machines), tabs, NFD (macOS), and files that are not
regular files. Each is indexed once, under an id a user can type, and found
again unchanged by the next run."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

import clipsearch

from .conftest import write_clipping

NFC_NAME = "bài báo mới"


def _runs(folder: Path, index_dir: Path, times: int = 3) -> list[clipsearch.IndexReport]:
    return [clipsearch.build_index([folder], index_dir) for _ in range(times)]


def _ids(index_dir: Path) -> list[str]:
    with clipsearch.open_index(index_dir) as index:
        return [hit.id for hit in index.search("*", limit=1000, collapse=False)]


def test_a_windows_1258_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    # Windows-1258 writes tones as combining marks: "mới" is m, ơ (F5), acute (EC), i.
    raw_name = b"b\xe0i b\xe1o m\xf5\xeci.txt"
    with pytest.raises(UnicodeDecodeError):
        raw_name.decode("utf-8")
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), raw_name)))
    write_clipping(folder, "plain", "Tin thường", "Dẫn.", ["Thân."])
    written = write_clipping(folder, "tmp", "Tin từ máy cũ", "Dẫn.", ["Thân bài."])
    os.rename(written, path)
    first, second, third = _runs(folder, tmp_path / "ix")
    assert (len(first.added), first.skipped, first.total) == (2, [], 2)
    assert (len(second.unchanged), len(third.unchanged), third.added, third.total) == (2, 2, [], 2)
    assert sorted(_ids(tmp_path / "ix")) == sorted([NFC_NAME, "plain"])
    with clipsearch.open_index(tmp_path / "ix") as index:
        view = index.show(NFC_NAME)
        assert view.title == "Tin từ máy cũ"
        assert os.fsencode(view.path) == os.fsencode(path)  # the path opens the file again
    path.unlink()
    after = clipsearch.build_index([folder], tmp_path / "ix")
    assert (after.removed, after.total) == ([str(path)], 1)


def test_a_tab_in_a_file_name_is_indexed_once(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_clipping(folder, "bai\tbao", "Tin có dấu tab", "Dẫn.", ["Thân."])
    reports = _runs(folder, tmp_path / "ix")
    assert [r.total for r in reports] == [1, 1, 1]
    assert [len(r.unchanged) for r in reports] == [0, 1, 1]
    assert _ids(tmp_path / "ix") == ["bai\tbao"]


def test_an_nfd_file_name_gives_an_nfc_id(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    nfd = unicodedata.normalize("NFD", NFC_NAME)
    write_clipping(folder, nfd, "Tin từ máy Mac", "Dẫn.", ["Thân."])
    reports = _runs(folder, tmp_path / "ix", 2)
    assert [r.total for r in reports] == [1, 1] and len(reports[1].unchanged) == 1
    assert _ids(tmp_path / "ix") == [NFC_NAME]
    with clipsearch.open_index(tmp_path / "ix") as index:
        assert index.show(NFC_NAME).title == "Tin từ máy Mac"
        assert index.show(nfd).id == NFC_NAME  # typed in NFD, found all the same
        assert index.similar("\u200b" + nfd).query == f"similar to \u200b{nfd}"


def test_a_fifo_named_txt_is_skipped_not_waited_for(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_clipping(folder, "real", "Tin thật", "Dẫn.", ["Thân."])
    os.mkfifo(folder / "pipe.txt")
    command = [sys.executable, "-m", "clipsearch", "index", str(folder), "--index-dir", str(tmp_path / "ix")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert f"  {folder / 'pipe.txt'}: not a regular file\n" in done.stderr
    assert _ids(tmp_path / "ix") == ["real"]


@pytest.mark.parametrize("name", ["/dev/null", "/dev/zero"])
def test_a_device_given_by_name_is_skipped(tmp_path: Path, name: str) -> None:
    report = clipsearch.build_index([name], tmp_path / "ix")
    assert [(s.path, s.reason) for s in report.skipped] == [(name, "not a regular file")]
