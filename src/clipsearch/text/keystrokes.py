"""Vietnamese typed with the input method off: the keystrokes of Telex
(``vawn phongf caaps uyr``) and VNI (``va8n pho2ng ca61p u3y``) decoded to
the syllables they stand for (``văn phòng cấp uỷ``).

Telex: ``aa`` ``ee`` ``oo`` → â ê ô; ``aw`` → ă; ``ow`` ``uw`` (and ``uow``)
→ ơ ư (ươ); ``w`` alone → ư; ``dd`` → đ; tones ``s f r x j`` (sắc, huyền,
hỏi, ngã, nặng), typed anywhere after the first vowel (``nguoiwf``).
VNI: ``6`` → â ê ô; ``7`` → ơ ư; ``8`` → ă; ``9`` → đ; tones ``1``-``5``.

:func:`decode_keystrokes` gives the syllable, in the index's form (NFC,
lowercase, old-style tone placement), or None when the keys do not spell one
Vietnamese syllable (two tone keys, a modifier with nothing to modify, no
vowel, a consonant cluster Vietnamese does not have): a decoded form is a
candidate only; whether the index holds it is for the caller to ask.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from clipsearch.text.normalize import normalize_tone_placement

__all__ = ["decode_keystrokes", "keystroke_syllables"]

_TELEX_TONES = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
_VNI_TONES = {"1": "\u0301", "2": "\u0300", "3": "\u0309", "4": "\u0303", "5": "\u0323"}
_CIRCUMFLEX = {"a": "â", "e": "ê", "o": "ô"}
_HORN = {"o": "ơ", "u": "ư"}
_BREVE = {"a": "ă"}
_MODIFIED = frozenset("ăâêôơư")
_VOWELS = frozenset("aeiouy") | _MODIFIED
_ONSETS = frozenset([*"b c ch d đ g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x".split(), ""])
_CODAS = frozenset([*"c ch m n ng nh p t".split(), ""])


def decode_keystrokes(token: str) -> str | None:
    """The syllable that the Telex or VNI keys ``token`` type (the likelier,
    where the keys allow two), or None (see the module's doc). A token
    without any such key is not decoded (None)."""
    found = keystroke_syllables(token)
    return found[0] if found else None


@lru_cache(maxsize=4096)
def keystroke_syllables(token: str) -> tuple[str, ...]:
    """The syllables the Telex or VNI keys ``token`` may type, the likelier
    first: ``uo`` with a horn key is ``ươ`` (người) and also ``uơ`` (thuở,
    quơ); none for keys that spell no syllable."""
    letters = _letters(token)
    if letters is None:
        return ()
    base, tone = letters
    found = [_syllable(base.replace("ưo", "ươ"), tone)]  # "ưo" is no Vietnamese vowel group: ươ
    if "ươ" in base or "ưo" in base:
        found.append(_syllable(base.replace("ươ", "uơ").replace("ưo", "uơ"), tone))
    return tuple(dict.fromkeys(s for s in found if s is not None))


def _letters(token: str) -> tuple[str, str | None] | None:
    """The letters the keys type, with their marks, and the tone mark; None if they are not keys of one syllable."""
    low = token.lower()
    if not low.isascii() or not low.isalnum() or not low[0].isalpha():
        return None
    letters: list[str] = []
    tone: str | None = None
    keys = 0
    for ch in low:
        if ch in _VNI_TONES or (ch in _TELEX_TONES and _has_vowel(letters)):
            if tone is not None or not _has_vowel(letters):
                return None  # two tones, or a tone before any vowel
            tone = _VNI_TONES.get(ch) or _TELEX_TONES[ch]
            keys += 1
        elif ch in "w7":
            if not _modify(letters, _HORN, also_breve=ch == "w"):
                if ch == "7" or _has_vowel(letters):
                    return None
                letters.append("ư")  # Telex: w alone is ư
            keys += 1
        elif ch == "8":
            if not _modify(letters, _BREVE):
                return None
            keys += 1
        elif ch == "6":
            if not _modify(letters, _CIRCUMFLEX):
                return None
            keys += 1
        elif ch == "9" or (ch == "d" and letters == ["d"]):
            if letters != ["d"]:
                return None
            letters[0] = "đ"
            keys += 1
        elif ch in _CIRCUMFLEX and letters and letters[-1] == ch:
            letters[-1] = _CIRCUMFLEX[ch]
            keys += 1
        elif ch.isdigit():
            return None
        else:
            letters.append(ch)
    if not keys:
        return None
    return "".join(letters), tone


def _has_vowel(letters: list[str]) -> bool:
    return any(ch in _VOWELS for ch in letters)


def _modify(letters: list[str], marks: dict[str, str], *, also_breve: bool = False) -> bool:
    """Put the mark on the last vowel that takes it (``uo`` both, for the horn); whether one did."""
    table = {**marks, **(_BREVE if also_breve else {})}
    for i in range(len(letters) - 1, -1, -1):
        ch = letters[i]
        if ch in table:
            letters[i] = table[ch]
            if marks is _HORN and ch == "o" and i > 0 and letters[i - 1] == "u":
                letters[i - 1] = "ư"  # uow → ươ
            return True
    return False


def _split(base: str) -> tuple[str, str, str] | None:
    """Onset, vowels and coda of ``base``; None if it is not one syllable's shape."""
    i = 0
    while i < len(base) and base[i] not in _VOWELS:
        i += 1
    onset, rest = base[:i], base[i:]
    if onset in ("q", "g") and rest[:1] in ("u", "i") and len(rest) > 1 and rest[1] in _VOWELS:
        onset, rest = onset + rest[0], rest[1:]  # qu-, gi- followed by a vowel
    j = 0
    while j < len(rest) and rest[j] in _VOWELS:
        j += 1
    vowels, coda = rest[:j], rest[j:]
    if onset not in _ONSETS or coda not in _CODAS or not 1 <= len(vowels) <= 3:
        return None
    return onset, vowels, coda


def _syllable(base: str, tone: str | None) -> str | None:
    parts = _split(base)
    if parts is None:
        return None
    onset, vowels, coda = parts
    if tone is not None:
        at = _tone_position(vowels, coda)
        vowels = vowels[: at + 1] + tone + vowels[at + 1 :]
    return normalize_tone_placement(unicodedata.normalize("NFC", onset + vowels + coda))


def _tone_position(vowels: str, coda: str) -> int:
    """Where the tone goes (modern placement; :func:`normalize_tone_placement` makes it the index's)."""
    marked = [i for i, ch in enumerate(vowels) if ch in _MODIFIED]
    if marked:
        return marked[-1]  # ươ: on ơ
    if coda or len(vowels) == 3:
        return len(vowels) - 1 if coda else 1
    return 0
