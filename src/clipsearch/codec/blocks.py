"""Reading :class:`~clipsearch.codec.compact.CompactCodec` posting lists,
without Whoosh.

The block layout is described in :mod:`clipsearch.codec.layout`, with its
writer and the reading of one block. This module reads whole lists from any
buffer (a memory-mapped segment file): :class:`BlockCursor` walks a posting
list block by block, and the functions below decode its heads (ids,
weights) and values (positions) in one numpy pass. The search path
(:mod:`clipsearch.reading.segments`, :mod:`clipsearch.searching.scoring`)
reads through it without importing Whoosh, and gives :class:`BlockCursor`
what checks the bytes of a posting list before they are read (the chunk
CRCs of :mod:`clipsearch.reading.checksums`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

from clipsearch.codec.layout import (
    BLOCK_POSTINGS,
    HEAD_ZLIB,
    LENGTH_OF_BYTE,
    VALUES_ZLIB,
    WEIGHTS_FLOAT,
    WEIGHTS_INT,
    decompressed,
    read_block_header,
    read_head,
)
from clipsearch.codec.varints import read_varints, vectorised_varints

__all__ = [
    # Re-exported from clipsearch.codec.layout for clipsearch.searching.scoring, which imports them from here.
    "BLOCK_POSTINGS",
    "LENGTH_OF_BYTE",
    "BlockCursor",
    "Postings",
    "decode_lists",
    "decode_postings",
    "flat_positions",
    "values_at",
]

#: The vectorised varint decoder under its former name here, for
#: tests/test_fastscore.py (which should import it from clipsearch.codec.varints).
_varints = vectorised_varints

#: The most bytes a block's header takes (:func:`~clipsearch.codec.layout.read_block_header`):
#: its length, three varints (count, max id, head size; at most 10 bytes
#: each), its flags, two byte-coded lengths and a 4-byte float.
_HEADER_MAX = 4 + 3 * 10 + 1 + 2 + 4


class BlockCursor:
    """The blocks of one posting list in ``buf`` (a memory map, or bytes),
    from ``start``, one at a time: the current block's ``count`` and
    ``max_id``, its :meth:`head` and :meth:`values` (decompressed), and
    :meth:`next_block`; ``at_end`` once past the last. ``check(start, end)``,
    if given, checks bytes ``start`` to ``end`` of ``buf`` before they are
    read (a header, a head, values): only the blocks read are checked."""

    __slots__ = ("_buf", "_check", "_flags", "_head_size", "_head_start", "_next", "at_end", "count", "max_id")

    def __init__(self, buf: Any, start: int, check: Callable[[int, int], None] | None = None) -> None:
        self._buf = buf
        self._check = check
        self.at_end = False
        self._goto(start)

    def _goto(self, position: int) -> None:
        if self._check is not None:
            self._check(position, position + _HEADER_MAX)  # past the block's end at most: bytes of the part
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
        if self._check is not None:
            self._check(self._head_start, self._head_start + self._head_size)
        raw = self._buf[self._head_start : self._head_start + self._head_size]
        return decompressed(raw, self._flags, HEAD_ZLIB)

    def values(self) -> bytes:
        """The current block's values (concatenated), uncompressed."""
        start = self._head_start + self._head_size
        if self._check is not None:
            self._check(start, abs(self._next))
        raw = self._buf[start : abs(self._next)]
        return decompressed(raw, self._flags, VALUES_ZLIB)


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

        from clipsearch.sorted_arrays import locate

        if self.value_start is None or not len(self.ids) or not len(wanted):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        at, found = locate(self.ids, wanted)
        chosen = at[found]
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
    """The postings of ``cursor``'s list as :class:`Postings`: every
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
    tokens = vectorised_varints(buf, ends)  # float weights' bytes make meaningless tokens, never read
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
    whole = kinds == WEIGHTS_INT
    weights_at = at + np.repeat(per_block + 1, per_block)  # where whole-number weights are
    if whole.all():
        weights = tokens[weights_at].astype(np.float64)
    else:
        weights = np.ones(len(ids))
        if whole.any():
            chosen = np.repeat(whole, per_block)
            weights[chosen] = tokens[weights_at[chosen]]
    floats = np.flatnonzero(kinds == WEIGHTS_FLOAT).tolist()
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
        block_ids, block_weights, pos = read_head(raw, count)
        ids += [i + offset for i in block_ids] if offset else block_ids
        weights += block_weights
        if isinstance(block_weights, array):
            value_size = None  # as the numpy pass: no values with float weights
        if value_size is not None:
            value_size += read_varints(raw, pos, count)[0]
    id_array = np.array(ids, dtype=np.int64)
    weight_array = np.array(weights, dtype=np.float64)
    if value_size is None or value_chunks is None:
        return Postings(id_array, weight_array)
    sizes = np.array(value_size, dtype=np.int64)
    buf = np.frombuffer(b"".join(value_chunks), dtype=np.uint8)
    return Postings(id_array, weight_array, buf, np.cumsum(sizes) - sizes, sizes)


def values_at(cursor: BlockCursor, wanted: list[int]) -> dict[int, bytes]:
    """The posting values (positions) of the ascending local document numbers
    ``wanted`` that are in ``cursor``'s list, decoding only the blocks that
    can hold them; in a block, the values are sliced out by their sizes."""
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
        id_list, _weights, pos = read_head(raw, count)
        at = [bisect_left(id_list, d) for d in targets]
        wanted_at = [k for k, d in zip(at, targets, strict=True) if k < count and id_list[k] == d]
        if not wanted_at:
            cursor.next_block()
            continue
        sizes, pos = read_varints(raw, pos, count)
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
    codes = vectorised_varints(buf, ends)
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
