"""Evaluation of query plans (:mod:`clipsearch.searching.plan`) with
posting lists as numpy arrays.

A plan's terms are decoded whole into arrays
(:func:`clipsearch.codec.blocks.decode_lists`), read from the index's files
without Whoosh (:mod:`clipsearch.reading.segments`), and combined with set
operations rather than one posting at a time: a term is its document numbers
and BM25F scores, OR is a union with summed scores, AND an intersection with
summed scores, AND NOT a difference. The scores are Whoosh's own BM25F (same
idf, average and byte-coded field lengths, boosts), so rankings are the same
as Whoosh's; ``tests/test_fastscore.py`` compares them with Whoosh's matchers.

Phrases are the intersection of their terms and of the index's ``pairs``
of common syllables (:class:`clipsearch.writing.fields.PairTokenizer`): two
words that form a pair need nothing more; otherwise the positions of the
documents left are checked (rarest word first, as sorted keys ``document *
2**32 + position - k``). Decoded term postings are cached per generation of
the index (:data:`CACHE_TERMS` most recent), and so are the decoded blocks
of positional terms (up to :data:`CACHE_POSITION_BYTES`), so that the
sequence bonus and phrases read the positions of terms just evaluated
without going back to the file, as engines keep hot posting lists in memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from clipsearch.codec.blocks import (
    BLOCK_POSTINGS,
    LENGTH_OF_BYTE,
    BlockCursor,
    Postings,
    decode_lists,
    flat_positions,
    values_at,
)
from clipsearch.reading.columns import numeric_column
from clipsearch.reading.segments import IndexFiles, Inline
from clipsearch.schema import PAIRS_FIELD, TEXT_FIELD
from clipsearch.searching.plan import And, AndNot, Every, Not, Or, Phrase, PlanNode, Term
from clipsearch.sorted_arrays import in_sorted, locate
from clipsearch.text.zones import pair_term

__all__ = ["Ids", "Matches", "Evaluator", "PlanEvaluator", "Scores", "bm25f"]

#: Decoded posting lists kept per generation of the index.
CACHE_TERMS = 4096
#: Bytes of decoded positional postings kept for phrases.
CACHE_POSITION_BYTES = 256 * 1024 * 1024
#: Bytes of evaluated unions of terms (a syllable's ``text | title | exact``) kept.
CACHE_UNION_BYTES = 64 * 1024 * 1024
K1, B = 1.2, 0.75
#: Phrase keys: ``document * _KEY + position`` (positions stay far below it).
_KEY = 1 << 32
#: The postings format of fields with positions (:class:`clipsearch.codec.formats.VarintPositions`).
POSITIONS_FORMAT = "clipsearch.codec.formats.VarintPositions"

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float64]


class Matches:
    """Document numbers (ascending) and their scores."""

    __slots__ = ("ids", "scores")

    def __init__(self, ids: Ids, scores: Scores) -> None:
        self.ids = ids
        self.scores = scores

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def empty(cls) -> Matches:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0))


#: Set operations on lists holding at least 1/DENSE of the documents in all
#: use arrays indexed by document number (linear) instead of binary searches.
DENSE = 16


def _union(parts: list[Matches], size: int) -> Matches:
    """Documents in any part, their scores summed (the largest part's first,
    then the others' in order); ``size`` bounds the document numbers."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Matches.empty()
    if len(parts) == 1:
        return parts[0]
    largest = max(range(len(parts)), key=lambda i: len(parts[i]))
    base = parts[largest]
    others = [p for i, p in enumerate(parts) if i != largest]
    if sum(len(p) for p in parts) * DENSE >= size:
        scores = np.zeros(size)
        present = np.zeros(size, dtype=bool)
        for part in (base, *others):
            scores[part.ids] += part.scores  # ids are distinct within a part
            present[part.ids] = True
        ids = np.flatnonzero(present)
        return Matches(ids, scores[ids])
    # A syllable's clause is text OR title OR exact: the largest part holds
    # the others' documents, so their scores are added in place, unsorted.
    places = [locate(base.ids, p.ids) for p in others]
    if all(bool(found.all()) for _at, found in places):
        scores = base.scores.copy()
        for (at, _found), p in zip(places, others, strict=True):
            scores[at] += p.scores  # ids are distinct within a part
        return Matches(base.ids, scores)
    ids = np.concatenate([p.ids for p in parts])
    scores = np.concatenate([p.scores for p in parts])
    unique, inverse = np.unique(ids, return_inverse=True)
    return Matches(unique, np.bincount(inverse, weights=scores, minlength=len(unique)).astype(np.float64))


def _intersection(parts: list[Matches], size: int) -> Matches:
    """Documents in every part, their scores summed (smallest part first);
    ``size`` bounds the document numbers."""
    parts = sorted(parts, key=len)
    if len(parts) > 1 and len(parts[0]) * DENSE >= size:
        scores = np.zeros(size)
        count = np.zeros(size, dtype=np.int32)
        for part in parts:
            scores[part.ids] += part.scores
            count[part.ids] += 1
        ids = np.flatnonzero(count == len(parts))
        return Matches(ids, scores[ids])
    result = parts[0]
    for part in parts[1:]:
        if not len(result):
            break
        # Both ascending: look the smaller up in the larger (no sort).
        at, hit = locate(part.ids, result.ids)
        result = Matches(result.ids[hit], result.scores[hit] + part.scores[at[hit]])
    return result


def _sorted_common(a: Ids, b: Ids) -> Ids:
    """The values in both ascending arrays of distinct values."""
    if len(a) > len(b):
        a, b = b, a
    common: Ids = a[in_sorted(a, b)]
    return common


def _difference(a: Matches, b: Matches) -> Matches:
    if not len(b) or not len(a):
        return a
    keep = ~in_sorted(a.ids, b.ids)
    return Matches(a.ids[keep], a.scores[keep])


def _inline_postings(inline: Inline, offset: int, values: bool) -> Postings:
    """The postings Whoosh keeps in a term info, as :class:`Postings`
    (global document numbers; with their values if ``values``)."""
    ids = np.array(inline.ids, dtype=np.int64) + offset
    weights = np.array(inline.weights, dtype=np.float64)
    if not values:
        return Postings(ids, weights)
    raw = [v or b"" for v in inline.values]
    sizes = np.array([len(v) for v in raw], dtype=np.int64)
    return Postings(ids, weights, np.frombuffer(b"".join(raw), dtype=np.uint8), np.cumsum(sizes) - sizes, sizes)


class _BytesCache:
    """Least recently used values, kept while their sizes sum to at most
    ``limit`` bytes; a value over a quarter of it is not kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Any) -> Any:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Any, value: Any, size: int) -> None:
        if size > self.limit // 4:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._items[key] = (value, size)
        self._bytes += size
        while self._bytes > self.limit:
            _key, (_value, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped


def bm25f(weights: Scores, lengths: Scores, average_length: float, total: int, doc_frequency: int) -> Scores:
    """Whoosh's BM25F score of a term in documents: its ``weights`` there
    (frequencies times zone boosts), the documents' field ``lengths`` (as
    Whoosh's length bytes give them back), the field's ``average_length``,
    and the term's ``doc_frequency`` among ``total`` documents (Whoosh's idf)."""
    idf = math.log(total / (doc_frequency + 1)) + 1
    return idf * ((weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths / average_length)))


class PlanEvaluator:
    """What a plan means (:mod:`clipsearch.searching.plan`), whatever holds
    the postings: OR is a union with summed scores, AND an intersection with
    summed scores, AND NOT a difference, NOT every document but those (scored
    0), EVERY every document (scored 1). Subclasses give the terms, phrases
    and live documents: :class:`Evaluator` from an index's files, a backend's
    scorer from the candidates it fetched."""

    #: Document numbers are below this.
    total: int = 0

    def live(self) -> Ids:
        """Every document number that is not deleted."""
        raise NotImplementedError

    def _term(self, field: str, text: str) -> tuple[Ids, Scores]:
        """Document numbers and BM25F scores (boost 1) of a term."""
        raise NotImplementedError

    def _phrase(self, field: str, words: list[str], boost: float) -> Matches:
        """The documents with ``words`` at consecutive positions, scored."""
        raise NotImplementedError

    def _has_field(self, field: str) -> bool:
        return True

    def evaluate(self, query: PlanNode) -> Matches:
        """The matches of a plan (:mod:`clipsearch.searching.plan`) with Whoosh's BM25F scores."""
        if isinstance(query, Term):
            if not self._has_field(query.fieldname):
                return Matches.empty()
            ids, scores = self._term(query.fieldname, query.text)
            return Matches(ids, scores * query.boost if query.boost != 1.0 else scores)
        if isinstance(query, Phrase):
            return self._phrase(query.fieldname, list(query.words), float(query.boost))
        if isinstance(query, Every):
            live = self.live()
            return Matches(live, np.ones(len(live)))
        if isinstance(query, AndNot):
            return _difference(self.evaluate(query.query), self.evaluate(query.excluded))
        if isinstance(query, Not):
            live = self.live()
            return _difference(Matches(live, np.zeros(len(live))), self.evaluate(query.query))
        if isinstance(query, And):
            return _intersection([self.evaluate(c) for c in query.subqueries], self.total)
        if isinstance(query, Or):
            terms = [c for c in query.subqueries if isinstance(c, Term)]
            if len(terms) == len(query.subqueries):
                return self._union_of_terms(terms)
            return _union([self.evaluate(c) for c in query.subqueries], self.total)
        raise TypeError(f"not a query plan: {query!r}")

    def _union_of_terms(self, terms: list[Term]) -> Matches:
        return _union([self.evaluate(t) for t in terms], self.total)


class Evaluator(PlanEvaluator):
    """Evaluates query plans (:mod:`clipsearch.searching.plan`) over the segments of
    one generation of an index (:class:`~clipsearch.reading.segments.IndexFiles`)."""

    def __init__(self, files: IndexFiles) -> None:
        self.files = files
        self.leaves = files.leaves
        self.total = files.doc_count_all()
        self._lengths: dict[str, npt.NDArray[np.float64]] = {}
        self._deleted: Ids | None = None
        self._avg: dict[str, float] = {}
        self._cache: OrderedDict[tuple[str, str], tuple[Ids, Scores]] = OrderedDict()
        # Decoded positional postings (one Postings per term) and unions of terms.
        self._postings = _BytesCache(CACHE_POSITION_BYTES)
        self._live: Ids | None = None
        self._unions = _BytesCache(CACHE_UNION_BYTES)

    def _has_field(self, field: str) -> bool:
        return field in self.files.fields

    # -- statistics ---------------------------------------------------------

    def _all_lengths(self, field: str) -> npt.NDArray[np.float64]:
        """Every document's length in ``field``, by global document number."""
        if field not in self._lengths:
            table = np.array(LENGTH_OF_BYTE, dtype=np.float64)
            parts = []
            for segment, _offset in self.leaves:
                # Whoosh keeps field lengths (one byte each) in a hidden column.
                parts.append(numeric_column(segment.column(f"_{field}_len"), "B", segment.doc_count_all))
            raw = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
            lengths = table[raw]
            lengths[raw == 0] = 1.0  # Whoosh's default for a missing length
            self._lengths[field] = lengths
        return self._lengths[field]

    def _all_deleted(self) -> Ids:
        """The global numbers of the deleted documents, ascending."""
        if self._deleted is None:
            found = [d + offset for segment, offset in self.leaves for d in sorted(segment.deleted)]
            self._deleted = np.array(found, dtype=np.int64)
        return self._deleted

    def _avg_length(self, field: str) -> float:
        if field not in self._avg:
            # Whoosh's Searcher.avg_field_length (None, taken as 1, for an unscored field).
            info = self.files.fields.get(field)
            scorable = info is not None and info.scorable
            self._avg[field] = float(self.files.field_length(field) / (self.total or 1) if scorable else 0) or 1.0
        return self._avg[field]

    def live(self) -> Ids:
        """Every document number that is not deleted."""
        if self._live is None:
            every = np.arange(self.total, dtype=np.int64)
            self._live = every[~in_sorted(every, self._all_deleted())]
        return self._live

    # -- terms --------------------------------------------------------------

    def _term(self, field: str, text: str) -> tuple[Ids, Scores]:
        """Global document numbers and BM25F scores (boost 1) of a term."""
        key = (field, text)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        ids, scores, postings = self._scored(field, text)
        self._cache[key] = (ids, scores)
        if len(self._cache) > CACHE_TERMS:
            self._cache.popitem(last=False)
        self._keep_postings(key, postings)
        return ids, scores

    def documents(self, field: str, text: str) -> Ids:
        """The live documents that hold a term, ascending (none where the
        index has no such field)."""
        return self._term(field, text)[0]

    def _scored(self, field: str, text: str, docnums: Ids | None = None) -> tuple[Ids, Scores, Postings]:
        """A term's documents and BM25F scores, and its postings (deleted
        documents included); with ``docnums`` (ascending), only the blocks
        that can hold them are read."""
        postings = self._read(field, text, docnums)
        if not self.total or not len(postings.ids):
            return np.zeros(0, dtype=np.int64), np.zeros(0), postings
        ids, weights = postings.ids, postings.weights
        deleted = self._all_deleted()
        if len(deleted):
            keep = ~in_sorted(ids, deleted)
            ids, weights = ids[keep], weights[keep]
        frequency = self.files.doc_frequency(field, text)
        lengths = self._all_lengths(field)[ids]
        return ids, bm25f(weights, lengths, self._avg_length(field), self.total, frequency), postings

    def _read(self, field: str, text: str, docnums: Ids | None = None, positions: bool = False) -> Postings:
        """A term's postings in every segment, global document numbers, read
        in one pass (:func:`~clipsearch.codec.blocks.decode_lists`); with ``docnums``,
        only the blocks that can hold them. With where its positions are if
        the field has them and the whole list is read, or ``positions``."""
        info = self.files.fields.get(field)
        if info is None or not self.total:
            return Postings(np.zeros(0, dtype=np.int64), np.zeros(0))
        values = (docnums is None or positions) and info.format == POSITIONS_FORMAT
        bounds = self._leaf_bounds(docnums) if docnums is not None else None
        parts: list[Postings] = []
        lists: list[tuple[BlockCursor, int, list[int] | None]] = []
        for leaf, (segment, offset) in enumerate(self.leaves):
            wanted = None
            if docnums is not None and bounds is not None:
                if bounds[leaf] == bounds[leaf + 1]:
                    continue
                wanted = (docnums[bounds[leaf] : bounds[leaf + 1]] - offset).tolist()
            found = segment.postings(field, text)
            if isinstance(found, BlockCursor):
                lists.append((found, offset, wanted))
            elif found is not None:  # inline: the segments before it first, to keep the order
                if lists:
                    parts.append(decode_lists(lists, values))
                    lists = []
                parts.append(_inline_postings(found, offset, values))
        if lists or not parts:
            parts.append(decode_lists(lists, values))
        return parts[0] if len(parts) == 1 else Postings.join(parts)

    def _leaf_bounds(self, docnums: Ids) -> list[int]:
        """Where each segment's documents begin in the ascending ``docnums``, and their end."""
        starts = [offset for _segment, offset in self.leaves] + [self.total]
        bounds: list[int] = np.searchsorted(docnums, starts).tolist()
        return bounds

    def _keep_postings(self, key: tuple[str, str], postings: Postings) -> None:
        """Keep a term's decoded positions (if it has them) for its phrases."""
        if postings.value_start is not None:
            self._postings.put(key, postings, postings.nbytes)

    # -- scores of given documents -------------------------------------------

    def term_scores_at(self, field: str, text: str, docnums: Ids) -> Scores:
        """The BM25F score of a term in each of ``docnums`` (0 where absent,
        ``docnums`` ascending). A term not in the cache is read whole (and
        cached) when it has no more blocks than there are ``docnums``, else
        only in the blocks that can hold them (and not cached)."""
        cached = self._cache.get((field, text))
        if cached is None and self.files.doc_frequency(field, text) <= BLOCK_POSTINGS * len(docnums):
            cached = self._term(field, text)
        ids, scores = cached if cached is not None else self._scored(field, text, docnums)[:2]
        out = np.zeros(len(docnums))
        at, hit = locate(ids, docnums)
        out[hit] = scores[at[hit]]
        return out

    def phrase_scores_at(self, field: str, words: list[str], docnums: Ids) -> Scores:
        """Whoosh's score of a phrase (``words`` at consecutive positions) in
        each of ``docnums``: the sum of its terms' scores where it occurs, else 0.

        Documents without one of its pairs of common syllables (the
        ``pairs`` field) are dropped first; a two-word phrase that is such a
        pair needs nothing more. Then, vectorised: word ``k``'s positions
        become keys ``doc * 2**32 + position - k``; the documents whose keys
        meet in every word have the phrase. Documents are dropped as soon as
        a word rules them out, so later words decode fewer positions."""
        total = np.zeros(len(docnums))
        present = np.ones(len(docnums), dtype=bool)
        for word in words:
            scores = self.term_scores_at(field, word, docnums)
            present &= scores > 0
            total += scores
        pairs = self._pairs(field, words)
        for pair in pairs:
            present[present] = self.term_scores_at(PAIRS_FIELD, pair, docnums[present]) > 0
        candidates = docnums[present]
        if not len(candidates) or len(words) < 2 or (len(words) == 2 and pairs):
            return np.where(present, total, 0.0)
        shift = len(words)
        keys: Ids | None = None
        # Rarest word first: its posting list has the fewest blocks to decode.
        order = sorted(range(len(words)), key=lambda k: self.files.doc_frequency(field, words[k]))
        for k in order:
            docs, positions = self._positions(field, words[k], candidates)
            # Ascending and distinct already: documents ascend, and so do a
            # document's positions.
            these = docs * _KEY + positions + (shift - k)
            keys = these if keys is None else _sorted_common(keys, these)
            if not len(keys):
                return np.zeros(len(docnums))
            owners = keys // _KEY
            candidates = owners[np.diff(owners, prepend=-1) != 0]
        return np.where(in_sorted(docnums, candidates), total, 0.0)

    def _positions(self, field: str, text: str, docnums: Ids) -> tuple[Ids, Ids]:
        """``(docnums, positions)``, one entry per position of a term in the
        given global documents (ascending)."""
        postings = self._postings.get((field, text))  # decoded with the term: no file access
        if postings is None:
            postings = self._read(field, text, docnums, positions=True)
        if postings.value_start is not None or not len(postings.ids):
            found: tuple[Ids, Ids] = postings.positions(docnums)
            return found
        # Blocks with float weights keep no value sizes: their values are sliced one by one.
        doc_parts, position_parts = [], []
        bounds = self._leaf_bounds(docnums)
        for leaf, (segment, offset) in enumerate(self.leaves):
            if bounds[leaf] == bounds[leaf + 1]:
                continue
            local = docnums[bounds[leaf] : bounds[leaf + 1]] - offset
            docs, positions = flat_positions(self._leaf_values(segment.postings(field, text), local.tolist()))
            doc_parts.append(docs + offset)
            position_parts.append(positions)
        if not doc_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(doc_parts), np.concatenate(position_parts)

    @staticmethod
    def _leaf_values(postings: BlockCursor | Inline | None, local: list[int]) -> dict[int, bytes]:
        """Posting values of the ascending local ``local`` documents."""
        if postings is None:
            return {}
        if isinstance(postings, BlockCursor):
            return values_at(postings, local)
        wanted = set(local)
        return {d: v for d, v in zip(postings.ids, postings.values, strict=True) if d in wanted and v}

    # -- phrases ------------------------------------------------------------

    def _pairs(self, field: str, words: list[str]) -> list[str]:
        """The ``pairs`` terms of adjacent ``words`` of a ``text`` phrase that
        the index holds for every document: both syllables common."""
        common = self.files.common
        if field != TEXT_FIELD or not common:
            return []
        pairs = [pair_term(a, b) for a, b in pairwise(words) if a in common and b in common]
        return list(dict.fromkeys(pairs))

    def _phrase(self, field: str, words: list[str], boost: float) -> Matches:
        """The documents with ``words`` at consecutive positions, scored as
        Whoosh scores a phrase (the sum of its terms' scores)."""
        parts = [Matches(*self._term(field, w)) for w in dict.fromkeys(words)]
        for pair in self._pairs(field, words):  # whole lists: cached for the next phrase
            ids = self._term(PAIRS_FIELD, pair)[0]
            parts.append(Matches(ids, np.zeros(len(ids))))
        both = _intersection(parts, self.total)
        scores = self.phrase_scores_at(field, words, both.ids) * boost
        keep = scores > 0
        return Matches(both.ids[keep], scores[keep])

    def _union_of_terms(self, terms: list[Term]) -> Matches:
        """An OR of terms, kept (up to :data:`CACHE_UNION_BYTES`): the same
        syllable's clause comes back in many queries."""
        key = tuple((t.fieldname, t.text, float(t.boost)) for t in terms)
        found: Matches | None = self._unions.get(key)
        if found is None:
            found = _union([self.evaluate(t) for t in terms], self.total)
            self._unions.put(key, found, found.ids.nbytes + found.scores.nbytes)
        return found
