"""Working with an archive: source and date filters, sorting, facets, listing,
show and stats, through the API, the CLI and JSON. The expected figures are
computed from the fixture list below, independently of the index."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import clipsearch
from clipsearch.cli import cli
from clipsearch.errors import ClippingNotFoundError, QueryError

from .conftest import write_clipping

WEEKDAYS = ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"]
SOURCES = ["Tuổi Trẻ", "Thanh Niên", "VnExpress", None]
DATES = [
    dt.date(2026, 1, 15),
    dt.date(2026, 2, 28),
    dt.date(2026, 3, 1),
    dt.date(2026, 3, 14),
    dt.date(2026, 3, 31),
    dt.date(2026, 4, 1),
    None,
]
TOPICS = ["Bão số 3 gây mưa lớn ở miền Trung", "Giá lúa tăng mạnh trong vụ mùa", "Đội tuyển bóng đá tập luyện"]


def _spec() -> list[dict[str, object]]:
    items = []
    n = 0
    for i, date in enumerate(DATES):
        for j, source in enumerate(SOURCES):
            if (i + j) % 5 == 4:  # not every combination: uneven counts
                continue
            items.append({"id": f"c{n:02d}", "date": date, "source": source, "topic": TOPICS[(i + 2 * j) % 3]})
            n += 1
    return items


SPEC = _spec()
VOCABULARY = (
    "sáng chiều tối đêm xã huyện tỉnh đường cầu chợ trường trạm nhà máy ruộng vườn sông suối núi đồi biển "
    "cảng ga sân bay công viên thư viện bệnh viện nhà văn hoá ủy ban hợp tác xã doanh nghiệp hội đồng"
).split()


def _distinct(seed: str) -> str:
    """A sentence of its own for each clipping, so that no two are reprints of each other."""
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCABULARY) for _ in range(40)) + "."


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, clipsearch.Index]]:
    folder = tmp_path_factory.mktemp("archive")
    for item in SPEC:
        date = item["date"]
        assert date is None or isinstance(date, dt.date)
        date_line = f"{WEEKDAYS[date.weekday()]},  {date:%d/%m/%Y}" if date else "Không rõ ngày"
        source = item["source"]
        write_clipping(
            folder,
            str(item["id"]),
            f"{item['topic']} ({item['id']})",
            f"Tin {item['id']}: {item['topic']}.",
            ["Phóng viên ghi nhận tại chỗ.", "Người dân theo dõi tình hình.", _distinct(str(item["id"]))],
            date_line=date_line,
            source=f"Theo {source}" if source else None,
        )
    index_dir = tmp_path_factory.mktemp("ix") / "index"
    report = clipsearch.build_index([folder], index_dir)
    assert not report.skipped, report.skipped
    with clipsearch.open_index(index_dir) as index:
        yield index_dir, index


def _ids(hits: list[clipsearch.Hit]) -> set[str]:
    return {h.id for h in hits}


def _expected(source: str | None = None, first: dt.date | None = None, last: dt.date | None = None) -> set[str]:
    out = set()
    for item in SPEC:
        date = item["date"]
        if source is not None and item["source"] != source:
            continue
        if first or last:
            if not isinstance(date, dt.date):
                continue
            if (first and date < first) or (last and date > last):
                continue
        out.add(str(item["id"]))
    return out


@pytest.mark.parametrize("name", ["Tuổi Trẻ", "tuoi tre", "TUỔI TRẺ", "  tuổi   trẻ "])
def test_source_filter_any_case_or_diacritics(archive: tuple[Path, clipsearch.Index], name: str) -> None:
    _, index = archive
    result = index.query("*", limit=100, source=name)
    assert _ids(result.hits) == _expected("Tuổi Trẻ")
    assert result.total == len(_expected("Tuổi Trẻ"))


def test_several_sources(archive: tuple[Path, clipsearch.Index]) -> None:
    _, index = archive
    hits = index.search("*", limit=100, source=["thanh nien", "VNEXPRESS"])
    assert _ids(hits) == _expected("Thanh Niên") | _expected("VnExpress")


MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


@pytest.mark.parametrize(
    ("since", "until"),
    [("01/03/2026", "31/03/2026"), ("1/3/2026", "31/3/2026"), ("2026-03-01", "2026-03-31"), ("03/2026", "03/2026")],
)
def test_date_range_as_vietnamese_users_write_it(
    archive: tuple[Path, clipsearch.Index], since: str, until: str
) -> None:
    _, index = archive
    result = index.query("*", limit=100, since=since, until=until)
    assert _ids(result.hits) == _expected(first=MARCH[0], last=MARCH[1])
    assert {h.date for h in result.hits} == {dt.date(2026, 3, 1), dt.date(2026, 3, 14), dt.date(2026, 3, 31)}


def test_date_in_the_query_syntax_is_the_same_filter(archive: tuple[Path, clipsearch.Index]) -> None:
    _, index = archive
    api = index.search("bão", limit=100, since="01/03/2026", until="31/03/2026")
    syntax = index.search("bão date:01/03/2026..31/03/2026", limit=100)
    month = index.search("date:2026-03 bão", limit=100)
    assert [h.id for h in api] == [h.id for h in syntax] == [h.id for h in month]
    assert _ids(api) == {i for i in _expected(first=MARCH[0], last=MARCH[1]) if _topic(i).startswith("Bão")}
    open_end = index.search("* date:15/03/2026..", limit=100)
    assert _ids(open_end) == _expected(first=dt.date(2026, 3, 15))


def _topic(clipping_id: str) -> str:
    return str(next(item["topic"] for item in SPEC if item["id"] == clipping_id))


def test_undated_clippings_are_excluded_by_a_date_filter(archive: tuple[Path, clipsearch.Index]) -> None:
    _, index = archive
    undated = {str(i["id"]) for i in SPEC if i["date"] is None}
    assert undated <= _ids(index.search("*", limit=100))
    assert not undated & _ids(index.search("*", limit=100, since="2000-01-01"))
    assert index.stats().without_date == len(undated)


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sorting_by_date_puts_undated_last(archive: tuple[Path, clipsearch.Index], sort: str) -> None:
    _, index = archive
    hits = index.search("bão OR lúa OR bóng", limit=100, sort=sort)
    dates = [h.date for h in hits]
    dated = [d for d in dates if d is not None]
    assert dates == dated + [None] * (len(dates) - len(dated))
    assert dated == sorted(dated, reverse=sort == "newest")
    assert len(hits) == len(SPEC)


def test_a_query_without_words_lists_newest_first(archive: tuple[Path, clipsearch.Index]) -> None:
    _, index = archive
    result = index.query("*", limit=5)
    assert result.total == len(SPEC)
    newest = max(d for i in SPEC if isinstance(d := i["date"], dt.date))
    assert result.hits[0].date == newest


def test_facets_count_the_whole_matched_set(archive: tuple[Path, clipsearch.Index]) -> None:
    _, index = archive
    result = index.query("*", limit=1, facets=True)
    assert result.facets is not None
    want_sources = Counter(str(i["source"]) if i["source"] else "none" for i in SPEC)
    want_months = Counter(f"{d:%Y-%m}" if isinstance(d := i["date"], dt.date) else "none" for i in SPEC)
    assert result.facets["source"] == dict(want_sources)
    assert result.facets["month"] == dict(want_months)
    assert sum(result.facets["source"].values()) == sum(result.facets["month"].values()) == result.total


def test_facets_follow_the_filters(archive: tuple[Path, clipsearch.Index]) -> None:
    _, index = archive
    result = index.query("*", facets=True, source="thanh nien", since="01/03/2026", until="31/03/2026")
    assert result.facets == {
        "source": {"Thanh Niên": len(_expected("Thanh Niên", *MARCH))},
        "month": {"2026-03": len(_expected("Thanh Niên", *MARCH))},
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": "31/02/2026"}, "cannot read the date '31/02/2026'"),
        ({"since": "yesterday"}, "cannot read the date 'yesterday'"),
        ({"since": "01/04/2026", "until": "01/03/2026"}, "the date range is empty"),
        ({"sort": "random"}, "unknown sort 'random'"),
    ],
)
def test_bad_filters_raise_query_errors(
    archive: tuple[Path, clipsearch.Index], kwargs: dict[str, str], message: str
) -> None:
    _, index = archive
    with pytest.raises(QueryError, match=message):
        index.query("bão", **kwargs)  # type: ignore[arg-type]


def test_date_inside_or_is_refused(archive: tuple[Path, clipsearch.Index]) -> None:
    _, index = archive
    with pytest.raises(QueryError, match="narrow the whole query"):
        index.query("bão OR date:2026")


def test_show_returns_the_whole_clipping_with_highlights(archive: tuple[Path, clipsearch.Index]) -> None:
    _, index = archive
    view = index.show("c00", query="nguoi dan")
    assert view.title.endswith("(c00)")
    assert "Người dân theo dõi tình hình." in view.body
    assert [view.body[s:e] for s, e in view.body_highlights] == ["Người dân"]
    with pytest.raises(ClippingNotFoundError, match="no clipping with id 'nope'"):
        index.show("nope")


def test_stats(archive: tuple[Path, clipsearch.Index]) -> None:
    index_dir, index = archive
    stats = index.stats()
    assert stats.clippings == len(SPEC)
    assert stats.sources == dict(Counter(str(i["source"]) for i in SPEC if i["source"]))
    assert stats.first_date == dt.date(2026, 1, 15)
    assert stats.last_date == dt.date(2026, 4, 1)
    assert stats.without_source == sum(1 for i in SPEC if not i["source"])
    assert stats.size_bytes == sum(p.stat().st_size for p in index_dir.iterdir() if p.is_file())
    assert stats.updated and stats.updated.startswith(str(dt.date.today().year))


# ---------------------------------------------------------------------------
# CLI


def test_cli_filters_and_facets_in_json(archive: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = archive
    args = ["query", "*", "--index-dir", str(index_dir), "--json", "--facets", "-n", "100"]
    args += ["--source", "tuoi tre", "--source", "VnExpress", "--since", "01/03/2026", "--until", "31/03/2026"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    want = _expected("Tuổi Trẻ", *MARCH) | _expected("VnExpress", *MARCH)
    assert {h["id"] for h in data["hits"]} == want
    assert data["total"] == len(want)
    assert sum(data["facets"]["source"].values()) == data["total"]
    assert data["facets"]["month"] == {"2026-03": len(want)}


def test_cli_sort_and_facets_in_text(archive: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = archive
    result = CliRunner().invoke(
        cli, ["query", "--index-dir", str(index_dir), "--sort", "oldest", "-n", "1", "--facets", "--source", "tuoi tre"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    total = len(_expected("Tuổi Trẻ"))
    assert lines[0] == f"{total} clippings match '*'; showing 1:"
    assert "15/01/2026 · Tuổi Trẻ" in lines[3]
    assert "By source:" in lines and f"  {total:>8,}  Tuổi Trẻ" in lines
    assert "By month:" in lines


def test_cli_bad_date_is_one_line(archive: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = archive
    result = CliRunner().invoke(cli, ["query", "bão", "--index-dir", str(index_dir), "--since", "32/01/2026"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: cannot read the date '32/01/2026': day is out of range for month"
    ]


def test_cli_show(archive: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = archive
    item = SPEC[0]
    result = CliRunner().invoke(cli, ["show", "c00", "--index-dir", str(index_dir), "--query", "tình hình"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{item['topic']} (c00)"
    assert lines[1] == f"15/01/2026 · {item['source']} · c00"
    assert "Phóng viên ghi nhận tại chỗ.\n\nNgười dân theo dõi **tình hình**." in result.output
    missing = CliRunner().invoke(cli, ["show", "c99", "--index-dir", str(index_dir)])
    assert missing.exit_code == 1
    assert missing.output.startswith("Error: no clipping with id 'c99'")


def test_cli_stats(archive: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = archive
    result = CliRunner().invoke(cli, ["stats", "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == f"Clippings:      {len(SPEC)}"
    assert lines[2] == "Dates:          15/01/2026 – 01/04/2026"
    assert lines[3] == f"Without date:   {sum(1 for i in SPEC if i['date'] is None)}"
    data = json.loads(CliRunner().invoke(cli, ["stats", "--index-dir", str(index_dir), "--json"]).output)
    assert data["clippings"] == len(SPEC)
    assert data["first_date"] == "2026-01-15"


# ---------------------------------------------------------------------------
# Similar clippings

STORMS = [
    (
        "Bão số 3 đổ bộ vào Quảng Ngãi",
        "Bão mạnh cấp 12 gây mưa lớn, hàng nghìn hộ dân phải sơ tán.",
        ["Chính quyền tỉnh huy động lực lượng cứu hộ, sơ tán người dân vùng ven biển trước khi bão đổ bộ."],
    ),
    (
        "Miền Trung sơ tán dân tránh bão",
        "Các tỉnh ven biển miền Trung khẩn trương sơ tán người dân.",
        ["Lực lượng cứu hộ túc trực, tàu thuyền được gọi về nơi tránh trú bão an toàn."],
    ),
    (
        "Mưa lớn sau bão gây ngập lụt",
        "Sau khi bão đổ bộ, mưa lớn kéo dài khiến nhiều huyện ngập sâu.",
        ["Người dân vùng ven biển được sơ tán, lực lượng cứu hộ tiếp tế lương thực."],
    ),
]
FOOTBALL = [
    (
        "Đội tuyển bóng đá thắng trận giao hữu",
        "Huấn luyện viên hài lòng với lối chơi của các cầu thủ trẻ.",
        ["Tiền đạo ghi hai bàn trong hiệp hai, khán giả cổ vũ nhiệt tình trên sân vận động."],
    ),
    (
        "Cầu thủ trẻ tỏa sáng ở giải vô địch",
        "Câu lạc bộ giành chiến thắng nhờ bàn thắng phút cuối.",
        ["Huấn luyện viên khen ngợi tinh thần thi đấu, khán giả đến sân vận động rất đông."],
    ),
]


@pytest.fixture(scope="module")
def topics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[clipsearch.Index]:
    folder = tmp_path_factory.mktemp("topics")
    for prefix, items in (("storm", STORMS), ("ball", FOOTBALL)):
        for n, (title, lead, body) in enumerate(items):
            write_clipping(folder, f"{prefix}{n}", title, lead, body)
    index_dir = tmp_path_factory.mktemp("topics-ix") / "index"
    clipsearch.build_index([folder], index_dir)
    with clipsearch.open_index(index_dir) as index:
        yield index


def test_similar_lists_the_same_topic_first_and_not_itself(topics: clipsearch.Index) -> None:
    result = topics.similar("storm0")
    ids = [h.id for h in result.hits]
    assert "storm0" not in ids
    assert set(ids[:2]) == {"storm1", "storm2"}
    assert all(not i.startswith("ball") for i in ids[:2])
    ball = [h.id for h in topics.similar("ball1").hits]
    assert ball[0] == "ball0"


def test_similar_unknown_id(topics: clipsearch.Index) -> None:
    with pytest.raises(ClippingNotFoundError):
        topics.similar("nope")


def test_cli_json_sorted_newest_with_a_query(archive: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = archive
    result = CliRunner().invoke(cli, ["query", "bão", "--index-dir", str(index_dir), "--sort", "newest", "--json"])
    assert result.exit_code == 0, result.output
    dates = [h["date"] for h in json.loads(result.output)["hits"]]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True) and dates == dated + [None] * (len(dates) - len(dated))
    assert len(dated) >= 3
