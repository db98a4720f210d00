"""Searching: query plans, ranking, hits with snippets.

The plan for each group of words (see :mod:`clipsearch.index` for the fields):

* required: every syllable, folded, in ``text`` (title, lead and body as
  zones weighted 3 : 2 : 1), so a query matches whatever diacritics, tone
  placement, case or normalisation either side used; a syllable typed WITH
  diacritics is ``text:folded OR exact:form`` (weight :data:`EXACT_WEIGHT`),
  which matches the same clippings and ranks those with what the user typed
  first;
* bonus, scored on the best :data:`CANDIDATES` clippings only: the words
  pyvi finds in the query, in ``words``, and the syllables in sequence (a
  phrase) in ``text``, since pyvi may segment the query and a clipping
  differently.

A quoted phrase requires the sequence (and the exact forms score as above).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import QueryError
from .index import EXACT_FIELD, TEXT_FIELD, WORDS_FIELD, open_whoosh_index, stored_body
from .query import And, Node, Not, Or, Phrase, Terms, parse_query
from .snippets import HighlightTerms, Snippet, highlight_spans, make_snippet
from .text import fold, has_diacritics, normalize, syllables

__all__ = ["EXACT_WEIGHT", "Hit", "Index", "SearchResult", "open_index"]

#: Weight of a syllable matched with the diacritics the user typed.
EXACT_WEIGHT = 1.0
#: Weights of the optional bonuses: whole pyvi words and the syllables in order.
WORD_BONUS = 0.5
SEQUENCE_BONUS = 1.0
#: How many of the best matches by the required part get the bonuses.
CANDIDATES = 100


@dataclass(frozen=True)
class Hit:
    """One matching clipping."""

    id: str
    path: str
    title: str
    date: dt.date | None
    source: str | None
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    title_highlights: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (date as ISO ``yyyy-mm-dd`` or None)."""
        return {
            "id": self.id,
            "path": self.path,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "source": self.source,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
        }


@dataclass(frozen=True)
class SearchResult:
    """The hits shown and the number of all matching clippings."""

    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "hits": [h.to_dict() for h in self.hits]}


# ---------------------------------------------------------------------------
# Planning


def _query_syllables(text: str) -> list[str]:
    return [s.text for s in syllables(normalize(text))]


@dataclass(frozen=True)
class Plan:
    """What a query asks of Whoosh: ``required`` decides which clippings
    match and ranks them (Whoosh prunes it to the top candidates with its
    block-max scores); ``bonus`` queries add score to those candidates only."""

    required: Any
    bonus: tuple[Any, ...] = ()


def _union(subqueries: list[Any]) -> Any:
    """An OR that Whoosh evaluates with its binary union matchers: for OR
    groups of three or more on small indexes, whoosh-reloaded 2.7.5 picks an
    array matcher whose max_quality() is the largest part's score instead of
    the sum, so its top-N pruning drops the best clippings."""
    from whoosh import query as wq

    union = wq.Or(subqueries)
    union.matcher_type = wq.Or.DEFAULT_MATCHER
    return union


def _syllable_clause(syllable: str, field: str, exact_allowed: bool) -> Any:
    """The folded syllable; typed with diacritics, also its exact form, which
    every clipping with it has too, so the union matches the same clippings
    and those with what the user typed score more."""
    from whoosh import query as wq

    folded = wq.Term(field, fold(syllable))
    if exact_allowed and has_diacritics(syllable):
        return _union([folded, wq.Term(EXACT_FIELD, syllable, boost=EXACT_WEIGHT)])
    return folded


def _query_words(text: str) -> list[str]:
    """pyvi's words of the query. pyvi segments capitals differently, so the
    query is lowercased first: letter case must not change the ranking."""
    from .segmenter import segment
    from .text import syllable_form

    return [
        fold("_".join(syllable_form(s) for s in seg.syllables))
        for seg in segment(normalize(text).text.lower())
        if len(seg.syllables) > 1
    ]


def _plan_words(node: Terms | Phrase) -> Plan:
    from whoosh import query as wq

    field = node.field or TEXT_FIELD
    whole = node.field is None  # title: and source: are plain syllable fields
    in_order = _query_syllables(node.text)
    sylls = list(dict.fromkeys(in_order))
    folded = [fold(s) for s in in_order]
    bonus: list[Any] = []
    if whole:
        bonus += [wq.Term(WORDS_FIELD, w, boost=WORD_BONUS) for w in _query_words(node.text)]
    if isinstance(node, Phrase) and len(folded) > 1:
        sequence = wq.Phrase(field, folded)
        exact = [_syllable_clause(s, field, whole) for s in sylls if whole and has_diacritics(s)]
        return Plan(wq.And([sequence, *exact]) if exact else sequence, tuple(bonus))
    clauses = [_syllable_clause(s, field, whole) for s in sylls]
    required = wq.And(clauses) if len(clauses) > 1 else clauses[0]
    if len(folded) > 1:
        bonus.append(wq.Phrase(field, folded, boost=SEQUENCE_BONUS))
    return Plan(required, tuple(bonus))


def plan(node: Node) -> Plan:
    """The Whoosh queries for a parsed query."""
    from whoosh import query as wq

    if isinstance(node, (Terms, Phrase)):
        return _plan_words(node)
    if isinstance(node, Not):
        return Plan(wq.Not(plan(node.child).required))
    if isinstance(node, And):
        positive = [plan(c) for c in node.children if not isinstance(c, Not)]
        negative = [plan(c.child).required for c in node.children if isinstance(c, Not)]
        if not positive:  # (NOT a NOT b) inside a larger query
            return Plan(wq.Not(_union(negative)))
        q = positive[0].required if len(positive) == 1 else wq.And([p.required for p in positive])
        required = wq.AndNot(q, _union(negative)) if negative else q
        return Plan(required, tuple(b for p in positive for b in p.bonus))
    if isinstance(node, Or):
        parts = [plan(c) for c in node.children]
        return Plan(_union([p.required for p in parts]), tuple(b for p in parts for b in p.bonus))
    raise TypeError(node)  # pragma: no cover


def highlight_terms(node: Node) -> HighlightTerms:
    """The syllables to highlight: those of every positive term."""
    exact: set[str] = set()
    folded: set[str] = set()

    def walk(n: Node) -> None:
        if isinstance(n, (Terms, Phrase)):
            for s in _query_syllables(n.text):
                folded.add(fold(s))
                if has_diacritics(s):
                    exact.add(s)
        elif isinstance(n, (And, Or)):
            for c in n.children:
                walk(c)

    walk(node)
    return HighlightTerms(frozenset(exact), frozenset(folded))


# ---------------------------------------------------------------------------
# The index


class Index:
    """An open clipsearch index. Keeps one searcher open between searches and
    refreshes it when the index has changed. Use as a context manager or call
    :meth:`close`."""

    def __init__(self, index_dir: str | Path) -> None:
        from whoosh import scoring

        self.path = Path(index_dir)
        self._ix = open_whoosh_index(self.path)
        self._weighting = scoring.BM25F()
        self._searcher = self._ix.searcher(weighting=self._weighting)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """The number of clippings in the index."""
        with self._lock:
            self._refresh()
            return int(self._searcher.doc_count())

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the searcher and its files."""
        self._searcher.close()

    def _refresh(self) -> None:
        # A new searcher rather than Searcher.refresh(), which fails on an
        # index that was empty when it was opened.
        if not self._searcher.up_to_date():
            self._searcher.close()
            self._searcher = self._ix.searcher(weighting=self._weighting)

    def query(self, query: str, limit: int = 10) -> SearchResult:
        """Search; the result has the hits shown and the total matched."""
        if limit < 1:
            raise QueryError("the limit must be at least 1")
        node = parse_query(query)
        query_plan = plan(node)
        terms = highlight_terms(node)
        with self._lock:
            self._refresh()
            searcher = self._searcher
            results = _top(searcher, query_plan.required, max(CANDIDATES, limit))
            total = len(results)
            scores = {hit.docnum: hit.score for hit in results}
            for docnum, extra in _bonus_scores(searcher, query_plan.bonus, sorted(scores)).items():
                scores[docnum] += extra
            best = sorted(scores, key=lambda d: (-scores[d], d))[:limit]
            stored = [(searcher.stored_fields(d), scores[d]) for d in best]
        hits = [_make_hit(fields, score, terms) for fields, score in stored]
        return SearchResult(query, total, hits)

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """The best ``limit`` hits for ``query``."""
        return self.query(query, limit).hits


def _top(searcher: Any, query: Any, limit: int) -> Any:
    """The ``limit`` best-scored documents of ``query``, and the exact count.

    One exhaustive pass. Whoosh's default collector prunes with each term's
    maximum score and "replaces" matchers as its threshold rises; both use
    field lengths rounded to one byte and so under-estimate BM25F scores: on
    2,000 clippings its top 100 for ``hà nội`` missed a document scoring
    16.2 while keeping ones at 13.4. The exhaustive pass also counts the
    matches, which saves Whoosh's second pass for ``len(results)``."""
    from whoosh.collectors import TopCollector

    collector = TopCollector(limit, usequality=False, replace=0)
    searcher.search_with_collector(query, collector)
    return collector.results()


def _bonus_scores(searcher: Any, bonus: tuple[Any, ...], docnums: list[int]) -> dict[int, float]:
    """The score each bonus query gives each of ``docnums`` (ascending): one
    pass of the query's matcher, skipping to the candidates only."""
    extra: dict[int, float] = {}
    if not docnums:
        return extra
    context = searcher.context()
    for query in bonus:
        matcher = query.matcher(searcher, context)
        for docnum in docnums:
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
                if not matcher.is_active():
                    break
            if matcher.id() == docnum:
                extra[docnum] = extra.get(docnum, 0.0) + matcher.score()
    return extra


def _make_hit(fields: dict[str, Any], score: float, terms: HighlightTerms) -> Hit:
    date = fields.get("date")
    snippet = _best_snippet(fields.get("lead", ""), stored_body(fields), terms)
    title = fields.get("title", "")
    return Hit(
        id=fields["id"],
        path=fields.get("path", ""),
        title=title,
        date=date.date() if isinstance(date, dt.datetime) else None,
        source=fields.get("source"),
        score=float(score),
        snippet=snippet.text,
        highlights=snippet.highlights,
        title_highlights=tuple(highlight_spans(title, terms)),
    )


def _best_snippet(lead: str, body: str, terms: HighlightTerms) -> Snippet:
    first = make_snippet(body or lead, terms)
    if first.highlights or not body or not lead:
        return first
    second = make_snippet(lead, terms)
    return second if second.highlights else first


def open_index(index_dir: str | Path = "index") -> Index:
    """Open the index in ``index_dir`` for searching."""
    return Index(index_dir)
