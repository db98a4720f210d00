"""Filters on the matched set: sources and a date range.

Dates are read the way Vietnamese users write them (``31/3/2026``,
``03/2026``) and in ISO form (``2026-03-31``, ``2026-03``, ``2026``); a
partial date is a whole month or year, so ``--until 03/2026`` includes 31
March. Sources match by name, whatever the case and diacritics
(``tuoi tre`` is ``Tuổi Trẻ``). :func:`filter_matches` applies a
:class:`Filters` to the index's columns; :func:`facet_counts` counts the
matches by source and month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from clipsearch.errors import QueryError
from clipsearch.reading.columns import Columns
from clipsearch.reading.stored import StoredFields
from clipsearch.searching.scoring import Matches
from clipsearch.sorted_arrays import in_sorted
from clipsearch.text.fold import fold
from clipsearch.text.normalize import clean

__all__ = [
    "NO_VALUE",
    "DateSpan",
    "Filters",
    "day_number",
    "facet_counts",
    "filter_matches",
    "parse_date_range",
    "parse_date_span",
    "source_key",
]

_VN_DATE = re.compile(r"(?:(\d{1,2})[/.-])?(\d{1,2})[/.-](\d{4})")
_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


@dataclass(frozen=True)
class DateSpan:
    """The first and last day a written date stands for."""

    first: dt.date
    last: dt.date


def parse_date_span(text: str) -> DateSpan:
    """``31/03/2026``, ``3/2026``, ``2026-03-31``, ``2026-03`` or ``2026``
    as the days it covers; raise :class:`QueryError` otherwise."""
    value = text.strip()
    year: int
    month: int | None
    day: int | None
    if m := _VN_DATE.fullmatch(value):
        day = int(m.group(1)) if m.group(1) else None
        month, year = int(m.group(2)), int(m.group(3))
    elif m := _ISO_DATE.fullmatch(value):
        year = int(m.group(1))
        month = int(m.group(2)) if m.group(2) else None
        day = int(m.group(3)) if m.group(3) else None
    else:
        raise QueryError(f"cannot read the date {value!r}: write dd/mm/yyyy or yyyy-mm-dd (or a month: mm/yyyy)")
    try:
        if month is None:
            return DateSpan(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if day is None:
            return DateSpan(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))
        date = dt.date(year, month, day)
    except ValueError as exc:
        raise QueryError(f"cannot read the date {value!r}: {exc}") from None
    return DateSpan(date, date)


def parse_date_range(text: str) -> tuple[dt.date | None, dt.date | None]:
    """A ``date:`` value: one date (its whole span) or ``FROM..TO`` with
    either end left open."""
    if ".." in text:
        start, _, end = text.partition("..")
        return (
            parse_date_span(start).first if start.strip() else None,
            parse_date_span(end).last if end.strip() else None,
        )
    span = parse_date_span(text)
    return span.first, span.last


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
        as text (:func:`parse_date_span`: ``since`` takes the first day,
        ``until`` the last)."""
        names = [sources] if isinstance(sources, str) else list(sources or [])
        start = parse_date_span(since).first if isinstance(since, str) else since
        end = parse_date_span(until).last if isinstance(until, str) else until
        if start and end and start > end:
            raise QueryError(f"the date range is empty: {start:%d/%m/%Y} is after {end:%d/%m/%Y}")
        return cls(frozenset(source_key(n) for n in names if source_key(n)), start, end)

    def narrowed(self, since: dt.date | None, until: dt.date | None) -> Filters:
        """These filters and a further date range (the intersection)."""
        start = max((d for d in (self.since, since) if d), default=None)
        end = min((d for d in (self.until, until) if d), default=None)
        return Filters(self.sources, start, end)

    @property
    def active(self) -> bool:
        return bool(self.sources or self.since or self.until)


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
