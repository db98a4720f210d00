"""The Whoosh analysis: one analysis per field value, three tokenizers
(folded syllables with positions and zone boosts, exact forms, pyvi words),
character offsets, pickling."""

from __future__ import annotations

import pickle
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from clipsearch.text.fold import fold
from clipsearch.text.normalize import normalize
from clipsearch.text.zones import ZONE_BOOSTS, common_syllables, join_zones, paragraphs, syllable_columns
from clipsearch.writing.fields import ExactTokenizer, PairTokenizer, SyllableTokenizer, WordTokenizer, build_schema


def tokens(tokenizer, text: str, **kwargs) -> list[tuple]:
    """(text, pos, startchar, endchar, boost) of every token; Whoosh reuses
    one Token object, so the values are copied while iterating."""
    return [
        (t.text, t.pos, t.startchar, t.endchar, t.boost) for t in tokenizer(text, positions=True, chars=True, **kwargs)
    ]


def texts(tokenizer, text: str) -> list[str]:
    return [t.text for t in tokenizer(text)]


# ---------------------------------------------------------------------------
# Folded syllables


def test_syllables_folded_with_positions() -> None:
    toks = tokens(SyllableTokenizer(), "Văn phòng cấp ủy")
    assert [t[0] for t in toks] == ["van", "phong", "cap", "uy"]
    assert [t[1] for t in toks] == [0, 1, 2, 3]


def test_syllables_keep_ascii_and_numbers() -> None:
    toks = tokens(SyllableTokenizer(), "TP.HCM ngay 01/8/2014")
    assert [(t[0], t[1]) for t in toks] == [("tp", 0), ("hcm", 1), ("ngay", 2), ("1", 3), ("8", 4), ("2014", 5)]


def test_start_pos_and_start_char() -> None:
    toks = tokens(SyllableTokenizer(), "Đảng ủy", start_pos=10, start_char=100)
    assert [t[:4] for t in toks] == [("dang", 10, 100, 104), ("uy", 11, 105, 107)]


def test_keeporiginal() -> None:
    text = unicodedata.normalize("NFD", "Hòa bình")
    originals = [t.original for t in SyllableTokenizer()(text, keeporiginal=True)]
    assert originals == [unicodedata.normalize("NFD", "Hòa"), unicodedata.normalize("NFD", "bình")]


def test_chars_point_into_the_original() -> None:
    text = "Vă\u200bn  " + unicodedata.normalize("NFD", "phòng") + " cấp\u00adủy, thủy"
    toks = tokens(SyllableTokenizer(), text)
    for tok, _pos, start, end, _boost in toks:
        assert fold(normalize(text[start:end]).text.lower()) == tok
    assert [text[s:e] for _t, _p, s, e, _b in toks] == [
        "Vă\u200bn",
        unicodedata.normalize("NFD", "phòng"),
        "cấp\u00adủy",
        "thủy",
    ]


def test_zones_are_boosted_and_separated() -> None:
    value = join_zones("Bão số 3", "Bão đổ bộ", "Mưa lớn.\nBão tan.")
    toks = tokens(SyllableTokenizer(), value)
    boosts = {t[0]: t[4] for t in toks}
    assert boosts["so"] == ZONE_BOOSTS[0] and boosts["do"] == ZONE_BOOSTS[1] and boosts["mua"] == ZONE_BOOSTS[2]
    assert sum(t[4] for t in toks if t[0] == "bao") == sum(ZONE_BOOSTS)
    # offsets are into the whole value, zone marks included
    assert all(fold(value[s:e].lower()) == t for t, _p, s, e, _b in toks)
    # no phrase across a zone or a paragraph: positions jump there
    pos = {(t[0], t[2]): t[1] for t in toks}
    assert pos[("bao", value.index("Bão đổ"))] - pos[("3", value.index("3"))] > 1
    assert pos[("bao", value.index("Bão tan"))] - pos[("lon", value.index("lớn"))] > 1


def test_exact_tokens_only_where_diacritics() -> None:
    toks = tokens(ExactTokenizer(), "Văn phòng TP.HCM cấp ủy 2014")
    assert [t[0] for t in toks] == ["văn", "phòng", "cấp", "uỷ"]
    assert toks[3][1] == 5  # positions are those of the syllables


def test_one_analysis_serves_all_fields() -> None:
    value = join_zones("Văn phòng cấp ủy", "", "Nhân dân yêu hòa bình.")
    assert syllable_columns(value) is syllable_columns(value)


# ---------------------------------------------------------------------------
# Words


def test_words_folded() -> None:
    assert texts(WordTokenizer(), "Văn phòng cấp ủy") == ["van_phong", "cap_uy"]


def test_word_offsets_across_lines_and_nfd() -> None:
    text = "Tin buổi sáng.\n" + unicodedata.normalize("NFD", "Văn phòng") + " cấp uỷ họp."
    spans = {t[0]: text[t[2] : t[3]] for t in tokens(WordTokenizer(), text)}
    assert spans["van_phong"] == unicodedata.normalize("NFD", "Văn phòng")


def test_words_skip_single_syllables() -> None:
    assert texts(WordTokenizer(), "ở , . 1/8/2014") == []
    assert texts(WordTokenizer(), "") == []


def test_words_case_insensitive_after_normalisation() -> None:
    assert texts(WordTokenizer(), "VĂN PHÒNG CẤP ỦY")[0] == "van_phong"


def test_words_zone_boosts() -> None:
    toks = tokens(WordTokenizer(), join_zones("Văn phòng", "", "văn phòng"))
    assert [(t[0], t[4]) for t in toks] == [("van_phong", ZONE_BOOSTS[0]), ("van_phong", ZONE_BOOSTS[2])]


def test_new_placement_segmented_like_old() -> None:
    # pyvi alone does not join "hòa bình"; after normalisation it does.
    assert "hoa_binh" in texts(WordTokenizer(), "Nhân dân yêu hòa bình.")
    assert texts(WordTokenizer(), "Nhân dân yêu hòa bình.") == texts(WordTokenizer(), "Nhân dân yêu hoà bình.")


def test_paragraphs() -> None:
    text = "a\n\n b \n\nc\n"
    assert paragraphs(text) == [(0, "a"), (3, " b "), (8, "c")]
    assert all(text[offset : offset + len(line)] == line for offset, line in paragraphs(text))
    assert paragraphs("\n \n") == []


# ---------------------------------------------------------------------------
# NFC / NFD and tone placement give identical tokens

VOCAB = [
    ("hoà", "hòa"),
    ("Hoà", "Hòa"),
    ("HOÀ", "HÒA"),
    ("thuỷ", "thủy"),
    ("uỷ", "ủy"),
    ("Uỷ", "Ủy"),
    ("khoẻ", "khỏe"),
    ("tuỳ", "tùy"),
    ("hoá", "hóa"),
    ("văn", "văn"),
    ("phòng", "phòng"),
    ("cấp", "cấp"),
    ("bình", "bình"),
    ("Nhân", "Nhân"),
    ("dân", "dân"),
    ("Đảng", "Đảng"),
    ("quý", "quý"),
    ("hoàng", "hoàng"),
    ("thuyền", "thuyền"),
    ("ngoài", "ngoài"),
    ("mạnh", "mạnh"),
    ("điện", "điện"),
    ("yêu", "yêu"),
    (",", ","),
    (".", "."),
    ("2014", "2014"),
]


def _variants(pairs: list[tuple[str, str]]) -> list[str]:
    old = " ".join(o for o, _ in pairs)
    new = " ".join(n for _, n in pairs)
    return [
        old,
        new,
        unicodedata.normalize("NFD", old),
        unicodedata.normalize("NFD", new),
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=15))
def test_tokens_do_not_depend_on_form(pairs: list[tuple[str, str]]) -> None:
    every = {fold(o.lower()) for o, _ in pairs}
    for tokenizer in (SyllableTokenizer(), ExactTokenizer(), WordTokenizer(), PairTokenizer(every)):
        results = [[(t.text, t.pos) for t in tokenizer(v, positions=True)] for v in _variants(pairs)]
        assert all(r == results[0] for r in results)
    syllable_count = len(list(SyllableTokenizer()(_variants(pairs)[0])))
    assert syllable_count >= len([o for o, _ in pairs if o not in ",."])


# ---------------------------------------------------------------------------
# Pairs of common syllables


def test_pairs_are_adjacent_common_syllables() -> None:
    text = "Văn phòng cấp ủy, văn phòng"
    pairs = tokens(PairTokenizer({"van", "phong", "cap"}), text)
    assert [(t[0], t[1], text[t[2] : t[3]]) for t in pairs] == [
        ("van phong", 0, "Văn phòng"),
        ("phong cap", 1, "phòng cấp"),
        ("van phong", 4, "văn phòng"),
    ]
    assert texts(PairTokenizer(), text) == []


def test_pairs_never_cross_paragraphs_or_zones() -> None:
    common = {"van", "phong", "cap", "uy"}
    value = join_zones("Văn phòng", "cấp ủy", "văn\nphòng cấp")
    assert texts(PairTokenizer(common), value) == ["van phong", "cap uy", "phong cap"]


def test_common_syllables_are_those_in_most_values() -> None:
    values = ["Cấp ủy họp", "cấp ủy", "Hà Nội, cấp", "hà"]
    assert common_syllables(values, 1) == {"cap"}
    assert common_syllables(values, 3) == {"cap", "uy", "ha"}  # "ha" and "uy" in 2; "hop", "noi" in 1
    assert common_syllables(values, 0) == frozenset()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=15), st.lists(st.sampled_from(VOCAB), max_size=15))
def test_formats_read_the_same_postings_from_rows_as_from_tokens(
    title: list[tuple[str, str]], body: list[tuple[str, str]]
) -> None:
    """The posting formats read a tokenizer's columns; through Whoosh's
    Token stream (an analyzer without them) they give the same postings."""
    from clipsearch.codec.formats import IntFrequency, Presence, VarintPositions, weighted_tokens

    value = join_zones(" ".join(o for o, _ in title), "", " ".join(n for _, n in body))
    every = {fold(o.lower()) for o, _ in title + body}
    for tokenizer in (SyllableTokenizer(), ExactTokenizer(), WordTokenizer(), PairTokenizer(every)):
        assert list(weighted_tokens(value, tokenizer, {})) == [
            (t.text, t.pos, t.boost) for t in tokenizer(value, positions=True, boosts=True)
        ]
        stream_only = lambda v, _t=tokenizer, **kw: _t(v, **kw)  # noqa: E731 - no ``columns``
        for fmt in (VarintPositions(), IntFrequency(), Presence()):
            rows = sorted(fmt.word_values(value, tokenizer))
            assert rows == sorted(fmt.word_values(value, stream_only))


# ---------------------------------------------------------------------------
# Pickling


def test_tokenizers_pickle_without_state() -> None:
    text = "Nhân dân yêu hòa bình, văn phòng cấp ủy."
    some_pairs = PairTokenizer({"van", "phong"})
    for tokenizer in (SyllableTokenizer(), ExactTokenizer(), WordTokenizer((2.0, 1.0)), some_pairs):
        before = tokens(tokenizer, text)
        data = pickle.dumps(tokenizer)
        assert len(data) < 1_000
        again = pickle.loads(data)
        assert again == tokenizer
        assert tokens(again, text) == before
        assert before


def test_schema_pickle_is_small_after_the_model_is_loaded() -> None:
    schema = build_schema()
    assert texts(schema["words"].analyzer, "văn phòng cấp uỷ")  # loads the model in this process
    data = pickle.dumps(schema)
    assert len(data) < 20_000
    assert b"crfsuite" not in data.lower()
    restored = pickle.loads(data)
    assert set(restored.names()) == set(schema.names())
    assert texts(restored["title"].analyzer, "Văn phòng") == ["van", "phong"]
    assert texts(restored["words"].analyzer, "Văn phòng") == ["van_phong"]


def test_zone_mark_inside_text_does_not_make_zones() -> None:
    value = join_zones("Tiêu đề", "Dẫn \ue000 nhập", "Thân")
    title, lead, body = ZONE_BOOSTS
    assert [t[4] for t in tokens(SyllableTokenizer(), value)] == [title, title, lead, lead, body]
