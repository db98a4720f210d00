"""Snippets and highlight spans.

The stored ORIGINAL text is split into syllables (cheap: no segmentation),
each syllable is compared with the query's terms, and the window with the
most distinct matched terms becomes the snippet. Highlight spans are
``(start, end)`` character offsets into the returned snippet; adjacent matched
syllables merge into one span, so ``văn phòng cấp ủy`` is one highlight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import Syllable, fold, normalize, syllables

__all__ = ["HighlightTerms", "Snippet", "make_snippet", "highlight_spans"]

SNIPPET_CHARS = 220
_CONTEXT_BEFORE = 50
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class HighlightTerms:
    """The query's positive syllables: those typed with diacritics (matched
    exactly where the text has them) and the folded form of every one."""

    exact: frozenset[str]
    folded: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.folded)


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]


def _matches(sylls: list[Syllable], terms: HighlightTerms) -> list[str | None]:
    """For each syllable, the folded query term it matches, or None.

    A term typed with diacritics highlights only its exact form when the text
    has that form, else its folded variants (which is why the text matched)."""
    folded_forms = [fold(s.text) for s in sylls]
    exact_present = {s.text for s in sylls if s.text in terms.exact}
    exact_folded = {fold(t) for t in exact_present}
    result: list[str | None] = []
    for syl, f in zip(sylls, folded_forms, strict=True):
        if f not in terms.folded or (f in exact_folded and syl.text not in exact_present):
            result.append(None)
        else:
            result.append(f)
    return result


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def highlight_spans(text: str, terms: HighlightTerms) -> list[tuple[int, int]]:
    """Spans of ``text`` (original characters) that match the query's terms."""
    sylls = syllables(normalize(text))
    matched = _matches(sylls, terms)
    return _merge([(s.start, s.end) for s, m in zip(sylls, matched, strict=True) if m is not None], text)


def _collapse(text: str, spans: list[tuple[int, int]]) -> Snippet:
    """Collapse runs of white space (paragraph breaks too) to one space,
    moving the spans along."""
    new_chars: list[str] = []
    index_map = [0] * (len(text) + 1)
    i = 0
    while i < len(text):
        index_map[i] = len(new_chars)
        if text[i].isspace():
            j = i
            while j < len(text) and text[j].isspace():
                index_map[j] = len(new_chars)
                j += 1
            new_chars.append(" ")
            i = j
        else:
            new_chars.append(text[i])
            i += 1
    index_map[len(text)] = len(new_chars)
    collapsed = "".join(new_chars)
    return Snippet(collapsed, tuple((index_map[s], index_map[e]) for s, e in spans))


def make_snippet(text: str, terms: HighlightTerms, *, size: int = SNIPPET_CHARS) -> Snippet:
    """The best window of about ``size`` characters of ``text`` with the
    query's terms highlighted; ``…`` marks cut ends."""
    if not text:
        return Snippet("", ())
    sylls = syllables(normalize(text))
    matched = _matches(sylls, terms) if terms else [None] * len(sylls)
    hits = [i for i, m in enumerate(matched) if m is not None]
    best_start = 0
    if hits:
        best_key: tuple[int, int] = (-1, 0)
        j = 0
        for a_idx, a in enumerate(hits):
            limit = sylls[a].start + size - _CONTEXT_BEFORE
            j = max(j, a_idx)
            while j + 1 < len(hits) and sylls[hits[j + 1]].end <= limit:
                j += 1
            window = hits[a_idx : j + 1]
            key = (len({matched[k] for k in window}), len(window))
            if key > best_key:
                best_key, best_start = key, sylls[a].start
    start = 0
    if best_start > _CONTEXT_BEFORE:
        # Begin at a syllable boundary about _CONTEXT_BEFORE characters back.
        target = best_start - _CONTEXT_BEFORE
        start = next((s.start for s in sylls if s.start >= target), best_start)
        sentence = text.rfind(". ", target - 40, best_start)
        if sentence != -1 and sentence + 2 <= best_start:
            start = sentence + 2
    end = min(len(text), start + size)
    if end < len(text):
        cut = max((s.end for s in sylls if start < s.end <= end), default=end)
        end = cut
    spans = [
        (s.start - start, s.end - start)
        for s, m in zip(sylls, matched, strict=True)
        if m is not None and s.start >= start and s.end <= end
    ]
    piece = text[start:end]
    snippet = _collapse(piece, _merge(spans, piece))
    body = snippet.text.strip()
    lead_trim = len(snippet.text) - len(snippet.text.lstrip())
    highlights = tuple((s - lead_trim, e - lead_trim) for s, e in snippet.highlights)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix)
    return Snippet(prefix + body + suffix, tuple((s + shift, e + shift) for s, e in highlights))
