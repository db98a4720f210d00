"""Typo tolerance, as Typesense and Meilisearch have it: a query word of
:data:`MIN_TYPED` letters or more that the index does not hold also matches
the words it holds one edit away (two from :data:`TWO_EDITS` letters): a
letter wrong, missing, added, or two swapped (optimal string alignment
distance, computed by rapidfuzz). The word as typed matches nothing, so
every match of those words ranks below the clippings that hold the other
words as typed only by the usual scores; "did you mean" proposes the query
with the nearest, most frequent word.

The words it looks in are the folded words of :data:`MIN_TARGET` letters or
more that the index holds, with their document frequencies, written at index
time (``spelling.json``, :mod:`clipsearch.writing.statistics`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from clipsearch.searching.correction import rewrite_words
from clipsearch.text.fold import fold

__all__ = [
    "MIN_TARGET",
    "MIN_TYPED",
    "NEAR_WORDS",
    "TWO_EDITS",
    "Speller",
    "Typos",
    "correct_typos",
    "is_typo_target",
    "max_edits",
]

#: The shortest word corrected, and the length from which two edits are allowed.
MIN_TYPED = 5
TWO_EDITS = 9
#: The shortest word a typo may stand for (one letter fewer than the shortest corrected).
MIN_TARGET = MIN_TYPED - 1
#: The most words one typo stands for.
NEAR_WORDS = 5


def is_typo_target(word: str) -> bool:
    """Whether a folded word of the index is one a typo may stand for:
    letters a-z only, :data:`MIN_TARGET` of them or more."""
    return len(word) >= MIN_TARGET and word.isascii() and word.isalpha()


def max_edits(word: str) -> int:
    """How many edits a typed word may be from what it meant (0: not corrected)."""
    if len(word) < MIN_TYPED:
        return 0
    return 1 if len(word) < TWO_EDITS else 2


@dataclass
class Speller:
    """The words a typo may stand for (folded word -> document frequency)."""

    words: Mapping[str, int]
    _choices: list[str] = field(default_factory=list, init=False, repr=False)

    def near(self, word: str) -> list[str]:
        """Up to :data:`NEAR_WORDS` words within :func:`max_edits` of ``word``
        (folded), the nearest first, then the most frequent."""
        edits = max_edits(word)
        if not edits or not self.words:
            return []
        from rapidfuzz import process  # imported only when a typo is looked up
        from rapidfuzz.distance import OSA

        if not self._choices:
            self._choices = list(self.words)
        found = process.extract(word, self._choices, scorer=OSA.distance, score_cutoff=edits, limit=None)
        ranked = sorted(found, key=lambda hit: (hit[1], -self.words[hit[0]], hit[0]))
        return [hit[0] for hit in ranked[:NEAR_WORDS]]


@dataclass(frozen=True)
class Typos:
    """A query with its typos widened (each to the words it may stand for,
    OR-ed) and the query with each typo replaced by its nearest word."""

    widened: str
    suggestion: str


def correct_typos(query: str, holds: Callable[[str], bool], near: Callable[[str], list[str]]) -> Typos | None:
    """The typos of ``query``: its words (not excluded ones, not phrases, not
    ``source:`` or ``date:`` values) of :data:`MIN_TYPED` letters or more, of
    letters only, that the index does not hold (``holds``), and that ``near``
    finds words for; None if there is none."""
    found: dict[str, list[str]] = {}

    def typo(run: str, negated: bool) -> list[str] | None:
        folded = fold(run).lower()
        if negated or not (folded.isascii() and folded.isalpha()) or not max_edits(folded):
            return None
        if run not in found:
            found[run] = [] if holds(run) else near(folded)
        return found[run] or None

    def widened(run: str, negated: bool) -> str | None:
        words = typo(run, negated)
        if words is None:
            return None
        return words[0] if len(words) == 1 else "(" + " OR ".join(words) + ")"

    def nearest(run: str, negated: bool) -> str | None:
        words = typo(run, negated)
        return words[0] if words else None

    wide = rewrite_words(query, widened)
    if wide is None:
        return None
    return Typos(wide, rewrite_words(query, nearest) or query)
