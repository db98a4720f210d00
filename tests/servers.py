"""The real ``clipsearch serve`` in a subprocess on a free port, for the tests
that speak HTTP to it (``test_serve``, ``test_serve_pages``, ``test_browser``)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from email.message import Message
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[bytes], base: str, log: Path) -> None:
        self.process = process
        self.base = base
        self.log = log

    def fetch(self, path: str, method: str = "GET") -> tuple[int, Message, bytes]:
        """Status, headers and body of ``path`` (already quoted)."""
        request = urllib.request.Request(self.base + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def get(self, path: str, method: str = "GET") -> tuple[int, Message, Any]:
        """Status, headers and the JSON body of ``path``."""
        status, headers, body = self.fetch(path, method)
        return status, headers, json.loads(body.decode("utf-8"))

    def page(self, path: str) -> tuple[int, Message, str]:
        """Status, headers and the HTML of ``path``."""
        status, headers, body = self.fetch(path)
        return status, headers, body.decode("utf-8")


@contextlib.contextmanager
def running(
    index_dir: Path | None, log: Path, workers: int = 2, archive: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[Server]:
    """The real server (``workers`` processes) on a free port, up (it answers
    /healthz, with any status); stopped after. It serves ``index_dir``, or the
    archive the options ``archive`` name (``--typesense URL ...``)."""
    port = _free_port()
    where = ["--index-dir", str(index_dir)] if index_dir is not None else list(archive)
    command = ["serve", *where, "--port", str(port), "--workers", str(workers)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "clipsearch", *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            server = Server(process, f"http://127.0.0.1:{port}", log)
            deadline = time.monotonic() + 20
            while True:
                assert process.poll() is None, log.read_text(errors="replace")
                try:
                    server.get("/healthz")
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.05)
            yield server
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


#: The web corpus: a story about petrol prices told each month by three sources, for
#: pages of results, source counts and the month histogram.
PETROL_SOURCES = ("Báo Mẫu", "Nhân Dân", "Tuổi Trẻ")
PETROL_COUNT = 24
REPRINT_ID = "reprint_of_seed"
XSS_ID = "xss_attempt"
#: What the XSS clipping would run, were it not escaped: each calls alert().
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)><svg onload=alert(2)>'
#: A source name (capitalised words, no brackets) that is markup too.
XSS_SOURCE = "Báo<Img Src=X Onerror=alert`5`>Độc"


def write_web_corpus(folder: Path) -> None:
    """The fixture corpus (seed and fixtures, already in ``folder``) plus a
    reprint of the seed from another source, :data:`PETROL_COUNT` clippings
    on petrol prices over six months of 2026, and a clipping whose title,
    lead, body and source are markup that would run a script."""
    from .conftest import SEED, write_clipping

    seed_text = SEED.read_text(encoding="utf-8").split("\n\n")
    body = [p.replace("Hồng Anh", "Trương Tấn Sang") for p in seed_text[3:-1] if p.strip()]
    write_clipping(
        folder,
        REPRINT_ID,
        "Hội nghị văn phòng cấp ủy toàn quốc bế mạc",
        body[0],
        body[1:],
        date_line="Thứ bảy,  01/04/2023",
        source="Theo Nhân Dân",
    )
    for n in range(PETROL_COUNT):
        month, source = 1 + n % 6, PETROL_SOURCES[n % 3]
        write_clipping(
            folder,
            f"petrol_{n:02d}",
            f"Giá xăng kỳ điều chỉnh thứ {n + 1} của năm",
            f"Liên Bộ Công Thương - Tài chính điều chỉnh giá xăng dầu lần {n + 1}, áp dụng từ 15 giờ.",
            [f"Giá xăng E5 RON92 thay đổi {n * 37 % 500} đồng mỗi lít so với kỳ trước; dầu diesel giữ nguyên."],
            date_line=f"{1 + n % 28}/{month}/2026",
            source=f"Theo {source}",
        )
    write_clipping(
        folder,
        XSS_ID,
        f"Cảnh báo mã độc {XSS}",
        f"Đoạn dẫn có mã độc {XSS} trong bài.",
        [f"Thân bài cũng có mã độc {XSS} và <a href='javascript:alert(3)'>liên kết</a>."],
        date_line="10/02/2026",
        source=f"Theo {XSS_SOURCE}",
    )
