"""An index written before the package had subpackages (clipsearch at
d87fad4, schema 10: its table of contents pickles ``clipsearch.analysis``,
``clipsearch.postings`` and ``clipsearch.codec`` classes) is searched and
updated as it is, and answers as an index built today from the same file.

The fixture ``fixtures/index-schema10-d87fad4`` is that version's index of the
bundled seed (``clipsearch index`` on ``seeds/``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import clipsearch

from .conftest import SEED, SEED_ID

OLD_INDEX = Path(__file__).parent / "fixtures" / "index-schema10-d87fad4"
QUERIES = ["van phong cap uy", "văn phòng cấp ủy", '"cấp ủy hai năm"', "title:đổi mới", "cấp ủy NOT lúa", "*"]


@pytest.fixture()
def old_index(tmp_path: Path) -> Path:
    copy = tmp_path / "old"
    shutil.copytree(OLD_INDEX, copy)
    return copy


@pytest.fixture(scope="module")
def new_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seed")
    shutil.copy(SEED, folder)
    index_dir = folder / "index"
    clipsearch.build_index([folder], index_dir)
    return index_dir


def _answers(index_dir: Path) -> list[dict[str, object]]:
    with clipsearch.open_index(index_dir) as index:
        answers = []
        for query in QUERIES:
            result = index.query(query).to_dict()
            for hit in result["hits"]:
                hit.pop("path")
            answers.append(result)
        view = index.show(SEED_ID, query="cấp ủy").to_dict()
        view.pop("path")
        answers.append(view)
        return answers


def test_an_old_index_has_the_fields_of_a_new_one_but_exact_words_and_body(old_index: Path, new_index: Path) -> None:
    from clipsearch.reading.segments import IndexFiles
    from clipsearch.schema import EXACT_WORDS_FIELD, INDEX_NAME
    from clipsearch.searching.scoring import POSITIONS_FORMAT

    old, new = IndexFiles(old_index, INDEX_NAME), IndexFiles(new_index, INDEX_NAME)
    try:
        assert EXACT_WORDS_FIELD in new.fields
        assert "body" in new.fields and "body_z" not in new.fields  # the body stored as text, in blocks
        renamed = {"body_z" if k == "body" else k: v for k, v in new.fields.items() if k != EXACT_WORDS_FIELD}
        assert old.fields == renamed
        assert old.fields["text"].format == POSITIONS_FORMAT  # phrases read its positions
        assert old.common == new.common
    finally:
        old.close()
        new.close()


def test_an_old_index_answers_as_a_new_one(old_index: Path, new_index: Path) -> None:
    old, new = _answers(old_index), _answers(new_index)
    assert [r.get("total") for r in old] == [1, 1, 1, 1, 1, 1, None]
    assert old == new


def test_an_old_index_is_updated_in_place(old_index: Path) -> None:
    from whoosh.index import open_dir

    # The fixture was indexed from another checkout: here the seed has moved.
    report = clipsearch.build_index([SEED.parent], old_index)
    assert (len(report.updated), len(report.added), report.total) == (1, 0, 1)
    again = clipsearch.build_index([SEED.parent], old_index)
    assert (len(again.unchanged), again.total) == (1, 1)
    with clipsearch.open_index(old_index) as index:
        assert [h.id for h in index.search("van phong cap uy")] == [SEED_ID]
    # Whoosh itself still opens it (the rewritten table of contents names today's classes).
    with open_dir(str(old_index), indexname="clipsearch").searcher() as searcher:
        assert searcher.doc_count() == 1
