"""The web pages in a real Chromium (Debian's ``chromium``, driven by
Playwright; never ``playwright install``): what a reader does, with and
without JavaScript. Every page must open no dialog, throw no script error
and break no rule of its own Content-Security-Policy."""

from __future__ import annotations

import datetime as dt
import os
import re
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

import clipsearch
from clipsearch.text.fold import fold

from .conftest import SEED_ID
from .servers import PETROL_COUNT, REPRINT_ID, XSS, XSS_ID, XSS_SOURCE, Server

CHROMIUM = os.environ.get("CLIPSEARCH_CHROMIUM", "/usr/bin/chromium")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="Playwright is not installed (pip install -e '.[test]')"),
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK), reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    ),
]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


class Watch:
    """What a page did that it must not: dialogs, script errors, CSP violations."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.violations: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        # An error page's own status is logged as "Failed to load resource": not a fault of the page.
        if "Content Security Policy" in message.text or (
            message.type == "error" and not message.text.startswith("Failed to load resource")
        ):
            self.violations.append(message.text)

    def assert_clean(self) -> None:
        assert (self.dialogs, self.errors, self.violations) == ([], [], [])


def _page(browser: Browser, site: Server, javascript: bool = True) -> Iterator[Page]:
    context = browser.new_context(base_url=site.base, locale="vi-VN", java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(10_000)
    watch = Watch(page)
    yield page
    context.close()
    watch.assert_clean()


@pytest.fixture
def page(browser: Browser, site: Server) -> Iterator[Page]:
    yield from _page(browser, site)


@pytest.fixture
def plain_page(browser: Browser, site: Server) -> Iterator[Page]:
    """A page with JavaScript off."""
    yield from _page(browser, site, javascript=False)


def _params(page: Page) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)


def _total(page: Page) -> int:
    return int(page.locator("strong.total").inner_text().removesuffix(" bài").replace(".", ""))


def _hit_ids(page: Page) -> list[str]:
    hrefs = page.locator("li.hit h2 a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return [urllib.parse.unquote(urllib.parse.urlsplit(h).path.removeprefix("/clippings/")) for h in hrefs]


def test_typing_without_diacritics_finds_the_seed_marked(page: Page, web_index: clipsearch.Index) -> None:
    page.goto("/")
    page.locator("input[name=q]").fill("van phong cap uy")
    page.locator("input[name=q]").press("Enter")
    page.wait_for_url(re.compile(r"q=van\+phong\+cap\+uy"))
    assert _total(page) == web_index.query("van phong cap uy").total
    ids = _hit_ids(page)
    assert ids[0] in (SEED_ID, REPRINT_ID)
    marks = page.locator("li.hit").first.locator("mark").all_inner_texts()
    assert marks and {w for m in marks for w in fold(m).lower().split()} <= {"van", "phong", "cap", "uy"}
    assert page.locator("li.hit").first.locator("mark").first.is_visible()


def test_results_follow_the_typing(page: Page) -> None:
    page.goto("/")
    page.locator("input[name=q]").press_sequentially("gia xang", delay=40)
    page.wait_for_url(re.compile(r"q=gia\+xang"))  # no Enter: the script searched and moved the URL
    page.wait_for_function("document.querySelector('strong.total') !== null")
    assert _total(page) == PETROL_COUNT
    assert page.locator("input[name=q]").input_value() == "gia xang"  # what was typed stays


def test_ticking_a_source_filters_at_once(page: Page, web_index: clipsearch.Index) -> None:
    page.goto("/?q=" + urllib.parse.quote("giá xăng"))
    page.get_by_label("Nhân Dân").check()
    page.wait_for_url(re.compile(r"source=Nh%C3%A2n"))
    assert _params(page)["source"] == ["Nhân Dân"]
    assert _total(page) == web_index.query("giá xăng", source="Nhân Dân").total
    assert set(page.locator("li.hit span.source").all_inner_texts()) == {"Nhân Dân"}
    assert page.get_by_label("Nhân Dân").is_checked()


def test_a_date_range_typed_the_vietnamese_way(page: Page, web_index: clipsearch.Index) -> None:
    page.goto("/?q=" + urllib.parse.quote("giá xăng"))
    page.get_by_label("Từ ngày", exact=True).fill("1/2/2026")
    page.get_by_label("Đến ngày", exact=True).fill("31/3/2026")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"until=31%2F3%2F2026"))
    expected = web_index.query("giá xăng", since="1/2/2026", until="31/3/2026")
    assert 0 < _total(page) == expected.total < PETROL_COUNT
    for shown in page.locator("li.hit time").all_inner_texts():
        assert dt.date(2026, 2, 1) <= dt.datetime.strptime(shown, "%d/%m/%Y").date() <= dt.date(2026, 3, 31)


def test_the_date_picker_writes_dd_mm_yyyy(page: Page) -> None:
    page.goto("/?q=" + urllib.parse.quote("giá xăng"))
    page.locator("input.picker").first.fill("2026-03-05")
    assert page.get_by_label("Từ ngày", exact=True).input_value() == "5/3/2026"
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"since=5%2F3%2F2026"))
    for shown in page.locator("li.hit time").all_inner_texts():
        assert dt.datetime.strptime(shown, "%d/%m/%Y").date() >= dt.date(2026, 3, 5)


def test_clicking_a_month_of_the_histogram(page: Page, web_index: clipsearch.Index) -> None:
    page.goto("/?q=" + urllib.parse.quote("giá xăng"))
    page.locator("figure.histogram a.bar").nth(1).click()
    page.wait_for_url(re.compile(r"since=2%2F2026&until=2%2F2026"))
    assert _total(page) == web_index.query("giá xăng", since="2/2026", until="2/2026").total
    assert {t[3:] for t in page.locator("li.hit time").all_inner_texts()} == {"02/2026"}


def test_following_the_suggestion(page: Page, web_index: clipsearch.Index) -> None:
    page.goto("/?q=gia+xang")
    suggestion = web_index.query("gia xang").suggestion
    assert suggestion
    page.locator("p.suggestion").get_by_role("link", name=suggestion).click()
    page.wait_for_url(re.compile(r"q=" + re.escape(urllib.parse.quote_plus(suggestion))))
    assert page.locator("input[name=q]").input_value() == suggestion


def test_opening_a_clipping_from_the_results(page: Page, web_index: clipsearch.Index) -> None:
    page.goto("/?q=" + urllib.parse.quote("cấp ủy"))
    first = page.locator("li.hit h2 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/clippings/"))
    clipping_id = urllib.parse.unquote(urllib.parse.urlsplit(page.url).path.removeprefix("/clippings/"))
    view = web_index.show(clipping_id, "cấp ủy")
    assert page.locator("h1").inner_text() == title == view.title
    assert page.locator("div.body mark").count() == len(view.body_highlights) > 0
    page.get_by_role("link", name=re.compile("Kết quả cho")).click()
    page.wait_for_url(re.compile(r"/\?q="))


def test_reprints_unfold(page: Page) -> None:
    page.goto("/?q=" + urllib.parse.quote("văn phòng cấp ủy"))
    reprints = page.locator("details.reprints")
    assert reprints.locator("ul").is_hidden()
    reprints.locator("summary", has_text="+1 bản tương tự").click()
    assert reprints.locator("ul li a").is_visible()


def test_the_keyboard(page: Page) -> None:
    page.goto("/?q=" + urllib.parse.quote("giá xăng"))
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.locator("li.hit.current").count() == 1
    assert page.locator("li.hit").nth(1).get_attribute("class") == "hit current"
    page.keyboard.press("k")
    assert page.locator("li.hit").nth(0).get_attribute("class") == "hit current"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/clippings/"))


@pytest.mark.parametrize(
    "path",
    [
        "/?q=" + urllib.parse.quote("mã độc"),
        f"/clippings/{XSS_ID}?q=" + urllib.parse.quote("mã độc script alert"),
        "/?q=" + urllib.parse.quote(XSS),
        "/?q=x&since=" + urllib.parse.quote(XSS),
        "/?source=" + urllib.parse.quote(XSS_SOURCE),
        "/stats",
        "/clippings/" + urllib.parse.quote(XSS, safe=""),
    ],
)
def test_markup_in_clippings_and_queries_runs_nothing(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("load")
    assert page.locator("img").count() == 0
    assert page.locator("main svg[onload]").count() == 0
    if path.startswith(f"/clippings/{XSS_ID}"):
        assert XSS in page.locator("h1").inner_text()


def test_the_xss_results_show_the_markup_as_text(page: Page) -> None:
    page.goto("/?q=" + urllib.parse.quote("mã độc"))
    assert XSS in page.locator("li.hit h2").first.inner_text()
    assert XSS_SOURCE in page.locator("li.hit span.source").first.inner_text()


def test_everything_works_without_javascript(plain_page: Page, web_index: clipsearch.Index) -> None:
    page = plain_page
    page.goto("/")
    page.locator("input[name=q]").fill("giá xăng")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.wait_for_url(re.compile(r"q=gi%C3%A1"))
    assert _total(page) == PETROL_COUNT
    assert page.locator("input.picker").count() == 0  # no script, no picker
    first_page = _hit_ids(page)
    page.get_by_role("link", name="Trang sau ›").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert _hit_ids(page) and not set(_hit_ids(page)) & set(first_page)
    page.get_by_label("Tuổi Trẻ").check()
    page.get_by_label("Sắp xếp").select_option("oldest")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"source=Tu"))
    assert _total(page) == web_index.query("giá xăng", source="Tuổi Trẻ").total
    dates = [dt.datetime.strptime(t, "%d/%m/%Y").date() for t in page.locator("li.hit time").all_inner_texts()]
    assert dates == sorted(dates)


def test_clearing_the_box_lists_the_archive_again(page: Page, web_index: clipsearch.Index) -> None:
    page.goto("/?q=gia+xang")
    box = page.locator("input[name=q]")
    box.fill("")
    box.press_sequentially("*", delay=20)  # one character is a search too
    page.wait_for_url(re.compile(r"q=\*"))
    page.wait_for_function(f"document.querySelector('strong.total').textContent.startsWith('{len(web_index)} ')")
    box.fill("")
    box.dispatch_event("input")
    page.wait_for_url(re.compile(r"/$"))
    assert _total(page) == len(web_index)


@pytest.mark.parametrize(
    "path", ["/", "/?q=" + urllib.parse.quote("giá xăng"), f"/clippings/{SEED_ID}?q=cap", "/stats", "/nothing"]
)
def test_a_phone_wide_screen_scrolls_only_down(browser: Browser, site: Server, path: str) -> None:
    context = browser.new_context(base_url=site.base, viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(path)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 320
    assert page.get_by_role("button", name="Tìm kiếm").bounding_box()["x"] + 10 < 320  # type: ignore[index]
    if path.startswith("/?"):  # the results come first, before the filters
        assert page.locator("li.hit").first.bounding_box()["y"] < 640  # type: ignore[index]
    context.close()
