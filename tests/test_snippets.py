"""Snippets: the best window, highlight spans, exact-form preference."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from clipsearch.searching.highlight import (
    HighlightTerms,
    _collapse,
    _matches_slow,
    find_matches,
    highlight_spans,
    highlight_terms,
    make_snippet,
)
from clipsearch.searching.syntax import parse_query
from clipsearch.text.fold import fold
from clipsearch.text.normalize import normalize
from clipsearch.text.syllables import syllables


def terms(*typed: str) -> HighlightTerms:
    words = [s.text for t in typed for s in syllables(normalize(t))]
    return HighlightTerms(frozenset(w for w in words if fold(w) != w), frozenset(fold(w) for w in words))


FILLER = "Thời tiết hôm nay nắng nhẹ, gió thổi từ phía đông. " * 8


def test_window_with_most_distinct_terms() -> None:
    text = "Giá xăng tăng. " + FILLER + "Giá xăng và giá dầu cùng tăng mạnh trong tuần. " + FILLER
    snippet = make_snippet(text, terms("giá dầu tăng"))
    assert snippet.text.startswith("…Giá xăng và giá dầu")
    assert snippet.text.endswith("…")
    assert len(snippet.text) <= 230
    marked = [snippet.text[s:e] for s, e in snippet.highlights]
    assert "giá dầu" in marked and "tăng" in marked


def test_no_match_gives_the_start() -> None:
    snippet = make_snippet(FILLER, terms("bão"))
    assert snippet.text.startswith("Thời tiết") and snippet.highlights == ()


def test_whitespace_collapsed_and_spans_follow() -> None:
    snippet = make_snippet("Mở đầu.\n\nVăn   phòng\n\ncấp ủy họp.", terms("văn phòng cấp ủy"))
    assert snippet.text == "Mở đầu. Văn phòng cấp ủy họp."
    assert [snippet.text[s:e] for s, e in snippet.highlights] == ["Văn phòng cấp ủy"]


def test_exact_form_preferred_where_present() -> None:
    text = "Mùa lúa, múa lân và mua sắm."
    assert [text[s:e] for s, e in highlight_spans(text, terms("múa"))] == ["múa"]
    other = "Đi mua sắm."
    assert [other[s:e] for s, e in highlight_spans(other, terms("múa"))] == ["mua"]
    assert [text[s:e] for s, e in highlight_spans(text, terms("mua"))] == ["Mùa", "múa", "mua"]


def test_whole_syllables_only() -> None:
    text = "Anh ấy là thanh niên tình nguyện."
    assert [text[s:e] for s, e in highlight_spans(text, terms("anh"))] == ["Anh"]


def test_other_placement_and_nfd_text() -> None:
    text = unicodedata.normalize("NFD", "Nhân dân yêu hoà bình.")
    spans = highlight_spans(text, terms("hòa bình"))
    assert [unicodedata.normalize("NFC", text[s:e]) for s, e in spans] == ["hoà bình"]


WORDS = ["văn", "phòng", "cấp", "ủy", "hòa", "bình", "Đảng", "mùa", "lúa", "xăng", "2014", "TP.HCM", "\n\n"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=120), st.sampled_from(WORDS[:-1]))
def test_highlights_are_valid_and_match(words: list[str], query: str) -> None:
    text = " ".join(words)
    snippet = make_snippet(text, terms(query))
    previous_end = 0
    for start, end in snippet.highlights:
        assert previous_end <= start < end <= len(snippet.text)
        piece = snippet.text[start:end].lower()
        assert {s.text for s in syllables(normalize(piece))} <= {s.text for s in syllables(normalize(query))}
        previous_end = end


MIXED = ["văn", "Phòng", "ủy", "uỷ", "hòa", "hoà", "HOÀ", "bình", "Đảng", "mua", "mùa", "múa", "2014", "T.Ư", "_", "\n"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(MIXED), min_size=1, max_size=80), st.sets(st.sampled_from(MIXED[:13]), min_size=1))
def test_clean_text_shortcut_finds_what_syllable_by_syllable_finds(words: list[str], typed: set[str]) -> None:
    text = " ".join(words)
    wanted = terms(*typed)
    slow = _matches_slow(text, wanted)
    exact_seen = {f for _s, _e, f, is_exact in slow if is_exact}
    assert find_matches(text, wanted) == [(s, e) for s, e, f, is_exact in slow if is_exact or f not in exact_seen]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["văn", "phòng", "a", "Đảng", "2014"]),
            st.sampled_from([" ", "  ", "\n\n", "\t \n", ", ", "\n", "\xa0", " \xa0"]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.data(),
)
def test_collapsed_spans_cover_the_same_words(pieces: list[tuple[str, str]], data: st.DataObject) -> None:
    text = "".join(word + gap for word, gap in pieces)
    words = [m.span() for m in re.finditer(r"[^\W_]+", text)]
    chosen = sorted(set(data.draw(st.lists(st.sampled_from(words), max_size=5))))
    snippet = _collapse(text, chosen)
    assert snippet.text == re.sub(r"\s+", " ", text)
    for (start, end), (a, b) in zip(chosen, snippet.highlights, strict=True):
        assert snippet.text[a:b] == re.sub(r"\s+", " ", text[start:end])
    if chosen:  # a span over several words and the white space between them
        wide = _collapse(text, [(chosen[0][0], chosen[-1][1])])
        a, b = wide.highlights[0]
        assert wide.text[a:b] == re.sub(r"\s+", " ", text[chosen[0][0] : chosen[-1][1]])


def phrase_terms(*phrases: str, loose: str = "") -> HighlightTerms:
    """Terms of a query with these quoted phrases and unquoted ``loose`` words."""
    return highlight_terms(parse_query(" ".join(f'"{p}"' for p in phrases) + " " + loose))


def test_quoted_syllables_highlight_only_where_the_phrase_is() -> None:
    text = "Có người hỏi. " + FILLER + "Chơi thể thao có thể giúp bạn. Có lẽ vậy."
    snippet = make_snippet(text, phrase_terms("có thể"))
    marked = [snippet.text[s:e] for s, e in snippet.highlights]
    assert marked == ["có thể"]
    assert "Chơi thể thao có thể giúp" in snippet.text  # the window is the phrase's, not the first "Có"
    assert [text[s:e] for s, e in highlight_spans(text, phrase_terms("có thể"))] == ["có thể"]


def test_a_phrase_across_punctuation_and_an_unquoted_word_elsewhere() -> None:
    text = "Có, thể thao. Bạn có thể đến."
    # "có, thể" is the phrase too (punctuation is not a syllable, as in the index)
    assert [text[s:e] for s, e in highlight_spans(text, phrase_terms("có thể"))] == ["Có", "thể", "có thể"]
    # "thao" typed without quotes highlights anywhere; "có" and "thể" still only in the phrase
    spans = highlight_spans("Thể thao có lẽ. Có thể.", phrase_terms("có thể", loose="thao"))
    assert [("Thể thao có lẽ. Có thể.")[s:e] for s, e in spans] == ["thao", "Có thể"]


def test_syllables_typed_both_quoted_and_not_highlight_everywhere() -> None:
    text = "Có người. Có thể."
    spans = highlight_spans(text, phrase_terms("có thể", loose="có"))
    assert [text[s:e] for s, e in spans] == ["Có", "Có thể"]
