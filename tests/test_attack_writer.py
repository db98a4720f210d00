"""A hostile user against the rewritten index writer (array postings,
analysis in forked workers, stored blocks, compact term infos): odd and huge
clippings, runs that change, move and delete files with small commits and
several workers, failures while writing, killed workers, damaged copies and
Whoosh's own reader. Tests marked ``xfail(strict=True)`` are findings that
fail today."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import clipsearch
from clipsearch.errors import IndexWriteError

from .conftest import SEED, SEED_ID, write_clipping, write_sentence_clippings
from .test_indexing import generated

OLD_INDEX = Path(__file__).parent / "fixtures" / "index-schema10-d87fad4"


def _ids(index_dir: Path) -> list[str]:
    with clipsearch.open_index(index_dir) as index:
        return [hit.id for hit in index.search("*", limit=100_000, collapse=False)]


def _titles(index_dir: Path) -> dict[str, str]:
    with clipsearch.open_index(index_dir) as index:
        return {
            hit.id: index.show(hit.id).to_dict()["title"] for hit in index.search("*", limit=100_000, collapse=False)
        }


def _children(pid: int) -> list[int]:
    """Every child process of ``pid`` (forked by any of its threads) that
    runs what it runs (a forked worker, not a helper it started, such as
    multiprocessing's resource tracker)."""
    found: list[int] = []
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        return []
    forked = []
    for child in found:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{child}/cmdline").read_bytes() == command:
                forked.append(child)
    return forked


# ---------------------------------------------------------------------------
# Hostile clippings, any number of workers


def _hostile_corpus(folder: Path) -> None:
    """Clippings a careless archive holds."""
    write_sentence_clippings(folder, 40)
    seed = [p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    # a body of ~400 KB: many 16 KB stored blocks' worth, tens of thousands of syllables
    write_clipping(folder, "huge", "Bài rất dài về hoà bình", "Tin dài.", (seed * 400)[:1200])
    # one paragraph of 20,000 syllables, rare words at both ends (terms of one clipping: inline)
    write_clipping(folder, "one_para", "Một đoạn khổng lồ", "Tin.", [" ".join(["xyzzy", *["lúa"] * 20_000, "plugh"])])
    # the zone mark inside every stored field
    write_clipping(folder, "zone_mark", "Tiêu đề \ue000 có dấu vùng", "Dẫn \ue000\ue000 nhập", ["Thân \ue000 bài"])
    # UTF-16 with NUL characters (the NUL check is for UTF-8 files)
    text = "Thứ hai,  02/03/2026\n\nTiêu\x00 đề NUL\n\nDẫn\x00\n\nThân bài có NUL\x00 ở giữa\n"
    (folder / "utf16_nul.txt").write_bytes(text.encode("utf-16"))
    write_clipping(folder, "title_only", "Chỉ tiêu đề", "", [], source=None)
    write_clipping(folder, "punctuation", "!!! ??? ...", "---", ["*** ;;; ,,,"])  # refused: no title


QUERIES = ["hoà bình", "xyzzy", "plugh", '"xyzzy lúa"', "lúa", "NUL", "dấu vùng", "title:khổng", "tiêu đề", "*"]


def _answers(index_dir: Path) -> list[Any]:
    with clipsearch.open_index(index_dir) as index:
        found: list[Any] = []
        for query in QUERIES:
            result = index.query(query, limit=1000, collapse=False)
            found.append([(hit.id, round(hit.score, 6)) for hit in result.hits])
        for doc_id in ("huge", "one_para", "zone_mark", "utf16_nul", "title_only", "c007"):
            view = index.show(doc_id).to_dict()
            found.append({key: view.get(key) for key in ("title", "lead", "body", "source")})
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    _hostile_corpus(root / "docs")
    built = {}
    for procs in (1, 3):
        built[f"procs{procs}"] = root / f"ix{procs}"
        report = clipsearch.build_index([root / "docs"], built[f"procs{procs}"], procs=procs, commit_every=7)
        assert [Path(s.path).name for s in report.skipped] == ["punctuation.txt"]
    built["docs"] = root / "docs"
    return built


def test_hostile_clippings_are_stored_and_found_whatever_the_number_of_workers(hostile: dict[str, Path]) -> None:
    one, three = _answers(hostile["procs1"]), _answers(hostile["procs3"])
    assert one == three
    hits = dict(zip(QUERIES, one, strict=False))
    assert [h[0] for h in hits["xyzzy"]] == [h[0] for h in hits["plugh"]] == ["one_para"]
    assert [h[0] for h in hits['"xyzzy lúa"']] == ["one_para"]
    assert [h[0] for h in hits["NUL"]] == ["utf16_nul"]
    assert [h[0] for h in hits["hoà bình"]][:1] == ["huge"]
    assert len(hits["*"]) == 45
    views = one[len(QUERIES) :]
    huge_body = "\n\n".join(
        ([p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()] * 400)[:1200]
    ).strip()
    assert views[0]["body"].replace("\n", "") == huge_body.replace("\n", "")  # 400 KB back from its blocks
    assert views[1]["body"].count("lúa") == 20_000
    assert views[2] == {
        "title": "Tiêu đề \ue000 có dấu vùng",
        "lead": "Dẫn \ue000\ue000 nhập",
        "body": "Thân \ue000 bài",
        "source": "Báo Mẫu",
    }
    assert views[3]["title"] == "Tiêu đề NUL" and "\x00" not in views[3]["body"]
    assert views[4]["lead"] == "" and views[4]["body"] == ""


def test_whoosh_reads_the_same_stored_fields_and_finds_the_same_clippings(hostile: dict[str, Path]) -> None:
    from whoosh.index import open_dir
    from whoosh.query import Phrase, Term

    index_dir = hostile["procs3"]
    with clipsearch.open_index(index_dir) as index:
        shown = {hit.id: index.show(hit.id).to_dict() for hit in index.search("*", limit=1000, collapse=False)}
    with open_dir(str(index_dir), indexname="clipsearch").searcher() as searcher:
        stored = {}
        for docnum in searcher.reader().all_doc_ids():
            fields = searcher.stored_fields(docnum)
            stored[fields["id"]] = fields
        assert stored.keys() == shown.keys()
        for doc_id, fields in stored.items():
            mine = shown[doc_id]
            assert (fields["title"], fields["lead"], fields["body"]) == (mine["title"], mine["lead"], mine["body"])
            assert (fields.get("source") is None) == (mine.get("source") is None), doc_id

        def ids(query: Any) -> list[str]:
            return sorted(hit["id"] for hit in searcher.search(query, limit=None))

        assert ids(Term("text", "xyzzy")) == ["one_para"]  # a term of one clipping: inline
        assert ids(Phrase("text", ["xyzzy", "lua"])) == ["one_para"]  # its inline positions
        assert ids(Phrase("text", ["lua", "plugh"])) == ["one_para"]
        assert ids(Term("text", "nul")) == ["utf16_nul"]
        with clipsearch.open_index(index_dir) as index:
            for word in ("hoa", "binh", "mua", "tin"):
                mine = sorted(h.id for h in index.search(word, limit=1000, collapse=False))
                assert ids(Term("text", word)) == mine, word


# ---------------------------------------------------------------------------
# Runs that change, move and delete files


def test_files_changed_moved_and_deleted_across_runs_with_small_commits(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    docs.mkdir()
    expected: dict[str, str] = {}

    def write(i: int, version: str, folder: Path = docs) -> None:
        title = f"Tiêu đề số {i} bản {version}"
        write_clipping(folder, f"d{i:03d}", title, "Dẫn.", [f"Thân bài {i} {version} mùa lúa."])
        expected[f"d{i:03d}"] = title

    for i in range(100):
        write(i, "một")
    clipsearch.build_index([docs], index_dir, procs=2, commit_every=7)
    assert _titles(index_dir) == expected
    for i in range(0, 100, 3):  # changed, in every segment of the first run
        write(i, "hai")
    (docs / "sub").mkdir()
    for i in range(1, 100, 10):  # moved
        (docs / f"d{i:03d}.txt").rename(docs / "sub" / f"d{i:03d}.txt")
    for i in range(2, 100, 11):  # deleted
        (docs / f"d{i:03d}.txt").unlink()
        expected.pop(f"d{i:03d}")
    for i in range(100, 170):  # new
        write(i, "một")
    report = clipsearch.build_index([docs], index_dir, procs=2, commit_every=7)
    assert (len(report.added), len(report.removed), report.total) == (70, 9, 161)
    assert _titles(index_dir) == expected
    for i in range(0, 170, 4):  # changed again: some were written by the last run's later commits
        if (docs / f"d{i:03d}.txt").exists():
            write(i, "ba")
    write(1, "ba", docs / "sub")
    clipsearch.build_index([docs], index_dir, procs=3, commit_every=7)
    ids = _ids(index_dir)
    assert len(ids) == len(set(ids)) == 161
    assert _titles(index_dir) == expected
    again = clipsearch.build_index([docs], index_dir, procs=1, commit_every=5)
    assert (len(again.unchanged), len(again.indexed), len(again.removed)) == (161, 0, 0)
    with clipsearch.open_index(index_dir) as index:
        assert index.query("mùa lúa", limit=1000, collapse=False).total == 161


def _slow_corpus(docs: Path, count: int, version: str) -> None:
    """Clippings long enough that a worker takes a while to analyse seven."""
    seed = [p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    for i in range(count):
        write_clipping(docs, f"d{i:02d}", f"Bản {version} số {i}", "Dẫn.", (seed * 40)[i : i + 60])


def test_a_run_that_fails_after_a_commit_keeps_every_clipping_it_updated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from whoosh.index import TOC

    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    docs.mkdir()
    _slow_corpus(docs, 14, "một")
    clipsearch.build_index([docs], index_dir, procs=2, commit_every=7)
    _slow_corpus(docs, 14, "hai")  # every clipping changed
    write = TOC.write
    calls = []

    def full_disk_on_the_second_commit(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, *args, **kwargs)

    # Found at 56e4a76 (the old version was deleted in the segment being written
    # when its file was read, the new one came in a later commit: 7 of the 14
    # were lost here); fixed by e85aea4, which deletes it where the new one is written.
    monkeypatch.setattr(TOC, "write", full_disk_on_the_second_commit)
    with pytest.raises(IndexWriteError, match="what was committed before is kept"):
        clipsearch.build_index([docs], index_dir, procs=2, commit_every=7)
    monkeypatch.undo()
    # Each clipping is there, old or new: none of the 14 was lost.
    assert sorted(_ids(index_dir)) == [f"d{i:02d}" for i in range(14)]


# ---------------------------------------------------------------------------
# Failures while writing


@pytest.mark.parametrize(
    "target",
    [
        "clipsearch.codec.stored_blocks:BlocksWriter._flush",
        "clipsearch.codec.stored_blocks:BlocksWriter.finish",
        "clipsearch.codec.compact:CompactFieldWriter.write_terms",
        "whoosh.index:TOC.write",
    ],
)
def test_a_full_disk_at_any_write_keeps_what_was_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    import importlib

    module_name, attribute = target.split(":")
    owner_name, method = attribute.split(".")
    owner = getattr(importlib.import_module(module_name), owner_name)
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 30)
    clipsearch.build_index([docs], index_dir, procs=2, commit_every=7)
    generated(docs, 70, start=30)  # only new clippings: nothing committed is touched
    original = getattr(owner, method)
    calls = []

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, method, failing)
    with pytest.raises(IndexWriteError, match="no space left on the device; what was committed before is kept"):
        clipsearch.build_index([docs], index_dir, procs=2, commit_every=7)
    monkeypatch.undo()
    ids = _ids(index_dir)
    assert len(ids) == len(set(ids)) and len(ids) % 7 == 2 and 30 <= len(ids) < 100  # 30, then whole commits
    report = clipsearch.build_index([docs], index_dir, procs=2, commit_every=7)
    assert report.total == 100 and sorted(_ids(index_dir)) == [f"gen{i:05d}" for i in range(100)]


def test_commit_every_zero_is_a_clear_error_or_works(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    generated(docs, 5)
    try:
        report = clipsearch.build_index([docs], tmp_path / "ix", commit_every=0)
    except ValueError as exc:
        assert "commit_every" in str(exc)
    else:
        assert report.total == 5


def test_a_worker_killed_mid_run_does_not_hang_the_build(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 2000)
    command = [sys.executable, "-m", "clipsearch", "index", str(docs), "--index-dir", str(index_dir), "-q"]
    run = subprocess.Popen([*command, "--procs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(_children(run.pid)) < 2 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.3)  # both busy: batches are queued for them
        workers = _children(run.pid)
        assert len(workers) == 2 and run.poll() is None, "the run ended before its workers could be killed"
        for worker in workers:
            os.kill(worker, signal.SIGKILL)
        try:
            _out, err = run.communicate(timeout=20)  # the whole run takes ~4 s
        except subprocess.TimeoutExpired:
            pytest.fail(f"the build still waits 20 s after its workers were killed (children now {_children(run.pid)})")
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGKILL)
            run.wait()
    # Either the lost batches were analysed again, or one clear error.
    if run.returncode:
        assert err.startswith("Error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    else:
        assert sorted(_ids(index_dir)) == [f"gen{i:05d}" for i in range(2000)]
    rerun = subprocess.run([*command, "--procs", "2"], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    ids = _ids(index_dir)
    assert len(ids) == len(set(ids)) == 2000


def test_runs_killed_while_updating_are_finished_by_the_next_run(tmp_path: Path) -> None:
    """SIGKILL at random moments (reading, analysing, writing a segment,
    committing) of runs that update half the clippings: the next run leaves
    each clipping once, in its last version."""
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    docs.mkdir()
    expected: dict[str, str] = {}
    body = ["Thân bài " + "mùa lúa chín " * 30]
    for i in range(1200):
        write_clipping(docs, f"d{i:04d}", f"Tin số {i} bản đầu", "Dẫn.", body)
        expected[f"d{i:04d}"] = f"Tin số {i} bản đầu"
    command = [sys.executable, "-m", "clipsearch", "index", str(docs), "--index-dir", str(index_dir), "-q"]
    command += ["--procs", "2", "--commit-every", "7"]
    subprocess.run(command, check=True, timeout=120)
    rng = random.Random(5)
    for round_ in range(2):
        for i in range(1200):
            if rng.random() < 0.5:
                expected[f"d{i:04d}"] = title = f"Tin số {i} vòng {round_}"
                write_clipping(docs, f"d{i:04d}", title, "Dẫn.", body)
        run = subprocess.Popen(command)
        time.sleep(rng.uniform(1.0, 2.0))
        run.send_signal(signal.SIGKILL)
        run.wait()
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        ids = _ids(index_dir)
        assert len(ids) == len(set(ids)) == 1200
        assert _titles(index_dir) == expected


# ---------------------------------------------------------------------------
# Damage and old indexes


def test_a_flipped_byte_in_any_stored_block_or_terms_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored fields past what is checked when the index is opened (lowered
    here) are checked block by block as they are read."""
    from clipsearch.reading import checksums

    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    write_sentence_clippings(docs, 80)
    monkeypatch.setattr(checksums, "CHECKED_ON_OPEN", 512)  # parts above it get chunk CRCs, checked as read
    clipsearch.build_index([docs], index_dir, procs=2)

    def answers(folder: Path) -> list[Any]:
        with clipsearch.open_index(folder) as index:
            found: list[Any] = [index.query(q, limit=100, collapse=False).to_dict() for q in ("hoà bình", "mùa")]
            found += [index.show(f"c{i:03d}").to_dict() for i in range(0, 80, 3)]
        return found

    expected = answers(index_dir)
    sums = json.loads(max(index_dir.glob("_clipsearch_*.sums")).read_text())
    parts = [
        (file, part, offset, length)
        for file, entry in sums["files"].items()
        for part, (offset, length, _crc) in entry["parts"].items()
        if part.endswith(("_stored.col", ".trm", ".pst"))
    ]
    assert len(parts) == 3
    reported = 0
    for number, (file, part, offset, length) in enumerate(parts):
        for share in (0.05, 0.3, 0.6, 0.9, 0.999):
            copy = tmp_path / f"copy{number}-{share}"
            shutil.copytree(index_dir, copy)
            data = bytearray((copy / file).read_bytes())
            data[offset + int(length * share)] ^= 0x10
            (copy / file).write_bytes(bytes(data))
            try:
                got = answers(copy)
            except clipsearch.IndexDamagedError as exc:
                assert "does not match its checksum" in str(exc) and "\n" not in str(exc)
                reported += 1
            else:
                assert got == expected, f"{part} at {share}: a different answer and no error"
    assert reported >= 10


def test_an_old_index_updated_by_workers_with_small_commits(tmp_path: Path) -> None:
    """The old fixture (W3 term infos, body_z, a stored column per document)
    gets clippings from two workers in commits of 7: its segment is merged
    into new ones, and clipsearch and Whoosh still read the same."""
    from whoosh.index import open_dir

    index_dir = tmp_path / "old"
    shutil.copytree(OLD_INDEX, index_dir)
    with clipsearch.open_index(index_dir) as index:
        seed_before = index.show(SEED_ID).to_dict()
    docs = tmp_path / "docs"
    write_sentence_clippings(docs, 30)
    for run in range(2):
        report = clipsearch.build_index([docs], index_dir, procs=2, commit_every=7)
        assert report.total == 31
        for path in sorted(docs.glob("*.txt"))[run * 5 : run * 5 + 5]:
            path.write_text(path.read_text(encoding="utf-8").replace(".", ". Thêm.", 1), encoding="utf-8")
    with clipsearch.open_index(index_dir) as index:
        assert index.show(SEED_ID).to_dict() == seed_before
        shown = {hit.id: index.show(hit.id).to_dict() for hit in index.search("*", limit=100, collapse=False)}
        assert SEED_ID in [h.id for h in index.search('"văn phòng cấp ủy"', limit=100, collapse=False)]
    assert len(shown) == 31
    import zlib

    with open_dir(str(index_dir), indexname="clipsearch").searcher() as searcher:
        for docnum in searcher.reader().all_doc_ids():
            fields = searcher.stored_fields(docnum)
            body = fields.get("body")
            if body is None:
                body = zlib.decompress(fields["body_z"]).decode("utf-8")
            mine = shown[fields["id"]]
            assert (fields["title"], fields["lead"], body) == (mine["title"], mine["lead"], mine["body"])
