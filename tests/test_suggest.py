""" "Did you mean": the diacritic form of a folded query, from the index's own text and vocabulary."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import clipsearch
from clipsearch.cli import cli
from clipsearch.schema import VOCABULARY_FILE
from clipsearch.searching.spelling import _count, _count_slowly, _prepared, _runs, suggest
from clipsearch.text.normalize import normalize
from clipsearch.text.syllables import syllables

from .conftest import write_clipping

TEXTS = [
    "Nông dân vào mùa lúa chín, mùa lúa năm nay bội thu.",
    "Người dân đi mua sắm cuối năm; siêu thị đông người mua sắm.",
    "Công tác văn phòng cấp ủy được đổi mới.",
]


def _no_vocabulary(folded: str) -> Counter[str]:
    return Counter()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("van phong cap uy", "văn phòng cấp ủy"),
        ("mua lua", "mùa lúa"),  # the same "mua" ...
        ("mua sam", "mua sắm"),  # ... resolved by its neighbour
        ("VAN PHONG", "VĂN PHÒNG"),
        ("Van phong", "Văn phòng"),
        ('title:"cap uy" OR mua sam -lua', 'title:"cấp ủy" OR mua sắm -lúa'),
        ("văn phong", "văn phòng"),  # mixed: only the bare syllable changes
    ],
)
def test_suggestion_from_matched_text(query: str, expected: str) -> None:
    assert suggest(query, TEXTS, _no_vocabulary) == expected


@pytest.mark.parametrize("query", ["văn phòng cấp ủy", "mua", "2024", "title:x"])
def test_no_suggestion_when_nothing_changes(query: str) -> None:
    assert suggest(query, TEXTS, _no_vocabulary) is None


def test_vocabulary_decides_when_the_text_does_not() -> None:
    vocabulary = {"hoa": Counter({"hoà": 7, "hoa": 0, "hóa": 3}), "binh": Counter({"bình": 9, "bính": 1})}
    assert suggest("hoa binh", [], lambda f: vocabulary.get(f, Counter())) == "hoà bình"


def test_pairs_outweigh_single_frequencies() -> None:
    texts = ["múa lân", "múa lân", "mùa", "mùa", "mùa", "mùa lúa"]
    assert suggest("mua lan", texts, _no_vocabulary) == "múa lân"


# ---------------------------------------------------------------------------
# Through the index


def test_index_suggests_for_a_folded_query(index: clipsearch.Index) -> None:
    result = index.query("van phong cap uy")
    assert result.suggestion == "văn phòng cấp ủy"
    assert index.query("văn phòng cấp ủy").suggestion is None


def test_vocabulary_file_counts_exact_forms(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    for n in range(3):
        write_clipping(folder, f"a{n}", "Mùa gặt", "Nông dân vào mùa.", ["Trời đẹp."])
    write_clipping(folder, "b0", "Múa lân", "Đội múa tập luyện.", ["Trời đẹp."])
    clipsearch.build_index([folder], tmp_path / "ix")
    forms = json.loads((tmp_path / "ix" / VOCABULARY_FILE).read_text(encoding="utf-8"))["forms"]
    assert forms["mua"] == {"mùa": 3, "múa": 1}
    with clipsearch.open_index(tmp_path / "ix") as index:
        # nothing matches "mua hoi" as a whole; the vocabulary picks the commoner form
        assert index.query("mua").suggestion == "mùa"


def test_cli_did_you_mean(index_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["query", "van phong cap uy", "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Did you mean: văn phòng cấp ủy"
    data = json.loads(CliRunner().invoke(cli, ["query", "văn phòng", "--index-dir", str(index_dir), "--json"]).output)
    assert data["suggestion"] is None


SYLLABLES = ["mùa", "múa", "mua", "lúa", "lua", "văn", "vẫn", "phòng", "cấp", "ủy", "uỷ", "anh", "an", "Anh", "2024"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=30), min_size=1, max_size=4),
    st.lists(st.sampled_from(["mua", "lua", "an", "anh", "van", "phong", "cap", "uy"]), min_size=1, max_size=4),
    st.sampled_from([" ", ", ", " - ", "_", "  "]),
)
def test_one_scan_counts_like_syllable_by_syllable(texts: list[list[str]], folded: list[str], separator: str) -> None:
    written = [separator.join(words) for words in texts]
    fast = _count(folded, _prepared(written))
    whole: Counter[tuple[str, ...]] = Counter()
    single: list[Counter[str]] = [Counter() for _ in folded]
    pairs: list[Counter[tuple[str, str]]] = [Counter() for _ in folded[1:]]
    for text in written:
        _count_slowly(folded, text.lower(), whole, single, pairs)
    assert fast == (whole, single, pairs)


# ---------------------------------------------------------------------------
# Which syllables a suggestion may rewrite: the query's words, as the parser
# reads them (clipsearch.searching.syntax.word_spans)

_OPERATOR_NAMES = {"AND", "OR", "NOT"}


def _runs_by_characters(query: str) -> list[list[tuple[int, int, str]]]:
    """A reference for :func:`~clipsearch.searching.spelling._runs` that
    reads operators and field prefixes from the characters around each
    syllable (a syllable that is an operator, or followed by ``:``). It
    agrees with the tokens wherever operators and field prefixes stand as
    tokens of their own, which is how queries write them."""
    runs: list[list[tuple[int, int, str]]] = [[]]
    previous_end = None
    for syl in syllables(normalize(query)):
        raw = query[syl.start : syl.end]
        gap = query[previous_end : syl.start] if previous_end is not None else ""
        prefix = query[syl.end : syl.end + 1] == ":"
        if gap.strip(" -") or prefix or raw in _OPERATOR_NAMES or not syl.text.isalpha():
            runs.append([])
        if not (prefix or raw in _OPERATOR_NAMES or not syl.text.isalpha()):
            runs[-1].append((syl.start, syl.end, syl.text))
        previous_end = syl.end
    return [run for run in runs if run]


QUERY_WORDS = ["mua", "lua", "Mua", "MUA", "van", "phong", "văn", "cap", "uy", "hoa", "binh", "2024", "x", "or", "and"]
_word = st.sampled_from(QUERY_WORDS)
_phrase = st.lists(_word, min_size=1, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"')
_atom = st.one_of(
    _word,
    _word.map(lambda w: "-" + w),
    _phrase,
    st.tuples(st.sampled_from(["title:", "source:", "TITLE:"]), st.one_of(_word, _phrase)).map("".join),
    _word.map(lambda w: f"({w}"),
    _word.map(lambda w: f"{w})"),
    _word.map(lambda w: f"{w},"),
    st.sampled_from(["AND", "OR", "NOT", "(", ")", "*", "-", "title:", "date:03/2026", "date:2026-03-01..", "-(", "_"]),
)
QUERIES = st.builds(
    lambda atoms, separator, unclosed: separator.join(atoms) + unclosed,
    st.lists(_atom, min_size=1, max_size=8),
    st.sampled_from([" ", "  ", " - ", " ; "]),
    st.sampled_from(["", ' "mua', ' "van phong']),  # an unclosed quote runs to the end
)


@settings(max_examples=1000, deadline=None)
@given(QUERIES)
def test_runs_from_the_tokens_are_the_runs_by_characters(query: str) -> None:
    assert _runs(query) == _runs_by_characters(query)


@pytest.mark.parametrize(
    ("query", "rewritten"),
    [
        ("x:mua", ["x", "mua"]),  # not a field: the parser searches both
        ('"mua OR lua"', ["mua", "OR", "lua"]),  # in quotes, OR is a word
        ("mua OR-lua", ["mua", "OR", "lua"]),  # not a token of its own: a word
        ("mua OR, lua", ["mua", "OR", "lua"]),
        ("date:03/2026 mua", ["mua"]),
    ],
)
def test_runs_are_the_words_the_parser_searches(query: str, rewritten: list[str]) -> None:
    assert [form for run in _runs(query) for _s, _e, form in run] == [w.lower() for w in rewritten]
