"""Indexing runs: clipping files in, a committed Whoosh index out.

:func:`build_index` finds the files, compares them with the index's manifest
(id, content hash, path of every clipping), parses and adds what is new or
changed, removes what was deleted, commits every :data:`COMMIT_EVERY`
clippings and then rewrites the index's statistics
(:mod:`clipsearch.writing.statistics`). The fields and their analysis are in
:mod:`clipsearch.writing.fields`, the posting bytes in :mod:`clipsearch.codec`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from whoosh.index import TOC, LockError, clean_files

from clipsearch.clipping import Clipping, clipping_from_bytes, clipping_id, read_bytes
from clipsearch.codec.compact import CompactCodec
from clipsearch.errors import ClippingError, IndexLockedError, IndexNotFoundError, IndexWriteError
from clipsearch.processes import die_with_parent
from clipsearch.reading.checksums import sums_path
from clipsearch.reading.segments import open_index_files
from clipsearch.reading.toc import latest_generation
from clipsearch.schema import (
    EXACT_WORDS_FIELD,
    INDEX_NAME,
    LOCK_FILE,
    REBUILD_FOLDER,
    is_index_file,
    manifest_entry,
    read_manifest_entry,
    read_meta,
    write_meta,
)
from clipsearch.searching.filters import day_number, source_key
from clipsearch.text.normalize import clean
from clipsearch.text.zones import common_syllables, join_zones
from clipsearch.writing.arrays import AnalysedBatch, ArraySegmentWriter
from clipsearch.writing.fields import build_schema
from clipsearch.writing.pipeline import BATCH_DOCUMENTS, Analysis
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
COMMON_SAMPLE = 500


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
    #: Where the run's time went, in seconds (:data:`TIMINGS`).
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def indexed(self) -> list[str]:
        """Paths of the files indexed by this run (new or changed)."""
        return self.added + self.updated


#: The parts of :attr:`IndexReport.timings`: wall seconds of the process
#: that runs the build, and the CPU seconds the analysis took wherever it ran.
TIMINGS = {
    "read": "reading and hashing the files, sending them to the workers",
    "analysis": "parsing and analysing the clippings (CPU seconds, in the worker processes or here)",
    "waiting": "waiting for the worker processes' analysis",
    "adding": "adding analysed documents to the segment being written",
    "committing": "sorting and writing segments, merging small ones, committing",
    "statistics": "the index's statistics (vocabulary, spelling, reprint groups)",
}


@contextlib.contextmanager
def _timed(timings: dict[str, float], part: str) -> Iterator[None]:
    """Add the wall time of the block to ``timings[part]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[part] = timings.get(part, 0.0) + time.perf_counter() - started


def find_clipping_files(paths: Iterable[str | Path], report: IndexReport) -> list[Path]:
    """Expand files and folders (recursively, ``*.txt``) into clipping files.
    A path that does not exist is recorded in ``report.skipped``."""
    found: list[Path] = []
    for raw in paths:
        if not os.fspath(raw):  # Path("") would be the current folder
            report.skipped.append(Skipped("", "no such file or folder"))
            continue
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path, onerror=None, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith(".txt") and not name.startswith("."):
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


def _check_folder(index_dir: Path) -> None:
    """Refuse a folder that holds files of its own and no clipsearch index:
    indexing there would mix the index with them."""
    names = [name for name in os.listdir(index_dir) if name != LOCK_FILE]
    if any(not is_index_file(name) for name in names) and not any(name.startswith(f"_{INDEX_NAME}_") for name in names):
        raise IndexNotFoundError(
            f"{str(index_dir)!r} is not empty and holds no clipsearch index; choose another --index-dir"
        )


def _create(index_dir: Path, files: Sequence[Path]) -> Any:
    """A new, empty index in ``index_dir`` (which holds none)."""
    ix = _storage(index_dir).create_index(build_schema(_common_syllables(files)), indexname=INDEX_NAME)
    write_meta(index_dir)
    return ix


def _clean(index_dir: Path) -> None:
    """Remove what runs that failed or were killed left behind: the folder a
    rebuild was made in, Whoosh's temporary folder, and segment and table of
    contents files that the latest table of contents does not name."""
    shutil.rmtree(index_dir / REBUILD_FOLDER, ignore_errors=True)
    shutil.rmtree(index_dir / f"{INDEX_NAME}.tmp", ignore_errors=True)
    storage = _storage(index_dir)
    try:
        toc = TOC.read(storage, INDEX_NAME, schema=build_schema())  # the schema is not needed: skip its pickle
    except Exception:  # no readable table of contents: nothing is known to be unused
        return
    clean_files(storage, INDEX_NAME, toc.generation, toc.segments)
    for sums in index_dir.glob(f"_{INDEX_NAME}_*.sums"):
        if sums.name != sums_path(index_dir, INDEX_NAME, toc.generation).name:
            with contextlib.suppress(OSError):  # not a file: reported as damage by the readers
                sums.unlink()


def _remove_broken(index_dir: Path) -> None:
    """Before a rebuild: remove what stands, under the name of one of
    clipsearch's files, where a regular file should (a folder, a link, a
    FIFO), so that the rebuild can write it."""
    for entry in os.scandir(index_dir):
        if not is_index_file(entry.name) or entry.name in (REBUILD_FOLDER, f"{INDEX_NAME}.tmp", LOCK_FILE):
            continue
        if entry.is_file(follow_symlinks=False):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def _verify(index_dir: Path, meta: dict[str, Any]) -> None:
    """Check every byte of the index's latest generation against its
    checksums before writing to it: a damaged index is rebuilt, not extended."""
    files = open_index_files(index_dir, INDEX_NAME, checksums_required=bool(meta.get("checksums")))
    try:
        if files.has_checksums:
            files.verify(full=True)
    finally:
        files.close()


def _replace(index_dir: Path, built: Path) -> None:
    """Make the index built in ``built`` the index in ``index_dir``: its
    segment files are moved in, then its table of contents is written as
    the next generation (an atomic rename, so readers see the old index or
    the new, never neither), then the old files are removed."""
    staged = _storage(built)
    toc = TOC.read(staged, INDEX_NAME)
    segment_file = TOC._segment_pattern(INDEX_NAME)
    for name in os.listdir(built):
        if segment_file.match(name):
            os.replace(built / name, index_dir / name)
    toc.generation = max(latest_generation(index_dir, INDEX_NAME), toc.generation) + 1
    storage = _storage(index_dir)
    toc.write(storage, INDEX_NAME)
    write_meta(index_dir)
    clean_files(storage, INDEX_NAME, toc.generation, toc.segments)


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
        "body": body,
        "text": zones,
        "exact": zones,
        "words": zones,
        "pairs": zones,
        EXACT_WORDS_FIELD: zones,
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

    A POSIX record lock (``lockf``) belongs to the process that took it: the
    kernel releases it when that process dies, and the worker processes it
    forks do not inherit it (a ``flock`` lock would live on in them)."""

    def __init__(self, index_path: Path) -> None:
        self.path = index_path / LOCK_FILE
        self.fd = -1

    def __enter__(self) -> _RunLock:
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            os.close(self.fd)
            raise IndexLockedError(
                f"the index in {str(self.path.parent)!r} is locked: another `clipsearch index` is writing to it; "
                "wait for it to finish"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # releases the lock


#: Documents added between two commits: a killed run loses at most this many.
#: Each commit adds a segment (and so does :data:`FLUSH_POSTINGS`), and a
#: search pays per segment for every term.
COMMIT_EVERY = 40_000
#: Below this many documents to index, one process does it all.
PARALLEL_THRESHOLD = 500


_building = False
_builder_pid = 0


def _die_with_builder() -> None:
    """In a process forked during a run: be killed when the run's process dies
    (Linux), so that no worker outlives a killed run holding Whoosh's lock."""
    if _building:
        die_with_parent(_builder_pid)


os.register_at_fork(after_in_child=_die_with_builder)


@contextlib.contextmanager
def _workers_die_with_this_process() -> Iterator[None]:
    global _building, _builder_pid
    _building, _builder_pid = True, os.getpid()
    try:
        yield
    finally:
        _building = False


@dataclass(frozen=True)
class _Sent:
    """A clipping file sent to be indexed: its path as given and as shown,
    its id, and whether it replaces a clipping of the index."""

    path: str
    shown: str
    doc_id: str
    update: bool


def _prepared_document(item: tuple[bytes, Path, str, bool, bool]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The document of a clipping file (its bytes, path and SHA-256), with
    the fields of the index it goes to (``exact_words``; ``body`` or, in an
    index written before, ``body_z``), and the warnings about it. Raises
    :class:`ClippingError` for a file that is not a clipping."""
    data, path, sha, has_exact_words, body_z = item
    clipping = clipping_from_bytes(data, path)
    document = clipping_document(clipping, sha)
    if not has_exact_words:  # an index written before the field, updated as it is
        del document[EXACT_WORDS_FIELD]
    if body_z:  # an index written before the body was stored as text
        document["body_z"] = zlib.compress(document.pop("body").encode("utf-8"), 6)
    return document, tuple(clipping.warnings)


#: Postings the segment being written holds before it is committed, which
#: bounds a build's memory whatever the number of clippings (about 12 bytes
#: a posting, and as much again while the segment is sorted and written).
FLUSH_POSTINGS = 16_000_000


class _Writer:
    """The index writer of a run: documents analysed in batches by worker
    processes (:mod:`clipsearch.writing.pipeline`) when there is enough to
    do, written by an :class:`~clipsearch.writing.arrays.ArraySegmentWriter`
    here, committed every :data:`COMMIT_EVERY` documents or
    :data:`FLUSH_POSTINGS` postings."""

    def __init__(self, ix: Any, index_path: Path, procs: int | None, commit_every: int, report: IndexReport) -> None:
        self.ix, self.index_path = ix, index_path
        self.commit_every = max(1, commit_every)  # 0 or less: after every clipping
        self.report = report
        self.timings = report.timings
        #: what is sent with a clipping's bytes: whether the index has the fields that came later
        self.fields = (EXACT_WORDS_FIELD in ix.schema, "body_z" in ix.schema)
        # procs=None: one per CPU, for enough work; an explicit number is obeyed.
        self.procs = procs or os.cpu_count() or 1
        self.threshold = PARALLEL_THRESHOLD if procs is None else 0
        self.expected = 0
        self.analysis: Analysis | None = None
        self.batch: list[tuple[bytes, Path, str, bool, bool]] = []
        self.batch_bytes = 0
        self.clippings: list[_Sent] = []
        #: the clippings of each batch sent and not yet written
        self.in_flight: deque[list[_Sent]] = deque()
        self.writer: Any = None
        #: documents sent to be analysed, and written, in this run
        self.sent = self.written = 0

    def _writer(self) -> Any:
        if self.writer is None:
            try:
                self.writer = ArraySegmentWriter(self.ix, codec=CompactCodec())
            except LockError:
                raise IndexLockedError(
                    f"the index in {str(self.index_path)!r} is locked: another `clipsearch index` is writing to it; "
                    "wait for it to finish"
                ) from None
        return self.writer

    def add(self, clipping: _Sent, data: bytes, path: Path, sha: str, expected: int) -> None:
        """Add the clipping whose file at ``path`` holds ``data`` (parsed and
        analysed with the next ones); ``expected`` more may follow."""
        self._writer()
        self.expected = expected
        self.batch.append((data, path, sha, *self.fields))
        self.batch_bytes += len(data)
        self.clippings.append(clipping)
        # a batch ends where a commit is due: commits come every commit_every documents
        if len(self.batch) >= BATCH_DOCUMENTS or (self.sent + len(self.batch)) % self.commit_every == 0:
            self._send()

    def delete(self, doc_id: str) -> None:
        """Delete the clipping ``doc_id`` from the segments committed before."""
        self._writer().delete_by_term("id", doc_id)

    def _send(self) -> None:
        if self.analysis is None:
            enough = len(self.batch) + self.expected >= self.threshold
            self.analysis = Analysis(self.ix.schema, self.procs if enough else 1, _prepared_document)
        self.in_flight.append(self.clippings)
        with _timed(self.timings, "waiting"):  # in this process, the analysis itself
            self.analysis.send(self.batch, self.batch_bytes)
        self.sent += len(self.batch)
        self.batch, self.clippings, self.batch_bytes = [], [], 0
        with _timed(self.timings, "waiting"):
            ready = self.analysis.ready()
        self._write(ready)

    def _write(self, batches: list[AnalysedBatch]) -> None:
        report = self.report
        for batch in batches:
            writer = self._writer()
            self.timings["analysis"] = self.timings.get("analysis", 0.0) + batch.seconds
            for i, clipping in enumerate(self.in_flight.popleft()):
                reason = batch.failed.get(i)
                if reason is not None:
                    report.skipped.append(Skipped(clipping.path, reason))
                    continue
                if clipping.update:
                    writer.delete_by_term("id", clipping.doc_id)  # as it was: committed with the new one
                    report.updated.append(clipping.shown)
                else:
                    report.added.append(clipping.shown)
                report.warnings.extend(Skipped(clipping.shown, warning) for warning in batch.warnings.get(i, ()))
            with _timed(self.timings, "adding"):
                writer.add_analysed(batch)
            self.written += len(batch.documents) + len(batch.failed)
            if self.written % self.commit_every == 0 or writer.pending_postings() >= FLUSH_POSTINGS:
                self._commit_writer()

    def _commit_writer(self) -> None:
        if self.writer is not None:
            try:
                with _timed(self.timings, "committing"):
                    self.writer.commit()
            except BaseException:
                self.cancel()
                raise
            self.writer = None

    def commit(self) -> None:
        """Write every document added, and commit."""
        if self.batch:
            self._send()
        if self.analysis is not None:
            with _timed(self.timings, "waiting"):
                batches = self.analysis.drain()
            self._write(batches)
        self._commit_writer()

    def close(self) -> None:
        """Stop the worker processes."""
        if self.analysis is not None:
            self.analysis.close()
            self.analysis = None

    def cancel(self) -> None:
        """Drop what is not committed and release Whoosh's write lock, even
        when the folder can no longer be written."""
        self.close()
        self.batch, self.clippings = [], []
        self.in_flight.clear()
        writer, self.writer = self.writer, None
        if writer is None:
            return
        with contextlib.suppress(Exception):
            writer.cancel()
        lock = getattr(writer, "writelock", None)
        with contextlib.suppress(Exception):
            if lock is not None:
                lock.release()


def build_index(
    paths: str | Path | Iterable[str | Path],
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
    whose file was deleted from a folder being indexed are removed. The index
    is committed every ``commit_every`` clippings, so a killed run keeps
    what it committed and the next run finishes the job. ``rebuild=True``
    builds a new index beside the old one, which searches see until the new
    one replaces it whole. Bad files are recorded in the report's
    ``skipped`` with their reason and never stop the run. ``progress(done,
    total)`` is called after every file; ``procs`` worker processes analyse
    the text (default: one per CPU).

    Raises :class:`IndexLockedError` while another run writes to the index,
    :class:`IndexWriteError` when the folder cannot be written and
    :class:`IndexingError` when a worker process dies (what was committed
    before is kept), and :class:`IndexVersionError` or
    :class:`IndexDamagedError` for an index that only a rebuild can use.
    ``commit_every`` under 1 commits after every clipping."""
    index_path = Path(index_dir)
    report = IndexReport(str(index_path))
    given = [paths] if isinstance(paths, str | bytes | os.PathLike) else list(paths)
    roots = [Path(os.path.abspath(p)) for p in given if os.fspath(p)]  # abspath('') is the current folder
    files = find_clipping_files(given, report)
    try:
        index_path.mkdir(parents=True, exist_ok=True)
        _check_folder(index_path)
        with _RunLock(index_path), _workers_die_with_this_process():
            if rebuild:
                _remove_broken(index_path)
            _clean(index_path)
            if rebuild and latest_generation(index_path, INDEX_NAME) >= 0:
                built = index_path / REBUILD_FOLDER
                built.mkdir()
                try:
                    _index(_create(built, files), built, files, roots, report, {}, progress, procs, commit_every)
                    _replace(index_path, built)
                finally:
                    shutil.rmtree(built, ignore_errors=True)
                ix = open_whoosh_index(index_path)
            else:
                ix = None
                if latest_generation(index_path, INDEX_NAME) >= 0:
                    _verify(index_path, read_meta(index_path))
                    ix = open_whoosh_index(index_path)
                if ix is None:
                    ix = _create(index_path, files)
                _index(ix, index_path, files, roots, report, indexed_files(ix), progress, procs, commit_every)
            if report.indexed or report.removed or not statistics_current(ix, index_path):
                with _timed(report.timings, "statistics"):
                    write_statistics(ix, index_path)
            write_meta(index_path, statistics=True)
            report.total = ix.doc_count()
    except OSError as exc:
        raise _write_error(index_path, exc) from None
    return report


def _write_error(index_path: Path, exc: OSError) -> IndexWriteError:
    reason = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    where = f" ({exc.filename})" if exc.filename else ""
    return IndexWriteError(
        f"cannot write the index in {str(index_path)!r}: {reason}{where}; what was committed before is kept"
    )


def _index(
    ix: Any,
    index_path: Path,
    files: list[Path],
    roots: list[Path],
    report: IndexReport,
    known: dict[str, tuple[str, str]],
    progress: Callable[[int, int], None] | None,
    procs: int | None,
    commit_every: int,
) -> None:
    """Add, update and remove clippings in ``ix`` (known: what it holds), committing as it goes."""
    writer = _Writer(ix, index_path, procs, commit_every, report)
    seen: dict[str, str] = {}
    timings = report.timings
    started = time.perf_counter()
    try:
        for done, path in enumerate(files, start=1):
            try:
                data = read_bytes(path)
                sha = sha256(data).hexdigest()
                doc_id, shown, location = clipping_id(path), str(path), os.path.abspath(path)
                if doc_id in seen:
                    raise ClippingError(f"duplicate id {doc_id!r}: also in {seen[doc_id]}")
                previous = known.get(doc_id)
                if previous is not None and previous[1] != location and Path(previous[1]).is_file():
                    raise ClippingError(f"duplicate id {doc_id!r}: already indexed from {previous[1]}")
                seen[doc_id] = shown
                if previous == (sha, location):
                    report.unchanged.append(shown)
                else:  # parsed and analysed by the workers; reported when written
                    sent = _Sent(str(path), shown, doc_id, previous is not None)
                    writer.add(sent, data, path, sha, len(files) - done)
            except ClippingError as exc:
                report.skipped.append(Skipped(str(path), str(exc)))
            if progress is not None:
                progress(done, len(files))
        # the rest of the loop's time: the files read and hashed (and the progress shown)
        writing = sum(timings.get(part, 0.0) for part in ("waiting", "adding", "committing"))
        timings["read"] = time.perf_counter() - started - writing
        for doc_id, (_sha, old_path) in known.items():
            if doc_id not in seen and _under(old_path, roots) and not Path(old_path).is_file():
                writer.delete(doc_id)
                report.removed.append(old_path)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    finally:
        writer.close()
