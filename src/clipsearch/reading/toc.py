"""An index's table of contents, read without Whoosh.

Whoosh (``whoosh.index.TOC``) writes one per generation of the index,
``_<name>_<generation>.toc``: a few numbers, the pickled schema, then the
pickled list of segments (each with its id, document count, deleted
documents and total field lengths). The pickles hold Whoosh's and
clipsearch's classes; they are loaded with stand-ins
(:mod:`clipsearch.pickles`) that keep the objects' state without importing
their modules.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import Any, NamedTuple

from clipsearch.codec.varints import read_varint
from clipsearch.errors import IndexVersionError
from clipsearch.pickles import StandIn, load_stand_ins
from clipsearch.schema import RENAMED_CLASSES, read_index_file

__all__ = ["Field", "Toc", "latest_generation", "read_toc", "toc_path"]

_TOC_SIZES = (4, 8, 4)  # int, long and float sizes Whoosh checks


class Field(NamedTuple):
    """What the search needs of a field of the schema."""

    format: str  # its postings format's class ("" for none)
    scorable: bool
    typecode: str  # a numeric column's struct code ("" for none)


def _field(obj: Any) -> Field:
    fmt = getattr(obj, "format", None)
    column = getattr(obj, "column_type", None)
    return Field(
        format=type(fmt).qualified if isinstance(fmt, StandIn) else "",
        scorable=bool(getattr(obj, "scorable", False)),
        typecode=str(getattr(column, "_typecode", "")),
    )


def latest_generation(folder: Path, name: str) -> int:
    """The newest generation of the index ``name`` in ``folder`` (-1: none)."""
    pattern = re.compile(rf"^_{re.escape(name)}_([0-9]+)\.toc$")
    found = -1
    try:
        entries = os.listdir(folder)
    except OSError:
        return -1
    for entry in entries:
        m = pattern.match(entry)
        if m:
            found = max(found, int(m.group(1)))
    return found


def toc_path(folder: Path, name: str, generation: int) -> Path:
    """The table of contents of one generation."""
    return folder / f"_{name}_{generation}.toc"


class Toc(NamedTuple):
    """What a table of contents holds: the schema's fields, the ``pairs``
    tokenizer's common syllables and the segments (stand-ins)."""

    fields: dict[str, Field]
    common: frozenset[str]
    segments: list[Any]


def read_toc(path: Path, generation: int, data: bytes | None = None) -> Toc:
    """The table of contents at ``path`` (whose bytes are ``data``, if read
    already), of ``generation`` (``whoosh.index.TOC.read``). Raises
    :class:`FileNotFoundError` if there is none, and
    :class:`~clipsearch.errors.IndexDamagedError` if it is not a regular file
    (:func:`~clipsearch.schema.read_index_file`)."""
    if data is None:
        data = read_index_file(path)
    pos = 0
    sizes = []
    for _ in range(3):
        size, pos = read_varint(data, pos)
        sizes.append(size)
    check, version = struct.unpack_from("!ii", data, pos)
    if tuple(sizes) != _TOC_SIZES or check != -12345 or version != -111:
        raise IndexVersionError(f"{path} is not a table of contents this version reads: rebuild the index")
    pos += 8
    for _ in range(3):  # Whoosh's release
        _release, pos = read_varint(data, pos)
    length, pos = read_varint(data, pos)
    schema = load_stand_ins(data[pos : pos + length], RENAMED_CLASSES)
    pos += length
    written_generation, _unused = struct.unpack_from("!ii", data, pos)
    segments = load_stand_ins(data[pos + 8 :], RENAMED_CLASSES)
    if written_generation != generation:
        raise IndexVersionError(f"{path} holds generation {written_generation}")
    fields = {name: _field(obj) for name, obj in getattr(schema, "_fields", {}).items()}
    pairs = getattr(schema, "_fields", {}).get("pairs")
    common = frozenset(getattr(getattr(pairs, "analyzer", None), "common", ()))
    return Toc(fields, common, list(segments))
