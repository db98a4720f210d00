"""Highlights and snippets: where a query's words are in a clipping's text,
and the window of its body (or lead) that shows the most of them.

:func:`highlight_terms` takes the syllables to look for from the parsed
query (:mod:`clipsearch.searching.syntax`): those of its positive words and
phrases. They are found in the stored text with one regular expression over
its lowercase folded form (the stored text is clean NFC, so folding keeps
every offset), and the window with the most distinct matched terms becomes
the snippet. A term typed with diacritics highlights only its exact form
where the text has it, else its folded variants (which is why the clipping
matched). Highlight spans are ``(start, end)`` character offsets into the
snippet (:func:`make_snippet`, :func:`best_snippet`) or into the whole text
(:func:`highlight_spans`); adjacent matches merge into one span, so ``văn
phòng cấp ủy`` is one highlight. A syllable the user typed only inside
quotes highlights only where the quoted phrase occurs (``"có thể"`` does not
mark every ``có``), so the snippet shows the phrase.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

from clipsearch.searching.syntax import And, Node, Or, Phrase, Terms
from clipsearch.text.fold import fold, fold_syllable, has_diacritics, lower_and_folded
from clipsearch.text.normalize import is_clean, normalize, normalize_tone_placement
from clipsearch.text.syllables import (
    linked,
    sequence_starts,
    syllable_forms,
    syllable_pattern,
    syllables,
    whole_syllables,
)

__all__ = [
    "HighlightTerms",
    "Snippet",
    "best_snippet",
    "find_matches",
    "highlight_spans",
    "highlight_terms",
    "make_snippet",
]

SNIPPET_CHARS = 220
_CONTEXT_BEFORE = 50
#: White space that :func:`_collapse` changes: runs, and single characters
#: other than a space (a lone space is left as it is: most runs are one).
_SPACE_RE = re.compile(r"\s{2,}|[^\S ]")


@dataclass(frozen=True)
class HighlightTerms:
    """The query's positive syllables: the folded form of every one, and
    those typed with diacritics (in normalised tone placement)."""

    exact: frozenset[str]
    folded: frozenset[str]
    #: Quoted phrases, as folded syllables, and the folded syllables that
    #: are in a phrase and nowhere else in the query (highlighted only in one).
    phrases: frozenset[tuple[str, ...]] = frozenset()
    phrase_only: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.folded)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Any folded term (see :func:`clipsearch.text.syllables.syllable_pattern`)."""
        return syllable_pattern(self.folded)


@dataclass(frozen=True)
class Snippet:
    """A window of a text, its white space collapsed, and its highlight spans."""

    text: str
    highlights: tuple[tuple[int, int], ...]


def _matches_slow(text: str, terms: HighlightTerms) -> list[tuple[int, int, str, bool]]:
    """Syllable by syllable, for text whose normalisation moves offsets."""
    found = []
    for syl in syllables(normalize(text)):
        folded = fold(syl.text)
        if folded in terms.folded:
            found.append((syl.start, syl.end, folded, syl.text in terms.exact))
    return found


def find_matches(text: str, terms: HighlightTerms) -> list[tuple[int, int]]:
    """Spans of ``text`` (its own characters) that match the query's terms."""
    if not terms:
        return []
    # Clean text (all stored text is): folding and lowercasing keep offsets,
    # and only the matched syllables need one tone placement, not the text.
    lower, folded = lower_and_folded(text) if is_clean(text) else ("", "")
    if not lower or len(lower) != len(text) or len(folded) != len(text):
        found = _matches_slow(text, terms)
    else:
        exact = terms.exact
        found = [
            (
                m.start(),
                m.end(),
                m.group(),
                bool(exact) and normalize_tone_placement(lower[m.start() : m.end()]) in exact,
            )
            for m in whole_syllables(terms.pattern, folded)
        ]
    if terms.phrase_only:
        found = _in_phrases(text, found, terms)
    exact_seen = {f for _s, _e, f, is_exact in found if is_exact}
    return [(s, e) for s, e, f, is_exact in found if is_exact or f not in exact_seen]


def _in_phrases(
    text: str, found: list[tuple[int, int, str, bool]], terms: HighlightTerms
) -> list[tuple[int, int, str, bool]]:
    """``found`` without the matches of phrase-only syllables that are not
    part of an occurrence of a quoted phrase: the phrase's syllables matched
    one after the other, with no other syllable between them."""
    links = linked(text, [(start, end) for start, end, _f, _e in found])
    syllables_found = [f for _s, _e, f, _x in found]
    keep = [f not in terms.phrase_only for f in syllables_found]
    for phrase in terms.phrases:
        for k in sequence_starts(syllables_found, links, phrase):
            keep[k : k + len(phrase)] = [True] * len(phrase)
    return [m for m, kept in zip(found, keep, strict=True) if kept]


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def highlight_spans(text: str, terms: HighlightTerms) -> list[tuple[int, int]]:
    """Merged spans of ``text`` that match the query's terms."""
    return _merge(find_matches(text, terms), text)


def _collapse(text: str, spans: list[tuple[int, int]]) -> Snippet:
    """Collapse runs of white space (paragraph breaks too) to one space,
    moving the spans along."""
    runs = [(m.start(), m.end()) for m in _SPACE_RE.finditer(text)]
    if not runs:
        return Snippet(text, tuple(spans))
    starts = [start for start, _end in runs]
    removed = [0]  # characters removed before each run
    for start, end in runs:
        removed.append(removed[-1] + end - start - 1)

    def moved(pos: int) -> int:
        k = bisect_right(starts, pos) - 1
        if k < 0:
            return pos
        start, end = runs[k]
        if pos < end:  # inside the run: at its one space
            return start - removed[k]
        return pos - removed[k + 1]

    return Snippet(_SPACE_RE.sub(" ", text), tuple((moved(s), moved(e)) for s, e in spans))


def make_snippet(text: str, terms: HighlightTerms, *, size: int = SNIPPET_CHARS) -> Snippet:
    """The best window of about ``size`` characters of ``text`` with the
    query's terms highlighted; ``…`` marks cut ends."""
    if not text:
        return Snippet("", ())
    matches = find_matches(text, terms)
    best_start = 0
    if matches:
        folded_at = {s: fold_syllable(text[s:e].lower()) for s, e in matches}
        best_key: tuple[int, int] = (-1, 0)
        j = 0
        for i, (start, _end) in enumerate(matches):
            limit = start + size - _CONTEXT_BEFORE
            j = max(j, i)
            while j + 1 < len(matches) and matches[j + 1][1] <= limit:
                j += 1
            window = matches[i : j + 1]
            key = (len({folded_at[s] for s, _e in window}), len(window))
            if key > best_key:
                best_key, best_start = key, start
    start = 0
    if best_start > _CONTEXT_BEFORE:
        # Begin at the sentence or the word about _CONTEXT_BEFORE characters back.
        target = best_start - _CONTEXT_BEFORE
        sentence = text.rfind(". ", target - 40, best_start)
        if sentence != -1 and sentence + 2 <= best_start:
            start = sentence + 2
        else:
            space = text.find(" ", target, best_start)
            start = space + 1 if space != -1 else best_start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start + size // 2, end + 1)
        end = space if space != -1 else end
    spans = [(s - start, e - start) for s, e in matches if s >= start and e <= end]
    piece = text[start:end]
    snippet = _collapse(piece, _merge(spans, piece))
    body = snippet.text.strip()
    lead_trim = len(snippet.text) - len(snippet.text.lstrip())
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - lead_trim
    return Snippet(prefix + body + suffix, tuple((s + shift, e + shift) for s, e in snippet.highlights))


def highlight_terms(node: Node) -> HighlightTerms:
    """The syllables to highlight: those of every positive term; those of a
    quoted phrase (and of no unquoted term) only where the phrase occurs."""
    exact: set[str] = set()
    folded: set[str] = set()
    loose: set[str] = set()
    phrases: set[tuple[str, ...]] = set()

    def walk(n: Node) -> None:
        if isinstance(n, (Terms, Phrase)):
            sylls = syllable_forms(n.text)
            folds = tuple(fold(s) for s in sylls)
            folded.update(folds)
            exact.update(s for s in sylls if has_diacritics(s))
            if isinstance(n, Phrase) and len(sylls) > 1:
                phrases.add(folds)
            else:
                loose.update(folds)
        elif isinstance(n, (And, Or)):
            for c in n.children:
                walk(c)

    walk(node)
    in_phrases = {s for phrase in phrases for s in phrase}
    return HighlightTerms(frozenset(exact), frozenset(folded), frozenset(phrases), frozenset(in_phrases - loose))


def best_snippet(lead: str, body: str, terms: HighlightTerms) -> Snippet:
    """A hit's snippet: from the body (the lead when there is no body), or
    from the lead when only the lead has the query's terms."""
    first = make_snippet(body or lead, terms)
    if first.highlights or not body or not lead:
        return first
    second = make_snippet(lead, terms)
    return second if second.highlights else first
