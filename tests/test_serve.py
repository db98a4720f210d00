"""``clipsearch serve``: the real server in a subprocess, spoken to over HTTP."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import clipsearch

from .conftest import SEED_ID, write_clipping
from .servers import Server, running

SECURITY_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}


@pytest.fixture(scope="module")
def server(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(index_dir, tmp_path_factory.mktemp("serve") / "server.log") as up:
        yield up


def _json(data: Any) -> Any:
    """``data`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(data))


def _url(path: str, **params: Any) -> str:
    return f"{path}?{urllib.parse.urlencode(params, doseq=True)}" if params else path


@pytest.mark.parametrize(
    ("params", "call"),
    [
        ({"q": "van phong cap uy"}, {"query": "van phong cap uy"}),
        ({"q": "cấp ủy", "limit": 3, "facets": "true"}, {"query": "cấp ủy", "limit": 3, "facets": True}),
        ({"q": "mùa", "facets": "1", "sort": "newest"}, {"query": "mùa", "facets": True, "sort": "newest"}),
        (
            {"source": ["báo mẫu", "nhandan"], "since": "01/2020"},
            {"source": ["báo mẫu", "nhandan"], "since": "01/2020"},
        ),
        ({"q": "*", "until": "31/12/2025"}, {"query": "*", "until": "31/12/2025"}),
        ({}, {}),
    ],
)
def test_search_answers_what_the_api_returns(
    server: Server, index: clipsearch.Index, params: dict[str, Any], call: dict[str, Any]
) -> None:
    status, headers, data = server.get(_url("/api/search", **params))
    assert status == 200
    assert {k: headers[k] for k in SECURITY_HEADERS} == SECURITY_HEADERS
    assert data == _json(index.query(**call).to_dict())


def test_search_pages_with_offset(server: Server, index: clipsearch.Index) -> None:
    whole = _json(index.query("*", limit=5).to_dict())
    assert len(whole["hits"]) >= 4
    status, _, data = server.get(_url("/api/search", q="*", limit=2, offset=2))
    assert status == 200
    assert data["total"] == whole["total"]
    assert data["hits"] == whole["hits"][2:4]


def test_clipping_similar_stats_and_health(server: Server, index: clipsearch.Index) -> None:
    assert server.get(f"/api/clippings/{SEED_ID}")[2] == _json(index.show(SEED_ID).to_dict())
    marked = server.get(_url(f"/api/clippings/{SEED_ID}", q="cấp ủy"))[2]
    assert marked == _json(index.show(SEED_ID, query="cấp ủy").to_dict())
    assert any(marked["highlights"].values())
    assert server.get(f"/api/clippings/{SEED_ID}/similar?limit=3")[2] == _json(
        index.similar(SEED_ID, limit=3).to_dict()
    )
    assert server.get("/api/stats")[2] == _json(index.stats().to_dict())
    status, _, health = server.get("/healthz")
    assert (status, health) == (200, {"status": "ok", "clippings": len(index)})


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/search?q=mùa&since=32/13/2026", 400),
        ("/api/search?q=", 400),
        ("/api/search?q=NOT", 400),
        ("/api/search?q=mùa&limit=0", 400),
        ("/api/search?q=mùa&limit=101", 400),
        ("/api/search?q=mùa&limit=ten", 400),
        ("/api/search?q=mùa&offset=1001", 400),
        ("/api/search?q=mùa&sort=random", 400),
        ("/api/search?q=mùa&facets=maybe", 400),
        ("/api/search?q=" + "a" * 2001, 400),
        ("/api/clippings/no_such_clipping", 404),
        ("/api/clippings/no_such_clipping/similar", 404),
        ("/api/clippings/..%2F..%2Fetc%2Fpasswd", 404),
        ("/api/clippings/..%2F..%2Fetc%2Fpasswd/similar", 404),
        ("/api/..%2F..%2Fetc%2Fpasswd", 404),
        ("/api/static/style.css", 404),
        ("/api", 404),
    ],
)
def test_errors_are_json_with_their_status(server: Server, path: str, status: int) -> None:
    got, headers, data = server.get(urllib.parse.quote(path, safe="/?=&%"))
    assert got == status
    assert {k: headers[k] for k in SECURITY_HEADERS} == SECURITY_HEADERS
    assert list(data) == ["error"]
    assert "\n" not in data["error"] and "Traceback" not in data["error"] and "Error:" not in data["error"]


def test_an_error_says_what_the_cli_says(server: Server, index: clipsearch.Index) -> None:
    with pytest.raises(clipsearch.QueryError) as raised:
        index.query("mùa", since="32/13/2026")
    assert server.get(_url("/api/search", q="mùa", since="32/13/2026"))[2] == {"error": str(raised.value)}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(server: Server, method: str) -> None:
    request = urllib.request.Request(server.base + "/api/search?q=mùa".replace("ù", "%C3%B9"), method=method)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 405
    assert raised.value.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/api/search?q=mua", "/healthz", "/api/stats", f"/api/clippings/{SEED_ID}"])
def test_head_answers_as_get_without_a_body(server: Server, path: str) -> None:
    status, headers, body = server.fetch(path, "HEAD")
    got_status, got_headers, got_body = server.fetch(path)
    assert (status, body) == (got_status, b"")
    assert headers["Content-Type"] == got_headers["Content-Type"]
    assert int(headers["Content-Length"]) == len(got_body)


def test_no_index_is_503_until_one_is_built(tmp_path: Path, corpus_dir: Path) -> None:
    missing = tmp_path / "not-yet"
    with running(missing, tmp_path / "server.log") as server:
        for path in ("/healthz", "/api/search?q=mua", "/api/stats", f"/api/clippings/{SEED_ID}"):
            status, headers, data = server.get(path)
            assert status == 503, path
            assert "no clipsearch index" in data["error"]
            assert headers["Content-Type"] == SECURITY_HEADERS["Content-Type"]
        clipsearch.build_index([corpus_dir], missing)
        status, _, data = server.get("/healthz")
        assert status == 200
        assert data["clippings"] >= 2


def test_a_clipping_indexed_while_serving_is_found(index_dir: Path, tmp_path: Path) -> None:
    live = tmp_path / "index"
    shutil.copytree(index_dir, live)
    with running(live, tmp_path / "server.log") as server:
        assert server.get("/api/search?q=ky%20lan%20xanh")[2]["total"] == 0
        before = server.get("/healthz")[2]["clippings"]
        folder = tmp_path / "new"
        folder.mkdir()
        write_clipping(folder, "unicorn", "Kỳ lân xanh xuất hiện", "Người dân thấy kỳ lân xanh.", ["Chuyện lạ."])
        done = subprocess.run(
            [sys.executable, "-m", "clipsearch", "index", str(folder), "--index-dir", str(live), "--quiet"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        data = server.get("/api/search?q=ky%20lan%20xanh")[2]
        assert data["total"] == 1
        assert data["hits"][0]["id"] == "unicorn"
        assert server.get("/healthz")[2]["clippings"] == before + 1
        assert server.get("/api/clippings/unicorn")[0] == 200


def test_concurrent_requests_get_the_same_answers(server: Server) -> None:
    paths = [
        "/api/search?q=mua&facets=1",
        "/api/search?q=van%20phong%20cap%20uy",
        f"/api/clippings/{SEED_ID}?q=c%E1%BA%A5p",
        "/api/stats",
        "/healthz",
    ]
    expected = {path: server.get(path) for path in paths}

    def worker(n: int) -> list[bool]:
        results = []
        for i in range(25):
            path = paths[(n + i) % len(paths)]
            status, _, data = server.get(path)
            results.append(status == 200 and data == expected[path][2])
        return results

    with ThreadPoolExecutor(8) as pool:
        outcomes = [ok for batch in pool.map(worker, range(8)) for ok in batch]
    assert len(outcomes) == 200
    assert all(outcomes)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_it_cleanly(index_dir: Path, tmp_path: Path, sig: signal.Signals) -> None:
    log = tmp_path / "server.log"
    with running(index_dir, log) as server:
        assert server.get("/healthz")[0] == 200
        server.process.send_signal(sig)
        assert server.process.wait(10) == 0
    output = log.read_text()
    assert f"Serving {index_dir} at {server.base}/ (Ctrl-C stops)" in output
    assert "Traceback" not in output


def test_without_the_serve_extra_it_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['uvicorn'] = None  # as if not installed\n"
        "sys.argv = ['clipsearch', 'serve', '--index-dir', sys.argv[1]]\n"
        "from clipsearch.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == 'Error: clipsearch serve needs the serve extra: pip install "clipsearch[serve]"'
