"""A hostile new user against the Typesense backend (issue 19), on a real
Typesense 0.24.1 node started as ``tests/typesense_servers.py`` starts it
(never a mock): odd files and ids, queries full of filter syntax, servers
that are not Typesense, collection names with URL characters, indexing
runs killed with SIGKILL or run twice at once, ``serve`` while the node
goes away and comes back.

Fifteen defects were found this way and fixed (long queries past
Typesense's filter and URL limits, many hits, file names that are not
UTF-8, collections of someone else's, collection names with URL characters,
servers that are not Typesense, keys that are not ASCII, unreadable ports,
``..`` and surrogate ids, workers outliving a killed run, ``similar``'s
total, a repeated word's cost); their tests, and those of what held, pin
the behaviour, compared with the Whoosh index of the same files where there
is one."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import clipsearch
from clipsearch.errors import BackendUnavailableError, ClippingNotFoundError, ClipsearchError, QueryError

from .conftest import SEED, write_clipping, write_fixture_corpus, write_sentence_clippings
from .typesense_servers import TypesenseNode, typesense_missing_reason, typesense_node

pytestmark = [
    pytest.mark.skipif(typesense_missing_reason() is not None, reason=str(typesense_missing_reason())),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

KEY_VARIABLE = "CLIPSEARCH_TYPESENSE_API_KEY"


# --- servers and helpers ---------------------------------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TypesenseNode]:
    with typesense_node(tmp_path_factory.mktemp("attack-node")) as started:
        yield started


def _target(node: TypesenseNode, collection: str, **options: Any) -> Any:
    from clipsearch.typesense.connection import TypesenseTarget

    return TypesenseTarget((node.url,), collection=collection, api_key=node.api_key, **options)


def _archive(node: TypesenseNode, collection: str) -> Any:
    from clipsearch.typesense.archive import TypesenseArchive

    return TypesenseArchive(_target(node, collection))


def _get(node: TypesenseNode, path: str) -> Any:
    status, body = node.request(path, timeout=10)
    return body if status == 200 else None


def _collections(node: TypesenseNode, prefix: str) -> list[str]:
    return sorted(c["name"] for c in _get(node, "/collections") or [] if c["name"].startswith(prefix))


def _aliases(node: TypesenseNode) -> dict[str, str]:
    return {a["name"]: a["collection_name"] for a in (_get(node, "/aliases") or {}).get("aliases", [])}


def _count(node: TypesenseNode, collection: str) -> int:
    found = _get(node, f"/collections/{collection}/documents/search?q=*&per_page=0")
    return int(found["found"]) if found else 0


def _release_lock(node: TypesenseNode, collection: str) -> None:
    """Remove a killed run's lease (it would lapse after LEASE_SECONDS, 120 s: too long for a test)."""
    import urllib.request

    request = urllib.request.Request(
        f"{node.url}/collections/{collection}__lock/documents/lock",
        headers={"X-TYPESENSE-API-KEY": node.api_key},
        method="DELETE",
    )
    with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=10):
        pass


def _cli(*args: str, key: str | None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m clipsearch ARGS`` in a subprocess, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE}
    if key is not None:
        env[KEY_VARIABLE] = key
    return subprocess.run(
        [sys.executable, "-m", "clipsearch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> bool:
    lines = done.stderr.strip().splitlines()
    return (
        done.returncode == 1 and len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in done.stderr
    )


def _outcome(backend: Any, call: Any) -> tuple[Any, ...]:
    try:
        return ("ok", call(backend))
    except Exception as exc:  # the kind of failure is what is compared
        return ("error", type(exc).__name__)


def _same_results(index: Any, archive: Any, query: str, **options: Any) -> None:
    def run(backend: Any) -> Any:
        found = backend.query(query, **options)
        return (
            found.total,
            [h.id for h in found.hits],
            [round(h.score, 6) for h in found.hits],
            found.facets,
            found.suggestion,
        )

    assert _outcome(archive, run) == _outcome(index, run), (query, options)


# --- a corpus of odd files and ids -----------------------------------------------

ODD_NAMES = [
    "tab\tname",
    "new\nline",
    "back`tick",
    "com,ma",
    "[brack]",
    "a && b",
    "a || b",
    "k:=v",
    "per%cent",
    "q?mark",
    "hash#tag",
    "sp ace",
    "x" * 200,
    unicodedata.normalize("NFD", "Đổi mới nfd"),
    "paren(s)",
    "star*",
    'quote"d',
    "back\\slash",
    "dot.dot",
    "-dash",
    "plus+",
    "id:[`a`,`b`]",
]
TONES = "\u0300\u0301\u0303\u0309\u0323"


def _cp1258(text: str) -> bytes:
    """Text as Windows-1258 writes it: base letters precomposed, tone marks combining."""
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in TONES)
        out.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES)) + tones)
    return "".join(out).encode("cp1258")


def _write_hostile(folder: Path) -> None:
    write_fixture_corpus(folder)
    for i, name in enumerate(ODD_NAMES):
        write_clipping(
            folder,
            name,
            f"Tin số {i} về bão lũ",
            "Mưa lớn kéo dài.",
            [f"Bão số {i} gây mưa lớn ở miền Trung."],
            source="Theo Báo [Lạ], `x` && y" if i % 2 else "Theo Người Lao Động",
        )
    write_clipping(folder, "huge", "Bài rất dài", "Mở đầu.", [" ".join(["bão lũ miền Trung"] * 24_000)[:400_000]])
    write_clipping(folder, "syll20k", "Đoạn dài", "Mở.", [" ".join(["văn"] * 20_000)])
    write_clipping(folder, "nul", "Có NUL\x00 byte", "Mở\x00 đầu.", ["Thân\x00 bài bão."])
    write_clipping(folder, "utf16", "Bài UTF-16 về bão", "Mở đầu.", ["Thân bài."], encoding="utf-16")
    (folder / "cp1258.txt").write_bytes(
        _cp1258("Thứ hai,  02/03/2026\n\nBài cp1258 về lũ lụt\n\nMở đầu.\n\nThân bài nói về lũ.\n")
    )
    write_clipping(folder, "zw", "Bã\u200bo zero\u200d width", "Mở\ufeff đầu.", ["Thân bài bão\u200c lũ."])
    write_clipping(folder, "nosrc", "Không nguồn", "Mở đầu.", ["Thân bài."], source=None)
    write_clipping(folder, "nodate", "Không ngày bão", "Mở đầu.", ["Thân bài."], date_line="")
    write_clipping(folder, "oldd", "Cũ", "Mở đầu.", ["Thân bài bão."], date_line="3/8/2014")
    write_clipping(folder, "empty-text", "", "", [""], date_line="1/1/2020", source=None)
    for sub in ("one", "two"):
        (folder / sub).mkdir()
        write_clipping(folder / sub, "dup", f"Bản {sub}", "a.", ["b."])


@pytest.fixture(scope="module")
def hostile(node: TypesenseNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """The Whoosh index and the Typesense collection of the same odd files."""
    from clipsearch.typesense.indexing import index_typesense

    folder = tmp_path_factory.mktemp("hostile") / "clips"
    folder.mkdir()
    _write_hostile(folder)
    index_dir = folder.parent / "index"
    expected = clipsearch.build_index([folder], index_dir)
    report = index_typesense([folder], _target(node, "hostile"))
    assert sorted(s.reason for s in report.skipped) == sorted(s.reason for s in expected.skipped)
    assert report.total == expected.total
    with clipsearch.open_index(index_dir) as index:
        yield index, _archive(node, "hostile")


SYMBOL_QUERIES = [
    "bão",
    "`",
    "[x]",
    "a,b",
    "a && b",
    "k:=v",
    "x:",
    "||",
    "bão)",
    "id:[`a`,`b`]",
    "title:bão",
    'source:"người lao động"',
    "source:lạ",
    "zero width",
    "lụt",
    "cp1258",
    "UTF-16",
    '"văn văn văn"',
    "NOT NOT NOT bão",
    "bão -lũ",
    '-"bão số" lũ',
    'bão NOT "mưa lớn"',
    "bão " + "(" * 30 + "lũ" + ")" * 30,
    " ".join(["bão"] * 300),
    "Đổi mới",
    "nfd",
    "bão\x00lũ",
    "*",
]


@pytest.mark.parametrize("query", SYMBOL_QUERIES)
def test_queries_of_filter_syntax_give_the_index_results(hostile: tuple[Any, Any], query: str) -> None:
    """Holds: backticks, brackets, commas, ``&&``, ``:=`` in a query, 300
    words, deep brackets, NOT phrases: the same totals, ids, scores and
    facets as the Whoosh index."""
    index, archive = hostile
    for options in ({"facets": True}, {"sort": "oldest", "limit": 50, "collapse": False}):
        _same_results(index, archive, query, **options)


@pytest.mark.parametrize(
    "options",
    [
        {"source": "Báo [Lạ], `x` && y"},
        {"source": ["người lao động", "Nhandan"]},
        {"since": "2014", "until": "2014"},
        {"since": "2026-03-02", "until": "2026-03-02", "facets": True},
        {"source": "nguoi lao dong", "sort": "newest"},
    ],
)
def test_sources_and_dates_with_odd_characters(hostile: tuple[Any, Any], options: dict[str, Any]) -> None:
    """Holds: a source name with brackets, backticks and ``&&``, sources
    with diacritics, date ranges."""
    index, archive = hostile
    _same_results(index, archive, "bão", **options)


def test_odd_ids_show_similar_summaries_and_stats_as_the_index(hostile: tuple[Any, Any]) -> None:
    """Holds: ids with tabs, newlines, backticks, commas, ``&&``, ``%``,
    ``?``, ``#``, NFD, 200 characters; a clipping with no text; stats."""
    index, archive = hostile
    ids = [h.id for h in index.query("*", limit=1000).hits]
    assert len(ids) == len(archive) > 30
    for clipping_id in ids:
        assert archive.show(clipping_id, "bão") == index.show(clipping_id, "bão"), clipping_id
        got, expected = archive.similar(clipping_id), index.similar(clipping_id)
        assert (got.total, [h.id for h in got.hits]) == (expected.total, [h.id for h in expected.hits]), clipping_id
    assert archive.summaries(ids) == index.summaries(ids)
    a, b = index.stats(), archive.stats()
    assert (a.clippings, a.sources, a.first_date, a.last_date, a.without_date, a.without_source) == (
        b.clippings,
        b.sources,
        b.first_date,
        b.last_date,
        b.without_date,
        b.without_source,
    )


LIBRARY_CALLS = {
    "query int": lambda b: b.query(5),
    "query None": lambda b: b.query(None),
    "query bytes": lambda b: b.query(b"bao"),
    "limit 0": lambda b: b.query("bão", 0),
    "limit -1": lambda b: b.query("bão", -1),
    "limit 10**9": lambda b: b.query("bão", 10**9).total,
    "limit True": lambda b: b.query("bão", True),
    "limit 2.5": lambda b: b.query("bão", 2.5),
    "source int": lambda b: b.query("bão", source=5),
    "source [None]": lambda b: b.query("bão", source=[None]),
    "since int": lambda b: b.query("bão", since=2014),
    "empty range": lambda b: b.query("bão", since="2026", until="2014"),
    "sort None": lambda b: b.query("bão", sort=None),
    "show int": lambda b: b.show(5),
    "show bytes": lambda b: b.show(b"zw"),
    "show query int": lambda b: b.show("zw", 5),
    "show missing": lambda b: b.show("nope"),
    "show /": lambda b: b.show("a/b"),
    "show NUL": lambda b: b.show("a\x00b"),
    "similar None": lambda b: b.similar(None),
    "similar limit 0": lambda b: b.similar("zw", 0),
    "similar 10**9": lambda b: b.similar("zw", 10**9).total,
    "summaries [1]": lambda b: b.summaries([1]),
    "summaries missing": lambda b: b.summaries(["nope", "zw"])[0].id,
}


@pytest.mark.parametrize("name", sorted(LIBRARY_CALLS))
def test_library_calls_with_wrong_values_fail_as_the_index_does(hostile: tuple[Any, Any], name: str) -> None:
    """Holds: wrong types and limits are the same errors (or results) as on the index."""
    index, archive = hostile
    assert _outcome(archive, LIBRARY_CALLS[name]) == _outcome(index, LIBRARY_CALLS[name])


@pytest.mark.parametrize("clipping_id", [".."])
def test_dot_ids_are_not_found(hostile: tuple[Any, Any], clipping_id: str) -> None:
    _index, archive = hostile
    with pytest.raises(ClippingNotFoundError):
        archive.show(clipping_id)


def test_an_id_that_is_not_text_is_not_found(hostile: tuple[Any, Any]) -> None:
    _index, archive = hostile
    assert archive.summaries(["caf\udce9"]) == []
    with pytest.raises(ClippingNotFoundError):
        archive.show("caf\udce9")


# --- long queries ------------------------------------------------------------------

PARAGRAPH = SEED.read_text(encoding="utf-8").split("\n\n")[2]


@pytest.mark.parametrize(
    "query",
    [
        " ".join(PARAGRAPH.split()[:8]),
        '"' + " ".join(PARAGRAPH.split()[:8]) + '"',
        " ".join(PARAGRAPH.split()[:80]),
        " OR ".join([*(f"t{i}" for i in range(60)), "bão"]),
    ],
    ids=["eight-words", "eight-word-phrase", "pasted-paragraph", "sixty-ors"],
)
def test_long_ordinary_queries(hostile: tuple[Any, Any], query: str) -> None:
    index, archive = hostile
    expected = index.query(query)
    assert expected.total >= 1
    assert archive.query(query).total == expected.total


def test_a_repeated_word_query_costs_what_it_costs_on_the_index(hostile: tuple[Any, Any]) -> None:
    index, archive = hostile
    query = " ".join(["bão"] * 3000)
    started = time.perf_counter()
    expected = index.query(query, collapse=False)
    on_index = time.perf_counter() - started
    started = time.perf_counter()
    got = archive.query(query, collapse=False)
    on_typesense = time.perf_counter() - started
    assert got.total == expected.total
    assert on_typesense < 1.0 + 5 * on_index, (on_typesense, on_index)


# --- files the indexing run cannot take ----------------------------------------------


def test_a_file_name_that_is_not_utf8(node: TypesenseNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clipsearch.typesense import indexing

    monkeypatch.setattr(indexing, "RETRY_SECONDS", 2.0)
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(SEED, folder)
    name = os.fsdecode(b"caf\xe9 t\xean.txt")
    (folder / name).write_bytes("Thứ hai,  02/03/2026\n\nTên lạ\n\nMở đầu.\n\nThân bài về bão.\n".encode())
    expected = clipsearch.build_index([folder], tmp_path / "index")
    started = time.monotonic()
    report = indexing.index_typesense([folder], _target(node, "latin-names"))
    assert time.monotonic() - started < 2.0
    assert report.total == expected.total == 2
    assert _archive(node, "latin-names").show("café tên").title == "Tên lạ"


def test_files_copied_deleted_and_moved_as_the_index(node: TypesenseNode, tmp_path: Path) -> None:
    """Holds: the same clipping in two folders, the original deleted, a file
    moved inside and out of the indexed folders: the same reports and ids as
    the Whoosh index after each run."""
    from clipsearch.typesense.indexing import index_typesense

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    target = _target(node, "moves")

    def both(*folders: Path) -> None:
        def summary(report: Any) -> Any:
            return (
                sorted(os.path.basename(p) for p in report.added),
                sorted(os.path.basename(p) for p in report.updated),
                len(report.unchanged),
                sorted(os.path.basename(p) for p in report.removed),
                sorted(s.reason.replace(str(tmp_path), "") for s in report.skipped),
                report.total,
            )

        got = summary(index_typesense(list(folders), target))
        assert got == summary(clipsearch.build_index(list(folders), tmp_path / "index"))
        with clipsearch.open_index(tmp_path / "index") as index:
            expected = sorted((h.id, h.path) for h in index.query("*", limit=100).hits)
        assert sorted((h.id, h.path) for h in _archive(node, "moves").query("*", limit=100).hits) == expected

    write_clipping(a, "one", "Một", "Mở.", ["Bão."])
    write_clipping(a, "two", "Hai", "Mở.", ["Lũ."])
    both(a)
    shutil.copy(a / "one.txt", b / "one.txt")
    both(a, b)
    (a / "one.txt").unlink()
    both(a, b)
    (a / "sub").mkdir()
    shutil.move(a / "two.txt", a / "sub" / "two.txt")
    both(a, b)
    shutil.move(a / "sub" / "two.txt", tmp_path / "two.txt")
    both(a, b)
    (b / "one.txt").unlink()
    both(a, b)


# --- servers that are not what they seem -------------------------------------------


@contextlib.contextmanager
def _http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _HtmlPage(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b"<html><body>It works!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("command", [["query", "bão"], ["stats"], ["index"]])
def test_a_server_that_is_not_typesense(tmp_path: Path, command: list[str]) -> None:
    with _http_server(_HtmlPage) as url:
        if command == ["index"]:
            command = ["index", str(tmp_path)]
        done = _cli(*command, "--typesense", url, key="k")
    assert _one_error_line(done), done.stderr[-600:]


def test_a_port_that_accepts_and_never_answers(node: TypesenseNode) -> None:
    """Holds: a node that takes the connection and never answers is an error
    after the timeout and the client's retries, not a hang."""
    from clipsearch.typesense.archive import TypesenseArchive
    from clipsearch.typesense.connection import TypesenseTarget

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError, match="timed out"):
            TypesenseArchive(TypesenseTarget((url,), collection="hostile", api_key="k", timeout=0.5))
        assert time.monotonic() - started < 10


def test_a_dead_first_node_and_a_url_with_a_slash(node: TypesenseNode, hostile: tuple[Any, Any]) -> None:
    """Holds: the client goes on to the next node when the first refuses;
    ``http://host:port/`` is the node."""
    from clipsearch.typesense.archive import TypesenseArchive
    from clipsearch.typesense.connection import TypesenseTarget

    index = hostile[0]
    target = TypesenseTarget(("http://127.0.0.1:1", node.url + "/"), collection="hostile", api_key=node.api_key)
    assert TypesenseArchive(target).query("bão").total == index.query("bão").total


@pytest.mark.parametrize("url", ["http://127.0.0.1:abc", "http://127.0.0.1:99999"])
def test_a_url_with_an_unreadable_port_is_refused(url: str) -> None:
    from clipsearch.typesense.connection import TypesenseTarget

    with pytest.raises(BackendUnavailableError, match="not the URL of a Typesense node"):
        TypesenseTarget((url,), api_key="k")


def test_an_api_key_that_is_not_ascii(node: TypesenseNode) -> None:
    done = _cli("stats", "--typesense", node.url, "--collection", "hostile", key="khóa")
    assert _one_error_line(done), done.stderr[-600:]


def test_a_wrong_or_blank_api_key_is_one_error_line(node: TypesenseNode, hostile: tuple[Any, Any]) -> None:
    """Holds: a refused key and a key that cannot be a header are one ``Error:`` line, exit 1."""
    for key in ("wrong", " "):
        done = _cli("query", "bão", "--typesense", node.url, "--collection", "hostile", key=key)
        assert _one_error_line(done), (key, done.stderr[-600:])


def test_a_refused_key_does_not_claim_a_retry(node: TypesenseNode, tmp_path: Path) -> None:
    """Holds (fixed while this file was written): a refused key fails the run at once, saying so."""
    from clipsearch.typesense.connection import TypesenseTarget
    from clipsearch.typesense.indexing import index_typesense

    target = TypesenseTarget((node.url,), collection="hostile", api_key="wrong")
    with pytest.raises(BackendUnavailableError) as refused:
        index_typesense([tmp_path], target)
    assert "retried" not in str(refused.value)


# --- collections -------------------------------------------------------------------


def test_a_foreign_collection_fails_the_run_at_once(
    node: TypesenseNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clipsearch.typesense import indexing

    monkeypatch.setattr(indexing, "RETRY_SECONDS", 3.0)
    client = indexing.Connection(_target(node, "theirs")).client
    client.collections.create({"name": "theirs", "fields": [{"name": "x", "type": "string"}]})
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="not written by clipsearch"):
        indexing.index_typesense([tmp_path], _target(node, "theirs"))
    assert time.monotonic() - started < 2.0


def test_a_foreign_collection_is_not_searched(node: TypesenseNode) -> None:
    """Holds: a query on someone else's collection is one ``Error:`` line naming it."""
    from clipsearch.typesense.connection import Connection

    with contextlib.suppress(Exception):
        Connection(_target(node, "theirs2")).client.collections.create(
            {"name": "theirs2", "fields": [{"name": "x", "type": "string"}]}
        )
    done = _cli("query", "bão", "--typesense", node.url, "--collection", "theirs2", key=node.api_key)
    assert _one_error_line(done) and "not written by clipsearch" in done.stderr


@pytest.mark.parametrize("name", ["x?y", "h#t", "p%2Fq", ".."])
def test_collection_names_with_url_characters(node: TypesenseNode, tmp_path: Path, name: str) -> None:
    from clipsearch.typesense.indexing import index_typesense

    shutil.copy(SEED, tmp_path)
    before = _aliases(node)
    try:
        index_typesense([tmp_path], _target(node, name))
    except ClipsearchError:
        assert {k: v for k, v in _aliases(node).items() if k not in before} == {}
    else:
        assert set(_aliases(node)) - set(before) == {name}


def test_a_collection_name_with_a_question_mark_on_the_command_line(node: TypesenseNode, tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path)
    done = _cli("index", str(tmp_path), "-q", "--typesense", node.url, "--collection", "zz?top", key=node.api_key)
    assert done.returncode == 0 or _one_error_line(done), done.stderr[-600:]


# --- indexing runs killed, twice at once ----------------------------------------------


def _index_process(folder: Path, node: TypesenseNode, collection: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, KEY_VARIABLE: node.api_key}
    command = ["index", str(folder), "--typesense", node.url, "--collection", collection, "-q", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "clipsearch", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )


def _processes_of(folder: Path) -> list[int]:
    """PIDs of processes (not this one) whose command line names ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if str(folder).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def _kill_when(process: subprocess.Popen[bytes], ready: Any, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not ready():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run wrote too little"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def killed(node: TypesenseNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """600 clippings (enough for worker processes); ``clipsearch index`` SIGKILLed
    after 150 are written, then run again; ``--rebuild`` SIGKILLed after 100 are
    written to its new collection, then a plain run. What was seen on the way."""
    from clipsearch.typesense.indexing import index_typesense

    root = tmp_path_factory.mktemp("killed")
    folder = root / "crowd"
    write_sentence_clippings(folder, 600, seed=23, prefix="k")
    seen: dict[str, Any] = {"folder": folder}
    run = _index_process(folder, node, "crowd", "--procs", "2")
    _kill_when(run, lambda: _count(node, "crowd") >= 150)
    time.sleep(0.5)
    seen["left_running"] = orphans = _processes_of(folder)
    for pid in orphans:  # this test's own processes, by PID
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    _release_lock(node, "crowd")
    seen["rerun"] = index_typesense([folder], _target(node, "crowd"))
    before = _collections(node, "crowd-")
    rebuild = _index_process(folder, node, "crowd", "--rebuild", "--procs", "2")
    fresh = lambda: [c for c in _collections(node, "crowd-") if c not in before and "__" not in c]  # noqa: E731
    _kill_when(rebuild, lambda: bool(fresh()) and _count(node, fresh()[0]) >= 100)
    time.sleep(0.5)
    for pid in _processes_of(folder):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    seen["after_killed_rebuild"] = (_aliases(node)["crowd"], _count(node, "crowd"))
    _release_lock(node, "crowd")
    seen["before"] = before
    index_typesense([folder], _target(node, "crowd"))
    seen["after_next_run"] = _collections(node, "crowd-")
    seen["index"] = root / "index"
    clipsearch.build_index([folder], seen["index"])
    return seen


def test_a_killed_run_run_again_holds_exactly_the_files(node: TypesenseNode, killed: dict[str, Any]) -> None:
    """Holds: after ``kill -9`` and a re-run the collection has exactly the
    files' ids, its statistics agree, and searches and ``similar`` give the
    index's results."""
    folder = killed["folder"]
    report = killed["rerun"]
    assert report.total == 600 and not report.skipped
    assert 150 <= len(report.unchanged) < 600 and len(report.added) + len(report.unchanged) == 600
    archive = _archive(node, "crowd")
    with clipsearch.open_index(killed["index"]) as index:
        ids = sorted(str(doc["id"]) for doc in archive._connection.export({"include_fields": "id"}))
        assert ids == sorted(p.stem for p in folder.iterdir())
        assert archive.stats().clippings == index.stats().clippings == 600
        for query in ("văn phòng", '"cấp ủy"', "đảng -tỉnh", "hội nghị"):
            _same_results(index, archive, query, facets=True)
        for clipping_id in ("k000", "k123"):
            got, expected = archive.similar(clipping_id), index.similar(clipping_id)
            assert [h.id for h in got.hits] == [h.id for h in expected.hits]


def test_a_search_of_many_hits(node: TypesenseNode, killed: dict[str, Any]) -> None:
    archive = _archive(node, "crowd")
    with clipsearch.open_index(killed["index"]) as index:
        expected = index.query("*", limit=600, collapse=False)
        got = archive.query("*", limit=600, collapse=False)
        assert [h.id for h in got.hits] == [h.id for h in expected.hits]


def test_a_killed_run_leaves_no_process_behind(killed: dict[str, Any]) -> None:
    assert killed["left_running"] == []


def test_a_killed_rebuild_leaves_the_old_collection_answering(killed: dict[str, Any]) -> None:
    """Holds: while a rebuild is killed midway, the alias still names the old collection, complete."""
    alias, count = killed["after_killed_rebuild"]
    assert alias in killed["before"] and count == 600


def test_a_killed_rebuild_leaves_no_collection_behind(killed: dict[str, Any]) -> None:
    """Holds (fixed while this file was written: the next run drops it): the
    half-written collection of a killed --rebuild does not outlive the next run."""
    assert killed["after_next_run"] == killed["before"]


def test_two_first_runs_at_once_leave_one_collection(node: TypesenseNode, tmp_path: Path) -> None:
    """Holds (the lease added while this file was written): two first runs at
    once on a new collection: one writes, the other is refused or finds the
    work done; one collection is left, complete."""
    write_sentence_clippings(tmp_path / "pair", 40, seed=5, prefix="p")
    runs = [_index_process(tmp_path / "pair", node, "pair") for _ in range(2)]
    assert sorted(run.wait(120) for run in runs)[0] == 0
    assert _count(node, "pair") == 40
    assert _collections(node, "pair-") == [_aliases(node)["pair"], _aliases(node)["pair"] + "__statistics"]


def test_similar_past_the_full_candidates_counts_as_the_index(
    node: TypesenseNode, killed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from clipsearch.typesense import archive as module

    monkeypatch.setattr(module, "FULL_CANDIDATES", 50)  # the approximate path on 600 clippings
    archive = _archive(node, "crowd")
    with clipsearch.open_index(killed["index"]) as index:
        grouped = [i for i in ("k000", "k010", "k100", "k321") if index.similar(i).total > 50]
        assert grouped
        assert [archive.similar(i).total for i in grouped] == [index.similar(i).total for i in grouped]


# --- serve while the node goes away ---------------------------------------------------


def test_serve_answers_503_while_typesense_is_down_then_200(
    node: TypesenseNode, hostile: tuple[Any, Any], tmp_path: Path
) -> None:
    """Holds: ``clipsearch serve --typesense`` answers 503 (JSON and pages)
    while the node is stopped, and 200 again once it is back."""
    from .servers import running

    archive = ["--typesense", node.url, "--collection", "hostile"]
    with running(None, tmp_path / "serve.log", archive=archive, env={KEY_VARIABLE: node.api_key}) as served:
        assert served.get("/api/search?q=b%C3%A3o")[0] == 200
        node.stop()
        try:
            for path in ("/api/search?q=b%C3%A3o", "/api/stats", "/api/clippings/zw", "/?q=b%C3%A3o"):
                status, _headers, _body = served.fetch(path)
                assert status == 503, path
        finally:
            node.start()
            node.wait_healthy()
        for path in ("/api/search?q=b%C3%A3o", "/api/stats", "/api/clippings/zw", "/healthz"):
            assert served.fetch(path)[0] == 200, path


def test_queries_with_filter_syntax_through_the_command_line(node: TypesenseNode, hostile: tuple[Any, Any]) -> None:
    """Holds: through ``python -m clipsearch``, a query of filter syntax
    answers, and one with no words is one ``Error:`` line."""
    base = ["--typesense", node.url, "--collection", "hostile"]
    done = _cli("query", "id:[`a`,`b`] && x", "--json", *base, key=node.api_key)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == _index_total(hostile, "id:[`a`,`b`] && x")
    empty = _cli("query", "`", *base, key=node.api_key)
    assert _one_error_line(empty), empty.stderr
    missing = _cli("show", "no\tsuch", *base, key=node.api_key)
    assert _one_error_line(missing), missing.stderr


def _index_total(hostile: tuple[Any, Any], query: str) -> int:
    return int(hostile[0].query(query).total)


def test_query_error_is_query_error(hostile: tuple[Any, Any]) -> None:
    """Holds: a query with nothing to search is a QueryError on both."""
    index, archive = hostile
    for backend in (index, archive):
        with pytest.raises(QueryError):
            backend.query("-bão")
