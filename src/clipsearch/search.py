"""Searching: query plans, ranking, hits with snippets.

The plan for each group of words, term by term:

* a syllable typed with diacritics matches its exact form with weight
  :data:`EXACT_WEIGHT` and its folded form with weight 1 (documents with the
  exact form have both, so they rank first); a syllable typed without
  diacritics matches the folded form, which every syllable of the index has;
* every syllable must match, in any of title, lead and body (boosted in that
  order); the words pyvi finds in the query (``văn_phòng``) and the syllables
  in sequence add score without being required, since pyvi may segment the
  query and a document differently.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import QueryError
from .index import SYLLABLE_FIELDS, WORD_FIELDS, open_whoosh_index
from .query import And, Node, Not, Or, Phrase, Terms, parse_query
from .snippets import HighlightTerms, Snippet, highlight_spans, make_snippet
from .text import fold, has_diacritics, normalize, syllables

__all__ = ["Hit", "SearchResult", "Index", "open_index", "FIELD_BOOSTS", "EXACT_WEIGHT"]

#: How much a match in each field counts.
FIELD_BOOSTS = {"title": 3.0, "lead": 1.5, "body": 1.0, "source": 1.0}
#: Extra weight of a syllable matched with the diacritics the user typed.
EXACT_WEIGHT = 2.0
#: Weight of the optional bonuses: whole pyvi words and the syllables in order.
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


def _fields(field_name: str | None) -> tuple[str, ...]:
    return SYLLABLE_FIELDS if field_name is None else (field_name,)


def _syllable_clause(syllable: str, fields: tuple[str, ...]) -> Any:
    from whoosh import query as wq

    folded = fold(syllable)
    clauses = []
    for f in fields:
        boost = FIELD_BOOSTS[f]
        if folded != syllable:
            clauses.append(wq.Term(f, syllable, boost=boost * EXACT_WEIGHT))
        clauses.append(wq.Term(f, folded, boost=boost))
    return clauses[0] if len(clauses) == 1 else wq.Or(clauses)


def _sequence(sylls: list[str], fields: tuple[str, ...], boost: float) -> list[Any]:
    from whoosh import query as wq

    return [wq.Phrase(f, sylls, boost=boost * FIELD_BOOSTS[f]) for f in fields]


def _word_bonus(text: str, fields: tuple[str, ...]) -> list[Any]:
    from whoosh import query as wq

    from .segmenter import segment
    from .text import syllable_form

    word_fields = [(f, WORD_FIELDS[f]) for f in fields if f in WORD_FIELDS]
    if not word_fields:
        return []
    bonus = []
    for seg in segment(normalize(text).text):
        if len(seg.syllables) < 2:
            continue
        word = "_".join(syllable_form(s) for s in seg.syllables)
        folded = fold(word)
        for f, wf in word_fields:
            if folded != word:
                bonus.append(wq.Term(wf, word, boost=WORD_BONUS * FIELD_BOOSTS[f] * EXACT_WEIGHT))
            bonus.append(wq.Term(wf, folded, boost=WORD_BONUS * FIELD_BOOSTS[f]))
    return bonus


def _plan_terms(node: Terms) -> Any:
    from whoosh import query as wq

    fields = _fields(node.field)
    sylls = _query_syllables(node.text)
    clauses = [_syllable_clause(s, fields) for s in sylls]
    required = wq.And(clauses) if len(clauses) > 1 else clauses[0]
    bonus = _word_bonus(node.text, fields)
    if len(sylls) > 1:
        bonus += _sequence([fold(s) for s in sylls], fields, SEQUENCE_BONUS)
    return wq.AndMaybe(required, wq.Or(bonus)) if bonus else required


def _plan_phrase(node: Phrase) -> Any:
    from whoosh import query as wq

    fields = _fields(node.field)
    sylls = _query_syllables(node.text)
    if len(sylls) == 1:
        return _syllable_clause(sylls[0], fields)
    required = wq.Or(_sequence([fold(s) for s in sylls], fields, 1.0))
    bonus = _word_bonus(node.text, fields)
    if any(has_diacritics(s) for s in sylls):
        bonus += _sequence(sylls, fields, EXACT_WEIGHT)
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
    snippet = _best_snippet(fields.get("lead", ""), fields.get("body", ""), terms)
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
