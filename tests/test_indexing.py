"""Indexing real files on disk: bad files of every kind, incremental runs,
a killed indexer, searching while indexing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

import clipsearch
from clipsearch.clipping import MAX_FILE_BYTES

from .conftest import write_clipping

WORDS = [
    "người",
    "dân",
    "thành",
    "phố",
    "hội",
    "nghị",
    "văn",
    "phòng",
    "kinh",
    "tế",
    "xã",
    "hội",
    "giáo",
    "dục",
    "bóng",
    "đá",
    "thời",
    "tiết",
    "mưa",
    "bão",
    "giá",
    "xăng",
]


def generated(folder: Path, count: int, start: int = 0) -> list[Path]:
    """``count`` small clippings made from a fixed vocabulary."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(60)]
        paths.append(
            write_clipping(
                folder,
                f"gen{i:05d}",
                f"Tin số {i} {words[0]} {words[1]}",
                " ".join(words[:20]) + ".",
                [" ".join(words[20:]) + ".", f"Mã tin {i}."],
            )
        )
    return paths


def reasons(report: clipsearch.IndexReport) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in report.skipped}


# ---------------------------------------------------------------------------
# Bad files: reported with path and reason, or indexed where they can be


def test_every_kind_of_bad_file(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_clipping(docs, "good", "Tin tốt lành", "Dẫn.", ["Thân bài."])
    (docs / "empty.txt").write_bytes(b"")
    (docs / "blank.txt").write_bytes(b" \n\t\r\n \n")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (docs / "controls.txt").write_bytes(b"\x01\x02\x03\x04\x05\x06\x07\x08" * 10)
    (docs / "latin1.txt").write_bytes("Café crème brûlée\n\nà la carte".encode("latin-1"))
    (docs / "huge.txt").write_bytes(b"Tin dai\n\n" + b"x" * (MAX_FILE_BYTES + 10))
    (docs / "loop.txt").symlink_to(docs / "loop.txt")
    (docs / "dangling.txt").symlink_to(docs / "nowhere.txt")
    (docs / "eio.txt").symlink_to("/proc/self/mem")  # exists, but read() fails: EIO
    (docs / "dir.txt").mkdir()  # a folder named like a clipping is walked, not read
    (docs / "sub").mkdir()
    (docs / "sub" / "back").symlink_to(docs)  # a folder loop is not followed

    report = clipsearch.build_index([docs], tmp_path / "ix")
    why = reasons(report)
    assert why == {
        "empty.txt": "empty file",
        "blank.txt": "empty file",
        "binary.txt": "binary file (contains NUL bytes)",
        "controls.txt": "binary file (control characters)",
        "huge.txt": "file too large (10.0 MB; a clipping may have 10 MB)",
        "loop.txt": "Too many levels of symbolic links",
        "dangling.txt": "No such file or directory",
        "eio.txt": "Input/output error",
    }
    assert sorted(Path(p).name for p in report.added) == ["good.txt", "latin1.txt"]
    assert report.total == 2


def test_bad_files_duplicate_ids_and_missing_paths(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_clipping(docs, "good", "Tin tốt", "Dẫn.", ["Thân bài."])
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02garbage")
    sub = docs / "sub"
    sub.mkdir()
    write_clipping(sub, "good", "Trùng mã", "Dẫn.", ["Thân bài."])  # same id as docs/good.txt
    (docs / "notes.md").write_text("not a clipping")
    report = clipsearch.build_index([docs, tmp_path / "missing.txt"], tmp_path / "ix")
    reasons = {Path(s.path).name + ("@sub" if "sub" in s.path else ""): s.reason for s in report.skipped}
    assert reasons["empty.txt"] == "empty file"
    assert "NUL" in reasons["binary.txt"]
    assert "duplicate id" in reasons["good.txt@sub"]
    assert reasons["missing.txt"] == "no such file or folder"
    assert report.added == [str(docs / "good.txt")]
    assert report.total == 1


def test_encodings_and_odd_text_are_indexed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "Thứ hai, 02/03/2026\n\nHòa bình ở Thủy Nguyên\n\nDẫn tin.\n\nThân bài về văn phòng cấp ủy.\n"
    (docs / "utf16.txt").write_bytes(text.encode("utf-16"))
    (docs / "utf8bom.txt").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    (docs / "nfd.txt").write_bytes(unicodedata.normalize("NFD", text).encode())
    broken = text.encode().replace("Dẫn".encode(), b"D\xed\xa0\x80n")  # an encoded lone surrogate
    (docs / "surrogate.txt").write_bytes(broken)
    (docs / "zero_width.txt").write_bytes(text.replace("văn", "v\u200bă\u00adn").replace("ủy", "ủ\x07y").encode())
    report = clipsearch.build_index([docs], tmp_path / "ix")
    assert report.skipped == []
    at = broken.index(b"\xed")
    assert [w.reason for w in report.warnings] == [f"3 invalid UTF-8 byte sequence(s) replaced (first at byte {at})"]
    with clipsearch.open_index(tmp_path / "ix") as ix:
        every = {"utf16", "utf8bom", "nfd", "surrogate", "zero_width"}
        assert {h.id for h in ix.search("văn phòng cấp ủy", collapse=False)} == every
        assert {h.id for h in ix.search("hoà bình thuỷ nguyên", collapse=False)} == every


def test_windows_1258_file(tmp_path: Path) -> None:
    # Windows-1258 keeps tone marks as combining characters: encode NFD text
    # whose base letters (ư, ơ, â, ê, ô, ă, đ) are recomposed.
    text = "Không rõ ngày\n\nNgười dân Thủ đô đón Tết\n\nDẫn tin ngắn.\n"
    decomposed = unicodedata.normalize("NFD", text)
    bases = {unicodedata.normalize("NFD", c): c for c in "ưƯơƠâÂêÊôÔăĂ"}
    for nfd, composed in bases.items():
        decomposed = decomposed.replace(nfd, composed)
    (tmp_path / "cp1258.txt").write_bytes(decomposed.encode("cp1258"))
    report = clipsearch.build_index([tmp_path / "cp1258.txt"], tmp_path / "ix")
    assert [w.reason for w in report.warnings] == ["decoded as Windows-1258"]
    with clipsearch.open_index(tmp_path / "ix") as ix:
        hit = ix.search("người dân thủ đô")[0]
        assert hit.title == "Người dân Thủ đô đón Tết"


def test_hundred_thousand_one_line_paragraphs(tmp_path: Path) -> None:
    lines = "\n\n".join(f"Dòng {i % 1000} mưa" for i in range(100_000))
    (tmp_path / "many.txt").write_text(f"Không rõ ngày\n\nRất nhiều đoạn\n\n{lines}\n", encoding="utf-8")
    write_clipping(tmp_path, "small", "Tin nhỏ", "Dẫn.", ["Thân."])
    report = clipsearch.build_index([tmp_path], tmp_path / "ix")
    assert report.skipped == [] and report.total == 2
    with clipsearch.open_index(tmp_path / "ix") as ix:
        assert [h.id for h in ix.search('"dòng 999 mưa"')] == ["many"]


def test_unreadable_file(tmp_path: Path) -> None:
    """chmod 000 stops everyone but root; as root, the indexer runs without
    the capabilities that let root read anything (setpriv, util-linux)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    write_clipping(docs, "good", "Tin tốt", "Dẫn.", ["Thân."])
    secret = write_clipping(docs, "secret", "Tin mật", "Dẫn.", ["Thân."])
    secret.chmod(0)
    code = (
        "import sys, clipsearch; r = clipsearch.build_index([sys.argv[1]], sys.argv[2]);"
        "print(r.total); print(*(f'{s.path}|{s.reason}' for s in r.skipped), sep='\\n')"
    )
    command = [sys.executable, "-c", code, str(docs), str(tmp_path / "ix")]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: root reads any file")
        command = [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["1", f"{secret}|Permission denied"]


# ---------------------------------------------------------------------------
# Incremental runs


def test_add_change_delete_rename(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    generated(docs, 5)
    first = clipsearch.build_index([docs], tmp_path / "ix")
    assert (len(first.added), first.total) == (5, 5)

    generated(docs, 2, start=5)  # two new
    write_clipping(docs, "gen00001", "Tin số 1 đã sửa", "Dẫn mới.", ["Thân mới."])  # changed
    (docs / "gen00002.txt").unlink()  # deleted
    (docs / "gen00003.txt").rename(docs / "renamed.txt")  # renamed: a new id
    (docs / "moved").mkdir()
    (docs / "gen00004.txt").rename(docs / "moved" / "gen00004.txt")  # moved: same id
    second = clipsearch.build_index([docs], tmp_path / "ix")
    names = lambda paths: sorted(Path(p).name for p in paths)  # noqa: E731
    assert names(second.added) == ["gen00005.txt", "gen00006.txt", "renamed.txt"]
    assert names(second.updated) == ["gen00001.txt", "gen00004.txt"]
    assert names(second.removed) == ["gen00002.txt", "gen00003.txt"]
    assert names(second.unchanged) == ["gen00000.txt"]
    assert second.total == 6
    with clipsearch.open_index(tmp_path / "ix") as ix:
        assert [h.id for h in ix.search("đã sửa")] == ["gen00001"]
        assert ix.search("title:tin số 2") == []
        moved = [h for h in ix.search("title:tin số 4") if h.id == "gen00004"]
        assert moved and moved[0].path == str(docs / "moved" / "gen00004.txt")

    third = clipsearch.build_index([docs], tmp_path / "ix")
    assert (third.added, third.updated, third.removed, len(third.unchanged)) == ([], [], [], 6)


def test_common_syllables_are_counted_when_the_index_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clipsearch.writing.build
    from clipsearch.writing.build import open_whoosh_index

    monkeypatch.setattr(clipsearch.writing.build, "COMMON_SYLLABLES", 2)
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(4):
        write_clipping(docs, f"c{n}", f"Bão số {n}", "Miền Trung.", ["Bão vào miền Trung."])
    (docs / "broken.txt").write_bytes(b"")  # not a clipping: left out of the count too
    report = clipsearch.build_index([docs], tmp_path / "ix")
    assert [Path(s.path).name for s in report.skipped] == ["broken.txt"]
    assert open_whoosh_index(tmp_path / "ix").schema["pairs"].analyzer.common == {"bao", "mien"}

    for n in range(4, 10):  # another run adds other words: the index keeps its pairs
        write_clipping(docs, f"c{n}", "Lũ lụt", "Lũ.", ["Lũ lụt ở miền núi."])
    clipsearch.build_index([docs], tmp_path / "ix")
    assert open_whoosh_index(tmp_path / "ix").schema["pairs"].analyzer.common == {"bao", "mien"}
    clipsearch.build_index([docs], tmp_path / "ix", rebuild=True)
    assert open_whoosh_index(tmp_path / "ix").schema["pairs"].analyzer.common == {"lu", "mien"}


def test_other_folders_are_left_alone(tmp_path: Path) -> None:
    generated(tmp_path / "a", 2)
    generated(tmp_path / "b", 2, start=10)
    clipsearch.build_index([tmp_path / "a"], tmp_path / "ix")
    report = clipsearch.build_index([tmp_path / "b"], tmp_path / "ix")
    assert report.removed == [] and report.total == 4


def test_same_id_in_another_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_clipping(tmp_path / "a", "same", "Tin A", "Dẫn.", ["Thân."])
    write_clipping(tmp_path / "b", "same", "Tin B", "Dẫn.", ["Thân."])
    clipsearch.build_index([tmp_path / "a"], tmp_path / "ix")
    report = clipsearch.build_index([tmp_path / "b"], tmp_path / "ix")
    assert reasons(report) == {"same.txt": f"duplicate id 'same': already indexed from {tmp_path / 'a' / 'same.txt'}"}
    assert report.total == 1


def test_parallel_build_matches_serial(tmp_path: Path) -> None:
    generated(tmp_path / "docs", 120)
    serial = clipsearch.build_index([tmp_path / "docs"], tmp_path / "serial", procs=1)
    parallel = clipsearch.build_index([tmp_path / "docs"], tmp_path / "parallel", procs=2, commit_every=50)
    assert serial.total == parallel.total == 120
    with clipsearch.open_index(tmp_path / "serial") as a, clipsearch.open_index(tmp_path / "parallel") as b:
        for query in ("người dân", "giá xăng", '"văn phòng kinh tế"', "tin số 7"):
            ra, rb = a.query(query, limit=200, collapse=False), b.query(query, limit=200, collapse=False)
            assert ra.total == rb.total
            assert {h.id for h in ra.hits} == {h.id for h in rb.hits}


# ---------------------------------------------------------------------------
# A killed indexer, and searching while indexing


def _count(index_dir: Path) -> int:
    try:
        with clipsearch.open_index(index_dir) as ix:
            return len(ix)
    except clipsearch.ClipsearchError:
        return 0


def test_killed_indexer_then_rerun(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    generated(docs, 400)
    index_dir = tmp_path / "ix"
    command = [sys.executable, "-m", "clipsearch", "index", str(docs), "--index-dir", str(index_dir)]
    proc = subprocess.Popen([*command, "--commit-every", "50", "--procs", "1", "-q"])
    try:
        deadline = time.monotonic() + 120
        committed = 0
        while committed == 0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            committed = _count(index_dir)  # searching while indexing: the last commit
        assert proc.poll() is None, "the indexer finished before it could be killed"
        with clipsearch.open_index(index_dir) as ix:
            seen = ix.query("tin số", limit=1).total  # a query during indexing sees whole commits
            assert seen > 0 and seen % 50 == 0
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    after_kill = _count(index_dir)
    assert after_kill % 50 == 0 and 0 < after_kill < 400  # whole commits only
    rerun = subprocess.run([*command, "-q"], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr  # no stale lock
    with clipsearch.open_index(index_dir) as ix:
        assert len(ix) == 400
        ids = [h.id for h in ix.search("tin số", limit=1000, collapse=False)]
        assert len(ids) == len(set(ids)) == 400
    again = clipsearch.build_index([docs], index_dir)
    assert (len(again.unchanged), again.added) == (400, [])


def test_second_indexer_gets_lock_message(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    generated(docs, 1500)  # enough for the first run to outlast the second's start, however fast analysis gets
    index_dir = tmp_path / "ix"
    command = [sys.executable, "-m", "clipsearch", "index", str(docs), "--index-dir", str(index_dir), "-q"]
    first = subprocess.Popen([*command, "--procs", "1"])
    try:
        deadline = time.monotonic() + 60
        while not (index_dir / "clipsearch.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = subprocess.run(command, capture_output=True, text=True)
        assert first.poll() is None, "the first indexer finished too soon for this test"
        assert second.returncode == 1
        assert second.stderr == (
            f"Error: the index in {str(index_dir)!r} is locked: another `clipsearch index` is writing to it; "
            "wait for it to finish\n"
        )
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0
