"""Words first (issue 18): for a query typed with diacritics, clippings that
hold its words as typed (syllables adjacent, exact forms, whether or not
pyvi made them one word there) rank above those that hold the syllables
apart or only their folded forms, whatever the scores."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clipsearch

from .conftest import write_clipping

CLIPPINGS = {
    # the word as typed, once, in the body of a long clipping: a low score
    "body_word": (
        "Bản tin sức khỏe buổi sáng",
        "Các bác sĩ khuyên uống đủ nước mỗi ngày.",
        [
            "Cơ thể con người cần nước để làm việc.",
            "Bản tin còn nhiều chuyện khác về sức khỏe, dinh dưỡng và giấc ngủ.",
        ],
    ),
    # "có thể" (can) with a "cơ" and a "thể" elsewhere, in the title: a high score
    "can_and_apart": (
        "Cơ quan thể thao có thể đổi lịch",
        "Cơ quan thể thao cho biết có thể đổi lịch thi đấu.",
        ["Có thể trời mưa."],
    ),
    # "cơ" and "thể" apart
    "apart": ("Cơ hội cho thể thao", "Cơ hội mới cho thể thao học đường.", ["Nhiều cơ hội."]),
    "cycle": ("Chu kỳ kinh tế mới", "Các chuyên gia bàn về chu kỳ kinh tế.", ["Chu kỳ tăng trưởng."]),
    # "chữ ký" (folded "chu ky", adjacent), "chu" and "kỳ" apart
    "signature": (
        "Chữ ký và kỳ họp chu đáo",
        "Chữ ký của giám đốc; kỳ họp chu đáo.",
        ["Chữ ký được xác nhận; chữ ký mới; kỳ họp chu đáo."],
    ),
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> clipsearch.Index:
    folder = tmp_path_factory.mktemp("words")
    for name, (title, lead, body) in CLIPPINGS.items():
        write_clipping(folder, name, title, lead, body)
    clipsearch.build_index([folder], folder.parent / "words-index")
    return clipsearch.open_index(folder.parent / "words-index")


def _ids(index: clipsearch.Index, query: str) -> list[str]:
    return [h.id for h in index.query(query, limit=10, collapse=False).hits]


def test_the_word_as_typed_ranks_first_whatever_the_score(index: clipsearch.Index) -> None:
    ids = _ids(index, "cơ thể")
    assert ids[0] == "body_word"
    assert set(ids) == {"body_word", "can_and_apart", "apart"}
    scores = {h.id: h.score for h in index.query("cơ thể", collapse=False).hits}
    assert scores["can_and_apart"] > scores["body_word"]  # the score alone would put it first


def test_a_syllable_typed_without_diacritics_is_matched_folded(index: clipsearch.Index) -> None:
    assert _ids(index, "chu kỳ")[0] == "cycle"


def test_the_other_word_of_the_same_folded_form(index: clipsearch.Index) -> None:
    assert _ids(index, "có thể")[0] == "can_and_apart"
    assert _ids(index, "chữ ký")[0] == "signature"


@pytest.mark.parametrize(
    "variant", [lambda q: unicodedata.normalize("NFD", q), str.upper, lambda q: q.replace("ỳ", "ỳ")]
)
def test_invariant_under_normalisation_and_case(index: clipsearch.Index, variant: object) -> None:
    for query in ("cơ thể", "chu kỳ", "có thể"):
        assert _ids(index, variant(query)) == _ids(index, query)  # type: ignore[operator]


def test_typed_without_diacritics_and_quoted_as_before(index: clipsearch.Index) -> None:
    assert set(_ids(index, "co the")) == {"body_word", "can_and_apart", "apart"}
    # a quoted phrase matches as before (its folded syllables in order); the one as typed ranks first
    assert _ids(index, '"cơ thể"') == ["body_word", "can_and_apart"]


def test_an_old_index_ranks_by_score_and_is_updated_with_its_fields(tmp_path: Path) -> None:
    import shutil

    from clipsearch.reading.segments import IndexFiles
    from clipsearch.schema import EXACT_WORDS_FIELD, INDEX_NAME

    def fields(folder: Path) -> set[str]:
        files = IndexFiles(folder, INDEX_NAME)
        try:
            return set(files.fields)
        finally:
            files.close()

    old = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "fixtures" / "index-schema10-d87fad4", old)
    assert EXACT_WORDS_FIELD not in fields(old)
    more = tmp_path / "more"
    more.mkdir()
    for name in ("body_word", "can_and_apart"):
        write_clipping(more, name, *CLIPPINGS[name][:2], CLIPPINGS[name][2])
    clipsearch.build_index([more], old)
    assert EXACT_WORDS_FIELD not in fields(old)  # new segments written with the old fields
    with clipsearch.open_index(old) as index:
        hits = index.query("cơ thể", collapse=False).hits
        assert [h.id for h in hits][:2] == ["can_and_apart", "body_word"]  # by score alone
        assert index.query("văn phòng").total >= 1
    clipsearch.build_index([more], old, rebuild=True)
    assert EXACT_WORDS_FIELD in fields(old)
    with clipsearch.open_index(old) as index:
        assert index.query("cơ thể", collapse=False).hits[0].id == "body_word"


def test_a_typo_between_words_makes_no_word_of_its_neighbours(tmp_path: Path) -> None:
    write_clipping(tmp_path, "meant", "Cơ quan thể thao họp", "Cơ quan thể thao tỉnh họp tổng kết.", ["Tin ngắn."])
    write_clipping(
        tmp_path, "phantom", "Bản tin sức khoẻ", "Tập luyện đều.", ["Giúp cơ thể thao thức; điều quan trọng là ngủ đủ."]
    )
    clipsearch.build_index([tmp_path], tmp_path / "index")
    with clipsearch.open_index(tmp_path / "index") as index:
        assert next(h.id for h in index.query("cơ quan thể thao").hits) == "meant"
        result = index.query("cơ quann thể thao")
        assert result.suggestion == "cơ quan thể thao"
        assert next(h.id for h in result.hits) == "meant"


def test_words_as_typed_are_looked_for_once_each_and_few() -> None:
    from clipsearch.searching.plan import MAX_TYPED_WORDS, plan
    from clipsearch.searching.syntax import parse_query

    same = plan(parse_query(" OR ".join(['"Hà Nội làm việc"'] * 100)))
    assert set(same.words) == {"hà_nội", "làm_việc"} and len(same.words) == 2
    words = (
        "cơ thể,sức khoẻ,kinh tế,văn phòng,cấp uỷ,chu kỳ,chữ ký,vận dụng,biến động,thể lực,thế lực,bác sĩ,"
        "con người,giám đốc,thể thao,học sinh,sinh viên,giáo dục,bóng đá,thời tiết"
    ).split(",")
    many = plan(parse_query(" OR ".join(words)))
    assert len(many.words) == MAX_TYPED_WORDS < len(words)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.5, 1.0, 1.25, 2.0, 7.5, 30.0])), max_size=60),
    st.integers(1, 20),
)
def test_the_best_by_count_are_those_of_a_full_sort(rows: list[tuple[int, float]], limit: int) -> None:
    import numpy as np

    from clipsearch.searching.ranking import _best_by_count
    from clipsearch.searching.scoring import Matches

    ids = np.arange(len(rows), dtype=np.int64) * 3
    held = np.array([h for h, _ in rows], dtype=np.int64)
    scores = np.array([s for _, s in rows], dtype=np.float64)
    expected = sorted(range(len(rows)), key=lambda i: (-held[i], -scores[i], ids[i]))[:limit]
    assert _best_by_count(Matches(ids, scores), held, limit).tolist() == expected


SYLLABLES = ["cơ", "thể", "có", "học", "sinh", "viên", "kinh", "tế", "và", "văn", "phòng", "chữ", "ký", ".", ",", "Học"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SYLLABLES), max_size=40), st.integers(4, 12))
def test_the_dictionarys_words_do_not_depend_on_where_a_long_text_is_cut(words: list[str], chunk: int) -> None:
    from clipsearch.text.segmenter import get_segmenter

    text = " ".join(words)
    whole = get_segmenter().words_and_known(text, chunk=10**9)[1]
    cut = get_segmenter().words_and_known(text, chunk=chunk)[1]
    assert sorted(cut) == sorted(whole)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cơ thể", {"cơ_thể"}),
        ("Hải Phòng", {"hải_phòng"}),  # a name: joined in title case
        ("hải phòng", {"hải_phòng"}),
        ("HẢI PHÒNG", {"hải_phòng"}),
        ("co the", set()),  # typed without diacritics: no word as typed
        ("hoá chất ở Texas phát", {"hoá_chất"}),  # "phát" typed in lower case: no name "Texas Phát"
        ("HOÁ CHẤT Ở TEXAS PHÁT", {"hoá_chất", "texas_phát"}),  # capitals say nothing: read as names too
    ],
)
def test_the_query_words_as_typed_and_letter_case(query: str, expected: set[str]) -> None:
    from clipsearch.searching.plan import typed_words

    assert set(typed_words(query)) == expected


def test_a_name_joined_to_the_word_after_it_is_no_word_as_written() -> None:
    from clipsearch.text.segmenter import segment
    from clipsearch.text.zones import join_zones, known_words, one_case

    body = "Bang Texas phát cảnh báo bão. Đoàn công tác về Hải Phòng. Thủ tướng dự họp."
    assert "Texas_phát" in [w.text for w in segment(body)]  # what pyvi's model does
    held = {word for _zone, word, _start, _end in known_words(join_zones("Tin ngắn", "", body))}
    assert "texas_phát" not in held
    assert {"hải_phòng", "thủ_tướng", "cảnh_báo"} <= held  # a name; a dictionary word at a sentence's start
    assert one_case(("Hải", "Phòng")) and one_case(("cơ", "thể")) and one_case(("U23", "Việt"))
    assert not one_case(("Texas", "phát"))
