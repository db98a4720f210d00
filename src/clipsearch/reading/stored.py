"""Stored fields of one generation of an index, by document number.

Each segment keeps its stored fields in a ``_stored`` column, a pickle per
document, either in blocks of documents
(:class:`clipsearch.codec.stored_blocks.BlocksReader`, the segments
clipsearch writes) or as Whoosh writes them: each pickle zlib-compressed on
its own, then the array of their byte lengths (see
:class:`clipsearch.reading.columns.VarBytesColumn`). Whoosh's column reader
derives the offsets from the lengths in a Python loop over every document
of the segment (it writes them only above 32,768 documents), slow for a
query that reads ten documents. :class:`StoredFields` takes the offsets as
one cumulative sum and decodes only the documents asked for, each checked
against its column's chunk CRCs (if it has them) before it is decoded.
"""

from __future__ import annotations

import pickle
import zlib
from bisect import bisect_right
from typing import Any

from clipsearch.codec.stored_blocks import BlocksReader
from clipsearch.reading.columns import VarBytesColumn
from clipsearch.reading.segments import IndexFiles
from clipsearch.schema import stored_body

__all__ = ["FieldsCache", "StoredFields", "stored_value"]

_COLUMN = "_stored"


class StoredFields:
    """The stored fields of the documents of :class:`~clipsearch.reading.segments.IndexFiles`,
    as Whoosh's ``reader.stored_fields(docnum)`` returns them."""

    def __init__(self, files: IndexFiles) -> None:
        self.files = files
        self._starts = [offset for _segment, offset in files.leaves]
        self._columns: dict[int, VarBytesColumn | BlocksReader | None] = {}

    def _column(self, leaf: int) -> VarBytesColumn | BlocksReader | None:
        if leaf not in self._columns:
            segment = self.files.segments[leaf]
            buf = segment.column(_COLUMN, whole=False)  # each document checked as it is read
            check = segment.check(f".{_COLUMN}.col")
            column: VarBytesColumn | BlocksReader | None = None
            if buf is not None:
                if segment.stored_blocks:
                    column = BlocksReader(buf, check)
                else:
                    column = VarBytesColumn(buf, segment.doc_count_all, check)
            self._columns[leaf] = column
        return self._columns[leaf]

    def __call__(self, docnum: int) -> dict[str, Any]:
        """The stored fields of document ``docnum`` (``{}`` if it has none)."""
        leaf = bisect_right(self._starts, docnum) - 1
        if leaf < 0 or docnum >= self.files.doc_count_all():
            raise IndexError(docnum)
        column = self._column(leaf)
        if column is None:
            return {}
        # a block is decompressed whole; Whoosh's column compresses each document alone
        return stored_value(column[docnum - self._starts[leaf]], compressed=not isinstance(column, BlocksReader))


def stored_value(raw: bytes, *, compressed: bool = True) -> dict[str, Any]:
    """One document's stored fields from its bytes in the ``_stored`` column
    (a pickle, zlib-compressed unless it was in a block; ``{}`` for none)."""
    if not raw:
        return {}
    data = zlib.decompress(raw) if compressed else raw
    fields: dict[str, Any] = pickle.loads(data) if data else {}  # Whoosh stores None as b""
    return fields


class FieldsCache:
    """A query's reads of stored fields, each document read (and its body
    decompressed) once: the hits and "did you mean" share their documents."""

    def __init__(self, stored: StoredFields) -> None:
        self._stored = stored
        self._fields: dict[int, dict[str, Any]] = {}
        self._bodies: dict[int, str] = {}

    def __call__(self, docnum: int) -> dict[str, Any]:
        fields = self._fields.get(docnum)
        if fields is None:
            fields = self._fields[docnum] = self._stored(docnum)
        return fields

    def body(self, docnum: int) -> str:
        body = self._bodies.get(docnum)
        if body is None:
            body = self._bodies[docnum] = stored_body(self(docnum))
        return body
