"""The index on disk: schema, versions, building and opening.

A clipsearch index is a Whoosh index plus ``clipsearch.json``, which records
the schema and analysis versions that built it. Every clipping is indexed in
fields of two kinds (see :mod:`clipsearch.analysis`): syllable fields
(``title``, ``lead``, ``body``, ``source``; positions, exact and folded forms)
and word fields (``title_w``, ``lead_w``, ``body_w``; pyvi's words).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clipping import Clipping, read_clipping
from .errors import (
    ClippingError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
)

__all__ = [
    "SCHEMA_VERSION",
    "ANALYSIS_VERSION",
    "IndexReport",
    "Skipped",
    "build_schema",
    "build_index",
    "find_clipping_files",
    "open_whoosh_index",
]

#: Bumped when the fields change.
SCHEMA_VERSION = 1
#: Bumped when normalisation, syllables or segmentation change what is indexed.
ANALYSIS_VERSION = 1
META_FILE = "clipsearch.json"
INDEX_NAME = "clipsearch"

SYLLABLE_FIELDS = ("title", "lead", "body")
WORD_FIELDS = {"title": "title_w", "lead": "lead_w", "body": "body_w"}


def build_schema() -> Any:
    """The Whoosh schema of a clipsearch index."""
    from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema

    from .analysis import syllable_analyzer, word_analyzer

    syllables = syllable_analyzer()
    words = word_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        sha=STORED(),
        date=DATETIME(stored=True, sortable=True),
        source=TEXT(analyzer=syllables, stored=True, phrase=True),
        title=TEXT(analyzer=syllables, stored=True, phrase=True),
        lead=TEXT(analyzer=syllables, stored=True, phrase=True),
        body=TEXT(analyzer=syllables, stored=True, phrase=True),
        title_w=TEXT(analyzer=words, phrase=False),
        lead_w=TEXT(analyzer=words, phrase=False),
        body_w=TEXT(analyzer=words, phrase=False),
    )


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass
class IndexReport:
    """What :func:`build_index` did."""

    index_dir: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Skipped] = field(default_factory=list)
    total: int = 0

    @property
    def indexed(self) -> list[str]:
        """Paths of the files now in the index from this run (new or changed)."""
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
    tmp = _meta_path(index_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, _meta_path(index_dir))


def open_whoosh_index(index_dir: str | Path) -> Any:
    """Open the Whoosh index in ``index_dir`` after checking its versions."""
    from whoosh import index as whoosh_index

    path = Path(index_dir)
    read_meta(path)
    if not whoosh_index.exists_in(str(path), indexname=INDEX_NAME):
        raise IndexNotFoundError(f"no clipsearch index in {str(path)!r}: run `clipsearch index` first")
    return whoosh_index.open_dir(str(path), indexname=INDEX_NAME)


def _create_or_open(index_dir: Path, rebuild: bool) -> Any:
    from whoosh import index as whoosh_index

    index_dir.mkdir(parents=True, exist_ok=True)
    if not rebuild and whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME):
        return open_whoosh_index(index_dir)
    if not rebuild and any(index_dir.iterdir()) and not _meta_path(index_dir).exists():
        raise IndexNotFoundError(
            f"{str(index_dir)!r} is not empty and holds no clipsearch index; choose another --index-dir"
        )
    ix = whoosh_index.create_in(str(index_dir), build_schema(), indexname=INDEX_NAME)
    _write_meta(index_dir)
    return ix


def clipping_document(clipping: Clipping, sha: str) -> dict[str, Any]:
    """The Whoosh document of a clipping."""
    body = clipping.body_text
    date = dt.datetime(clipping.date.year, clipping.date.month, clipping.date.day) if clipping.date else None
    doc: dict[str, Any] = {
        "id": clipping.id,
        "path": clipping.path,
        "sha": sha,
        "title": clipping.title,
        "lead": clipping.lead,
        "body": body,
        "title_w": clipping.title,
        "lead_w": clipping.lead,
        "body_w": body,
    }
    if date is not None:
        doc["date"] = date
    if clipping.source:
        doc["source"] = clipping.source
    return doc


def _read_all(files: list[Path], report: IndexReport) -> Iterator[tuple[Clipping, str]]:
    for path in files:
        try:
            data_sha = hashlib.sha256(path.read_bytes()).hexdigest()
            clipping = read_clipping(path)
        except OSError as exc:
            report.skipped.append(Skipped(str(path), exc.strerror or str(exc)))
            continue
        except ClippingError as exc:
            report.skipped.append(Skipped(str(path), str(exc)))
            continue
        for warning in clipping.warnings:
            report.warnings.append(Skipped(str(path), warning))
        yield clipping, data_sha


def build_index(
    paths: Iterable[str | Path],
    index_dir: str | Path,
    *,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Index clipping files and folders into ``index_dir``.

    New clippings are added, changed ones (by content hash) re-indexed and
    unchanged ones left alone; ``rebuild=True`` starts a new index. Bad files
    are recorded in the report's ``skipped`` with their reason and never stop
    the run. ``progress(done, total)`` is called after every file."""
    from whoosh.index import LockError

    index_path = Path(index_dir)
    report = IndexReport(str(index_path))
    files = find_clipping_files(paths, report)
    ix = _create_or_open(index_path, rebuild)
    try:
        writer = ix.writer(limitmb=256)
    except LockError:
        raise IndexLockedError(
            f"the index in {str(index_path)!r} is locked: another `clipsearch index` is writing to it"
        ) from None
    try:
        with ix.searcher() as searcher:
            known = {fields["id"]: (fields.get("sha"), fields.get("path")) for fields in searcher.all_stored_fields()}
        seen: dict[str, str] = {}
        for done, (clipping, sha) in enumerate(_read_all(files, report), start=1):
            if clipping.id in seen:
                report.skipped.append(
                    Skipped(clipping.path, f"duplicate id {clipping.id!r}: also in {seen[clipping.id]}")
                )
            else:
                seen[clipping.id] = clipping.path
                previous = known.get(clipping.id)
                if previous == (sha, clipping.path):
                    report.unchanged.append(clipping.path)
                else:
                    writer.update_document(**clipping_document(clipping, sha))
                    (report.updated if previous else report.added).append(clipping.path)
            if progress is not None:
                progress(done, len(files))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    _write_meta(index_path)
    report.total = ix.doc_count()
    return report
