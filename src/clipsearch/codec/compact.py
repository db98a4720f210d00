"""A compact block encoding of Whoosh posting lists.

whoosh-reloaded's ``W3Codec`` writes every posting list as a 4-byte magic
tag and blocks of up to 128 postings, each block a pickled info tuple and a
zlib-compressed pickle of ``(ids, weights, values)``: about 55 bytes of
framing per block, weights pickled as 9-byte floats, and zlib applied even
where it makes the block larger. Most terms of a news archive (names, rare
syllables, compound words) occur in a handful of documents, so the framing
would be most of the posting file.

:class:`CompactCodec` keeps Whoosh's block structure, skipping and scoring,
and changes only the bytes of a block, as :mod:`clipsearch.codec.layout`
describes, writes and reads them: :class:`CompactPostingsWriter` writes the
blocks, :class:`CompactLeafMatcher` is Whoosh's matcher over them (the
search path reads them without Whoosh, :mod:`clipsearch.codec.blocks`).

No magic tag is written. The codec is pickled into the index's table of
contents with each segment, so it lives in an importable module and holds
only its settings.
"""

from __future__ import annotations

import struct
from itertools import accumulate
from operator import lt
from typing import Any

import numpy as np
from whoosh.codec.base import OutOfOrderError
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    W3Codec,
    W3FieldCursor,
    W3FieldWriter,
    W3LeafMatcher,
    W3PerDocReader,
    W3PerDocWriter,
    W3PostingsWriter,
    W3TermInfo,
    W3TermsReader,
)
from whoosh.columns import Column, ColumnReader, ColumnWriter, PickleColumn
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte

from clipsearch.codec.layout import (
    BLOCK_POSTINGS,
    HEAD_ZLIB,
    HEADER_MAX_SIZE,
    LENGTH_OF_BYTE,
    VALUES_ZLIB,
    decompressed,
    encode_block,
    encode_joined_block,
    encode_small_blocks,
    read_block_header,
    read_head,
)
from clipsearch.codec.stored_blocks import BlocksReader, BlocksWriter
from clipsearch.codec.terminfo import decode_term_info, encode_term_info, encode_whole_term_infos
from clipsearch.codec.varints import read_varints

__all__ = ["CompactCodec", "CompactFieldWriter", "CompactTermInfo", "StoredBlocksColumn", "field_lengths"]


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
        block = encode_block(
            self._ids,
            self._weights,
            self._values,
            self._format.fixed_value_size(),
            min_length_byte=length_to_byte(self._minlength),
            max_length_byte=length_to_byte(self._maxlength),
            max_weight=self._maxweight,
            compression=self._compression,
            last=last,
        )
        self._postfile.write(block)
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
        header = self._postfile.get(position, HEADER_MAX_SIZE)  # the header alone
        count, maxid, flags, minlength, maxlength, maxweight, head_start, head_size, end = read_block_header(header, 0)
        self._lastblock = end < 0
        self._nextoffset = position + abs(end)
        self._flags, self._minlength, self._maxlength, self._maxweight = flags, minlength, maxlength, maxweight
        self._headsize = head_size
        self._blocklength = count
        self._maxid = maxid
        self._dataoffset = position + head_start

    def block_head(self) -> bytes:
        """The current block's head (ids, weights, value sizes), uncompressed."""
        raw = self._postfile.get(self._dataoffset, self._headsize)
        return decompressed(raw, self._flags, HEAD_ZLIB)

    def block_values(self) -> bytes:
        """The current block's values (concatenated), uncompressed."""
        start = self._dataoffset + self._headsize
        raw = self._postfile.get(start, self._nextoffset - start)
        return decompressed(raw, self._flags, VALUES_ZLIB)

    def _read_data(self) -> None:
        raw = self.block_head()
        count = self._blocklength
        ids, weights, pos = read_head(raw, count)
        values: Any
        fixed = self._fixedsize
        if fixed == 0:
            values = (None,) * count
        elif fixed is not None:
            data = self.block_values()
            values = [data[i * fixed : (i + 1) * fixed] for i in range(count)]
        else:
            sizes, pos = read_varints(raw, pos, count)
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


class CompactHashWriter(OrderedHashWriter):
    """Whoosh's ordered hash file (the terms file) with hash tables of
    :data:`HASH_LOAD` slots per key rather than two: each slot is 12 bytes
    and most terms of an archive are rare. Any number of slots above the
    keys reads the same (a lookup probes until an empty slot)."""

    lastkey: bytes

    def _write_hashes(self) -> None:
        dbfile = self.dbfile
        for entries in self.buckets:
            numslots = int(len(entries) * HASH_LOAD) + 1 if entries else 0
            self.directory.append((dbfile.tell(), numslots))
            hashtable = [(0, 0)] * numslots
            for hashval, position in entries:
                slot = (hashval >> 8) % numslots
                while hashtable[slot][1]:
                    slot = (slot + 1) % numslots
                hashtable[slot] = (hashval, position)
            dbfile.write(b"".join(_POINTER.pack(hashval, position) for hashval, position in hashtable))

    def add_many(self, keys: list[bytes], values: list[bytes]) -> None:
        """:meth:`add` of each key (increasing) and its value, the records
        written at once."""
        if not keys:
            return
        if keys[0] <= self.lastkey or not all(map(lt, keys, keys[1:])):
            raise ValueError(f"Keys must increase: {self.lastkey!r}..{keys[0]!r}..{keys[-1]!r}")
        dbfile = self.dbfile
        heads = map(_LENGTHS.pack, map(len, keys), map(len, values))
        records = list(map(b"".join, zip(heads, keys, values, strict=True)))
        positions = list(accumulate(map(len, records), initial=dbfile.tell()))[:-1]
        dbfile.write(b"".join(records))
        buckets = self.buckets
        for hashval, position in zip(map(self.hashfn, keys), positions, strict=True):
            buckets[hashval & 255].append((hashval, position))
        self.index.extend(positions)
        self.lastkey = keys[-1]


#: Hash table slots per key of a terms file (Whoosh: 2).
HASH_LOAD = 1.25
_POINTER = struct.Struct("!Iq")
#: A record's key and value lengths, as Whoosh's hash files write them.
_LENGTHS = struct.Struct("!ii")


class CompactFieldWriter(W3FieldWriter):
    """``W3FieldWriter`` writing its terms with :class:`CompactHashWriter`
    and whose ``add_postings`` (the sorted postings of a new or merged
    segment to the terms and postings files) reads each field's lengths
    once, not posting by posting."""

    def __init__(self, codec: Any, storage: Any, segment: Any) -> None:
        """W3's, with the terms file's writer a :class:`CompactHashWriter`."""
        self._codec = codec
        self._storage = storage
        self._segment = segment
        self._fieldname: Any = None
        self._fieldid: Any = None
        self._btext: Any = None
        self._fieldobj: Any = None
        self._format: Any = None
        self._tindex = CompactHashWriter(self._create_file(W3Codec.TERMS_EXT))
        self._fieldmap: dict[str, int] = {}
        self._tindex.extras["fieldmap"] = self._fieldmap
        self._postfile = self._create_file(W3Codec.POSTS_EXT)
        self._postwriter: Any = None
        self._infield = False
        self.is_closed = False

    def add_postings(self, schema: Any, lengths: Any, items: Any) -> None:
        """Whoosh's ``FieldWriter.add_postings`` loop, the same calls and
        checks, with each document's field length (for the blocks' min and
        max lengths) from a list made per field: Whoosh reads it from the
        length column for every posting."""
        lastfn: str | None = None
        lasttext: bytes | None = None
        doc_lengths: list[int] = []
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
                doc_lengths = field_lengths(lengths, fieldname)
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
            add(docnum, weight, value or b"", doc_lengths[docnum] if doc_lengths else 0)
        if lasttext is not None:
            self.finish_term()
        if lastfn is not None:
            self.finish_field()

    def start_term(self, btext: bytes) -> None:
        """W3's ``start_term`` with a :class:`CompactTermInfo`."""
        self._btext = btext
        self._postwriter.start_postings(self._fieldobj.format, CompactTermInfo())

    def finish_term(self) -> None:
        """W3's ``finish_term``, writing a :class:`CompactTermInfo` for a
        codec with compact term infos."""
        if not self._codec.compact_terms:
            super().finish_term()
            return
        terminfo = self._postwriter.finish_postings()
        self._tindex.add(_pack_field(self._fieldid) + self._btext, CompactTermInfo.bytes_of(terminfo))

    def write_term(
        self,
        btext: bytes,
        ids: list[int],
        weights: list[float],
        lengths: list[int],
        sizes: list[int] | None,
        data: bytes,
    ) -> None:
        """Write a whole term of the current field at once: its postings'
        ``ids`` (ascending), ``weights``, the ``lengths`` of their documents'
        field (0: none), the ``sizes`` of their values (None: a format of
        fixed-size values) and the values joined in ``data``. The same bytes
        as :meth:`start_term`, ``add`` per posting and :meth:`finish_term`."""
        self._tindex.add(_pack_field(self._fieldid) + btext, self._term_value(ids, weights, lengths, sizes, data))

    def _term_value(
        self, ids: list[int], weights: list[float], lengths: list[int], sizes: list[int] | None, data: bytes
    ) -> bytes:
        """Write a term's postings (:meth:`write_term`) to the postings file;
        its term info's bytes."""
        postwriter = self._postwriter
        limit = postwriter._blocklimit
        fixed = self._format.fixed_value_size()
        postfile = self._postfile
        count = len(ids)
        terminfo = W3TermInfo()
        terminfo._df = count
        terminfo._minid, terminfo._maxid = ids[0], ids[-1]
        if count < postwriter._inlinelimit:
            values = _split(data, sizes, fixed, count) if data else []
            terminfo._weight = float(sum(weights))
            terminfo._maxweight = max(0.0, *weights)
            present = [length for length in lengths if length]
            terminfo._minlength = min(present) if present else None
            terminfo._maxlength = max(0, *lengths)
            terminfo.set_inlined(ids, weights, values)
        else:
            start = postfile.tell()
            offset = 0
            total = 0.0
            minlength: int | None = None
            maxlength = 0
            maxweight = 0.0
            for first in range(0, count, limit):
                last = min(count, first + limit)
                block_weights = weights[first:last]
                block_lengths = lengths[first:last]
                present = [length for length in block_lengths if length]
                low = min(present) if present else None
                high = max(0, *block_lengths)
                top = max(0.0, *block_weights)
                if sizes is None:
                    block_sizes = None
                    end = offset + (fixed or 0) * (last - first)
                else:
                    block_sizes = sizes[first:last]
                    end = offset + sum(block_sizes)
                postfile.write(
                    encode_joined_block(
                        ids[first:last],
                        block_weights,
                        block_sizes,
                        data[offset:end],
                        min_length_byte=length_to_byte(low),
                        max_length_byte=length_to_byte(high),
                        max_weight=top,
                        compression=postwriter._compression,
                        last=last == count,
                    )
                )
                offset = end
                total += sum(block_weights)
                if minlength is None:
                    minlength = low
                elif low is not None:
                    minlength = min(minlength, low)
                maxlength = max(maxlength, high)
                maxweight = max(maxweight, top)
            terminfo._weight, terminfo._maxweight = total, maxweight
            terminfo._minlength, terminfo._maxlength = minlength, maxlength
            terminfo.set_extent(start, postfile.tell() - start)
        return CompactTermInfo.bytes_of(terminfo) if self._codec.compact_terms else terminfo.to_bytes()

    def write_terms(
        self, btexts: list[bytes], bounds: Any, ids: Any, weights: Any, lengths: Any, sizes: Any, data: Any
    ) -> None:
        """:meth:`write_term` of many terms of the current field, in order:
        term ``k``'s postings are ``bounds[k]:bounds[k + 1]`` of ``ids``,
        ``weights`` and ``lengths`` (numpy arrays), ``sizes`` the sizes of
        their values (None: a format without values) and ``data`` the
        values joined (uint8). The same bytes. The terms of whole weights
        whose postings fit one block that zlib would not be tried on (most:
        those of a few postings) are encoded together with numpy
        (:func:`~clipsearch.codec.layout.encode_small_blocks`,
        :func:`~clipsearch.codec.terminfo.encode_whole_term_infos`), the
        others one by one."""
        postwriter = self._postwriter
        bounds = np.asarray(bounds, dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        counts, firsts, lasts = np.diff(bounds), bounds[:-1], bounds[1:] - 1
        data = np.asarray(data, dtype=np.uint8)
        weights = np.asarray(weights, dtype=np.float32)
        exact = weights.astype(np.float64)
        value_sizes = np.zeros(len(ids), dtype=np.int64) if sizes is None else np.asarray(sizes, dtype=np.int64)
        data_sizes = np.add.reduceat(value_sizes, firsts) if len(firsts) else np.zeros(0, dtype=np.int64)
        data_starts = np.cumsum(data_sizes) - data_sizes
        fixed = self._format.fixed_value_size()
        shaped = (fixed is None) if sizes is not None else (fixed == 0)
        whole = np.logical_and.reduceat((exact == np.floor(exact)) & (exact >= 0), firsts)
        totals = np.add.reduceat(exact, firsts)
        inline = counts < postwriter._inlinelimit
        together = whole & (totals < _WHOLE_LIMIT) & (inline | (counts <= postwriter._blocklimit))
        together &= bool(shaped and self._codec.compact_terms)
        present = np.where(lengths > 0, lengths, _NO_LENGTH)
        min_lengths = np.minimum.reduceat(present, firsts)
        min_bytes = np.where(min_lengths == _NO_LENGTH, 0, _length_bytes(min_lengths))
        max_bytes = _length_bytes(np.maximum.reduceat(lengths, firsts))
        max_weights = np.maximum(np.maximum.reduceat(exact, firsts), 0.0)
        # the blocks of those with postings in the postings file
        blocky = together & ~inline
        postings, in_data = np.repeat(blocky, counts), np.repeat(blocky, data_sizes)
        fits, blocks, block_sizes = encode_small_blocks(
            counts[blocky],
            ids[postings],
            exact[postings],
            None if sizes is None else value_sizes[postings],
            data[in_data],
            data_sizes[blocky],
            min_length_byte=min_bytes[blocky],
            max_length_byte=max_bytes[blocky],
            max_weight=max_weights[blocky],
            compression=postwriter._compression,
        )
        together[np.flatnonzero(blocky)[~fits]] = False
        block_of = np.zeros(len(btexts), dtype=np.int64)
        block_of[np.flatnonzero(blocky)[fits]] = block_sizes
        block_starts = np.cumsum(block_of) - block_of
        # the postings file: those blocks in order, the other terms' written one by one in between
        values: list[bytes] = [b""] * len(btexts)
        postfile = self._postfile
        base = postfile.tell()
        raw = blocks.tobytes()
        written = 0
        others_size = np.zeros(len(btexts), dtype=np.int64)
        for k in np.flatnonzero(~together).tolist():
            upto = int(block_starts[k])
            postfile.write(raw[written:upto])
            written = upto
            a, b = int(bounds[k]), int(bounds[k + 1])
            before = postfile.tell()
            values[k] = self._term_value(
                ids[a:b].tolist(),
                weights[a:b].tolist(),
                lengths[a:b].tolist(),
                None if sizes is None else value_sizes[a:b].tolist(),
                data[int(data_starts[k]) : int(data_starts[k] + data_sizes[k])].tobytes(),
            )
            others_size[k] = postfile.tell() - before
        postfile.write(raw[written:])
        # the term infos of those encoded together
        chosen = np.flatnonzero(together)
        offsets = base + block_starts + np.cumsum(others_size) - others_size
        infos, info_sizes = encode_whole_term_infos(
            totals[chosen],
            counts[chosen],
            min_bytes[chosen],
            max_bytes[chosen],
            max_weights[chosen],
            ids[firsts[chosen]],
            ids[lasts[chosen]],
            (offsets[chosen], block_of[chosen]),
            inline[chosen],
            (data[np.repeat(together, data_sizes)], data_sizes[chosen]),
        )
        raw = infos.tobytes()
        ends = np.cumsum(info_sizes).tolist()
        for k, start, end in zip(chosen.tolist(), [0, *ends][:-1], ends, strict=True):
            values[k] = raw[start:end]
        prefix = _pack_field(self._fieldid)
        self._tindex.add_many([prefix + btext for btext in btexts], values)


def _length_bytes(lengths: Any) -> Any:
    """Whoosh's ``length_to_byte`` of each of ``lengths`` (numpy)."""
    found = np.searchsorted(_LENGTH_TABLE, lengths, side="left")
    return np.where(lengths >= LENGTH_OF_BYTE[-1], 255, found)


#: Whoosh's lengths table, as numpy searches it.
_LENGTH_TABLE = np.asarray(LENGTH_OF_BYTE, dtype=np.int64)
#: Longer than any field (no length present).
_NO_LENGTH = 1 << 62
#: Term weights below this are written as varints (as in :mod:`clipsearch.codec.terminfo`).
_WHOLE_LIMIT = float(1 << 53)


def _pack_field(fieldid: int) -> bytes:
    """A terms file key's field number, as W3's terms writer packs it."""
    return fieldid.to_bytes(2, "big")


def _split(data: bytes, sizes: list[int] | None, fixed: int | None, count: int) -> list[bytes]:
    """Joined values split again (for an inlined term)."""
    if sizes is None:
        size = fixed or 0
        return [data[i * size : (i + 1) * size] for i in range(count)]
    values = []
    at = 0
    for size in sizes:
        values.append(data[at : at + size])
        at += size
    return values


def field_lengths(lengths: Any, fieldname: str) -> list[int]:
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


class CompactTermInfo(W3TermInfo):
    """W3's term info written as :mod:`clipsearch.codec.terminfo` writes it:
    varints, and the posting of a term of one document inline."""

    @staticmethod
    def bytes_of(terminfo: W3TermInfo) -> bytes:
        """The compact bytes of a W3 term info."""
        minlength = 0 if terminfo._minlength is None else length_to_byte(terminfo._minlength)
        maxlength = length_to_byte(terminfo._maxlength)
        minid = 0 if terminfo._minid is None else terminfo._minid
        maxid = minid if terminfo._maxid is None else terminfo._maxid
        fields = (terminfo._weight, terminfo._df, minlength, maxlength, terminfo._maxweight, minid, maxid)
        if terminfo.is_inlined():
            _ids, _weights, values = terminfo.inlined_postings()
            return encode_term_info(*fields, value=values[0] if values else None)
        return encode_term_info(*fields, extent=terminfo.extent())

    def to_bytes(self) -> bytes:
        return self.bytes_of(self)

    def set_inline(self, ids: Any, weights: Any, values: Any) -> None:
        """What W3's postings writer calls (W3's term info names it ``set_inlined``)."""
        self.set_inlined(ids, weights, values)

    @classmethod
    def from_bytes(cls, s: Any) -> CompactTermInfo:
        fields = decode_term_info(s)
        terminfo = cls()
        terminfo._weight, terminfo._df = fields.weight, fields.doc_frequency
        terminfo._minlength = byte_to_length(fields.min_length_byte)
        terminfo._maxlength = byte_to_length(fields.max_length_byte)
        terminfo._maxweight = fields.max_weight
        terminfo._minid, terminfo._maxid = fields.min_id, fields.max_id
        if fields.extent is None:
            terminfo._inlined = ((fields.min_id,), (fields.weight,), (fields.value or b"",))
        else:
            terminfo._offset, terminfo._length = fields.extent
        return terminfo


class CompactFieldCursor(W3FieldCursor):
    """W3's cursor over a field's terms, reading :class:`CompactTermInfo`."""

    def term_info(self) -> CompactTermInfo | None:
        if self._pos is None:
            return None
        return CompactTermInfo.from_bytes(self._tindex.dbfile.get(self._datapos, self._datalen))


class CompactTermsReader(W3TermsReader):
    """W3's terms reader, reading :class:`CompactTermInfo`."""

    def cursor(self, fieldname: str, fieldobj: Any) -> CompactFieldCursor:
        return CompactFieldCursor(self._tindex, fieldname, self._keycoder, self._keydecoder, fieldobj)

    def items(self) -> Any:
        decode = self._keydecoder
        return ((decode(key), CompactTermInfo.from_bytes(value)) for key, value in self._tindex.items())

    def items_from(self, fieldname: str, prefix: bytes) -> Any:
        decode = self._keydecoder
        start = self._keycoder(fieldname, prefix)
        return ((decode(key), CompactTermInfo.from_bytes(value)) for key, value in self._tindex.items_from(start))

    def term_info(self, fieldname: str, tbytes: bytes) -> CompactTermInfo:
        try:
            return CompactTermInfo.from_bytes(self._tindex[self._keycoder(fieldname, tbytes)])
        except KeyError:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}") from None

    def frequency(self, fieldname: str, tbytes: bytes) -> float:
        """The term's total weight (a KeyError if it is not here, as W3's)."""
        return decode_term_info(self._tindex[self._keycoder(fieldname, tbytes)]).weight

    def doc_frequency(self, fieldname: str, tbytes: bytes) -> int:
        """The term's document frequency (a KeyError if it is not here, as W3's)."""
        return decode_term_info(self._tindex[self._keycoder(fieldname, tbytes)]).doc_frequency


class StoredBlocksColumn(Column):
    """A Whoosh column of byte strings compressed in blocks of documents
    (:mod:`clipsearch.codec.stored_blocks`)."""

    reversible = False

    def writer(self, dbfile: Any) -> Any:
        return _BlocksColumnWriter(dbfile)

    def reader(self, dbfile: Any, basepos: int, length: int, doccount: int) -> Any:
        return _BlocksColumnReader(dbfile, basepos, length, doccount)


class _BlocksColumnWriter(ColumnWriter):
    def __init__(self, dbfile: Any) -> None:
        super().__init__(dbfile)
        self._blocks = BlocksWriter(dbfile)

    def add(self, docnum: int, value: bytes) -> None:
        self._blocks.add(docnum, value)

    def finish(self, doccount: int) -> None:
        self._blocks.finish(doccount)


class _BlocksColumnReader(ColumnReader):
    def __init__(self, dbfile: Any, basepos: int, length: int, doccount: int) -> None:
        super().__init__(dbfile, basepos, length, doccount)
        self._blocks = BlocksReader(dbfile.get(basepos, length))

    def __getitem__(self, docnum: int) -> bytes:
        return self._blocks[docnum]

    def __iter__(self) -> Any:
        return (self._blocks[docnum] for docnum in range(self._doccount))


#: The stored fields of a segment written with stored blocks: a pickle per
#: document, in blocks (Whoosh's ``STORED_COLUMN`` compresses each pickle alone).
STORED_BLOCKS_COLUMN = PickleColumn(StoredBlocksColumn())


class CompactPerDocWriter(W3PerDocWriter):
    """``W3PerDocWriter`` writing the stored fields in blocks."""

    def _create_column(self, fieldname: str, column: Any) -> None:
        super()._create_column(fieldname, STORED_BLOCKS_COLUMN if fieldname == "_stored" else column)


class CompactPerDocReader(W3PerDocReader):
    """``W3PerDocReader`` reading the stored fields from blocks."""

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        reader = self._cached_reader("_stored", STORED_BLOCKS_COLUMN)
        value = reader[docnum] if reader is not None else None
        return value if value is not None else {}


class CompactCodec(W3Codec):
    """Whoosh's W3 codec with :class:`CompactPostingsWriter` blocks of up to
    :data:`~clipsearch.codec.layout.BLOCK_POSTINGS` postings and, for the
    segments it writes, :class:`CompactTermInfo` term infos (a term of one
    document inline: ``inlinelimit`` at most 2) and stored fields in blocks
    of documents (:class:`CompactPerDocWriter`). A segment keeps the codec that wrote it
    (pickled in the table of contents): one written before stored blocks
    has a codec without ``stored_blocks``, read the class's False."""

    #: Whether this codec's segments keep their stored fields in blocks.
    stored_blocks = False
    #: Whether their term infos are :class:`CompactTermInfo` (and a term of
    #: one document keeps its posting inline).
    compact_terms = False

    def __init__(self, blocklimit: int = BLOCK_POSTINGS, compression: int = 3, inlinelimit: int = 2) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=min(inlinelimit, 2))
        self.stored_blocks = True
        self.compact_terms = True

    def terms_reader(self, storage: Any, segment: Any) -> Any:
        if not self.compact_terms:
            return super().terms_reader(storage, segment)
        name = segment.make_filename(self.TERMS_EXT)
        postings = segment.open_file(storage, self.POSTS_EXT)
        return CompactTermsReader(self, storage.open_file(name), storage.file_length(name), postings)

    def per_document_writer(self, storage: Any, segment: Any) -> Any:
        if self.stored_blocks:
            return CompactPerDocWriter(self, storage, segment)
        return super().per_document_writer(storage, segment)

    def per_document_reader(self, storage: Any, segment: Any) -> Any:
        if self.stored_blocks:
            return CompactPerDocReader(storage, segment)
        return super().per_document_reader(storage, segment)

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
