"""Stored fields compressed in blocks of documents: written by
:class:`BlocksWriter`, read by :class:`BlocksReader`.

Whoosh compresses each document's stored fields on its own (zlib over one
pickle). A clipping's stored fields are a few kilobytes of text, which zlib
compresses poorly alone: it has seen none of the words before. Compressed in
blocks of :data:`BLOCK_BYTES` of consecutive documents, as Lucene stores
its fields, and each block with a preset dictionary: the column's first
:data:`DICTIONARY_BYTES` (the words and names a news archive repeats), the
same text takes about 0.31 of its size instead of 0.58. A document is read
by decompressing its block (about 15 microseconds); the dictionary is
decompressed once per reader.

A column of ``count`` documents:

* the blocks, each the zlib-compressed concatenation of its documents'
  values: the first ones (the seed blocks, up to :data:`DICTIONARY_BYTES`
  of values) alone, the others with the dictionary the seed blocks'
  values make (nothing stored twice);
* the directory: every document's value size (``<u4``), the first document
  of each block (``<u4``) and where each block starts, then where the last
  one ends (``<u8``);
* the trailer (:data:`_TRAILER`): the magic :data:`MAGIC`, the number of
  documents, the number of blocks, where the directory starts and the
  number of seed blocks.

The Whoosh column around it is :class:`clipsearch.codec.compact.StoredBlocksColumn`;
the search path reads it here, without Whoosh.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from clipsearch.errors import IndexVersionError

__all__ = ["BLOCK_BYTES", "DICTIONARY_BYTES", "MAGIC", "BlocksReader", "BlocksWriter"]

#: Uncompressed bytes of documents gathered into one block.
BLOCK_BYTES = 8 * 1024
#: Bytes of the first documents that make the column's preset dictionary.
DICTIONARY_BYTES = 32 * 1024
MAGIC = b"CSB2"
_TRAILER = struct.Struct("<4sIIQI")  # magic, documents, blocks, directory position, seed blocks
_LEVEL = 6
#: Decompressed blocks a reader keeps (a page of hits is often in a few).
_CACHED_BLOCKS = 8


class _Output(Protocol):
    def write(self, data: bytes) -> Any: ...


class BlocksWriter:
    """Writes a column of values, one per document in document order, to
    ``out`` (a file open for writing, positioned where the column starts)."""

    def __init__(self, out: _Output) -> None:
        self._out = out
        self._written = 0
        self._sizes: list[int] = []
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._block_docs: list[int] = []
        self._block_starts: list[int] = []
        #: the seed blocks' values while they are fewer than the dictionary's bytes
        self._seed: list[bytes] = []
        self._seed_bytes = 0
        self._seed_blocks = 0
        self._dictionary: bytes | None = None

    def add(self, docnum: int, value: bytes) -> None:
        """The value of document ``docnum``; documents skipped before it have none."""
        if docnum < len(self._sizes):
            raise ValueError(f"document {docnum} added after document {len(self._sizes) - 1}")
        self._fill(docnum)
        if not self._pending:
            self._block_docs.append(docnum)
        self._sizes.append(len(value))
        self._pending.append(value)
        self._pending_bytes += len(value)
        if self._pending_bytes >= BLOCK_BYTES:
            self._flush()

    def _fill(self, count: int) -> None:
        """Documents with no value up to ``count``."""
        missing = count - len(self._sizes)
        if missing > 0:
            if not self._pending:
                self._block_docs.append(len(self._sizes))
                self._pending.append(b"")
            self._sizes.extend([0] * missing)

    def _flush(self) -> None:
        if not self._pending:
            return
        block = b"".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        if self._dictionary is None:  # a seed block
            packed = zlib.compress(block, _LEVEL)
            self._seed.append(block)
            self._seed_bytes += len(block)
            self._seed_blocks += 1
            if self._seed_bytes >= DICTIONARY_BYTES:
                self._dictionary = b"".join(self._seed)[:DICTIONARY_BYTES]
                self._seed = []
        else:
            compressor = zlib.compressobj(_LEVEL, zdict=self._dictionary)
            packed = compressor.compress(block) + compressor.flush()
        self._block_starts.append(self._written)
        self._out.write(packed)
        self._written += len(packed)

    def finish(self, count: int) -> None:
        """Write what is left, the directory and the trailer, for ``count`` documents."""
        self._fill(count)
        self._flush()
        parts = (
            np.asarray(self._sizes, dtype="<u4").tobytes(),
            np.asarray(self._block_docs, dtype="<u4").tobytes(),
            np.asarray([*self._block_starts, self._written], dtype="<u8").tobytes(),
            _TRAILER.pack(MAGIC, len(self._sizes), len(self._block_docs), self._written, self._seed_blocks),
        )
        for part in parts:
            self._out.write(part)


class BlocksReader:
    """The values of a column :class:`BlocksWriter` wrote, in ``buf`` (its
    bytes). ``check(start, end)``, if given, checks bytes ``start`` to
    ``end`` of ``buf`` before they are read: the directory when the column
    is opened, then each block read."""

    def __init__(self, buf: Any, check: Callable[[int, int], None] | None = None) -> None:
        self._buf = buf
        self._check = check
        end = len(buf)
        if end < _TRAILER.size:
            raise IndexVersionError("a stored fields column too short to read: rebuild the index")
        if check is not None:
            check(end - _TRAILER.size, end)
        magic, count, blocks, directory, seed_blocks = _TRAILER.unpack_from(buf, end - _TRAILER.size)
        size = 4 * count + 4 * blocks + 8 * (blocks + 1)
        if magic != MAGIC or directory + size + _TRAILER.size != end or seed_blocks > blocks:
            raise IndexVersionError("a stored fields column of an unknown format: rebuild the index")
        if check is not None:
            check(directory, directory + size)
        self._seed_blocks = seed_blocks
        self._dictionary: bytes | None = None
        sizes = np.frombuffer(buf, dtype="<u4", count=count, offset=directory).astype(np.int64)
        #: where each document's value starts in the documents' bytes, and where the last one ends
        self._ends = np.concatenate(([0], np.cumsum(sizes)))
        self._block_docs = np.frombuffer(buf, dtype="<u4", count=blocks, offset=directory + 4 * count)
        self._block_starts = np.frombuffer(
            buf, dtype="<u8", count=blocks + 1, offset=directory + 4 * count + 4 * blocks
        )
        if blocks and (int(self._block_starts[-1]) != directory or int(self._block_docs[0]) != 0):
            raise IndexVersionError("a stored fields column of an unknown format: rebuild the index")
        self.count = count
        self._cache: dict[int, bytes] = {}

    def __len__(self) -> int:
        return int(self.count)

    def _block(self, block: int) -> bytes:
        data = self._cache.get(block)
        if data is None:
            start, end = self.block_span(block)
            if self._check is not None:
                self._check(start, end)
            if block < self._seed_blocks:
                data = zlib.decompress(self._buf[start:end])
            else:
                decompressor = zlib.decompressobj(zdict=self._seed_dictionary())
                data = decompressor.decompress(self._buf[start:end]) + decompressor.flush()
                if not decompressor.eof:
                    raise zlib.error("a stored block cut short")
            if len(self._cache) >= _CACHED_BLOCKS:
                self._cache.pop(next(iter(self._cache)))
            self._cache[block] = data
        return data

    def _seed_dictionary(self) -> bytes:
        """The dictionary of the blocks after the seed blocks: the seed blocks' first bytes."""
        if self._dictionary is None:
            seed = b"".join(self._block(block) for block in range(self._seed_blocks))
            self._dictionary = seed[:DICTIONARY_BYTES]
        return self._dictionary

    def block_of(self, docnum: int) -> int:
        """The block holding document ``docnum``."""
        if not 0 <= docnum < self.count:
            raise IndexError(docnum)
        return int(np.searchsorted(self._block_docs, docnum, side="right")) - 1

    def blocks_read(self, docnum: int) -> list[int]:
        """The blocks reading document ``docnum`` decompresses: its own and,
        for one compressed with the dictionary, the seed blocks."""
        block = self.block_of(docnum)
        return [block] if block < self._seed_blocks else [*range(self._seed_blocks), block]

    def block_span(self, block: int) -> tuple[int, int]:
        """Where block ``block`` starts and ends in the column's bytes."""
        return int(self._block_starts[block]), int(self._block_starts[block + 1])

    def __getitem__(self, docnum: int) -> bytes:
        """The value of document ``docnum`` (``b""``: none)."""
        block = self.block_of(docnum)
        start, end = int(self._ends[docnum]), int(self._ends[docnum + 1])
        if start == end:
            return b""
        first = int(self._ends[int(self._block_docs[block])])
        return self._block(block)[start - first : end - first]
