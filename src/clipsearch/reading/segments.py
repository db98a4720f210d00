"""The files of an index read directly, without importing Whoosh.

Whoosh (whoosh-reloaded 2.7) writes an index as:

* a table of contents per generation, ``_<name>_<generation>.toc``
  (:mod:`clipsearch.reading.toc`): a few numbers, the pickled schema, then
  the pickled list of segments;
* per segment, a compound file ``<name>_<segment id>.seg``: a directory
  (pickled) of its sub-files, which are

  - ``.trm``, the terms (:mod:`clipsearch.reading.terms`): term -> term
    info, the term's statistics, then its postings inline or where they are
    in ``.pst``;
  - ``.pst``, the posting lists, in :mod:`clipsearch.codec.layout` blocks;
  - ``.<column>.col``, per-document columns: each field's lengths
    (``_<field>_len``, one byte per document), the stored fields
    (``_stored``), ``day``, ``source_key`` and others.

Whoosh writes all of it (:mod:`clipsearch.writing.build`). Reading it, though, needs
little of Whoosh's reader, and importing Whoosh is slow for a cold ``clipsearch
query`` (``whoosh.compat`` imports ``urllib.request`` and with it http, email
and ssl; the ``cached_property`` package imports asyncio). So the search path
reads the files here, with the standard library and numpy, from memory maps.
The pickles hold Whoosh's and clipsearch's classes; they are loaded with
stand-ins (:mod:`clipsearch.pickles`) that keep the objects' state without
importing their modules. The tests compare every reading here with Whoosh's reader.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from pathlib import Path
from typing import Any, NamedTuple

from clipsearch.codec.blocks import BlockCursor, decode_postings
from clipsearch.errors import IndexNotFoundError, IndexVersionError
from clipsearch.pickles import load_stand_ins
from clipsearch.reading.terms import TermsFile
from clipsearch.reading.toc import latest_generation, read_toc, toc_path
from clipsearch.schema import RENAMED_CLASSES

__all__ = [
    "IndexFiles",
    "Inline",
    "Segment",
    # Re-exported from clipsearch.reading.toc for clipsearch.search and clipsearch.writing.build.
    "latest_generation",
    "toc_path",
]

_TERM_INFO = struct.Struct("!BfIBBfII")  # flags, weight, doc freq, min/max length, max weight, min/max id
_LONG_INT = struct.Struct("!qi")


def _map(path: Path) -> Any:
    """A read-only memory map of a file (an empty file: empty bytes)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class _Files:
    """A segment's sub-files by extension: views of its compound file, or
    of files of their own."""

    def __init__(self, folder: Path, segment_name: str, compound: bool) -> None:
        self._maps: list[Any] = []
        self._ranges: dict[str, tuple[Any, int, int]] = {}
        if compound:
            data = _map(folder / f"{segment_name}.seg")
            self._maps.append(data)
            directory_at, _length = _LONG_INT.unpack_from(data, 0)
            directory = load_stand_ins(data[directory_at:], RENAMED_CLASSES)
            for sub, info in directory.items():
                self._ranges[sub] = (data, info["offset"], info["length"])
        else:
            for entry in os.listdir(folder):
                if entry.startswith(segment_name + "."):
                    data = _map(folder / entry)
                    self._maps.append(data)
                    self._ranges[entry] = (data, 0, len(data))
        self._name = segment_name

    def get(self, ext: str) -> memoryview | None:
        """The sub-file ``<segment><ext>``, or None."""
        found = self._ranges.get(self._name + ext)
        if found is None:
            return None
        data, offset, length = found
        return memoryview(data)[offset : offset + length]

    def close(self) -> None:
        for data in self._maps:
            if isinstance(data, mmap.mmap):
                with contextlib.suppress(BufferError):  # a view still held: the map goes with it
                    data.close()
        self._maps = []


class Inline(NamedTuple):
    """The postings Whoosh keeps in the term info itself (a term of one document)."""

    ids: tuple[int, ...]
    weights: tuple[float, ...]
    values: tuple[Any, ...]


class _TermInfo(NamedTuple):
    doc_frequency: int
    postings: Inline | tuple[int, int]  # inline postings, or (offset, length) in the postings file


def _term_info(raw: memoryview) -> _TermInfo:
    flags, _weight, df, _minl, _maxl, _maxw, _minid, _maxid = _TERM_INFO.unpack_from(raw, 0)
    if flags:
        ids, weights, values = load_stand_ins(raw[_TERM_INFO.size :], RENAMED_CLASSES)
        return _TermInfo(df, Inline(tuple(ids), tuple(weights), tuple(values)))
    offset, length = _LONG_INT.unpack_from(raw, _TERM_INFO.size)
    return _TermInfo(df, (offset, length))


class Segment:
    """One segment of the index: its documents, terms, postings and columns."""

    def __init__(self, folder: Path, info: Any) -> None:
        try:
            name = f"{info.indexname}_{info.segid}"
            self.doc_count_all: int = int(info._doccount)
            self.deleted: frozenset[int] = frozenset(info._deleted or ())
            self.field_lengths: dict[str, int] = dict(info._fieldlengths or {})
            compound = bool(getattr(info, "compound", False))
        except AttributeError as exc:
            raise IndexVersionError(f"a segment this version cannot read ({exc}): rebuild the index") from None
        self._files = _Files(folder, name, compound)
        terms = self._files.get(".trm")
        self._terms = TermsFile(terms) if terms is not None else None
        self._postings = self._files.get(".pst")
        self._infos: dict[tuple[str, str], _TermInfo | None] = {}

    def term_info(self, field: str, text: str) -> _TermInfo | None:
        """A term's document frequency and where its postings are (None: not in this segment)."""
        key = (field, text)
        if key in self._infos:
            return self._infos[key]
        raw = self._terms.get(field, text.encode("utf-8")) if self._terms is not None else None
        info = _term_info(raw) if raw is not None else None
        if len(self._infos) >= 65536:
            self._infos.clear()
        self._infos[key] = info
        return info

    def postings(self, field: str, text: str) -> BlockCursor | Inline | None:
        """A term's postings here: a cursor over its blocks, its inline
        postings, or None."""
        info = self.term_info(field, text)
        if info is None:
            return None
        if isinstance(info.postings, Inline):
            return info.postings
        offset, _length = info.postings
        return BlockCursor(self._postings, offset)

    def column(self, name: str) -> memoryview | None:
        """The bytes of the column ``name`` (None: the segment has none)."""
        return self._files.get(f".{name}.col")

    def close(self) -> None:
        self._terms = None
        self._postings = None
        self._files.close()


class IndexFiles:
    """One generation of the index ``name`` in ``folder``, its segments
    memory-mapped: document counts, term statistics, postings and columns,
    as Whoosh's multi-segment reader gives them (document numbers run on
    from one segment to the next)."""

    def __init__(self, folder: str | Path, name: str, generation: int | None = None) -> None:
        self.folder = Path(folder)
        if generation is None:
            generation = latest_generation(self.folder, name)
        if generation < 0:
            raise IndexNotFoundError(f"no clipsearch index in {str(self.folder)!r}: run `clipsearch index` first")
        self.generation = generation
        toc = read_toc(toc_path(self.folder, name, generation), generation)
        self.fields = toc.fields
        self.common = toc.common
        self.segments: list[Segment] = []
        try:
            for info in toc.segments:
                self.segments.append(Segment(self.folder, info))
        except BaseException:
            self.close()
            raise
        #: Each segment with the number of its first document.
        self.leaves: list[tuple[Segment, int]] = []
        total = 0
        for segment in self.segments:
            self.leaves.append((segment, total))
            total += segment.doc_count_all
        self._total = total

    def doc_count_all(self) -> int:
        """Documents, deleted ones included (document numbers run below it)."""
        return self._total

    def doc_count(self) -> int:
        """Documents not deleted."""
        return self._total - sum(len(s.deleted) for s in self.segments)

    def doc_frequency(self, field: str, text: str) -> int:
        """How many documents hold a term (deleted ones included, as Whoosh counts)."""
        total = 0
        for segment in self.segments:
            info = segment.term_info(field, text)
            if info is not None:
                total += info.doc_frequency
        return total

    def field_length(self, field: str) -> int:
        """The total length of a field over all documents."""
        return sum(s.field_lengths.get(field, 0) for s in self.segments)

    def document_number(self, clipping_id: str) -> int | None:
        """The document number of the clipping ``clipping_id`` (not deleted), or None."""
        for segment, offset in self.leaves:
            postings = segment.postings("id", clipping_id)
            if postings is None:
                continue
            ids = decode_postings(postings).ids.tolist() if isinstance(postings, BlockCursor) else postings.ids
            for local in ids:
                if local not in segment.deleted:
                    return int(local) + offset
        return None

    def close(self) -> None:
        """Release the memory maps."""
        for segment in self.segments:
            segment.close()
        self.segments = []
