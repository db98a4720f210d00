"""The array writer: a segment's postings collected as arrays, sorted and
written by vectorised code, instead of Whoosh's per-posting pool.

Whoosh's ``SegmentWriter`` sends every posting of every document through
its pool as a tuple ``(field, term bytes, docnum, weight, value)``, sorts
the pool (spilling runs to disk and merging them past ``limitmb``), then
hands the postings one by one to the field writer. Here each field keeps its
postings in flat arrays (:class:`FieldPostings`: term numbers, document
numbers, weights, value sizes, the values joined), numbered terms and sorts
them once with numpy when the segment is written, and the terms go to
:meth:`clipsearch.codec.compact.CompactFieldWriter.write_terms` many at a
time, as arrays: the same files as Whoosh's own writer with the same codec,
byte for byte (a test compares them). The postings of segments merged into a new one
(small segments, at a commit) still come from Whoosh's reader one by one.

Documents are analysed by :func:`analyse_documents` into an
:class:`AnalysedBatch` (in worker processes, :mod:`clipsearch.writing.pipeline`),
which :meth:`ArraySegmentWriter.add_analysed` adds to the segment being
written. Everything else is Whoosh's: :class:`ArraySegmentWriter`
subclasses its ``SegmentWriter``, so stored fields, columns, field lengths,
deletions, merges of existing segments, generation-numbered tables of
contents and the write lock work as they always did, and
``whoosh.index.open_dir`` opens the result.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import filterfalse
from typing import Any

import numpy as np
from whoosh.fields import UnknownFieldError
from whoosh.writing import SegmentWriter

from clipsearch.codec.compact import field_lengths
from clipsearch.codec.formats import BatchPostings, TokenColumns, token_columns

__all__ = [
    "CHUNK_POSTINGS",
    "AnalysedBatch",
    "ArraySegmentWriter",
    "FieldPostings",
    "analyse_documents",
    "write_postings",
]

#: Postings of the sorted arrays given to the field writer at once when a field is written.
CHUNK_POSTINGS = 1 << 16


class FieldPostings:
    """The postings of one field of a segment being written, as arrays, in
    the order they were added (document by document, ascending)."""

    __slots__ = ("data", "docs", "keep_values", "sizes", "term_ids", "vocabulary", "weights")

    def __init__(self, keep_values: bool) -> None:
        #: term -> its number (in order of first appearance)
        self.vocabulary: dict[str, int] = {}
        self.term_ids = array("I")
        self.docs = array("I")
        self.weights = array("f")
        #: whether the field's format has values (positions) to keep
        self.keep_values = keep_values
        self.sizes = array("I")
        self.data = bytearray()

    @classmethod
    def of(cls, fieldobj: Any) -> FieldPostings:
        """Empty postings of a Whoosh field: with values if its format has them."""
        return cls(fieldobj.format.fixed_value_size() != 0)

    def __len__(self) -> int:
        return len(self.term_ids)

    def add(self, docnum: int, items: Iterable[tuple[str, int, float, bytes]], boost: float = 1.0) -> int:
        """Add one document's postings, ``(term, frequency, weight, value)``
        as a format's ``word_values`` gives them; returns the sum of the
        frequencies (the document's field length)."""
        rows = items if isinstance(items, list) else list(items)
        if not rows:
            return 0
        texts, freqs, weights, values = zip(*rows, strict=True)
        vocabulary = self.vocabulary
        number = vocabulary.setdefault
        self.term_ids.extend([number(text, len(vocabulary)) for text in texts])
        self.docs.extend(array("I", (docnum,)) * len(texts))
        self.weights.extend(weights if boost == 1.0 else [weight * boost for weight in weights])
        if self.keep_values:
            self.sizes.extend(map(len, values))
            self.data += b"".join(values)
        return sum(freqs)

    def add_posting(self, text: str, docnum: int, weight: float, value: bytes) -> None:
        """Add one posting (a merged segment's, in ascending document order)."""
        term = self.vocabulary.get(text)
        if term is None:
            term = self.vocabulary[text] = len(self.vocabulary)
        self.term_ids.append(term)
        self.docs.append(docnum)
        self.weights.append(weight)
        if self.keep_values:
            self.sizes.append(len(value))
            self.data += value

    def _term_numbers(self, texts: Sequence[str]) -> Any:
        """The numbers of ``texts`` (distinct terms) as a numpy uint32 array,
        new terms numbered in their order."""
        vocabulary = self.vocabulary
        new = list(filterfalse(vocabulary.__contains__, texts))
        vocabulary.update(zip(new, range(len(vocabulary), len(vocabulary) + len(new)), strict=True))
        return np.fromiter(map(vocabulary.__getitem__, texts), dtype=np.uint32, count=len(texts))

    def add_batch(self, batch: BatchPostings) -> None:
        """Add the postings of a batch of documents (a format's ``batch_postings``)."""
        mapping = self._term_numbers(batch.terms)
        self.term_ids.frombytes(mapping[batch.term_ids].tobytes())
        self.docs.frombytes(batch.docs.astype(np.uint32).tobytes())
        self.weights.frombytes(batch.weights.astype(np.float32).tobytes())
        if self.keep_values:
            self.sizes.frombytes(batch.sizes.astype(np.uint32).tobytes())
            self.data += batch.data

    def extend(self, other: FieldPostings, docbase: int) -> None:
        """Add the postings of ``other`` (a batch analysed elsewhere, its
        documents numbered from 0), its documents numbered from ``docbase``."""
        if not len(other):
            return
        mapping = self._term_numbers(list(other.vocabulary))
        self.term_ids.frombytes(mapping[np.frombuffer(other.term_ids, dtype=np.uint32)].tobytes())
        self.docs.frombytes((np.frombuffer(other.docs, dtype=np.uint32) + np.uint32(docbase)).tobytes())
        self.weights.frombytes(other.weights.tobytes())
        if self.keep_values:
            self.sizes.frombytes(other.sizes.tobytes())
            self.data += other.data

    def write(self, fieldwriter: Any, lengths: list[int]) -> None:
        """Write the field's terms, in byte order, each with its postings in
        document order, through ``fieldwriter`` (a
        :class:`~clipsearch.codec.compact.CompactFieldWriter` inside the
        field); ``lengths`` holds every document's field length (empty: none).
        The sorted postings go to the field writer's ``write_terms``
        :data:`CHUNK_POSTINGS` at a time, which bounds the memory it takes."""
        count = len(self.term_ids)
        if not count:
            return
        keys = [word.encode("utf-8") for word in self.vocabulary]
        by_bytes = sorted(range(len(keys)), key=keys.__getitem__)
        rank = np.empty(len(keys), dtype=np.int32)
        rank[by_bytes] = np.arange(len(keys), dtype=np.int32)
        ranks = rank[np.frombuffer(self.term_ids, dtype=np.uint32)]
        order = np.argsort(ranks, kind="stable")  # documents stay ascending within a term
        ranks = ranks[order]
        docs = np.frombuffer(self.docs, dtype=np.uint32)[order]
        weights = np.frombuffer(self.weights, dtype=np.float32)[order]
        field_lengths = np.asarray(lengths, dtype=np.int32) if lengths else None
        values: Any = None
        if self.keep_values:
            sizes = np.frombuffer(self.sizes, dtype=np.uint32).astype(np.int64)
            values = (np.frombuffer(self.data, dtype=np.uint8), (np.cumsum(sizes) - sizes)[order], sizes[order])
        del order
        starts = np.flatnonzero(np.diff(ranks)) + 1
        starts = np.concatenate(([0], starts)).astype(np.int64)
        ends = np.append(starts[1:], count)
        term_ranks = ranks[starts]
        del ranks
        first = 0
        while first < len(starts):
            # the terms whose postings start within CHUNK_POSTINGS of this one's
            last = max(first + 1, int(np.searchsorted(starts, starts[first] + CHUNK_POSTINGS)))
            a, b = int(starts[first]), int(ends[last - 1])
            chunk_docs = docs[a:b]
            chunk_lengths = field_lengths[chunk_docs] if field_lengths is not None else np.zeros(b - a, dtype=np.int32)
            bounds = np.append(starts[first:last] - a, b - a)
            texts = [keys[by_bytes[r]] for r in term_ranks[first:last].tolist()]
            if values is None:
                no_values = np.zeros(0, dtype=np.uint8)
                fieldwriter.write_terms(texts, bounds, chunk_docs, weights[a:b], chunk_lengths, None, no_values)
            else:
                data, value_starts, value_sizes = values
                chunk_sizes = value_sizes[a:b]
                offsets = np.cumsum(chunk_sizes)
                gather = np.repeat(value_starts[a:b] - (offsets - chunk_sizes), chunk_sizes)
                gather += np.arange(int(offsets[-1]) if len(offsets) else 0, dtype=np.int64)
                fieldwriter.write_terms(
                    texts, bounds, chunk_docs, weights[a:b], chunk_lengths, chunk_sizes, data[gather]
                )
            first = last


def write_postings(fieldwriter: Any, schema: Any, lengths: Any, postings: dict[str, FieldPostings]) -> None:
    """Write every field's postings to a new segment through ``fieldwriter``,
    fields in name order (as Whoosh's pool sorts them); ``lengths`` is the
    segment's per-document reader (field lengths), or None."""
    for name in sorted(postings):
        field = postings[name]
        if not len(field):
            continue
        fieldwriter.start_field(name, schema[name])
        field.write(fieldwriter, field_lengths(lengths, name))
        fieldwriter.finish_field()


class _ArrayPostings:
    """What the array writer changes in Whoosh's ``SegmentWriter``: postings
    (of added documents and of merged segments) go to :class:`FieldPostings`,
    and the segment's postings are written from them."""

    schema: Any
    codec: Any
    perdocwriter: Any
    fieldwriter: Any

    def _field_postings(self, fieldname: str) -> FieldPostings:
        arrays: dict[str, FieldPostings] = self.__dict__.setdefault("_arrays", {})
        field = arrays.get(fieldname)
        if field is None:
            field = arrays[fieldname] = FieldPostings.of(self.schema[fieldname])
        return field

    def add_postings_to_pool(self, reader: Any, startdoc: int, docmap: Any) -> None:
        """Whoosh's merge of an existing segment's postings (``add_reader``),
        into the arrays instead of the pool."""
        schema = self.schema
        last: tuple[str, FieldPostings] | None = None
        for fieldname, btext, docnum, weight, value in reader.iter_postings():
            if fieldname not in schema:
                continue
            if docmap is not None:
                newdoc = docmap.get(docnum)
                if newdoc is None:  # deleted
                    continue
            else:
                newdoc = startdoc + docnum
            if last is None or last[0] != fieldname:
                last = (fieldname, self._field_postings(fieldname))
            last[1].add_posting(btext.decode("utf-8"), newdoc, weight, value or b"")

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = self.per_document_reader() if self.codec.length_stats else None  # type: ignore[attr-defined]
        try:
            write_postings(self.fieldwriter, self.schema, lengths, self.__dict__.get("_arrays", {}))
            self.fieldwriter.close()
        finally:
            if lengths is not None:
                lengths.close()
        self.__dict__.pop("_arrays", None)


#: One document's per-document values: ``(field name, stored value or
#: None, field length, column value or None)`` for each of its fields.
PerDocument = list[tuple[str, Any, int, Any]]


@dataclass
class AnalysedBatch:
    """Documents analysed (in a worker process, or here): their postings
    by field, documents numbered from 0, and their per-document values."""

    postings: dict[str, FieldPostings] = field(default_factory=dict)
    documents: list[PerDocument] = field(default_factory=list)
    #: CPU seconds the analysis took
    seconds: float = 0.0
    #: Of the clippings sent (by their place in the batch sent), those that
    #: were not made into documents, and why (:mod:`clipsearch.writing.pipeline`).
    failed: dict[int, str] = field(default_factory=dict)
    #: ... and the warnings about those that were.
    warnings: dict[int, tuple[str, ...]] = field(default_factory=dict)


def analyse_documents(schema: Any, documents: Sequence[dict[str, Any]]) -> AnalysedBatch:
    """Analyse documents (Whoosh's ``add_document`` fields) as Whoosh's
    ``SegmentWriter.add_document`` does: each field in name order indexed
    (its postings to the batch's arrays), stored and put in its column.

    A field whose tokenizer gives token columns and whose format turns
    batches of them into postings (:mod:`clipsearch.codec.formats`) is
    indexed for all the documents at once; any other, document by document
    through its format's ``word_values``."""
    started = time.process_time()
    batch = AnalysedBatch()
    # per field: the documents whose columns wait to be made postings at once
    waiting: dict[str, list[tuple[int, TokenColumns, float]]] = {}

    def postings_of(fieldname: str) -> FieldPostings:
        postings = batch.postings.get(fieldname)
        if postings is None:
            postings = batch.postings[fieldname] = FieldPostings.of(schema[fieldname])
        return postings

    def flush(fieldname: str) -> None:
        docs = waiting.pop(fieldname, None)
        if docs:
            docnums, columns, boosts = zip(*docs, strict=True)
            postings_of(fieldname).add_batch(schema[fieldname].format.batch_postings(docnums, columns, boosts))

    for docnum, fields in enumerate(documents):
        perdoc: PerDocument = []
        for fieldname in sorted(name for name in fields if not name.startswith("_")):
            value = fields[fieldname]
            if value is None:
                continue
            if fieldname not in schema:
                raise UnknownFieldError(f"No field named {fieldname!r} in {schema}")
            fieldobj = schema[fieldname]
            length = 0
            boost = float(fields.get(f"_{fieldname}_boost", fields.get("_boost", 1.0)))
            if fieldobj.indexed:
                if not isinstance(value, str | list | tuple):
                    raise ValueError(f"{value!r} is not unicode or sequence")
                fmt = fieldobj.format
                columns = token_columns(value, fieldobj.analyzer, {}) if hasattr(fmt, "batch_postings") else None
                if columns is not None:
                    waiting.setdefault(fieldname, []).append((docnum, columns, boost))
                    freqs = fmt.field_length(columns)
                else:
                    flush(fieldname)  # the field's postings stay in document order
                    items = fmt.word_values(value, fieldobj.analyzer, mode="index")
                    freqs = postings_of(fieldname).add(docnum, items, boost)
                if fieldobj.scorable:
                    length = freqs
            stored = fields.get(f"_stored_{fieldname}", value)
            column = fieldobj.to_column_value(stored) if fieldobj.column_type and stored is not None else None
            perdoc.append((fieldname, stored if fieldobj.stored else None, length, column))
        batch.documents.append(perdoc)
    for fieldname in list(waiting):
        flush(fieldname)
    batch.seconds = time.process_time() - started
    return batch


class ArraySegmentWriter(_ArrayPostings, SegmentWriter):  # type: ignore[misc]
    """Whoosh's ``SegmentWriter`` with its postings in arrays: the same
    documents, the same index files, without the per-posting pool.
    Documents come one at a time (:meth:`add_document`) or analysed in
    batches elsewhere (:meth:`add_analysed`)."""

    def add_document(self, **fields: Any) -> None:
        """Whoosh's ``add_document``: the document analysed here."""
        self._check_state()
        self.add_analysed(analyse_documents(self.schema, [fields]))

    def add_analysed(self, batch: AnalysedBatch) -> None:
        """Add analysed documents: their per-document values to the
        per-document writer, their postings to the arrays."""
        self._check_state()
        perdocwriter, schema = self.perdocwriter, self.schema
        docbase = self.docnum
        for perdoc in batch.documents:
            perdocwriter.start_doc(self.docnum)
            for fieldname, stored, length, column in perdoc:
                fieldobj = schema[fieldname]
                perdocwriter.add_field(fieldname, fieldobj, stored, length)
                if column is not None:
                    perdocwriter.add_column_value(fieldname, fieldobj.column_type, column)
            perdocwriter.finish_doc()
            self.docnum += 1
        for fieldname, postings in batch.postings.items():
            self._field_postings(fieldname).extend(postings, docbase)
        if batch.documents:
            self._added = True

    def pending_postings(self) -> int:
        """Postings added since the segment began (what the arrays hold)."""
        return sum(len(postings) for postings in self.__dict__.get("_arrays", {}).values())
