"""The zero-copy segment reader behaves like a file."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from clipsearch.writing.storage import _MemoryReader, _ViewFile

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.integers(-1, 40)),
        st.tuples(st.just("readline"), st.integers(-1, 40)),
        st.tuples(st.just("seek"), st.integers(0, 60)),
        st.tuples(st.just("seek_end"), st.integers(-30, 0)),
        st.tuples(st.just("seek_cur"), st.integers(-5, 5)),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=50).map(lambda b: b.replace(b"x", b"\n")), OPS)
def test_reader_matches_bytesio(data: bytes, ops: list[tuple[str, int]]) -> None:
    ours, ref = _MemoryReader(memoryview(data)), io.BytesIO(data)
    for op, arg in ops:
        if op == "read":
            assert ours.read(arg) == ref.read(arg)
        elif op == "readline":
            assert ours.readline(arg) == ref.readline(arg)
        elif op == "seek":
            assert ours.seek(arg) == ref.seek(arg)
        elif op == "seek_end":
            assert ours.seek(arg, io.SEEK_END) == ref.seek(arg, io.SEEK_END)
        elif ref.tell() + arg >= 0:
            assert ours.seek(arg, io.SEEK_CUR) == ref.seek(arg, io.SEEK_CUR)
        assert ours.tell() == ref.tell()


def test_subset_is_a_view() -> None:
    data = bytearray(b"0123456789")
    whole = _ViewFile(memoryview(data))
    part = whole.subset(2, 5)
    assert part.read(3) == b"234"
    data[3] = ord("X")  # a view, not a copy
    assert part.get(0, 5) == b"2X456"
