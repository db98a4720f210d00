"""Syllables: the unit of matching and highlighting, and finding given
syllables in folded text (snippets, "did you mean")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

from clipsearch.text.normalize import Normalized, normalize

__all__ = [
    "Syllable",
    "linked",
    "sequence_starts",
    "syllable_form",
    "syllable_forms",
    "syllable_pattern",
    "syllable_spans",
    "syllables",
    "whole_syllables",
]

# A number keeps its inner separators (1.000, 2,5); otherwise a syllable is a
# run of letters and digits. `TP.HCM` gives `tp`, `hcm`; `1/8/2014` gives 1, 8, 2014.
_SYLLABLE_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")
# The same, captured: ``split`` gives the text between syllables and the syllables, alternately.
_SPLIT_RE = re.compile(f"({_SYLLABLE_RE.pattern})")


class Syllable(NamedTuple):
    """A syllable: its matching form and its span in the ORIGINAL text."""

    text: str
    start: int
    end: int


@lru_cache(maxsize=65536)
def syllable_form(raw: str) -> str:
    """The exact form of a normalised syllable: lowercase; numbers lose
    leading zeros (``01`` → ``1``) so dates match however they were typed."""
    low = raw.lower()
    if low.isdigit():
        return low.lstrip("0") or "0"
    return low


def syllable_spans(norm: Normalized, base: int = 0) -> tuple[list[str], list[int], list[int]]:
    """The forms of the syllables of normalised text, their starts and their
    ends in the ORIGINAL text, shifted by ``base``: what :func:`syllables`
    gives, as three lists. One ``split`` gives the syllables and the text
    between them, and running sums of their lengths give the offsets."""
    parts = _SPLIT_RE.split(norm.text)
    forms = list(map(syllable_form, parts[1::2]))
    if norm.starts is None or norm.ends is None:
        offsets = list(accumulate(map(len, parts), initial=base))
        return forms, offsets[1:-1:2], offsets[2::2]
    offsets = list(accumulate(map(len, parts), initial=0))
    starts, ends = norm.starts, norm.ends  # a syllable is never empty: its span is [start, end - 1]
    return forms, [starts[k] + base for k in offsets[1:-1:2]], [ends[k - 1] + base for k in offsets[2::2]]


def syllables(norm: Normalized) -> list[Syllable]:
    """Split normalised text into syllables with spans in the original text."""
    return list(map(Syllable, *syllable_spans(norm)))


def syllable_forms(text: str) -> list[str]:
    """The forms of the syllables of ``text`` (a query's words, a token),
    normalised first (NFC, one tone placement)."""
    return syllable_spans(normalize(text))[0]


# Finding given syllables in folded text (snippets, "did you mean")

_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def syllable_pattern(folded: Iterable[str]) -> re.Pattern[str]:
    """Matches any of the ``folded`` syllables followed by no letter or
    digit. Whether one precedes it is checked by :func:`whole_syllables`, on
    the matches only: a lookbehind would slow the scan of the whole text."""
    alternatives = "|".join(re.escape(f) for f in sorted(set(folded), key=len, reverse=True))
    return re.compile(r"(?:" + alternatives + r")(?![^\W_])")


def whole_syllables(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """The matches of a :func:`syllable_pattern` in ``text`` that are whole syllables."""
    return [m for m in pattern.finditer(text) if not m.start() or not _LETTER_OR_DIGIT.match(text, m.start() - 1)]


def linked(text: str, spans: Sequence[tuple[int, int]]) -> list[bool]:
    """For each two consecutive spans of ``text``, whether only spaces and
    punctuation lie between them (no other syllable, as the index's positions
    see it)."""
    return [not _LETTER_OR_DIGIT.search(text, spans[k][1], spans[k + 1][0]) for k in range(len(spans) - 1)]


def sequence_starts(found: Sequence[str], links: Sequence[bool], sequence: Sequence[str]) -> list[int]:
    """Where ``sequence`` occurs in ``found`` (syllables in text order, with
    their :func:`linked` flags) as consecutive, linked syllables."""
    n = len(sequence)
    return [
        k
        for k in range(len(found) - n + 1)
        if all(found[k + j] == sequence[j] for j in range(n)) and all(links[k : k + n - 1])
    ]
