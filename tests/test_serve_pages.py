"""The web pages of ``clipsearch serve``: the real server in a subprocess,
its HTML read back as a tree and compared with what the library answers."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import clipsearch
from clipsearch.searching.syntax import parse_date_span
from clipsearch.serve.pages import HISTOGRAM_MONTHS, PAGE_SIZE, _histogram, count, day, marked, moment
from clipsearch.text.fold import fold

from .conftest import SEED_ID
from .html_tree import Element, parse
from .servers import (
    PETROL_COUNT,
    PETROL_SOURCES,
    REPRINT_ID,
    XSS,
    XSS_ID,
    XSS_SOURCE,
    Server,
    running,
)

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _get(site: Server, path: str, **params: object) -> tuple[int, Element]:
    query = urllib.parse.urlencode(params, doseq=True)
    status, headers, html = site.page(f"{path}?{query}" if query else path)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == PAGE_CSP
    return status, parse(html)


def _hits(page: Element) -> list[Element]:
    return page.find_all("li", "hit")


def _hit_id(hit: Element) -> str:
    href = hit.find("h2").find("a").attrs["href"] or ""
    return urllib.parse.unquote(urllib.parse.urlsplit(href).path.removeprefix("/clippings/"))


def _link(element: Element) -> dict[str, list[str]]:
    """The query parameters of a link."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(element.attrs["href"] or "").query)


def _follow(site: Server, element: Element) -> tuple[int, Element]:
    return _get(site, urllib.parse.urlsplit(element.attrs["href"] or "").path, **_link(element))


def _total(page: Element) -> int:
    text = page.find("strong", "total").text()
    assert re.fullmatch(r"\d{1,3}(\.\d{3})* bài", text), text
    return int(text.removesuffix(" bài").replace(".", ""))


# The Vietnamese ways of writing numbers and dates


@given(st.integers(min_value=0, max_value=10**12))
def test_count_groups_thousands_with_dots(n: int) -> None:
    text = count(n)
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*", text)
    assert int(text.replace(".", "")) == n


@given(st.dates())
def test_day_is_dd_mm_yyyy(date: dt.date) -> None:
    assert dt.datetime.strptime(day(date), "%d/%m/%Y").date() == date
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", day(date))


@given(st.text(max_size=40), st.lists(st.tuples(st.integers(0, 45), st.integers(0, 45)), max_size=6))
def test_marked_escapes_everything_and_marks_only_the_spans(text: str, spans: list[tuple[int, int]]) -> None:
    html = str(marked(text, spans))
    tree = parse(html)
    assert tree.text() == text  # nothing lost, nothing became markup
    assert {e.tag for e in tree.iter()} <= {"#document", "mark"}
    for mark in tree.find_all("mark"):
        assert mark.text()


def test_moment_is_dd_mm_yyyy_hh_mm_with_its_zone() -> None:
    assert moment("2026-12-06T04:21:15+00:00") == "06/12/2026 04:21 UTC"
    assert moment("2026-12-06T11:21:15+07:00") == "06/12/2026 11:21 UTC+07:00"
    assert moment("yesterday") == "yesterday"
    assert moment(None) == ""


months_strategy = st.dictionaries(
    st.tuples(st.integers(1, 9999), st.integers(1, 12)).map(lambda ym: f"{ym[0]:04d}-{ym[1]:02d}"),
    st.integers(1, 10**6),
    max_size=30,
)


@given(months_strategy, st.integers(0, 5))
def test_the_histogram_keeps_every_match_and_links_dates_that_read(months: dict[str, int], undated: int) -> None:
    if undated:
        months = {**months, "none": undated}
    histogram = _histogram(months, None, None, lambda label: label)
    assert sum(bar.count for bar in histogram.bars) == sum(n for k, n in months.items() if k != "none")
    assert histogram.undated == undated
    assert len(histogram.bars) <= max(HISTOGRAM_MONTHS, len(months), 60)
    for bar in histogram.bars:
        span = parse_date_span(bar.href)  # every bar's link is a date the search reads
        dated = {dt.date(int(k[:4]), int(k[5:]), 1): n for k, n in months.items() if k != "none"}
        inside = sum(n for first_day, n in dated.items() if span.first <= first_day <= span.last)
        assert inside == bar.count
        assert 0 <= bar.height <= 100


def test_stray_years_do_not_flatten_the_histogram() -> None:
    months = {"0001-01": 1, "2025-11": 40, "2026-01": 60, "9999-12": 1}
    bars = _histogram(months, None, None, lambda label: label).bars
    assert [(b.label, b.count) for b in bars] == [("0001", 1), ("2025", 40), ("2026", 60), ("9999", 1)]


# The search page


def test_search_without_diacritics_shows_the_seed_marked(site: Server, web_index: clipsearch.Index) -> None:
    status, page = _get(site, "/", q="van phong cap uy")
    assert status == 200
    assert page.find("html").attrs["lang"] == "vi"
    expected = web_index.query("van phong cap uy", PAGE_SIZE + 1, facets=True)
    assert _total(page) == expected.total
    hits = _hits(page)
    assert [_hit_id(h) for h in hits] == [h.id for h in expected.hits]
    story = next(h for h in hits if _hit_id(h) in (SEED_ID, REPRINT_ID))
    for zone in (story.find("p", "snippet"), story.find("h2")):
        marked_words = [w for m in zone.find_all("mark") for w in fold(m.text()).lower().split()]
        assert marked_words and set(marked_words) <= {"van", "phong", "cap", "uy"}
    assert page.find("input", name="q").attrs["value"] == "van phong cap uy"


def test_the_total_is_written_with_a_dot_past_a_thousand(site: Server, web_index: clipsearch.Index) -> None:
    # The whole archive, listed: the total as the library counts it, written the Vietnamese way.
    status, page = _get(site, "/")
    assert status == 200
    assert page.find("strong", "total").text() == f"{count(len(web_index))} bài"


def test_reprints_show_as_one_result_with_their_list(site: Server, web_index: clipsearch.Index) -> None:
    _, page = _get(site, "/", q="văn phòng cấp ủy")
    story = next(h for h in _hits(page) if _hit_id(h) in (SEED_ID, REPRINT_ID))
    other = REPRINT_ID if _hit_id(story) == SEED_ID else SEED_ID
    details = story.find("details", "reprints")
    assert details.find("summary").text() == "+1 bản tương tự"
    (item,) = details.find_all("li")
    assert urllib.parse.unquote(item.find("a").attrs["href"] or "").startswith(f"/clippings/{other}?")
    assert item.find("a").text() == web_index.show(other).title


def test_sources_are_checkboxes_with_the_counts_of_the_other_filters(site: Server, web_index: clipsearch.Index) -> None:
    _, page = _get(site, "/", q="giá xăng")
    boxes = page.find_all("label", "source")
    shown = {b.find("span", "name").text(): int(b.find("span", "n").text()) for b in boxes}
    assert shown == {s: PETROL_COUNT // 3 for s in PETROL_SOURCES}
    # Ticking one narrows the results, and the other boxes keep their counts (to tick another).
    status, page = _get(site, "/", q="giá xăng", source="Nhân Dân")
    assert status == 200
    assert _total(page) == web_index.query("giá xăng", source="Nhân Dân").total == PETROL_COUNT // 3
    assert {h.find("span", "source").text() for h in _hits(page)} == {"Nhân Dân"}
    ticked = [
        b.find("span", "name").text() for b in page.find_all("label", "source") if "checked" in b.find("input").attrs
    ]
    assert ticked == ["Nhân Dân"]
    assert {
        b.find("span", "name").text(): int(b.find("span", "n").text()) for b in page.find_all("label", "source")
    } == shown
    # Two sources: both kinds of hits.
    _, page = _get(site, "/", q="giá xăng", source=["Nhân Dân", "tuoi tre"])
    assert _total(page) == 2 * PETROL_COUNT // 3


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("31/3/2026", ""),
        ("", "31/3/2026"),
        ("1/2/2026", "30/4/2026"),
        ("2026-02-01", "2026-04-30"),
        ("3/2026", "3/2026"),
    ],
)
def test_a_date_range_as_typed_or_picked(site: Server, web_index: clipsearch.Index, since: str, until: str) -> None:
    status, page = _get(site, "/", q="giá xăng", since=since, until=until)
    assert status == 200
    expected = web_index.query("giá xăng", 100, since=since or None, until=until or None)
    assert 0 < _total(page) == expected.total < PETROL_COUNT
    low = dt.date.min if not since else min(h.date for h in expected.hits if h.date)
    high = dt.date.max if not until else max(h.date for h in expected.hits if h.date)
    for hit in _hits(page):
        shown = dt.datetime.strptime(hit.find("time").text(), "%d/%m/%Y").date()
        assert low <= shown <= high
    # The fields keep what was typed.
    assert page.find("input", name="since").attrs["value"] == since
    assert page.find("input", name="until").attrs["value"] == until


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sort_orders_by_date(site: Server, web_index: clipsearch.Index, sort: str) -> None:
    _, page = _get(site, "/", q="giá xăng", sort=sort)
    assert [_hit_id(h) for h in _hits(page)] == [h.id for h in web_index.query("giá xăng", PAGE_SIZE, sort=sort).hits]
    dates = [dt.datetime.strptime(h.find("time").text(), "%d/%m/%Y").date() for h in _hits(page)]
    assert dates == sorted(dates, reverse=sort == "newest")
    assert page.find("option", value=sort).attrs.get("selected", "x") is None  # the one selected


def test_the_month_histogram_counts_and_filters(site: Server, web_index: clipsearch.Index) -> None:
    _, page = _get(site, "/", q="giá xăng")
    bars = page.find("figure", "histogram").find_all("a", "bar")
    months = web_index.query("giá xăng", facets=True).facets["month"]  # type: ignore[index]
    assert [b.find("title").text() for b in bars] == [
        f"tháng {int(k[5:])}/{k[:4]}: {n} bài" for k, n in months.items() if k != "none"
    ]
    # Clicking a month: the results of that month only; the histogram still shows every month, that one chosen.
    status, month_page = _follow(site, bars[2])
    assert status == 200
    assert _total(month_page) == months["2026-03"]
    assert {h.find("time").text()[3:] for h in _hits(month_page)} == {"03/2026"}
    again = month_page.find("figure", "histogram").find_all("a", "bar")
    assert len(again) == len(bars)
    assert [("selected" in b.classes) for b in again] == [i == 2 for i in range(len(bars))]


def test_pages_of_results(site: Server, web_index: clipsearch.Index) -> None:
    everything = [h.id for h in web_index.query("xăng dầu", 100).hits]
    assert len(everything) == PETROL_COUNT > 2 * PAGE_SIZE
    seen: list[str] = []
    status, page = _get(site, "/", q="xăng dầu")
    while True:
        assert status == 200
        seen += [_hit_id(h) for h in _hits(page)]
        nav = page.find_all("a", rel="next")
        if not nav:
            break
        status, page = _follow(site, nav[0])
    assert seen == everything
    back = page.find("a", rel="prev")
    assert _link(back)["page"] == ["2"]
    status, last_but_one = _follow(site, back)
    assert [_hit_id(h) for h in _hits(last_but_one)] == everything[PAGE_SIZE : 2 * PAGE_SIZE]


def test_a_page_past_the_end_says_so(site: Server) -> None:
    status, page = _get(site, "/", q="xăng dầu", page=50)
    assert status == 200
    assert _hits(page) == []
    assert "Không tìm thấy bài nào ở trang này" in page.find("li", "nothing").text()


def test_the_suggestion_is_a_link_to_its_search(site: Server, web_index: clipsearch.Index) -> None:
    _, page = _get(site, "/", q="gia xang", sort="oldest")
    suggestion = web_index.query("gia xang").suggestion
    assert suggestion
    link = page.find("p", "suggestion").find("a")
    assert link.text() == suggestion
    assert _link(link) == {"q": [suggestion], "sort": ["oldest"]}  # the other choices kept
    status, followed = _follow(site, link)
    assert status == 200
    assert followed.find("input", name="q").attrs["value"] == suggestion


# The clipping page and the stats page


def test_the_clipping_page(site: Server, web_index: clipsearch.Index) -> None:
    status, page = _get(site, f"/clippings/{SEED_ID}", q="cấp ủy")
    assert status == 200
    view = web_index.show(SEED_ID, "cấp ủy")
    article = page.find("article", "clipping")
    assert article.find("h1").text() == view.title
    assert article.find("div", "body").text() == view.body
    assert [m.text() for m in article.find("div", "body").find_all("mark")] == [
        view.body[s:e] for s, e in view.body_highlights
    ]
    facts = dict(
        zip([d.text() for d in article.find_all("dt")], [d.text() for d in article.find_all("dd")], strict=True)
    )
    assert facts["Ngày"] == day(view.date)
    assert facts["Nguồn"] == view.source
    assert facts["Tệp"] == view.path
    similar = page.find("section", "similar").find_all("li")
    assert [_hit_id_of_link(li.find("a")) for li in similar] == [h.id for h in web_index.similar(SEED_ID, 8).hits]


def _hit_id_of_link(link: Element) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(link.attrs["href"] or "").path.removeprefix("/clippings/"))


def test_the_stats_page(site: Server, web_index: clipsearch.Index) -> None:
    status, page = _get(site, "/stats")
    assert status == 200
    stats = web_index.stats()
    assert page.find("dd", "clippings").text() == count(stats.clippings)
    rows = page.find("table", "sources").find("tbody").find_all("tr")
    assert [(r.find("a").text(), r.find_all("td")[1].text()) for r in rows] == [
        (name, count(n)) for name, n in stats.sources.items()
    ]
    status, filtered = _follow(site, rows[0].find("a"))
    assert _total(filtered) == next(iter(stats.sources.values()))


# Markup from clippings and queries is text


def _no_markup_from(html: str) -> None:
    """No element or attribute of the XSS fixture made it into the page as markup."""
    tree = parse(html)
    assert [(s.attrs, s.children) for s in tree.find_all("script")] == [({"src": "/static/app.js", "defer": None}, [])]
    assert not tree.find_all("svg", onload="alert(2)")
    assert not [e for e in tree.iter() if e.tag == "img" or any(k.startswith("on") for k in e.attrs)]
    assert not [e for e in tree.iter() if (e.attrs.get("href") or "").startswith("javascript:")]


@pytest.mark.parametrize(
    "path",
    [
        "/?q=m%C3%A3+%C4%91%E1%BB%99c",  # the XSS clipping among the results
        f"/clippings/{XSS_ID}?q=" + urllib.parse.quote("mã độc script alert"),
        "/?q=" + urllib.parse.quote(XSS),  # the XSS in the query
        "/?q=x&since=" + urllib.parse.quote(XSS),  # in a bad date: the error message quotes it
        "/?q=x&source=" + urllib.parse.quote(XSS),
        "/?source=" + urllib.parse.quote(XSS_SOURCE),
        "/stats",
        "/clippings/" + urllib.parse.quote(XSS, safe=""),  # in an unknown id
    ],
)
def test_markup_displays_as_text(site: Server, path: str) -> None:
    status, headers, html = site.page(path)
    assert status in (200, 400, 404)
    assert headers["Content-Security-Policy"] == PAGE_CSP
    _no_markup_from(html)


def test_the_xss_clipping_reads_as_written(site: Server, web_index: clipsearch.Index) -> None:
    view = web_index.show(XSS_ID)
    _, page = _get(site, f"/clippings/{XSS_ID}")
    assert page.find("h1").text() == view.title
    assert XSS in view.title and view.source == XSS_SOURCE
    _, results = _get(site, "/", q="mã độc")
    hit = next(h for h in _hits(results) if _hit_id(h) == XSS_ID)
    assert hit.find("span", "source").text() == XSS_SOURCE
    labels = [b.find("span", "name").text() for b in results.find_all("label", "source")]
    assert XSS_SOURCE in labels


# Errors: a page with the message and the status


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"q": "mùa", "since": "32/13/2026"}, 400, "cannot read the date '32/13/2026'"),
        ({"q": "NOT"}, 400, "Lỗi: "),
        ({"q": "mùa", "page": "0"}, 400, "page must be a whole number from 1 to 101"),
        ({"q": "mùa", "page": "abc"}, 400, "page must be a whole number"),
        ({"q": "mùa", "sort": "random"}, 400, "unknown sort 'random'"),
        ({"q": "mùa", "since": "1/5/2026", "until": "1/4/2026"}, 400, "the date range is empty"),
        ({"q": "a" * 2001}, 400, "the query is longer than 2,000 characters"),
    ],
)
def test_a_bad_search_is_a_400_page_that_keeps_the_form(
    site: Server, params: dict[str, str], status: int, message: str
) -> None:
    got, page = _get(site, "/", **params)
    assert got == status
    error = page.find("p", "error")
    assert message in error.text()
    assert "Traceback" not in error.text()
    assert _hits(page) == []
    if len(params["q"]) <= 2000:
        assert page.find("input", name="q").attrs["value"] == params["q"]
    for name in ("since", "until"):
        if name in params:
            assert page.find("input", name=name).attrs["value"] == params[name]


@pytest.mark.parametrize(
    "path",
    [
        "/clippings/no_such_clipping",
        "/clippings/..%2F..%2Fetc%2Fpasswd",
        "/clippings/%2Fetc%2Fpasswd",
        "/etc/passwd",
        "/static/../pages.py",
        "/static/..%2Fpages.py",
        "/static/nothing.css",
        "/clippings/",
    ],
)
def test_unknown_pages_are_404_pages(site: Server, path: str) -> None:
    status, headers, html = site.page(path)
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == PAGE_CSP
    assert "Không tìm thấy" in parse(html).find("h1").text()
    assert "import" not in html


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_pages_answer_only_get(site: Server, method: str) -> None:
    status, headers, html = site.fetch("/?q=m", method)
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert "Chỉ nhận yêu cầu GET" in html.decode()


@pytest.mark.parametrize("path", ["/", "/?q=mua", "/stats", f"/clippings/{SEED_ID}", "/static/style.css"])
def test_head_answers_pages_without_a_body(site: Server, path: str) -> None:
    status, headers, body = site.fetch(path, "HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Security-Policy"] == PAGE_CSP


@pytest.mark.parametrize("path", [f"/clippings/{SEED_ID}/", "/api/search/?q=mua", "/stats/", "/static"])
def test_a_slash_too_many_is_a_404_not_a_redirect_to_the_host_asked(site: Server, path: str) -> None:
    request = urllib.request.Request(site.base + path, headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 404
    assert raised.value.headers["Location"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"q": "mùa", "page": "1_0"},
        {"q": "mùa", "page": "\u0661"},  # ARABIC-INDIC DIGIT ONE
        {"q": "mùa", "page": "+2"},
        {"q": "mùa", "source": ["Báo Mẫu"] + [f"Báo {n}" for n in range(100)]},
        {"q": "mùa", "source": "B" * 201},
    ],
)
def test_numbers_and_sources_are_bounded(site: Server, params: dict[str, object]) -> None:
    status, page = _get(site, "/", **params)
    assert status == 400
    assert page.find("p", "error").text().startswith("Lỗi: ")
    api_status, _, data = site.get("/api/search?" + urllib.parse.urlencode({**params, "limit": "1_0"}, doseq=True))
    assert api_status == 400 and list(data) == ["error"]


def test_static_files_have_their_types_and_the_policy(site: Server) -> None:
    for path, kind in [
        ("/static/style.css", "text/css"),
        ("/static/app.js", "javascript"),
        ("/static/favicon.svg", "svg"),
    ]:
        status, headers, body = site.fetch(path)
        assert status == 200 and body
        assert kind in headers["Content-Type"]
        assert headers["Content-Security-Policy"] == PAGE_CSP
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_no_index_is_a_503_page(tmp_path: Path) -> None:
    with running(tmp_path / "nothing", tmp_path / "server.log") as server:
        for path in ("/", "/?q=mua", "/stats", f"/clippings/{SEED_ID}"):
            status, _, html = server.page(path)
            assert status == 503, path
            assert "Chưa có chỉ mục dùng được" in html
            assert "no clipsearch index" in html


# A failure nobody foresaw: 500, and nothing of it shown


@contextlib.contextmanager
def _in_process(index_dir: Path) -> Iterator[Server]:
    """The real app on uvicorn in a thread of this process (so that a test can break the library under it)."""
    import uvicorn

    from clipsearch.serve import create_app

    from .servers import _free_port

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(str(index_dir)), port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield Server(None, f"http://127.0.0.1:{port}", Path("/dev/null"))  # type: ignore[arg-type]
    finally:
        server.should_exit = True
        thread.join(10)


def test_an_unexpected_failure_is_a_500_that_tells_nothing(
    web_index_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: clipsearch.Index) -> None:
        raise RuntimeError("secret detail of /home/someone")

    monkeypatch.setattr(clipsearch.Index, "stats", broken)
    with _in_process(web_index_dir) as server:
        status, _, data = server.get("/api/stats")
        assert (status, data) == (500, {"error": "internal error"})
        status, headers, html = server.page("/stats")
        assert status == 500
        assert headers["Content-Security-Policy"] == PAGE_CSP
        assert "Lỗi máy chủ" in html and "secret" not in html and "Traceback" not in html
        assert server.get("/healthz")[0] == 200  # the rest still works
    assert "secret detail" in caplog.text  # logged for whoever runs the server


def test_keystrokes_are_decoded_and_the_page_says_so(site: Server, web_index: clipsearch.Index) -> None:
    status, page = _get(site, "/", q="gias xawng")
    assert status == 200
    expected = web_index.query("gias xawng")
    assert expected.corrected == "giá xăng"
    notice = page.find("p", "corrected")
    assert notice.find("strong").text() == "giá xăng"
    assert _total(page) == expected.total == PETROL_COUNT
    link = notice.find("a")
    assert link.text() == "gias xawng"
    status, as_typed = _follow(site, link)
    assert status == 200
    assert not as_typed.find_all("p", "corrected")
    assert _total_or_none(as_typed) == web_index.query("gias xawng", exact_input=True).total == 0
    assert site.get("/api/search?q=gias%20xawng")[2]["corrected"] == "giá xăng"
    assert site.get("/api/search?q=gias%20xawng&exact_input=1")[2]["corrected"] is None


def _total_or_none(page: Element) -> int:
    found = page.find_all("strong", "total")
    return _total(page) if found else 0


def test_exact_input_reads_as_the_api_reads_it(site: Server) -> None:
    assert _get(site, "/", q="gias xawng", exact_input="TRUE")[1].find_all("p", "corrected") == []
    status, page = _get(site, "/", q="gias xawng", exact_input="yes")
    assert status == 400
    assert "exact_input must be true, 1, false or 0" in page.find("p", "error").text()
