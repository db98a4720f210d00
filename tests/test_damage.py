"""A damaged index, file by file and byte by byte: every search gives the
right answer or one line, ``Error: the index at ... is damaged (...)``; never
a traceback, never a different answer; and ``--rebuild`` repairs it."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import clipsearch
from clipsearch.cli import cli

from .conftest import SEED_ID

QUERIES = ["van phong cap uy", '"hoà bình"', "mùa", "title:bão OR lúa", "* -mùa"]


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Path:
    """The session's fixture clippings (only read here)."""
    return corpus_dir


@pytest.fixture(scope="module")
def pristine(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("pristine") / "index"
    clipsearch.build_index([corpus], index_dir)
    clipsearch.build_index([corpus], index_dir)  # a second generation: statistics of a run that changed nothing
    return index_dir


def answers(index_dir: Path) -> list[Any]:
    """What searching the index gives, without what names the folder."""
    with clipsearch.open_index(index_dir) as index:
        found: list[Any] = [index.query(q, facets=True).to_dict() for q in QUERIES]
        found.append(index.query("mùa", collapse=False, sort="oldest").to_dict())
        found.append(index.show(SEED_ID, query="cấp ủy").to_dict())
        found.append(index.similar(SEED_ID).to_dict())
        stats = index.stats().to_dict()
        for key in ("index_dir", "size_bytes", "updated"):
            stats.pop(key)
        found.append(stats)
        found.append(len(index))
    return found


def _flip(offset_share: float) -> Callable[[Path], None]:
    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        if data:
            at = min(len(data) - 1, int(len(data) * offset_share))
            data[at] ^= 0x5A
        path.write_bytes(bytes(data))

    return flip


def _truncate(share: float) -> Callable[[Path], None]:
    def truncate(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * share)])

    return truncate


def _delete(path: Path) -> None:
    path.unlink()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "deleted": _delete,
    "emptied": _truncate(0.0),
    "cut in half": _truncate(0.5),
    "last byte cut": _truncate(0.999999),
    **{f"byte flipped at {share:.0%}": _flip(share) for share in (0.0, 0.1, 0.5, 0.77, 1.0)},
}


def test_every_file_of_the_index_is_covered(pristine: Path) -> None:
    names = {p.name for p in pristine.iterdir()}
    kinds = {name.rsplit(".", 1)[-1] for name in names}
    assert {"toc", "seg", "sums", "json"} <= kinds, names


def _damage_all(pristine: Path, tmp_path: Path, name: str, damage: str) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    DAMAGE[damage](copy / name)
    return copy


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize(
    "name",
    ["toc", "seg", "sums", "clipsearch.json", "groups.json", "vocabulary.json"],
)
def test_damage_gives_the_right_answer_or_one_clear_error(
    pristine: Path, tmp_path: Path, corpus: Path, name: str, damage: str
) -> None:
    expected = answers(pristine)
    matches = sorted(p.name for p in pristine.iterdir() if p.name == name or p.name.endswith("." + name))
    assert matches, name
    rng = random.Random(f"{name}{damage}")
    target = rng.choice(matches)
    copy = _damage_all(pristine, tmp_path, target, damage)
    try:
        got = answers(copy)
    except clipsearch.IndexDamagedError as exc:
        message = str(exc)
        assert message.startswith(f"the index at {str(copy)!r} is damaged (")
        assert message.endswith("): rebuild it with `clipsearch index --rebuild`")
        assert "\n" not in message
    else:
        assert got == expected, f"{target} {damage}: a different answer and no error"
    # The command line: the same answer, or exactly one line and exit code 1.
    result = CliRunner().invoke(cli, ["query", "mùa", "--index-dir", str(copy), "--json"])
    if result.exit_code:
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert result.stderr.startswith("Error: the index at ") and result.stderr.count("\n") == 1, result.stderr
    # An indexing run either works (and then the index answers right) or says to rebuild.
    run = CliRunner().invoke(cli, ["index", str(corpus), "--index-dir", str(copy)])
    assert "Traceback" not in run.output
    if run.exit_code == 0:
        assert answers(copy) == expected
    else:
        assert run.exit_code == 1 and run.stderr.startswith("Error: the index at "), run.output
    # --rebuild repairs whatever was damaged.
    rebuilt = CliRunner().invoke(cli, ["index", str(corpus), "--index-dir", str(copy), "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert answers(copy) == expected


def test_the_whole_index_folder_deleted_but_the_meta_file(pristine: Path, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    for path in copy.iterdir():
        if path.name != "clipsearch.json":
            path.unlink()
    with pytest.raises(clipsearch.IndexDamagedError, match="is damaged"):
        answers(copy)


def test_a_damaged_large_part_is_found_by_verify(pristine: Path, tmp_path: Path) -> None:
    from clipsearch.reading.segments import open_index_files
    from clipsearch.schema import INDEX_NAME

    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    files = open_index_files(copy, INDEX_NAME, checksums_required=True)
    assert files.verify() > 0
    files.close()
    seg = next(copy.glob("*.seg"))
    _flip(0.3)(seg)
    with pytest.raises(clipsearch.IndexDamagedError, match=r"does not match its checksum|not where it was written"):
        files = open_index_files(copy, INDEX_NAME, checksums_required=True)
        files.verify()


def test_a_flipped_byte_in_any_part_of_a_segment(pristine: Path, tmp_path: Path) -> None:
    """Each part of a segment (terms, postings, every column: the lengths BM25
    reads, dates, sources, stored fields) with one byte flipped in its middle:
    the right answer or the damage reported, never a different answer."""
    import json

    expected = answers(pristine)
    sums = json.loads(max(pristine.glob("_clipsearch_*.sums")).read_text())
    cases = [
        (file, part, offset + length // 2)
        for file, entry in sums["files"].items()
        for part, (offset, length, _c) in entry["parts"].items()
        if length
    ]
    assert len(cases) >= 10
    reported = 0
    for number, (file, part, at) in enumerate(cases):
        copy = tmp_path / f"index{number}"
        shutil.copytree(pristine, copy)
        data = bytearray((copy / file).read_bytes())
        data[at] ^= 0x01
        (copy / file).write_bytes(bytes(data))
        try:
            got = answers(copy)
        except clipsearch.IndexDamagedError as exc:
            assert f"part {part} does not match its checksum" in str(exc)
            reported += 1
        else:
            assert got == expected, f"{part}: a different answer and no error"
    assert reported == len(cases)  # every part a search reads is checked when the index is opened
