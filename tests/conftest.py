"""Shared fixtures: a small corpus of clippings written for the tests (plus
the bundled seed), indexed once per session into a real Whoosh index."""

from __future__ import annotations

import random
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import clipsearch

if TYPE_CHECKING:
    from .servers import Server

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "000_3c8457e68fc84bd7.txt"
SEED_ID = "000_3c8457e68fc84bd7"


def write_clipping(
    folder: Path,
    name: str,
    title: str,
    lead: str,
    body: list[str],
    *,
    date_line: str = "Thứ hai,  02/03/2026",
    source: str | None = "Theo Báo Mẫu",
    encoding: str = "utf-8",
    nfd: bool = False,
) -> Path:
    """Write a clipping file in the project's format and return its path."""
    parts = [date_line, title, lead, *body]
    if source:
        parts.append(source)
    text = "\n\n".join(parts) + "\n"
    if nfd:
        text = unicodedata.normalize("NFD", text)
    path = folder / f"{name}.txt"
    path.write_bytes(text.encode(encoding))
    return path


# Clippings written for the tests. Each pins one behaviour:
FIXTURES: dict[str, dict[str, object]] = {
    # old-style tone placement only ("hoà bình")
    "peace_old": {
        "title": "Người dân mong hoà bình lâu dài ở biên giới",
        "lead": "Các xã vùng biên tổ chức ngày hội hoà bình.",
        "body": ["Ngày hội hoà bình thu hút hàng nghìn người dân tham gia."],
    },
    # ambiguous folded forms: mùa / múa / mua
    "season": {
        "title": "Mùa lúa chín trên cánh đồng",
        "lead": "Nông dân vào mùa gặt sớm.",
        "body": ["Mùa này năng suất cao hơn năm trước."],
    },
    "dance": {
        "title": "Đội múa lân của phường",
        "lead": "Các em thiếu nhi tập múa lân mỗi tối.",
        "body": ["Tiết mục múa được khán giả yêu thích."],
    },
    "buy": {
        "title": "Người dân mua sắm dịp cuối năm",
        "lead": "Siêu thị đông khách mua hàng.",
        "body": ["Nhiều gia đình mua bánh kẹo và hoa."],
    },
    # decomposed (NFD) text, written in capitals in the title
    "nfd_doc": {
        "title": "ĐỔI MỚI CÔNG TÁC THANH TRA",
        "lead": "Thanh tra tỉnh tổng kết năm công tác.",
        "body": ["Đoàn thanh tra làm việc tại huyện Đông Anh."],
        "nfd": True,
    },
    # the syllables "cấp" and "ủy" far apart, not as a word
    "scattered": {
        "title": "Tin ngắn trong tuần",
        "lead": "Văn bản được gửi tới các phòng ban.",
        "body": ["Công tác cấp phát thẻ diễn ra nhanh; hồ sơ được ủy quyền cho phường xử lý."],
    },
}


def write_sentence_clippings(folder: Path, count: int, seed: int = 7, prefix: str = "c") -> list[Path]:
    """``count`` clippings made of the seed's sentences, shuffled (so that
    common words are in many of them, in several posting blocks)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    text = SEED.read_text(encoding="utf-8")
    sentences = [s.strip() for s in text.replace("\n", " ").split(".") if len(s.split()) > 3]
    paths = []
    for i in range(count):
        body = [". ".join(rng.sample(sentences, 3)) + "." for _ in range(rng.randint(1, 3))]
        title = " ".join(rng.sample(sentences, 1)[0].split()[:8])
        paths.append(write_clipping(folder, f"{prefix}{i:03d}", title, rng.choice(sentences) + ".", body))
    return paths


def write_fixture_corpus(folder: Path) -> dict[str, Path]:
    """Write the fixture clippings and the seed into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {SEED_ID: folder / SEED.name}
    shutil.copyfile(SEED, paths[SEED_ID])
    for name, spec in FIXTURES.items():
        paths[name] = write_clipping(
            folder,
            name,
            str(spec["title"]),
            str(spec["lead"]),
            list(spec["body"]),  # type: ignore[call-overload]
            nfd=bool(spec.get("nfd", False)),
        )
    return paths


@pytest.fixture(scope="session", autouse=True)
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """pyvi's parsed model is cached in the test session's own folder, not
    in the user's home (child processes inherit it)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_fixture_corpus(folder)
    return folder


@pytest.fixture(scope="session")
def index_dir(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("index") / "index"
    report = clipsearch.build_index([corpus_dir], folder)
    assert not report.skipped, report.skipped
    return folder


@pytest.fixture(scope="session")
def index(index_dir: Path) -> Iterator[clipsearch.Index]:
    with clipsearch.open_index(index_dir) as ix:
        yield ix


@pytest.fixture(scope="session")
def three_run_index(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index built by three runs: at least two segments, the last run
    replacing a clipping (a deletion) and adding one without a source."""
    folder = tmp_path_factory.mktemp("three-runs") / "clippings"
    shutil.copytree(corpus_dir, folder)
    index_dir = folder.parent / "index"
    clipsearch.build_index([folder], index_dir)
    write_clipping(folder, "extra_1.txt", "Thêm một", "Tin thêm một.", ["Đoạn một, hòa bình."], source="Theo Báo A")
    clipsearch.build_index([folder], index_dir)
    write_clipping(folder, "extra_1.txt", "Thêm hai", "Tin thêm hai.", ["Đoạn hai."], source=None)
    write_clipping(folder, "extra_2.txt", "Thêm ba", "Tin thêm ba.", ["Đoạn ba."], date_line="3/8/2014")
    clipsearch.build_index([folder], index_dir)
    return index_dir


@pytest.fixture(scope="session")
def web_index_dir(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus and :func:`tests.servers.write_web_corpus`'s clippings, indexed."""
    from .servers import write_web_corpus

    folder = tmp_path_factory.mktemp("web") / "clippings"
    shutil.copytree(corpus_dir, folder)
    write_web_corpus(folder)
    index_dir = folder.parent / "index"
    report = clipsearch.build_index([folder], index_dir)
    assert not report.skipped, report.skipped
    return index_dir


@pytest.fixture(scope="session")
def web_index(web_index_dir: Path) -> Iterator[clipsearch.Index]:
    with clipsearch.open_index(web_index_dir) as index:
        yield index


@pytest.fixture(scope="session")
def site(web_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``clipsearch serve`` on :func:`web_index_dir`, for the page and browser tests."""
    from .servers import running

    with running(web_index_dir, tmp_path_factory.mktemp("site") / "server.log") as up:
        yield up
