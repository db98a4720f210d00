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
* block data, in two parts: the head compressed with zlib when that makes
  it smaller, the values only when it makes them at least
  :data:`VALUES_MIN_SAVING` smaller:

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
from whoosh.util.numeric import length_to_byte

from clipsearch.codec.blocks import (
    _APART,
    _HEAD_ZLIB,
    _SIZES_FIRST,
    _VALUES_ZLIB,
    _WEIGHTS_FLOAT,
    _WEIGHTS_INT,
    _WEIGHTS_ONE,
    BLOCK_POSTINGS,
    LENGTH_OF_BYTE,
    BlockCursor,
    _block_head,
    _skip_varints,
    read_block_header,
)
from clipsearch.codec.formats import encode_varints

__all__ = ["CompactCodec"]

_FLOAT = struct.Struct("!f")
_INT = struct.Struct("!i")
#: Blocks smaller than this are never worth compressing.
_COMPRESS_MIN = 48
#: The share of their size zlib must save for a block's values to be kept
#: compressed. Position deltas are nearly random bytes: on common syllables
#: zlib saved about a sixth of them, and decompressing them was about a
#: third of the time taken to read such a syllable's postings (which every
#: multi-word query's sequence bonus does).
VALUES_MIN_SAVING = 1 / 3


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


def _compressed(data: bytes, level: int, min_saving: float = 0.0) -> bytes | None:
    """``data`` compressed with zlib, or None where that does not make it
    smaller by more than ``min_saving`` (a share of its size)."""
    if not level or len(data) < _COMPRESS_MIN:
        return None
    packed = zlib.compress(data, level)
    return packed if len(packed) < len(data) * (1 - min_saving) else None


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
        packed = _compressed(values, self._compression, VALUES_MIN_SAVING)
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
        # The header alone: its length prefix and at most 24 bytes.
        header = self._postfile.get(position, 28)
        count, maxid, flags, minlength, maxlength, maxweight, head_start, head_size, end = read_block_header(header, 0)
        self._lastblock = end < 0
        self._nextoffset = position + abs(end)
        self._flags, self._minlength, self._maxlength, self._maxweight = flags, minlength, maxlength, maxweight
        self._headsize = head_size
        self._blocklength = count
        self._maxid = maxid
        self._dataoffset = position + head_start

    def cursor(self) -> BlockCursor:
        """A :class:`~clipsearch.codec.blocks.BlockCursor` over this matcher's whole list (read into memory)."""
        return BlockCursor(self._postfile.get(self._startoffset, self._length), 0)

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
        return [LENGTH_OF_BYTE[column[d]] for d in range(count)] if column is not None else []
    return [lengths.doc_field_length(d, fieldname) or 0 for d in range(count)]


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
