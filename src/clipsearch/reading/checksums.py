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
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from clipsearch.schema import damaged

__all__ = ["CHECKED_ON_OPEN", "Part", "crc", "read_sums", "sums_path", "write_sums"]

#: Parts up to this size are checked whenever a generation is opened.
CHECKED_ON_OPEN = 1 << 20
#: ``(file, part, offset, length, crc)`` of one part of a segment file.
Part = tuple[str, str, int, int, int]


def crc(data: Any) -> int:
    """The CRC-32 of a buffer."""
    return zlib.crc32(data) & 0xFFFFFFFF


def sums_path(folder: Path, name: str, generation: int) -> Path:
    """The checksums of one generation of the index ``name``."""
    return folder / f"_{name}_{generation}.sums"


def write_sums(path: Path, toc: bytes, sizes: dict[str, int], frames: dict[str, int], parts: Iterable[Part]) -> None:
    """Write the checksums of a generation: its table of contents' bytes,
    each segment file's size and the CRC of its bytes outside its parts
    (``frames``), and each part's place and CRC."""
    data: dict[str, Any] = {
        "toc": [len(toc), crc(toc)],
        "files": {
            name: {"size": size, "frame": frames.get(name, 0), "parts": {}} for name, size in sorted(sizes.items())
        },
    }
    for file, part, offset, length, checksum in parts:
        data["files"][file]["parts"][part] = [offset, length, checksum]
    tmp = path.with_name(path.name + ".new")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def read_sums(path: Path) -> dict[str, Any] | None:
    """What :func:`write_sums` wrote (None: no such file). Raises
    :class:`~clipsearch.errors.IndexDamagedError` for a file that is not what it wrote."""
    try:
        raw = path.read_bytes()
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
    except (ValueError, KeyError, TypeError, AttributeError):
        raise damaged(path.parent, f"file {path.name} is unreadable") from None
    result: dict[str, Any] = data
    return result
