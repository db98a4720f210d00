"""A search request checked and read, the same for every backend: the
limit, the sort, the query's words and its filters (those given as options
narrowed by the query's ``date:`` ranges)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from clipsearch.errors import QueryError
from clipsearch.searching.filters import Filters
from clipsearch.searching.syntax import Node, parse_query, split_filters

__all__ = ["SORTS", "checked_limit", "read_request"]

#: Orders of the hits; a query without words (``*``, only filters) lists newest first.
SORTS = ("relevance", "newest", "oldest")


def checked_limit(limit: Any) -> int:
    """``limit`` as an int, or a :class:`QueryError` when it is not a whole number of at least 1."""
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)):
        raise QueryError(f"the limit must be a whole number, not {type(limit).__name__}")
    if limit < 1:
        raise QueryError("the limit must be at least 1")
    return int(limit)


def read_request(
    query: str,
    sort: str,
    source: str | Sequence[str] | None,
    since: dt.date | str | None,
    until: dt.date | str | None,
) -> tuple[Node | None, Filters]:
    """The query's words (None for a query of no words: ``*`` or only
    filters) and the filters of the search. Raises :class:`QueryError` for
    an unknown sort, a query that cannot be read or an empty date range."""
    if not isinstance(sort, str) or sort not in SORTS:
        raise QueryError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    words, q_since, q_until = split_filters(parse_query(query))
    filters = Filters.make(source, since, until).narrowed(q_since, q_until)
    if filters.since and filters.until and filters.since > filters.until:
        raise QueryError("the date range is empty")
    return words, filters
