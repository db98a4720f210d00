"""Searching: query plans, ranking, hits with snippets.

The plan for each group of words (see :mod:`clipsearch.index` for the fields):

* required: every syllable, folded, in ``text`` (title, lead and body as
  zones weighted 3 : 1.5 : 1), so a query matches whatever diacritics, tone
  placement, case or normalisation either side used;
* bonus: the exact form of each syllable typed WITH diacritics in ``exact``
  (weight :data:`EXACT_WEIGHT`: clippings with what the user typed rank
  first), the words pyvi finds in the query in ``words``, and the syllables
  in sequence (a phrase) in ``text``, since pyvi may segment the query and a
  clipping differently.

A quoted phrase requires the sequence and gets the same bonuses.
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


def _bonus_terms(sylls: list[str], text: str, field: str | None) -> list[Any]:
    """Exact forms typed with diacritics and pyvi's words of the query."""
    from whoosh import query as wq

    if field is not None:  # title: and source: are plain syllable fields
        return []
    bonus = [wq.Term(EXACT_FIELD, s, boost=EXACT_WEIGHT) for s in sylls if has_diacritics(s)]
    bonus += [wq.Term(WORDS_FIELD, w, boost=WORD_BONUS) for w in _query_words(text)]
    return bonus


def _query_words(text: str) -> list[str]:
    from .segmenter import segment
    from .text import syllable_form

    return [
        fold("_".join(syllable_form(s) for s in seg.syllables))
        for seg in segment(normalize(text).text)
        if len(seg.syllables) > 1
    ]


def _plan_terms(node: Terms) -> Any:
    from whoosh import query as wq

    field = node.field or TEXT_FIELD
    sylls = _query_syllables(node.text)
    folded = [fold(s) for s in sylls]
    clauses = [wq.Term(field, f) for f in dict.fromkeys(folded)]
    required = wq.And(clauses) if len(clauses) > 1 else clauses[0]
    bonus = _bonus_terms(sylls, node.text, node.field)
    if len(folded) > 1:
        bonus.append(wq.Phrase(field, folded, boost=SEQUENCE_BONUS))
    return wq.AndMaybe(required, wq.Or(bonus)) if bonus else required


def _plan_phrase(node: Phrase) -> Any:
    from whoosh import query as wq

    field = node.field or TEXT_FIELD
    sylls = _query_syllables(node.text)
    folded = [fold(s) for s in sylls]
    required = wq.Phrase(field, folded) if len(folded) > 1 else wq.Term(field, folded[0])
    bonus = _bonus_terms(sylls, node.text, node.field)
    return wq.AndMaybe(required, wq.Or(bonus)) if bonus else required


def plan(node: Node) -> Any:
    """The Whoosh query for a parsed query."""
    from whoosh import query as wq

    if isinstance(node, Terms):
        return _plan_terms(node)
    if isinstance(node, Phrase):
        return _plan_phrase(node)
    if isinstance(node, Not):
        return wq.Not(plan(node.child))
    if isinstance(node, And):
        positive = [plan(c) for c in node.children if not isinstance(c, Not)]
        negative = [plan(c.child) for c in node.children if isinstance(c, Not)]
        q = positive[0] if len(positive) == 1 else wq.And(positive)
        return wq.AndNot(q, wq.Or(negative)) if negative else q
    if isinstance(node, Or):
        return wq.Or([plan(c) for c in node.children])
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
        self._searcher = self._ix.searcher(weighting=scoring.BM25F())
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
        if not self._searcher.up_to_date():
            self._searcher = self._searcher.refresh()

    def query(self, query: str, limit: int = 10) -> SearchResult:
        """Search; the result has the hits shown and the total matched."""
        if limit < 1:
            raise QueryError("the limit must be at least 1")
        node = parse_query(query)
        whoosh_query = plan(node)
        terms = highlight_terms(node)
        with self._lock:
            self._refresh()
            results = self._searcher.search(whoosh_query, limit=limit)
            total = len(results)
            stored = [(hit.fields(), hit.score) for hit in results]
        hits = [_make_hit(fields, score, terms) for fields, score in stored]
        return SearchResult(query, total, hits)

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """The best ``limit`` hits for ``query``."""
        return self.query(query, limit).hits


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
