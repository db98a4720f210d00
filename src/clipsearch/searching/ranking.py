"""The order of the matches: by relevance, the clippings that hold more of
the query's words as typed first (:func:`typed_word_counts`), each match
scored by the plan's required part (:mod:`clipsearch.searching.scoring`),
then the best :data:`CANDIDATES` re-scored with the plan's bonuses (whole
pyvi words, the query's syllables in order; :mod:`clipsearch.searching.plan`);
or by date. :func:`top` gives the best matches by score alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from clipsearch.schema import EXACT_WORDS_FIELD
from clipsearch.searching.plan import Phrase, Term
from clipsearch.searching.scoring import Ids, Matches, Scores
from clipsearch.sorted_arrays import in_sorted

__all__ = ["CANDIDATES", "Scorer", "bonus_scores", "by_date", "rank", "top", "typed_word_counts"]

#: How many of the best matches by the required part get the bonuses.
CANDIDATES = 100


class Scorer(Protocol):
    """What ranking asks of the posting lists: an index's
    :class:`~clipsearch.searching.scoring.Evaluator`, or a backend's scorer
    of the candidates it fetched, with the same scores."""

    def documents(self, field: str, text: str) -> Ids:
        """The documents that hold a term, ascending."""
        ...

    def term_scores_at(self, field: str, text: str, docnums: Ids) -> Scores:
        """A term's score in each of ``docnums`` (ascending; 0 where absent)."""
        ...

    def phrase_scores_at(self, field: str, words: list[str], docnums: Ids) -> Scores:
        """A phrase's score in each of ``docnums`` (ascending; 0 where absent)."""
        ...


def top(matches: Matches, limit: int) -> list[tuple[float, int]]:
    """The ``limit`` best ``(score, docnum)``, ties broken by document number."""
    n = len(matches)
    if n == 0 or limit <= 0:
        return []
    scores, ids = matches.scores, matches.ids
    if n > limit:
        kth = np.partition(scores, n - limit)[n - limit]
        keep = np.flatnonzero(scores >= kth)
        scores, ids = scores[keep], ids[keep]
    order = np.lexsort((ids, -scores))[:limit]
    return list(zip(scores[order].tolist(), ids[order].tolist(), strict=True))


def rank(
    evaluator: Scorer,
    bonus: tuple[Term | Phrase, ...],
    matches: Matches,
    limit: int,
    words: tuple[str, ...] = (),
) -> list[tuple[float, int]]:
    """Relevance order: the clippings that hold more of the query's ``words``
    as typed (``exact_words`` terms) first, whatever their scores; then, among
    the best :data:`CANDIDATES` in that order, the score with the bonuses."""
    held = typed_word_counts(evaluator, words, matches)
    counts: dict[int, int] = {}
    if held is None:
        scores = {d: s for s, d in top(matches, max(CANDIDATES, limit))}
    else:
        order = _best_by_count(matches, held, max(CANDIDATES, limit))
        best = matches.ids[order].tolist()
        scores = dict(zip(best, matches.scores[order].tolist(), strict=True))
        counts = dict(zip(best, held[order].tolist(), strict=True))
    for docnum, extra in bonus_scores(evaluator, bonus, sorted(scores)).items():
        scores[docnum] += extra
    return [(scores[d], d) for d in sorted(scores, key=lambda d: (-counts.get(d, 0), -scores[d], d))[:limit]]


def _best_by_count(matches: Matches, held: Any, limit: int) -> Any:
    """Where the ``limit`` best matches are, by ``held`` then score then
    document number: a partition on one key that orders as the counts then
    the scores do chooses them, and only those are sorted."""
    keep = np.arange(len(matches))
    if len(matches) > limit:
        key = held * (float(matches.scores.max() - matches.scores.min()) + 1.0) + matches.scores
        kth = np.partition(key, len(key) - limit)[len(key) - limit]
        keep = np.flatnonzero(key >= kth)
    return keep[np.lexsort((matches.ids[keep], -matches.scores[keep], -held[keep]))][:limit]


def typed_word_counts(evaluator: Scorer, words: tuple[str, ...], matches: Matches) -> Any:
    """How many of ``words`` (``exact_words`` terms) each match holds, an
    array aligned with ``matches``; None when no match holds any (or the
    index was written before it had the field)."""
    if not words or not len(matches):
        return None
    held = np.zeros(len(matches), dtype=np.int64)
    for word in words:
        held += in_sorted(matches.ids, evaluator.documents(EXACT_WORDS_FIELD, word))
    return held if held.any() else None


def by_date(matches: Matches, days: Any, newest: bool) -> Iterator[tuple[float, int]]:
    """Matches by date (newest or oldest first), undated ones last, then by score."""
    match_days = days[matches.ids]
    order = np.lexsort((matches.ids, -matches.scores, -match_days if newest else match_days, match_days == 0))
    return zip(matches.scores[order].tolist(), matches.ids[order].tolist(), strict=True)


def bonus_scores(evaluator: Scorer, bonus: tuple[Term | Phrase, ...], docnums: list[int]) -> dict[int, float]:
    """The score each bonus term or sequence gives each of ``docnums``
    (ascending), from posting arrays and the candidates' positions."""
    extra: dict[int, float] = {}
    if not docnums:
        return extra
    ids = np.array(docnums, dtype=np.int64)
    for query in bonus:
        if isinstance(query, Phrase):
            scores = evaluator.phrase_scores_at(query.fieldname, list(query.words), ids) * query.boost
        else:
            scores = evaluator.term_scores_at(query.fieldname, query.text, ids) * query.boost
        for docnum, score in zip(docnums, scores.tolist(), strict=True):
            if score:
                extra[docnum] = extra.get(docnum, 0.0) + score
    return extra
