"""A clipping's searchable text as zones (title, lead, body), and its
analysis into syllables and pyvi words, without Whoosh: the index's
tokenizers (:mod:`clipsearch.writing.fields`) and the search side (a clipping's
key terms for "similar", the ``pairs`` terms of a phrase) share it.

A field value is one string of zones joined by :data:`ZONE_MARK`. It is
normalised and split into syllables once (shared by several fields), and
segmented into words by pyvi's model once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import compress, repeat
from operator import is_not, itemgetter
from typing import NamedTuple

from clipsearch.text.fold import fold, fold_syllable
from clipsearch.text.normalize import Normalized, normalize
from clipsearch.text.segmenter import Word, get_segmenter
from clipsearch.text.syllables import syllable_form, syllable_spans

__all__ = [
    "ZONE_MARK",
    "ZONE_BOOSTS",
    "PARAGRAPH_GAP",
    "SyllableColumns",
    "SyllableRow",
    "WordRow",
    "analyse_syllables",
    "analyse_words",
    "common_syllables",
    "exact_word",
    "known_words",
    "one_case",
    "join_zones",
    "pair_term",
    "paragraphs",
    "syllable_columns",
]

#: Separates the zones of a field value; a private-use character that no
#: clipping contains (normalisation would drop it anyway).
ZONE_MARK = "\ue000"
#: Boosts of the zones title, lead, body (whole numbers keep postings small).
ZONE_BOOSTS = (3.0, 2.0, 1.0)
#: Position gap between paragraphs and zones, so phrases do not cross them.
PARAGRAPH_GAP = 5


def join_zones(*zones: str) -> str:
    """One field value made of zones (title, lead, body); a zone mark inside
    a zone's text becomes a space."""
    return ZONE_MARK.join(zone.replace(ZONE_MARK, " ") for zone in zones)


def paragraphs(text: str) -> list[tuple[int, str]]:
    """The non-blank lines of ``text`` with their offsets. Each is analysed
    on its own: pyvi's output depends on context only within a sentence, and
    long inputs cost memory."""
    result = []
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            result.append((offset, line))
        offset += len(line) + 1
    return result


#: Per syllable: (zone, position, folded form, exact form, start, end).
SyllableRow = tuple[int, int, str, str, int, int]
#: Per multi-syllable word: (zone, word (folded or exact), start, end).
WordRow = tuple[int, str, int, int]


def _zones(value: str) -> list[tuple[int, int, str]]:
    """(zone, offset, text) of each zone of a field value."""
    result = []
    offset = 0
    for zone, text in enumerate(value.split(ZONE_MARK)):
        result.append((zone, offset, text))
        offset += len(text) + len(ZONE_MARK)
    return result


class SyllableColumns(NamedTuple):
    """The syllables of a field value as columns, one item per syllable in
    text order (what :func:`analyse_syllables` gives row by row)."""

    zones: tuple[int, ...]
    positions: tuple[int, ...]
    folded: tuple[str, ...]
    exact: tuple[str, ...]
    #: offsets into the value
    starts: tuple[int, ...]
    ends: tuple[int, ...]


@lru_cache(maxsize=8)
def syllable_columns(value: str) -> SyllableColumns:
    """The syllables of a field value, offsets into the value (cached: the
    ``text``, ``exact`` and ``pairs`` fields and the MinHash signature share
    one analysis). Each paragraph is split at once
    (:func:`~clipsearch.text.syllables.syllable_spans`), and each syllable
    is folded through a cache: no per-syllable Python code."""
    zones: list[int] = []
    positions: list[int] = []
    exact: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for zone, zone_offset, zone_text in _zones(value):
        for offset, paragraph in paragraphs(zone_text):
            forms, form_starts, form_ends = syllable_spans(normalize(paragraph), zone_offset + offset)
            count = len(forms)
            zones.extend(repeat(zone, count))
            positions.extend(range(pos, pos + count))
            exact += forms
            starts += form_starts
            ends += form_ends
            pos += count + PARAGRAPH_GAP
    folded = tuple(map(fold_syllable, exact))
    return SyllableColumns(tuple(zones), tuple(positions), folded, tuple(exact), tuple(starts), tuple(ends))


def analyse_syllables(value: str) -> tuple[SyllableRow, ...]:
    """The syllables of a field value, offsets into the value, as rows."""
    return tuple(zip(*syllable_columns(value), strict=True))


def one_case(syllables: Iterable[str]) -> bool:
    """Whether a word the model joined is written all in lower case or as a
    name (every syllable capitalised: ``Hải Phòng``), not a name joined to
    the word after it (``Texas phát``), which the model also does."""
    capitals = {s[:1].isupper() for s in syllables if s[:1].isalpha()}
    return len(capitals) <= 1


def exact_word(syllables: Iterable[str]) -> str | None:
    """The ``exact_words`` term of a word's syllables (normalised, as pyvi
    splits them): their exact forms joined by ``_`` (``cơ_thể``), or None when
    the word has no diacritics (its folded form says as much)."""
    word = "_".join(syllable_form(s) for s in syllables)
    return word if fold(word) != word else None


def _for_the_model(text: str) -> str:
    """A paragraph as pyvi's model reads it: in lower case when it is written
    all in capitals (a headline), as queries are, since the model joins
    capitals differently (and reads ``SINH.`` as an abbreviation)."""
    if text.isupper():
        lower = text.lower()
        if len(lower) == len(text):  # the words' offsets stay those of the paragraph
            return lower
    return text


@lru_cache(maxsize=65536)
def _word_forms(syllables: tuple[str, ...]) -> tuple[str, str | None, bool]:
    """A word's ``words`` term (folded), its ``exact_words`` term
    (:func:`exact_word`) and whether it is written in one case
    (:func:`one_case`), from its syllables (cached: news text repeats its words)."""
    exact = "_".join(syllable_form(s) for s in syllables)
    folded = fold(exact)
    return folded, exact if folded != exact else None, one_case(syllables)


def _word_spans(words: list[Word]) -> tuple[Sequence[tuple[str, ...]], Sequence[int], Sequence[int]]:
    """The syllables, starts and ends of words, as columns."""
    if not words:
        return (), (), ()
    sylls, starts, ends = zip(*words, strict=True)
    return sylls, starts, ends


def _rows(
    zone: int, base: int, norm: Normalized, terms: Iterable[str], starts: Iterable[int], ends: Iterable[int]
) -> Iterator[WordRow]:
    """Word rows of a paragraph: its words' terms, with their spans in ``norm``
    mapped to the original text and shifted by ``base``."""
    if norm.starts is None:
        return zip(repeat(zone), terms, map(base.__add__, starts), map(base.__add__, ends))
    spans = map(norm.span, starts, ends)
    return ((zone, term, base + start, base + end) for term, (start, end) in zip(terms, spans, strict=True))


@lru_cache(maxsize=8)
def _word_analysis(value: str) -> tuple[tuple[WordRow, ...], tuple[WordRow, ...]]:
    """pyvi's words of a field value (folded), and its words as typed:
    pyvi's words and the runs its dictionary holds as words, in their exact
    forms (cached: the ``words`` and ``exact_words`` fields share one segmentation)."""
    segmenter = get_segmenter()
    words: list[WordRow] = []
    known: list[WordRow] = []
    for zone, zone_offset, zone_text in _zones(value):
        for offset, paragraph in paragraphs(zone_text):
            base = zone_offset + offset
            norm = normalize(paragraph)
            found, runs = segmenter.words_and_known(_for_the_model(norm.text))
            sylls, starts, ends = _word_spans(found)
            forms = list(map(_word_forms, sylls))
            words.extend(_rows(zone, base, norm, map(itemgetter(0), forms), starts, ends))
            # the words as typed: the model's written in one case, and the dictionary's runs, a span once
            one_case_words = compress(
                zip(zip(starts, ends, strict=True), sylls, strict=True), map(itemgetter(2), forms)
            )
            spans = dict(one_case_words)
            run_sylls, run_starts, run_ends = _word_spans(runs)
            spans.update(zip(zip(run_starts, run_ends, strict=True), run_sylls, strict=True))
            exacts = list(map(itemgetter(1), map(_word_forms, spans.values())))
            kept = list(map(is_not, exacts, repeat(None)))
            typed = list(compress(spans, kept))
            known.extend(
                _rows(zone, base, norm, compress(exacts, kept), map(itemgetter(0), typed), map(itemgetter(1), typed))
            )
    return tuple(words), tuple(known)


def analyse_words(value: str) -> tuple[WordRow, ...]:
    """The multi-syllable words pyvi's model finds in a field value, folded."""
    return _word_analysis(value)[0]


def known_words(value: str) -> tuple[WordRow, ...]:
    """The words of a field value as written (exact forms, with diacritics):
    those pyvi's model finds (written in one case, :func:`one_case`), and
    every run of two or three syllables that pyvi's dictionary holds as a
    word, wherever the model put its boundaries."""
    return _word_analysis(value)[1]


def pair_term(first: str, second: str) -> str:
    """The ``pairs`` term of two adjacent folded syllables."""
    return f"{first} {second}"


def common_syllables(values: Iterable[str], count: int) -> frozenset[str]:
    """The ``count`` folded syllables found in the most of ``values`` (field
    values as :func:`join_zones` makes them); ties go to the alphabetically first."""
    frequency: Counter[str] = Counter()
    for value in values:
        frequency.update(set(syllable_columns(value).folded))
    ranked = sorted(frequency.items(), key=lambda item: (-item[1], item[0]))
    return frozenset(syllable for syllable, _n in ranked[:count])
