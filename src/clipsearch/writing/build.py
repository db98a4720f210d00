"""Indexing runs: clipping files in, a committed Whoosh index out.

:func:`build_index` finds the files, compares them with the index's manifest
(id, content hash, path of every clipping), parses and adds what is new or
changed, removes what was deleted, commits every :data:`COMMIT_EVERY`
clippings and then rewrites the index's statistics
(:mod:`clipsearch.writing.statistics`). The fields and their analysis are in
:mod:`clipsearch.writing.fields`, the posting bytes in :mod:`clipsearch.codec`.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from whoosh.index import LockError

from clipsearch.clipping import Clipping, clipping_from_bytes, read_bytes
from clipsearch.codec.compact import CompactCodec
from clipsearch.errors import ClippingError, IndexLockedError, IndexNotFoundError
from clipsearch.schema import (
    INDEX_NAME,
    LOCK_FILE,
    META_FILE,
    manifest_entry,
    read_manifest_entry,
    read_meta,
    write_meta,
)
from clipsearch.searching.filters import day_number, source_key
from clipsearch.text.normalize import clean
from clipsearch.text.zones import common_syllables, join_zones
from clipsearch.writing.fields import build_schema
from clipsearch.writing.statistics import statistics_current, write_statistics
from clipsearch.writing.storage import SegmentStorage

__all__ = [
    "COMMIT_EVERY",
    "IndexReport",
    "Skipped",
    "build_index",
    "clipping_document",
    "find_clipping_files",
    "indexed_files",
    "open_whoosh_index",
]

#: How many of the most common syllables form pairs, and from how many of
#: the files of the run that creates an index they are counted.
COMMON_SYLLABLES = 200
COMMON_SAMPLE = 2000


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass
class IndexReport:
    """What :func:`build_index` did: paths of the files added, re-indexed
    (changed or moved), unchanged and removed (deleted from disk), and the
    files skipped with their reason."""

    index_dir: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Skipped] = field(default_factory=list)
    total: int = 0

    @property
    def indexed(self) -> list[str]:
        """Paths of the files indexed by this run (new or changed)."""
        return self.added + self.updated


def find_clipping_files(paths: Iterable[str | Path], report: IndexReport) -> list[Path]:
    """Expand files and folders (recursively, ``*.txt``) into clipping files.
    A path that does not exist is recorded in ``report.skipped``."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path, onerror=None, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(".txt") and not name.startswith("."):
                        found.append(Path(root) / name)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            report.skipped.append(Skipped(str(path), "no such file or folder"))
    return found


def _storage(index_dir: Path) -> Any:
    """The index folder as Whoosh storage that maps segments without copying
    them (see :mod:`clipsearch.writing.storage`)."""
    return SegmentStorage(str(index_dir))


def open_whoosh_index(index_dir: str | Path) -> Any:
    """Open the Whoosh index in ``index_dir`` after checking its versions."""
    path = Path(index_dir)
    read_meta(path)
    storage = _storage(path)
    if not storage.index_exists(INDEX_NAME):
        raise IndexNotFoundError(f"no clipsearch index in {str(path)!r}: run `clipsearch index` first")
    return storage.open_index(INDEX_NAME)


def _common_syllables(files: Sequence[Path]) -> frozenset[str]:
    """:data:`COMMON_SYLLABLES` syllables common in up to
    :data:`COMMON_SAMPLE` of ``files``, spread evenly (unreadable ones are
    left out here and reported by the run)."""

    step = max(1, len(files) // COMMON_SAMPLE)
    values = []
    for path in files[::step][:COMMON_SAMPLE]:
        try:
            values.append(clipping_document(clipping_from_bytes(read_bytes(path), path), "")["text"])
        except ClippingError:
            continue
    return common_syllables(values, COMMON_SYLLABLES)


def _create_or_open(index_dir: Path, rebuild: bool, files: Sequence[Path] = ()) -> Any:
    index_dir.mkdir(parents=True, exist_ok=True)
    storage = _storage(index_dir)
    if not rebuild and storage.index_exists(INDEX_NAME):
        return open_whoosh_index(index_dir)
    foreign = [p for p in index_dir.iterdir() if p.name != LOCK_FILE]
    if foreign and not (index_dir / META_FILE).exists():
        raise IndexNotFoundError(
            f"{str(index_dir)!r} is not empty and holds no clipsearch index; choose another --index-dir"
        )
    ix = storage.create_index(build_schema(_common_syllables(files)), indexname=INDEX_NAME)
    write_meta(index_dir)
    return ix


def clipping_document(clipping: Clipping, sha: str) -> dict[str, Any]:
    """The Whoosh document of a clipping whose file has this SHA-256."""
    location = os.path.abspath(clipping.path)
    # Stored as shown: NFC, no invisible characters (the author's tone
    # placement is kept); snippets and highlights index into this text.
    title, lead, body = clean(clipping.title), clean(clipping.lead), clean(clipping.body_text)
    zones = join_zones(title, lead, body)
    doc: dict[str, Any] = {
        "id": clipping.id,
        "path": clipping.path,
        "manifest": manifest_entry(clipping.id, sha, location),
        "title": title,
        "lead": lead,
        "body_z": zlib.compress(body.encode("utf-8"), 6),
        "text": zones,
        "exact": zones,
        "words": zones,
        "pairs": zones,
        "day": day_number(clipping.date),
        "source_key": source_key(clipping.source or "").encode("utf-8"),
        "dup": zones,  # SignatureColumn turns it into a signature where it is analysed
    }
    if clipping.source:
        doc["source"] = clean(clipping.source)
    return doc


def indexed_files(ix: Any) -> dict[str, tuple[str, str]]:
    """``id -> (sha256, absolute path)`` of every clipping in the index, read
    from the manifest column (no stored fields are loaded)."""
    known: dict[str, tuple[str, str]] = {}
    with ix.reader() as reader:
        if reader.doc_count() == 0:
            return known
        column = reader.column_reader("manifest")
        for docnum in reader.all_doc_ids():
            raw = column[docnum]
            if raw:
                doc_id, sha, path = read_manifest_entry(raw)
                known[doc_id] = (sha, path)
    return known


def _under(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    return any(p == root or root in p.parents for root in roots)


class _RunLock:
    """An exclusive lock on the index folder for one `clipsearch index` run.

    ``flock`` locks are released by the kernel when their process dies, so a
    killed run never leaves a stale lock behind."""

    def __init__(self, index_path: Path) -> None:
        self.path = index_path / LOCK_FILE
        self.fd = -1

    def __enter__(self) -> _RunLock:
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise IndexLockedError(
                f"the index in {str(self.path.parent)!r} is locked: another `clipsearch index` is writing to it; "
                "wait for it to finish"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # releases the lock


#: Documents added between two commits: a killed run loses at most this many.
#: Each commit adds a segment per process, and a search pays per segment for
#: every term (80,000 clippings: 16 segments at 10,000, 4 at 40,000).
COMMIT_EVERY = 40_000
#: Below this many documents to index, one process does it all.
PARALLEL_THRESHOLD = 500


class _Writer:
    """The index writer, committed every :data:`COMMIT_EVERY` documents.
    Uses Whoosh's multiprocessing writer (one segment per process, which
    keeps BM25's length statistics right) when there is enough to do."""

    def __init__(self, ix: Any, index_path: Path, procs: int | None, commit_every: int) -> None:
        self.ix, self.index_path, self.commit_every = ix, index_path, commit_every
        # procs=None: one per CPU, for enough work; an explicit number is obeyed.
        self.procs = procs or os.cpu_count() or 1
        self.threshold = PARALLEL_THRESHOLD if procs is None else 0
        self.pending = 0
        self.writer: Any = None

    def _open(self, expected: int) -> Any:
        try:
            if self.procs > 1 and expected >= self.threshold:
                return self.ix.writer(
                    procs=self.procs, multisegment=True, limitmb=128, batchsize=50, codec=CompactCodec()
                )
            return self.ix.writer(limitmb=256, codec=CompactCodec())
        except LockError:
            raise IndexLockedError(
                f"the index in {str(self.index_path)!r} is locked: another `clipsearch index` is writing to it; "
                "wait for it to finish"
            ) from None

    def get(self, expected: int) -> Any:
        if self.writer is None:
            self.writer = self._open(expected)
        return self.writer

    def added(self) -> None:
        self.pending += 1
        if self.pending >= self.commit_every:
            self.commit()

    def commit(self) -> None:
        if self.writer is not None:
            self.writer.commit()
            self.writer = None
            self.pending = 0

    def cancel(self) -> None:
        if self.writer is not None:
            self.writer.cancel()
            self.writer = None


def build_index(
    paths: Iterable[str | Path],
    index_dir: str | Path,
    *,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
    procs: int | None = None,
    commit_every: int = COMMIT_EVERY,
) -> IndexReport:
    """Index clipping files and folders into ``index_dir``.

    On an existing index, new files are added, changed ones (by content
    hash) and moved ones re-indexed, unchanged ones left alone, and clippings
    whose file was deleted from a folder being indexed are removed;
    ``rebuild=True`` starts a new index. Bad files are recorded in the
    report's ``skipped`` with their reason and never stop the run. The index
    is committed every ``commit_every`` clippings, so a killed run keeps
    what it committed and the next run finishes the job. ``progress(done,
    total)`` is called after every file; ``procs`` worker processes analyse
    the text (default: one per CPU)."""
    index_path = Path(index_dir)
    report = IndexReport(str(index_path))
    given = list(paths)
    roots = [Path(os.path.abspath(p)) for p in given]
    files = find_clipping_files(given, report)
    index_path.mkdir(parents=True, exist_ok=True)
    with _RunLock(index_path):
        return _build(files, roots, index_path, report, rebuild, progress, procs, commit_every)


def _build(
    files: list[Path],
    roots: list[Path],
    index_path: Path,
    report: IndexReport,
    rebuild: bool,
    progress: Callable[[int, int], None] | None,
    procs: int | None,
    commit_every: int,
) -> IndexReport:
    ix = _create_or_open(index_path, rebuild, files)
    known = indexed_files(ix)
    writer = _Writer(ix, index_path, procs, commit_every)
    seen: dict[str, str] = {}
    try:
        for done, path in enumerate(files, start=1):
            try:
                data = read_bytes(path)
                sha = sha256(data).hexdigest()
                doc_id, shown, location = path.stem, str(path), os.path.abspath(path)
                if doc_id in seen:
                    raise ClippingError(f"duplicate id {doc_id!r}: also in {seen[doc_id]}")
                previous = known.get(doc_id)
                if previous is not None and previous[1] != location and Path(previous[1]).is_file():
                    raise ClippingError(f"duplicate id {doc_id!r}: already indexed from {previous[1]}")
                seen[doc_id] = shown
                if previous == (sha, location):
                    report.unchanged.append(shown)
                else:
                    clipping = clipping_from_bytes(data, path)
                    document = clipping_document(clipping, sha)
                    w = writer.get(len(files) - done)
                    if previous is None:
                        w.add_document(**document)
                        report.added.append(shown)
                    else:
                        w.update_document(**document)
                        report.updated.append(shown)
                    report.warnings.extend(Skipped(shown, warning) for warning in clipping.warnings)
                    writer.added()
            except ClippingError as exc:
                report.skipped.append(Skipped(str(path), str(exc)))
            if progress is not None:
                progress(done, len(files))
        for doc_id, (_sha, old_path) in known.items():
            if doc_id not in seen and _under(old_path, roots) and not Path(old_path).is_file():
                writer.get(0).delete_by_term("id", doc_id)
                report.removed.append(old_path)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    write_meta(index_path)
    if report.indexed or report.removed or not statistics_current(ix, index_path):
        write_statistics(ix, index_path)
    report.total = ix.doc_count()
    return report
