"""A compact block encoding of Whoosh posting lists.

whoosh-reloaded's ``W3Codec`` writes every posting list as a 4-byte magic
tag and blocks of up to 128 postings, each block a pickled info tuple and a
zlib-compressed pickle of ``(ids, weights, values)``: about 55 bytes of
framing per block, weights pickled as 9-byte floats, and zlib applied even
where it makes the block larger. Most terms of a news archive (names, rare
syllables, compound words) occur in a handful of documents, so the framing
was most of the posting file.

:class:`CompactCodec` keeps Whoosh's block structure, skipping and scoring,
and changes only the bytes of a block:

* block header: 4-byte signed length (negative on the last block, as in
  W3), then varints ``count``, ``last id``, three bytes ``flags``,
  ``min length``, ``max length``, the max weight as a 4-byte float and the
  varint size of the head as stored;
* block data, in two parts, each compressed with zlib only when that makes
  it smaller:

  - the head: varint id deltas; weights as a kind byte (all 1 / whole
    numbers as varints / 4-byte floats); the varint sizes of the values
    (formats with values of varying size);
  - the values: their bytes, concatenated (nothing for formats without
    values).

* flags: 1 = head zlib-compressed; 2 = sizes first (always set); 4 = values
  zlib-compressed; 8 = head and values apart (always set; indexes written
  before them, schema 9 and older, are rebuilt).

Sizes first lets a reader find one document's positions (a phrase check)
from the sizes alone, without stepping through the values before it. Head
and values apart let a query that needs only ids and weights (most terms of
most queries) skip the positions, most of a common syllable's bytes: neither
decompressed nor scanned.

No magic tag is written. The codec is pickled into the index's table of
contents with each segment, so it lives in an importable module and holds
only its settings.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Any

from whoosh.codec.base import OutOfOrderError
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    W3Codec,
    W3FieldWriter,
    W3LeafMatcher,
    W3PerDocReader,
    W3PostingsWriter,
)
from whoosh.util.numeric import byte_to_length, length_to_byte

from .postings import encode_varints

__all__ = ["CompactCodec"]

_FLOAT = struct.Struct("!f")
_INT = struct.Struct("!i")
_WEIGHTS_ONE, _WEIGHTS_INT, _WEIGHTS_FLOAT = 0, 1, 2
#: Blocks smaller than this are never worth compressing.
_COMPRESS_MIN = 48
_HEAD_ZLIB, _SIZES_FIRST, _VALUES_ZLIB, _APART = 1, 2, 4, 8


def _encode_block(ids: Any, weights: Any, values: list[bytes], fixed_size: int | None) -> tuple[bytes, bytes]:
    """A block's head (ids, weights, value sizes) and values, uncompressed."""
    out = bytearray()
    base = 0
    deltas = []
    for i in ids:
        deltas.append(i - base)
        base = i
    out += encode_varints(deltas)
    if all(w == 1.0 for w in weights):
        out.append(_WEIGHTS_ONE)
    elif all(float(w).is_integer() and w >= 0 for w in weights):
        out.append(_WEIGHTS_INT)
        out += encode_varints(int(w) for w in weights)
    else:
        out.append(_WEIGHTS_FLOAT)
        out += array("f", weights).tobytes()
    if fixed_size is None:
        out += encode_varints(len(v) for v in values)
    return bytes(out), b"".join(values) if fixed_size != 0 else b""


def _compressed(data: bytes, level: int) -> bytes | None:
    """``data`` compressed with zlib, or None where that does not make it smaller."""
    if not level or len(data) < _COMPRESS_MIN:
        return None
    packed = zlib.compress(data, level)
    return packed if len(packed) < len(data) else None


def _read_varint(buf: Any, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


class CompactPostingsWriter(W3PostingsWriter):
    """``W3PostingsWriter`` writing :class:`CompactCodec` blocks."""

    _maxweight: float
    _minlength: int | None
    _maxlength: int

    def add_posting(self, id_: int, weight: float, vbytes: bytes, length: int | None = None) -> None:
        """W3's ``add_posting`` without its per-posting type assertions (the
        postings come from Whoosh's own sorted pool)."""
        if len(self._ids) >= self._blocklimit:
            self._write_block()
        self._ids.append(id_)
        self._weights.append(weight)
        if weight > self._maxweight:
            self._maxweight = weight
        if vbytes:
            self._values.append(vbytes)
        if length:
            if self._minlength is None or length < self._minlength:
                self._minlength = length
            if length > self._maxlength:
                self._maxlength = length

    def _write_block(self, last: bool = False) -> None:
        self._terminfo.add_block(self)
        ids = self._ids
        head, values = _encode_block(ids, self._weights, self._values, self._format.fixed_value_size())
        flags = _SIZES_FIRST | _APART
        packed = _compressed(head, self._compression)
        if packed is not None:
            head, flags = packed, flags | _HEAD_ZLIB
        packed = _compressed(values, self._compression)
        if packed is not None:
            values, flags = packed, flags | _VALUES_ZLIB
        header = (
            encode_varints((len(ids), ids[-1]))
            + bytes((flags, length_to_byte(self._minlength), length_to_byte(self._maxlength)))
            + _FLOAT.pack(self._maxweight)
            + encode_varints((len(head),))
        )
        size = len(header) + len(head) + len(values)
        self._postfile.write(_INT.pack(-size if last else size))
        self._postfile.write(header)
        self._postfile.write(head)
        self._postfile.write(values)
        self._blockcount += 1
        self._new_block()


class CompactLeafMatcher(W3LeafMatcher):
    """``W3LeafMatcher`` reading :class:`CompactCodec` blocks."""

    _data: Any
    _ids: Any
    _weights: Any
    _values: Any
    _flags: int
    _headsize: int

    def _read_header(self) -> None:
        self._baseoffset = self._startoffset

    def _goto(self, position: int) -> None:
        self._data = None
        self._ids = None
        self._weights = None
        self._values = None
        self._i = 0
        postfile = self._postfile
        length = _INT.unpack(postfile.get(position, 4))[0]
        if length < 0:
            self._lastblock = True
            length = -length
        start = position + 4
        self._nextoffset = start + length
        head = postfile.get(start, min(length, 24))
        count, pos = _read_varint(head, 0)
        maxid, pos = _read_varint(head, pos)
        self._flags = head[pos]
        self._minlength = byte_to_length(head[pos + 1])
        self._maxlength = byte_to_length(head[pos + 2])
        self._maxweight = _FLOAT.unpack(head[pos + 3 : pos + 7])[0]
        self._headsize, pos = _read_varint(head, pos + 7)
        self._blocklength = count
        self._maxid = maxid
        self._dataoffset = start + pos

    def block_head(self) -> bytes:
        """The current block's head (ids, weights, value sizes), uncompressed."""
        raw = self._postfile.get(self._dataoffset, self._headsize)
        return zlib.decompress(raw) if self._flags & _HEAD_ZLIB else bytes(raw)

    def block_values(self) -> bytes:
        """The current block's values (concatenated), uncompressed."""
        start = self._dataoffset + self._headsize
        raw = self._postfile.get(start, self._nextoffset - start)
        return zlib.decompress(raw) if self._flags & _VALUES_ZLIB else bytes(raw)

    def _read_data(self) -> None:
        raw = self.block_head()
        count = self._blocklength
        ids, weights, pos = _block_head(raw, count)
        values: Any
        fixed = self._fixedsize
        if fixed == 0:
            values = (None,) * count
        elif fixed is not None:
            data = self.block_values()
            values = [data[i * fixed : (i + 1) * fixed] for i in range(count)]
        else:
            sizes, pos = _skip_varints(raw, pos, count)
            data = self.block_values()
            values = []
            pos = 0
            for size in sizes:
                values.append(data[pos : pos + size])
                pos += size
        self._ids, self._weights, self._values = tuple(ids), weights, tuple(values)
        self._data = (self._ids, self._weights, self._values)

    def _read_ids(self) -> None:
        self._read_data()

    def _read_weights(self) -> None:
        self._read_data()

    def _read_values(self) -> None:
        self._read_data()


def _from_ends(buf: Any, last: Any, lengths: Any) -> Any:
    """The varints of ``buf`` ending at the bytes ``last``, ``lengths`` bytes
    long (float64). Most are one byte: only the longer ones are assembled."""
    import numpy as np

    values = buf[last].astype(np.float64)
    longer = np.flatnonzero(lengths > 1)
    if len(longer):
        extra = lengths[longer] - 1  # bytes before the last one
        values[longer] *= np.exp2(7 * extra)  # the last byte holds the highest bits
        within = _index_within(extra)
        low = buf[np.repeat(last[longer] - extra, extra) + within] & 0x7F
        values[longer] += np.bincount(
            np.repeat(np.arange(len(longer)), extra), weights=low * np.exp2(7 * within), minlength=len(longer)
        )
    return values


def _tokens(buf: Any, ends: Any, tokens: Any) -> Any:
    """The varints numbered ``tokens`` of ``buf``, where ``ends`` holds the
    index of the last byte of every varint of ``buf`` (float64 values)."""
    import numpy as np

    last = ends[tokens]
    first = np.where(tokens > 0, ends[tokens - 1] + 1, 0)
    return _from_ends(buf, last, last - first + 1)


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

    def positions(self, wanted: Any) -> tuple[Any, Any]:
        """``(docnums, positions)``, one entry per position of the ascending
        local document numbers ``wanted`` that are in these postings."""
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


def _running_sums(values: Any, counts: Any) -> Any:
    """Cumulative sums of ``values`` restarting at each segment of ``counts`` items."""
    import numpy as np

    running = np.cumsum(values)
    starts = _segment_starts(counts)
    return running - np.repeat(running[starts] - values[starts], counts)


#: Lists of at most this many postings (as read) are decoded in plain
#: Python: for a few blocks' worth, numpy's per-call set-up (some thirty
#: calls) costs more than the loop.
SMALL_LIST = 600


def decode_postings(
    matcher: Any, wanted: list[int] | None = None, values: bool = False, small: int = SMALL_LIST
) -> Postings:
    """A :class:`CompactLeafMatcher`'s postings as :class:`Postings`: every
    block, or with ``wanted`` (ascending local document numbers) only the
    blocks that can hold them; with ``values``, also where each value starts
    (positional formats; left out when a block has 4-byte float weights).

    The blocks' heads are gathered in Python (header, slice, zlib) and
    decoded together in one numpy pass: per block, numpy's set-up costs more
    than the decoding. Their values (positions) are read only with
    ``values``. Up to ``small`` postings are decoded in Python
    (:func:`_decode_small`). The matcher is left at its end."""
    import numpy as np

    chunks: list[bytes] = []
    value_chunks: list[bytes] = []
    counts: list[int] = []
    i = 0
    while not matcher._atend:
        if wanted is not None:
            if i >= len(wanted):
                break
            if wanted[i] > matcher._maxid:
                matcher._next_block()
                continue
            i = bisect_right(wanted, matcher._maxid, i)
        chunks.append(matcher.block_head())
        if values:
            value_chunks.append(matcher.block_values())
        counts.append(matcher._blocklength)
        matcher._next_block()
    if not counts:
        return Postings(np.zeros(0, dtype=np.int64), np.zeros(0))
    if sum(counts) <= small:
        return _decode_small(chunks, counts, value_chunks if values else None)
    # A zero byte after each block ends any varint there: no token spans two blocks.
    joined = b"\0".join(chunks) + b"\0"
    buf = np.frombuffer(joined, dtype=np.uint8)
    sizes = np.fromiter((len(c) + 1 for c in chunks), dtype=np.int64, count=len(chunks))
    ends = np.flatnonzero(buf < 0x80)
    first = np.searchsorted(ends, _segment_starts(sizes))  # each block's first id
    per_block = np.array(counts, dtype=np.int64)
    starts = _segment_starts(per_block)  # each block's first posting
    within = _index_within(per_block)
    deltas = _tokens(buf, ends, np.repeat(first, per_block) + within)
    ids = _running_sums(deltas, per_block).astype(np.int64)
    kind_at = first + per_block
    kinds = buf[ends[kind_at]]
    weights = np.ones(len(ids))
    whole = np.repeat(kinds == _WEIGHTS_INT, per_block)
    if whole.any():
        weights[whole] = _tokens(buf, ends, np.repeat(kind_at + 1, per_block)[whole] + within[whole])
    floats = np.flatnonzero(kinds == _WEIGHTS_FLOAT).tolist()
    for block in floats:
        at, count = int(starts[block]), counts[block]
        offset = int(ends[kind_at[block]]) + 1
        weights[at : at + count] = np.frombuffer(joined, dtype=np.float32, count=count, offset=offset)
    if not values or floats:
        return Postings(ids, weights)
    sizes_at = kind_at + 1 + np.where(kinds == _WEIGHTS_INT, per_block, 0)
    value_sizes = _tokens(buf, ends, np.repeat(sizes_at, per_block) + within).astype(np.int64)
    value_buf = np.frombuffer(b"".join(value_chunks), dtype=np.uint8)
    value_start = np.cumsum(value_sizes) - value_sizes  # the blocks' values are joined with nothing between
    return Postings(ids, weights, value_buf, value_start, value_sizes)


def _decode_small(chunks: list[bytes], counts: list[int], value_chunks: list[bytes] | None) -> Postings:
    """:func:`decode_postings` of a few blocks' heads (and values, unless
    None), block by block in Python."""
    import numpy as np

    ids: list[int] = []
    weights: list[float] = []
    value_size: list[int] | None = [] if value_chunks is not None else None
    for raw, count in zip(chunks, counts, strict=True):
        block_ids, block_weights, pos = _block_head(raw, count)
        ids += block_ids
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


def positions_at(matcher: Any, wanted: Any) -> tuple[Any, Any] | None:
    """``(docnums, positions)``: every position of the ascending local
    document numbers ``wanted`` (int64 array) that are in a
    :class:`CompactLeafMatcher`'s list of positional values, one entry per
    position, reading only the blocks that can hold them. None when a block
    has 4-byte float weights (not whole numbers): use :func:`values_at`."""
    postings = decode_postings(matcher, wanted.tolist(), values=True)
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
            value, pos = _read_varint(raw, pos)
            values.append(value)
    return values, pos


def values_at(matcher: Any, wanted: list[int]) -> dict[int, bytes]:
    """The posting values (positions) of the ascending local document numbers
    ``wanted`` that are in a :class:`CompactLeafMatcher`'s list, decoding
    only the blocks that can hold them; in a block, the values are sliced
    out by their sizes."""
    found: dict[int, bytes] = {}
    i = 0
    n = len(wanted)
    while not matcher._atend and i < n:
        if wanted[i] > matcher._maxid:
            matcher._next_block()
            continue
        j = i
        while j < n and wanted[j] <= matcher._maxid:
            j += 1
        targets = wanted[i:j]
        i = j
        raw = matcher.block_head()
        count = matcher._blocklength
        id_list, _weights, pos = _block_head(raw, count)
        at = [bisect_left(id_list, d) for d in targets]
        wanted_at = [k for k, d in zip(at, targets, strict=True) if k < count and id_list[k] == d]
        if not wanted_at:
            matcher._next_block()
            continue
        sizes, pos = _skip_varints(raw, pos, count)
        data = matcher.block_values()
        starts = list(accumulate(sizes, initial=0))
        for k in wanted_at:
            found[id_list[k]] = data[starts[k] : starts[k + 1]]
        matcher._next_block()
    return found


def _decode_values(buf: Any, sizes: Any, docnums: Any) -> tuple[Any, Any]:
    """``(docnums, positions)`` from the concatenated
    :class:`~clipsearch.postings.VarintPositions` values (``count,
    delta...``) of ``buf``, of the given byte ``sizes``, one per document."""
    import numpy as np

    ends = np.flatnonzero(buf < 0x80)
    if not len(ends):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    codes = _from_ends(buf, ends, np.diff(ends, prepend=-1))
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
    position, from :class:`~clipsearch.postings.VarintPositions` values
    (``count, delta...``) by document number; decoded in one numpy pass."""
    import numpy as np

    chunks = list(values.values())
    buf = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    sizes = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks))
    return _decode_values(buf, sizes, np.fromiter(values, dtype=np.int64, count=len(chunks)))


#: Field lengths as Whoosh's length bytes decode them (0: none).
_BYTE_LENGTHS = [0] + [byte_to_length(b) for b in range(1, 256)]


class CompactFieldWriter(W3FieldWriter):
    """``W3FieldWriter`` whose ``add_postings`` (the sorted postings of a new
    or merged segment to the terms and postings files) reads each field's
    lengths once, not posting by posting."""

    def add_postings(self, schema: Any, lengths: Any, items: Any) -> None:
        """Whoosh's ``FieldWriter.add_postings`` loop, the same calls and
        checks, with each document's field length (for the blocks' min and
        max lengths) from a list made per field: Whoosh reads it from the
        length column for every posting: 17% of a 2,000-clipping build's profile."""
        lastfn: str | None = None
        lasttext: bytes | None = None
        field_lengths: list[int] = []
        add: Any = None
        for fieldname, btext, docnum, weight, value in items:
            if fieldname != lastfn:
                if lastfn is not None and fieldname < lastfn:
                    raise OutOfOrderError(f"Field {lastfn!r} .. {fieldname!r}")
                if lasttext is not None:
                    self.finish_term()
                if lastfn is not None:
                    self.finish_field()
                self.start_field(fieldname, schema[fieldname])
                field_lengths = _field_lengths(lengths, fieldname)
                lastfn, lasttext = fieldname, None
            if docnum == -1:  # a spelling word (Whoosh's HACK): not a posting
                continue
            if btext != lasttext:
                if lasttext is not None:
                    if btext < lasttext:
                        raise OutOfOrderError(f"Term {lastfn}:{lasttext!r} .. {fieldname}:{btext!r}")
                    self.finish_term()
                self.start_term(btext)
                lasttext = btext
                add = self._postwriter.add_posting
            add(docnum, weight, value or b"", field_lengths[docnum] if field_lengths else 0)
        if lasttext is not None:
            self.finish_term()
        if lastfn is not None:
            self.finish_field()


def _field_lengths(lengths: Any, fieldname: str) -> list[int]:
    """Every document's length of a field as ``lengths.doc_field_length``
    gives it (0 for none; empty: no lengths at all). A new segment's W3
    reader is read from its length column; any other (the parallel writer
    merges several) document by document."""
    if not lengths:
        return []
    count = lengths.doc_count_all()
    if isinstance(lengths, W3PerDocReader):
        column = lengths._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        return [_BYTE_LENGTHS[column[d]] for d in range(count)] if column is not None else []
    return [lengths.doc_field_length(d, fieldname) or 0 for d in range(count)]


#: Postings per block. Whoosh's 128 suits its per-posting matchers; a whole
#: list decoded at once pays per block (header, slice, zlib), and bigger
#: blocks also compress better.
BLOCK_POSTINGS = 512


class CompactCodec(W3Codec):
    """Whoosh's W3 codec with :class:`CompactPostingsWriter` blocks of up to
    :data:`BLOCK_POSTINGS` postings."""

    def __init__(self, blocklimit: int = BLOCK_POSTINGS, compression: int = 3, inlinelimit: int = 1) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def field_writer(self, storage: Any, segment: Any) -> Any:
        return CompactFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        if byteids:  # term vectors: not used by clipsearch; Whoosh's own blocks
            return super().postings_writer(dbfile, byteids=True)
        return CompactPostingsWriter(
            dbfile, blocklimit=self._blocklimit, compression=self._compression, inlinelimit=self._inlinelimit
        )

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None) -> Any:
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return CompactLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)
