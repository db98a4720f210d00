"""Scores of the candidates a Typesense search fetched, the same as the
Whoosh index gives them.

Typesense has no BM25F: it tells which clippings match and how many hold
a term; the scores come from the candidates' term vectors
(:mod:`clipsearch.typesense.documents`) and the collection's statistics,
with the formula of :func:`clipsearch.searching.scoring.bm25f`, and the plan
means what it means on the index (:class:`~clipsearch.searching.scoring.PlanEvaluator`).
Candidates are numbered 0..n-1 in the order they were indexed, so that ties
go as they go in the index. :mod:`clipsearch.searching.ranking` ranks them
as it ranks an index's matches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from clipsearch.searching.scoring import Ids, Matches, PlanEvaluator, Scores, bm25f
from clipsearch.typesense.documents import Vector

__all__ = ["CandidateScorer", "CollectionStatistics"]


@dataclass(frozen=True)
class CollectionStatistics:
    """What BM25F needs of the whole collection: its number of clippings,
    each field's average length, and the document frequencies of the terms
    a search asked for (``(field, term) -> n``)."""

    total: int
    average_lengths: Mapping[str, float]
    doc_frequencies: Mapping[tuple[str, str], int]


class CandidateScorer(PlanEvaluator):
    """The plan's matches and scores among candidates: ``vectors[i]`` the
    term vector of candidate ``i`` (at least the entries of the search's
    terms) and ``lengths[i]`` its field lengths (as Whoosh's length bytes
    give them back)."""

    def __init__(
        self, vectors: Sequence[Vector], lengths: Sequence[Mapping[str, float]], statistics: CollectionStatistics
    ) -> None:
        self.total = len(vectors)
        self.statistics = statistics
        self._lengths = lengths
        postings: dict[tuple[str, str], tuple[list[int], list[float], list[tuple[int, ...]]]] = {}
        for docnum, vector in enumerate(vectors):
            for key, (weight, positions) in vector.items():
                docs, weights, places = postings.setdefault(key, ([], [], []))
                docs.append(docnum)
                weights.append(weight)
                places.append(positions)
        self._postings = postings
        self._scores: dict[tuple[str, str], tuple[Ids, Scores]] = {}
        self._places: dict[tuple[str, str], dict[int, frozenset[int]]] = {}

    def live(self) -> Ids:
        return np.arange(self.total, dtype=np.int64)

    def _field_lengths(self, field: str, ids: Sequence[int]) -> Scores:
        # Whoosh reads a missing length (byte 0) as 1.
        return np.array([self._lengths[d].get(field) or 1.0 for d in ids], dtype=np.float64)

    def _term(self, field: str, text: str) -> tuple[Ids, Scores]:
        key = (field, text)
        found = self._scores.get(key)
        if found is None:
            docs, weights, _places = self._postings.get(key, ([], [], []))
            ids = np.array(docs, dtype=np.int64)
            if not len(ids):
                found = (ids, np.zeros(0))
            else:
                stats = self.statistics
                average = stats.average_lengths.get(field) or 1.0
                frequency = stats.doc_frequencies.get(key, len(ids))
                lengths = self._field_lengths(field, docs)
                found = (ids, bm25f(np.array(weights, dtype=np.float64), lengths, average, stats.total, frequency))
            self._scores[key] = found
        return found

    def documents(self, field: str, text: str) -> Ids:
        """The candidates that hold a term, ascending."""
        return self._term(field, text)[0]

    def term_scores_at(self, field: str, text: str, docnums: Ids) -> Scores:
        """A term's score in each of ``docnums`` (0 where absent)."""
        ids, scores = self._term(field, text)
        out = np.zeros(len(docnums))
        if len(ids) and len(docnums):
            at = np.searchsorted(ids, docnums)
            at[at >= len(ids)] = 0
            hit = ids[at] == docnums
            out[hit] = scores[at[hit]]
        return out

    def _positions(self, field: str, text: str) -> dict[int, frozenset[int]]:
        """Each candidate's positions of a term (made once per term)."""
        key = (field, text)
        found = self._places.get(key)
        if found is None:
            docs, _weights, places = self._postings.get(key, ([], [], []))
            found = self._places[key] = {d: frozenset(p) for d, p in zip(docs, places, strict=True)}
        return found

    def phrase_scores_at(self, field: str, words: list[str], docnums: Ids) -> Scores:
        """Whoosh's score of a phrase in each of ``docnums``: the sum of its
        words' scores where they stand at consecutive positions, else 0."""
        total = np.zeros(len(docnums))
        present = np.ones(len(docnums), dtype=bool)
        for word in words:
            scores = self.term_scores_at(field, word, docnums)
            present &= scores > 0
            total += scores
        if len(words) > 1:
            places = [self._positions(field, w) for w in words]
            for i, docnum in enumerate(docnums.tolist()):
                if present[i]:
                    starts = places[0][docnum]
                    for k, later in enumerate(places[1:], start=1):
                        starts = frozenset(p for p in starts if p + k in later[docnum])
                    present[i] = bool(starts)
        return np.where(present, total, 0.0)

    def _phrase(self, field: str, words: list[str], boost: float) -> Matches:
        ids = self.live()
        for word in dict.fromkeys(words):
            ids = np.intersect1d(ids, self._term(field, word)[0], assume_unique=True)
        scores = self.phrase_scores_at(field, words, ids) * boost
        keep = scores > 0
        return Matches(ids[keep], scores[keep])
