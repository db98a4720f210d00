"""The command line against hostile input: reports that cannot be written,
arguments that look like options, file names and ids with control
characters, an empty path."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import clipsearch
from clipsearch.cli import cli

from .conftest import SEED, SEED_ID, write_clipping

posix_names = pytest.mark.skipif(sys.platform == "win32", reason="file names with control characters")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def clippings(tmp_path: Path) -> Path:
    """A folder with the seed."""
    folder = tmp_path / "clippings"
    folder.mkdir()
    shutil.copyfile(SEED, folder / SEED.name)
    return folder


def clippings_in(index: Path) -> int:
    with clipsearch.open_index(index) as ix:
        return ix.stats().clippings


# 1. A report that cannot be written: the run's output, one Error line, exit 1; the index is kept.


@pytest.mark.parametrize("skipped", [False, True])
def test_report_in_a_missing_folder(clippings: Path, tmp_path: Path, skipped: bool) -> None:
    if skipped:
        (clippings / "empty.txt").write_bytes(b"")
    index, report = tmp_path / "index", tmp_path / "missing" / "x.tsv"
    result = run("index", str(clippings), "--index-dir", str(index), "--report", str(report))
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(f"Indexed 1 clipping into {index}/ (1 new,")
    assert "Traceback" not in result.output
    message = f"Error: cannot write the report {report}: {os.strerror(errno.ENOENT)}"
    assert result.stderr.splitlines()[-1] == message
    assert result.stderr.count("Error") == 1
    if skipped:  # the list in the index is written all the same
        assert (index / "skipped.tsv").read_text(encoding="utf-8") == f"{clippings / 'empty.txt'}\tempty file\n"
    assert clippings_in(index) == 1  # committed, and kept
    again = run("index", str(clippings), "--index-dir", str(index))
    assert again.stdout.startswith(f"Indexed 0 clippings into {index}/ (0 new, 0 changed, 1 unchanged")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_report_on_a_full_disk(clippings: Path, tmp_path: Path) -> None:
    (clippings / "empty.txt").write_bytes(b"")
    index = tmp_path / "index"
    result = run("index", str(clippings), "--index-dir", str(index), "--report", "/dev/full")
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(f"Indexed 1 clipping into {index}/")
    assert result.stderr.splitlines()[-1] == f"Error: cannot write the report /dev/full: {os.strerror(errno.ENOSPC)}"
    assert clippings_in(index) == 1
    # Nothing skipped: nothing to write, nothing fails.
    (clippings / "empty.txt").unlink()
    quiet = run("index", str(clippings), "--index-dir", str(index), "--report", "/dev/full")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""


def test_skipped_tsv_in_the_index_cannot_be_written(clippings: Path, tmp_path: Path) -> None:
    index, report = tmp_path / "index", tmp_path / "report.tsv"
    assert run("index", str(clippings), "--index-dir", str(index)).exit_code == 0
    (index / "skipped.tsv").mkdir()  # in the way
    (clippings / "empty.txt").write_bytes(b"")
    result = run("index", str(clippings), "--index-dir", str(index), "--report", str(report))
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(f"Indexed 0 clippings into {index}/ (0 new, 0 changed, 1 unchanged")
    assert result.stderr.splitlines() == [
        "Skipped 1 file:",
        f"  {clippings / 'empty.txt'}: empty file",
        f"Error: cannot write the report {index / 'skipped.tsv'}: {os.strerror(errno.EISDIR)}",
        f"The list of skipped files is in {report}",  # the other report is written all the same
    ]
    assert report.read_text(encoding="utf-8") == f"{clippings / 'empty.txt'}\tempty file\n"
    # Nothing skipped: the old list cannot be removed either.
    (clippings / "empty.txt").unlink()
    clean = run("index", str(clippings), "--index-dir", str(index))
    assert clean.exit_code == 1, clean.output
    assert clean.stderr == f"Error: cannot remove the old report {index / 'skipped.tsv'}: {os.strerror(errno.EISDIR)}\n"
    assert clippings_in(index) == 1


def test_a_report_when_nothing_is_skipped_is_written_empty(clippings: Path, tmp_path: Path) -> None:
    index, report = tmp_path / "index", tmp_path / "report.tsv"
    result = run("index", str(clippings), "--index-dir", str(index), "--report", str(report))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert report.read_bytes() == b""
    assert not (index / "skipped.tsv").exists()


# 2. An argument that starts with "-" and is no option of the command is the query or the ID.


@pytest.mark.parametrize("query", ["-hà nội", "-nông dân", "-lúa mùa", "-hoà bình", "-qx", "-x", "-n0x", "-5", "-"])
def test_a_query_that_looks_like_an_option(index_dir: Path, query: str) -> None:
    plain = run("query", "--index-dir", str(index_dir), "--", query)
    assert plain.exit_code in (0, 1)
    for args in (
        ("query", query, "--index-dir", str(index_dir)),
        ("query", "--index-dir", str(index_dir), query),
        ("query", "--index-dir", str(index_dir), query, "--limit", "10"),
        ("query", "-n", "10", query, "--index-dir", str(index_dir)),
    ):
        dashed = run(*args)
        assert (dashed.exit_code, dashed.stdout, dashed.stderr) == (plain.exit_code, plain.stdout, plain.stderr)


def test_options_still_work(index_dir: Path) -> None:
    def shown(*args: str) -> int:
        result = run("query", "--index-dir", str(index_dir), *args)
        assert result.exit_code == 0, result.output
        return sum(line[:4].strip().endswith(".") for line in result.stdout.splitlines())

    assert shown() > 3
    assert shown("-n", "3") == shown("--limit", "3") == shown("-n3") == shown("--limit=3") == shown("*", "-n3") == 3
    assert shown("-n", "2", "mua") == shown("mua", "--limit", "2") == shown("-n2", "mua") == 2
    for help_option in ("-h", "--help"):
        result = run("query", help_option)
        assert result.exit_code == 0 and result.stdout.startswith("Usage: ")
    assert run("query", "mùa", "-n0").exit_code == 2  # a number for -n: the option, out of range
    assert run("query", "--index-dir", str(index_dir), "--source", "-x").exit_code == 0  # a value, not the query
    assert run("query", "mùa", "--limt", "3").exit_code == 2  # an unknown long option is a usage error
    assert run("query", "mùa", "--index-dir").exit_code == 2  # a missing value too
    assert run("query", "-a", "-b", "--index-dir", str(index_dir)).exit_code == 2  # two queries


def test_an_id_that_looks_like_an_option(index_dir: Path) -> None:
    for command in ("show", "similar"):
        result = run(command, "-leading", "--index-dir", str(index_dir))
        assert result.exit_code == 1, result.output
        assert result.stderr == f"Error: no clipping with id '-leading' in {str(index_dir)!r}\n"
        assert run(command, "-h").stdout.startswith("Usage: ")
    shown = run("show", SEED_ID, "--index-dir", str(index_dir), "-q", "văn phòng")
    assert shown.exit_code == 0, shown.output
    assert "**văn phòng**" in shown.stdout.lower()
    assert run("show", "--index-dir", str(index_dir), "-qvăn phòng", SEED_ID).stdout == shown.stdout
    assert run("show", "--index-dir", str(index_dir), "--query", "văn phòng", "--", SEED_ID).stdout == shown.stdout
    similar = run("similar", SEED_ID, "--index-dir", str(index_dir), "-n1")
    assert similar.exit_code == 0, similar.output
    assert run("similar", "-n", "1", SEED_ID, "--index-dir", str(index_dir)).stdout == similar.stdout


# 3. Control characters in file names and ids: escaped in skipped.tsv and on the terminal.

HOSTILE = "a\nb\tc\\d\re\x1b]0;pwned\x07f\u202eg"
ESCAPED = "a\\nb\\tc\\\\d\\re\\x1b]0;pwned\\x07f\\u202eg"


def _raw_controls(text: str) -> set[str]:
    """Control characters other than the newline and tab of the layout."""
    return {ch for ch in text if (ch < " " and ch not in "\t\n") or "\x7f" <= ch < "\xa0" or ch == "\u202e"}


@posix_names
def test_skipped_names_are_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "clippings"
    folder.mkdir()
    write_clipping(folder, "good", "Tin tốt", "Một tin tốt.", ["Đoạn một."])
    (folder / f"{HOSTILE}.txt").write_bytes(b"")
    (folder / "forged\tcolumn\nline.txt").write_bytes(b"\x00")
    index, report = tmp_path / "index", tmp_path / "report.tsv"
    result = run("index", str(folder), "--index-dir", str(index), "--report", str(report))
    assert result.exit_code == 3, result.output
    expected = [
        f"{folder}/{ESCAPED}.txt\tempty file",
        f"{folder}/forged\\tcolumn\\nline.txt\tbinary file (contains NUL bytes)",
    ]
    for tsv in (index / "skipped.tsv", report):
        rows = tsv.read_text(encoding="utf-8").split("\n")
        assert rows[-1] == ""
        assert sorted(rows[:-1]) == sorted(expected)
    assert sorted(result.stderr.splitlines()[1:3]) == sorted(f"  {row.replace(chr(9), ': ')}" for row in expected)
    assert not _raw_controls(result.stderr)


@posix_names
def test_ids_and_paths_are_escaped_on_the_terminal(tmp_path: Path) -> None:
    folder = tmp_path / f"clippings{HOSTILE}"
    folder.mkdir()
    name = f"x{HOSTILE}"
    body = [
        "Đoạn một hòa bình, đủ chữ để so sánh các bài báo giống nhau trong kho lưu trữ của tòa soạn.",
        "Đoạn hai \\ nói về mùa lúa chín và nông dân ở đồng bằng sông Cửu Long vào cuối năm.",
    ]
    write_clipping(folder, name, "Tiêu\tđề hòa bình", "Lời dẫn\tcó tab.", body)
    write_clipping(folder, "twin", "Tiêu\tđề hòa bình", "Lời dẫn\tcó tab.", body)
    write_clipping(folder, "other", "Bài khác về hòa bình", "Lời dẫn khác.", ["Nông dân gặt lúa mùa."])
    index = tmp_path / f"index{HOSTILE}"
    indexed = run("index", str(folder), "--index-dir", str(index))
    assert indexed.exit_code == 0, indexed.output
    assert indexed.stdout.startswith(f"Indexed 3 clippings into {tmp_path}/index{ESCAPED}/")
    with clipsearch.open_index(index) as ix:
        (clipping_id,) = [hit.id for hit in ix.query("*", collapse=False).hits if hit.id not in ("twin", "other")]
    assert "\n" in clipping_id and "\t" in clipping_id  # as the library keeps it
    shown_id = clipping_id.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    shown_id = shown_id.replace("\u202e", "\\u202e").replace("\x07", "\\x07")
    outputs = []
    for args in (
        ("query", "hòa bình", "--no-collapse"),
        ("query", "hòa bình"),
        ("show", clipping_id, "-q", "hòa bình"),
        ("similar", "twin", "--include-reprints"),
        ("stats",),
    ):
        result = run(*args, "--index-dir", str(index))
        assert result.exit_code == 0, result.output
        assert not _raw_controls(result.output), args
        outputs.append(result.stdout)
    hits, collapsed, show, similar, stats = outputs
    assert f" · {shown_id} · score " in hits
    assert "Tiêu\\tđề **hòa bình**" in hits
    assert f" · {shown_id} · score " in collapsed or f"    +1 similar: {shown_id}\n" in collapsed
    lines = show.splitlines()
    assert lines[0] == "Tiêu\\tđề **hòa bình**"
    assert lines[1].endswith(f" · {shown_id}")
    assert lines[2] == f"{tmp_path}/clippings{ESCAPED}/x{ESCAPED}.txt"
    assert "Lời dẫn\tcó tab." in lines  # the text of the clipping keeps its tabs and paragraphs
    assert body[1] in lines  # and its backslashes
    assert f" · {shown_id} · score " in similar
    assert stats.startswith(f"Index:          {tmp_path}/index{ESCAPED}/ (")
    as_json = run("show", clipping_id, "--index-dir", str(index), "--json")
    assert json.loads(as_json.stdout)["id"] == clipping_id  # JSON has escapes of its own


# 4. An empty path is no path (not the current folder).


def test_an_empty_path_is_skipped(clippings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "here"
    here.mkdir()
    write_clipping(here, "not_me", "Không phải tôi", "Tin ở thư mục hiện hành.", ["Đoạn một."])
    monkeypatch.chdir(here)
    index = tmp_path / "index"
    alone = run("index", "", "--index-dir", str(index))
    assert alone.exit_code == 1, alone.output
    assert alone.stdout.startswith(f"Indexed 0 clippings into {index}/")
    assert alone.stderr.splitlines() == [
        "Skipped 1 file:",
        "  : no such file or folder",
        f"The list of skipped files is in {index / 'skipped.tsv'}",
        "Error: no clipping could be indexed (1 skipped)",
    ]
    assert (index / "skipped.tsv").read_text(encoding="utf-8") == "\tno such file or folder\n"
    with_folder = run("index", str(clippings), "", "--index-dir", str(index))
    assert with_folder.exit_code == 3, with_folder.output
    assert with_folder.stdout.startswith(f"Indexed 1 clipping into {index}/ (1 new,")
    assert clippings_in(index) == 1  # the seed, not the current folder's clipping


def test_an_empty_path_removes_nothing(clippings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(clippings)
    index = tmp_path / "index"
    assert run("index", ".", "--index-dir", str(index)).exit_code == 0
    (clippings / SEED.name).unlink()
    result = run("index", "", "--index-dir", str(index))
    assert result.stdout.startswith(f"Indexed 0 clippings into {index}/ (0 new, 0 changed, 0 unchanged, 0 removed)")
