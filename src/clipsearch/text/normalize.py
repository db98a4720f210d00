"""Vietnamese text normalisation: NFC, invisible and control characters,
tone placement.

* :func:`normalize` cleans text for analysis (NFC, no zero-width or control
  characters, one tone-placement convention) and keeps a map from every
  character of the result back to the ORIGINAL text, so highlights land on the
  characters the user's file really has.
* :func:`clean` makes the text that is stored and shown: NFC, without
  invisible characters, the author's tone placement kept.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "Normalized",
    "clean",
    "is_clean",
    "normalize",
    "normalize_tone_placement",
]

# Characters that carry no text: zero-width spaces and joiners, word joiner,
# BOM, soft hyphen, Mongolian vowel separator, bidi marks.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
# Controls that separate words (form feed from PDFs, vertical tab, the
# information separators, NEL) become spaces; the other C0/C1 controls go.
_SPACE_CONTROLS = "\f\v\x1c\x1d\x1e\x1f\x85"
# Letters that look like Đ/đ and that text converted from legacy Vietnamese
# encodings writes for it: eth (Ð ð) and African D (Ɖ ɖ).
_D_STROKE_LOOK_ALIKES = {"Ð": "Đ", "ð": "đ", "Ɖ": "Đ", "ɖ": "đ"}
_ANALYSIS_TABLE = str.maketrans({**{c: " " for c in _SPACE_CONTROLS + "_"}, **_D_STROKE_LOOK_ALIKES})
# Finds a character the table changes: scanning for one is much faster than
# ``str.translate``'s lookup of every character, and most text has none.
_TRANSLATED_RE = re.compile("[" + re.escape("".join(map(chr, _ANALYSIS_TABLE))) + "]")
_CONTROLS = "".join(
    chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if chr(c) not in "\t\n\r" + _SPACE_CONTROLS
)
_DROP_RE = re.compile("[" + re.escape(_INVISIBLE + _CONTROLS) + "\ud800-\udfff]")
_DROP_SET = frozenset(_INVISIBLE + _CONTROLS)

# Tone marks as combining characters (grave, acute, tilde, hook above, dot below).
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"

# New-style placement marks the first vowel of a final oa/oe/uy (hòa, khỏe,
# thủy); the old style, which pyvi's dictionary uses, marks the second (hoà,
# khoẻ, thuỷ). After q the u belongs to the consonant (quý): no ambiguity.
_O_TONED = "òóỏõọÒÓỎÕỌ"
_U_TONED = "ùúủũụÙÚỦŨỤ"
_NEW_STYLE_RE = re.compile("([" + _O_TONED + "])([aAeE])(?!\\w)|(?<![qQ])([" + _U_TONED + "])([yY])(?!\\w)")
# What every match of _NEW_STYLE_RE holds; one character class first, which
# the regex engine scans for quickly (the alternation above it tries at
# every position). Most paragraphs have none.
_NEW_STYLE_HINT_RE = re.compile("[" + _O_TONED + _U_TONED + "][aAeEyY]")


def _move_tone(match: re.Match[str]) -> str:
    first = match.group(1) or match.group(3)
    second = match.group(2) or match.group(4)
    decomposed = unicodedata.normalize("NFD", first)
    tone = "".join(c for c in decomposed if c in _TONE_MARKS)
    base = "".join(c for c in decomposed if c not in _TONE_MARKS)
    return unicodedata.normalize("NFC", base) + unicodedata.normalize("NFC", second + tone)


def normalize_tone_placement(text: str) -> str:
    """Rewrite new-style tone placement (``hòa``, ``thủy``) to the old style
    (``hoà``, ``thuỷ``). The length of the text never changes. Expects NFC."""
    if not _NEW_STYLE_HINT_RE.search(text):
        return text
    return _NEW_STYLE_RE.sub(_move_tone, text)


def _for_analysis(text: str) -> str:
    """``text`` translated by the analysis table (``_`` and separator
    controls to spaces, look-alikes of ``Đ`` to ``Đ``)."""
    return text.translate(_ANALYSIS_TABLE) if _TRANSLATED_RE.search(text) else text


@dataclass(frozen=True)
class Normalized:
    """Normalised text with a map back to the original.

    ``starts[i]`` and ``ends[i]`` are the original offsets of character ``i``
    of :attr:`text`; both are ``None`` when the map is the identity.
    """

    text: str
    original: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map the span ``[start, end)`` of :attr:`text` to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def _joins_cluster(ch: str) -> bool:
    """Does ``ch`` compose with the character before it (an accent, or a
    Hangul vowel or final consonant jamo)?"""
    return bool(unicodedata.combining(ch)) or "\u1160" <= ch <= "\u11ff"


def is_clean(text: str) -> bool:
    """Is ``text`` NFC with nothing :func:`normalize` drops (so that
    normalising keeps every offset and changes only tone placement, ``_``,
    look-alikes of ``Đ`` and separator controls)? True of the text stored in the index."""
    return unicodedata.is_normalized("NFC", text) and not _DROP_RE.search(text)


@lru_cache(maxsize=256)
def normalize(text: str) -> Normalized:
    """NFC, drop invisible and control characters and lone surrogates, turn
    ``_`` and word-separating controls into spaces (pyvi treats ``_`` as a word
    joiner), write the look-alikes of ``Đ`` (``Ð``, ``Ɖ``) as ``Đ`` and use
    one tone placement. Returns the result with its offset map
    to ``text`` (the last results kept: a paragraph is normalised for its
    syllables and again for its words)."""
    if is_clean(text):
        return Normalized(normalize_tone_placement(_for_analysis(text)), text)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cluster_start = -1
    cluster: list[str] = []

    def flush(end: int) -> None:
        if not cluster:
            return
        composed = unicodedata.normalize("NFC", "".join(cluster))
        out.append(composed)
        starts.extend([cluster_start] * len(composed))
        ends.extend([end] * len(composed))
        cluster.clear()

    last_kept_end = 0
    for i, ch in enumerate(text):
        if ch in _DROP_SET or "\ud800" <= ch <= "\udfff":
            continue
        if cluster and _joins_cluster(ch):
            cluster.append(ch)
            last_kept_end = i + 1
            continue
        flush(last_kept_end)
        cluster_start = i
        cluster.append(ch)
        last_kept_end = i + 1
    flush(last_kept_end)
    clean = normalize_tone_placement(_for_analysis("".join(out)))
    return Normalized(clean, text, tuple(starts), tuple(ends))


_CLEAN_TABLE = str.maketrans({c: " " for c in _SPACE_CONTROLS})


def clean(text: str) -> str:
    """The text as it should be shown: NFC, without invisible or control
    characters or lone surrogates. Unlike :func:`normalize`, it keeps the
    author's tone placement and underscores."""
    if unicodedata.is_normalized("NFC", text) and not _DROP_RE.search(text):
        return text.translate(_CLEAN_TABLE)
    kept = _DROP_RE.sub("", text.translate(_CLEAN_TABLE))
    return unicodedata.normalize("NFC", kept)
