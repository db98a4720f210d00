"""Searching a real index built from the seed and the fixture clippings."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from whoosh import scoring

import clipsearch
from clipsearch.errors import IndexLockedError, IndexNotFoundError, IndexVersionError, QueryError
from clipsearch.searching.plan import plan, query_words
from clipsearch.searching.ranking import CANDIDATES, top
from clipsearch.searching.scoring import Evaluator
from clipsearch.searching.syntax import parse_query
from clipsearch.writing.build import build_index, open_whoosh_index

from .conftest import FIXTURES, SEED_ID, write_clipping
from .whoosh_reference import files_of, to_whoosh

SEED_QUERIES = [
    "văn phòng cấp ủy",
    "van phong cap uy",
    "VĂN PHÒNG CẤP UỶ",
    unicodedata.normalize("NFD", "văn phòng cấp ủy"),
    "văn phòng cấp uỷ",
]


def _highlighted(hit: clipsearch.Hit) -> list[str]:
    return [hit.snippet[s:e] for s, e in hit.highlights]


@pytest.mark.parametrize("query", SEED_QUERIES)
def test_seed_found_first_with_highlight(index: clipsearch.Index, query: str) -> None:
    hits = index.search(query)
    assert hits[0].id == SEED_ID
    assert "văn phòng cấp ủy" in [h.lower() for h in _highlighted(hits[0])]


@pytest.mark.parametrize("query", ["Phó chủ tịch nước", "văn phòng cấp ủy", "người dân mua sắm", '"hòa bình lâu dài"'])
def test_same_ranking_whatever_the_form(index: clipsearch.Index, query: str) -> None:
    def ranking(q: str) -> list[tuple[str, float]]:
        return [(h.id, round(h.score, 6)) for h in index.search(q, limit=50)]

    expected = ranking(query)
    for variant in (query.upper(), unicodedata.normalize("NFD", query), query.replace("òa", "oà").replace("ủy", "uỷ")):
        assert ranking(variant) == expected, variant


def test_seed_hit_fields(index: clipsearch.Index) -> None:
    hit = index.search("văn phòng cấp ủy")[0]
    assert hit.title.startswith("Tiếp tục đổi mới")
    assert hit.date is not None and hit.date.isoformat() == "2023-03-31"
    assert hit.source == "Nhandan"
    assert hit.path.endswith("000_3c8457e68fc84bd7.txt")
    assert hit.score > 0
    assert len(hit.snippet) <= 240


def test_scattered_syllables_rank_below_the_word(index: clipsearch.Index, tmp_path: Path) -> None:
    ids = [h.id for h in index.search("cấp ủy")]
    assert ids.index(SEED_ID) < ids.index("scattered")
    # Same syllables, same lengths: only adjacency and pyvi's word differ.
    write_clipping(tmp_path, "apart", "Tin trong tuần", "Tin vắn.", ["Ủy ban họp về cấp nước sạch cho xã."])
    write_clipping(tmp_path, "word", "Tin trong tuần", "Tin vắn.", ["Cấp ủy họp về ban nước sạch cho xã."])
    clipsearch.build_index([tmp_path], tmp_path / "ix")
    with clipsearch.open_index(tmp_path / "ix") as ix:
        for query in ("cấp ủy", "cap uy", "Cấp ủy"):
            assert [h.id for h in ix.search(query)] == ["word", "apart"], query


def test_total_counts_all_matches(index: clipsearch.Index) -> None:
    result = index.query("người dân", limit=1)
    assert len(result.hits) == 1
    ids = {h.id for h in index.search("người dân", limit=50)}
    assert {"peace_old", "buy"} <= ids
    assert result.total == len(ids)


@pytest.mark.parametrize("query", ["hòa bình", "hoà bình", "HÒA BÌNH", "hoa binh", '"hòa bình"'])
def test_tone_placement_and_folding(index: clipsearch.Index, query: str) -> None:
    assert index.search(query)[0].id == "peace_old"


@pytest.mark.parametrize(("query", "expected"), [("mùa", "season"), ("múa", "dance"), ("mua", None)])
def test_exact_diacritics_rank_first(index: clipsearch.Index, query: str, expected: str | None) -> None:
    ids = [h.id for h in index.search(query)]
    assert {"season", "dance", "buy"} <= set(ids)  # folded forms match all three
    if expected:
        assert ids[0] == expected


def test_exact_highlight_only_where_text_has_the_form(index: clipsearch.Index) -> None:
    hit = next(h for h in index.search("múa") if h.id == "dance")
    assert {w.lower() for w in _highlighted(hit)} == {"múa"}
    buy = next(h for h in index.search("múa") if h.id == "buy")
    assert {w.lower() for w in _highlighted(buy)} == {"mua"}


def test_nfd_document_found_and_shown_composed(index: clipsearch.Index) -> None:
    hit = index.search("thanh tra đông anh")[0]
    assert hit.id == "nfd_doc"
    assert "Đông Anh" in _highlighted(hit)  # shown NFC, highlighted on the right characters
    assert hit.title == FIXTURES["nfd_doc"]["title"]
    assert [hit.title[s:e] for s, e in hit.title_highlights] == ["THANH TRA"]


def test_highlight_keeps_the_authors_tone_placement(index: clipsearch.Index) -> None:
    hit = index.search("hòa bình")[0]
    assert hit.id == "peace_old"
    assert set(_highlighted(hit)) == {"hoà bình"}


def test_phrase_needs_order(index: clipsearch.Index) -> None:
    assert [h.id for h in index.search('"cấp ủy hai năm qua"')] == [SEED_ID]
    assert index.search('"ủy cấp"') == []
    assert [h.id for h in index.search('"cap uy hai nam qua"')] == [SEED_ID]


def test_boolean_operators(index: clipsearch.Index) -> None:
    assert {h.id for h in index.search("múa OR mùa")} >= {"season", "dance"}
    ids = {h.id for h in index.search("mua NOT lân")}
    assert "dance" not in ids and "buy" in ids
    assert "dance" not in {h.id for h in index.search("mua -lân")}
    assert {h.id for h in index.search("mùa AND lúa")} == {"season"}


def test_nested_negative_group(index: clipsearch.Index) -> None:
    ids = {h.id for h in index.search("mua (NOT lân NOT lúa)")}
    assert "buy" in ids and not ids & {"dance", "season"}


def test_field_prefixes(index: clipsearch.Index) -> None:
    assert [h.id for h in index.search("title:thanh tra")] == ["nfd_doc"]
    assert index.search('title:"hội nghị toàn quốc"') == []
    assert [h.id for h in index.search('"hội nghị toàn quốc"')] == [SEED_ID]
    assert [h.id for h in index.search("source:nhandan")] == [SEED_ID]
    assert len(index.search("source:mẫu", limit=50)) == len(FIXTURES)


def test_title_counts_more_than_body(tmp_path: Path) -> None:
    write_clipping(tmp_path, "in_title", "Giá xăng tăng mạnh", "Tin kinh tế.", ["Người dân lo lắng."])
    write_clipping(tmp_path, "in_body", "Tin kinh tế trong ngày", "Tin vắn.", ["Giá xăng tăng mạnh từ chiều nay."])
    clipsearch.build_index([tmp_path], tmp_path / "ix")
    with clipsearch.open_index(tmp_path / "ix") as ix:
        assert [h.id for h in ix.search("giá xăng")] == ["in_title", "in_body"]


@pytest.mark.parametrize("query", ['"văn phòng cấp', "văn phòng (cấp ủy", "văn phòng AND", "OR văn phòng"])
def test_malformed_queries_search_best_effort(index: clipsearch.Index, query: str) -> None:
    assert index.search(query)[0].id == SEED_ID


@pytest.mark.parametrize("query", ["AND", "title:", "", "   ", "NOT văn", '""', "…"])
def test_queries_without_words_raise(index: clipsearch.Index, query: str) -> None:
    with pytest.raises(QueryError):
        index.search(query)


def test_len_is_number_of_clippings(index: clipsearch.Index) -> None:
    assert len(index) == len(FIXTURES) + 1


def test_hit_to_dict_is_json(index: clipsearch.Index) -> None:
    data = json.loads(json.dumps(index.query("van phong cap uy").to_dict()))
    hit = data["hits"][0]
    assert hit["date"] == "2023-03-31"
    assert set(hit) == {"id", "path", "title", "date", "source", "score", "snippet", "highlights", "similar"}
    assert any(hit["snippet"][s:e].lower() == "văn phòng cấp ủy" for s, e in hit["highlights"])


def test_open_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="clipsearch index"):
        clipsearch.open_index(tmp_path / "nowhere")


def test_index_from_other_version_is_refused(tmp_path: Path) -> None:
    write_clipping(tmp_path, "a", "Tin một", "Dẫn.", ["Thân."])
    clipsearch.build_index([tmp_path / "a.txt"], tmp_path / "ix")
    meta = tmp_path / "ix" / "clipsearch.json"
    data = json.loads(meta.read_text())
    data["analysis_version"] = -1
    data.pop("crc32")  # as a version without checksums wrote it
    meta.write_text(json.dumps(data))
    with pytest.raises(IndexVersionError, match="--rebuild"):
        clipsearch.open_index(tmp_path / "ix")
    report = clipsearch.build_index([tmp_path / "a.txt"], tmp_path / "ix", rebuild=True)
    assert report.total == 1
    assert len(clipsearch.open_index(tmp_path / "ix")) == 1


def test_rerun_reports_unchanged_and_changed(tmp_path: Path) -> None:
    path = write_clipping(tmp_path, "a", "Tin một", "Dẫn.", ["Thân."])
    clipsearch.build_index([tmp_path], tmp_path / "ix")
    again = clipsearch.build_index([tmp_path], tmp_path / "ix")
    assert (again.added, again.updated, again.unchanged) == ([], [], [str(path)])
    write_clipping(tmp_path, "a", "Tin một đã sửa", "Dẫn.", ["Thân."])
    changed = clipsearch.build_index([tmp_path], tmp_path / "ix")
    assert changed.updated == [str(path)] and changed.total == 1
    with clipsearch.open_index(tmp_path / "ix") as ix:
        assert ix.search("đã sửa")[0].title == "Tin một đã sửa"


def test_locked_index(tmp_path: Path) -> None:
    write_clipping(tmp_path, "a", "Tin một", "Dẫn.", ["Thân."])
    clipsearch.build_index([tmp_path], tmp_path / "ix")
    # Another process holds the lock: a real subprocess that takes it and waits.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path / "ix" / "clipsearch.lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLockedError, match="locked: another `clipsearch index`"):
            clipsearch.build_index([tmp_path], tmp_path / "ix")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The kernel released the killed holder's lock: no stale lock.
    assert clipsearch.build_index([tmp_path], tmp_path / "ix").unchanged == [str(tmp_path / "a.txt")]


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_an_open_index_sees_new_clippings(tmp_path: Path) -> None:
    write_clipping(tmp_path, "a", "Tin một", "Dẫn.", ["Thân."])
    clipsearch.build_index([tmp_path], tmp_path / "ix")
    with clipsearch.open_index(tmp_path / "ix") as ix:
        assert ix.search("bão lũ") == []
        write_clipping(tmp_path, "b", "Bão lũ miền Trung", "Dẫn.", ["Thân."])
        clipsearch.build_index([tmp_path], tmp_path / "ix")
        assert [h.id for h in ix.search("bão lũ")] == ["b"]
        assert len(ix) == 2


def test_an_open_index_sees_a_rebuild(tmp_path: Path) -> None:
    """A rebuild starts the index's generations again: the open index must
    still see that it changed (and read its reprint groups again)."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write_clipping(first, "a", "Bão lũ miền Trung", "Dẫn.", ["Thân."])
    write_clipping(second, "b", "Hạn hán miền Tây", "Dẫn.", ["Thân."])
    clipsearch.build_index([first], tmp_path / "ix")
    with clipsearch.open_index(tmp_path / "ix") as ix:
        assert [h.id for h in ix.search("bão lũ")] == ["a"]
        clipsearch.build_index([second], tmp_path / "ix", rebuild=True)
        assert ix.search("bão lũ") == []
        assert [h.id for h in ix.search("hạn hán")] == ["b"]
        assert len(ix) == 1


def test_an_index_of_no_clippings_finds_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    clipsearch.build_index([tmp_path / "empty"], tmp_path / "ix")
    with clipsearch.open_index(tmp_path / "ix") as ix:
        for query in ("bão lũ", "bao lu", '"bão lũ"', "*", "* -bão", "title:bão OR lũ"):
            result = ix.query(query)
            assert (result.total, result.hits) == (0, []), query
        assert len(ix) == 0


@pytest.mark.parametrize("query", ["Phó chủ tịch", "Cấp ủy các cấp", "VĂN PHÒNG CẤP ỦY"])
def test_query_words_do_not_depend_on_case(query: str) -> None:
    assert query_words(query.upper()) == query_words(query.lower()) == query_words(query.title())


def test_candidates_are_the_true_top_scores(tmp_path: Path) -> None:
    """The first phase keeps the documents with the best scores of the
    required part, exactly. Whoosh's default collector "replaces" matchers as
    its threshold rises (a union becomes an intersection or an and-maybe)
    and the replaced matchers lose score contributions: on this corpus its
    top 100 for ``hà nội`` dropped documents that score far above its cut."""
    rng = random.Random(2)
    filler = "các những một được cho trong với không này người đã để theo tại năm về đến khi từ cũng".split()
    forms = ["Hà Nội", "hà nội", "Ha Noi", "nội", "hà", "Hạ", "nổi", "hả", "nói", "Hạ Long"]
    folder = tmp_path / "c"
    folder.mkdir()
    for n in range(1200):
        words = [rng.choice(filler) for _ in range(int(rng.expovariate(1 / 300)) + 1)]
        for _ in range(rng.randint(0, 6)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(forms))
        title = f"Tin {n}" + (" Hà Nội" if rng.random() < 0.1 else "")
        write_clipping(folder, f"d{n:03d}", title, " ".join(words[:20]), [" ".join(words[20:]) or "và"])
    build_index([folder], tmp_path / "ix", procs=2)
    ix = open_whoosh_index(tmp_path / "ix")
    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        for query in ["hà nội", "ha noi", "nội -hà", "hà OR nội"]:
            required = plan(parse_query(query)).required
            every = sorted((h.score for h in searcher.search(to_whoosh(required), limit=None)), reverse=True)
            matches = Evaluator(files_of(searcher)).evaluate(required)
            best = top(matches, CANDIDATES)
            assert [round(score, 9) for score, _ in best] == [round(s, 9) for s in every[:CANDIDATES]], query
            assert len(matches) == len(every)


def test_quoted_phrase_ranks_by_the_same_rules_with_or_without_diacritics(tmp_path: Path) -> None:
    """With one written form in the corpus, typing its diacritics changes no
    ranking: the title counts for a quoted phrase either way."""
    folder = tmp_path / "clips"
    folder.mkdir()
    write_clipping(folder, "a", "Tin ngắn", "Hà Nội mưa to.", ["Người dân Hà Nội đi làm sớm. " * 6])
    write_clipping(folder, "b", "Hà Nội mưa to", "Tin ngắn.", ["Người dân đi làm sớm. " * 6])
    write_clipping(folder, "c", "Tin thời tiết", "Dự báo.", ["Hà Nội có mưa rào. Hà Nội lạnh."])
    clipsearch.build_index([folder], tmp_path / "index")
    with clipsearch.open_index(tmp_path / "index") as index:
        typed = [h.id for h in index.search('"hà nội"')]
        folded = [h.id for h in index.search('"ha noi"')]
    assert typed == folded
    assert typed[0] == "b"  # the phrase in the title
