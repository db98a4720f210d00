"""LEB128 varints: a non-negative integer in 7-bit groups, lowest first, the
high bit of each byte set on all but the last.

The posting blocks (:mod:`clipsearch.codec.layout`), the positions of
:class:`~clipsearch.codec.formats.VarintPositions` and Whoosh's table of
contents are written in them. Here they are encoded one list at a time
(:func:`encode_varints`) or many at once with numpy
(:func:`vectorised_encode`), and decoded three ways: one at a time or a few
at a time in plain Python (for a block of at most a few hundred, faster than
numpy's set-up), and a whole buffer of them at once with numpy
(:func:`vectorised_varints`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "decode_varints",
    "encode_varints",
    "interleave",
    "row_varints",
    "read_varint",
    "read_varints",
    "vectorised_encode",
    "vectorised_varints",
]


def encode_varints(values: Iterable[int]) -> bytes:
    """LEB128-encode non-negative integers."""
    if not isinstance(values, list | tuple):
        values = list(values)
    if not values:
        return b""
    if max(values) < 0x80:  # all one byte each (and bytes() refuses a negative one)
        return bytes(values)
    out = bytearray()
    for v in values:
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


def vectorised_encode(values: Any) -> tuple[Any, Any]:
    """The varints of ``values`` (a numpy array of non-negative integers),
    joined in one uint8 array as :func:`encode_varints` writes them, and
    each one's size in bytes (int64)."""
    import numpy as np

    values = np.asarray(values, dtype=np.int64)
    if len(values) and int(values.min()) < 0:
        raise ValueError("varints are non-negative")
    sizes = np.ones(len(values), dtype=np.int64)
    rest = values >> 7
    while rest.any():
        sizes += rest > 0
        rest >>= 7
    if not len(values) or int(sizes.max()) == 1:
        return values.astype(np.uint8), sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    starts = np.cumsum(sizes) - sizes
    for k in range(int(sizes.max())):
        live = np.flatnonzero(sizes > k)
        more = (sizes[live] > k + 1).astype(np.int64) << 7  # the high bit: another byte follows
        out[starts[live] + k] = ((values[live] >> (7 * k)) & 0x7F) | more
    return out, sizes


def interleave(parts: Sequence[tuple[Any, Any]]) -> tuple[Any, Any]:
    """Rows of bytes made of parts: each part is its rows' bytes joined (a
    uint8 array) and each row's size; row ``r`` of the result is row ``r``
    of each part, one after the other. Returns the rows joined and each
    row's size."""
    import numpy as np

    sizes = np.sum([np.asarray(part_sizes, dtype=np.int64) for _data, part_sizes in parts], axis=0)
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    at = np.cumsum(sizes) - sizes  # where each row's next part goes
    for data, part_sizes in parts:
        part_sizes = np.asarray(part_sizes, dtype=np.int64)
        source_starts = np.cumsum(part_sizes) - part_sizes
        out[np.repeat(at - source_starts, part_sizes) + np.arange(len(data))] = data
        at = at + part_sizes
    return out, sizes


def row_varints(values: Any, where: Any = None) -> tuple[Any, Any]:
    """A part for :func:`interleave`: the varint of ``values[r]`` in each
    row ``r`` (only where ``where[r]``, if given; nothing in the others)."""
    import numpy as np

    values = np.asarray(values)
    if where is None:
        return vectorised_encode(values)
    data, sizes = vectorised_encode(values[where])
    row_sizes = np.zeros(len(where), dtype=np.int64)
    row_sizes[where] = sizes
    return data, row_sizes


def decode_varints(data: bytes) -> list[int]:
    """Every varint of ``data`` (what :func:`encode_varints` wrote)."""
    values = []
    shift = value = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
        else:
            values.append(value)
            shift = value = 0
    return values


def read_varint(buf: Any, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` of ``buf``, and the position after it."""
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def read_varints(raw: bytes, pos: int, count: int) -> tuple[list[int], int]:
    """``count`` varints of ``raw`` from ``pos``, and the position after them."""
    chunk = raw[pos : pos + count]
    if len(chunk) == count and (not count or max(chunk) < 0x80):  # all one-byte varints
        return list(chunk), pos + count
    values = []
    for _ in range(count):
        byte = raw[pos]
        if byte < 0x80:
            values.append(byte)
            pos += 1
        else:
            value, pos = read_varint(raw, pos)
            values.append(value)
    return values, pos


def vectorised_varints(buf: Any, ends: Any) -> Any:
    """Every varint of ``buf`` (a uint8 array) as an int64 array, where
    ``ends`` holds the index of each one's last byte (``np.flatnonzero(buf <
    0x80)``). Most are one byte: only the longer ones are assembled."""
    import numpy as np

    values = buf[ends].astype(np.int64)
    if len(ends) == len(buf):
        return values
    lengths = np.diff(ends, prepend=-1)
    longer = np.flatnonzero(lengths > 1)
    extra = lengths[longer] - 1  # bytes before the last one
    values[longer] <<= 7 * extra  # the last byte holds the highest bits
    # Each of those bytes' index within its varint.
    within = np.arange(int(extra.sum())) - np.repeat(np.cumsum(extra) - extra, extra)
    low = (buf[np.repeat(ends[longer] - extra, extra) + within] & 0x7F).astype(np.int64) << (7 * within)
    values[longer] += np.bincount(np.repeat(np.arange(len(longer)), extra), weights=low, minlength=len(longer)).astype(
        np.int64
    )
    return values
