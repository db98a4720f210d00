"""``clipsearch serve`` when the index or a worker fails under it: the damage
is a 503 that names it, the server stays up, a dead worker is replaced."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
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
    assert f"worker {victim} died (exit -9); starting another" in (tmp_path / "server.log").read_text()


def test_workers_die_with_a_killed_supervisor_and_free_the_port(index_dir: Path, tmp_path: Path) -> None:
    with running(index_dir, tmp_path / "server.log", workers=2) as server:
        _until(lambda: len(_workers(server)) == 2)
        workers = _workers(server)
        port = int(server.base.rsplit(":", 1)[1])
        server.process.kill()
        server.process.wait(10)
        _until(lambda: not any(_alive(pid) for pid in workers))
        with socket.socket() as sock:  # the port is free again
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"
    except FileNotFoundError:
        return False


def test_a_port_in_use_is_a_one_line_error(index_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "clipsearch", "serve", "--index-dir", str(index_dir), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_port_0_prints_the_port_it_got(index_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        command = ["serve", "--index-dir", str(index_dir), "--port", "0", "--workers", "1"]
        process = subprocess.Popen(
            [sys.executable, "-m", "clipsearch", *command],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _until(lambda: "Serving" in log.read_text())
            line = log.read_text().splitlines()[0]
            port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
            assert port > 0
            server = Server(process, f"http://127.0.0.1:{port}", log)
            _until(lambda: _answers(server))
        finally:
            process.terminate()
            process.wait(20)


def _answers(server: Server) -> bool:
    try:
        return server.get("/healthz")[0] == 200
    except OSError:
        return False


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
