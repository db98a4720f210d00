"""The index folder as Whoosh storage, for the writer.

* Segments are read from a memory map without copying them: whoosh-reloaded
  memory-maps each segment (``.seg``) file, then wraps every sub-file it opens
  in ``BufferFile``, whose ``BytesIO`` copies the sub-file into memory.
  :class:`SegmentStorage` memory-maps ``.seg`` files itself and serves
  sub-files as views of the map, so memory stays with the OS page cache.
* An index is opened with the schema this version builds for it
  (:func:`clipsearch.writing.fields.build_schema` with the index's common
  syllables), not the one pickled in its table of contents, and the pickled
  segments' classes are looked up under their current names
  (:data:`clipsearch.schema.RENAMED_CLASSES`): indexes written before a class
  moved are updated as they are.
* Before a table of contents is put in place (Whoosh writes it under a
  temporary name, then renames it), the checksums of its generation are
  written (:mod:`clipsearch.reading.checksums`), so that every generation a
  reader can see has them.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import re
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile, StructFile

from clipsearch.errors import ClipsearchError
from clipsearch.reading.checksums import Part, chunk_size, chunked, crc, part_sums, read_sums, sums_path, write_sums
from clipsearch.reading.segments import IndexFiles, Segment
from clipsearch.reading.toc import read_toc
from clipsearch.schema import EXACT_WORDS_FIELD, RENAMED_CLASSES, read_index_file
from clipsearch.writing.fields import build_schema

__all__ = ["SegmentStorage"]

_TOC_NAME = re.compile(r"^_(?P<name>.+)_(?P<generation>\d+)\.toc$")


class _MemoryReader:
    """A read-only, seekable file over a memoryview; reads are copies of
    the bytes asked for only."""

    def __init__(self, buf: memoryview) -> None:
        self._buf = buf
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._buf):
            return b""
        end = len(self._buf) if size is None or size < 0 else min(len(self._buf), self._pos + size)
        data = bytes(self._buf[self._pos : end])
        self._pos = end
        return data

    def readline(self, size: int = -1) -> bytes:
        start = pos = self._pos
        if start >= len(self._buf):
            return b""
        limit = len(self._buf) if size is None or size < 0 else min(len(self._buf), start + size)
        while pos < limit:
            chunk = bytes(self._buf[pos : min(limit, pos + 4096)])
            newline = chunk.find(b"\n")
            if newline != -1:
                pos += newline + 1
                break
            pos += len(chunk)
        return self.read(pos - start)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            offset += self._pos
        elif whence == os.SEEK_END:
            offset += len(self._buf)
        self._pos = max(0, offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        pass


class _ViewFile(BufferFile):
    """``BufferFile`` over a memoryview, without its ``BytesIO`` copy."""

    def __init__(self, buf: memoryview, name: str | None = None, onclose: Any = None) -> None:
        self._buf = buf
        self._name = name
        self.file = _MemoryReader(buf)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def subset(self, position: int, length: int, name: str | None = None) -> _ViewFile:
        return _ViewFile(self._buf[position : position + length], name=name or self._name)


class _RenamingUnpickler(pickle.Unpickler):
    """Loads classes pickled under an earlier name from their current home."""

    def find_class(self, module: str, name: str) -> Any:
        current = RENAMED_CLASSES.get(f"{module}.{name}")
        if current is not None:
            module, _dot, name = current.rpartition(".")
        return super().find_class(module, name)


class _TocFile(StructFile):
    """A table of contents, whose pickled segments name the codec's class."""

    def read_pickle(self) -> Any:
        return _RenamingUnpickler(self.file).load()


class SegmentStorage(FileStorage):
    """A folder of index files; ``.seg`` files are opened as memory views.

    ``supports_mmap`` stays False so that Whoosh's own copying path is never
    taken: its compound storage then calls :meth:`_ViewFile.subset`."""

    def __init__(self, path: str) -> None:
        super().__init__(path, supports_mmap=False)

    def open_index(self, indexname: str, schema: Any = None, indexclass: Any = None) -> Any:
        """Open the Whoosh index ``indexname``, with the schema this version
        builds for its common syllables and with the fields its segments
        have (``exact_words`` and ``body`` came later), unless ``schema`` is given."""
        if schema is None:
            try:
                files = IndexFiles(self.folder, indexname)
            except ClipsearchError:  # no table of contents: Whoosh says so its own way
                pass
            else:
                files.close()
                schema = build_schema(
                    files.common, exact_words=EXACT_WORDS_FIELD in files.fields, body_z="body_z" in files.fields
                )
        return super().open_index(indexname, schema=schema, indexclass=indexclass)

    def rename_file(self, frm: str, to: str, safe: bool = False) -> None:
        toc = _TOC_NAME.match(to)
        if toc is not None:
            self._write_sums(frm, toc["name"], int(toc["generation"]))
        super().rename_file(frm, to, safe=safe)

    def _write_sums(self, toc_file: str, name: str, generation: int) -> None:
        """Write the checksums of the generation whose table of contents is
        ``toc_file``, reusing those of the previous generation for the
        segment files it already had (segment files never change), chunk
        CRCs included; a large part the previous generation has no chunk
        CRCs for (written by clipsearch before them) gets them if its bytes
        still match its CRC."""
        folder = Path(self.folder)
        data = read_index_file(folder / toc_file)
        previous: dict[str, Any] = {}
        with contextlib.suppress(ClipsearchError):
            previous = (read_sums(sums_path(folder, name, generation - 1)) or {}).get("files", {})
        sizes: dict[str, int] = {}
        frames: dict[str, int] = {}
        parts: list[Part] = []
        chunks: dict[str, dict[str, list[Any]]] = {}

        def add(segment: Segment) -> None:
            """Add a segment's files (in a function of its own: the views of
            its map are gone when it returns, and the map can be closed)."""
            views = {part: (f, offset, view) for f, part, offset, view in segment.files.parts()}
            for file, size in segment.files.sizes.items():
                sizes[file] = size
                by_part = chunks.setdefault(file, {})
                known = previous.get(file)
                if known is not None and known["size"] == size:
                    frames[file] = known["frame"]
                    known_chunks = known.get("chunks", {})
                    for part, where in known["parts"].items():
                        parts.append((file, part, *where))
                        if part in known_chunks:
                            by_part[part] = known_chunks[part]
                        elif chunked(where[1]) and part in views and views[part][0] == file:
                            _f, offset, view = views[part]
                            whole, sums = part_sums(view, chunk_size(part))
                            if sums is not None and [offset, len(view), whole] == where:
                                by_part[part] = sums
                    continue
                frames[file] = crc(segment.files.frame(file))
                for part, (f, offset, view) in views.items():
                    if f == file:
                        whole, sums = part_sums(view, chunk_size(part))
                        parts.append((file, part, offset, len(view), whole))
                        if sums is not None:
                            by_part[part] = sums

        for info in read_toc(folder / toc_file, generation, data).segments:
            segment = Segment(folder, info)
            try:
                add(segment)
            finally:
                segment.close()
        write_sums(sums_path(folder, name, generation), data, sizes, frames, parts, chunks)
        for stale in folder.glob(f"_{name}_*.sums"):
            number = stale.name[len(name) + 2 : -len(".sums")]
            if number.isdigit() and int(number) < generation - 1:
                with contextlib.suppress(OSError):
                    stale.unlink()

    def open_file(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name.endswith(".toc"):
            return _TocFile(open(self._fpath(name), "rb"), *args, name=name, **kwargs)
        if not name.endswith(".seg"):
            return super().open_file(name, *args, **kwargs)
        with open(self._fpath(name), "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return super().open_file(name, *args, **kwargs)
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return _ViewFile(memoryview(mapped), name=name)
