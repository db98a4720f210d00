"""Checksums that cover every byte a search reads (:mod:`clipsearch.reading.checksums`).

Parts of a segment larger than ``CHECKED_ON_OPEN`` (terms, postings, stored
fields) are not checked when an index is opened; their chunk CRCs are
checked as a search reads them. A byte flipped where a query reads gives an
:class:`~clipsearch.IndexDamagedError` naming the part (found by the chunk
check, not by a full check after a decode error); one flipped where it does
not read leaves the answer as it was. The index here is small, so the
threshold and the chunks are made small for the writer and the readers alike.

Also: a FIFO, a folder or a loop of symbolic links in place of an index
file is damage, never a hang or a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import clipsearch
from clipsearch.codec.stored_blocks import BlocksReader
from clipsearch.reading import checksums, segments
from clipsearch.reading.segments import IndexFiles, Segment, open_index_files
from clipsearch.reading.terms import TermsFile
from clipsearch.schema import INDEX_NAME

from .conftest import write_clipping

#: The threshold and chunk sizes of the tests: parts of tens of kilobytes
#: get chunk CRCs as parts over a mebibyte do.
SMALL = 16 * 1024
CHUNK = 4 * 1024
TERMS_CHUNK = 1024
QUERIES = ["xăng", "giá xăng", '"giá xăng"', "gia xang"]
LARGE_PARTS = ("trm", "pst", "_stored.col")
#: The clippings that mention "giá xăng".
PETROL = range(3, 500, 70)


def _small_parts(patch: pytest.MonkeyPatch) -> None:
    """Make the writer and the readers treat parts over :data:`SMALL` bytes as large."""
    patch.setattr(checksums, "CHECKED_ON_OPEN", SMALL)
    patch.setattr(checksums, "CHUNK", CHUNK, raising=False)
    patch.setattr(checksums, "CHUNK_BY_SUFFIX", {".trm": TERMS_CHUNK}, raising=False)
    # Where clipsearch before chunk CRCs read the threshold (so that these
    # tests show what it did with the same index).
    patch.setattr(segments, "CHECKED_ON_OPEN", SMALL, raising=False)


@pytest.fixture(autouse=True)
def _small(monkeypatch: pytest.MonkeyPatch) -> None:
    _small_parts(monkeypatch)


_SYLLABLES = (
    "an anh ba bao binh ca cao chi cho cong cu da dan dao dat den dien do doan dong du duong em gia giao ha hai "
    "han hoa hoc hong hung khanh khoa kim lam lan le lien linh loc long luan mai minh my nam nga ngoc nhan nhu "
    "ninh phat phong phu phuc quang que quoc son tam tan thanh thao thu tien toan trang trung tuan tung van viet "
    "vinh vu xuan yen"
).split()
_TONES = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]


def _word(rng: random.Random) -> str:
    """A made-up syllable: many distinct terms, so that the terms file is large."""
    base = rng.choice(_SYLLABLES)
    return base + rng.choice(_TONES) + rng.choice(["", "n", "t", "c", "m"])


def _corpus(folder: Path) -> None:
    """500 clippings of 60 made-up syllables each; :data:`PETROL` about the price of petrol."""
    rng = random.Random(20260302)
    folder.mkdir()
    for n in range(500):
        words = [_word(rng) for _ in range(60)]
        if n in PETROL:
            words[rng.randrange(50)] = "giá xăng"
        body = [" ".join(words[:30]) + ".", " ".join(words[30:]) + "."]
        title = " ".join(_word(rng) for _ in range(6)).capitalize()
        write_clipping(folder, f"tin_{n:04d}", title, "Tin trong ngày.", body, source=f"Theo Báo {n % 9}")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chunked")
    _corpus(folder / "docs")
    with pytest.MonkeyPatch.context() as patch:
        _small_parts(patch)
        clipsearch.build_index([folder / "docs"], folder / "index")
    return folder / "index"


def _sums(index_dir: Path) -> tuple[Path, dict[str, Any]]:
    path = max(index_dir.glob(f"_{INDEX_NAME}_*.sums"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    data: dict[str, Any] = json.loads(path.read_text())
    return path, data


def _parts(index_dir: Path) -> dict[str, tuple[str, str, int, int]]:
    """``kind -> (file, part, offset, length)`` of the first segment's large parts."""
    _path, data = _sums(index_dir)
    file = sorted(data["files"])[0]
    found = {}
    for part, (offset, length, _crc) in data["files"][file]["parts"].items():
        kind = part.split(".", 1)[1]
        if kind in LARGE_PARTS:
            found[kind] = (file, part, offset, length)
    return found


def answers(index_dir: Path) -> list[Any]:
    with clipsearch.open_index(index_dir) as index:
        return [index.query(q).to_dict() for q in QUERIES]


@pytest.fixture(scope="module")
def expected(pristine: Path) -> list[Any]:
    with pytest.MonkeyPatch.context() as patch:
        _small_parts(patch)
        found = answers(pristine)
    assert found[0]["total"] == len(PETROL), found[0]
    return found


@contextlib.contextmanager
def _no_full_verify(patch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail if a search checks the whole index (as it does when bytes fail
    to decode): the chunk check is to find the damage before they are decoded."""
    verify = IndexFiles.verify

    def spy(self: IndexFiles, *, full: bool = True) -> int:
        assert not full, "found by a full check after a decode error, not by the chunk check"
        return verify(self, full=full)

    with patch.context() as p:
        p.setattr(IndexFiles, "verify", spy)
        yield


def _copy_with_flips(pristine: Path, tmp_path: Path, file: str, positions: list[int]) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    data = bytearray((copy / file).read_bytes())
    for at in positions:
        data[at] ^= 0x01
    (copy / file).write_bytes(bytes(data))
    return copy


def _assert_reported(copy: Path, part: str) -> None:
    message = f"part {part} does not match its checksum"
    with (
        pytest.MonkeyPatch.context() as patch,
        _no_full_verify(patch),
        pytest.raises(clipsearch.IndexDamagedError, match=message),
    ):
        answers(copy)


def test_the_large_parts_have_chunk_crcs(pristine: Path) -> None:
    _path, data = _sums(pristine)
    for file, entry in data["files"].items():
        chunked = {part.split(".", 1)[1] for part in entry.get("chunks", {})}
        assert set(LARGE_PARTS) <= chunked, (file, chunked)
        for part, (size, sums) in entry["chunks"].items():
            length = entry["parts"][part][1]
            assert length > SMALL
            assert size == (TERMS_CHUNK if part.endswith(".trm") else CHUNK)
            assert len(sums) == 8 * -(-length // size) and len(sums) > 8 * 10


def test_a_query_reads_few_chunks(pristine: Path, expected: list[Any]) -> None:
    with clipsearch.open_index(pristine) as index:
        result = index.query("xăng")
        assert result.to_dict() == expected[0]
        hits = {index._files.document_number(hit.id) for hit in result.hits}
        for leaf, segment in enumerate(index._files.segments):
            start = index._files.leaves[leaf][1]
            for part, chunks in segment._chunks.items():
                done = sum(chunks._done)
                if part.endswith("._stored.col"):
                    # stored fields are read a block of documents at a time: only the hits' blocks
                    read = {i for i, d in enumerate(chunks._done) if d}
                    buf = segment.column("_stored", whole=False)  # not checked: marks no chunk read
                    column = BlocksReader(buf)
                    size = CHUNK
                    directory = column.block_span(column.block_of(column.count - 1))[1]  # read on opening
                    allowed = set(range(directory // size, (len(buf) - 1) // size + 1))
                    for docnum in hits:
                        if docnum is not None and start <= docnum < start + segment.doc_count_all:
                            for block in column.blocks_read(docnum - start):
                                first, end = column.block_span(block)
                                allowed.update(range(first // size, (end - 1) // size + 1))
                    read = {i for i, d in enumerate(chunks._done) if d}
                    assert read and read <= allowed, (part, sorted(read), sorted(allowed))
                else:
                    assert done < len(chunks._done) / 2, (part, done, len(chunks._done))


def _term_key(segment: Segment, field: str, term: str) -> bytes:
    buf = segment.files.get(".trm")
    assert buf is not None
    return struct.pack("!H", TermsFile(buf).fieldmap[field]) + term.encode("utf-8")


def test_a_flipped_byte_in_a_key_the_query_looks_up(pristine: Path, tmp_path: Path, expected: list[Any]) -> None:
    """The hostile finding: a byte of the key ``xang`` flipped in a terms
    file of over a mebibyte changed the results, with no error."""
    file, part, offset, length = _parts(pristine)["trm"]
    files = IndexFiles(pristine, INDEX_NAME)
    try:
        segment = next(s for s in files.segments if s.files.file_of.get(part) == file)
        key = _term_key(segment, "text", "xang")
    finally:
        files.close()
    data = (pristine / file).read_bytes()[offset : offset + length]
    at = data.find(key)
    while at >= 0 and struct.unpack_from("!i", data, at - 8)[0] != len(key):
        at = data.find(key, at + 1)
    assert at >= 0
    copy = _copy_with_flips(pristine, tmp_path, file, [offset + at + len(key) - 1])
    _assert_reported(copy, part)


def test_a_flipped_byte_in_postings_the_query_reads(pristine: Path, tmp_path: Path) -> None:
    file, part, offset, _length = _parts(pristine)["pst"]
    files = IndexFiles(pristine, INDEX_NAME)
    try:
        segment = next(s for s in files.segments if s.files.file_of.get(part) == file)
        info = segment.term_info("text", "xang")
        assert info is not None and isinstance(info.postings, tuple), info
        start, size = info.postings
    finally:
        files.close()
    copy = _copy_with_flips(pristine, tmp_path, file, [offset + start + size // 2])
    _assert_reported(copy, part)


def test_a_flipped_byte_in_a_document_the_query_shows(pristine: Path, tmp_path: Path, expected: list[Any]) -> None:
    from clipsearch.reading.columns import VarBytesColumn

    file, part, offset, _length = _parts(pristine)["_stored.col"]
    shown = [hit["id"] for hit in expected[0]["hits"]]
    files = IndexFiles(pristine, INDEX_NAME)
    try:
        leaf = next(n for n, s in enumerate(files.segments) if s.files.file_of.get(part) == file)
        segment, first = files.leaves[leaf]
        buf = segment.files.get("._stored.col")
        assert buf is not None
        column = VarBytesColumn(buf, segment.doc_count_all)
        docnums = [files.document_number(i) for i in shown]
        local = next(d - first for d in docnums if d is not None and first <= d < first + segment.doc_count_all)
        at = int(column.offsets[local]) + int(column.lengths[local]) // 2
    finally:
        files.close()
    copy = _copy_with_flips(pristine, tmp_path, file, [offset + at])
    _assert_reported(copy, part)


def _chunks_read(index_dir: Path) -> dict[str, tuple[str, int, int, int, list[bool]]]:
    """After the queries, from a fresh opening: ``part -> (file, offset,
    length, chunk size, whether each chunk was read)``."""
    found = {}
    with clipsearch.open_index(index_dir) as index:
        for q in QUERIES:
            index.query(q)
        sums = index._files._sums
        assert sums is not None
        for segment in index._files.segments:
            for part, chunks in segment._chunks.items():
                file = segment.files.file_of[part]
                offset, length, _crc = sums["files"][file]["parts"][part]
                found[part] = (file, offset, length, chunks._size, [bool(d) for d in chunks._done])
    return found


@pytest.mark.parametrize("kind", LARGE_PARTS)
def test_flipped_bytes_where_the_queries_do_not_read(
    pristine: Path, tmp_path: Path, expected: list[Any], kind: str
) -> None:
    """A byte flipped in every chunk of a part that the queries do not read:
    the same answers."""
    read = _chunks_read(pristine)
    file, part, _offset, _length = _parts(pristine)[kind]
    _file, offset, length, size, done = read[part]
    unread = [offset + n * size + min(size, length - n * size) // 2 for n, d in enumerate(done) if not d]
    # stored fields are read a block of documents at a time: the eight hits' blocks are more of the column
    assert len(unread) > len(done) / (4 if kind == "_stored.col" else 2)
    copy = _copy_with_flips(pristine, tmp_path, file, unread)
    assert answers(copy) == expected
    _assert_verify_finds(copy, part)


@pytest.mark.parametrize("kind", LARGE_PARTS)
def test_a_flipped_byte_in_any_chunk_the_queries_read(pristine: Path, tmp_path: Path, kind: str) -> None:
    read = _chunks_read(pristine)
    file, part, _offset, _length = _parts(pristine)[kind]
    _file, offset, length, size, done = read[part]
    chunks = [n for n, d in enumerate(done) if d]
    assert chunks
    for n in random.Random(kind).sample(chunks, min(6, len(chunks))):
        copy = _copy_with_flips(
            pristine, tmp_path / str(n), file, [offset + n * size + min(size, length - n * size) // 2]
        )
        _assert_reported(copy, part)


def _strip_chunks(index_dir: Path) -> None:
    for path in index_dir.glob(f"_{INDEX_NAME}_*.sums"):
        data = json.loads(path.read_text())
        for entry in data["files"].values():
            entry.pop("chunks", None)
        path.write_text(json.dumps(data))


def test_an_index_without_chunk_crcs_still_answers(pristine: Path, tmp_path: Path, expected: list[Any]) -> None:
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    _strip_chunks(copy)
    assert answers(copy) == expected
    files = open_index_files(copy, INDEX_NAME)
    try:
        assert all(not s._chunks for s in files.segments)
        assert files.verify(full=True) > 0
    finally:
        files.close()


def test_the_next_commit_reuses_chunk_crcs_and_adds_missing_ones(pristine: Path, tmp_path: Path) -> None:
    """The writer takes the chunk CRCs of the segment files the previous
    generation had from its checksums; for a large part without them (written
    by clipsearch before chunk CRCs) it computes them, if the part still
    matches its CRC."""
    from clipsearch.writing.storage import SegmentStorage

    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    path, original = _sums(copy)
    generation = int(path.stem.rsplit("_", 1)[1])
    previous = checksums.sums_path(copy, INDEX_NAME, generation - 1)
    storage = SegmentStorage(str(copy))

    def rewrite(prior: dict[str, Any]) -> dict[str, Any]:
        previous.write_text(json.dumps(prior))
        storage._write_sums(f"_{INDEX_NAME}_{generation}.toc", INDEX_NAME, generation)
        return json.loads(path.read_text())

    # Reused: a CRC changed in the previous generation's chunks is taken as it is.
    prior = json.loads(json.dumps(original))
    file, part, _offset, _length = _parts(copy)["pst"]
    size, sums = prior["files"][file]["chunks"][part]
    prior["files"][file]["chunks"][part] = [size, "00000000" + sums[8:]]
    assert rewrite(prior)["files"][file]["chunks"][part] == [size, "00000000" + sums[8:]]
    # Missing: computed again, the same.
    stripped = json.loads(json.dumps(original))
    for entry in stripped["files"].values():
        entry.pop("chunks")
    assert rewrite(stripped) == original
    # Missing, and the part does not match its CRC: none.
    stripped["files"][file]["parts"][part][2] ^= 1
    again = rewrite(stripped)
    assert part not in again["files"][file]["chunks"]
    assert "trm" in " ".join(again["files"][file]["chunks"])


def test_a_wrong_chunk_crc_is_found_by_a_full_check(pristine: Path, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    path, data = _sums(copy)
    file, part, _offset, _length = _parts(copy)["_stored.col"]
    size, sums = data["files"][file]["chunks"][part]
    last = sums[-8:]
    data["files"][file]["chunks"][part] = [size, sums[:-8] + f"{int(last, 16) ^ 1:08x}"]
    path.write_text(json.dumps(data))
    _assert_verify_finds(copy, part)


@pytest.mark.parametrize(
    "chunks",
    [
        [],
        "x",
        {"PART": [0, ""]},
        {"PART": [CHUNK, 12]},
        {"PART": [True, "SUMS"]},
        {"PART": [str(CHUNK), "SUMS"]},
        {"PART": [CHUNK]},
        {"PART": [CHUNK, "SUMS", 1]},
        {"PART": [CHUNK, "SUMS_SHORT"]},
        {"PART": [CHUNK, "SUMS_NOT_HEX"]},
        {"PART": [CHUNK, "SUMS_SPACES"]},
        {"no such part": [CHUNK, ""]},
    ],
)
def test_chunk_crcs_of_the_wrong_types_are_unreadable(pristine: Path, tmp_path: Path, chunks: Any) -> None:
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    path, data = _sums(copy)
    file, part, _offset, _length = _parts(copy)["pst"]
    _size, sums = data["files"][file]["chunks"][part]
    replacements = {
        "SUMS_SHORT": sums[:-8],
        "SUMS_NOT_HEX": "zz" + sums[2:],
        "SUMS_SPACES": " " + sums[:-1],
        "SUMS": sums,
    }
    text = json.dumps(chunks).replace("PART", part)
    for name, value in replacements.items():
        text = text.replace(f'"{name}"', json.dumps(value))
    data["files"][file]["chunks"] = json.loads(text)
    path.write_text(json.dumps(data))
    with pytest.raises(clipsearch.IndexDamagedError, match=rf"file {path.name} is unreadable"):
        checksums.read_sums(path)
    with pytest.raises(clipsearch.IndexDamagedError, match="is damaged"):
        answers(copy)


def test_the_extras_of_a_terms_file_are_read_in_prefixes() -> None:
    """The pickle at the end of a terms file is read (and checked) in
    growing prefixes; one longer than the first still loads."""
    import pickle

    from clipsearch.reading.terms import _load_extras

    extras = {"fieldmap": {f"field{n}": n for n in range(2000)}, "indexlen": 3}
    raw = pickle.dumps(extras, protocol=4)
    assert len(raw) > 4096 * 4
    buf = memoryview(b"HEAD" + raw + bytes(range(256)) * 1000)
    checked: list[tuple[int, int]] = []
    assert _load_extras(buf, 4, len(buf), lambda a, b: checked.append((a, b))) == extras
    assert checked[0] == (4, 4 + 4096) and checked[-1][1] < len(buf)
    with pytest.raises(EOFError):
        _load_extras(memoryview(b""), 0, 0, lambda a, b: None)


# -- not a regular file ---------------------------------------------------------


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def expired(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.mkdir()


def _loop(path: Path) -> None:
    os.symlink(path.name, path)


@pytest.mark.parametrize("make", [_fifo, _folder, _loop], ids=["fifo", "folder", "symlink loop"])
@pytest.mark.parametrize("kind", ["toc", "sums", "seg"])
def test_an_index_file_that_is_not_a_regular_file(pristine: Path, tmp_path: Path, kind: str, make: Any) -> None:
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    target = max(copy.glob(f"*.{kind}"), key=lambda p: (len(p.name), p.name))
    target.unlink()
    make(target)
    with _deadline(20):
        with pytest.raises(clipsearch.IndexDamagedError, match="is damaged"):
            answers(copy)
        with pytest.raises(clipsearch.IndexDamagedError, match="is damaged"):
            open_index_files(copy, INDEX_NAME)


def _assert_verify_finds(index_dir: Path, part: str) -> None:
    """A full verify of ``index_dir`` reports ``part`` as damaged."""
    files = open_index_files(index_dir, INDEX_NAME)
    try:
        with pytest.raises(clipsearch.IndexDamagedError, match=f"part {part} does not match its checksum"):
            files.verify(full=True)
    finally:
        files.close()
