"""The index on disk: schema, versions, building and opening.

A clipsearch index is a Whoosh index (posting blocks in
:class:`~clipsearch.codec.CompactCodec`) plus three files beside it:
``clipsearch.json`` (the schema and analysis versions that built it),
``groups.json`` (reprint groups) and ``vocabulary.json`` (exact forms and
their document frequencies). Title, lead and body are indexed as zones of
``text`` (folded syllables, positions), ``exact`` (forms with diacritics) and
``words`` (pyvi's words), see :mod:`clipsearch.analysis`; ``title`` and
``source`` also have fields of their own; ``day``, ``source_key``, ``dup``
and ``manifest`` are columns.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (
    ClippingError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
)
from .text import fold_syllable

if TYPE_CHECKING:
    from .clipping import Clipping

__all__ = [
    "SCHEMA_VERSION",
    "ANALYSIS_VERSION",
    "IndexReport",
    "Skipped",
    "build_schema",
    "stored_body",
    "build_index",
    "find_clipping_files",
    "open_whoosh_index",
]

#: Bumped when the fields or the bytes of their postings change.
SCHEMA_VERSION = 10
#: Bumped when normalisation, syllables or segmentation change what is indexed.
ANALYSIS_VERSION = 1
META_FILE = "clipsearch.json"
INDEX_NAME = "clipsearch"

#: Where the boosts of the zones title, lead and body are applied.
TEXT_FIELD, EXACT_FIELD, WORDS_FIELD, TITLE_FIELD = "text", "exact", "words", "title"
#: Adjacent common syllables of ``text`` (see :class:`clipsearch.analysis.PairTokenizer`).
PAIRS_FIELD = "pairs"
#: How many of the most common syllables form pairs, and from how many of
#: the files of the run that creates an index they are counted.
COMMON_SYLLABLES = 200
COMMON_SAMPLE = 2000


def build_schema(common: Iterable[str] = ()) -> Any:
    """The Whoosh schema of a clipsearch index.

    ``text``, ``exact`` and ``words`` hold title, lead and body as zones
    weighted 3 : 2 : 1 (see :mod:`clipsearch.analysis`), ``pairs`` the
    adjacent syllables of ``text`` that are both in ``common``; ``title`` and
    ``source`` are searchable on their own (``title:``, ``source:``). The
    original text is stored for snippets, the body compressed."""
    from whoosh.columns import NumericColumn, VarBytesColumn
    from whoosh.fields import COLUMN, ID, STORED, TEXT, Schema

    from .analysis import (
        ZONE_BOOSTS,
        ExactTokenizer,
        PairTokenizer,
        SignatureColumn,
        SyllableTokenizer,
        WordTokenizer,
    )
    from .postings import IntFrequency, Presence, VarintPositions

    def positional(boosts: tuple[float, ...], stored: bool = False) -> Any:
        field = TEXT(analyzer=SyllableTokenizer(boosts), stored=stored, phrase=True)
        field.format = VarintPositions()
        return field

    def frequency(tokenizer: Any) -> Any:
        field = TEXT(analyzer=tokenizer, phrase=False)
        field.format = IntFrequency()
        return field

    pairs = TEXT(analyzer=PairTokenizer(common, ZONE_BOOSTS), phrase=False)
    pairs.format, pairs.scorable = Presence(), False  # only which clippings have a pair

    return Schema(
        id=ID(stored=True, unique=True),
        path=STORED(),
        # "id<TAB>sha256<TAB>absolute path" of the file, for incremental runs
        manifest=COLUMN(),
        # yyyymmdd (0: no date) and the folded source name, for filters,
        # sorting and facets (see clipsearch.filters)
        day=COLUMN(NumericColumn("I", default=0)),
        source_key=COLUMN(VarBytesColumn()),
        # MinHash signature of the text, for grouping reprints (clipsearch.duplicates),
        # computed by the process that analyses the document
        dup=SignatureColumn(),
        title=positional((1.0,), stored=True),
        source=positional((1.0,), stored=True),
        lead=STORED(),
        body_z=STORED(),
        text=positional(ZONE_BOOSTS),
        exact=frequency(ExactTokenizer(ZONE_BOOSTS)),
        words=frequency(WordTokenizer(ZONE_BOOSTS)),
        pairs=pairs,
    )


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

    @property
    def ok(self) -> bool:
        """True when no file was skipped."""
        return not self.skipped


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


def _meta_path(index_dir: Path) -> Path:
    return index_dir / META_FILE


def read_meta(index_dir: Path) -> dict[str, Any]:
    """The recorded versions of the index in ``index_dir``."""
    meta = _meta_path(index_dir)
    if not meta.exists():
        raise IndexNotFoundError(f"no clipsearch index in {str(index_dir)!r}: run `clipsearch index` first")
    try:
        data: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexVersionError(f"cannot read {meta}: {exc}; rebuild with `clipsearch index --rebuild`") from None
    if data.get("schema_version") != SCHEMA_VERSION or data.get("analysis_version") != ANALYSIS_VERSION:
        raise IndexVersionError(
            f"the index in {str(index_dir)!r} was built by another version of clipsearch "
            f"(schema {data.get('schema_version')}, analysis {data.get('analysis_version')}; "
            f"this one needs {SCHEMA_VERSION}, {ANALYSIS_VERSION}): rebuild it with `clipsearch index --rebuild`"
        )
    return data


def _write_meta(index_dir: Path, **extra: Any) -> None:
    data = {
        "schema_version": SCHEMA_VERSION,
        "analysis_version": ANALYSIS_VERSION,
        "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }
    tmp = index_dir / (META_FILE + ".new")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, _meta_path(index_dir))


def _storage(index_dir: Path) -> Any:
    """The index folder as Whoosh storage that maps segments without copying
    them (see :mod:`clipsearch.storage`)."""
    from .storage import SegmentStorage

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

    from .clipping import clipping_from_bytes, read_bytes
    from .zones import common_syllables

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
    foreign = [p for p in index_dir.iterdir() if p.name != "clipsearch.lock"]
    if foreign and not _meta_path(index_dir).exists():
        raise IndexNotFoundError(
            f"{str(index_dir)!r} is not empty and holds no clipsearch index; choose another --index-dir"
        )
    ix = storage.create_index(build_schema(_common_syllables(files)), indexname=INDEX_NAME)
    _write_meta(index_dir)
    return ix


def clipping_document(clipping: Clipping, sha: str) -> dict[str, Any]:
    """The Whoosh document of a clipping whose file has this SHA-256."""
    from .filters import day_number, source_key
    from .text import clean
    from .zones import join_zones

    location = os.path.abspath(clipping.path)
    # Stored as shown: NFC, no invisible characters (the author's tone
    # placement is kept); snippets and highlights index into this text.
    title, lead, body = clean(clipping.title), clean(clipping.lead), clean(clipping.body_text)
    zones = join_zones(title, lead, body)
    doc: dict[str, Any] = {
        "id": clipping.id,
        "path": clipping.path,
        "manifest": f"{clipping.id}\t{sha}\t{location}".encode(),
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


def stored_body(fields: dict[str, Any]) -> str:
    """The body text of a stored document."""
    data = fields.get("body_z")
    return zlib.decompress(data).decode("utf-8") if data else ""


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
                doc_id, sha, path = raw.decode("utf-8").split("\t", 2)
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
        self.path = index_path / "clipsearch.lock"
        self.fd = -1

    def __enter__(self) -> _RunLock:
        import fcntl

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
        from whoosh.index import LockError

        from .codec import CompactCodec

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
    from hashlib import sha256  # building only: OpenSSL is about 4 ms of a one-off query

    from .clipping import clipping_from_bytes, read_bytes

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
    _write_meta(index_path)
    if report.indexed or report.removed or not _statistics_current(ix, index_path):
        write_statistics(ix, index_path)
    report.total = ix.doc_count()
    return report


#: Index statistics kept beside the index, rewritten after each run that changed it.
VOCABULARY_FILE = "vocabulary.json"
GROUPS_FILE = "groups.json"


def _statistics_current(ix: Any, index_path: Path) -> bool:
    vocabulary, groups = _read_json(index_path / VOCABULARY_FILE), _read_json(index_path / GROUPS_FILE)
    return bool(
        vocabulary.get("generation") == groups.get("generation") == ix.latest_generation()
        and groups.get("threshold") == REPRINT_THRESHOLD
    )


def write_statistics(ix: Any, index_path: Path) -> None:
    """Write ``groups.json`` (the groups of near-duplicate reprints, see
    :mod:`clipsearch.duplicates`) and ``vocabulary.json`` (for each folded
    syllable, its exact written forms with their document frequencies, for
    suggestions, see :mod:`clipsearch.suggest`). Each is tagged with the
    index generation it describes, so a run killed before writing them is
    caught up by the next."""
    forms: dict[str, dict[str, int]] = {}
    with ix.reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            for term, info in leaf.iter_field(EXACT_FIELD):
                form = term.decode("utf-8")
                key = fold_syllable(form)
                forms.setdefault(key, {})
                forms[key][form] = forms[key].get(form, 0) + int(info.doc_frequency())
    groups = {"generation": ix.latest_generation(), "threshold": REPRINT_THRESHOLD, "groups": _reprint_groups(ix)}
    _write_json(index_path / GROUPS_FILE, groups)
    _write_json(index_path / VOCABULARY_FILE, {"generation": ix.latest_generation(), "forms": forms})


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


#: Estimated Jaccard similarity of two clippings' shingles from which they are reprints. Chosen
#: on pairs judged by hand (rss-20k, vietnews-60k): with the title-number split, 27 of 32 groups
#: at 0.7 are one story re-published (20 of 39 at 0.6 on vietnews: follow-ups, not reprints), and
#: synthetic reprints (new title, lead dropped, a sentence added) are grouped 198/200 (0.8: 184).
REPRINT_THRESHOLD = 0.7
_NUMBER = re.compile(r"\d+")


def _title_numbers(title: str) -> frozenset[str]:
    return frozenset(n.lstrip("0") or "0" for n in _NUMBER.findall(title))


def _reprint_groups(ix: Any) -> dict[str, list[str]]:
    """Groups of near-duplicate reprints: representative id -> member ids.

    Candidates come from :func:`clipsearch.duplicates.group` at
    :data:`REPRINT_THRESHOLD`; then the members of a group are split by the
    numbers in their titles: issues of a series (``Xổ số miền Nam ngày 12
    tháng 4`` / ``... ngày 12 tháng 10``, ``Bản tin sức khỏe 8.6`` / ``9.12``)
    share their boilerplate text but not their numbers, while a reprint keeps
    them (``20 người bị thương``). Titles without numbers join the one
    numbered part of their group (``Hoà Bình kỷ luật 15 đảng viên`` / ``... kỷ
    luật đảng viên``), or stay together when there are several."""
    from .duplicates import group

    signatures: dict[str, bytes] = {}
    docnums: dict[str, int] = {}
    with ix.reader() as reader:
        if reader.doc_count() == 0:
            return {}
        manifest, dup = reader.column_reader("manifest"), reader.column_reader("dup")
        for docnum in reader.all_doc_ids():
            raw, sig = manifest[docnum], dup[docnum]
            if raw and sig:
                clipping_id = raw.decode("utf-8").split("\t", 1)[0]
                signatures[clipping_id] = sig
                docnums[clipping_id] = docnum
        candidates: dict[str, list[str]] = {}
        for member, representative in group(signatures, REPRINT_THRESHOLD).items():
            candidates.setdefault(representative, []).append(member)
        groups: dict[str, list[str]] = {}
        for members in candidates.values():
            by_numbers: dict[frozenset[str], list[str]] = {}
            for member in members:
                title = reader.stored_fields(docnums[member]).get("title", "")
                by_numbers.setdefault(_title_numbers(title), []).append(member)
            # titles without numbers go with the only numbered part, if one
            plain = by_numbers.pop(frozenset(), [])
            parts = list(by_numbers.values())
            if len(parts) == 1:
                parts[0] += plain
            elif plain:
                parts.append(plain)
            for part in parts:
                if len(part) > 1:
                    groups[min(part)] = sorted(part)
    return dict(sorted(groups.items()))


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object written by :func:`_write_json`; empty if missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_groups(index_path: Path) -> dict[str, list[str]]:
    """What :func:`write_statistics` wrote of the reprint groups (empty if missing)."""
    groups = _read_json(index_path / GROUPS_FILE).get("groups", {})
    return groups if isinstance(groups, dict) else {}


def read_vocabulary(index_path: Path) -> dict[str, dict[str, int]]:
    """What :func:`write_statistics` wrote of the vocabulary (empty if missing)."""
    forms = _read_json(index_path / VOCABULARY_FILE).get("forms", {})
    return forms if isinstance(forms, dict) else {}
