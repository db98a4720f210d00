"""Normalisation, tone placement, folding and syllables (clipsearch.text)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clipsearch.text._foldtable as written
from clipsearch.text.fold import (
    FOLD_TABLE,
    build_fold_table,
    fold,
    fold_long,
    fold_table_source,
    has_diacritics,
    lower_and_folded,
)
from clipsearch.text.normalize import Normalized, normalize, normalize_tone_placement
from clipsearch.text.syllables import linked, sequence_starts, syllable_pattern, syllables, whole_syllables

NFC = "NFC"
NFD = "NFD"


def nfd(s: str) -> str:
    return unicodedata.normalize(NFD, s)


def forms(text: str) -> list[str]:
    return [s.text for s in syllables(normalize(text))]


# ---------------------------------------------------------------------------
# The Vietnamese letters, built from base vowels and marks

# Base vowels as (plain ASCII letter, vowel mark or "").
BASE_VOWELS = [
    ("a", ""),
    ("a", "\u0306"),  # ă
    ("a", "\u0302"),  # â
    ("e", ""),
    ("e", "\u0302"),  # ê
    ("i", ""),
    ("o", ""),
    ("o", "\u0302"),  # ô
    ("o", "\u031b"),  # ơ
    ("u", ""),
    ("u", "\u031b"),  # ư
    ("y", ""),
]
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền, sắc, hỏi, ngã, nặng


def _letters() -> list[tuple[str, str]]:
    """(precomposed letter, ASCII letter it folds to), lower and upper case."""
    out = []
    for base, mark in BASE_VOWELS:
        for tone in TONES:
            if not mark and not tone:
                continue  # plain a, e, i, o, u, y
            for b in (base, base.upper()):
                out.append((unicodedata.normalize(NFC, b + mark + tone), b))
    out += [("đ", "d"), ("Đ", "D")]
    return out


LETTERS = _letters()
TONED_LOWER = "".join(ch for ch, base in LETTERS if base.islower())


def test_there_are_134_precomposed_letters() -> None:
    assert len(LETTERS) == 134
    assert len({ch for ch, _ in LETTERS}) == 134
    assert all(len(ch) == 1 for ch, _ in LETTERS)  # each composes to ONE code point
    assert "ặ" in TONED_LOWER and "ự" in TONED_LOWER and "ỹ" in TONED_LOWER


@pytest.mark.parametrize(("letter", "base"), LETTERS, ids=[ch for ch, _ in LETTERS])
def test_fold_strips_every_mark(letter: str, base: str) -> None:
    assert fold(letter) == base
    assert fold(nfd(letter)) == base
    assert has_diacritics(letter)
    assert has_diacritics(nfd(letter))


def test_fold_words() -> None:
    assert fold("Đảng ủy ĐẠI HỘI đồng chí") == "Dang uy DAI HOI dong chi"
    assert fold("đ") == "d"
    assert fold("Đ") == "D"
    assert fold(nfd("Nguyễn Thị Thuỷ")) == "Nguyen Thi Thuy"
    assert fold("Hà Nội, 1/8/2014 — 100%") == "Ha Noi, 1/8/2014 — 100%"


def test_fold_leaves_ascii_alone() -> None:
    text = "TP.HCM van phong cap uy 2023!"
    assert fold(text) == text
    assert not has_diacritics(text)
    assert not has_diacritics("")


@given(st.text())
def test_lower_and_folded_is_lower_then_fold(text: str) -> None:
    for _ in range(2):  # computed, then kept
        assert lower_and_folded(text) == (text.lower(), fold(text.lower()))


@given(
    st.text()
    | st.text(alphabet=TONED_LOWER + TONED_LOWER.upper() + "abcdeđĐghiklmnopqrstuvxy ,.“”–…", min_size=64)
    | st.text(alphabet=TONED_LOWER + "ßæœŋ ", min_size=64)
    | st.text(min_size=64)
)
def test_fold_long_is_fold(text: str) -> None:
    """The numpy path (long text, every character folding to one), and the
    fall-backs (short text, combining marks, characters past U+FFFF)."""
    assert fold_long(text) == fold(text)
    assert fold_long(nfd(text)) == fold(nfd(text))
    assert fold_long(text + "😀") == fold(text) + "😀"


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@given(st.text(alphabet=TONED_LOWER + TONED_LOWER.upper() + "abcdeghiklmnopqrstuvxy ,.", max_size=40))
def test_fold_of_vietnamese_is_ascii(text: str) -> None:
    folded = fold(text)
    assert folded.isascii()
    assert len(folded) == len(text)
    assert fold(nfd(text)) == folded
    assert has_diacritics(text) == (folded != text)


# ---------------------------------------------------------------------------
# NFC / NFD

# fmt: off
WORDS = [
    "Văn", "phòng", "cấp", "ủy", "uỷ", "Đảng", "đổi", "mới", "nâng", "cao", "chất", "lượng", "tỉnh", "thành",
    "Hà", "Nội", "nghị", "khoẻ", "khỏe", "hoà", "hòa", "bình", "thủy", "thuỷ", "quý", "Quý", "hoàng", "thuyền",
    "ngoài", "Nguyễn", "Thị", "Hường", "ĐẠI", "HỘI", "HÒA", "HOÀ", "Ủy", "Uỷ", "người", "dân", "2023", "01",
    "1.000", "TP.HCM", "T.Ư", "—", ",", ".", "...", "(", ")",
]
# fmt: on


@given(st.lists(st.sampled_from(WORDS), max_size=20))
def test_nfc_and_nfd_give_the_same_syllables(words: list[str]) -> None:
    text = " ".join(words)
    assert forms(unicodedata.normalize(NFC, text)) == forms(nfd(text))


def test_nfd_normalizes_to_nfc() -> None:
    text = "Văn phòng cấp uỷ Đảng"
    n = normalize(nfd(text))
    assert n.text == text
    assert unicodedata.is_normalized(NFC, n.text)


def test_nfd_hangul_is_composed() -> None:
    text = "Tiếng Việt và tiếng Hàn 한국어"
    assert normalize(nfd(text)).text == text


# ---------------------------------------------------------------------------
# Tone placement

PLACEMENT_PAIRS = [
    ("hoà", "hòa"),
    ("thuỷ", "thủy"),
    ("uỷ", "ủy"),
    ("khoẻ", "khỏe"),
    ("HOÀ", "HÒA"),
    ("Hoà", "Hòa"),
    ("THUỶ", "THỦY"),
    ("Uỷ", "Ủy"),
    ("hoá", "hóa"),
    ("loã", "lõa"),
    ("hoạ", "họa"),
    ("tuỳ", "tùy"),
    ("huỷ", "hủy"),
    ("luỹ", "lũy"),
    ("thuý", "thúy"),
    ("khoẹ", "khọe"),
]


@pytest.mark.parametrize(("old", "new"), PLACEMENT_PAIRS)
def test_old_and_new_tone_placement_give_the_same_syllable(old: str, new: str) -> None:
    assert old != new
    assert forms(old) == forms(new) == [old.lower()]
    assert forms(f"Ông {new}, bà {old}.") == ["ông", old.lower(), "bà", old.lower()]
    assert forms(nfd(new)) == [old.lower()]
    assert normalize_tone_placement(new) == old
    assert normalize_tone_placement(old) == old


UNAMBIGUOUS = ["quý", "Quý", "QUÝ", "quỳ", "hoàng", "thuyền", "ngoài", "khoảng", "thuở", "oai", "Huế", "mùa"]


@pytest.mark.parametrize("word", [*UNAMBIGUOUS, "của", "mía"])
def test_unambiguous_words_are_left_alone(word: str) -> None:
    assert normalize(word).text == word
    assert normalize_tone_placement(word) == word
    assert forms(word) == [word.lower()]


def test_placement_inside_a_longer_word_is_left_alone() -> None:
    # `òa` followed by a letter is not a final `oa`.
    assert normalize_tone_placement("hòan") == "hòan"
    assert normalize_tone_placement("thủyx") == "thủyx"


def test_placement_across_underscore() -> None:
    # pyvi's word joiner becomes a space, then the placement is normalised.
    n = normalize("hòa_bình")
    assert n.text == "hoà bình"
    assert forms("hòa_bình") == ["hoà", "bình"]


@given(st.text(alphabet="hHqQtkòóỏõọÒÓỎÕỌùúủũụÙÚỦŨỤaAeEyYnu _.", max_size=30))
def test_tone_placement_keeps_length_and_is_idempotent(text: str) -> None:
    once = normalize_tone_placement(text)
    assert len(once) == len(text)
    assert normalize_tone_placement(once) == once
    assert fold(once) == fold(text)


# ---------------------------------------------------------------------------
# Invisible and control characters


@pytest.mark.parametrize(
    "junk",
    [
        "\u200b",  # zero-width space
        "\ufeff",  # BOM / zero-width no-break space
        "\u00ad",  # soft hyphen
        "\u200c",
        "\u200d",
        "\u2060",
        "\u200e",
        "\x01",
        "\x07",
        "\x1b",
        "\x7f",
        "\x80",
        "\x9f",
        "\ud800",  # lone surrogates
        "\udfff",
    ],
    ids=lambda j: f"U+{ord(j):04X}",
)
def test_invisible_and_control_characters_are_removed(junk: str) -> None:
    text = f"Vă{junk}n ph{junk}òng{junk} cấp ủy"
    n = normalize(text)
    assert junk not in n.text
    assert n.text == "Văn phòng cấp uỷ"
    sylls = syllables(n)
    assert [s.text for s in sylls] == ["văn", "phòng", "cấp", "uỷ"]
    assert text[sylls[0].start : sylls[0].end] == f"Vă{junk}n"
    assert text[sylls[1].start : sylls[1].end] == f"ph{junk}òng"
    assert text[sylls[3].start : sylls[3].end] == "ủy"


def test_tab_newline_and_carriage_return_are_kept() -> None:
    assert normalize("a\tb\r\nc").text == "a\tb\r\nc"
    assert forms("văn\tphòng\r\ncấp\nuỷ") == ["văn", "phòng", "cấp", "uỷ"]


@pytest.mark.parametrize("sep", ["\x0c", "\x0b", "\x1e", "\x85"], ids=["FF", "VT", "RS", "NEL"])
def test_whitespace_controls_separate_words(sep: str) -> None:
    assert forms(f"Hà{sep}Nội") == ["hà", "nội"]


def test_underscore_becomes_a_space() -> None:
    assert normalize("văn_phòng").text == "văn phòng"
    assert forms("văn_phòng") == ["văn", "phòng"]


# ---------------------------------------------------------------------------
# Syllables


def test_syllables_of_abbreviations_dates_and_numbers() -> None:
    assert forms("TP.HCM") == ["tp", "hcm"]
    assert forms("T.Ư") == ["t", "ư"]
    assert forms("1/8/2014") == ["1", "8", "2014"]
    assert forms("01/08/2014") == ["1", "8", "2014"]
    assert forms("1.000.000 đồng") == ["1.000.000", "đồng"]
    assert forms("2,5 tỷ") == ["2,5", "tỷ"]
    assert forms("000") == ["0"]
    assert forms("Chờ đợi...") == ["chờ", "đợi"]
    assert forms("") == []
    assert forms(" \t, . ...") == []


def test_identity_map_when_nothing_changes() -> None:
    text = "Văn phòng cấp uỷ"
    n = normalize(text)
    assert n == Normalized(text, text)
    assert n.span(0, 3) == (0, 3)


def test_span_of_empty_range() -> None:
    text = nfd("ủy")  # u + hook + y: three code points
    n = normalize(text)
    assert n.text == "uỷ"
    assert n.span(0, 0) == (0, 0)
    assert n.span(2, 2) == (len(text), len(text))
    assert n.span(0, 2) == (0, len(text))


def _expected_form(normalized_slice: str) -> str:
    """The syllable form a normalised slice should have: lowercase, and a
    number made of digits only loses its leading zeros."""
    low = normalized_slice.lower()
    if low.isdigit():
        return low.lstrip("0") or "0"
    return low


# Units the offset property builds text from: NFC letters, the same letters in
# NFD, words in both tone placements, invisible and control characters (placed
# INSIDE words too), lone surrogates, separators, underscores, numbers with
# leading zeros and separators. Each NFD unit is a base with at most one vowel
# mark and one tone mark, so it always composes into one precomposed letter
# (a stray mark with nothing to compose with is a different question: see
# test_syllable_slices_reanalyse_to_themselves).
UNITS = st.one_of(
    st.sampled_from([ch for ch, _ in LETTERS]),
    st.sampled_from([ch for ch, _ in LETTERS]).map(nfd),
    st.sampled_from(list("abcdeghiklmnopqrstuvxyABCDEGHIKLMNOPQRSTUVXY")),
    st.sampled_from([w for pair in PLACEMENT_PAIRS for w in pair]),
    st.sampled_from([nfd(w) for pair in PLACEMENT_PAIRS for w in pair]),
    st.sampled_from(["\u200b", "\ufeff", "\u00ad", "\u200d", "\x01", "\x7f", "\x9f", "\ud800", "\udc00"]),
    st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "_", ".", ",", "/", "-", "...", "(", ")", "\u00a0"]),
    st.sampled_from(["0", "1", "007", "2014", "1.000", "2,5", "00.5"]),
)
VIET_TEXT = st.lists(UNITS, max_size=40).map("".join)


@settings(max_examples=400)
@given(VIET_TEXT)
def test_syllable_offsets_point_into_the_original(text: str) -> None:
    sylls = syllables(normalize(text))
    previous_end = 0
    for s in sylls:
        assert previous_end <= s.start < s.end <= len(text)
        previous_end = s.end
        # The original characters, normalised on their own, are the syllable.
        assert _expected_form(normalize(text[s.start : s.end]).text) == s.text
    # Nothing between the syllables is a letter or digit.
    bounds = [0, *(x for s in sylls for x in (s.start, s.end)), len(text)]
    for gap_start, gap_end in zip(bounds[::2], bounds[1::2], strict=True):
        gap = normalize(text[gap_start:gap_end]).text
        assert not any(c.isalnum() for c in gap), (gap_start, gap_end, gap)


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_syllable_slices_reanalyse_to_themselves(text: str) -> None:
    # Any text at all: each syllable's original slice, analysed alone, is
    # exactly that one syllable, and the spans are ordered and disjoint.
    previous_end = 0
    for s in syllables(normalize(text)):
        assert previous_end <= s.start < s.end <= len(text)
        previous_end = s.end
        assert forms(text[s.start : s.end]) == [s.text]


@given(VIET_TEXT)
def test_normalized_text_is_clean(text: str) -> None:
    n = normalize(text)
    assert unicodedata.is_normalized(NFC, n.text)
    assert not any(c in n.text for c in "\u200b\ufeff\u00ad\u200d\x01\x7f\x9f_")
    assert not any("\ud800" <= c <= "\udfff" for c in n.text)
    assert normalize(n.text).text == n.text  # idempotent
    if n.starts is not None:
        assert n.ends is not None
        assert len(n.starts) == len(n.ends) == len(n.text)
        assert list(n.starts) == sorted(n.starts)
        assert all(0 <= a < b <= len(text) for a, b in zip(n.starts, n.ends, strict=True))


@given(st.lists(st.sampled_from(PLACEMENT_PAIRS), max_size=10), st.randoms(use_true_random=False))
def test_mixed_placement_gives_the_same_syllables(pairs: list[tuple[str, str]], rnd) -> None:
    mixed = " ".join(rnd.choice(pair) for pair in pairs)
    old = " ".join(old for old, _ in pairs)
    assert forms(mixed) == forms(old) == [w.lower() for w in old.split()]


# ---------------------------------------------------------------------------
# has_diacritics


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("van", False),
        ("văn", True),
        ("dang", False),
        ("đang", True),
        ("Đ", True),
        ("uy", False),
        ("uỷ", True),
        (nfd("phòng"), True),
        ("TP.HCM", False),
        ("2023", False),
        ("", False),
    ],
)
def test_has_diacritics(term: str, expected: bool) -> None:
    assert has_diacritics(term) is expected


def test_whole_syllables_linked_and_sequences() -> None:
    text = "co the, cothe co; the x the co the"
    matches = whole_syllables(syllable_pattern(["co", "the"]), text)
    found = [m.group() for m in matches]
    assert found == ["co", "the", "co", "the", "the", "co", "the"]  # not inside "cothe"
    links = linked(text, [m.span() for m in matches])
    assert links == [True, False, True, False, True, True]  # "cothe" and "x" are syllables between
    assert sequence_starts(found, links, ["co", "the"]) == [0, 2, 5]
    assert sequence_starts(found, links, ["the", "co"]) == [4]


def test_the_written_fold_table_is_the_computed_one() -> None:
    assert Path(written.__file__).read_text(encoding="utf-8") == fold_table_source()
    assert build_fold_table() == FOLD_TABLE and fold("Đảng ủy ǅ ß") == "Dang uy Dz ss"
