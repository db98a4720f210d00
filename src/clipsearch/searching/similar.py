"""What "similar" asks for: a clipping's most distinctive words and
syllables, weighted by zone and rarity (:func:`key_terms`), which
:meth:`clipsearch.search.Index.similar` searches as one OR query."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from clipsearch.schema import TEXT_FIELD, WORDS_FIELD, stored_body
from clipsearch.text.zones import ZONE_BOOSTS, analyse_syllables, analyse_words, join_zones

__all__ = ["SIMILAR_SYLLABLES", "SIMILAR_WORDS", "Frequencies", "key_terms"]

#: How many of a clipping's words and syllables make its "similar" query.
SIMILAR_WORDS, SIMILAR_SYLLABLES = 12, 8


#: ``frequencies(field, terms)``: how many clippings hold each of ``terms`` in ``field``.
Frequencies = Callable[[str, Sequence[str]], Sequence[int]]


def key_terms(fields: dict[str, Any], total: int, frequencies: Frequencies) -> list[tuple[str, str, float]]:
    """``(field, term, weight)``: the clipping's pyvi words and syllables with
    the highest zone-weighted frequency x idf, among those in other clippings
    too but not in all (of ``total``)."""
    value = join_zones(fields.get("title", ""), fields.get("lead", ""), stored_body(fields))
    total = max(1, total)
    chosen: list[tuple[str, str, float]] = []
    counts: dict[str, defaultdict[str, float]] = {WORDS_FIELD: defaultdict(float), TEXT_FIELD: defaultdict(float)}
    for zone, word, _start, _end in analyse_words(value):
        counts[WORDS_FIELD][word] += ZONE_BOOSTS[zone]
    for zone, _pos, folded, _exact, _start, _end in analyse_syllables(value):
        if folded.isalpha():
            counts[TEXT_FIELD][folded] += ZONE_BOOSTS[zone]
    for field_name, keep in ((WORDS_FIELD, SIMILAR_WORDS), (TEXT_FIELD, SIMILAR_SYLLABLES)):
        scored = []
        terms = list(counts[field_name])
        for term, df in zip(terms, frequencies(field_name, terms), strict=True):
            tf = counts[field_name][term]
            if 2 <= df < total:
                scored.append((tf * math.log(total / df), term))
        scored.sort(key=lambda st: (-st[0], st[1]))
        top = scored[:keep]
        if top:
            high = top[0][0]
            chosen += [(field_name, term, round(weight / high, 4)) for weight, term in top]
    return chosen
