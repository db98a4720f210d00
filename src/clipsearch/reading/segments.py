"""The files of an index read directly, without importing Whoosh.

Whoosh (whoosh-reloaded 2.7) writes an index as:

* a table of contents per generation, ``_<name>_<generation>.toc``
  (:mod:`clipsearch.reading.toc`): a few numbers, the pickled schema, then
  the pickled list of segments;
* per segment, a compound file ``<name>_<segment id>.seg``: a directory
  (pickled) of its sub-files, which are

  - ``.trm``, the terms (:mod:`clipsearch.reading.terms`): term -> term
    info, the term's statistics, then its postings inline or where they are
    in ``.pst``;
  - ``.pst``, the posting lists, in :mod:`clipsearch.codec.layout` blocks;
  - ``.<column>.col``, per-document columns: each field's lengths
    (``_<field>_len``, one byte per document), the stored fields
    (``_stored``), ``day``, ``source_key`` and others.

Whoosh writes all of it (:mod:`clipsearch.writing.build`). Reading it, though, needs
little of Whoosh's reader, and importing Whoosh is slow for a cold ``clipsearch
query`` (``whoosh.compat`` imports ``urllib.request`` and with it http, email
and ssl; the ``cached_property`` package imports asyncio). So the search path
reads the files here, with the standard library and numpy, from memory maps.
The pickles hold Whoosh's and clipsearch's classes; they are loaded with
stand-ins (:mod:`clipsearch.pickles`) that keep the objects' state without
importing their modules. The tests compare every reading here with Whoosh's reader.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import pickle
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from clipsearch.codec.blocks import BlockCursor, decode_postings
from clipsearch.codec.terminfo import decode_term_info
from clipsearch.errors import IndexNotFoundError, IndexVersionError
from clipsearch.pickles import load_stand_ins
from clipsearch.reading.checksums import Chunks, chunked, crc, read_sums, sums_path
from clipsearch.reading.terms import TermsFile
from clipsearch.reading.toc import latest_generation, read_toc, toc_path
from clipsearch.schema import META_FILE, RENAMED_CLASSES, damaged, open_index_file, read_index_file
from clipsearch.text.normalize import clean

__all__ = [
    "IndexFiles",
    "UNREADABLE",
    "open_index_files",
    "Inline",
    "Segment",
    # Re-exported from clipsearch.reading.toc for clipsearch.search and clipsearch.writing.build.
    "latest_generation",
    "toc_path",
]

_TERM_INFO = struct.Struct("!BfIBBfII")  # flags, weight, doc freq, min/max length, max weight, min/max id
_LONG_INT = struct.Struct("!qi")


#: Checks that the bytes ``start`` to ``end`` of a part match its chunk CRCs
#: (:meth:`clipsearch.reading.checksums.Chunks.check`).
Check = Callable[[int, int], None]


def _map(path: Path) -> Any:
    """A read-only memory map of a file (an empty file: empty bytes). Raises
    :class:`FileNotFoundError` if there is none, and
    :class:`~clipsearch.errors.IndexDamagedError` if it is not a regular file
    (:func:`~clipsearch.schema.open_index_file`) or cannot be mapped."""
    fd = open_index_file(path)
    try:
        if os.fstat(fd).st_size == 0:
            return b""
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise damaged(path.parent, f"file {path.name} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


class _Files:
    """A segment's sub-files by extension: views of its compound file, or
    of files of their own."""

    def __init__(self, folder: Path, segment_name: str, compound: bool) -> None:
        self.folder = folder
        self._maps: list[Any] = []
        self._ranges: dict[str, tuple[Any, int, int]] = {}
        #: Each sub-file's file (the compound file, or its own).
        self.file_of: dict[str, str] = {}
        #: The size of each file.
        self.sizes: dict[str, int] = {}
        if compound:
            name = f"{segment_name}.seg"
            data = _map(folder / name)
            self._maps.append(data)
            self.sizes[name] = len(data)
            directory_at, _length = _LONG_INT.unpack_from(data, 0)
            directory = load_stand_ins(data[directory_at:], RENAMED_CLASSES)
            for sub, info in directory.items():
                offset, length = int(info["offset"]), int(info["length"])
                if offset < 0 or length < 0 or offset + length > len(data):
                    raise ValueError(f"part {sub} lies outside {name}")
                self._ranges[sub] = (data, offset, length)
                self.file_of[sub] = name
        else:
            for entry in os.listdir(folder):
                if entry.startswith(segment_name + "."):
                    data = _map(folder / entry)
                    self._maps.append(data)
                    self._ranges[entry] = (data, 0, len(data))
                    self.file_of[entry] = entry
                    self.sizes[entry] = len(data)
        self.name = segment_name

    def frame(self, file: str) -> bytes:
        """The bytes of ``file`` outside its parts (a compound file's header
        and directory)."""
        maps = [data for sub, (data, _o, _l) in self._ranges.items() if self.file_of[sub] == file]
        if not maps:
            return b""
        data = maps[0]
        spans = sorted(
            (offset, offset + length) for sub, (_d, offset, length) in self._ranges.items() if self.file_of[sub] == file
        )
        gaps, at = [], 0
        for start, end in spans:
            if start > at:
                gaps.append(bytes(data[at:start]))
            at = max(at, end)
        gaps.append(bytes(data[at:]))
        return b"".join(gaps)

    def parts(self) -> list[tuple[str, str, int, memoryview]]:
        """``(file, part, offset, bytes)`` of every sub-file."""
        return [
            (self.file_of[sub], sub, offset, memoryview(data)[offset : offset + length])
            for sub, (data, offset, length) in sorted(self._ranges.items())
        ]

    def get(self, ext: str) -> memoryview | None:
        """The sub-file ``<segment><ext>``, or None."""
        found = self._ranges.get(self.name + ext)
        if found is None:
            return None
        data, offset, length = found
        return memoryview(data)[offset : offset + length]

    def check_sizes(self) -> None:
        """Raise :class:`~clipsearch.errors.IndexDamagedError` if a mapped file
        is now shorter than its map: reading its end would kill the process
        (SIGBUS). A file removed meanwhile (a commit merged it away) is fine:
        its map stays readable."""
        for name, size in self.sizes.items():
            try:
                now = os.stat(self.folder / name).st_size
            except OSError:
                continue
            if now < size:
                raise damaged(self.folder, f"file {name} was cut short while open ({size:,} to {now:,} bytes)")

    def close(self) -> None:
        for data in self._maps:
            if isinstance(data, mmap.mmap):
                with contextlib.suppress(BufferError):  # a view still held: the map goes with it
                    data.close()
        self._maps = []


class Inline(NamedTuple):
    """The postings Whoosh keeps in the term info itself (a term of one document)."""

    ids: tuple[int, ...]
    weights: tuple[float, ...]
    values: tuple[Any, ...]


class _TermInfo(NamedTuple):
    doc_frequency: int
    postings: Inline | tuple[int, int]  # inline postings, or (offset, length) in the postings file


def _compact_term_info(raw: memoryview) -> _TermInfo:
    """A term info of :mod:`clipsearch.codec.terminfo`."""
    fields = decode_term_info(raw)
    if fields.extent is None:
        return _TermInfo(fields.doc_frequency, Inline((fields.min_id,), (fields.weight,), (fields.value or b"",)))
    return _TermInfo(fields.doc_frequency, fields.extent)


def _term_info(raw: memoryview) -> _TermInfo:
    """A term info as Whoosh's W3 codec writes it."""
    flags, _weight, df, _minl, _maxl, _maxw, _minid, _maxid = _TERM_INFO.unpack_from(raw, 0)
    if flags:
        ids, weights, values = load_stand_ins(raw[_TERM_INFO.size :], RENAMED_CLASSES)
        return _TermInfo(df, Inline(tuple(ids), tuple(weights), tuple(values)))
    offset, length = _LONG_INT.unpack_from(raw, _TERM_INFO.size)
    return _TermInfo(df, (offset, length))


class Segment:
    """One segment of the index: its documents, terms, postings and columns.

    With the checksums of its generation (``sums``, what
    :func:`~clipsearch.reading.checksums.read_sums` gives), its files' sizes,
    the places of their parts and the small parts are checked before
    anything is read (:meth:`verify`), and the large parts with chunk CRCs
    as they are read: the terms and postings a search reads, the stored
    fields of the documents it shows, a column read whole."""

    def __init__(self, folder: Path, info: Any, sums: dict[str, Any] | None = None) -> None:
        try:
            name = f"{info.indexname}_{info.segid}"
            self.doc_count_all: int = int(info._doccount)
            self.deleted: frozenset[int] = frozenset(info._deleted or ())
            self.field_lengths: dict[str, int] = dict(info._fieldlengths or {})
            compound = bool(getattr(info, "compound", False))
            #: Whether its stored fields are in blocks (:mod:`clipsearch.codec.stored_blocks`):
            #: its codec says so (a codec pickled before them has no ``stored_blocks``).
            codec = getattr(info, "_codec", None)
            self.stored_blocks: bool = getattr(codec, "stored_blocks", False) is True
            #: Whether its term infos are compact (:mod:`clipsearch.codec.terminfo`), as its codec says.
            self._read_term_info = _compact_term_info if getattr(codec, "compact_terms", False) is True else _term_info
        except AttributeError as exc:
            raise IndexVersionError(f"a segment this version cannot read ({exc}): rebuild the index") from None
        self.folder = folder
        self.files = _Files(folder, name, compound)
        #: The chunk CRCs of the large parts, by part.
        self._chunks: dict[str, Chunks] = {}
        self._terms: TermsFile | None = None
        self._postings: memoryview | None = None
        try:
            if sums is not None:
                self.verify(sums["files"], full=False)
            terms = self.files.get(".trm")
            self._terms = TermsFile(terms, self.check(".trm")) if terms is not None else None
        except BaseException:
            self.close()
            raise
        self._postings = self.files.get(".pst")
        self._check_postings = self.check(".pst")
        self._infos: dict[tuple[str, str], _TermInfo | None] = {}

    def check(self, ext: str) -> Check | None:
        """What checks the bytes read from the part ``<segment><ext>``
        against its chunk CRCs (None: it has none, being checked whole when
        the generation is opened, or written without them)."""
        chunks = self._chunks.get(self.files.name + ext)
        return chunks.check if chunks is not None else None

    def verify(self, known: dict[str, Any], *, full: bool = True) -> int:
        """Check this segment's files against ``known`` (the ``files`` of
        the checksums of its generation): their sizes, the bytes outside
        their parts, the places of their parts and the parts' bytes (only the
        parts without chunk CRCs, up to
        :data:`~clipsearch.reading.checksums.CHECKED_ON_OPEN` bytes, unless
        ``full``); the bytes checked."""
        folder = self.folder
        files = self.files
        for file, size in files.sizes.items():
            entry = known.get(file)
            if entry is None:
                raise damaged(folder, f"file {file} is not the one this generation was written with")
            if entry["size"] != size:
                raise damaged(folder, f"file {file} has {size:,} bytes, not {entry['size']:,}")
            if entry.get("frame", 0) != crc(files.frame(file)):
                raise damaged(folder, f"file {file} does not match its checksum")
        checked = 0
        for file, part, offset, data in files.parts():
            expected = known[file]["parts"].get(part)
            if expected is None or expected[:2] != [offset, len(data)]:
                raise damaged(folder, f"file {file}, part {part} is not where it was written")
            chunks = self._chunks.get(part)
            if chunks is None and part in known[file].get("chunks", {}):
                size, sums = known[file]["chunks"][part]
                chunks = self._chunks[part] = Chunks(folder, file, part, data, size, sums)
            if full or (chunks is None and not chunked(len(data))):
                if crc(data) != expected[2]:
                    raise damaged(folder, f"file {file}, part {part} does not match its checksum")
                checked += len(data)
            if full and chunks is not None:
                chunks.check_all()
        return checked

    def term_info(self, field: str, text: str) -> _TermInfo | None:
        """A term's document frequency and where its postings are (None: not in this segment)."""
        key = (field, text)
        if key in self._infos:
            return self._infos[key]
        raw = self._terms.get(field, text.encode("utf-8")) if self._terms is not None else None
        info = self._read_term_info(raw) if raw is not None else None
        if len(self._infos) >= 65536:
            self._infos.clear()
        self._infos[key] = info
        return info

    def postings(self, field: str, text: str) -> BlockCursor | Inline | None:
        """A term's postings here: a cursor over its blocks, its inline
        postings, or None."""
        info = self.term_info(field, text)
        if info is None:
            return None
        if isinstance(info.postings, Inline):
            return info.postings
        offset, _length = info.postings
        return BlockCursor(self._postings, offset, self._check_postings)

    def column(self, name: str, *, whole: bool = True) -> memoryview | None:
        """The bytes of the column ``name`` (None: the segment has none),
        checked whole against its chunk CRCs, if it has them, unless not
        ``whole`` (then :meth:`check` gives what checks the bytes read)."""
        ext = f".{name}.col"
        buf = self.files.get(ext)
        if buf is not None and whole:
            chunks = self._chunks.get(self.files.name + ext)
            if chunks is not None:
                chunks.check_all()
        return buf

    def close(self) -> None:
        self._terms = None
        self._postings = None
        self._check_postings = None
        self._chunks = {}
        self.files.close()


#: What reading damaged bytes raises, besides a checksum that does not match.
UNREADABLE = (
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    AttributeError,
    EOFError,
    OverflowError,
    struct.error,
    zlib.error,
    pickle.UnpicklingError,
    UnicodeDecodeError,
    MemoryError,
)


def open_index_files(folder: Path, name: str, *, checksums_required: bool = False) -> IndexFiles:
    """The latest generation of the index ``name`` in ``folder``. A file that
    disappears while it is opened (a commit replaced the generation) means
    the next generation is opened instead; a file missing from the latest
    generation is damage."""
    for _attempt in range(20):
        generation = latest_generation(folder, name)
        if generation < 0 and (folder / META_FILE).exists():
            raise damaged(folder, "it has no table of contents")
        try:
            return IndexFiles(folder, name, generation, checksums_required=checksums_required)
        except FileNotFoundError as exc:
            if latest_generation(folder, name) == generation:
                missing = Path(exc.filename).name if exc.filename else "a file"
                raise damaged(folder, f"file {missing} is missing") from None
    raise damaged(folder, "no generation could be opened: it changed at every attempt")


class IndexFiles:
    """One generation of the index ``name`` in ``folder``, its segments
    memory-mapped: document counts, term statistics, postings and columns,
    as Whoosh's multi-segment reader gives them (document numbers run on
    from one segment to the next)."""

    def __init__(
        self, folder: str | Path, name: str, generation: int | None = None, *, checksums_required: bool = False
    ) -> None:
        self.folder = Path(folder)
        if generation is None:
            generation = latest_generation(self.folder, name)
        if generation < 0:
            raise IndexNotFoundError(f"no clipsearch index in {str(self.folder)!r}: run `clipsearch index` first")
        self.generation = generation
        path = toc_path(self.folder, name, generation)
        toc_bytes = read_index_file(path)
        self._sums = read_sums(sums_path(self.folder, name, generation))
        if self._sums is None and checksums_required:  # removed with its generation, or damage
            missing = sums_path(self.folder, name, generation)
            raise FileNotFoundError(errno.ENOENT, "no checksums", str(missing))
        if self._sums is not None and self._sums["toc"] != [len(toc_bytes), crc(toc_bytes)]:
            raise damaged(self.folder, f"file {path.name} does not match its checksum")
        self.segments: list[Segment] = []
        try:
            toc = read_toc(path, generation, toc_bytes)
            self.fields = toc.fields
            self.common = toc.common
            for info in toc.segments:  # each checked against the checksums before it is read
                self.segments.append(Segment(self.folder, info, self._sums))
        except BaseException as exc:
            self.close()
            if isinstance(exc, UNREADABLE):
                raise damaged(self.folder, f"generation {generation} cannot be read: {type(exc).__name__}") from None
            raise
        #: Each segment with the number of its first document.
        self.leaves: list[tuple[Segment, int]] = []
        total = 0
        for segment in self.segments:
            self.leaves.append((segment, total))
            total += segment.doc_count_all
        self._total = total

    @property
    def has_checksums(self) -> bool:
        """Whether this generation was written with checksums (indexes of
        clipsearch before 0.2 were not)."""
        return self._sums is not None

    def verify(self, *, full: bool = True) -> int:
        """Check every file of this generation against its checksums (only
        sizes and the parts up to :data:`~clipsearch.reading.checksums.CHECKED_ON_OPEN`
        bytes unless ``full``; with ``full``, also the chunk CRCs of the
        large parts); the bytes checked. Raises
        :class:`~clipsearch.errors.IndexDamagedError` on a difference, or where
        the index has no checksums and ``full``."""
        if self._sums is None:
            if full:
                raise damaged(self.folder, f"generation {self.generation} has no checksums")
            return 0
        known: dict[str, Any] = self._sums["files"]
        return sum(segment.verify(known, full=full) for segment in self.segments)

    def check_sizes(self) -> None:
        """Check that no file of this generation has been cut short since it was
        mapped (:class:`~clipsearch.errors.IndexDamagedError` otherwise): a few
        ``stat`` calls, made before each search reads the maps."""
        for segment in self.segments:
            segment.files.check_sizes()

    def doc_count_all(self) -> int:
        """Documents, deleted ones included (document numbers run below it)."""
        return self._total

    def doc_count(self) -> int:
        """Documents not deleted."""
        return self._total - sum(len(s.deleted) for s in self.segments)

    def doc_frequency(self, field: str, text: str) -> int:
        """How many documents hold a term (deleted ones included, as Whoosh counts)."""
        total = 0
        for segment in self.segments:
            info = segment.term_info(field, text)
            if info is not None:
                total += info.doc_frequency
        return total

    def field_length(self, field: str) -> int:
        """The total length of a field over all documents."""
        return sum(s.field_lengths.get(field, 0) for s in self.segments)

    def document_number(self, clipping_id: str) -> int | None:
        """The document number of the clipping ``clipping_id`` (not deleted), or
        None (also for an id that is not valid Unicode, such as undecodable bytes
        of a command-line argument: every id in an index is UTF-8). The id is
        compared as indexes hold ids: NFC, without invisible characters
        (:func:`clipsearch.clipping.clipping_id`), so one typed in NFD is found."""
        try:
            clipping_id.encode("utf-8")
        except UnicodeEncodeError:
            return None
        clipping_id = clean(clipping_id)
        for segment, offset in self.leaves:
            postings = segment.postings("id", clipping_id)
            if postings is None:
                continue
            ids = decode_postings(postings).ids.tolist() if isinstance(postings, BlockCursor) else postings.ids
            for local in ids:
                if local not in segment.deleted:
                    return int(local) + offset
        return None

    def close(self) -> None:
        """Release the memory maps."""
        for segment in self.segments:
            segment.close()
        self.segments = []
