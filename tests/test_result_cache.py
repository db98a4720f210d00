"""An Index keeps recent results for searches asked again: the same answers,
never stale after a commit, never changed by what a caller does with them."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import clipsearch
from clipsearch.search import RESULT_CACHE

from .conftest import write_clipping


def test_asked_again_the_same_answer_that_the_caller_cannot_spoil(index: clipsearch.Index) -> None:
    first = index.query("mua", facets=True, sort="newest")
    expected = copy.deepcopy(first.to_dict())
    first.hits.clear()
    assert first.facets is not None
    first.facets["source"].clear()
    again = index.query("mua", facets=True, sort="newest")
    assert again.to_dict() == expected
    assert again.hits and again.facets and again.facets["source"]


def test_other_options_are_other_answers(index: clipsearch.Index) -> None:
    assert len(index.query("mua", limit=1).hits) == 1
    assert len(index.query("mua", limit=3).hits) == 3
    assert index.query("mua", facets=False).facets is None
    assert index.query("mua", facets=True).facets is not None
    assert index.query("mua", since="2030").total == 0
    assert index.query("mua").total > 0


def test_a_commit_is_seen_by_a_search_asked_before(corpus_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "clippings"
    shutil.copytree(corpus_dir, folder)
    clipsearch.build_index([folder], tmp_path / "index")
    with clipsearch.open_index(tmp_path / "index") as index:
        before = index.query("kỳ lân", facets=True)
        assert before.total == 0
        write_clipping(folder, "unicorn", "Kỳ lân xuất hiện", "Người dân thấy kỳ lân.", ["Chuyện lạ."])
        clipsearch.build_index([folder], tmp_path / "index")
        after = index.query("kỳ lân", facets=True)
        assert after.total == 1 and after.hits[0].id == "unicorn"
        (folder / "unicorn.txt").unlink()
        clipsearch.build_index([folder], tmp_path / "index")
        assert index.query("kỳ lân", facets=True).total == 0


def test_the_cache_is_bounded(index: clipsearch.Index) -> None:
    for n in range(RESULT_CACHE + 20):
        index.query(f"mua {n}")
    assert len(index._results) == RESULT_CACHE
