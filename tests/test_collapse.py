"""Near-duplicate reprints grouped at index time and collapsed in results:
the seed and a reprint of it (lead dropped, a name changed, another title)
are one story; an unrelated clipping on the same subject is not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import clipsearch
from clipsearch.cli import cli
from clipsearch.schema import GROUPS_FILE

from .conftest import SEED, SEED_ID, write_clipping

REPRINT_ID = "reprint_of_seed"
UNRELATED_ID = "other_meeting"


@pytest.fixture(scope="module")
def reprints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, clipsearch.Index]]:
    folder = tmp_path_factory.mktemp("reprints")
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    seed = clipsearch.read_clipping(SEED)
    body = [p.replace("Hồng Anh", "Trương Tấn Sang") for p in seed.body]
    assert body != list(seed.body), "the reprint must differ from the seed"
    write_clipping(
        folder,
        REPRINT_ID,
        "Hội nghị văn phòng cấp ủy toàn quốc bế mạc",
        body[0],  # the seed's lead (a summary) is dropped: its body follows the title
        body[1:] or ["Theo dõi tiếp."],
        date_line="Thứ bảy,  01/04/2023",
        source="Theo Báo Mẫu",
    )
    write_clipping(
        folder,
        UNRELATED_ID,
        "Văn phòng cấp ủy tỉnh tổng kết năm",
        "Văn phòng tỉnh ủy tổ chức hội nghị tổng kết công tác văn phòng cấp ủy năm qua.",
        [
            "Báo cáo nêu rõ kết quả tham mưu, tổng hợp, phục vụ của văn phòng cấp ủy các huyện.",
            "Hội nghị cũng đề ra nhiệm vụ năm tới: chuyển đổi số, lưu trữ hồ sơ điện tử.",
        ],
    )
    for n, (title, lead) in enumerate(
        [
            ("Đội tuyển bóng đá thắng trận", "Các cầu thủ trẻ ghi ba bàn trên sân nhà."),
            ("Giá lúa tăng trong vụ mùa", "Nông dân phấn khởi vì được mùa, được giá."),
            ("Trời rét đậm ở miền núi", "Nhiệt độ xuống dưới 5 độ, trường học cho học sinh nghỉ."),
        ]
    ):
        write_clipping(folder, f"filler{n}", title, lead, ["Tin tiếp theo sẽ được cập nhật."])
    index_dir = tmp_path_factory.mktemp("reprints-ix") / "index"
    report = clipsearch.build_index([folder], index_dir)
    assert not report.skipped, report.skipped
    with clipsearch.open_index(index_dir) as index:
        yield index_dir, index


def test_seed_and_reprint_grouped_unrelated_not(reprints: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = reprints
    groups = json.loads((index_dir / GROUPS_FILE).read_text(encoding="utf-8"))["groups"]
    # the representative is the smallest id
    assert groups == {SEED_ID: sorted([SEED_ID, REPRINT_ID])}


def test_results_show_one_hit_per_story(reprints: tuple[Path, clipsearch.Index]) -> None:
    _, index = reprints
    result = index.query("văn phòng cấp ủy")
    assert result.total == 3
    ids = [h.id for h in result.hits]
    assert len(ids) == 2 and UNRELATED_ID in ids
    story = next(h for h in result.hits if h.id != UNRELATED_ID)
    assert {story.id, *story.similar} == {SEED_ID, REPRINT_ID}
    assert next(h for h in result.hits if h.id == UNRELATED_ID).similar == ()


def test_no_collapse_shows_every_reprint(reprints: tuple[Path, clipsearch.Index]) -> None:
    _, index = reprints
    hits = index.search("văn phòng cấp ủy", collapse=False)
    assert {h.id for h in hits} == {SEED_ID, REPRINT_ID, UNRELATED_ID}
    assert all(h.similar == () for h in hits)


def test_similar_only_counts_reprints_that_matched(reprints: tuple[Path, clipsearch.Index]) -> None:
    _, index = reprints
    # "Trương Tấn Sang" is only in the reprint: the seed did not match, so nothing is collapsed
    hits = index.search("Trương Tấn Sang")
    assert [(h.id, h.similar) for h in hits] == [(REPRINT_ID, ())]


def test_similar_leaves_reprints_out_unless_asked(reprints: tuple[Path, clipsearch.Index]) -> None:
    _, index = reprints
    alone = [h.id for h in index.similar(SEED_ID).hits]
    assert alone[0] == UNRELATED_ID and REPRINT_ID not in alone
    with_reprints = [h.id for h in index.similar(SEED_ID, include_reprints=True).hits]
    assert with_reprints[:2] == [REPRINT_ID, UNRELATED_ID]


def test_cli_collapse_and_json(reprints: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = reprints
    result = CliRunner().invoke(cli, ["query", "văn phòng cấp ủy", "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    similar_lines = [line.strip() for line in result.output.splitlines() if "similar:" in line]
    assert len(similar_lines) == 1 and similar_lines[0].startswith("+1 similar: ")
    data = json.loads(
        CliRunner().invoke(cli, ["query", "văn phòng cấp ủy", "--index-dir", str(index_dir), "--json"]).output
    )
    assert sorted(len(h["similar"]) for h in data["hits"]) == [0, 1]
    flat = json.loads(
        CliRunner()
        .invoke(cli, ["query", "văn phòng cấp ủy", "--index-dir", str(index_dir), "--json", "--no-collapse"])
        .output
    )
    assert len(flat["hits"]) == 3


def test_groups_follow_changes(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    seed = clipsearch.read_clipping(SEED)
    copy = write_clipping(folder, "copy", "Another title", seed.lead, list(seed.body))
    clipsearch.build_index([folder], tmp_path / "ix")
    assert json.loads((tmp_path / "ix" / GROUPS_FILE).read_text(encoding="utf-8"))["groups"] == {
        SEED_ID: [SEED_ID, "copy"]
    }
    copy.unlink()
    clipsearch.build_index([folder], tmp_path / "ix")
    assert json.loads((tmp_path / "ix" / GROUPS_FILE).read_text(encoding="utf-8"))["groups"] == {}


def test_issues_of_a_series_are_not_reprints(tmp_path: Path) -> None:
    """Same boilerplate, different numbers in the titles: a series, not reprints."""
    folder = tmp_path / "c"
    folder.mkdir()
    body = [
        "Xem kết quả xổ số miền Nam hôm nay; xổ số miền Bắc, xổ số miền Trung, xổ số điện toán trực tiếp nhanh.",
        "Kết quả được cập nhật liên tục từ các công ty xổ số kiến thiết, mời bạn đọc theo dõi và dò vé số.",
    ]
    for day in (3, 10, 17):
        write_clipping(folder, f"xs{day:02d}", f"Xổ số miền Nam ngày {day} tháng 5 - Kết quả xổ số hôm nay", "", body)
    write_clipping(folder, "xs_copy", "Xổ số miền Nam ngày 10 tháng 5: kết quả hôm nay", "", body)
    clipsearch.build_index([folder], tmp_path / "ix")
    groups = json.loads((tmp_path / "ix" / GROUPS_FILE).read_text(encoding="utf-8"))["groups"]
    assert groups == {"xs10": ["xs10", "xs_copy"]}


def test_cli_similar_and_show_json(reprints: tuple[Path, clipsearch.Index]) -> None:
    index_dir, _ = reprints
    text = CliRunner().invoke(cli, ["similar", SEED_ID, "--index-dir", str(index_dir), "-n", "1"])
    assert text.exit_code == 0, text.output
    assert "1. Văn phòng cấp ủy tỉnh tổng kết năm" in text.output.replace("**", "").replace(" 1.", "1.")
    data = json.loads(
        CliRunner()
        .invoke(cli, ["similar", SEED_ID, "--index-dir", str(index_dir), "--json", "--include-reprints"])
        .output
    )
    assert [h["id"] for h in data["hits"]][:2] == [REPRINT_ID, UNRELATED_ID]
    missing = CliRunner().invoke(cli, ["similar", "nope", "--index-dir", str(index_dir)])
    assert missing.exit_code == 1 and missing.output.startswith("Error: no clipping with id 'nope'")
    shown = json.loads(
        CliRunner().invoke(cli, ["show", REPRINT_ID, "--index-dir", str(index_dir), "--json", "-q", "tấn sang"]).output
    )
    assert shown["id"] == REPRINT_ID and shown["date"] == "2023-04-01"
    assert [shown["lead"][s:e] for s, e in shown["highlights"]["lead"]] == ["Tấn Sang"]
