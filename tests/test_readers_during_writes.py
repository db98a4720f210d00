"""Searching while ``clipsearch index`` commits: every query answers, with
whole commits only, and a kept-open ``Index`` follows the index's statistics
(reprint groups, vocabulary) as well as its generations."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

import clipsearch
import clipsearch.reading.segments as segments
import clipsearch.writing.build as build
from clipsearch.reading.segments import open_index_files
from clipsearch.schema import INDEX_NAME

from .conftest import SEED, SEED_ID, write_clipping
from .test_indexing import generated


def test_a_generation_replaced_while_it_is_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race a reader loses to a commit, made certain: the generation it
    found is gone when it opens it. It opens the next one."""
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 3)
    clipsearch.build_index([docs], index_dir)
    stale = segments.latest_generation(index_dir, INDEX_NAME)
    generated(docs, 2, start=3)
    clipsearch.build_index([docs], index_dir)  # a new generation; the stale one's files are removed
    assert not (index_dir / f"_{INDEX_NAME}_{stale}.toc").exists()
    real = segments.latest_generation
    answers = iter([stale])
    monkeypatch.setattr(segments, "latest_generation", lambda *a: next(answers, None) or real(*a))
    files = open_index_files(index_dir, INDEX_NAME, checksums_required=True)
    assert (files.generation, files.doc_count()) == (real(index_dir, INDEX_NAME), 5)
    files.close()


def test_queries_while_an_indexing_run_commits(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 20)
    clipsearch.build_index([docs], index_dir)
    generated(docs, 200, start=20)
    command = [sys.executable, "-m", "clipsearch", "index", str(docs), "--index-dir", str(index_dir)]
    run = subprocess.Popen([*command, "--commit-every", "10", "--procs", "1", "-q"])
    errors: list[BaseException] = []
    seen: list[int] = []

    def read(kept: clipsearch.Index, fresh: bool) -> None:
        while run.poll() is None:
            try:
                if fresh:
                    with clipsearch.open_index(index_dir) as index:
                        seen.append(index.query("tin số", facets=True).total)
                else:
                    seen.append(kept.query("tin số", facets=True).total)
                    kept.show("gen00001")
                    kept.stats()
            except BaseException as exc:
                errors.append(exc)

    with clipsearch.open_index(index_dir) as kept:
        readers = [threading.Thread(target=read, args=(kept, fresh)) for fresh in (False, True)]
        for reader in readers:
            reader.start()
        run.wait(timeout=300)
        for reader in readers:
            reader.join()
    assert run.returncode == 0
    assert errors == []
    assert len(seen) > 20 and all(total % 10 == 0 and 20 <= total <= 220 for total in seen)
    assert max(seen) > 20  # the readers saw commits happen


def test_an_open_index_reads_reprint_groups_written_after_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """groups.json is written after the commit that it describes: an open
    Index that searched in between must not keep the groups it read then."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    clipsearch.build_index([folder], tmp_path / "ix")
    seed = clipsearch.read_clipping(SEED)
    write_clipping(folder, "reprint", "Một tiêu đề khác cho cùng bài", seed.lead, list(seed.body))
    with clipsearch.open_index(tmp_path / "ix") as index:
        real = build.write_statistics

        def searched_first(ix: object, index_path: Path) -> None:
            between = index.query("cấp ủy", limit=5)  # committed, groups not yet written
            assert between.total == 2 and all(not hit.similar for hit in between.hits)
            real(ix, index_path)

        monkeypatch.setattr(build, "write_statistics", searched_first)
        clipsearch.build_index([folder], tmp_path / "ix")
        after = index.query("cấp ủy", limit=5)
        assert after.total == 2
        assert [(hit.id, hit.similar) for hit in after.hits] == [(SEED_ID, ("reprint",))]
