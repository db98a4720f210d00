"""Per-document columns of an index: Whoosh's ``NumericColumn`` and
``VarBytesColumn`` read from a segment's bytes, and the columns the search
filters, sorts and counts by (``day``, ``source_key``) as arrays by document
number.

The columns read whole here come checked whole
(:meth:`clipsearch.reading.segments.Segment.column`); a
:class:`VarBytesColumn` read a document at a time (the stored fields) checks
the bytes it reads, given its part's chunk CRCs' check.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from clipsearch.errors import IndexVersionError
from clipsearch.reading.segments import IndexFiles

__all__ = ["Columns", "VarBytesColumn", "numeric_column"]


def numeric_column(buf: memoryview | None, typecode: str, count: int) -> npt.NDArray[Any]:
    """A Whoosh ``NumericColumn`` of ``count`` documents as an array (0 past
    the values written, Whoosh's default)."""
    dtype = np.dtype(typecode).newbyteorder(">")
    if dtype.itemsize != struct.calcsize("!" + typecode):
        raise IndexVersionError(f"a numeric column of type {typecode!r}: rebuild the index")
    out = np.zeros(count, dtype=dtype.newbyteorder("="))
    if buf is not None:
        stored = min(len(buf) // dtype.itemsize, count)
        out[:stored] = np.frombuffer(buf, dtype=dtype, count=stored)
    return out


class VarBytesColumn:
    """A Whoosh ``VarBytesColumn`` of ``count`` documents: the values, then
    their lengths, then (above 32,768 documents) their offsets; the last
    bytes name the arrays' types. The offsets are derived from the lengths
    in one cumulative sum when they are not written. ``check(start, end)``,
    if given, checks bytes ``start`` to ``end`` of ``buf`` before they are
    read: the arrays when the column is opened, then each value read."""

    __slots__ = ("_buf", "_check", "lengths", "offsets")

    def __init__(self, buf: memoryview, count: int, check: Callable[[int, int], None] | None = None) -> None:
        self._buf = buf
        self._check = check
        last = len(buf) - 1
        if check is not None:
            check(last - 2, last + 1)
        code = chr(buf[last])
        offsets: npt.NDArray[Any] | None = None
        if code == "X":
            code, offsets_code = chr(buf[last - 2]), chr(buf[last - 1])
            offsets_type = np.dtype(offsets_code).newbyteorder(">")
            last = last - 2 - count * offsets_type.itemsize
            if check is not None:
                check(last, len(buf))
            offsets = np.frombuffer(buf, dtype=offsets_type, count=count, offset=last)
        lengths_type = np.dtype(code).newbyteorder(">")
        start = last - count * lengths_type.itemsize
        if check is not None:
            check(start, len(buf))
        self.lengths = np.frombuffer(buf, dtype=lengths_type, count=count, offset=start).astype(np.int64)
        if offsets is None:
            offsets = np.zeros(count, dtype=np.int64)
            np.cumsum(self.lengths[:-1], out=offsets[1:])
        self.offsets = offsets.astype(np.int64)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, docnum: int) -> bytes:
        length = int(self.lengths[docnum])
        if not length:
            return b""
        start = int(self.offsets[docnum])
        if self._check is not None:
            self._check(start, start + length)
        return bytes(self._buf[start : start + length])


class Columns:
    """Per-document values of one generation of the index as arrays by
    document number: ``days`` (``yyyymmdd``, 0 for none), read at once from
    each segment's column; and, on first use, a code per source key
    (``key_codes``, names in ``key_names``; code 0 is no source)."""

    def __init__(self, files: IndexFiles) -> None:
        self.files = files
        self.count = files.doc_count_all()
        self.days = np.zeros(self.count, dtype=np.int64)
        day = files.fields.get("day")
        if day is not None and day.typecode:
            for segment, offset in files.leaves:
                days = numeric_column(segment.column("day"), day.typecode, segment.doc_count_all)
                self.days[offset : offset + len(days)] = days
        self._codes: npt.NDArray[np.int64] | None = None
        self._names: list[str] = [""]
        self._code_of: dict[str, int] = {"": 0}

    @property
    def key_codes(self) -> npt.NDArray[np.int64]:
        return self._source_keys()

    @property
    def key_names(self) -> list[str]:
        self._source_keys()
        return self._names

    @property
    def code_of(self) -> dict[str, int]:
        self._source_keys()
        return self._code_of

    def _source_keys(self) -> npt.NDArray[np.int64]:
        if self._codes is None:
            codes = np.zeros(self.count, dtype=np.int64)
            for segment, offset in self.files.leaves:
                buf = segment.column("source_key")
                if buf is None:
                    continue
                column = VarBytesColumn(buf, segment.doc_count_all)
                for local in range(len(column)):
                    key = column[local].decode("utf-8")
                    code = self._code_of.get(key)
                    if code is None:
                        code = self._code_of[key] = len(self._names)
                        self._names.append(key)
                    codes[offset + local] = code
            self._codes = codes
        return self._codes
