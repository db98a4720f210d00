"""Vietnamese text normalisation, tone placement and folding.

Everything here is pure Python and cheap to import: no pyvi, no Whoosh.

* :func:`normalize` cleans text for analysis (NFC, no zero-width or control
  characters, one tone-placement convention) and keeps a map from every
  character of the result back to the ORIGINAL text, so highlights land on the
  characters the user's file really has.
* :func:`fold` removes diacritics (``đ`` → ``d``) for diacritic-insensitive
  matching; :func:`has_diacritics` tells whether a term was typed with them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from ._foldtable import FOLD_TABLE

__all__ = [
    "Normalized",
    "clean",
    "normalize",
    "normalize_tone_placement",
    "fold",
    "fold_long",
    "fold_syllable",
    "has_diacritics",
    "syllables",
    "Syllable",
    "syllable_pattern",
    "whole_syllables",
    "linked",
    "sequence_starts",
]

# Characters that carry no text: zero-width spaces and joiners, word joiner,
# BOM, soft hyphen, Mongolian vowel separator, bidi marks.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
# Controls that separate words (form feed from PDFs, vertical tab, the
# information separators, NEL) become spaces; the other C0/C1 controls go.
_SPACE_CONTROLS = "\f\v\x1c\x1d\x1e\x1f\x85"
_TO_SPACE = str.maketrans({c: " " for c in _SPACE_CONTROLS + "_"})
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
    return _NEW_STYLE_RE.sub(_move_tone, text)


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
    normalising keeps every offset and changes only tone placement, ``_`` and
    separator controls)? True of the text stored in the index."""
    return unicodedata.is_normalized("NFC", text) and not _DROP_RE.search(text)


def normalize(text: str) -> Normalized:
    """NFC, drop invisible and control characters and lone surrogates, turn
    ``_`` and word-separating controls into spaces (pyvi treats ``_`` as a word
    joiner) and use one tone placement. Returns the result with its offset map
    to ``text``."""
    if is_clean(text):
        return Normalized(normalize_tone_placement(text.translate(_TO_SPACE)), text)
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
    clean = normalize_tone_placement("".join(out).translate(_TO_SPACE))
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


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d" if ch == "đ" else "D"
    stripped = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    stripped = unicodedata.normalize("NFC", stripped)
    if stripped.isascii():
        return stripped
    # Latin letters with no decomposition (ø, ł, æ, ß): transliterate.
    from unidecode import unidecode

    translit = unidecode(stripped)
    return translit if translit.isascii() and translit.isalnum() else stripped


def build_fold_table() -> dict[int, str | None]:
    """The table :func:`fold` translates with, computed from Unicode's
    decompositions (and ``unidecode`` for letters without one)."""
    table: dict[int, str | None] = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        ch = chr(code)
        folded = _fold_char(ch)
        if folded != ch:
            table[code] = folded
    for code in range(0x300, 0x370):  # combining diacritical marks (NFD input)
        table[code] = None
    return table


def fold_table_source() -> str:
    """The source of :mod:`clipsearch._foldtable`: the table written out, so
    that importing clipsearch does not compute it (2-3 ms of a one-off
    query, with unidecode's tables). A test checks the file is up to date."""
    rows = "".join(
        f"    0x{code:04X}: {'None' if value is None else chr(34) + value + chr(34)},\n"
        for code, value in sorted(build_fold_table().items())
    )
    return (
        '"""The table of :func:`clipsearch.text.fold`, generated by\n'
        '``clipsearch.text.fold_table_source()``: do not edit."""\n\n'
        f"FOLD_TABLE: dict[int, str | None] = {{\n{rows}}}\n"
    )


def fold(text: str) -> str:
    """Remove Vietnamese (and other Latin) diacritics: ``Đảng`` → ``Dang``.

    Idempotent; letter case is kept."""
    return text.translate(FOLD_TABLE)


#: Texts shorter than this are folded by :func:`fold` even in :func:`fold_long`.
_LONG = 64
#: In :func:`_fold_codes`, a character that folds to none or to several.
_UNEVEN = 0xFFFFFFFF
_fold_codes_table: Any = None


def _fold_codes() -> Any:
    """What :func:`fold` makes of each code point of the Basic Multilingual
    Plane (numpy, uint32), :data:`_UNEVEN` where that is not one character."""
    global _fold_codes_table
    if _fold_codes_table is None:
        import numpy as np

        table = np.arange(0x10000, dtype=np.uint32)
        for code, value in FOLD_TABLE.items():
            table[code] = ord(value) if value is not None and len(value) == 1 else _UNEVEN
        _fold_codes_table = table
    return _fold_codes_table


def fold_long(text: str) -> str:
    """:func:`fold` of a long text (a clipping's body), the same string six
    times faster: ``str.translate`` with a dict looks each character up in
    Python objects, about 0.3 ms for a 2,500-character body, where one
    numpy gather over its code points takes 0.04 ms. Text with a character
    that folds to none or to several (a combining mark), or outside the
    Basic Multilingual Plane, goes through :func:`fold`."""
    if len(text) < _LONG:
        return fold(text)
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if int(codes.max()) < 0x10000:
        folded = _fold_codes()[codes]
        if not (folded == _UNEVEN).any():
            raw: bytes = folded.tobytes()
            return raw.decode("utf-32-le", "surrogatepass")
    return fold(text)


@lru_cache(maxsize=256)
def lower_and_folded(text: str) -> tuple[str, str]:
    """``text`` lowercased, and that folded. Kept for the most recent texts:
    a query's "did you mean" and its hits' snippets read the same clippings."""
    lower = text.lower()
    return lower, fold_long(lower)


def has_diacritics(text: str) -> bool:
    """True when folding changes ``text`` (it was typed with diacritics)."""
    return fold(text) != text


# ---------------------------------------------------------------------------
# Syllables: the unit of matching and highlighting.

# A number keeps its inner separators (1.000, 2,5); otherwise a syllable is a
# run of letters and digits. `TP.HCM` gives `tp`, `hcm`; `1/8/2014` gives 1, 8, 2014.
_SYLLABLE_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")


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


def syllables(norm: Normalized) -> list[Syllable]:
    """Split normalised text into syllables with spans in the original text."""
    form = syllable_form
    if norm.starts is None:
        return [Syllable(form(m.group()), m.start(), m.end()) for m in _SYLLABLE_RE.finditer(norm.text)]
    result = []
    for m in _SYLLABLE_RE.finditer(norm.text):
        start, end = norm.span(m.start(), m.end())
        result.append(Syllable(form(m.group()), start, end))
    return result


@lru_cache(maxsize=65536)
def fold_syllable(syllable: str) -> str:
    """:func:`fold`, cached for the few thousand syllables of a language."""
    return fold(syllable)


# ---------------------------------------------------------------------------
# Finding given syllables in folded text (snippets, "did you mean")

_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def syllable_pattern(folded: Iterable[str]) -> re.Pattern[str]:
    """Matches any of the ``folded`` syllables followed by no letter or
    digit. Whether one precedes it is checked by :func:`whole_syllables`:
    a lookbehind triples the scan time."""
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
