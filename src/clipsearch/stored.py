"""Stored fields of an open index reader, by document number.

Whoosh keeps each segment's stored fields in a ``_stored`` column: one
zlib-compressed pickle per document, then the array of their byte lengths.
Its column reader derives the offsets from the lengths in a Python loop over
every document of the segment (it writes them only above 32,768 documents):
at 80,000 clippings that was 15-20 ms of a cold ``clipsearch query``, which
reads ten documents. :class:`StoredFields` reads the same column with the
offsets as one cumulative sum and decodes only the documents asked for.
"""

from __future__ import annotations

import pickle
import zlib
from bisect import bisect_right
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["StoredFields"]

_COLUMN = "_stored"


class _Column:
    """One segment's ``_stored`` column: its file, where it starts, and each
    document's offset and length within it."""

    __slots__ = ("base", "dbfile", "lengths", "offsets")

    def __init__(self, dbfile: Any, base: int, length: int, count: int) -> None:
        self.dbfile = dbfile
        self.base = base
        last = base + length - 1
        code = chr(dbfile.get_byte(last))
        offsets: npt.NDArray[np.int64] | None = None
        if code == "X":  # offsets written after the lengths (see whoosh.columns.VarBytesColumn)
            code = chr(dbfile.get_byte(last - 2))
            offsets_code = chr(dbfile.get_byte(last - 1))
            offsets_type = np.dtype(offsets_code).newbyteorder(">")
            last = last - 2 - count * offsets_type.itemsize
            offsets = np.frombuffer(dbfile.get(last, count * offsets_type.itemsize), dtype=offsets_type)
        lengths_type = np.dtype(code).newbyteorder(">")
        start = last - count * lengths_type.itemsize
        self.lengths = np.frombuffer(dbfile.get(start, count * lengths_type.itemsize), dtype=lengths_type).astype(
            np.int64
        )
        if offsets is None:
            offsets = np.zeros(count, dtype=np.int64)
            np.cumsum(self.lengths[:-1], out=offsets[1:])
        self.offsets = offsets.astype(np.int64)

    def __getitem__(self, docnum: int) -> dict[str, Any]:
        length = int(self.lengths[docnum])
        if not length:
            return {}
        data = zlib.decompress(self.dbfile.get(self.base + int(self.offsets[docnum]), length))
        fields: dict[str, Any] = pickle.loads(data) if data else {}  # Whoosh stores None as b""
        return fields


class StoredFields:
    """The stored fields of a reader's documents, as Whoosh's
    ``reader.stored_fields(docnum)`` returns them."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self._leaves = [(offset, leaf) for leaf, offset in reader.leaf_readers()]
        self._starts = [offset for offset, _ in self._leaves]
        self._columns: dict[int, _Column | None] = {}

    def _column(self, leaf: int) -> _Column | None:
        if leaf not in self._columns:
            reader = self._leaves[leaf][1]
            perdoc = getattr(reader, "_perdoc", None)
            column = None
            if perdoc is not None and hasattr(perdoc, "_colfiles") and perdoc.has_column(_COLUMN):
                # Registered with the reader, which closes it.
                if _COLUMN not in perdoc._colfiles:
                    perdoc._colfiles[_COLUMN] = perdoc._get_column_file(_COLUMN)
                dbfile, base, length = perdoc._colfiles[_COLUMN]
                column = _Column(dbfile, base, length, reader.doc_count_all())
            self._columns[leaf] = column
        return self._columns[leaf]

    def __call__(self, docnum: int) -> dict[str, Any]:
        """The stored fields of document ``docnum`` (``{}`` if it has none)."""
        leaf = bisect_right(self._starts, docnum) - 1
        if leaf < 0:
            raise IndexError(docnum)
        offset, reader = self._leaves[leaf]
        column = self._column(leaf)
        if column is None:
            fields: dict[str, Any] = reader.stored_fields(docnum - offset)
            return fields
        return column[docnum - offset]
