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
  W3), then varints ``count``, ``last id``, three bytes ``compressed``,
  ``min length``, ``max length`` and the max weight as a 4-byte float;
* block data: varint id deltas; weights as a kind byte (all 1 / whole
  numbers as varints / 4-byte floats); values as varint length + bytes
  (concatenated for fixed-size values, nothing for formats without values); compressed with zlib only when
  that makes it smaller.

No magic tag is written. The codec is pickled into the index's table of
contents with each segment, so it lives in an importable module and holds
only its settings.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3LeafMatcher, W3PostingsWriter
from whoosh.util.numeric import byte_to_length, length_to_byte

from .postings import encode_varints

__all__ = ["CompactCodec"]

_FLOAT = struct.Struct("!f")
_INT = struct.Struct("!i")
_WEIGHTS_ONE, _WEIGHTS_INT, _WEIGHTS_FLOAT = 0, 1, 2
#: Blocks smaller than this are never worth compressing.
_COMPRESS_MIN = 48


def _encode_block(ids: Any, weights: Any, values: list[bytes], fixed_size: int | None) -> bytes:
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
        for v in values:
            out += encode_varints((len(v),))
            out += v
    elif fixed_size > 0:
        out += b"".join(values)
    return bytes(out)


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

    def _write_block(self, last: bool = False) -> None:
        self._terminfo.add_block(self)
        ids = self._ids
        data = _encode_block(ids, self._weights, self._values, self._format.fixed_value_size())
        compressed = 0
        if self._compression and len(data) >= _COMPRESS_MIN:
            packed = zlib.compress(data, self._compression)
            if len(packed) < len(data):
                data, compressed = packed, 1
        header = (
            encode_varints((len(ids), ids[-1]))
            + bytes((compressed, length_to_byte(self._minlength), length_to_byte(self._maxlength)))
            + _FLOAT.pack(self._maxweight)
        )
        size = len(header) + len(data)
        self._postfile.write(_INT.pack(-size if last else size))
        self._postfile.write(header)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()


class CompactLeafMatcher(W3LeafMatcher):
    """``W3LeafMatcher`` reading :class:`CompactCodec` blocks."""

    _data: Any
    _ids: Any
    _weights: Any
    _values: Any

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
        self._compression = head[pos]
        self._minlength = byte_to_length(head[pos + 1])
        self._maxlength = byte_to_length(head[pos + 2])
        self._maxweight = _FLOAT.unpack(head[pos + 3 : pos + 7])[0]
        self._blocklength = count
        self._maxid = maxid
        self._dataoffset = start + pos + 7

    def _read_data(self) -> None:
        raw = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        if self._compression:
            raw = zlib.decompress(raw)
        count = self._blocklength
        pos = 0
        ids = []
        base = 0
        for _ in range(count):
            delta, pos = _read_varint(raw, pos)
            base += delta
            ids.append(base)
        kind = raw[pos]
        pos += 1
        weights: Any
        if kind == _WEIGHTS_ONE:
            weights = [1.0] * count
        elif kind == _WEIGHTS_INT:
            weights = []
            for _ in range(count):
                w, pos = _read_varint(raw, pos)
                weights.append(float(w))
        else:
            weights = array("f")
            weights.frombytes(raw[pos : pos + 4 * count])
            pos += 4 * count
        values: Any
        fixed = self._fixedsize
        if fixed == 0:
            values = (None,) * count
        elif fixed is not None:
            values = [bytes(raw[pos + i * fixed : pos + (i + 1) * fixed]) for i in range(count)]
        else:
            values = []
            for _ in range(count):
                size, pos = _read_varint(raw, pos)
                values.append(bytes(raw[pos : pos + size]))
                pos += size
        self._ids, self._weights, self._values = tuple(ids), weights, tuple(values)
        self._data = (self._ids, self._weights, self._values)

    def _read_ids(self) -> None:
        self._read_data()

    def _read_weights(self) -> None:
        self._read_data()

    def _read_values(self) -> None:
        self._read_data()


class CompactCodec(W3Codec):
    """Whoosh's W3 codec with :class:`CompactPostingsWriter` blocks."""

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
