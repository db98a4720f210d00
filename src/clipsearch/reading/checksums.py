"""Checksums of an index's files: written with each commit, checked by readers.

Whoosh's files carry no checksum: a flipped byte in a length column changes
the ranking with no error. So each commit writes, before its table of
contents becomes visible, ``_<name>_<generation>.sums`` (JSON): the CRC-32
and size of the table of contents, and the size of each segment file with the
offset, length and CRC-32 of each of its parts (the sub-files of a compound
segment: terms, postings, each column). Readers check the table of contents,
every file's size and every part up to :data:`CHECKED_ON_OPEN` bytes when
they open a generation (lengths, dates, sources, small term files: what a
search reads whole), and everything on demand
(:meth:`clipsearch.reading.segments.IndexFiles.verify`): indexing runs do it
before they write, and a search does it when a part fails to decode.

Larger parts (the terms, the postings, the stored fields) would cost a
one-off query more to check whole than to search. For them the file also
holds the CRC-32 of each chunk of the part (``chunks``: per part, the chunk
size and the CRCs as hexadecimal, 8 digits each), and readers check a chunk
the first time they read a byte of it (:class:`Chunks`, one per part of an
open generation), so a search checks what it reads and little more. Chunks
are :data:`CHUNK` bytes, smaller for the terms file (:data:`CHUNK_BY_SUFFIX`),
whose lookups read a few bytes here and there: small chunks check less per
read, but make the file every opening reads longer. The size is written with
each part's CRCs, so readers take it from the file. Files written without
them (by clipsearch before chunk CRCs) are read as before; the next commit
adds them for the segment files whose bytes still match their part CRCs.
Readers of those versions ignore them.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from clipsearch.schema import damaged, read_index_file

__all__ = [
    "CHECKED_ON_OPEN",
    "CHUNK",
    "CHUNK_BY_SUFFIX",
    "Chunks",
    "Part",
    "chunk_size",
    "chunked",
    "crc",
    "part_sums",
    "read_sums",
    "sums_path",
    "write_sums",
]

#: Parts up to this size are checked whenever a generation is opened; larger
#: ones get chunk CRCs (:func:`part_sums`), checked as they are read.
CHECKED_ON_OPEN = 1 << 20
#: The size of the chunks of a large part, each with its own CRC-32 ...
CHUNK = 1 << 14
#: ... but for the parts whose reads are a few bytes here and there (the
#: terms file's lookups): a chunk is read whole to check a byte of it.
CHUNK_BY_SUFFIX = {".trm": 1 << 12}
#: ``(file, part, offset, length, crc)`` of one part of a segment file.
Part = tuple[str, str, int, int, int]

_MASK = 0xFFFFFFFF


def crc(data: Any) -> int:
    """The CRC-32 of a buffer."""
    return zlib.crc32(data) & _MASK


def chunked(length: int) -> bool:
    """Whether a part of ``length`` bytes is too large to be checked when a
    generation is opened, and gets chunk CRCs instead (read at each call:
    tests lower :data:`CHECKED_ON_OPEN`)."""
    return length > CHECKED_ON_OPEN


def chunk_size(part: str) -> int:
    """The size of the chunks of the part named ``part``."""
    for suffix, size in CHUNK_BY_SUFFIX.items():
        if part.endswith(suffix):
            return size
    return CHUNK


def part_sums(data: Any, size: int | None = None) -> tuple[int, list[Any] | None]:
    """The CRC-32 of a part's bytes and, if it is :func:`chunked`, the CRCs
    of its chunks of ``size`` bytes (:data:`CHUNK` unless given) as the sums
    file holds them: ``[chunk size, hexadecimal CRCs]``."""
    view = memoryview(data).cast("B")
    if not chunked(len(view)):
        return crc(view), None
    size = size or CHUNK
    whole = 0
    sums = bytearray()
    for at in range(0, len(view), size):
        piece = view[at : at + size]
        whole = zlib.crc32(piece, whole)
        sums += crc(piece).to_bytes(4, "big")
    return whole & _MASK, [size, sums.hex()]


class Chunks:
    """The chunk CRCs of one part of a segment file, over ``buf`` (the
    part's bytes): :meth:`check` checks the chunks a range of bytes lies in,
    each once (verifying one twice, as two threads may, is harmless)."""

    __slots__ = ("_buf", "_done", "_file", "_folder", "_part", "_size", "_sums")

    def __init__(self, folder: Path, file: str, part: str, buf: memoryview, size: int, sums: str) -> None:
        self._folder, self._file, self._part = folder, file, part
        self._buf = buf
        self._size = size
        self._sums = sums  # hexadecimal digits only: read_sums checked them
        if size <= 0 or len(sums) != 8 * -(-len(buf) // size):
            raise damaged(folder, f"file {file}, part {part} is not where it was written")
        self._done = bytearray(len(sums) // 8)

    def check(self, start: int, end: int) -> None:
        """Check the chunks holding bytes ``start`` to ``end`` (excluded) of
        the part, unless checked before. Raises
        :class:`~clipsearch.errors.IndexDamagedError` for one that does not
        match its CRC."""
        start = max(start, 0)
        end = min(end, len(self._buf))
        if end <= start:
            return
        size, done = self._size, self._done
        first, last = start // size, (end - 1) // size
        if first == last:
            if not done[first]:
                self._verify(first)
            return
        at = done.find(0, first, last + 1)
        while at >= 0:
            self._verify(at)
            at = done.find(0, at + 1, last + 1)

    def check_all(self) -> int:
        """Check every chunk not checked yet; the bytes checked."""
        checked = 0
        at = self._done.find(0)
        while at >= 0:
            checked += self._verify(at)
            at = self._done.find(0, at + 1)
        return checked

    def _verify(self, chunk: int) -> int:
        at = chunk * self._size
        piece = self._buf[at : at + self._size]
        if crc(piece) != int(self._sums[8 * chunk : 8 * chunk + 8], 16):
            raise damaged(self._folder, f"file {self._file}, part {self._part} does not match its checksum")
        self._done[chunk] = 1
        return len(piece)


def sums_path(folder: Path, name: str, generation: int) -> Path:
    """The checksums of one generation of the index ``name``."""
    return folder / f"_{name}_{generation}.sums"


def write_sums(
    path: Path,
    toc: bytes,
    sizes: dict[str, int],
    frames: dict[str, int],
    parts: Iterable[Part],
    chunks: Mapping[str, Mapping[str, list[Any]]] | None = None,
) -> None:
    """Write the checksums of a generation: its table of contents' bytes,
    each segment file's size and the CRC of its bytes outside its parts
    (``frames``), each part's place and CRC, and the chunk CRCs of the large
    parts (``chunks``: file -> part -> what :func:`part_sums` gives)."""
    data: dict[str, Any] = {
        "toc": [len(toc), crc(toc)],
        "files": {
            name: {"size": size, "frame": frames.get(name, 0), "parts": {}} for name, size in sorted(sizes.items())
        },
    }
    for file, part, offset, length, checksum in parts:
        data["files"][file]["parts"][part] = [offset, length, checksum]
    for file, by_part in (chunks or {}).items():
        if by_part:
            data["files"][file]["chunks"] = {part: list(value) for part, value in sorted(by_part.items())}
    tmp = path.with_name(path.name + ".new")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_chunks(entry: dict[str, Any]) -> None:
    """Raise ValueError unless the chunk CRCs of a file's entry (if any) are
    what :func:`write_sums` writes: per part it has, a positive chunk size
    and 8 hexadecimal digits per chunk."""
    chunks = entry.get("chunks", {})
    if not isinstance(chunks, dict):
        raise ValueError("bad types")
    for part, value in chunks.items():
        size, sums = value
        _offset, length, _checksum = entry["parts"][part]
        if not (_is_int(size) and size > 0 and isinstance(sums, str)):
            raise ValueError("bad types")
        count = -(-length // size)
        if len(sums) != 8 * count or len(bytes.fromhex(sums)) != 4 * count:
            raise ValueError("bad chunks")


def read_sums(path: Path) -> dict[str, Any] | None:
    """What :func:`write_sums` wrote (None: no such file). Raises
    :class:`~clipsearch.errors.IndexDamagedError` for a file that is not what it wrote."""
    try:
        raw = read_index_file(path)
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        toc_size, toc_crc = data["toc"]
        files = data["files"]
        if not (isinstance(toc_size, int) and isinstance(toc_crc, int) and isinstance(files, dict)):
            raise ValueError("bad types")
        for entry in files.values():
            if not all(isinstance(entry[key], int) for key in ("size", "frame")) or not isinstance(
                entry["parts"], dict
            ):
                raise ValueError("bad types")
            for offset, length, checksum in entry["parts"].values():
                if not all(isinstance(v, int) for v in (offset, length, checksum)):
                    raise ValueError("bad types")
            _check_chunks(entry)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise damaged(path.parent, f"file {path.name} is unreadable") from None
    result: dict[str, Any] = data
    return result
