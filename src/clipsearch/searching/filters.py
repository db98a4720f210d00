"""Filters on the matched set (sources and a date range) and facet counts.

Sources match by name, whatever the case and diacritics (``tuoi tre`` is
``Tuổi Trẻ``); dates given as text are read as the query language reads
them (:func:`clipsearch.searching.syntax.parse_date_span`), so
``--until 03/2026`` includes 31 March. The index keeps each clipping's day
and source key as columns (:mod:`clipsearch.reading.columns`):
:func:`filter_matches` applies a :class:`Filters` to them and
:func:`facet_counts` counts the matches by source and month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np

from clipsearch.errors import QueryError
from clipsearch.reading.columns import Columns
from clipsearch.reading.stored import StoredFields
from clipsearch.searching.scoring import Matches
from clipsearch.searching.syntax import check_text, parse_date_span
from clipsearch.sorted_arrays import in_sorted
from clipsearch.text.fold import fold
from clipsearch.text.normalize import clean

__all__ = [
    "NO_VALUE",
    "Filters",
    "day_number",
    "facet_counts",
    "filter_matches",
    "source_key",
]


def day_number(date: dt.date | None) -> int:
    """``yyyymmdd`` as an int (0 for no date): how dates are kept in the index."""
    return date.year * 10_000 + date.month * 100 + date.day if date else 0


def source_key(name: str) -> str:
    """A source name compared without case, diacritics or extra spaces."""
    return " ".join(fold(clean(name)).lower().split())


@dataclass(frozen=True)
class Filters:
    """Which clippings may match: any of ``sources`` (by :func:`source_key`),
    dated within ``since``..``until`` (inclusive). Clippings without a date
    are excluded as soon as a date bound is given."""

    sources: frozenset[str] = frozenset()
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def make(
        cls,
        sources: str | Iterable[str] | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
    ) -> Filters:
        """Filters from API or CLI values: dates as :class:`datetime.date` or
        as text (:func:`~clipsearch.searching.syntax.parse_date_span`: ``since`` takes the first day,
        ``until`` the last). Anything else (a number for a date, a source
        name that is not a string or not valid text) is a :class:`QueryError`."""
        names = _names(sources)
        start = _day(since, "since", last=False)
        end = _day(until, "until", last=True)
        if start and end and start > end:
            raise QueryError(f"the date range is empty: {start:%d/%m/%Y} is after {end:%d/%m/%Y}")
        for name in names:
            if not source_key(name):
                raise QueryError(f"the source name {name!r} has no letters or digits to compare")
        return cls(frozenset(source_key(n) for n in names), start, end)

    def narrowed(self, since: dt.date | None, until: dt.date | None) -> Filters:
        """These filters and a further date range (the intersection)."""
        start = max((d for d in (self.since, since) if d), default=None)
        end = min((d for d in (self.until, until) if d), default=None)
        return Filters(self.sources, start, end)

    @property
    def active(self) -> bool:
        return bool(self.sources or self.since or self.until)


def _names(sources: object) -> list[str]:
    """The source names given: one name, several, or None for all."""
    if sources is None:
        return []
    if isinstance(sources, str):
        names: list[object] = [sources]
    elif isinstance(sources, Iterable) and not isinstance(sources, (bytes, bytearray, Mapping)):
        names = list(sources)
    else:
        names = [sources]
    for name in names:
        if not isinstance(name, str):
            raise QueryError(f"a source must be a name (a string), not {type(name).__name__}")
        check_text(name, "the source")
    return cast(list[str], names)


def _day(value: object, name: str, *, last: bool) -> dt.date | None:
    """A date bound: a date (a datetime's day), or text read by
    :func:`~clipsearch.searching.syntax.parse_date_span` (its first day,
    or with ``last`` its last)."""
    if value is None:
        return None
    if isinstance(value, str):
        span = parse_date_span(value)
        return span.last if last else span.first
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise QueryError(f"{name} must be a date or a date written as text, e.g. 31/03/2026, not {type(value).__name__}")


#: The facet value of clippings without a date or a source.
NO_VALUE = "none"


def filter_matches(matches: Matches, filters: Filters, columns: Columns) -> Matches:
    """The matches that pass ``filters``."""
    keep = np.ones(len(matches), dtype=bool)
    days = columns.days[matches.ids]
    if filters.sources:
        allowed = [columns.code_of[k] for k in filters.sources if k in columns.code_of]
        keep &= in_sorted(columns.key_codes[matches.ids], np.array(sorted(allowed), dtype=np.int64))
    if filters.since or filters.until:
        keep &= days > 0
        if filters.since:
            keep &= days >= day_number(filters.since)
        if filters.until:
            keep &= days <= day_number(filters.until)
    return Matches(matches.ids[keep], matches.scores[keep])


def facet_counts(stored: StoredFields, columns: Columns, matches: Matches) -> dict[str, dict[str, int]]:
    """Counts by source (its name as first indexed) and by month over all matches."""
    codes = columns.key_codes[matches.ids]
    sources: Counter[str] = Counter()
    for code, count in zip(*np.unique(codes, return_counts=True), strict=True):
        key = columns.key_names[int(code)]
        if not key:
            sources[NO_VALUE] += int(count)
            continue
        first = int(matches.ids[np.argmax(codes == code)])
        sources[stored(first).get("source") or NO_VALUE] += int(count)
    months: dict[str, int] = {}
    for month, count in zip(*np.unique(columns.days[matches.ids] // 100, return_counts=True), strict=True):
        months[f"{month // 100:04d}-{month % 100:02d}" if month else NO_VALUE] = int(count)
    return {
        "source": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        "month": dict(sorted(months.items(), key=lambda kv: (kv[0] == NO_VALUE, kv[0]))),
    }
