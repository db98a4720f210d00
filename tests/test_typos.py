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
from clipsearch.searching import syntax
from clipsearch.searching.plan import plan
from clipsearch.searching.syntax import parse_query
from clipsearch.searching.typos import (
    MAX_TYPOS,
    MIN_TARGET,
    MIN_TYPED,
    NEAR_WORDS,
    Speller,
    max_edits,
    spelled_alike,
    suggested,
    widen_typos,
)

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
    shortest = MIN_TYPED if len(typed) < MIN_TYPED else 0  # a short word stands only for longer ones
    near = [w for w in words if osa(typed, w) <= edits and len(w) >= shortest]
    expected = sorted(near, key=lambda w: (osa(typed, w), -words[w], w))[:NEAR_WORDS]
    assert Speller(words).near(typed) == (expected if edits else [])


def test_how_many_edits() -> None:
    assert [max_edits("x" * n) for n in range(2, 12)] == [0, 0, 1, 1, 1, 1, 1, 2, 2, 2]  # 4: dropped letters only


def _near(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    return lambda word: table.get(word, [])


NEAR = {"romaia": ["romania", "romana"], "huddersield": ["huddersfield"], "hellp": ["hello", "help"]}


@pytest.mark.parametrize(
    ("query", "widened_as"),
    [
        ("romaia", "(romania OR romana)"),
        ("romaia bóng đá", "(romania OR romana) bóng đá"),
        ("title:huddersield", "title:huddersfield"),
        ("hellp-world", "(hello OR help) world"),  # not "(hello OR help)-world": no word becomes an exclusion
        ("title:hellp-world", "title:(hello OR help) title:world"),
        ('romaia "romaia"', '(romania OR romana) "romaia"'),
        ("world -romaia", "world -romaia"),  # an excluded typo excludes nothing: left as typed
        ("world -(hellp)", "world -(hellp)"),
        ("world NOT title:hellp", "world NOT title:hellp"),
        ("source:romaia world", "source:romaia world"),
        ("titel:hellp", "titel (hello OR help)"),  # a word, not a field: "titel" stays a word
    ],
)
def test_typos_are_widened_in_the_parsed_query(query: str, widened_as: str) -> None:
    typos = widen_typos(parse_query(query), lambda w: False, _near(NEAR))
    expected = parse_query(widened_as)
    if typos is None:
        assert expected == parse_query(query)
    else:
        assert plan(typos.widened) == plan(expected) or typos.widened == expected


def test_widening_keeps_its_nesting_bounded() -> None:
    query = "hellp world"
    for i in range(32):
        query = f"world OR ({query})" if i % 2 == 0 else f"hello ({query})"
    typos = widen_typos(parse_query(query), lambda w: False, _near(NEAR))
    assert typos is not None
    plan(typos.widened)  # no recursion error, no QueryError


def test_the_suggestion_writes_each_typo_as_its_nearest_word() -> None:
    nearest = {"romaia": "romania", "huddersield": "huddersfield"}
    assert suggested("Romaia và huddersield", nearest) == "Romania và huddersfield"
    assert suggested("world -romaia", nearest) == "world -romaia"
    assert suggested("titel:romaia", {"titel": "title", **nearest}) == "titel:romania"


def test_at_most_a_few_typos_are_looked_up() -> None:
    asked: list[str] = []

    def near(word: str) -> list[str]:
        asked.append(word)
        return ["hello"]

    query = " ".join(f"wordx{chr(97 + i)}{chr(97 + j)}" for i in range(10) for j in range(10))
    widen_typos(parse_query(query), lambda w: False, near)
    assert len(asked) == MAX_TYPOS


NAMES = {
    "huddersfield": ("Huddersfield thắng trận đầu mùa", "Đội bóng Huddersfield giành ba điểm."),
    "romania": ("Romania đón đoàn khách Việt Nam", "Đoàn công tác tới Romania trong ba ngày."),
    "barcelona": ("Barcelona chiêu mộ tiền vệ trẻ", "Câu lạc bộ Barcelona công bố bản hợp đồng."),
    "manchester": ("Manchester mưa suốt tuần", "Thành phố Manchester có mưa nhiều ngày liền."),
    "saudi": ("Arab Saudi mở cửa du lịch", "Arab Saudi cấp thị thực điện tử."),
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
        ("sadi", "saudi"),  # four letters: a letter dropped from a word of five
    ],
)
def test_a_typo_finds_the_clipping_meant(names_index: clipsearch.Index, typed: str, meant: str) -> None:
    result = names_index.query(typed)
    assert [h.id for h in result.hits] == [meant]
    assert result.suggestion is not None and result.suggestion.lower() == meant
    assert names_index.query(typed, exact_input=True).total == 0
    assert names_index.query(f'"{typed}"').total == 0


# "iran" is one letter from the seed's "Trần", but a four-letter word stands only for a
# longer one it misses a letter of; "sadu" would need a letter changed.
@pytest.mark.parametrize("typed", ["romna", "barca", "hudder", "manche", "xyzxyzxyz", "iran", "sadu"])
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


@pytest.mark.parametrize(
    "content", [{}, {"words": {"hello": True}}, {"words": {"": 2}}, {"words": {"he llo": 1}}, {"words": []}]
)
def test_a_spelling_file_that_is_not_one_is_damage(
    names_index: clipsearch.Index, tmp_path: Path, content: dict[str, object]
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(names_index.path, copy)
    (copy / SPELLING_FILE).write_text(json.dumps(content), encoding="utf-8")
    with clipsearch.open_index(copy) as index:
        assert index.query("romania").total == 1  # no typo: the file is not read
        with pytest.raises(clipsearch.IndexDamagedError, match=r"spelling\.json is unreadable"):
            index.query("romaia")


def test_runs_on_either_side_of_a_typo_stay_apart() -> None:
    typos = widen_typos(parse_query("văn phòngg tỉnh ủy"), lambda w: False, _near({"phongg": ["phong"]}))
    assert typos is not None
    # not "văn tỉnh uỷ" as one group of words: the sequence bonus would take it for a phrase typed
    assert typos.widened == syntax.And((syntax.Terms("văn"), syntax.Terms("phong"), syntax.Terms("tỉnh uỷ")))


@pytest.mark.parametrize(
    ("typed", "word", "alike"),
    [
        ("khôg", "khong", True),  # a letter dropped, the diacritics kept
        ("khôngg", "khong", True),
        ("dũng", "duong", False),  # a word of its own: ũ is not ư, and ơ is missing
        ("hồng", "khong", False),
        ("nguyến", "nguyen", True),  # another tone on a written form: one edit
        ("huddersfiéld", "huddersfield", True),  # the word itself, with no written form of its own
    ],
)
def test_a_syllable_typed_with_diacritics_keeps_them(typed: str, word: str, alike: bool) -> None:
    forms = {"khong": {"không": 900, "khống": 12}, "duong": {"dương": 300, "đường": 800}, "nguyen": {"nguyễn": 500}}
    assert spelled_alike(typed, word, forms) is alike


def test_an_abbreviation_is_suggested_in_capitals() -> None:
    assert suggested("UBNDD tỉnh", {"ubndd": "ubnd"}) == "UBND tỉnh"
    assert suggested("Romaia", {"romaia": "romania"}) == "Romania"
