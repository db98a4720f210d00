"""The index's files read without Whoosh (clipsearch.reading.segments) give what
Whoosh's own reader gives: segments, deletions, fields, every term's
statistics and postings, field lengths and columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from whoosh.filedb.filestore import FileStorage

from clipsearch.codec.blocks import BlockCursor, decode_postings, values_at
from clipsearch.codec.compact import CompactCodec
from clipsearch.codec.formats import VarintPositions
from clipsearch.codec.layout import LENGTH_OF_BYTE
from clipsearch.errors import IndexNotFoundError, IndexVersionError
from clipsearch.reading.columns import VarBytesColumn, numeric_column
from clipsearch.reading.segments import IndexFiles
from clipsearch.reading.toc import latest_generation
from clipsearch.schema import INDEX_NAME
from clipsearch.searching.scoring import POSITIONS_FORMAT
from clipsearch.writing.build import clipping_document, open_whoosh_index
from clipsearch.writing.fields import build_schema


def _postings(segment: Any, field: str, text: str, positions: bool) -> list[tuple[int, float, Any]]:
    """A term's ``(id, weight, value)`` in a segment; values only with ``positions``."""
    found = segment.postings(field, text)
    assert found is not None, (field, text)
    if not isinstance(found, BlockCursor):
        values = found.values if positions else (None,) * len(found.ids)
        return list(zip(found.ids, found.weights, values, strict=True))
    decoded = decode_postings(found)
    ids = decoded.ids.tolist()
    found_values = values_at(segment.postings(field, text), ids) if positions else {}
    return [(d, w, found_values.get(d)) for d, w in zip(ids, decoded.weights.tolist(), strict=True)]


def assert_reads_as_whoosh(index_dir: Path) -> None:
    """Every reading of :class:`IndexFiles` against Whoosh's reader."""
    ix = FileStorage(str(index_dir)).open_index(INDEX_NAME)
    files = IndexFiles(index_dir, INDEX_NAME)
    try:
        assert files.generation == latest_generation(index_dir, INDEX_NAME) == ix.latest_generation()
        with ix.reader() as reader:
            leaves = list(reader.leaf_readers())
            assert [offset for _leaf, offset in leaves] == [offset for _segment, offset in files.leaves]
            assert (files.doc_count_all(), files.doc_count()) == (reader.doc_count_all(), reader.doc_count())
            schema = reader.schema
            assert set(files.fields) == set(schema.names())
            for name, field in files.fields.items():
                assert field.scorable == bool(getattr(schema[name], "scorable", False)), name
                fmt = getattr(schema[name], "format", None)
                assert field.format == (f"{type(fmt).__module__}.{type(fmt).__qualname__}" if fmt else ""), name
            assert files.common == schema["pairs"].analyzer.common
            scorable = [n for n in schema.names() if schema[n].scorable]
            for name in scorable:
                assert files.field_length(name) == reader.field_length(name)
            terms = 0
            for (leaf, _offset), segment in zip(leaves, files.segments, strict=True):
                assert segment.doc_count_all == leaf.doc_count_all()
                assert segment.deleted == set(leaf._perdoc.deleted_docs())
                for name in scorable:
                    column = segment.column(f"_{name}_len")
                    assert (column is not None) == leaf._perdoc.has_column(f"_{name}_len")
                    lengths = numeric_column(column, "B", segment.doc_count_all)
                    # Whoosh: None for a length byte of 0, 0 without the column
                    assert [LENGTH_OF_BYTE[b] for b in lengths.tolist()] == [
                        leaf.doc_field_length(d, name) or 0 for d in range(leaf.doc_count_all())
                    ], name
                days = numeric_column(segment.column("day"), files.fields["day"].typecode, segment.doc_count_all)
                assert days.tolist() == list(leaf.column_reader("day"))
                keys = VarBytesColumn(segment.column("source_key"), segment.doc_count_all)  # type: ignore[arg-type]
                assert [keys[d] for d in range(len(keys))] == list(leaf.column_reader("source_key"))
                for field, btext in leaf.all_terms():
                    text = btext.decode("utf-8")
                    info = segment.term_info(field, text)
                    assert info is not None and info.doc_frequency == leaf.doc_frequency(field, btext)
                    matcher = leaf._terms.matcher(field, btext, schema[field].format)
                    positions = files.fields[field].format == POSITIONS_FORMAT
                    want = []
                    while matcher.is_active():
                        want.append((matcher.id(), matcher.weight(), matcher.value() if positions else None))
                        matcher.next()
                    assert _postings(segment, field, text, positions) == want, (field, text)
                    terms += 1
                assert segment.term_info("text", "khôngcótừnày") is None
                assert segment.term_info("no-such-field", "a") is None
            assert terms > 200  # the loop saw the terms
            for field, btext in list(reader.all_terms())[::97]:
                assert files.doc_frequency(field, btext.decode("utf-8")) == reader.doc_frequency(field, btext)
    finally:
        files.close()


def test_segments_with_deletions_read_as_whoosh(three_run_index: Path) -> None:
    index_dir = three_run_index
    with open_whoosh_index(index_dir).reader() as reader:
        assert len(list(reader.leaf_readers())) >= 2 and reader.has_deletions()
    assert_reads_as_whoosh(index_dir)


def test_segments_of_their_own_files_read_as_whoosh(corpus_dir: Path, tmp_path: Path) -> None:
    """Segments not assembled into one compound file (Whoosh can write them so)."""
    from clipsearch.clipping import read_clipping

    index_dir = tmp_path / "index"
    index_dir.mkdir()
    ix = FileStorage(str(index_dir)).create_index(build_schema(["hà", "nội"]), indexname=INDEX_NAME)
    paths = sorted(corpus_dir.glob("*.txt"))
    for part in (paths[::2], paths[1::2]):
        writer = ix.writer(codec=CompactCodec(), compound=False)
        for path in part:
            writer.add_document(**clipping_document(read_clipping(path), path.name))
        writer.commit(merge=False)
    assert not list(index_dir.glob("*.seg")) and list(index_dir.glob("*.trm"))
    assert_reads_as_whoosh(index_dir)


def test_positions_format_is_named_as_pickled() -> None:
    assert f"{VarintPositions.__module__}.{VarintPositions.__qualname__}" == POSITIONS_FORMAT


def test_missing_and_unreadable_indexes(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError):
        IndexFiles(tmp_path, INDEX_NAME)
    (tmp_path / f"_{INDEX_NAME}_3.toc").write_bytes(b"\x04\x08\x04 not a table of contents")
    with pytest.raises(IndexVersionError, match="rebuild"):
        IndexFiles(tmp_path, INDEX_NAME)
