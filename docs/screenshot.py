"""Make ``docs/screenshot.png``: the results page of ``clipsearch serve`` in
Debian's chromium (Playwright), for a query typed without diacritics.

    python docs/screenshot.py [--out docs/screenshot.png]

The archive it shows is written here, clipping by clipping (the project never
commits the text of the shared corpus, not even as an image): a year of news
on petrol prices from four sources, some stories reprinted by another source.
"""

from __future__ import annotations

import argparse
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import clipsearch

SOURCES = ("Báo Mẫu", "Nhân Dân", "Tuổi Trẻ", "Thanh Niên")
STORIES = [
    (
        "Giá xăng giảm lần thứ ba liên tiếp",
        "Từ 15 giờ chiều nay, giá xăng E5 RON92 giảm {n} đồng mỗi lít.",
    ),
    (
        "Giá xăng tăng nhẹ từ chiều nay",
        "Liên Bộ Công Thương - Tài chính điều chỉnh giá xăng dầu, xăng RON95 tăng {n} đồng.",
    ),
    (
        "Xăng RON95 vượt mốc 25.000 đồng mỗi lít",
        "Lần đầu tiên trong năm, giá xăng RON95 vượt mốc 25.000 đồng.",
    ),
    (
        "Doanh nghiệp vận tải lo chi phí khi giá xăng dầu biến động",
        "Giá xăng dầu tăng giảm thất thường khiến nhiều hãng xe khó tính giá cước.",
    ),
    (
        "Quỹ bình ổn giá xăng dầu còn bao nhiêu?",
        "Bộ Tài chính công bố số dư Quỹ bình ổn giá xăng dầu đến cuối quý.",
    ),
    (
        "Người dân xếp hàng đổ xăng trước giờ tăng giá",
        "Nhiều cây xăng ở Hà Nội đông khách từ sáng, trước kỳ điều chỉnh giá xăng.",
    ),
    (
        "Giá dầu thế giới kéo giá xăng trong nước đi xuống",
        "Giá dầu Brent giảm mạnh trong tuần, giá xăng trong nước giảm {n} đồng.",
    ),
    (
        "Cửa hàng xăng dầu phải xuất hóa đơn điện tử cho từng lần bán",
        "Từ tháng này, mỗi lần bán xăng đều phải có hóa đơn điện tử.",
    ),
]
BODY = [
    "Đại diện một doanh nghiệp đầu mối cho biết giá xăng bán lẻ sẽ còn điều chỉnh theo giá thế giới, dù mức tăng "
    "giảm mỗi kỳ không lớn. Người dân vẫn theo dõi sát từng kỳ điều hành.",
    "Tại các cửa hàng bán lẻ ở TP.HCM, lượng khách mua xăng không thay đổi nhiều sau kỳ điều chỉnh; nhiều tài xế "
    "công nghệ nói chi phí xăng chiếm gần một phần ba thu nhập mỗi ngày.",
    "Theo thông báo của liên Bộ, giá bán lẻ xăng E5 RON92 không cao hơn {a}.{b:03d} đồng mỗi lít; xăng RON95 không "
    "cao hơn {c}.{b:03d} đồng mỗi lít. Giá dầu diesel và dầu hỏa được giữ nguyên so với kỳ trước.",
    "Kỳ điều chỉnh này, liên Bộ không trích lập và không chi sử dụng Quỹ bình ổn giá xăng dầu. Các doanh nghiệp đầu "
    "mối được yêu cầu bảo đảm nguồn cung, không để gián đoạn bán hàng tại các cửa hàng bán lẻ.",
    "Một số chuyên gia cho rằng giá xăng dầu trong nước sẽ còn biến động theo giá thế giới trong những tuần tới.",
]


def write_archive(folder: Path, rng: random.Random) -> None:
    folder.mkdir(parents=True)
    for n in range(60):
        title, lead = STORIES[n % len(STORIES)]
        month, day = 1 + n % 12, 1 + (n * 7) % 28
        price = rng.randrange(100, 900, 10)
        body = [BODY[n % len(BODY)].format(a=20 + n % 4, b=price, c=22 + n % 4)]
        text = [f"{day}/{month}/2026", f"{title} (kỳ {n + 1})", lead.format(n=price), *body]
        copies = 2 if n % 5 == 0 else 1  # a reprint by another source
        for copy in range(copies):
            source = SOURCES[(n + copy) % len(SOURCES)]
            (folder / f"xang_{n:02d}_{copy}.txt").write_text("\n\n".join([*text, f"Theo {source}"]) + "\n", "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("screenshot.png"))
    parser.add_argument("--query", default="gia xang")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        write_archive(Path(tmp) / "clippings", random.Random(3))
        clipsearch.build_index([Path(tmp) / "clippings"], Path(tmp) / "index")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cli = Path(sys.executable).with_name("clipsearch")
        server = subprocess.Popen([str(cli), "serve", "--index-dir", str(Path(tmp) / "index"), "--port", str(port)])
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except OSError:
                    time.sleep(0.05)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
                page = browser.new_page(viewport={"width": 1200, "height": 820}, locale="vi-VN")
                page.goto(f"http://127.0.0.1:{port}/?" + urllib.parse.urlencode({"q": args.query}))
                page.evaluate("document.querySelector('details.reprints').open = true")
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
