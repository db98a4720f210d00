"""Typo tolerance (searching/typos.py): a word of 5 letters or more that the
index does not hold matches the words one edit away (two from 9 letters),
checked against a reference edit distance written here, and end to end on
clippings written here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clipsearch
from clipsearch.schema import SPELLING_FILE
from clipsearch.searching.typos import MIN_TARGET, NEAR_WORDS, Speller, correct_typos, max_edits

from .conftest import write_clipping


def osa(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions
    and swaps of two neighbours, each substring edited once (the reference)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


words_strategy = st.text(alphabet="abcdeno", min_size=MIN_TARGET, max_size=11)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(words_strategy, st.integers(1, 50), min_size=1, max_size=60), words_strategy)
def test_near_words_are_those_of_the_reference_distance(words: dict[str, int], typed: str) -> None:
    edits = max_edits(typed)
    expected = sorted((w for w in words if osa(typed, w) <= edits), key=lambda w: (osa(typed, w), -words[w], w))[
        :NEAR_WORDS
    ]
    assert Speller(words).near(typed) == (expected if edits else [])


def test_how_many_edits() -> None:
    assert [max_edits("x" * n) for n in range(3, 12)] == [0, 0, 1, 1, 1, 1, 2, 2, 2]


def _near(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    return lambda word: table.get(word, [])


def test_only_words_are_widened_not_phrases_exclusions_or_field_values() -> None:
    near = _near({"romaia": ["romania", "romana"], "huddersield": ["huddersfield"]})
    typos = correct_typos(
        'romaia "romaia" -romaia NOT huddersield source:romaia title:huddersield', lambda w: False, near
    )
    assert typos is not None
    assert typos.widened == ('(romania OR romana) "romaia" -romaia NOT huddersield source:romaia title:huddersfield')
    assert typos.suggestion == 'romania "romaia" -romaia NOT huddersield source:romaia title:huddersfield'
    assert correct_typos("romaia", lambda w: True, near) is None  # held as typed
    assert correct_typos("roma bóng", lambda w: False, near) is None  # too short; nothing near


NAMES = {
    "huddersfield": ("Huddersfield thắng trận đầu mùa", "Đội bóng Huddersfield giành ba điểm."),
    "romania": ("Romania đón đoàn khách Việt Nam", "Đoàn công tác tới Romania trong ba ngày."),
    "barcelona": ("Barcelona chiêu mộ tiền vệ trẻ", "Câu lạc bộ Barcelona công bố bản hợp đồng."),
    "manchester": ("Manchester mưa suốt tuần", "Thành phố Manchester có mưa nhiều ngày liền."),
}


@pytest.fixture(scope="module")
def names_index(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> clipsearch.Index:
    folder = tmp_path_factory.mktemp("names")
    shutil.copytree(corpus_dir, folder, dirs_exist_ok=True)
    for name, (title, lead) in NAMES.items():
        write_clipping(folder, name, title, lead, ["Tin thể thao và đời sống."])
    index_dir = folder.parent / "names-index"
    clipsearch.build_index([folder], index_dir)
    return clipsearch.open_index(index_dir)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("huddersield", "huddersfield"),  # a letter missing
        ("huddersfeild", "huddersfield"),  # two swapped
        ("hudersfild", "huddersfield"),  # two missing: 10 letters
        ("romaia", "romania"),
        ("rumania", "romania"),  # one wrong
        ("barcelonaa", "barcelona"),  # one too many
        ("Barcellona", "barcelona"),
        ("manchestr", "manchester"),
    ],
)
def test_a_typo_finds_the_clipping_meant(names_index: clipsearch.Index, typed: str, meant: str) -> None:
    result = names_index.query(typed)
    assert [h.id for h in result.hits] == [meant]
    assert result.suggestion is not None and result.suggestion.lower() == meant
    assert names_index.query(typed, exact_input=True).total == 0
    assert names_index.query(f'"{typed}"').total == 0


@pytest.mark.parametrize("typed", ["romna", "barca", "hudder", "manche", "xyzxyzxyz"])
def test_too_far_or_too_short_finds_nothing(names_index: clipsearch.Index, typed: str) -> None:
    result = names_index.query(typed)
    assert result.total == 0


def test_a_typo_among_other_words(names_index: clipsearch.Index) -> None:
    result = names_index.query("romaia đoàn khách")
    assert [h.id for h in result.hits] == ["romania"]
    assert result.suggestion == "romania đoàn khách"
    assert next(result.hits[0].title[s:e] for s, e in result.hits[0].title_highlights) == "Romania"


def test_words_the_index_holds_are_not_widened(names_index: clipsearch.Index) -> None:
    for word in ("romania", "barcelona", "thắng"):
        result = names_index.query(word)
        assert result.suggestion is None or result.suggestion.lower() != word
        assert result.total >= 1


def test_the_spelling_words_are_built_with_the_index_and_small(names_index: clipsearch.Index) -> None:
    data = json.loads((names_index.path / SPELLING_FILE).read_text(encoding="utf-8"))
    words = data["words"]
    assert {"huddersfield", "romania", "barcelona", "manchester"} <= set(words)
    assert all(w.isascii() and w.isalpha() and len(w) >= MIN_TARGET for w in words)
    assert words["romania"] == 1
    assert (names_index.path / SPELLING_FILE).stat().st_size < 20_000


def test_an_index_without_spelling_words_searches_as_before(names_index: clipsearch.Index, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(names_index.path, copy)
    (copy / SPELLING_FILE).unlink()
    with clipsearch.open_index(copy) as index:
        assert index.query("romaia").total == 0
        assert index.query("romania").total == 1
