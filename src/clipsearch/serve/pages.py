"""The web pages, in Vietnamese: search (``/``), a clipping
(``/clippings/{id}``) and the archive's figures (``/stats``).

They are rendered on the server from the Jinja2 templates in ``templates/``
(every value escaped), so that they work without JavaScript and every search
is a GET URL that can be shared; ``static/app.js`` only adds to them. Their
Content-Security-Policy (:data:`HEADERS`) allows scripts and styles from the
server's own ``/static/`` files and nothing inline.

Facet counts are those of the other filters: the source checkboxes count
the matches of the query and the dates whatever sources are ticked, and the
month histogram counts them whatever dates are set, so that a reader sees
what ticking another source or clicking another month would give.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from clipsearch.backend import Backend
from clipsearch.errors import QueryError
from clipsearch.results import SearchResult
from clipsearch.searching.filters import NO_VALUE, source_key
from clipsearch.searching.request import SORTS
from clipsearch.serve import parameters
from clipsearch.serve.failures import BadParameter, failure_status

__all__ = ["HEADERS", "PAGE_SIZE", "STATIC", "error_page", "routes"]

#: Results on one page of search results, and how many pages may be asked for.
PAGE_SIZE = 10
MAX_PAGE = parameters.MAX_OFFSET // PAGE_SIZE + 1
#: Source checkboxes shown before "Thêm nguồn" (the rest are folded away).
SHOWN_SOURCES = 12
#: Reprints listed under one result.
SHOWN_REPRINTS = 20
#: Clippings listed as similar on a clipping's page.
SIMILAR = 8
#: Beyond this many months, the histogram has a bar a year; beyond this many
#: years (a stray date such as 01/01/0001), a bar for each year with matches only.
HISTOGRAM_MONTHS = 72
HISTOGRAM_YEARS = 60

#: Headers of every page.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

#: The folder of the stylesheet and the script.
STATIC = Path(__file__).parent / "static"

SORT_LABELS = {"relevance": "Liên quan nhất", "newest": "Mới nhất", "oldest": "Cũ nhất"}
assert tuple(SORT_LABELS) == SORTS

STATUS_TITLES = {
    400: "Không hiểu yêu cầu",
    404: "Không tìm thấy",
    503: "Chưa có chỉ mục dùng được",
    500: "Lỗi máy chủ",
}


def count(n: int) -> str:
    """A number as Vietnamese writes it: ``1.690``."""
    return f"{n:,}".replace(",", ".")


def day(date: dt.date | None) -> str:
    """A date as dd/mm/yyyy (empty for none)."""
    return f"{date.day:02d}/{date.month:02d}/{date.year:04d}" if date else ""


def moment(iso: str | None) -> str:
    """An ISO timestamp as dd/mm/yyyy hh:mm with its offset (``UTC`` for +00:00); other text as it is."""
    if not iso:
        return ""
    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    offset = when.strftime("%z")
    zone = "UTC" if offset in ("+0000", "") else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{day(when.date())} {when:%H:%M} {zone}"


def marked(text: str, spans: Iterable[Sequence[int]]) -> Markup:
    """``text`` escaped, with each ``(start, end)`` span in ``<mark>``."""
    parts: list[str] = []
    at = 0
    for start, end in sorted((int(s), min(int(e), len(text))) for s, e in spans):
        if start < at or end <= start:
            continue
        parts += [escape(text[at:start]), Markup("<mark>"), escape(text[start:end]), Markup("</mark>")]
        at = end
    parts.append(escape(text[at:]))
    return Markup("").join(parts)


def url(path: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """``path`` with ``params`` as its query string."""
    query = urllib.parse.urlencode([(k, v) for k, v in params if v])
    return f"{path}?{query}" if query else path


def clipping_url(clipping_id: str, q: str = "") -> str:
    """The page of a clipping (with the query's words marked)."""
    return url("/clippings/" + urllib.parse.quote(clipping_id, safe=""), [("q", q)])


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("clipsearch.serve", "templates"),
    autoescape=True,
    auto_reload=False,  # the templates the code was started with, whatever is installed meanwhile
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters.update(count=count, day=day, marked=marked, moment=moment)
_templates.globals.update(clipping_url=clipping_url, url=url)


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_utf8(_templates.get_template(name).render(**context)), status, headers=HEADERS)


def _utf8(html: str) -> bytes:
    """``html`` as UTF-8; text that is not valid Unicode (a file name's
    undecodable bytes, kept as surrogate escapes) shows as U+FFFD."""
    try:
        return html.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return html.encode("utf-8", "surrogateescape").decode("utf-8", "replace").encode("utf-8")
        except UnicodeEncodeError:
            return html.encode("utf-8", "replace")


def error_page(status: int, message: str, q: str = "") -> HTMLResponse:
    """A page that says what went wrong, with the search box."""
    title = STATUS_TITLES.get(status, "Lỗi")
    return _render("error.html", status, title=title, message=message, q=q)


@dataclass(frozen=True)
class SourceBox:
    """One source checkbox: its name, the matches it has, and whether it is ticked."""

    name: str
    count: int
    checked: bool


@dataclass(frozen=True)
class Bar:
    """One bar of the histogram: a month (``3/2026``) or a year, its matches,
    the search limited to it, and where it is drawn (in the SVG's units)."""

    label: str
    count: int
    href: str
    x: int
    height: float
    selected: bool


@dataclass(frozen=True)
class Histogram:
    """The bars, whether they are years, the SVG's width, and the matches without a date."""

    bars: list[Bar]
    by_year: bool
    width: int
    undated: int


def _source_boxes(counts: dict[str, int], ticked: list[str]) -> list[SourceBox]:
    keys = {source_key(name) for name in ticked}
    boxes = [SourceBox(name, n, source_key(name) in keys) for name, n in counts.items() if name != NO_VALUE]
    shown = {source_key(b.name) for b in boxes}
    boxes += [SourceBox(name, 0, True) for name in ticked if source_key(name) not in shown]
    # The ticked ones first (they must stay visible), then by count as the facets give them.
    return sorted(boxes, key=lambda b: not b.checked)


def _histogram(months: dict[str, int], since: str | None, until: str | None, link: Callable[[str], str]) -> Histogram:
    """Bars for the months from the first with a match to the last (a year
    a bar beyond :data:`HISTOGRAM_MONTHS`, and only the years with matches
    beyond :data:`HISTOGRAM_YEARS`); ``link(label)`` is the search limited to
    a bar's month or year."""
    found = {(int(k[:4]), int(k[5:7])): n for k, n in months.items() if k != NO_VALUE}
    undated = months.get(NO_VALUE, 0)
    if not found:
        return Histogram([], False, 0, undated)
    first, last = min(found), max(found)
    spans: list[tuple[str, int]] = []
    by_year: bool
    if (last[0] - first[0]) * 12 + last[1] - first[1] + 1 > HISTOGRAM_MONTHS:
        by_year = True
        years: dict[int, int] = {}
        for (year, _month), n in found.items():
            years[year] = years.get(year, 0) + n
        every = range(first[0], last[0] + 1) if last[0] - first[0] < HISTOGRAM_YEARS else sorted(years)
        spans = [(f"{year:04d}", years.get(year, 0)) for year in every]
    else:
        by_year = False
        year, month = first
        spans = []
        while (year, month) <= last:
            spans.append((f"{month}/{year:04d}", found.get((year, month), 0)))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    highest = max(n for _label, n in spans)
    chosen = since if since is not None and since == until else None
    bars = [
        Bar(label, n, link(label), 10 * i, round(100 * n / highest, 2) if n else 0, _same_span(label, chosen))
        for i, (label, n) in enumerate(spans)
    ]
    return Histogram(bars, by_year, 10 * len(bars), undated)


def _same_span(label: str, chosen: str | None) -> bool:
    """Whether the date filter ``chosen`` (as typed) names the bar's month or year."""
    if chosen is None:
        return False
    normal = chosen.strip()
    if "-" in normal:  # yyyy-mm, as a picker or another tool writes it
        year, _, month = normal.partition("-")
        normal = f"{int(month)}/{year}" if month.isdigit() and year.isdigit() else normal
    return normal.lstrip("0") == label.lstrip("0")


def _search(request: Request, index: Backend) -> HTMLResponse:
    raw_q = request.query_params.get("q", "")
    q = raw_q if len(raw_q) <= parameters.MAX_QUERY else ""  # too long to show again
    try:
        ticked, bad_sources = parameters.sources(request), None
    except BadParameter as exc:
        ticked, bad_sources = [], exc
    since, until = parameters.text(request, "since"), parameters.text(request, "until")
    sort = parameters.text(request, "sort") or "relevance"
    try:
        exact_input = parameters.flag(request, "exact_input")
    except BadParameter:
        exact_input = False  # said by the search below
    state = [("q", q), *(("source", s) for s in ticked), ("since", since or ""), ("until", until or "")]
    state.append(("sort", "" if sort == "relevance" else sort))
    if exact_input:
        state.insert(1, ("exact_input", "1"))
    form: dict[str, Any] = {
        "q": q,
        "ticked": ticked,
        "since": since or "",
        "until": until or "",
        "sort": sort,
        "sorts": SORT_LABELS,
        "filtered": bool(ticked or since or until),
        "unfiltered_url": url("/", [("q", q), state[-1]]),
    }
    try:
        parameters.query(request)  # too long: a BadParameter
        parameters.flag(request, "exact_input")
        if bad_sources is not None:
            raise bad_sources
        page = parameters.number(request, "page", 1, 1, MAX_PAGE)
        words = q if q.strip() else "*"
        offset = (page - 1) * PAGE_SIZE
        options: dict[str, Any] = {"facets": True, "exact_input": exact_input}
        result = index.query(
            words, offset + PAGE_SIZE + 1, source=ticked or None, since=since, until=until, sort=sort, **options
        )
        source_counts, month_counts = _facets(result)["source"], _facets(result)["month"]
        if ticked:
            source_counts = _facets(index.query(words, 1, since=since, until=until, **options))["source"]
        if since or until:
            month_counts = _facets(index.query(words, 1, source=ticked or None, **options))["month"]
    except (QueryError, BadParameter) as exc:
        boxes = [SourceBox(name, 0, True) for name in ticked]
        return _render("search.html", 400, **form, error=str(exc), sources=boxes, shown_sources=len(boxes))

    def dated(label: str) -> str:
        undated = [(k, v) for k, v in state if k not in ("since", "until")]
        return url("/", [*undated, ("since", label), ("until", label)])

    hits = result.hits[offset : offset + PAGE_SIZE]
    more = len(result.hits) > offset + PAGE_SIZE and page < MAX_PAGE
    return _render(
        "search.html",
        **form,
        error=None,
        result=result,
        hits=hits,
        reprints={hit.id: index.summaries(hit.similar[:SHOWN_REPRINTS]) for hit in hits if hit.similar},
        listing=words == "*",
        sources=_source_boxes(source_counts, ticked),
        shown_sources=SHOWN_SOURCES,
        histogram=_histogram(month_counts, since, until, dated),
        page=page,
        previous_url=url("/", [*state, ("page", str(page - 1) if page > 2 else "")]) if page > 1 else None,
        next_url=url("/", [*state, ("page", str(page + 1))]) if more else None,
        suggestion_url=url("/", [("q", result.suggestion), *state[1:]]) if result.suggestion else None,
        as_typed_url=url("/", [*state, ("exact_input", "1")]) if result.corrected else None,
    )


def _facets(result: SearchResult) -> dict[str, dict[str, int]]:
    if result.facets is None:
        raise AssertionError("facets were asked for")
    return result.facets


def _clipping(request: Request, index: Backend) -> HTMLResponse:
    q = parameters.query(request) or ""
    view = index.show(request.path_params["id"], q or None)
    similar = index.similar(view.id, limit=SIMILAR)
    return _render("clipping.html", q=q, view=view, similar=similar.hits, back_url=url("/", [("q", q)]) if q else None)


def _stats(request: Request, index: Backend) -> HTMLResponse:
    return _render("stats.html", q="", stats=index.stats(), no_value=NO_VALUE)


def routes(get_index: Callable[[], Backend]) -> list[Route]:
    """The pages' routes, each rendered from ``get_index()``; a failure is
    :func:`error_page` with its status (a bad query: the search form again, with the message)."""

    def page(render: Callable[[Request, Backend], HTMLResponse]) -> Callable[[Request], HTMLResponse]:
        def run(request: Request) -> HTMLResponse:  # run in a worker thread, as the API's
            try:
                return render(request, get_index())
            except Exception as exc:
                status, message = failure_status(exc)
                q = request.query_params.get("q", "")
                return error_page(status, message, q if len(q) <= parameters.MAX_QUERY else "")

        return run

    return [
        Route("/", page(_search)),
        Route("/clippings/{id}", page(_clipping)),
        Route("/stats", page(_stats)),
    ]
