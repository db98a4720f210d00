"""Whoosh analyzers for Vietnamese, built from :mod:`clipsearch.text` and
:mod:`clipsearch.segmenter`.

Two analyzers, each ``Tokenizer | Filter`` as Whoosh composes them:

* :func:`syllable_analyzer`: every syllable, lowercase and normalised, with
  its position; :class:`FoldingFilter` adds the folded form (no diacritics) at
  the SAME position when it differs. One field then answers exact, folded and
  mixed phrase queries, whatever pyvi did with the text.
* :func:`word_analyzer`: the multi-syllable words pyvi finds (``văn_phòng``),
  exact and folded, for the score bonus of whole-word matches.

Both are picklable and carry no model: Whoosh pickles the schema into the
index, and the segmenter is loaded lazily, once per process, on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from whoosh.analysis import Composable, Filter, Token, Tokenizer

from .text import fold, normalize, syllable_form, syllables

__all__ = [
    "SyllableTokenizer",
    "WordTokenizer",
    "FoldingFilter",
    "syllable_analyzer",
    "word_analyzer",
    "paragraphs",
]


def paragraphs(text: str) -> list[tuple[int, str]]:
    """The non-blank lines of ``text`` with their offsets. Each is segmented
    on its own: pyvi's output depends on context only within a sentence, and
    long inputs cost memory."""
    result = []
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            result.append((offset, line))
        offset += len(line) + 1
    return result


class SyllableTokenizer(Tokenizer):
    """Yields each syllable of the normalised text, lowercase, with its
    position and its character span in the ORIGINAL text."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for syl in syllables(normalize(value)):
            token.text = syl.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[syl.start : syl.end]
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + syl.start
                token.endchar = start_char + syl.end
            pos += 1
            yield token


class WordTokenizer(Tokenizer):
    """Yields the multi-syllable words pyvi's model finds, lowercase and
    joined by ``_`` (``văn_phòng``). Single syllables are left to the
    syllable field."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        from .segmenter import get_segmenter

        segmenter = get_segmenter()
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for offset, paragraph in paragraphs(value):
            norm = normalize(paragraph)
            for seg in segmenter.segment(norm.text):
                if len(seg.syllables) < 2:
                    continue
                token.text = "_".join(syllable_form(s) for s in seg.syllables)
                token.boost = 1.0
                token.stopped = False
                if positions:
                    token.pos = pos
                if chars:
                    start, end = norm.span(seg.start, seg.end)
                    token.startchar = start_char + offset + start
                    token.endchar = start_char + offset + end
                pos += 1
                yield token


class FoldingFilter(Filter):
    """After each token, yields its folded form (``văn`` → ``van``,
    ``đảng`` → ``dang``) at the same position when it differs."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            text = t.text
            yield t
            folded = fold(text)
            if folded != text:
                t.text = folded
                yield t


def syllable_analyzer() -> Composable:
    """Analyzer of the syllable fields: syllables, exact and folded."""
    return SyllableTokenizer() | FoldingFilter()


def word_analyzer() -> Composable:
    """Analyzer of the word fields: pyvi words, exact and folded."""
    return WordTokenizer() | FoldingFilter()
