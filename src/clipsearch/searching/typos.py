"""Typo tolerance, as Typesense and Meilisearch have it: a query word of
:data:`MIN_TYPED` letters or more that the index does not hold also matches
the words it holds one edit away (two from :data:`TWO_EDITS` letters): a
letter wrong, missing, added, or two swapped (optimal string alignment
distance, computed by rapidfuzz); a word one letter shorter, the words of
:data:`MIN_TYPED` letters it misses a letter of. The word as typed matches nothing, so
its alternatives are OR-ed in the parsed query (not in its text, so that no
operator or field is made or lost); "did you mean" proposes the query with
the nearest, most frequent word.

The words it looks in are the folded words of :data:`MIN_TARGET` letters or
more that the index holds, with their document frequencies, written at index
time (``spelling.json``, :mod:`clipsearch.writing.statistics`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from clipsearch.searching import syntax
from clipsearch.searching.correction import rewrite_words
from clipsearch.text.fold import fold, has_diacritics
from clipsearch.text.syllables import syllable_forms

__all__ = [
    "MIN_TARGET",
    "MIN_TYPED",
    "NEAR_WORDS",
    "TWO_EDITS",
    "MAX_TYPOS",
    "Speller",
    "Typos",
    "is_typo_target",
    "max_edits",
    "spelled_alike",
    "suggested",
    "widen_typos",
]

#: The shortest word corrected to any word one edit away, and the length
#: from which two edits are allowed (Meilisearch's). A word one letter shorter
#: is corrected only to the words of :data:`MIN_TYPED` letters it misses one
#: letter of (``khog``: ``khong``), never to words as short as itself
#: (``iran`` is no typo of ``tran``).
MIN_TYPED = 5
TWO_EDITS = 9
#: The shortest word a typo may stand for (one letter fewer than the shortest corrected).
MIN_TARGET = MIN_TYPED - 1
#: The most words one typo stands for, and the most typos looked up in one query.
NEAR_WORDS = 5
MAX_TYPOS = 8


def is_typo_target(word: str) -> bool:
    """Whether a folded word of the index is one a typo may stand for:
    letters a-z only, :data:`MIN_TARGET` of them or more."""
    return len(word) >= MIN_TARGET and word.isascii() and word.isalpha()


def max_edits(word: str) -> int:
    """How many edits a typed word may be from what it meant (0: not corrected)."""
    if len(word) < MIN_TYPED - 1:
        return 0
    return 1 if len(word) < TWO_EDITS else 2


@dataclass
class Speller:
    """The words a typo may stand for (folded word -> document frequency)."""

    words: Mapping[str, int]
    _choices: list[str] = field(default_factory=list, init=False, repr=False)
    _found: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)

    def near(self, word: str) -> list[str]:
        """Up to :data:`NEAR_WORDS` words within :func:`max_edits` of ``word``
        (folded), the nearest first, then the most frequent (the last 4,096
        answers kept)."""
        if word not in self._found:
            if len(self._found) >= 4096:
                self._found.clear()
            self._found[word] = self._near(word)
        return list(self._found[word])

    def _near(self, word: str) -> list[str]:
        edits = max_edits(word)
        if not edits or not self.words:
            return []
        from rapidfuzz import process  # imported only when a typo is looked up
        from rapidfuzz.distance import OSA

        if not self._choices:
            self._choices = list(self.words)
        found = process.extract(word, self._choices, scorer=OSA.distance, score_cutoff=edits, limit=None)
        if len(word) < MIN_TYPED:  # a letter dropped from a word long enough to be corrected
            found = [hit for hit in found if len(hit[0]) >= MIN_TYPED]
        ranked = sorted(found, key=lambda hit: (hit[1], -self.words[hit[0]], hit[0]))
        return [hit[0] for hit in ranked[:NEAR_WORDS]]


@dataclass(frozen=True)
class Typos:
    """A parsed query with its typos widened (each to the words it may stand
    for, OR-ed), and the nearest word of each typo (folded typo -> word)."""

    widened: syntax.Node
    nearest: dict[str, str]


def spelled_alike(typed: str, word: str, forms: Mapping[str, Mapping[str, int]]) -> bool:
    """Whether ``word`` (folded) may be what ``typed`` (a syllable typed with
    diacritics, normalised, lower case) meant: one of its written forms
    (``forms[word]``, or the word itself) is as near to what was typed, the
    diacritics counted as letters, as :func:`max_edits` allows. ``khôg`` may
    mean ``không``; ``dũng`` is a word of its own, not a typo of ``dương``."""
    from rapidfuzz.distance import OSA

    edits = max_edits(fold(typed))
    return any(OSA.distance(typed, form) <= edits for form in (word, *forms.get(word, {})))


def widen_typos(
    node: syntax.Node,
    holds: Callable[[str], bool],
    near: Callable[[str], list[str]],
    limit: int = MAX_TYPOS,
    alike: Callable[[str, str], bool] | None = None,
) -> Typos | None:
    """The typos of the parsed query ``node``: the syllables of its words (not
    of quoted phrases, excluded words or ``source:`` values) of
    :data:`MIN_TYPED` letters or more (folded, a-z), that the index does not
    hold (``holds``) and that ``near`` finds words for; at most ``limit``
    looked up. Each becomes an OR of its words, in the same field, AND-ed with
    the rest of its group of words, whose runs on either side of it stay
    apart (syllables the user did not type next to each other never become
    a word). A syllable typed with diacritics keeps only the words that
    ``alike(typed, word)`` (:func:`spelled_alike`). None if there is none."""
    looked: dict[str, list[str]] = {}
    nearest: dict[str, str] = {}

    def words_for(folded: str) -> list[str]:
        if folded not in looked:
            if len(looked) >= limit or holds(folded):
                return []
            looked[folded] = near(folded)
        return looked[folded]

    def widen(n: syntax.Node) -> syntax.Node:
        if isinstance(n, syntax.Terms) and n.field in (None, "title"):
            parts: list[syntax.Node] = []
            run: list[str] = []  # syllables typed next to each other, between typos: kept together
            widened = False
            for form in syllable_forms(n.text):
                folded = fold(form)
                words = words_for(folded) if folded.isascii() and folded.isalpha() and max_edits(folded) else []
                if alike is not None and has_diacritics(form):
                    words = [w for w in words if alike(form, w)]
                if words:
                    nearest.setdefault(folded, words[0])
                    if run:
                        parts.append(syntax.Terms(" ".join(run), n.field))
                        run = []
                    alternatives = tuple(syntax.Terms(w, n.field) for w in words)
                    parts.append(alternatives[0] if len(alternatives) == 1 else syntax.Or(alternatives))
                    widened = True
                else:
                    run.append(form)
            if not widened:
                return n
            if run:
                parts.append(syntax.Terms(" ".join(run), n.field))
            return parts[0] if len(parts) == 1 else syntax.And(tuple(parts))
        if isinstance(n, syntax.And):
            return syntax.And(tuple(widen(c) for c in n.children))
        if isinstance(n, syntax.Or):
            return syntax.Or(tuple(widen(c) for c in n.children))
        return n  # phrases, NOT (an excluded typo excludes nothing), *, dates

    widened = widen(node)
    return Typos(widened, nearest) if nearest else None


def suggested(query: str, nearest: dict[str, str]) -> str:
    """``query`` with each typo (a word that :func:`widen_typos` widened) written as its nearest word."""

    def replace(run: str, negated: bool) -> str | None:
        word = nearest.get(fold(run).lower()) if not negated else None
        if word is None:
            return None
        if len(run) > 1 and run.isupper():  # an abbreviation, a name in capitals
            return word.upper()
        return word.capitalize() if run[0].isupper() else word

    return rewrite_words(query, replace) or query
