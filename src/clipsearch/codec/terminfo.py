"""Compact term infos: the value a terms file keeps for each term, in
varints, written by :func:`encode_term_info` and read by
:func:`decode_term_info`.

Whoosh's W3 term info is a 23-byte struct (flags, total weight, document
frequency, shortest and longest field length as bytes, largest weight,
first and last document) followed by 12 bytes saying where the postings
are, or by a pickle of the postings themselves for an inlined term: 35
bytes or more for every term. Most terms of a news archive (names, rare
syllables, word pairs) are in one clipping, so the term infos and the
one-posting blocks they point to would be a large part of the index.

Here the same fields are varints (whole-number weights, which clipsearch's
zone boosts make, as varints; others as 4-byte floats, as W3 stores them),
and a term of one document keeps its posting inline with nothing repeated:
its document is the first one, its weight the total, and only its value
(positions) follows. About 10 bytes for most terms, and no block in the
postings file for a term of one document.

* flags (one byte): :data:`INLINE`, :data:`WEIGHT_FLOAT`,
  :data:`MAX_WEIGHT_FLOAT`, :data:`HAS_VALUE`;
* varint document frequency; the total weight; the shortest and the
  longest field length (Whoosh's length bytes); the largest weight; varint
  first document; varint last document less the first;
* inline: if :data:`HAS_VALUE`, the value's varint size and its bytes;
  otherwise: varint offset and varint length of the postings in the
  postings file.

The Whoosh side (:class:`clipsearch.codec.compact.CompactTermInfo`) and the
search path (:mod:`clipsearch.reading.segments`) both read them here.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from clipsearch.codec.varints import encode_varints, interleave, read_varint, row_varints

__all__ = [
    "HAS_VALUE",
    "INLINE",
    "MAX_WEIGHT_FLOAT",
    "WEIGHT_FLOAT",
    "TermInfoFields",
    "decode_term_info",
    "encode_term_info",
    "encode_whole_term_infos",
]

#: Flags: the posting is inline; the weight, the largest weight are floats; the inline posting has a value.
INLINE, WEIGHT_FLOAT, MAX_WEIGHT_FLOAT, HAS_VALUE = 1, 2, 4, 8

_FLOAT = struct.Struct("<f")
_WHOLE_LIMIT = 1 << 53


class TermInfoFields(NamedTuple):
    """What a term info holds."""

    weight: float
    doc_frequency: int
    min_length_byte: int
    max_length_byte: int
    max_weight: float
    min_id: int
    max_id: int
    #: where the postings are in the postings file (None: inline)
    extent: tuple[int, int] | None
    #: the inline posting's value (None: inline without a value, or not inline)
    value: bytes | None


def _whole(weight: float) -> bool:
    return float(weight).is_integer() and 0 <= weight < _WHOLE_LIMIT


def encode_term_info(
    weight: float,
    doc_frequency: int,
    min_length_byte: int,
    max_length_byte: int,
    max_weight: float,
    min_id: int,
    max_id: int,
    *,
    extent: tuple[int, int] | None = None,
    value: bytes | None = None,
) -> bytes:
    """A term info's bytes: postings at ``extent`` (offset, length) in the
    postings file, or, with no extent, the one posting of a term of one
    document inline, with its ``value`` (None: its format has none)."""
    if extent is None and doc_frequency != 1:
        raise ValueError(f"only a term of one document keeps its posting inline, not one of {doc_frequency}")
    flags = INLINE if extent is None else 0
    whole_weight, whole_max = _whole(weight), _whole(max_weight)
    if not whole_weight:
        flags |= WEIGHT_FLOAT
    if not whole_max:
        flags |= MAX_WEIGHT_FLOAT
    if extent is None and value:
        flags |= HAS_VALUE
    out = bytearray((flags,))
    out += encode_varints((doc_frequency,))
    out += encode_varints((int(weight),)) if whole_weight else _FLOAT.pack(weight)
    out += bytes((min_length_byte, max_length_byte))
    out += encode_varints((int(max_weight),)) if whole_max else _FLOAT.pack(max_weight)
    out += encode_varints((min_id, max_id - min_id))
    if extent is not None:
        out += encode_varints(extent)
    elif value:
        out += encode_varints((len(value),))
        out += value
    return bytes(out)


def encode_whole_term_infos(
    weight: Any,
    doc_frequency: Any,
    min_length_byte: Any,
    max_length_byte: Any,
    max_weight: Any,
    min_id: Any,
    max_id: Any,
    extent: tuple[Any, Any],
    inline: Any,
    values: tuple[Any, Any],
) -> tuple[Any, Any]:
    """:func:`encode_term_info` of many terms at once (numpy arrays, one
    item per term), all of whole weights below 2**53: the postings of term
    ``k`` at ``(extent[0][k], extent[1][k])``, or inline where ``inline[k]``,
    its value the ``values[1][k]`` bytes of ``values[0]`` (joined, uint8; 0:
    none) in their turn. Returns the term infos joined (uint8) and each one's size."""
    import numpy as np

    count = len(inline)
    weight, max_weight = np.asarray(weight, dtype=np.float64), np.asarray(max_weight, dtype=np.float64)
    for numbers in (weight, max_weight):
        if count and not (np.all(numbers == np.floor(numbers)) and numbers.min() >= 0 and numbers.max() < _WHOLE_LIMIT):
            raise ValueError("only term infos of whole weights are encoded at once")
    inline = np.asarray(inline, dtype=bool)
    value_data, all_sizes = values
    all_sizes = np.asarray(all_sizes, dtype=np.int64)
    has_value = inline & (all_sizes > 0)
    value_sizes = np.where(has_value, all_sizes, 0)
    flags = np.where(inline, INLINE, 0) | np.where(has_value, HAS_VALUE, 0)
    one_byte = np.ones(count, dtype=np.int64)
    lengths = np.stack([np.asarray(min_length_byte), np.asarray(max_length_byte)], axis=1).astype(np.uint8)
    return interleave(
        [
            (flags.astype(np.uint8), one_byte),
            row_varints(doc_frequency),
            row_varints(weight.astype(np.int64)),
            (lengths.reshape(-1), 2 * one_byte),
            row_varints(max_weight.astype(np.int64)),
            row_varints(min_id),
            row_varints(np.asarray(max_id, dtype=np.int64) - np.asarray(min_id, dtype=np.int64)),
            row_varints(extent[0], ~inline),
            row_varints(extent[1], ~inline),
            row_varints(value_sizes, has_value),
            (np.asarray(value_data, dtype=np.uint8)[np.repeat(has_value, all_sizes)], value_sizes),
        ]
    )


def _number(raw: Any, pos: int, is_float: bool) -> tuple[float, int]:
    if is_float:
        return _FLOAT.unpack_from(raw, pos)[0], pos + 4
    whole, pos = read_varint(raw, pos)
    return float(whole), pos


def decode_term_info(raw: Any) -> TermInfoFields:
    """The fields of a term info :func:`encode_term_info` wrote."""
    flags = raw[0]
    df, pos = read_varint(raw, 1)
    weight, pos = _number(raw, pos, bool(flags & WEIGHT_FLOAT))
    min_length, max_length = raw[pos], raw[pos + 1]
    max_weight, pos = _number(raw, pos + 2, bool(flags & MAX_WEIGHT_FLOAT))
    min_id, pos = read_varint(raw, pos)
    span, pos = read_varint(raw, pos)
    extent: tuple[int, int] | None = None
    value: bytes | None = None
    if not flags & INLINE:
        offset, pos = read_varint(raw, pos)
        length, pos = read_varint(raw, pos)
        extent = (offset, length)
    elif flags & HAS_VALUE:
        size, pos = read_varint(raw, pos)
        value = bytes(raw[pos : pos + size])
        if len(value) != size:
            raise ValueError("a term info cut short")
    return TermInfoFields(weight, df, min_length, max_length, max_weight, min_id, min_id + span, extent, value)
