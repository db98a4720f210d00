"""The vectorised evaluator gives exactly Whoosh's matches and BM25F scores."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import scoring as whoosh_scoring

import clipsearch
import clipsearch.codec.blocks
from clipsearch.codec.blocks import BlockCursor, Postings, decode_lists, flat_positions, values_at
from clipsearch.codec.formats import VarintPositions
from clipsearch.codec.varints import encode_varints, vectorised_varints
from clipsearch.reading.segments import Inline
from clipsearch.searching import scoring
from clipsearch.searching.plan import Every, Phrase, Term, plan
from clipsearch.searching.ranking import bonus_scores
from clipsearch.searching.scoring import Evaluator, Matches, _BytesCache, _inline_postings, _intersection, _union
from clipsearch.searching.syntax import parse_query, split_filters
from clipsearch.writing import build
from clipsearch.writing.build import open_whoosh_index

from .conftest import write_clipping, write_sentence_clippings
from .whoosh_reference import files_of, whoosh_bonus_scores, whoosh_matches

WORDS = "hà nội hạ long mùa múa mua lúa văn phòng cấp ủy bão lũ miền trung người dân đường phố".split()


#: Indexes with pairs of every syllable, of some (a phrase mixes pairs and
#: positions), and of none (phrases by positions only).
COMMON = {"all": 300, "some": 6, "none": 0}


@pytest.fixture(scope="module", params=list(COMMON))
def searcher(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Any]:
    rng = random.Random(11)
    folder = tmp_path_factory.mktemp("fast")
    for n in range(700):
        body = " ".join(rng.choice(WORDS) for _ in range(int(rng.expovariate(1 / 120)) + 1))
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        write_clipping(folder, f"f{n:03d}", title.capitalize(), body[:60] or "và", [body or "và"])
    index_dir = tmp_path_factory.mktemp("fast-ix") / "index"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build, "COMMON_SYLLABLES", COMMON[request.param])
        clipsearch.build_index([folder], index_dir, procs=2)
    # a deletion, so that deleted documents are left out too
    (folder / "f005.txt").unlink()
    clipsearch.build_index([folder], index_dir, procs=1)
    ix = open_whoosh_index(index_dir)
    common = ix.schema["pairs"].analyzer.common
    assert len(common) == COMMON[request.param] if request.param != "all" else len(common) > COMMON["some"]
    with ix.searcher(weighting=whoosh_scoring.BM25F()) as s:
        yield s


QUERIES = [
    "hà nội",
    "ha noi",
    "mùa lúa",
    "mua -lúa",
    "văn phòng OR bão lũ",
    "(hà OR hạ) long -mùa",
    "title:văn phòng",
    "cấp ủy người dân đường phố miền trung",
    "*",
    "* -hà",
    '"hà nội"',
    '"mùa lúa" OR "văn phòng"',
    '"cấp ủy cấp ủy" -bão',
    '"người dân đường phố"',
    '"hà nội hà"',
    '"mua mua mua"',
    '"lúa văn phòng cấp ủy bão"',
]


@pytest.mark.parametrize("text", QUERIES)
def test_same_matches_and_scores_as_whoosh(searcher: Any, text: str) -> None:
    words, _, _ = split_filters(parse_query(text))
    required = plan(words if words is not None else parse_query("*")).required
    fast = Evaluator(files_of(searcher)).evaluate(required)
    slow = whoosh_matches(searcher, required)
    assert fast.ids.tolist() == sorted(slow)
    if not isinstance(required, Every) and "*" not in text:
        for docnum, score in zip(fast.ids.tolist(), fast.scores.tolist(), strict=True):
            assert score == pytest.approx(slow[docnum], rel=1e-9, abs=1e-12)


def test_pairs_answer_phrases_of_common_syllables(searcher: Any) -> None:
    """Which path a phrase takes, per index (the results are compared with
    Whoosh's above): its pairs where both syllables are common, else positions."""
    evaluator = Evaluator(files_of(searcher))
    common = searcher.schema["pairs"].analyzer.common
    words = ["nguoi", "dan", "duong", "pho"]
    expected = [f"{a} {b}" for a, b in pairwise(words) if a in common and b in common]
    assert evaluator._pairs("text", words) == expected
    assert evaluator._pairs("title", words) == []
    for pair in expected:  # each is indexed, in a document that has it as a phrase
        ids = evaluator._term("pairs", pair)[0]
        assert len(ids) and set(ids.tolist()) == set(whoosh_matches(searcher, Phrase("text", pair.split())))


def test_one_evaluator_for_every_query_gives_whooshs_results(searcher: Any) -> None:
    """Terms, unions and positions kept from earlier queries give later ones
    Whoosh's matches and scores."""
    evaluator = Evaluator(files_of(searcher))
    for text in QUERIES + QUERIES[::-1]:
        words, _, _ = split_filters(parse_query(text))
        required = plan(words if words is not None else parse_query("*")).required
        fast = evaluator.evaluate(required)
        slow = whoosh_matches(searcher, required)
        assert fast.ids.tolist() == sorted(slow), text
        if "*" not in text:
            assert fast.scores.tolist() == pytest.approx([slow[d] for d in fast.ids.tolist()], rel=1e-9), text
    assert evaluator._unions and evaluator._cache


def test_cached_terms_give_the_same_result(searcher: Any) -> None:
    evaluator = Evaluator(files_of(searcher))
    required = plan(parse_query("hà nội")).required
    first = evaluator.evaluate(required)
    assert evaluator._unions, "each syllable's clause is kept"
    second = evaluator.evaluate(required)
    assert first.ids.tolist() == second.ids.tolist() and first.scores.tolist() == second.scores.tolist()


@given(st.dictionaries(st.integers(0, 10**6), st.lists(st.integers(0, 3000), min_size=1, max_size=40, unique=True)))
def test_flat_positions_decode_every_value(positions: dict[int, list[int]]) -> None:
    fmt = VarintPositions()
    values = {d: fmt.encode(sorted(p)) for d, p in sorted(positions.items())}
    docs, flat = flat_positions(values)
    expected = [(d, p) for d, value in values.items() for p in fmt.decode_positions(value)]
    assert list(zip(docs.tolist(), flat.tolist(), strict=True)) == expected


@pytest.mark.parametrize("values", [[0], [1, 127, 128, 300, 16384, 2**21 + 5, 2**35], list(range(0, 5000, 37))])
def test_vectorised_varints(values: list[int]) -> None:
    buf = np.frombuffer(encode_varints(values), dtype=np.uint8)
    ends = np.flatnonzero(buf < 0x80)
    assert vectorised_varints(buf, ends).tolist() == values


@given(st.lists(st.integers(0, 2**49), max_size=300))
def test_vectorised_varints_of_any_sizes(values: list[int]) -> None:
    buf = np.frombuffer(encode_varints(values), dtype=np.uint8)
    ends = np.flatnonzero(buf < 0x80)
    assert vectorised_varints(buf, ends).tolist() == values


@pytest.mark.parametrize("text", ["hà nội", "mùa lúa văn phòng", "người dân đường phố", "cấp ủy cấp ủy", "hạ long"])
def test_bonuses_same_as_whoosh(searcher: Any, text: str) -> None:
    p = plan(parse_query(text))
    evaluator = Evaluator(files_of(searcher))
    docnums = sorted(evaluator.evaluate(p.required).ids.tolist())[:150]
    fast = bonus_scores(evaluator, p.bonus, docnums)
    slow = whoosh_bonus_scores(searcher, p.bonus, docnums)
    assert slow, "no bonus at all: the comparison would prove nothing"
    assert set(fast) == set(slow)
    for docnum, score in slow.items():
        assert fast[docnum] == pytest.approx(score, rel=1e-9)


@pytest.mark.parametrize("text", ['"hà nội"', '"cấp ủy cấp ủy" -bão', '"lúa văn phòng cấp ủy bão"'])
def test_phrases_without_the_positions_cache(searcher: Any, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Positions read from the file (the cache full) give the same matches."""
    required = plan(parse_query(text)).required
    cached = Evaluator(files_of(searcher)).evaluate(required)
    monkeypatch.setattr(scoring, "CACHE_POSITION_BYTES", 0)
    evaluator = Evaluator(files_of(searcher))
    uncached = evaluator.evaluate(required)
    assert not evaluator._postings
    assert uncached.ids.tolist() == cached.ids.tolist() == sorted(whoosh_matches(searcher, required))


def test_bytes_cache_drops_least_recently_used() -> None:
    cache = _BytesCache(100)
    cache.put("a", 1, 20)
    cache.put("b", 2, 20)
    cache.put("big", 3, 26)  # over a quarter of the limit: not kept
    assert cache.get("big") is None and len(cache) == 2
    assert cache.get("a") == 1  # now the most recent
    for key in "cdef":
        cache.put(key, key, 20)  # 120 bytes in all: the least recent, "b", goes
    assert cache.get("b") is None and cache.get("a") == 1 and len(cache) == 5
    cache.put("a", 9, 20)  # replaced, not counted twice
    assert cache.get("a") == 9 and len(cache) == 5


PARTS = st.lists(
    st.dictionaries(st.integers(0, 300), st.integers(1, 50).map(float), max_size=120), min_size=1, max_size=4
)


@settings(max_examples=200, deadline=None)
@given(PARTS)
def test_set_operations_dense_and_sparse_agree_with_a_reference(parts: list[dict[int, float]]) -> None:
    matches = [
        Matches(np.array(sorted(p), dtype=np.int64), np.array([p[d] for d in sorted(p)], dtype=np.float64))
        for p in parts
    ]
    every = set().union(*parts)
    common = set(parts[0]).intersection(*parts[1:])
    want_union = {d: sum(p.get(d, 0.0) for p in parts) for d in every}
    want_common = {d: sum(p[d] for p in parts) for d in common}
    for dense in (10**9, 0):  # always arrays by document number; never (binary searches)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scoring, "DENSE", dense)
            for found, want in ((_union(matches, 301), want_union), (_intersection(matches, 301), want_common)):
                assert found.ids.tolist() == sorted(want)
                assert found.scores.tolist() == pytest.approx([want[d] for d in sorted(want)])


@pytest.mark.parametrize("small", [0, 10**9])
def test_terms_read_across_segments_as_whoosh_reads_them(
    three_run_index: Path, small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every term of an index of several segments (read together in one
    pass, by numpy or in Python) with a deleted clipping: the documents and
    scores Whoosh's matchers give, and every position of every document."""
    monkeypatch.setattr(clipsearch.codec.blocks, "SMALL_LIST", small)
    ix = open_whoosh_index(three_run_index)
    with ix.searcher() as searcher:
        files = files_of(searcher)
        evaluator = Evaluator(files)
        assert len(files.leaves) >= 2 and len(evaluator._all_deleted()) >= 1
        spread = 0
        for field in ("text", "title", "exact", "words", "source"):
            for raw in searcher.reader().lexicon(field):
                text = raw.decode("utf-8")
                spread += sum(s.term_info(field, text) is not None for s, _offset in files.leaves) > 1
                fast = evaluator.evaluate(Term(field, text))
                slow = whoosh_matches(searcher, Term(field, text))
                assert fast.ids.tolist() == sorted(slow), (field, text)
                assert fast.scores.tolist() == pytest.approx([slow[d] for d in fast.ids.tolist()], rel=1e-9)
                if field in ("text", "title"):
                    expected = []
                    for sub, offset in searcher.leaf_searchers():
                        if (field, raw) in sub.reader():
                            postings = sub.reader().postings(field, raw)
                            for d, positions in postings.items_as("positions"):
                                if not sub.reader().is_deleted(d):
                                    expected += [(d + offset, p) for p in positions]
                    everyone = evaluator.live()
                    docs, positions = evaluator._positions(field, text, everyone)
                    assert list(zip(docs.tolist(), positions.tolist(), strict=True)) == expected, (field, text)
        assert spread >= 10, "few terms in more than one segment: the test would prove little"


@pytest.fixture(scope="module")
def sentences_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three segments of 20 clippings each, many words in all of them."""
    folder = tmp_path_factory.mktemp("sentences")
    for run in range(3):
        write_sentence_clippings(folder / "in", 20, seed=run, prefix=f"r{run}_")
        clipsearch.build_index([folder / "in"], folder / "index", procs=1)
    return folder / "index"


def test_joined_postings_give_the_positions_of_their_parts(sentences_index: Path) -> None:
    """:meth:`Postings.join` of each segment's postings (read alone, or as
    inline postings) is the list read in one pass."""
    ix = open_whoosh_index(sentences_index)
    with ix.searcher() as searcher:
        files = files_of(searcher)
        checked = 0
        for raw in searcher.reader().lexicon("text"):
            text = raw.decode("utf-8")
            leaves = [(s, offset) for s, offset in files.leaves if s.term_info("text", text) is not None]
            if len(leaves) < 2 or not all(isinstance(s.postings("text", text), BlockCursor) for s, _o in leaves):
                continue  # a term of one document in a segment is inline there (see the inline part below)
            whole = decode_lists([(s.postings("text", text), offset, None) for s, offset in leaves], values=True)
            parts = [decode_lists([(s.postings("text", text), offset, None)], values=True) for s, offset in leaves]
            inline = []
            for s, offset in leaves:
                local = decode_lists([(s.postings("text", text), 0, None)]).ids.tolist()
                found = values_at(s.postings("text", text), local)
                weights = decode_lists([(s.postings("text", text), 0, None)]).weights.tolist()
                inline.append(
                    _inline_postings(Inline(tuple(local), tuple(weights), tuple(found[d] for d in local)), offset, True)
                )
            everyone = whole.ids
            for joined in (Postings.join(parts), Postings.join(inline)):
                assert joined.ids.tolist() == whole.ids.tolist() and joined.weights.tolist() == whole.weights.tolist()
                assert [a.tolist() for a in joined.positions(everyone)] == [
                    a.tolist() for a in whole.positions(everyone)
                ]
            checked += 1
        assert checked >= 5
