"""Reading :class:`~clipsearch.codec.compact.CompactCodec` posting blocks, without Whoosh.

The block layout is described in :mod:`clipsearch.codec`, which writes it.
This module reads it from any buffer (a memory-mapped segment file):
:class:`BlockCursor` walks a posting list block by block, and the functions
below decode its heads (ids, weights) and values (positions) in one numpy
pass. The search path (:mod:`clipsearch.reading.segments`, :mod:`clipsearch.searching.scoring`)
reads through it without importing Whoosh; Whoosh's own matcher for these
blocks (:class:`~clipsearch.codec.compact.CompactLeafMatcher`) shares its header
parsing.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

__all__ = [
    "BLOCK_POSTINGS",
    "LENGTH_OF_BYTE",
    "BlockCursor",
    "Postings",
    "decode_lists",
    "decode_postings",
    "flat_positions",
    "positions_at",
    "read_block_header",
    "read_varint",
    "values_at",
]

_FLOAT = struct.Struct("!f")
_INT = struct.Struct("!i")
_WEIGHTS_ONE, _WEIGHTS_INT, _WEIGHTS_FLOAT = 0, 1, 2
_HEAD_ZLIB, _SIZES_FIRST, _VALUES_ZLIB, _APART = 1, 2, 4, 8

#: Postings per block. Whoosh's 128 suits its per-posting matchers; a whole
#: list decoded at once pays per block (header, slice, zlib), and bigger
#: blocks also compress better.
BLOCK_POSTINGS = 512


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


def read_varint(buf: Any, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` of ``buf``, and the position after it."""
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


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


class BlockCursor:
    """The blocks of one posting list in ``buf`` (a memory map, or bytes),
    from ``start``, one at a time: the current block's ``count`` and
    ``max_id``, its :meth:`head` and :meth:`values` (decompressed), and
    :meth:`next_block`; ``at_end`` once past the last."""

    __slots__ = ("_buf", "_flags", "_head_size", "_head_start", "_next", "at_end", "count", "max_id")

    def __init__(self, buf: Any, start: int) -> None:
        self._buf = buf
        self.at_end = False
        self._goto(start)

    def _goto(self, position: int) -> None:
        header = read_block_header(self._buf, position)
        self.count, self.max_id, self._flags = header[0], header[1], header[2]
        self._head_start, self._head_size, self._next = header[6], header[7], header[8]

    def next_block(self) -> None:
        """Move to the next block (or to the end)."""
        if self._next < 0:
            self.at_end = True
        else:
            self._goto(self._next)

    def head(self) -> bytes:
        """The current block's head (ids, weights, value sizes), uncompressed."""
        raw = self._buf[self._head_start : self._head_start + self._head_size]
        return zlib.decompress(raw) if self._flags & _HEAD_ZLIB else bytes(raw)

    def values(self) -> bytes:
        """The current block's values (concatenated), uncompressed."""
        start = self._head_start + self._head_size
        raw = self._buf[start : abs(self._next)]
        return zlib.decompress(raw) if self._flags & _VALUES_ZLIB else bytes(raw)


class Postings:
    """A posting list (or the blocks of it that were read) decoded at once:
    ``ids`` (int64) and ``weights`` (float64) per posting; for positional
    values also the joined block bytes (``buf``) and where each posting's
    value starts in them and its size, from which :meth:`positions` reads any
    document's positions without touching the file again."""

    __slots__ = ("buf", "ids", "value_size", "value_start", "weights")

    def __init__(
        self, ids: Any, weights: Any, buf: Any = None, value_start: Any = None, value_size: Any = None
    ) -> None:
        self.ids, self.weights = ids, weights
        self.buf, self.value_start, self.value_size = buf, value_start, value_size

    @property
    def nbytes(self) -> int:
        """Memory held, roughly."""
        extra = sum(a.nbytes for a in (self.buf, self.value_start, self.value_size) if a is not None)
        return int(self.ids.nbytes + self.weights.nbytes + extra)

    @classmethod
    def join(cls, parts: Sequence[Postings]) -> Postings:
        """The postings of ``parts`` one after the other (their ids ascending
        across them); with values only if every part has them."""
        import numpy as np

        ids = np.concatenate([p.ids for p in parts])
        weights = np.concatenate([p.weights for p in parts])
        if any(p.value_start is None or p.value_size is None or p.buf is None for p in parts):
            return cls(ids, weights)
        sizes = np.concatenate([p.value_size for p in parts])
        return cls(ids, weights, np.concatenate([p.buf for p in parts]), np.cumsum(sizes) - sizes, sizes)

    def positions(self, wanted: Any) -> tuple[Any, Any]:
        """``(docnums, positions)``, one entry per position of the ascending
        document numbers ``wanted`` (numbered as ``ids``) that are in these postings."""
        import numpy as np

        if self.value_start is None or not len(self.ids) or not len(wanted):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        chosen = at[self.ids[at] == wanted]
        sizes = self.value_size[chosen]
        within = _index_within(sizes)
        picked = self.buf[np.repeat(self.value_start[chosen], sizes) + within]
        return _decode_values(picked, sizes, self.ids[chosen])


def _segment_starts(counts: Any) -> Any:
    """Where each segment of ``counts`` items begins in their concatenation."""
    import numpy as np

    ends = np.cumsum(counts)
    return ends - counts


def _index_within(counts: Any) -> Any:
    """Each item's index within its segment, segments of ``counts`` items
    concatenated: ``[2, 3]`` gives ``[0, 1, 0, 1, 2]``."""
    import numpy as np

    return np.arange(int(counts.sum())) - np.repeat(_segment_starts(counts), counts)


#: Lists of at most this many postings (as read) are decoded in plain
#: Python: for a few blocks' worth, numpy's per-call set-up (some thirty
#: calls) costs more than the loop.
SMALL_LIST = 600


def decode_postings(
    cursor: BlockCursor, wanted: list[int] | None = None, values: bool = False, small: int | None = None
) -> Postings:
    """A :class:`CompactLeafMatcher`'s postings as :class:`Postings`: every
    block, or with ``wanted`` (ascending local document numbers) only the
    blocks that can hold them; with ``values``, also where each value starts
    (positional formats; left out when a block has 4-byte float weights).
    See :func:`decode_lists`."""
    return decode_lists([(cursor, 0, wanted)], values, small)


def decode_lists(
    lists: Sequence[tuple[BlockCursor, int, list[int] | None]], values: bool = False, small: int | None = None
) -> Postings:
    """Posting lists (one term's, in the segments of an index) decoded
    together as one :class:`Postings`: each ``(cursor, offset, wanted)``
    gives its ids plus ``offset``, every block or with ``wanted`` (ascending
    document numbers of that list) only the blocks that can hold them. The
    lists come in ascending order of their ids plus offsets.

    The blocks' heads are gathered in Python (header, slice, zlib) and
    decoded together in one numpy pass: per block or per segment, numpy's
    set-up costs more than the decoding. Values (positions) are read only
    with ``values``. Up to ``small`` (:data:`SMALL_LIST`) postings are
    decoded in Python (:func:`_decode_small`). The cursors are left at their ends."""
    import numpy as np

    chunks: list[bytes] = []
    value_chunks: list[bytes] = []
    counts: list[int] = []
    offsets: list[int] = []
    for cursor, offset, wanted in lists:
        i = 0
        while not cursor.at_end:
            if wanted is not None:
                if i >= len(wanted):
                    break
                if wanted[i] > cursor.max_id:
                    cursor.next_block()
                    continue
                i = bisect_right(wanted, cursor.max_id, i)
            chunks.append(cursor.head())
            if values:
                value_chunks.append(cursor.values())
            counts.append(cursor.count)
            offsets.append(offset)
            cursor.next_block()
    if not counts:
        return Postings(np.zeros(0, dtype=np.int64), np.zeros(0))
    if sum(counts) <= (SMALL_LIST if small is None else small):
        return _decode_small(chunks, counts, offsets, value_chunks if values else None)
    # A zero byte after each block ends any varint there: no token spans two blocks.
    joined = b"\0".join(chunks) + b"\0"
    buf = np.frombuffer(joined, dtype=np.uint8)
    ends = np.flatnonzero(buf < 0x80)
    tokens = _varints(buf, ends)  # float weights' bytes make meaningless tokens, never read
    sizes = np.fromiter((len(c) + 1 for c in chunks), dtype=np.int64, count=len(chunks))
    first = np.searchsorted(ends, _segment_starts(sizes))  # each block's first token (an id)
    per_block = np.array(counts, dtype=np.int64)
    starts = _segment_starts(per_block)  # each block's first posting
    at = np.arange(int(starts[-1] + per_block[-1])) + np.repeat(first - starts, per_block)  # ids' tokens
    deltas = tokens[at]
    running = np.cumsum(deltas)
    ids = running - np.repeat(running[starts] - deltas[starts] - np.array(offsets, dtype=np.int64), per_block)
    kind_at = first + per_block
    kinds = tokens[kind_at]
    whole = kinds == _WEIGHTS_INT
    weights_at = at + np.repeat(per_block + 1, per_block)  # where whole-number weights are
    if whole.all():
        weights = tokens[weights_at].astype(np.float64)
    else:
        weights = np.ones(len(ids))
        if whole.any():
            chosen = np.repeat(whole, per_block)
            weights[chosen] = tokens[weights_at[chosen]]
    floats = np.flatnonzero(kinds == _WEIGHTS_FLOAT).tolist()
    for block in floats:
        posting, count = int(starts[block]), counts[block]
        offset = int(ends[kind_at[block]]) + 1
        weights[posting : posting + count] = np.frombuffer(joined, dtype=np.float32, count=count, offset=offset)
    if not values or floats:
        return Postings(ids, weights)
    value_sizes = tokens[weights_at + np.repeat(np.where(whole, per_block, 0), per_block)]
    value_buf = np.frombuffer(b"".join(value_chunks), dtype=np.uint8)
    value_start = np.cumsum(value_sizes) - value_sizes  # the blocks' values are joined with nothing between
    return Postings(ids, weights, value_buf, value_start, value_sizes)


def _varints(buf: Any, ends: Any) -> Any:
    """Every varint of ``buf`` (int64), where ``ends`` holds the index of
    each one's last byte. Most are one byte: only the longer ones are assembled."""
    import numpy as np

    values = buf[ends].astype(np.int64)
    if len(ends) == len(buf):
        return values
    lengths = np.diff(ends, prepend=-1)
    longer = np.flatnonzero(lengths > 1)
    extra = lengths[longer] - 1  # bytes before the last one
    values[longer] <<= 7 * extra  # the last byte holds the highest bits
    within = _index_within(extra)
    low = (buf[np.repeat(ends[longer] - extra, extra) + within] & 0x7F).astype(np.int64) << (7 * within)
    values[longer] += np.bincount(np.repeat(np.arange(len(longer)), extra), weights=low, minlength=len(longer)).astype(
        np.int64
    )
    return values


def _decode_small(
    chunks: list[bytes], counts: list[int], offsets: list[int], value_chunks: list[bytes] | None
) -> Postings:
    """:func:`decode_lists` of a few blocks' heads (and values, unless
    None), block by block in Python; each block's ids plus its offset."""
    import numpy as np

    ids: list[int] = []
    weights: list[float] = []
    value_size: list[int] | None = [] if value_chunks is not None else None
    for raw, count, offset in zip(chunks, counts, offsets, strict=True):
        block_ids, block_weights, pos = _block_head(raw, count)
        ids += [i + offset for i in block_ids] if offset else block_ids
        weights += block_weights
        if isinstance(block_weights, array):
            value_size = None  # as the numpy pass: no values with float weights
        if value_size is not None:
            value_size += _skip_varints(raw, pos, count)[0]
    id_array = np.array(ids, dtype=np.int64)
    weight_array = np.array(weights, dtype=np.float64)
    if value_size is None or value_chunks is None:
        return Postings(id_array, weight_array)
    sizes = np.array(value_size, dtype=np.int64)
    buf = np.frombuffer(b"".join(value_chunks), dtype=np.uint8)
    return Postings(id_array, weight_array, buf, np.cumsum(sizes) - sizes, sizes)


def positions_at(cursor: BlockCursor, wanted: Any) -> tuple[Any, Any] | None:
    """``(docnums, positions)``: every position of the ascending local
    document numbers ``wanted`` (int64 array) that are in a
    :class:`CompactLeafMatcher`'s list of positional values, one entry per
    position, reading only the blocks that can hold them. None when a block
    has 4-byte float weights (not whole numbers): use :func:`values_at`."""
    postings = decode_postings(cursor, wanted.tolist(), values=True)
    if postings.value_start is None and len(postings.ids):
        return None
    return postings.positions(wanted)


def _block_head(raw: bytes, count: int) -> tuple[list[int], Any, int]:
    """A block's ids, its weights (floats; an ``array("f")`` for 4-byte
    float weights) and where the sizes of its values begin."""
    deltas, pos = _skip_varints(raw, 0, count)
    kind = raw[pos]
    pos += 1
    weights: Any
    if kind == _WEIGHTS_ONE:
        weights = [1.0] * count
    elif kind == _WEIGHTS_INT:
        whole, pos = _skip_varints(raw, pos, count)
        weights = [float(w) for w in whole]
    else:
        weights = array("f", raw[pos : pos + 4 * count])
        pos += 4 * count
    return list(accumulate(deltas)), weights, pos


def _skip_varints(raw: bytes, pos: int, count: int) -> tuple[list[int], int]:
    """``count`` varints of ``raw`` from ``pos`` (plain Python: for one block
    of at most a few hundred values it is faster than numpy's set-up)."""
    chunk = raw[pos : pos + count]
    if len(chunk) == count and (not count or max(chunk) < 0x80):  # all one-byte varints
        return list(chunk), pos + count
    values = []
    for _ in range(count):
        byte = raw[pos]
        if byte < 0x80:
            values.append(byte)
            pos += 1
        else:
            value, pos = read_varint(raw, pos)
            values.append(value)
    return values, pos


def values_at(cursor: BlockCursor, wanted: list[int]) -> dict[int, bytes]:
    """The posting values (positions) of the ascending local document numbers
    ``wanted`` that are in a :class:`CompactLeafMatcher`'s list, decoding
    only the blocks that can hold them; in a block, the values are sliced
    out by their sizes."""
    found: dict[int, bytes] = {}
    i = 0
    n = len(wanted)
    while not cursor.at_end and i < n:
        if wanted[i] > cursor.max_id:
            cursor.next_block()
            continue
        j = i
        while j < n and wanted[j] <= cursor.max_id:
            j += 1
        targets = wanted[i:j]
        i = j
        raw = cursor.head()
        count = cursor.count
        id_list, _weights, pos = _block_head(raw, count)
        at = [bisect_left(id_list, d) for d in targets]
        wanted_at = [k for k, d in zip(at, targets, strict=True) if k < count and id_list[k] == d]
        if not wanted_at:
            cursor.next_block()
            continue
        sizes, pos = _skip_varints(raw, pos, count)
        data = cursor.values()
        starts = list(accumulate(sizes, initial=0))
        for k in wanted_at:
            found[id_list[k]] = data[starts[k] : starts[k + 1]]
        cursor.next_block()
    return found


def _decode_values(buf: Any, sizes: Any, docnums: Any) -> tuple[Any, Any]:
    """``(docnums, positions)`` from the concatenated
    :class:`~clipsearch.codec.formats.VarintPositions` values (``count,
    delta...``) of ``buf``, of the given byte ``sizes``, one per document."""
    import numpy as np

    ends = np.flatnonzero(buf < 0x80)
    if not len(ends):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    codes = _varints(buf, ends)
    firsts = np.searchsorted(ends, _segment_starts(sizes))  # each value's count code
    per_value = np.diff(firsts, append=len(ends))
    owner = np.repeat(np.arange(len(sizes)), per_value)
    codes[firsts[firsts < len(ends)]] = 0
    running = np.cumsum(codes)
    positions = running - running[np.minimum(firsts, len(ends) - 1)][owner]
    keep = np.ones(len(ends), dtype=bool)
    keep[firsts[firsts < len(ends)]] = False
    return docnums[owner[keep]], positions[keep].astype(np.int64)


def flat_positions(values: dict[int, bytes]) -> tuple[Any, Any]:
    """``(docnums, positions)`` as two aligned int64 arrays, one entry per
    position, from :class:`~clipsearch.codec.formats.VarintPositions` values
    (``count, delta...``) by document number; decoded in one numpy pass."""
    import numpy as np

    chunks = list(values.values())
    buf = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    sizes = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks))
    return _decode_values(buf, sizes, np.fromiter(values, dtype=np.int64, count=len(chunks)))
