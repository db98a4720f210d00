"""Compact posting formats: positions as varints, weights without values,
presence only.

Whoosh's own ``Positions`` format pickles every posting's list of position
deltas (about 10 bytes of pickle framing per posting, plus 2-3 per position).
:class:`VarintPositions` stores the count and the deltas as LEB128 varints
(:mod:`clipsearch.codec.varints`): 1 byte per position in the common case.
Same interface, so Whoosh's phrase queries and scorers work unchanged. It is
pickled into the index's schema, so it lives in an importable module and
holds no state.

All three read an analyzer's ``weighted(value)`` rows where it has them
(clipsearch's tokenizers: ``(text, position, boost)`` tuples) instead of
Whoosh's stream of ``Token`` objects, which costs attribute writes per token.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import sub
from typing import Any

from whoosh.formats import Existence, Format, Frequency, tokens

from clipsearch.codec.varints import decode_varints, encode_varints, read_varint

__all__ = ["IntFrequency", "Presence", "VarintPositions"]

#: (text, position, boost) of one token.
Weighted = tuple[str, int, float]


def weighted_tokens(value: Any, analyzer: Any, kwargs: dict[str, Any]) -> Iterable[Weighted]:
    """``(text, position, boost)`` of each token of ``value``: the analyzer's
    own ``weighted`` rows if it has them, else from Whoosh's token stream."""
    weighted = getattr(analyzer, "weighted", None)
    if weighted is not None and isinstance(value, str) and not kwargs.get("start_pos"):
        rows: Iterable[Weighted] = weighted(value)
        return rows
    kwargs = {**kwargs, "positions": True, "boosts": True}
    return ((t.text, t.pos, t.boost) for t in tokens(value, analyzer, kwargs))


def _compact(weight: float) -> float:
    """A whole-number weight as an int: Whoosh pickles each block's weights,
    and pickle writes a small int in 2 bytes but every float in 9."""
    return int(weight) if weight.is_integer() else weight


class IntFrequency(Frequency):
    """Whoosh's ``Frequency`` format with only the (zone-weighted) weight of
    each posting: whole-number weights as ints, and no 4-byte value repeating
    the frequency, which scoring never reads (it reads the weight)."""

    posting_size = 0

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        field_boost = self.field_boost
        freqs: dict[str, int] = {}
        weights: dict[str, float] = {}
        for text, _pos, boost in weighted_tokens(value, analyzer, kwargs):
            if text in freqs:
                freqs[text] += 1
                weights[text] += boost
            else:
                freqs[text] = 1
                weights[text] = boost
        return [(word, freq, _compact(weights[word] * field_boost), b"") for word, freq in freqs.items()]

    def decode_frequency(self, valuestring: bytes) -> int:
        return 1

    def decode_weight(self, valuestring: bytes) -> float:
        return float(self.field_boost)

    def combine(self, vs: Iterable[bytes]) -> bytes:
        return b""


class VarintPositions(Format):
    """Frequency, weight and positions, varint-encoded: ``count, delta...``."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        field_boost = self.field_boost
        positions: dict[str, list[int]] = {}
        weights: dict[str, float] = {}
        for text, pos, boost in weighted_tokens(value, analyzer, kwargs):
            found = positions.get(text)
            if found is None:
                positions[text] = [pos]
                weights[text] = boost
            else:
                found.append(pos)
                weights[text] += boost
        encode = self.encode
        return [
            (word, len(poslist), _compact(weights[word] * field_boost), encode(poslist))
            for word, poslist in positions.items()
        ]

    def encode(self, poslist: list[int]) -> bytes:
        return encode_varints([len(poslist), poslist[0], *map(sub, poslist[1:], poslist[:-1])] if poslist else [0])

    def decode_positions(self, valuestring: bytes) -> list[int]:
        codes = decode_varints(valuestring)
        positions = []
        position = 0
        for delta in codes[1:]:
            position += delta
            positions.append(position)
        return positions

    def decode_frequency(self, valuestring: bytes) -> int:
        return read_varint(valuestring, 0)[0] if valuestring else 0  # the count

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * float(self.field_boost)

    def decode_position_boosts(self, valuestring: bytes) -> list[tuple[int, float]]:
        return [(pos, 1.0) for pos in self.decode_positions(valuestring)]

    def combine(self, vs: Iterable[bytes]) -> bytes:
        merged: set[int] = set()
        for v in vs:
            merged.update(self.decode_positions(v))
        return self.encode(sorted(merged))


class Presence(Existence):
    """Whoosh's ``Existence`` (which documents have a term, weight 1, no
    value), reading :func:`weighted_tokens`."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        field_boost = self.field_boost
        present = {text for text, _pos, _boost in weighted_tokens(value, analyzer, kwargs)}
        return ((word, 1, field_boost, b"") for word in present)
