"""CompactCodec posting blocks read back exactly what was written, through
Whoosh's own matcher interface (ids, weights, values, skipping, block stats)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.filedb.structfile import StructFile
from whoosh.formats import Existence, Frequency
from whoosh.system import pack_uint

from clipsearch.codec.blocks import BlockCursor, decode_postings, values_at
from clipsearch.codec.compact import CompactCodec, CompactTermInfo
from clipsearch.codec.formats import IntFrequency, VarintPositions
from clipsearch.codec.terminfo import decode_term_info, encode_term_info
from clipsearch.codec.varints import decode_varints, encode_varints, read_varint, read_varints, vectorised_varints

POSTINGS = st.lists(
    st.tuples(
        st.integers(0, 5),  # gap to the previous id, minus one
        st.one_of(st.integers(1, 300).map(float), st.floats(0.25, 50.0, width=32)),
        st.lists(st.integers(0, 3000), min_size=1, max_size=6, unique=True).map(sorted),
        st.integers(1, 5000),  # field length
    ),
    min_size=1,
    max_size=400,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**49), max_size=300), st.lists(st.integers(0, 2**20), max_size=3))
def test_every_varint_reader_reads_what_was_encoded(values: list[int], before: list[int]) -> None:
    import numpy as np

    data = encode_varints(before + values)
    start = len(encode_varints(before))
    assert decode_varints(data) == before + values
    assert read_varints(data, start, len(values)) == (values, len(data))
    pos, one_by_one = start, []
    for _ in values:
        value, pos = read_varint(data, pos)
        one_by_one.append(value)
    assert one_by_one == values
    buf = np.frombuffer(data, dtype=np.uint8)
    assert vectorised_varints(buf, np.flatnonzero(buf < 0x80)).tolist() == before + values
    assert VarintPositions().decode_frequency(VarintPositions().encode(sorted(set(values)))) == len(set(values))


def _value(fmt: object, positions: list[int]) -> bytes:
    if isinstance(fmt, VarintPositions):
        return fmt.encode(positions)
    if isinstance(fmt, Frequency) and fmt.fixed_value_size():
        return pack_uint(len(positions))
    return b""


def _write_and_read(
    postings: list[tuple[int, float, list[int], int]], fmt: object, blocklimit: int = 512
) -> tuple[list, StructFile, W3TermInfo]:
    buf = io.BytesIO()
    dbfile = StructFile(buf)
    dbfile.write(b"pad!")  # postings never start at offset 0 in a real file
    codec = CompactCodec(blocklimit=blocklimit, inlinelimit=1)  # blocks even for one posting
    writer = codec.postings_writer(dbfile)
    terminfo = W3TermInfo()
    writer.start_postings(fmt, terminfo)
    docnum = -1
    expected = []
    for gap, weight, positions, length in postings:
        docnum += gap + 1
        value = _value(fmt, positions)
        writer.add_posting(docnum, weight, value, length)
        expected.append((docnum, weight, value, length))
    writer.finish_postings()
    reader_file = StructFile(io.BytesIO(buf.getvalue()))
    return expected, reader_file, terminfo


def _cursor(dbfile: StructFile, terminfo: W3TermInfo) -> BlockCursor:
    """A cursor over the blocks of the list ``terminfo`` points to (read into memory)."""
    offset, length = terminfo.extent()
    return BlockCursor(dbfile.get(offset, length), 0)


def _positions_at(cursor: BlockCursor, wanted: Any) -> tuple[Any, Any] | None:
    """``(docnums, positions)`` of the ascending document numbers ``wanted``
    (int64 array) read from only the blocks that can hold them; None when a
    block has 4-byte float weights (then :func:`values_at` reads them)."""
    postings = decode_postings(cursor, wanted.tolist(), values=True)
    if postings.value_start is None and len(postings.ids):
        return None
    return postings.positions(wanted)


@settings(max_examples=150, deadline=None)
@given(POSTINGS)
def test_positional_postings_round_trip(postings: list[tuple[int, float, list[int], int]]) -> None:
    fmt = VarintPositions()
    expected, dbfile, terminfo = _write_and_read(postings, fmt)
    matcher = CompactCodec().postings_reader(dbfile, terminfo, fmt)
    seen = []
    while matcher.is_active():
        seen.append((matcher.id(), matcher.weight(), matcher.value()))
        assert matcher.block_max_weight() >= matcher.weight()
        matcher.next()
    assert [s[0] for s in seen] == [e[0] for e in expected]
    assert [s[2] for s in seen] == [e[2] for e in expected]
    for (_, got, _), (_, want, _, _) in zip(seen, expected, strict=True):
        assert abs(got - want) <= 1e-6 * max(1.0, abs(want))
    assert terminfo.doc_frequency() == len(expected)
    assert terminfo.max_id() == expected[-1][0]


@settings(max_examples=100, deadline=None)
@given(POSTINGS, st.data())
def test_skip_to_lands_on_the_next_id(postings: list[tuple[int, float, list[int], int]], data: st.DataObject) -> None:
    fmt = IntFrequency()
    expected, dbfile, terminfo = _write_and_read(postings, fmt)
    ids = [e[0] for e in expected]
    target = data.draw(st.integers(0, ids[-1]))
    matcher = CompactCodec().postings_reader(dbfile, terminfo, fmt)
    matcher.skip_to(target)
    want = next(i for i in ids if i >= target)
    assert matcher.id() == want
    assert matcher.weight() == next(e[1] for e in expected if e[0] == want)


def test_fixed_size_values_and_existence_round_trip() -> None:
    postings = [(i % 3, 1.0, list(range(i % 7 + 1)), 10 + i) for i in range(300)]
    for fmt in (Frequency(), Existence()):
        expected, dbfile, terminfo = _write_and_read(postings, fmt)
        matcher = CompactCodec().postings_reader(dbfile, terminfo, fmt)
        got = []
        while matcher.is_active():
            got.append((matcher.id(), matcher.value() or b""))
            matcher.next()
        assert got == [(e[0], e[2]) for e in expected]


def test_blocks_are_smaller_than_whoosh_w3(tmp_path: Path) -> None:
    """The reason for the codec: a one-posting list costs a fraction of W3's."""
    from whoosh.codec.whoosh3 import W3Codec

    sizes = {}
    for codec in (W3Codec(), CompactCodec(inlinelimit=1)):
        buf = io.BytesIO()
        writer = codec.postings_writer(StructFile(buf))
        writer.start_postings(IntFrequency(), W3TermInfo())
        writer.add_posting(12345, 3, b"", 250)
        writer.finish_postings()
        sizes[type(codec).__name__] = len(buf.getvalue())
    assert sizes["CompactCodec"] * 2.5 < sizes["W3Codec"], sizes


WIDE_POSTINGS = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 5), st.integers(100, 70000)),
        st.one_of(st.just(1.0), st.integers(1, 300).map(float), st.floats(0.25, 50.0, width=32)),
        st.lists(st.integers(0, 3000), min_size=1, max_size=6, unique=True).map(sorted),
        st.integers(1, 5000),
    ),
    min_size=1,
    max_size=600,
)


@settings(max_examples=150, deadline=None)
@given(WIDE_POSTINGS, st.sampled_from(["positions", "frequency"]))
def test_decoded_postings_equal_the_matcher(postings: list[tuple[int, float, list[int], int]], kind: str) -> None:
    fmt = VarintPositions() if kind == "positions" else IntFrequency()
    _expected, dbfile, terminfo = _write_and_read(postings, fmt)
    matcher = CompactCodec().postings_reader(dbfile, terminfo, fmt)
    want_ids, want_weights = [], []
    while matcher.is_active():
        want_ids.append(matcher.id())
        want_weights.append(matcher.weight())
        matcher.next()
    # Both ways of decoding: numpy's one pass (small=0) and block by block in Python.
    for small in (0, 10**9):
        decoded = decode_postings(_cursor(dbfile, terminfo), small=small)
        assert decoded.ids.tolist() == want_ids
        assert decoded.weights.tolist() == want_weights


def _asked(data: st.DataObject, written: Iterable[int]) -> list[int]:
    """Document numbers to ask for: some of those written, maybe one that is not."""
    return sorted(set(data.draw(st.lists(st.sampled_from([*sorted(written), 10**6]), max_size=50))))


@settings(max_examples=100, deadline=None)
@given(WIDE_POSTINGS, st.data())
def test_both_decodings_find_the_same_positions(
    postings: list[tuple[int, float, list[int], int]], data: st.DataObject
) -> None:
    import numpy as np

    fmt = VarintPositions()
    # Small blocks too: many blocks, of which an ask decompresses some.
    expected, dbfile, terminfo = _write_and_read(postings, fmt, data.draw(st.sampled_from([3, 16, 512])))
    by_id = {e[0]: fmt.decode_positions(e[2]) for e in expected}
    # Asked twice of one decoding: blocks decompressed for the first ask are
    # kept, the second may need others.
    asks = [_asked(data, by_id), _asked(data, by_id)]
    found: list[list[list[tuple[int, int]]] | None] = []
    for small in (0, 10**9):
        decoded = decode_postings(_cursor(dbfile, terminfo), values=True, small=small)
        if decoded.value_start is None:  # float weights: no values, either way
            assert any(not float(w).is_integer() for _g, w, _p, _l in postings)
            found.append(None)
            continue
        answers = []
        for asked in asks:
            docs, positions = decoded.positions(np.array(asked, dtype=np.int64))
            answers.append(list(zip(docs.tolist(), positions.tolist(), strict=True)))
        found.append(answers)
    assert found[0] == found[1]
    if found[0] is not None:
        assert found[0] == [[(d, p) for d in asked if d in by_id for p in by_id[d]] for asked in asks]


@settings(max_examples=100, deadline=None)
@given(WIDE_POSTINGS, st.data())
def test_values_at_gives_the_values_asked_for(
    postings: list[tuple[int, float, list[int], int]], data: st.DataObject
) -> None:
    fmt = VarintPositions()
    expected, dbfile, terminfo = _write_and_read(postings, fmt)
    by_id = {e[0]: e[2] for e in expected}
    asked = _asked(data, by_id)
    found = values_at(_cursor(dbfile, terminfo), asked)
    assert found == {d: by_id[d] for d in asked if d in by_id}


@settings(max_examples=100, deadline=None)
@given(WIDE_POSTINGS, st.data())
def test_positions_at_gives_every_position_asked_for(
    postings: list[tuple[int, float, list[int], int]], data: st.DataObject
) -> None:
    import numpy as np

    fmt = VarintPositions()
    expected, dbfile, terminfo = _write_and_read(postings, fmt)
    by_id = {e[0]: fmt.decode_positions(e[2]) for e in expected}
    asked = _asked(data, by_id)
    found = _positions_at(_cursor(dbfile, terminfo), np.array(asked, dtype=np.int64))
    if found is None:  # only for float weights: the caller falls back to values_at
        assert any(not float(w).is_integer() for _g, w, _p, _l in postings)
        return
    want = [(d, p) for d in asked if d in by_id for p in by_id[d]]
    assert list(zip(found[0].tolist(), found[1].tolist(), strict=True)) == want


def _dump_postings(index_dir: Path) -> list[tuple[str, bytes, bytes, bytes]]:
    """Every term of every segment: its term info and its posting bytes."""
    from clipsearch.writing.build import open_whoosh_index

    out = []
    with open_whoosh_index(index_dir).reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            terms = leaf._terms
            for fieldname, text in leaf.all_terms():
                info = terms.term_info(fieldname, text)
                stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length())
                stats += (info.max_weight(), info.min_id(), info.max_id())
                raw = b""
                if info.is_inlined():
                    raw = repr(info._inlined).encode()
                else:
                    offset, length = info.extent()
                    length = length[0] if isinstance(length, tuple) else length  # as W3 reads it back
                    raw = bytes(terms._postfile.get(offset, length))
                out.append((fieldname, text, repr(stats).encode(), raw))
    return out


@pytest.mark.parametrize("procs", [1, 2])
def test_field_writer_writes_what_whoosh_loop_writes(tmp_path: Path, procs: int) -> None:
    """CompactFieldWriter.add_postings (lengths read per field) writes the
    same terms and blocks, min and max lengths included, as Whoosh's loop
    (lengths read per posting)."""
    from whoosh.codec.base import FieldWriter

    import clipsearch
    from clipsearch.codec.compact import CompactFieldWriter

    from .conftest import write_clipping

    words = "hà nội mùa lúa văn phòng cấp ủy bão lũ miền trung người dân".split()
    (tmp_path / "docs").mkdir()
    for n in range(60):
        body = " ".join(words[(n * 7 + k * k) % len(words)] for k in range(5 + n * 3))
        write_clipping(tmp_path / "docs", f"d{n:02d}", f"Tin {words[n % len(words)]} {n}", words[n % 5], [body])
    clipsearch.build_index([tmp_path / "docs"], tmp_path / "ours", procs=procs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CompactFieldWriter, "add_postings", FieldWriter.add_postings)
        clipsearch.build_index([tmp_path / "docs"], tmp_path / "whoosh", procs=procs)
    # Every posting, by clipping id, whichever segment holds it.
    assert _postings_by_clipping(tmp_path / "ours") == _postings_by_clipping(tmp_path / "whoosh")
    # The parallel writer hands batches to whichever process is free: the
    # bytes are comparable when both runs split the clippings alike.
    if _segments(tmp_path / "ours") == _segments(tmp_path / "whoosh"):
        ours, theirs = _dump_postings(tmp_path / "ours"), _dump_postings(tmp_path / "whoosh")
        assert len(ours) > 200
        assert ours == theirs
    else:
        assert procs > 1, "a single process splits the same way every time"


def _segments(index_dir: Path) -> list[frozenset[str]]:
    """The clipping ids of each segment."""
    from clipsearch.writing.build import open_whoosh_index

    with open_whoosh_index(index_dir).reader() as reader:
        return [
            frozenset(leaf.stored_fields(d)["id"] for d in range(leaf.doc_count_all()))
            for leaf, _offset in reader.leaf_readers()
        ]


def _postings_by_clipping(index_dir: Path) -> list[tuple[str, bytes, str, float, bytes]]:
    """Every posting as (field, term, clipping id, weight, value), sorted."""
    from clipsearch.writing.build import open_whoosh_index

    out = []
    with open_whoosh_index(index_dir).reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            ids = [leaf.stored_fields(d)["id"] for d in range(leaf.doc_count_all())]
            for fieldname, text in leaf.all_terms():
                matcher = leaf._terms.matcher(fieldname, text, leaf.schema[fieldname].format)
                while matcher.is_active():
                    out.append((fieldname, text, ids[matcher.id()], matcher.weight(), matcher.value() or b""))
                    matcher.next()
    assert len(out) > 1000
    return sorted(out)


def test_values_stay_compressed_only_where_zlib_saves_a_third() -> None:
    """Positions that zlib barely shrinks are written as they are (reading
    them skips a decompression); repetitive ones stay compressed. Both read
    back the same."""
    import random

    from clipsearch.codec.layout import VALUES_MIN_SAVING, VALUES_ZLIB

    rng = random.Random(5)
    scattered = [(0, 1.0, sorted(rng.sample(range(100_000), 6)), 900) for _ in range(300)]
    repeated = [(0, 1.0, [1, 2, 3, 4, 5, 6], 900) for _ in range(300)]
    fmt = VarintPositions()
    for postings, compressed in ((scattered, False), (repeated, True)):
        expected, dbfile, terminfo = _write_and_read(postings, fmt)
        cursor = _cursor(dbfile, terminfo)
        assert bool(cursor._flags & VALUES_ZLIB) is compressed
        raw = b"".join(e[2] for e in expected)
        stored = abs(cursor._next) - cursor._head_start - cursor._head_size
        assert (stored <= len(raw) * (1 - VALUES_MIN_SAVING)) is compressed
        assert values_at(cursor, [e[0] for e in expected]) == {e[0]: e[2] for e in expected}


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.integers(0, 2**40).map(float), st.floats(0.0, 1e6, width=32)),
    st.integers(1, 2**31),
    st.integers(0, 255),
    st.integers(0, 255),
    st.one_of(st.integers(0, 2**40).map(float), st.floats(0.0, 1e6, width=32)),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**31),
    st.one_of(st.none(), st.tuples(st.integers(0, 2**40), st.integers(1, 2**31))),
    st.one_of(st.none(), st.binary(min_size=1, max_size=300)),
)
def test_compact_term_infos_round_trip(
    weight: float,
    df: int,
    min_length: int,
    max_length: int,
    max_weight: float,
    min_id: int,
    span: int,
    extent: tuple[int, int] | None,
    value: bytes | None,
) -> None:
    if extent is None:
        df = 1  # only a term of one document is inline
    raw = encode_term_info(
        weight, df, min_length, max_length, max_weight, min_id, min_id + span, extent=extent, value=value
    )
    fields = decode_term_info(memoryview(b"\x00" + raw)[1:])
    assert fields == (
        weight,
        df,
        min_length,
        max_length,
        max_weight,
        min_id,
        min_id + span,
        extent,
        value if extent is None else None,
    )
    # What Whoosh reads: the same term info, W3's term info's fields
    terminfo = CompactTermInfo.from_bytes(raw)
    assert (terminfo.weight(), terminfo.doc_frequency(), terminfo.min_id(), terminfo.max_id()) == (
        weight,
        df,
        min_id,
        min_id + span,
    )
    assert CompactTermInfo.bytes_of(terminfo) == raw
    if extent is None:
        assert terminfo.inlined_postings() == ((min_id,), (weight,), (value or b"",))
    else:
        assert terminfo.extent() == extent


def test_a_term_of_several_documents_is_never_inline() -> None:
    with pytest.raises(ValueError):
        encode_term_info(2.0, 2, 1, 1, 1.0, 3, 9)


def test_compact_term_infos_are_smaller_than_w3s() -> None:
    """The reason for them: a term of one clipping costs a fraction of W3's term info and block."""
    terminfo = W3TermInfo()
    terminfo._weight, terminfo._df, terminfo._minlength, terminfo._maxlength = 3.0, 1, 250, 250
    terminfo._maxweight, terminfo._minid, terminfo._maxid = 3.0, 12345, 12345
    terminfo.set_extent(1_000_000, 30)
    compact = encode_term_info(3.0, 1, 100, 100, 3.0, 12345, 12345, value=b"\x01\x05")
    assert len(compact) * 3 < len(terminfo.to_bytes()) + 20, (len(compact), len(terminfo.to_bytes()))


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.binary(min_size=1, max_size=12), max_size=400), st.sets(st.binary(min_size=1, max_size=12), max_size=50)
)
def test_terms_files_with_fewer_slots_find_every_term(keys: set[bytes], others: set[bytes]) -> None:
    """The terms file's hash tables have 1.25 slots per key (Whoosh: 2):
    every key is found by clipsearch's reader and Whoosh's, no other is."""
    from whoosh.filedb.filetables import OrderedHashReader

    from clipsearch.codec.compact import HASH_LOAD, CompactHashWriter
    from clipsearch.reading.terms import TermsFile

    buf = io.BytesIO()
    buf.close = lambda: None  # type: ignore[method-assign]  # closing the writer closes its file: keep the bytes
    writer = CompactHashWriter(StructFile(buf))
    writer.extras["fieldmap"] = {"f": 0}
    entries = sorted(b"\x00\x00" + key for key in keys)
    for n, key in enumerate(entries):
        writer.add(key, n.to_bytes(4, "big"))
    writer.close()
    data = buf.getvalue()
    ours = TermsFile(memoryview(data))
    whoosh = OrderedHashReader(StructFile(io.BytesIO(data)), len(data))
    assert sum(slots for _start, slots in ours._tables) <= len(keys) * HASH_LOAD + 256
    for n, key in enumerate(entries):
        assert bytes(ours.get("f", key[2:]) or b"") == n.to_bytes(4, "big") == whoosh[key]
    assert list(whoosh.keys()) == entries  # in order, for Whoosh's term iteration
    for other in others - keys:
        assert ours.get("f", other) is None and b"\x00\x00" + other not in whoosh
