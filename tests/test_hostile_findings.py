"""What a hostile tester found after the first round of fixes, each pinned:
files of the wrong kind in an index folder, statistics copied from another
index, and API and file-name edges."""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import clipsearch
from clipsearch.cli import cli

from .conftest import SEED, write_clipping

SIDE_FILES = ["clipsearch.json", "groups.json", "vocabulary.json"]


@pytest.fixture()
def no_hang() -> Iterator[None]:
    """Fail instead of hanging: a FIFO read blocks forever."""

    def stop(_signum: int, _frame: object) -> None:
        raise TimeoutError("blocked")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture()
def seeded(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs)
    write_clipping(docs, "other", "Giá xăng tăng", "Dẫn.", ["Thân bài."])
    index_dir = tmp_path / "ix"
    clipsearch.build_index([docs], index_dir)
    return docs, index_dir


def _replace(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(path.name)  # a loop


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
@pytest.mark.parametrize("name", SIDE_FILES)
def test_a_side_file_of_the_wrong_kind_is_damage_and_rebuild_repairs_it(
    seeded: tuple[Path, Path], no_hang: None, name: str, kind: str
) -> None:
    docs, index_dir = seeded
    with clipsearch.open_index(index_dir) as index:
        expected = [index.query(q).to_dict() for q in ("cấp ủy", "cap uy")]
    _replace(index_dir / name, kind)
    runner = CliRunner()
    damage = f"Error: the index at {str(index_dir)!r} is damaged ("
    for args in (["query", "cấp ủy"], ["query", "cap uy"], ["stats"], ["index", str(docs)]):
        result = runner.invoke(cli, [*args, "--index-dir", str(index_dir)])
        assert "Traceback" not in result.output
        if name == "clipsearch.json" or (name == "groups.json" and args[0] == "query"):
            assert result.exit_code == 1, (args, result.output)  # these read the file
        if result.exit_code:
            assert result.stderr.startswith(damage) and result.stderr.count("\n") == 1, result.stderr
    rebuilt = runner.invoke(cli, ["index", str(docs), "--index-dir", str(index_dir), "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    with clipsearch.open_index(index_dir) as index:
        assert [index.query(q).to_dict() for q in ("cấp ủy", "cap uy")] == expected


@pytest.mark.parametrize("name", ["groups.json", "vocabulary.json"])
def test_statistics_copied_from_another_index_are_damage(tmp_path: Path, name: str) -> None:
    for label in ("a", "b"):
        docs = tmp_path / f"docs_{label}"
        docs.mkdir()
        write_clipping(docs, f"tin_{label}", f"Tin {label} về giá xăng", "Dẫn.", ["Thân bài."])
        clipsearch.build_index([docs], tmp_path / f"ix_{label}")
    shutil.copy(tmp_path / "ix_a" / name, tmp_path / "ix_b" / name)
    from clipsearch.schema import read_json, read_statistics

    index_id = read_json(tmp_path / "ix_b" / "clipsearch.json")["index_id"]
    with pytest.raises(clipsearch.IndexDamagedError, match=f"file {name} belongs to another index"):
        read_statistics(tmp_path / "ix_b" / name, index_id)
    if name == "groups.json":  # what a query reads when it collapses reprints
        with clipsearch.open_index(tmp_path / "ix_b") as index, pytest.raises(clipsearch.IndexDamagedError):
            index.query("gia xang")
    # The next indexing run writes them again.
    clipsearch.build_index([tmp_path / "docs_b"], tmp_path / "ix_b", rebuild=True)
    with clipsearch.open_index(tmp_path / "ix_b") as index:
        assert index.query("gia xang").total == 1


def test_paths_the_api_and_the_cli_are_given(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_clipping(docs, "upper", "Tin viết hoa đuôi", "Dẫn.", ["Thân."])
    os.rename(docs / "upper.txt", docs / "UPPER.TXT")  # from a Windows archive
    report = clipsearch.build_index(str(docs), tmp_path / "ix")  # one path, not a list of its characters
    assert (len(report.added), report.skipped) == (1, [])
    assert clipsearch.build_index([""], tmp_path / "ix2").skipped == [clipsearch.Skipped("", "no such file or folder")]
    result = CliRunner().invoke(cli, ["index", "", "--index-dir", str(tmp_path / "ix3")])
    assert result.exit_code == 1 and "  : no such file or folder\n" in result.stderr


def test_a_socket_named_txt_is_not_a_regular_file(tmp_path: Path) -> None:
    docs = tmp_path / "d"
    docs.mkdir()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(docs / "s.txt"))
    try:
        report = clipsearch.build_index([docs], tmp_path / "ix")
    finally:
        listener.close()
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [("s.txt", "not a regular file")]


def test_an_empty_source_name_is_a_query_error(seeded: tuple[Path, Path]) -> None:
    _docs, index_dir = seeded
    with clipsearch.open_index(index_dir) as index:
        for source in ("", " ", ["vnexpress", ""]):
            with pytest.raises(clipsearch.QueryError, match="has no letters or digits"):
                index.query("cấp ủy", source=source)


def test_a_closed_index_and_an_index_folder_of_the_wrong_type(seeded: tuple[Path, Path]) -> None:
    _docs, index_dir = seeded
    index = clipsearch.open_index(os.fsencode(index_dir))  # bytes, as os.listdir gives them
    assert len(index) == 2
    index.close()
    with pytest.raises(clipsearch.ClipsearchError, match="was closed"):
        index.query("cấp ủy")
    for wrong in (None, 3):
        with pytest.raises(TypeError, match="the index folder must be a path"):
            clipsearch.open_index(wrong)  # type: ignore[arg-type]
