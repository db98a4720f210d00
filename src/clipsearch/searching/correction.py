"""Rewriting a query's words (:func:`rewrite_words`), and queries typed with
the input method off: each word of a query that the
index does not hold as typed, but whose Telex or VNI keystrokes
(:mod:`clipsearch.text.keystrokes`) spell a syllable the index does hold, is
replaced by that syllable (``vawn phongf caaps uyr`` → ``văn phòng cấp uỷ``);
in such a query, also a word the index holds but far less often than the
syllable its keys spell (see :func:`decode_query`).

Only words are decoded: not quoted phrases (a quoted query is searched as
typed), not operators, and not the values of ``source:`` and ``date:``. A
word the index holds as typed (``messi``, ``trump``) is never decoded on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from clipsearch.searching.syntax import tokenize
from clipsearch.text.keystrokes import keystroke_syllables

__all__ = ["CONTEXT_RATIO", "MIN_KEYS", "decode_query", "rewrite_words"]

#: The shortest run of keys decoded: ``a4`` (A4 paper) or ``e5`` are not ``ã`` and ``ẹ``.
MIN_KEYS = 3
#: In a query with keystroke words, how many times more often than a word as
#: typed the index must hold what its keys spell for that word to be decoded too.
CONTEXT_RATIO = 50

_RUN_RE = re.compile(r"[^\W_]+")
_FIELD_PREFIX = re.compile(r"-*(title|source|date):", re.IGNORECASE)
#: Field prefixes whose values are not words of the text.
_NOT_TEXT = frozenset({"source", "date"})


def rewrite_words(query: str, replace: Callable[[str, bool], str | None]) -> str | None:
    """``query`` with each run of letters and digits of its words replaced by
    ``replace(run, negated)`` where that gives text (``negated``: the word is
    excluded, ``-word`` or after ``NOT``); None if none is replaced. Phrases,
    operators and the values of ``source:`` and ``date:`` are left as they are.
    The query is read in NFC (a decomposed letter is one letter of its word,
    not the end of a run), and the rewritten query is NFC."""
    query = unicodedata.normalize("NFC", query)
    pieces: list[str] = []
    at = 0
    skip_depth: int | None = None  # inside source:(...) or date:(...)
    depth = 0
    previous: str | None = None
    after_field: str | None = None
    for token in tokenize(query):
        if token.kind == "open":
            depth += 1
            if after_field in _NOT_TEXT and skip_depth is None:
                skip_depth = depth
        elif token.kind == "close":
            if skip_depth == depth:
                skip_depth = None
            depth = max(0, depth - 1)
        elif token.kind == "word" and skip_depth is None and after_field not in _NOT_TEXT:
            negated = token.text.startswith("-") or previous == "NOT"
            prefix = _FIELD_PREFIX.match(token.text)  # -source:x is one word token
            if prefix and prefix.group(1).lower() in _NOT_TEXT:
                continue
            for run in _RUN_RE.finditer(token.text, prefix.end() if prefix else 0):
                if token.text.startswith(":", run.end()):  # a field's name, or what looks like one
                    continue
                replaced = replace(run.group(), negated)
                if replaced is not None:
                    start = token.start + run.start()
                    pieces += [query[at:start], replaced]
                    at = token.start + run.end()
        after_field = token.text if token.kind == "field" else None
        previous = token.kind
    if not pieces:
        return None
    return unicodedata.normalize("NFC", "".join([*pieces, query[at:]]))


def decode_query(query: str, typed: Callable[[str], int], frequency: Callable[[str], int]) -> str | None:
    """``query`` with its keystroke words decoded, or None if no word is.

    ``typed(word)`` tells in how many clippings the index holds a word as
    typed (``co2`` is one word), ``frequency(syllable)`` in how many it holds
    an exact written syllable (where the keys may type two, the more
    frequent is taken). A word the index does not hold is decoded; once one
    is (the query is typed with the input method off), so is a word it holds
    :data:`CONTEXT_RATIO` times less often than what its keys spell (``ba2``
    in one clipping, ``bà`` in 12,775), but never on its own: ``khí thải SO2``
    keeps its SO2."""
    strict = rewrite_words(query, lambda run, _negated: _decoded(run, typed, frequency, 0))
    if strict is None:
        return None
    return rewrite_words(query, lambda run, _negated: _decoded(run, typed, frequency, CONTEXT_RATIO)) or strict


def _decoded(keys: str, typed: Callable[[str], int], frequency: Callable[[str], int], ratio: int) -> str | None:
    if len(keys) < MIN_KEYS or not keys.isascii():
        return None
    candidates = keystroke_syllables(keys)
    if not candidates:
        return None
    as_typed = typed(keys)
    if as_typed and not ratio:
        return None
    count, syllable = max(((frequency(s), s) for s in candidates), key=lambda pair: pair[0])
    if not count or count < ratio * as_typed:
        return None
    if keys.isupper() and len(keys) > 1:
        return syllable.upper()
    if keys[0].isupper():
        return syllable[0].upper() + syllable[1:]
    return syllable
