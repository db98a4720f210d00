"""The analysis's fast paths against the straightforward code they replace,
on varied text: NFC and NFD, both tone placements, mixed case, punctuation,
numbers, invisible and control characters, look-alikes of ``Đ``, zone marks,
empty text and very long tokens."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from clipsearch.text import normalize as normalize_module
from clipsearch.text.fold import fold
from clipsearch.text.normalize import normalize, normalize_tone_placement
from clipsearch.text.syllables import Syllable, syllable_form, syllable_spans, syllables
from clipsearch.text.zones import (
    PARAGRAPH_GAP,
    ZONE_MARK,
    analyse_syllables,
    join_zones,
    paragraphs,
    syllable_columns,
)

from .test_text import LETTERS, PLACEMENT_PAIRS, UNITS

# What the text is made of: the units of test_text's offset property, and
# what a clipping's field value also holds.
MORE_UNITS = st.one_of(
    UNITS,
    st.sampled_from(["Ð", "ð", "Ɖ", "ɖ", "\f", "\v", "\x1c", "\x1f", "\x85", ZONE_MARK, "\n\n", "\u0301", "😀"]),
    st.sampled_from([w.upper() for pair in PLACEMENT_PAIRS for w in pair]),
    st.text(alphabet="aăâbcdđeêghikloôơpqrstuưvxy0123456789", min_size=30, max_size=300),  # very long tokens
    st.sampled_from([ch for ch, _ in LETTERS]).map(lambda ch: ch * 50),
)
TEXT = st.lists(MORE_UNITS, max_size=60).map("".join)
ZONES = st.tuples(TEXT, TEXT, TEXT).map(lambda zones: join_zones(*zones))

# The syllable pattern as the straightforward code matched it, one match at a time.
_SYLLABLE_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")


def _reference_syllables(text: str) -> list[Syllable]:
    norm = normalize(text)
    return [
        Syllable(syllable_form(m.group()), *norm.span(m.start(), m.end())) for m in _SYLLABLE_RE.finditer(norm.text)
    ]


def _reference_rows(value: str) -> list[tuple[int, int, str, str, int, int]]:
    """A field value's syllable rows, syllable by syllable."""
    rows = []
    pos = 0
    offset = 0
    for zone, zone_text in enumerate(value.split(ZONE_MARK)):
        for start, paragraph in paragraphs(zone_text):
            base = offset + start
            for syl in _reference_syllables(paragraph):
                rows.append((zone, pos, fold(syl.text), syl.text, base + syl.start, base + syl.end))
                pos += 1
            pos += PARAGRAPH_GAP
        offset += len(zone_text) + len(ZONE_MARK)
    return rows


@settings(max_examples=400, deadline=None)
@given(TEXT, st.integers(0, 1000))
def test_syllable_spans_are_the_matches_one_by_one(text: str, base: int) -> None:
    expected = _reference_syllables(text)
    assert syllables(normalize(text)) == expected
    forms, starts, ends = syllable_spans(normalize(text), base)
    assert forms == [s.text for s in expected]
    assert starts == [s.start + base for s in expected]
    assert ends == [s.end + base for s in expected]


@settings(max_examples=300, deadline=None)
@given(ZONES)
def test_syllable_columns_are_the_rows_syllable_by_syllable(value: str) -> None:
    expected = _reference_rows(value)
    assert list(analyse_syllables(value)) == expected
    for k, column in enumerate(syllable_columns(value)):
        assert list(column) == [row[k] for row in expected]


def test_syllable_columns_of_empty_text() -> None:
    assert syllable_columns("") == ((), (), (), (), (), ())
    assert analyse_syllables(join_zones("", " \n ", "...")) == ()


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_tone_placement_is_the_regular_expression_everywhere(text: str) -> None:
    text = unicodedata.normalize("NFC", text)
    regex = normalize_module._NEW_STYLE_RE
    assert normalize_tone_placement(text) == regex.sub(normalize_module._move_tone, text)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_translation_for_the_analysis_is_the_table(text: str) -> None:
    assert normalize_module._for_analysis(text) == text.translate(normalize_module._ANALYSIS_TABLE)
