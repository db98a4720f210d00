"""The Whoosh analyzers: syllables and words, exact and folded, positions,
character offsets, pickling."""

from __future__ import annotations

import pickle
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from clipsearch.analysis import (
    FoldingFilter,
    SyllableTokenizer,
    WordTokenizer,
    paragraphs,
    syllable_analyzer,
    word_analyzer,
)
from clipsearch.index import build_schema
from clipsearch.text import fold, normalize


def tokens(analyzer, text: str, **kwargs) -> list[tuple]:
    """(text, pos, startchar, endchar) of every token; Whoosh reuses one Token
    object, so the values are copied while iterating."""
    out = []
    for t in analyzer(text, positions=True, chars=True, **kwargs):
        out.append((t.text, t.pos, t.startchar, t.endchar))
    return out


def texts(analyzer, text: str) -> list[str]:
    return [t.text for t in analyzer(text)]


# ---------------------------------------------------------------------------
# Syllable analyzer


def test_syllable_analyzer_tokens_and_positions() -> None:
    toks = tokens(syllable_analyzer(), "Văn phòng cấp ủy")
    assert [t[0] for t in toks] == ["văn", "van", "phòng", "phong", "cấp", "cap", "uỷ", "uy"]
    assert [t[1] for t in toks] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_syllable_analyzer_no_folded_duplicate_for_ascii() -> None:
    toks = tokens(syllable_analyzer(), "TP.HCM ngay 1/8/2014")
    assert [(t[0], t[1]) for t in toks] == [("tp", 0), ("hcm", 1), ("ngay", 2), ("1", 3), ("8", 4), ("2014", 5)]


def test_syllable_analyzer_start_pos_and_start_char() -> None:
    toks = tokens(syllable_analyzer(), "Đảng ủy", start_pos=10, start_char=100)
    assert toks == [
        ("đảng", 10, 100, 104),
        ("dang", 10, 100, 104),
        ("uỷ", 11, 105, 107),
        ("uy", 11, 105, 107),
    ]


def test_syllable_analyzer_keeporiginal() -> None:
    text = unicodedata.normalize("NFD", "Hòa bình")
    originals = [t.original for t in SyllableTokenizer()(text, keeporiginal=True)]
    assert originals == [unicodedata.normalize("NFD", "Hòa"), unicodedata.normalize("NFD", "bình")]


def test_syllable_analyzer_chars_point_into_the_original() -> None:
    text = "Vă\u200bn  " + unicodedata.normalize("NFD", "phòng") + " cấp\u00adủy, thủy"
    for tok, _pos, start, end in tokens(syllable_analyzer(), text):
        piece = normalize(text[start:end]).text.lower()
        assert tok in (piece, fold(piece))
    spans = [(s, e) for _t, _p, s, e in tokens(syllable_analyzer(), text)][::2]
    assert [text[s:e] for s, e in spans] == [
        "Vă\u200bn",
        unicodedata.normalize("NFD", "phòng"),
        "cấp\u00adủy",
        "thủy",
    ]


def test_folding_filter_alone() -> None:
    analyzer = SyllableTokenizer() | FoldingFilter()
    assert texts(analyzer, "Đà Nẵng") == ["đà", "da", "nẵng", "nang"]
    assert texts(SyllableTokenizer(), "Đà Nẵng") == ["đà", "nẵng"]


# ---------------------------------------------------------------------------
# Word analyzer


def test_word_analyzer_yields_words_exact_and_folded() -> None:
    toks = tokens(word_analyzer(), "Văn phòng cấp ủy")
    words = [t[0] for t in toks]
    assert words[:2] == ["văn_phòng", "van_phong"]
    assert toks[0][1] == toks[1][1] == 0
    assert (toks[0][2], toks[0][3]) == (0, 9)
    assert all("_" in w for w in words)  # single syllables are left to the syllable field


def test_word_analyzer_skips_single_syllables() -> None:
    assert texts(word_analyzer(), "ở , . 1/8/2014") == []
    assert texts(word_analyzer(), "") == []


def test_word_analyzer_lowercases() -> None:
    words = texts(word_analyzer(), "VĂN PHÒNG CẤP ỦY")
    assert words[:2] == ["văn_phòng", "van_phong"]


def test_paragraphs() -> None:
    text = "a\n\n b \n\nc\n"
    assert paragraphs(text) == [(0, "a"), (3, " b "), (8, "c")]
    assert all(text[offset : offset + len(line)] == line for offset, line in paragraphs(text))
    assert paragraphs("\n \n") == []


def test_word_analyzer_chars_single_paragraph() -> None:
    text = "Nhân dân yêu hòa bình, " + unicodedata.normalize("NFD", "văn phòng") + " cấp\u200buỷ"
    toks = tokens(word_analyzer(), text)
    assert toks
    for tok, _pos, start, end in toks:
        piece = "_".join(normalize(text[start:end]).text.lower().split())
        assert tok in (piece, fold(piece))


def test_word_analyzer_chars_across_lines() -> None:
    text = "Tin buổi sáng.\nVăn phòng cấp uỷ họp."
    toks = tokens(word_analyzer(), text)
    assert ("văn_phòng", text.index("Văn"), text.index("Văn") + len("Văn phòng")) in [(t, s, e) for t, _, s, e in toks]


def test_word_analyzer_positions_increase() -> None:
    toks = tokens(word_analyzer(), "Văn phòng cấp uỷ.\nNhân dân yêu hoà bình.")
    positions = [p for _t, p, _s, _e in toks]
    assert positions == sorted(positions)
    assert len(set(positions)) >= 3


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
def test_syllable_tokens_do_not_depend_on_form(pairs: list[tuple[str, str]]) -> None:
    analyzer = syllable_analyzer()
    results = [[(t.text, t.pos) for t in analyzer(v, positions=True)] for v in _variants(pairs)]
    assert all(r == results[0] for r in results)
    assert len(results[0]) >= len([o for o, _ in pairs if o not in ",."])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=15))
def test_word_tokens_do_not_depend_on_form(pairs: list[tuple[str, str]]) -> None:
    analyzer = word_analyzer()
    results = [[(t.text, t.pos) for t in analyzer(v, positions=True)] for v in _variants(pairs)]
    assert all(r == results[0] for r in results)


def test_word_tokens_new_placement_found_like_old() -> None:
    # pyvi alone does not join "hòa bình"; after normalisation it does.
    assert "hoà_bình" in texts(word_analyzer(), "Nhân dân yêu hòa bình.")
    assert "hoa_binh" in texts(word_analyzer(), "Nhân dân yêu hòa bình.")


# ---------------------------------------------------------------------------
# Pickling


def test_analyzers_pickle() -> None:
    text = "Nhân dân yêu hòa bình, văn phòng cấp ủy."
    for make in (syllable_analyzer, word_analyzer):
        analyzer = make()
        before = tokens(analyzer, text)
        data = pickle.dumps(analyzer)
        assert len(data) < 5_000
        again = pickle.loads(data)
        assert tokens(again, text) == before
        assert before


def test_schema_pickle_is_small_after_the_model_is_loaded() -> None:
    schema = build_schema()
    # Use the word analyzer first, so the model is loaded in this process.
    assert texts(schema["body_w"].analyzer, "văn phòng cấp uỷ")
    data = pickle.dumps(schema)
    assert len(data) < 20_000
    assert b"crfsuite" not in data.lower()
    restored = pickle.loads(data)
    assert set(restored.names()) == set(schema.names())
    assert texts(restored["title"].analyzer, "Văn phòng") == ["văn", "van", "phòng", "phong"]
    assert texts(restored["title_w"].analyzer, "Văn phòng") == ["văn_phòng", "van_phong"]


def test_word_tokenizer_pickles_without_state() -> None:
    tokenizer = WordTokenizer()
    list(tokenizer("văn phòng"))
    assert len(pickle.dumps(tokenizer)) < 1_000
