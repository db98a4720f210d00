"""What a search gives back, whichever backend answered it (the Whoosh index
of :mod:`clipsearch.search` or a Typesense collection): :class:`SearchResult`
with its :class:`Hit` list, :class:`ClippingView`, :class:`ClippingSummary`
and :class:`IndexStats`, each with ``to_dict()`` for JSON; and
:func:`make_hit`, a hit made from a clipping's stored text (its snippet and
highlights computed here, on the original text)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from clipsearch.schema import stored_body
from clipsearch.searching.highlight import HighlightTerms, best_snippet, highlight_spans

__all__ = ["ClippingSummary", "ClippingView", "Hit", "IndexStats", "SearchResult", "date_of_day", "make_hit"]


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
    #: Ids of near-duplicate reprints of this clipping that also matched, collapsed into it.
    similar: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (date as ISO ``yyyy-mm-dd`` or None)."""
        return {
            **_described(self),
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
            "similar": list(self.similar),
        }


def _described(item: Hit | ClippingView | ClippingSummary) -> dict[str, Any]:
    """The fields every JSON object about a clipping starts with."""
    return {
        "id": item.id,
        "path": item.path,
        "title": item.title,
        "date": item.date.isoformat() if item.date else None,
        "source": item.source,
    }


@dataclass(frozen=True)
class SearchResult:
    """The hits shown, the number of all matching clippings and, when asked
    for, facet counts over all of them: ``{"source": {name: n}, "month":
    {"yyyy-mm": n}}``, with ``"none"`` for clippings without one."""

    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, dict[str, int]] | None = None
    suggestion: str | None = None
    #: The query searched instead of ``query``: its words typed as Telex or
    #: VNI keystrokes decoded (:mod:`clipsearch.searching.correction`).
    corrected: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "query": self.query,
            "corrected": self.corrected,
            "total": self.total,
            "suggestion": self.suggestion,
            "hits": [h.to_dict() for h in self.hits],
        }
        if self.facets is not None:
            data["facets"] = self.facets
        return data


@dataclass(frozen=True)
class ClippingSummary:
    """A clipping as a list shows it: no texts but its title."""

    id: str
    path: str
    title: str
    date: dt.date | None
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return _described(self)


@dataclass(frozen=True)
class ClippingView:
    """A whole stored clipping, with the spans of a query's words."""

    id: str
    path: str
    title: str
    date: dt.date | None
    source: str | None
    lead: str
    body: str
    title_highlights: tuple[tuple[int, int], ...] = ()
    lead_highlights: tuple[tuple[int, int], ...] = ()
    body_highlights: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            **_described(self),
            "lead": self.lead,
            "body": self.body,
            "highlights": {
                "title": [list(s) for s in self.title_highlights],
                "lead": [list(s) for s in self.lead_highlights],
                "body": [list(s) for s in self.body_highlights],
            },
        }


@dataclass(frozen=True)
class IndexStats:
    """What :meth:`Index.stats` reports."""

    index_dir: str
    clippings: int
    sources: dict[str, int]
    first_date: dt.date | None
    last_date: dt.date | None
    without_date: int
    without_source: int
    #: None where the backend does not tell (a Typesense collection)
    size_bytes: int | None
    updated: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates ISO)."""
        return {
            "index_dir": self.index_dir,
            "clippings": self.clippings,
            "sources": self.sources,
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "without_date": self.without_date,
            "without_source": self.without_source,
            "size_bytes": self.size_bytes,
            "updated": self.updated,
        }


def date_of_day(day: int) -> dt.date | None:
    """The date of a ``yyyymmdd`` day number (None for 0)."""
    return dt.date(day // 10000, day // 100 % 100, day % 100) if day else None


def make_hit(
    fields: dict[str, Any],
    score: float,
    terms: HighlightTerms,
    day: int,
    similar: tuple[str, ...] = (),
    body: str | None = None,
) -> Hit:
    """A hit from a clipping's stored fields (``body``: its body if already
    read), its snippet and highlights for ``terms``."""
    body = stored_body(fields) if body is None else body
    snippet = best_snippet(fields.get("lead", ""), body, terms)
    title = fields.get("title", "")
    return Hit(
        id=fields["id"],
        path=fields.get("path", ""),
        title=title,
        date=date_of_day(day),
        source=fields.get("source"),
        score=float(score),
        snippet=snippet.text,
        highlights=snippet.highlights,
        title_highlights=tuple(highlight_spans(title, terms)),
        similar=similar,
    )
