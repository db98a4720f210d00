"""The bytes of a :class:`~clipsearch.codec.compact.CompactCodec` posting
block: written by :func:`encode_block`, read by :func:`read_block_header`,
:func:`read_head` and :func:`decompressed`.

A posting list is its blocks one after the other (no magic tag), each of up
to :data:`BLOCK_POSTINGS` postings:

* block header: 4-byte signed length (negative on the last block, as in
  Whoosh's W3 codec), then varints ``count``, ``last id``, three bytes
  ``flags``, ``min length``, ``max length`` (Whoosh's length bytes,
  :data:`LENGTH_OF_BYTE`), the max weight as a 4-byte float and the varint
  size of the head as stored;
* block data, in two parts: the head compressed with zlib when that makes
  it smaller, the values only when it makes them at least
  :data:`VALUES_MIN_SAVING` smaller:

  - the head: varint id deltas; weights as a kind byte (:data:`WEIGHTS_ONE`:
    all 1 / :data:`WEIGHTS_INT`: whole numbers as varints /
    :data:`WEIGHTS_FLOAT`: 4-byte floats); the varint sizes of the values
    (formats with values of varying size);
  - the values: their bytes, concatenated (nothing for formats without
    values).

* flags: :data:`HEAD_ZLIB` = head zlib-compressed; :data:`SIZES_FIRST` =
  sizes first (always set); :data:`VALUES_ZLIB` = values zlib-compressed;
  :data:`APART` = head and values apart (always set). An index whose
  blocks may lack the two has an older
  :data:`~clipsearch.schema.SCHEMA_VERSION` and must be rebuilt.

Sizes first lets a reader find one document's positions (a phrase check)
from the sizes alone, without stepping through the values before it. Head
and values apart let a query that needs only ids and weights (most terms of
most queries) skip the positions, most of a common syllable's bytes: neither
decompressed nor scanned.

The writer is :class:`~clipsearch.codec.compact.CompactPostingsWriter`; the
readers are :class:`~clipsearch.codec.blocks.BlockCursor` (the search path,
without Whoosh) and Whoosh's :class:`~clipsearch.codec.compact.CompactLeafMatcher`.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Sequence
from itertools import accumulate
from operator import sub
from typing import Any

from clipsearch.codec.varints import (
    encode_varints,
    interleave,
    read_varint,
    read_varints,
    row_varints,
    vectorised_encode,
)

__all__ = [
    "APART",
    "BLOCK_POSTINGS",
    "HEADER_MAX_SIZE",
    "HEAD_ZLIB",
    "LENGTH_OF_BYTE",
    "SIZES_FIRST",
    "VALUES_MIN_SAVING",
    "VALUES_ZLIB",
    "WEIGHTS_FLOAT",
    "WEIGHTS_INT",
    "WEIGHTS_ONE",
    "decompressed",
    "encode_block",
    "encode_joined_block",
    "encode_small_blocks",
    "read_block_header",
    "read_head",
]

_FLOAT = struct.Struct("!f")
_INT = struct.Struct("!i")

#: Weights kinds: every weight 1 (none stored), whole numbers (varints), 4-byte floats.
WEIGHTS_ONE, WEIGHTS_INT, WEIGHTS_FLOAT = 0, 1, 2
#: Flags: head zlib-compressed, sizes first, values zlib-compressed, head and values apart.
HEAD_ZLIB, SIZES_FIRST, VALUES_ZLIB, APART = 1, 2, 4, 8

#: Postings per block. Whoosh's 128 suits its per-posting matchers; a whole
#: list decoded at once pays per block (header, slice, zlib), and bigger
#: blocks also compress better.
BLOCK_POSTINGS = 512

#: Bytes enough for any block header, its length prefix included (three
#: varints of at most five bytes and seven fixed bytes after the prefix).
HEADER_MAX_SIZE = 28

#: Parts smaller than this are never worth compressing.
_COMPRESS_MIN = 48
#: The share of their size zlib must save for a block's values to be kept
#: compressed. Position deltas are nearly random bytes: zlib saves little of
#: them, and decompressing them is a large part of reading a common
#: syllable's postings (which every multi-word query's sequence bonus does).
VALUES_MIN_SAVING = 1 / 3


#: The field length each of Whoosh's length bytes stands for (its
#: ``whoosh.util.numeric.byte_to_length`` table; 0: no length).
LENGTH_OF_BYTE: tuple[int, ...] = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    12,
    13,
    14,
    16,
    17,
    18,
    20,
    21,
    23,
    25,
    26,
    28,
    30,
    32,
    34,
    36,
    38,
    40,
    42,
    45,
    47,
    49,
    52,
    54,
    57,
    60,
    63,
    66,
    69,
    72,
    75,
    79,
    82,
    86,
    89,
    93,
    97,
    101,
    106,
    110,
    114,
    119,
    124,
    129,
    134,
    139,
    145,
    150,
    156,
    162,
    169,
    175,
    182,
    189,
    196,
    203,
    211,
    219,
    227,
    235,
    244,
    253,
    262,
    271,
    281,
    291,
    302,
    313,
    324,
    336,
    348,
    360,
    373,
    386,
    399,
    414,
    428,
    443,
    459,
    475,
    491,
    508,
    526,
    544,
    563,
    583,
    603,
    623,
    645,
    667,
    690,
    714,
    738,
    763,
    789,
    816,
    844,
    873,
    903,
    933,
    965,
    998,
    1032,
    1066,
    1103,
    1140,
    1178,
    1218,
    1259,
    1302,
    1345,
    1391,
    1438,
    1486,
    1536,
    1587,
    1641,
    1696,
    1753,
    1811,
    1872,
    1935,
    1999,
    2066,
    2135,
    2207,
    2280,
    2356,
    2435,
    2516,
    2600,
    2687,
    2777,
    2869,
    2965,
    3063,
    3165,
    3271,
    3380,
    3492,
    3608,
    3728,
    3852,
    3980,
    4112,
    4249,
    4390,
    4536,
    4686,
    4842,
    5002,
    5168,
    5340,
    5517,
    5700,
    5889,
    6084,
    6286,
    6494,
    6709,
    6932,
    7161,
    7398,
    7643,
    7897,
    8158,
    8428,
    8707,
    8995,
    9293,
    9601,
    9918,
    10247,
    10586,
    10936,
    11298,
    11671,
    12057,
    12456,
    12868,
    13294,
    13733,
    14187,
    14656,
    15141,
    15641,
    16159,
    16693,
    17244,
    17814,
    18403,
    19011,
    19640,
    20289,
    20959,
    21652,
    22367,
    23106,
    23869,
    24658,
    25472,
    26314,
    27183,
    28081,
    29009,
    29967,
    30957,
    31979,
    33035,
    34126,
    35254,
    36418,
    37620,
    38863,
    40146,
    41472,
    42841,
    44256,
    45717,
    47227,
    48786,
    50397,
    52061,
    53780,
    55556,
    57390,
    59285,
    61242,
    63264,
    65352,
    67510,
    69739,
    72041,
    74419,
    76876,
    79414,
    82035,
    84743,
    87541,
    90430,
    93416,
    96499,
    99684,
    102975,
    106374,
)


def encode_block(
    ids: Sequence[int],
    weights: Sequence[float],
    values: list[bytes],
    fixed_size: int | None,
    *,
    min_length_byte: int,
    max_length_byte: int,
    max_weight: float,
    compression: int,
    last: bool,
) -> bytes:
    """A whole block, header included: the postings ``ids`` (ascending),
    ``weights`` and ``values`` (of ``fixed_size`` bytes each, or of varying
    size for None), with the length bytes of the shortest and longest field
    and the largest weight; parts compressed at zlib level ``compression``
    (0: none)."""
    return encode_joined_block(
        ids,
        weights,
        [len(v) for v in values] if fixed_size is None else None,
        b"".join(values) if fixed_size != 0 else b"",
        min_length_byte=min_length_byte,
        max_length_byte=max_length_byte,
        max_weight=max_weight,
        compression=compression,
        last=last,
    )


def encode_joined_block(
    ids: Sequence[int],
    weights: Sequence[float],
    sizes: Sequence[int] | None,
    data: bytes,
    *,
    min_length_byte: int,
    max_length_byte: int,
    max_weight: float,
    compression: int,
    last: bool,
) -> bytes:
    """:func:`encode_block` of postings whose values are already joined:
    ``data`` holds them one after the other, ``sizes`` the size of each
    (None for a format of fixed-size values)."""
    head = _encode_head(ids, weights, sizes)
    flags = SIZES_FIRST | APART
    packed = _compressed(head, compression)
    if packed is not None:
        head, flags = packed, flags | HEAD_ZLIB
    packed = _compressed(data, compression, VALUES_MIN_SAVING)
    if packed is not None:
        data, flags = packed, flags | VALUES_ZLIB
    header = (
        encode_varints((len(ids), ids[-1]))
        + bytes((flags, min_length_byte, max_length_byte))
        + _FLOAT.pack(max_weight)
        + encode_varints((len(head),))
    )
    size = len(header) + len(head) + len(data)
    return _INT.pack(-size if last else size) + header + head + data


def _encode_head(ids: Sequence[int], weights: Sequence[float], sizes: Sequence[int] | None) -> bytes:
    """A block's head (ids, weights, value sizes), uncompressed."""
    out = bytearray()
    ids = list(ids)
    out += encode_varints([ids[0], *map(sub, ids[1:], ids[:-1])] if ids else [])
    distinct = set(weights)
    if distinct <= {1.0}:
        out.append(WEIGHTS_ONE)
    elif all(float(w).is_integer() and w >= 0 for w in distinct):
        out.append(WEIGHTS_INT)
        out += encode_varints([int(w) for w in weights])
    else:
        out.append(WEIGHTS_FLOAT)
        out += array("f", weights).tobytes()
    if sizes is not None:
        out += encode_varints(sizes)
    return bytes(out)


def _head_parts(counts: Any, ids: Any, weights: Any, sizes: Any) -> list[tuple[Any, Any]]:
    """The heads of posting lists of one block each (see
    :func:`encode_small_blocks`) as parts for
    :func:`~clipsearch.codec.varints.interleave`: id deltas, the weights'
    kind, whole weights, value sizes."""
    import numpy as np

    firsts = np.cumsum(counts) - counts
    deltas = np.asarray(ids, dtype=np.int64)
    deltas = np.concatenate((deltas[:1], np.diff(deltas)))
    deltas[firsts] = np.asarray(ids)[firsts]  # a list's first id is written whole
    ones = np.logical_and.reduceat(weights == 1.0, firsts)
    kinds = (np.where(ones, WEIGHTS_ONE, WEIGHTS_INT).astype(np.uint8), np.ones(len(counts), dtype=np.int64))
    weight_data, posting_sizes = row_varints(weights.astype(np.int64), np.repeat(~ones, counts))
    parts = [_per_list(deltas, firsts), kinds, (weight_data, np.add.reduceat(posting_sizes, firsts))]
    if sizes is not None:
        parts.append(_per_list(sizes, firsts))
    return parts


def _per_list(values: Any, firsts: Any) -> tuple[Any, Any]:
    """The varints of ``values``, each list's (starting at ``firsts``) one after the other."""
    import numpy as np

    data, sizes = vectorised_encode(values)
    return data, np.add.reduceat(sizes, firsts)


def encode_small_blocks(
    counts: Any,
    ids: Any,
    weights: Any,
    sizes: Any,
    data: Any,
    data_sizes: Any,
    *,
    min_length_byte: Any,
    max_length_byte: Any,
    max_weight: Any,
    compression: int,
) -> tuple[Any, Any, Any]:
    """:func:`encode_joined_block` of many posting lists of one block each
    (``last``), at once. List ``k`` holds ``counts[k]`` postings of
    ``ids``, ``weights`` (whole numbers, not negative) and ``sizes`` (None:
    a format of fixed-size values), and ``data_sizes[k]`` bytes of ``data``
    (uint8); the length bytes and the largest weight are per list. A list
    whose head or values zlib might shrink (:data:`_COMPRESS_MIN` bytes or
    more, at a ``compression`` level above 0) is left out. Returns which
    lists are encoded, their blocks joined (uint8) and each block's size."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    if len(weights) and not (np.all(weights == np.floor(weights)) and weights.min() >= 0):
        raise ValueError("only blocks of whole weights are encoded at once")
    data_sizes = np.asarray(data_sizes, dtype=np.int64)
    if not len(counts):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
    head_sizes = np.sum([part_sizes for _data, part_sizes in _head_parts(counts, ids, weights, sizes)], axis=0)
    fits = np.ones(len(counts), dtype=bool)
    if compression:
        fits = (head_sizes < _COMPRESS_MIN) & (data_sizes < _COMPRESS_MIN)
    postings = np.repeat(fits, counts)
    if not fits.any():
        return fits, np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
    counts, ids, weights, head_sizes = counts[fits], np.asarray(ids)[postings], weights[postings], head_sizes[fits]
    sizes = None if sizes is None else np.asarray(sizes)[postings]
    data, data_sizes = np.asarray(data, dtype=np.uint8)[np.repeat(fits, data_sizes)], data_sizes[fits]
    lasts = np.cumsum(counts) - 1
    header = [
        row_varints(counts),
        row_varints(ids[lasts]),
        (
            np.stack(
                [
                    np.full(len(counts), SIZES_FIRST | APART),
                    np.asarray(min_length_byte)[fits],
                    np.asarray(max_length_byte)[fits],
                ],
                axis=1,
            )
            .astype(np.uint8)
            .reshape(-1),
            np.full(len(counts), 3),
        ),
        (np.asarray(max_weight, dtype=">f4")[fits].view(np.uint8), np.full(len(counts), 4)),
        row_varints(head_sizes),
    ]
    block_sizes = np.sum([part_sizes for _data, part_sizes in header], axis=0) + head_sizes + data_sizes
    prefix = (np.asarray(-block_sizes, dtype=">i4").view(np.uint8), np.full(len(counts), 4))
    joined, sizes_out = interleave([prefix, *header, *_head_parts(counts, ids, weights, sizes), (data, data_sizes)])
    return fits, joined, sizes_out


def _compressed(data: bytes, level: int, min_saving: float = 0.0) -> bytes | None:
    """``data`` compressed with zlib, or None where that does not make it
    smaller by more than ``min_saving`` (a share of its size)."""
    if not level or len(data) < _COMPRESS_MIN:
        return None
    packed = zlib.compress(data, level)
    return packed if len(packed) < len(data) * (1 - min_saving) else None


def read_block_header(buf: Any, position: int) -> tuple[int, int, int, int, int, float, int, int, int]:
    """The header of the block at ``position`` of ``buf``: ``(count, max id,
    flags, min length, max length, max weight, where the head starts, head
    size, where the block ends)``; the end is negative on a list's last block."""
    length = _INT.unpack_from(buf, position)[0]
    start = position + 4
    count, pos = read_varint(buf, start)
    max_id, pos = read_varint(buf, pos)
    flags = buf[pos]
    min_length, max_length = LENGTH_OF_BYTE[buf[pos + 1]], LENGTH_OF_BYTE[buf[pos + 2]]
    max_weight = _FLOAT.unpack_from(buf, pos + 3)[0]
    head_size, pos = read_varint(buf, pos + 7)
    end = start + length if length >= 0 else -(start - length)
    return count, max_id, flags, min_length, max_length, max_weight, pos, head_size, end


def decompressed(raw: Any, flags: int, zlib_flag: int) -> bytes:
    """A block's head or values as :func:`encode_block` had them before
    compression: ``raw`` (as stored) decompressed if the block's ``flags``
    have ``zlib_flag`` (:data:`HEAD_ZLIB` or :data:`VALUES_ZLIB`)."""
    return zlib.decompress(raw) if flags & zlib_flag else bytes(raw)


def read_head(raw: bytes, count: int) -> tuple[list[int], Any, int]:
    """A block's ids, its weights (floats; an ``array("f")`` for 4-byte
    float weights) and where the sizes of its values begin, from its head
    ``raw`` (decompressed) of ``count`` postings."""
    deltas, pos = read_varints(raw, 0, count)
    kind = raw[pos]
    pos += 1
    weights: Any
    if kind == WEIGHTS_ONE:
        weights = [1.0] * count
    elif kind == WEIGHTS_INT:
        whole, pos = read_varints(raw, pos, count)
        weights = [float(w) for w in whole]
    else:
        weights = array("f", raw[pos : pos + 4 * count])
        pos += 4 * count
    return list(accumulate(deltas)), weights, pos
