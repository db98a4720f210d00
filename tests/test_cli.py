"""The command line, run with click's CliRunner and as a real subprocess."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from clipsearch.cli import EXIT_SKIPPED, _format_hit, _terminal_columns, cli
from clipsearch.search import Hit
from clipsearch.writing.build import COMMIT_EVERY

from .conftest import SEED, SEED_ID, write_clipping


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder like a fresh checkout: seeds/ holds the seed."""
    (tmp_path / "seeds").mkdir()
    shutil.copyfile(SEED, tmp_path / "seeds" / SEED.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_index_defaults_to_seeds_into_index(runner: CliRunner, seeded: Path) -> None:
    result = runner.invoke(cli, ["index"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Indexed 1 clipping into index/ (1 new, 0 changed, 0 unchanged, 0 removed); 1 clipping in the index.\n"
    )
    assert (seeded / "index" / "clipsearch.json").exists()
    again = runner.invoke(cli, ["index"])
    assert again.output == (
        "Indexed 0 clippings into index/ (0 new, 0 changed, 1 unchanged, 0 removed); 1 clipping in the index.\n"
    )


def test_index_with_bad_files_exits_3_and_lists_them(runner: CliRunner, seeded: Path) -> None:
    (seeded / "seeds" / "empty.txt").write_bytes(b"")
    (seeded / "seeds" / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00")
    result = runner.invoke(cli, ["index"])
    assert result.exit_code == EXIT_SKIPPED == 3
    assert result.stdout.startswith("Indexed 1 clipping into index/")
    assert result.stderr == (
        "Skipped 2 files:\n"
        f"  {os.path.join('seeds', 'binary.txt')}: binary file (contains NUL bytes)\n"
        f"  {os.path.join('seeds', 'empty.txt')}: empty file\n"
        f"The list of skipped files is in {os.path.join('index', 'skipped.tsv')}\n"
    )
    listed = (seeded / "index" / "skipped.tsv").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[1] for line in listed] == ["binary file (contains NUL bytes)", "empty file"]


def test_index_with_only_bad_files_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\x00")
    result = runner.invoke(cli, ["index", str(tmp_path / "bad.txt"), "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "Error: no clipping could be indexed (1 skipped)"


def test_query_prints_ranked_hits_with_markers(runner: CliRunner, seeded: Path) -> None:
    runner.invoke(cli, ["index"])
    result = runner.invoke(cli, ["query", "van phong cap uy"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "Did you mean: văn phòng cấp ủy"
    lines = lines[1:]
    assert lines[0] == "1 clipping matches 'van phong cap uy':"
    assert lines[2].startswith(" 1. Tiếp tục đổi mới, nâng cao chất lượng công tác **văn phòng**")
    assert lines[3].startswith(f"    31/03/2023 · Nhandan · {SEED_ID} · score ")
    assert "**văn phòng cấp ủy**" in " ".join(lines[4:])
    assert "\x1b[" not in result.output  # no colour when not a terminal


@pytest.mark.parametrize(
    "query", ["văn phòng cấp ủy", "VĂN PHÒNG CẤP UỶ", unicodedata.normalize("NFD", "văn phòng cấp ủy")]
)
def test_query_json(runner: CliRunner, seeded: Path, query: str) -> None:
    runner.invoke(cli, ["index"])
    result = runner.invoke(cli, ["query", query, "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["query"] == query
    assert data["total"] == 1
    hit = data["hits"][0]
    assert (hit["id"], hit["date"], hit["source"]) == (SEED_ID, "2023-03-31", "Nhandan")
    assert "văn phòng cấp ủy" in [hit["snippet"][s:e].lower() for s, e in hit["highlights"]]


def test_query_no_match(runner: CliRunner, seeded: Path) -> None:
    runner.invoke(cli, ["index"])
    result = runner.invoke(cli, ["query", "bão lũ"])
    assert (result.exit_code, result.output) == (0, "No clipping matches 'bão lũ'.\n")
    as_json = runner.invoke(cli, ["query", "bão lũ", "--json"])
    assert json.loads(as_json.output) == {
        "query": "bão lũ",
        "corrected": None,
        "total": 0,
        "suggestion": None,
        "hits": [],
    }


def test_query_limit(runner: CliRunner, tmp_path: Path) -> None:
    for i in range(3):
        write_clipping(tmp_path, f"c{i}", f"Bão số {i + 1} đổ bộ", "Dẫn.", ["Thân."])
    runner.invoke(cli, ["index", str(tmp_path), "--index-dir", str(tmp_path / "ix")])
    result = runner.invoke(cli, ["query", "bão", "--index-dir", str(tmp_path / "ix"), "-n", "2"])
    assert result.output.splitlines()[0] == "3 clippings match 'bão'; showing 2:"
    data = json.loads(
        runner.invoke(cli, ["query", "bão", "--index-dir", str(tmp_path / "ix"), "--limit", "1", "--json"]).output
    )
    assert (data["total"], len(data["hits"])) == (3, 1)
    bad = runner.invoke(cli, ["query", "bão", "--index-dir", str(tmp_path / "ix"), "--limit", "0"])
    assert bad.exit_code == 2


def test_query_without_index(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["query", "văn phòng", "--index-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no clipsearch index in {str(tmp_path / 'none')!r}: run `clipsearch index` first\n"
    )


@pytest.mark.parametrize("query", ["AND", "title:", "NOT văn"])
def test_bad_query_is_one_line(runner: CliRunner, seeded: Path, query: str) -> None:
    runner.invoke(cli, ["index"])
    result = runner.invoke(cli, ["query", query])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the query ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_every_command_has_help(runner: CliRunner) -> None:
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        assert command.help, name
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Usage: " in result.output


def test_help_does_not_load_whoosh_or_pyvi() -> None:
    code = (
        "import sys; from clipsearch.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'whoosh', 'pyvi', 'pycrfsuite', 'sklearn'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_python_m_clipsearch(seeded: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "clipsearch", "index"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    query = subprocess.run(
        [sys.executable, "-m", "clipsearch", "query", "văn phòng cấp ủy"], capture_output=True, text=True, env=env
    )
    assert query.returncode == 0
    assert "**văn phòng cấp ủy**" in query.stdout


# The console script's entry point, with an exit handler that tells whether
# the interpreter's teardown ran.
_MAIN_WITH_TEARDOWN_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('teardown ran', file=sys.stderr))\n"
    "from clipsearch.cli import main\n"
    "sys.argv = ['clipsearch', *sys.argv[1:]]\n"
    "main()\n"
)


def _main(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    command = [sys.executable, "-c", _MAIN_WITH_TEARDOWN_PROBE, *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def test_read_only_commands_skip_teardown_and_keep_output_and_exit_codes(seeded: Path) -> None:
    indexed = _main("index", "-q")
    assert (indexed.returncode, indexed.stderr) == (0, "teardown ran\n")  # writing commands end normally
    found = _main("query", "văn phòng cấp ủy", "--json")
    assert found.returncode == 0 and found.stderr == ""
    assert [hit["id"] for hit in json.loads(found.stdout)["hits"]] == [SEED_ID]  # all of it flushed
    shown = _main("show", SEED_ID)
    assert shown.returncode == 0 and shown.stderr == "" and shown.stdout.endswith("đơn vị”.\n")
    bad = _main("query", '"')
    assert (bad.returncode, bad.stdout, bad.stderr) == (1, "", "Error: the query '\"' has no words to search for\n")
    usage = _main("query", "x", "--limit", "0")
    assert usage.returncode == 2 and "teardown ran" not in usage.stderr
    assert usage.stderr.endswith("Error: Invalid value for '--limit' / '-n': 0 is not in the range x>=1.\n")


def test_hit_format_on_a_terminal_and_off() -> None:
    snippet = "Tin về văn phòng cấp ủy. " + "Một câu dài để xuống dòng nhiều lần. " * 8
    hit = Hit("x1", "x1.txt", "Văn phòng mới", dt.date(2026, 3, 2), "TTXVN", 3.14159, snippet, ((7, 23),), ((0, 9),))
    plain = _format_hit(1, hit, color=False, width=60)
    assert plain[:3] == [
        " 1. **Văn phòng** mới",
        "    02/03/2026 · TTXVN · x1 · score 3.14",
        "    Tin về **văn phòng cấp ủy**. Một câu dài để xuống dòng nhiều",
    ]
    assert len(plain) == 4 and plain[3].endswith("…")  # two snippet lines at most
    coloured = _format_hit(1, hit, color=True, width=60)
    assert click.unstyle(coloured[0]) == " 1. Văn phòng mới"
    assert "\x1b[1m\x1b[33mVăn phòng\x1b[0m" in coloured[0] or "\x1b[33m\x1b[1mVăn phòng\x1b[0m" in coloured[0]
    assert click.unstyle(coloured[2]) == "    Tin về văn phòng cấp ủy. Một câu dài để xuống dòng nhiều"


def test_commit_every_default_is_the_library_default() -> None:
    option = next(p for p in cli.commands["index"].params if p.name == "commit_every")
    assert option.default == COMMIT_EVERY


@pytest.mark.parametrize("columns", [None, "60", "0", "-3", "wide", "250"])
def test_terminal_width_is_what_shutil_gives(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _terminal_columns(100) == shutil.get_terminal_size((100, 24)).columns
