"""The array writer (:mod:`clipsearch.writing.arrays`) against Whoosh's own
writer: the same postings, documents and merges give the same index files,
byte for byte; and Whoosh opens what ``build_index`` writes with it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.fields import TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import open_dir
from whoosh.query import Term
from whoosh.writing import SegmentWriter

import clipsearch
from clipsearch.clipping import clipping_from_bytes, read_bytes
from clipsearch.codec.compact import CompactCodec
from clipsearch.codec.formats import IntFrequency, Presence, VarintPositions
from clipsearch.reading.segments import IndexFiles
from clipsearch.schema import INDEX_NAME
from clipsearch.writing import arrays as array_writer
from clipsearch.writing.arrays import ArraySegmentWriter, FieldPostings, write_postings
from clipsearch.writing.build import _create, clipping_document

from .conftest import write_sentence_clippings

FORMATS = {"positions": VarintPositions, "frequency": IntFrequency, "presence": Presence}


def _schema() -> Any:
    fields = {}
    for name, format_ in FORMATS.items():
        field = TEXT()
        field.format = format_()
        fields[name] = field
    return Schema(**fields)


class _Lengths:
    """Field lengths by document, as a segment's per-document reader gives them."""

    def __init__(self, lengths: list[int]) -> None:
        self.lengths = lengths

    def doc_count_all(self) -> int:
        return len(self.lengths)

    def doc_field_length(self, docnum: int, fieldname: str) -> int:
        return self.lengths[docnum]


def _segment_files(
    folder: Path, schema: Any, postings: list[tuple[str, bytes, int, float, bytes]], lengths: Any, arrays: bool
) -> dict[str, bytes]:
    """The terms and postings files of a segment holding ``postings``, written
    by Whoosh's loop (``add_postings`` over sorted postings) or by the arrays."""
    storage = FileStorage(str(folder))
    codec = CompactCodec(blocklimit=4)  # blocks of four: long lists from few postings
    segment = codec.new_segment(storage, "t")
    writer = codec.field_writer(storage, segment)
    if arrays:
        by_field: dict[str, FieldPostings] = {}
        for fieldname, text, docnum, weight, value in sorted(postings, key=lambda p: (p[0], p[2])):
            postings = by_field.setdefault(fieldname, FieldPostings.of(schema[fieldname]))
            postings.add_posting(text.decode(), docnum, weight, value)
        write_postings(writer, schema, lengths, by_field)
    else:
        writer.add_postings(schema, lengths, iter(sorted(postings)))
    writer.close()
    return {path.suffix: path.read_bytes() for path in folder.iterdir()}


_postings = st.lists(
    st.tuples(
        st.sampled_from(sorted(FORMATS)),
        st.text(alphabet="abcăâđêôơưáàảãạ _", min_size=1, max_size=6),
        st.integers(0, 40),
        st.sampled_from([1.0, 2.0, 3.0, 0.5, 7.0]),
        st.lists(st.integers(0, 3000), min_size=1, max_size=4, unique=True),
    ),
    min_size=1,
    max_size=200,
)


@settings(max_examples=60, deadline=None)
@given(
    _postings, st.lists(st.integers(0, 200), min_size=41, max_size=41), st.booleans(), st.sampled_from([1, 5, 1 << 16])
)
def test_the_arrays_write_the_bytes_whoosh_writes(
    raw: list[tuple[str, str, int, float, list[int]]], doc_lengths: list[int], with_lengths: bool, chunk: int
) -> None:
    schema = _schema()
    unique: dict[tuple[str, bytes, int], tuple[float, bytes]] = {}
    for fieldname, text, docnum, weight, positions in raw:
        value = schema[fieldname].format.encode(sorted(positions)) if fieldname == "positions" else b""
        unique[(fieldname, text.encode(), docnum)] = (weight, value)
    postings = [(f, t, d, w, v) for (f, t, d), (w, v) in unique.items()]
    lengths = _Lengths(doc_lengths) if with_lengths else None
    chunk_postings = array_writer.CHUNK_POSTINGS
    array_writer.CHUNK_POSTINGS = chunk  # the sorted postings made lists a few at a time
    try:
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            whoosh = _segment_files(Path(one), schema, postings, lengths, arrays=False)
            arrays = _segment_files(Path(two), schema, postings, lengths, arrays=True)
    finally:
        array_writer.CHUNK_POSTINGS = chunk_postings
    assert whoosh.keys() == arrays.keys() == {".trm", ".pst"}
    assert whoosh == arrays


def _build(
    folder: Path, files: list[Path], writer_class: Any, batches: int, delete: str | None = None
) -> dict[str, bytes]:
    """Index ``files`` in ``batches`` commits with ``writer_class``, delete
    ``delete`` (an id) and merge all segments into one; the index's sub-files."""
    folder.mkdir()
    ix = _create(folder, files)
    step = -(-len(files) // batches)
    for first in range(0, len(files), step):
        writer = writer_class(ix, codec=CompactCodec(blocklimit=16))
        for path in files[first : first + step]:
            writer.add_document(**clipping_document(clipping_from_bytes(read_bytes(path), path), "0" * 64))
        writer.commit(merge=False)
    if delete is not None:
        writer = writer_class(ix, codec=CompactCodec(blocklimit=16))
        writer.delete_by_term("id", delete)
        writer.commit(optimize=True)
    return {f"{n}{ext}": data for n, segment in enumerate(_index_parts(folder)) for ext, data in segment.items()}


def test_a_segment_of_clippings_is_the_same_bytes(tmp_path: Path) -> None:
    files = write_sentence_clippings(tmp_path / "in", 60)
    whoosh = _build(tmp_path / "whoosh", files, SegmentWriter, 1)
    arrays = _build(tmp_path / "arrays", files, ArraySegmentWriter, 1)
    assert len(arrays) > 10 and whoosh == arrays


def test_merged_segments_are_the_same_bytes(tmp_path: Path) -> None:
    files = write_sentence_clippings(tmp_path / "in", 40, seed=3)
    whoosh = _build(tmp_path / "whoosh", files, SegmentWriter, 3, delete="c005")
    arrays = _build(tmp_path / "arrays", files, ArraySegmentWriter, 3, delete="c005")
    assert whoosh == arrays


def test_whoosh_opens_the_index_and_finds_what_clipsearch_finds(tmp_path: Path) -> None:
    files = write_sentence_clippings(tmp_path / "in", 30, seed=11)
    report = clipsearch.build_index([tmp_path / "in"], tmp_path / "ix", procs=2)
    assert report.total == len(files)
    with open_dir(str(tmp_path / "ix"), indexname=INDEX_NAME).searcher() as searcher:
        terms = [t.decode() for t in searcher.lexicon("text") if len(t) >= 3 and t.isalpha()]
        assert len(terms) > 50
        with clipsearch.open_index(tmp_path / "ix") as index:
            for term in terms:
                by_whoosh = {searcher.stored_fields(d)["id"] for d in searcher.docs_for_query(Term("text", term))}
                by_clipsearch = {hit.id for hit in index.query(term, limit=100, collapse=False).hits}
                assert by_whoosh == by_clipsearch, term


def _index_parts(index_dir: Path) -> list[dict[str, bytes]]:
    """Each segment's sub-files (named by extension) of an index."""
    files = IndexFiles(index_dir, INDEX_NAME)
    try:
        return [
            {part[part.index(".") :]: bytes(view) for _file, part, _offset, view in segment.files.parts()}
            for segment in files.segments
        ]
    finally:
        files.close()


def test_the_index_is_the_same_whatever_the_number_of_workers(tmp_path: Path) -> None:
    """Workers analyse, the build process writes in the order of the files:
    one worker or three give the same segments, byte for byte."""
    write_sentence_clippings(tmp_path / "in", 150, seed=5)
    one = clipsearch.build_index([tmp_path / "in"], tmp_path / "one", procs=1)
    three = clipsearch.build_index([tmp_path / "in"], tmp_path / "three", procs=3, commit_every=70)
    single = clipsearch.build_index([tmp_path / "in"], tmp_path / "single", procs=3)
    assert one.total == three.total == single.total == 150
    assert _index_parts(tmp_path / "one") == _index_parts(tmp_path / "single")
    assert len(_index_parts(tmp_path / "three")) == 3  # 70 + 70 + 10


def test_a_segment_is_committed_when_its_postings_fill_the_budget(tmp_path: Path, monkeypatch: Any) -> None:
    from clipsearch.writing import build

    write_sentence_clippings(tmp_path / "in", 200, seed=9)
    monkeypatch.setattr(build, "FLUSH_POSTINGS", 3000)
    report = clipsearch.build_index([tmp_path / "in"], tmp_path / "ix", procs=2)
    assert report.total == 200
    parts = _index_parts(tmp_path / "ix")
    assert len(parts) >= 3
    with clipsearch.open_index(tmp_path / "ix") as index:
        assert index.query("*", limit=10, collapse=False).total == 200


def test_workers_report_bad_files_as_one_process_does(tmp_path: Path) -> None:
    """Files are parsed by the workers: the bad ones are reported, in the
    order of the files, with the reasons one process gives, and the good
    ones around them indexed."""
    folder = tmp_path / "in"
    write_sentence_clippings(folder, 130, seed=4)
    (folder / "c010.txt").write_bytes(b"")  # empty
    (folder / "c050.txt").write_bytes(b"\xff\xfe\x00\x01" * 50)  # not text
    (folder / "c100.txt").write_text("Thứ hai, 02/03/2026\n\nChỉ một dòng\n", encoding="utf-8")
    reports = [clipsearch.build_index([folder], tmp_path / f"ix{procs}", procs=procs) for procs in (1, 2)]
    one, two = reports
    assert one.skipped == two.skipped and [s.path for s in one.skipped] == sorted(s.path for s in one.skipped)
    assert "c010.txt" in {Path(s.path).name for s in one.skipped}
    assert one.added == two.added and one.warnings == two.warnings
    assert one.total == two.total == 130 - len(one.skipped)
    assert _index_parts(tmp_path / "ix1") == _index_parts(tmp_path / "ix2")
