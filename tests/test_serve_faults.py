"""``clipsearch serve`` when the index or a worker fails under it: the damage
is a 503 that names it, the server stays up, a dead worker is replaced."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

import clipsearch
from clipsearch.schema import GROUPS_FILE

from .conftest import SEED_ID
from .servers import Server, running


def _copy(index_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    return copy


def _workers(server: Server) -> set[int]:
    """The worker processes of the server (its other child is multiprocessing's resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(server.process.pid), "-f", "spawn_main"], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def _until(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_segment_cut_short_while_serving_is_a_503_and_the_server_stays_up(index_dir: Path, tmp_path: Path) -> None:
    live = _copy(index_dir, tmp_path)
    with running(live, tmp_path / "server.log", workers=1) as server:
        for _ in range(4):  # every worker has the files mapped
            assert server.get("/api/search?q=mua")[0] == 200
        segment = max(live.glob("*.seg"), key=lambda p: p.stat().st_size)
        with open(segment, "r+b") as file:
            file.truncate(segment.stat().st_size // 2)
        before = _workers(server)
        for path in ("/api/search?q=mua", "/api/search?q=van%20phong", f"/api/clippings/{SEED_ID}", "/healthz"):
            status, _, data = server.get(path)
            assert status == 503, (path, data)
            assert "damaged" in data["error"] and segment.name in data["error"]
        assert server.process.poll() is None
        assert _workers(server) == before  # no worker died
        status, _, html = server.page("/?q=mua")
        assert status == 503 and segment.name in html
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_health_says_what_searches_need(index_dir: Path, tmp_path: Path) -> None:
    live = _copy(index_dir, tmp_path)
    with running(live, tmp_path / "server.log", workers=1) as server:
        assert server.get("/healthz")[0] == 200
        (live / GROUPS_FILE).write_text("{not json", encoding="utf-8")
        search = server.get("/api/search?q=mua")
        health = server.get("/healthz")
        assert search[0] == health[0] == 503
        assert health[2]["error"] == search[2]["error"]


def test_a_killed_worker_is_replaced(index_dir: Path, tmp_path: Path) -> None:
    with running(index_dir, tmp_path / "server.log", workers=2) as server:
        _until(lambda: len(_workers(server)) == 2)
        first = _workers(server)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        for _ in range(20):  # the other worker answers meanwhile
            assert server.get("/api/search?q=mua")[0] == 200
        _until(lambda: len(_workers(server)) == 2 and victim not in _workers(server))
        for _ in range(20):
            assert server.get("/api/search?q=mua")[0] == 200
        assert server.process.poll() is None


def test_a_file_name_that_is_not_utf8_shows_on_its_page(tmp_path: Path) -> None:
    folder = tmp_path / "clippings"
    folder.mkdir()
    name = b"bad\xff\xfename.txt"
    (folder / os.fsdecode(name)).write_text("2/3/2026\n\nTên tệp lạ\n\nĐoạn dẫn.\n\nThân bài.\n", encoding="utf-8")
    clipsearch.build_index([folder], tmp_path / "index")
    with clipsearch.open_index(tmp_path / "index") as index:
        (hit,) = index.search("ten tep la")
    with running(tmp_path / "index", tmp_path / "server.log", workers=1) as server:
        status, _, html = server.page("/clippings/" + urllib.parse.quote(hit.id, safe=""))
        assert status == 200
        assert "Tên tệp lạ" in html
        assert "bad\ufffd\ufffdname.txt" in html  # the undecodable bytes as U+FFFD
    assert "Traceback" not in (tmp_path / "server.log").read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_whole_process_group_interrupted_stops_cleanly(
    index_dir: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    # Ctrl-C in a terminal signals the supervisor and its workers at once.
    log = tmp_path / "server.log"
    with running(index_dir, log, workers=2) as server:
        _until(lambda: len(_workers(server)) == 2)
        for pid in (server.process.pid, *_workers(server)):
            os.kill(pid, sig)
        assert server.process.wait(20) == 0
    assert "Traceback" not in log.read_text()
