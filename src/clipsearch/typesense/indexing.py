"""Indexing runs into a Typesense collection: :func:`index_typesense`, the
counterpart of :func:`clipsearch.writing.build.build_index`.

The files are found, read, hashed and compared with what the collection
holds (each document keeps its file's hash and path: the manifest lives in
the collection, where every machine that indexes or searches reaches it);
new and changed clippings are parsed and analysed by the same worker
processes and the same analysis as for the Whoosh index
(:mod:`clipsearch.writing.pipeline`), made into documents
(:mod:`clipsearch.typesense.documents`) and upserted by id in batches, each
retried while the cluster elects a leader; clippings whose file was deleted
are removed. Then the run's statistics (reprint groups, vocabulary, words
for typos, source names) are written to the statistics collection, the
``meta`` document last. An interrupted run (a node lost, the process
killed) is simply run again: upserts by id are idempotent.

The collection is an alias of a physical collection ``<name>-<run>``: a
rebuild (``rebuild=True``) fills a new one and moves the alias to it when
it is complete, so searches see the old archive until then, and removes the
old one after.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from whoosh.util.numeric import length_to_byte

from clipsearch.clipping import clipping_id, read_bytes
from clipsearch.codec.layout import LENGTH_OF_BYTE
from clipsearch.errors import BackendUnavailableError, ClippingError, IndexLockedError, IndexVersionError
from clipsearch.reprints.grouping import group_reprints
from clipsearch.schema import EXACT_FIELD, TEXT_FIELD, read_manifest_entry
from clipsearch.searching.typos import is_typo_target
from clipsearch.text.fold import fold_syllable
from clipsearch.typesense.connection import AlreadyExists, Connection, NotFound, TransientError, TypesenseTarget
from clipsearch.typesense.documents import (
    DOCUMENT_VERSION,
    NO_SOURCE,
    POSITIONAL_FIELDS,
    SCORED_FIELDS,
    STATISTICS_SUFFIX,
    TERM_FIELDS,
    collection_schema,
    encode_vectors,
    length_field,
    restored,
    statistics_schema,
    storable,
    term_field,
    term_of_token,
    token,
)
from clipsearch.writing.arrays import AnalysedBatch
from clipsearch.writing.build import (
    PARALLEL_THRESHOLD,
    IndexReport,
    Skipped,
    _prepared_document,
    _under,
    _workers_die_with_this_process,
    find_clipping_files,
)
from clipsearch.writing.fields import build_schema
from clipsearch.writing.pipeline import BATCH_DOCUMENTS, Analysis

__all__ = ["RETRY_SECONDS", "index_typesense"]

#: How long a batch is retried while the cluster cannot take it (a leader is elected in about 10 s).
RETRY_SECONDS = 60.0
#: What Typesense says of a write it cannot take yet.
_TRANSIENT = re.compile(r"not ready|lagging|leader|raft|timed? ?out|unavailable", re.IGNORECASE)
#: Bytes of a statistics document's data.
CHUNK_BYTES = 1 << 20
#: Seconds a run's hold on the archive lasts after its last renewal (a killed run's lapses then).
LEASE_SECONDS = 120.0
#: The collection of the runs' lock is ``<collection>`` + this.
LOCK_SUFFIX = "__lock"


_HOST = socket.gethostname()


def _dead_here(held: dict[str, Any]) -> bool:
    """Whether a lock was taken by a process of this machine that is gone (killed)."""
    if held.get("host") != _HOST or not isinstance(held.get("pid"), int):
        return False
    try:
        os.kill(held["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class _RunLease:
    """The right to write the target's archive, held by one run at a time:
    the document ``lock`` of the collection ``<collection>__lock``, created
    by the run (Typesense refuses to create a document that exists), renewed
    while it writes and removed at its end. A killed run leaves it: it lapses
    :data:`LEASE_SECONDS` after its last renewal, or at once for a run of
    this machine whose process is gone, and the next run takes it."""

    def __init__(self, connection: Connection, run: str) -> None:
        self.connection = connection
        self.run = run
        self.name = connection.target.collection + LOCK_SUFFIX
        self.renewed = 0.0

    def _document(self) -> dict[str, Any]:
        until = time.time() + LEASE_SECONDS
        return {"id": "lock", "kind": "lock", "run": self.run, "until": until, "pid": os.getpid(), "host": _HOST}

    def __enter__(self) -> _RunLease:
        connection, client = self.connection, self.connection.client
        with contextlib.suppress(AlreadyExists):
            connection.call(
                "create the lock",
                lambda: client.collections.create({"name": self.name, "fields": [{"name": "kind", "type": "string"}]}),
            )
        handle = connection.collection(self.name).documents
        answer = connection.call("take the lock", lambda: handle.import_([self._document()], {"action": "create"}))
        if not answer[0].get("success"):
            held = connection.retrieve("lock", self.name)
            if float(held.get("until", 0)) > time.time() and not _dead_here(held):
                until = datetime.fromtimestamp(float(held["until"]), UTC).astimezone()
                raise IndexLockedError(
                    f"another clipsearch index run is writing to {connection.target} "
                    f"(its lock lasts until {until:%H:%M:%S} unless it goes on writing): try again later"
                )
            connection.call("take the lock", lambda: handle.upsert(self._document()))
            if connection.retrieve("lock", self.name).get("run") != self.run:
                raise IndexLockedError(f"another clipsearch index run took {connection.target} at the same time")
        self.renewed = time.monotonic()
        return self

    def renew(self) -> None:
        """Extend the hold (at most once every quarter of the lease)."""
        if time.monotonic() - self.renewed > LEASE_SECONDS / 4:
            handle = self.connection.collection(self.name).documents
            _retried(
                "renewing the lock",
                lambda: self.connection.call("renew the lock", lambda: handle.upsert(self._document())),
            )
            self.renewed = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        handle = self.connection.collection(self.name).documents["lock"]
        with contextlib.suppress(NotFound, BackendUnavailableError):
            if self.connection.retrieve("lock", self.name).get("run") == self.run:
                self.connection.call("release the lock", handle.delete)


def _retried(what: str, request: Callable[[], Any]) -> Any:
    """``request()``, tried again for :data:`RETRY_SECONDS` while the cluster
    is unavailable (:class:`TransientError`); other failures at once."""
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        try:
            return request()
        except TransientError as exc:
            if time.monotonic() > deadline:
                raise BackendUnavailableError(f"{exc} (retried for {RETRY_SECONDS:.0f} s while {what})") from None
            time.sleep(1.0)


class _Collection:
    """The physical collection a run writes, and its statistics collection."""

    def __init__(self, connection: Connection, name: str, lease: _RunLease | None = None) -> None:
        self.connection = connection
        self.name = name
        self.statistics = name + STATISTICS_SUFFIX
        self.lease = lease

    def upsert(self, documents: list[dict[str, Any]], name: str | None = None) -> None:
        """Upsert documents by id; any document refused fails the run."""
        if not documents:
            return
        if self.lease is not None:
            self.lease.renew()
        handle = self.connection.collection(name or self.name)

        def send() -> None:
            answers: list[dict[str, Any]] = self.connection.call(
                "write documents", lambda: handle.documents.import_(documents, {"action": "upsert"})
            )
            refused = [a for a in answers if not a.get("success")]
            if refused:
                error = str(refused[0].get("error", refused[0]))
                # A node without a leader refuses them all for a while: tried again; anything else is final.
                kind = TransientError if _TRANSIENT.search(error) else BackendUnavailableError
                raise kind(f"Typesense at {self.connection.target} refused {len(refused)} documents: {error}")

        _retried("writing documents", send)

    def delete(self, doc_id: str) -> None:
        import urllib.parse

        handle = self.connection.collection(self.name).documents[urllib.parse.quote(doc_id, safe="")]
        with contextlib.suppress(NotFound):
            _retried("removing documents", lambda: self.connection.call("remove a document", handle.delete))


def _create(connection: Connection, name: str, lease: _RunLease) -> _Collection:
    client = connection.client
    connection.call("create a collection", lambda: client.collections.create(collection_schema(name)))
    statistics = name + STATISTICS_SUFFIX
    connection.call("create a collection", lambda: client.collections.create(statistics_schema(statistics)))
    return _Collection(connection, name, lease)


def _point_alias(connection: Connection, name: str) -> None:
    """Make the target's name an alias of the collection ``name``."""
    client, alias = connection.client, connection.target.collection
    _retried(
        "pointing the alias at the collection",
        lambda: connection.call(
            "point the alias at the collection", lambda: client.aliases.upsert(alias, {"collection_name": name})
        ),
    )


def _drop_orphans(connection: Connection, kept: str | None) -> None:
    """Remove the collections of runs killed while they rebuilt the archive
    (``<collection>-<run>`` that the alias does not point to); under the lease."""
    listed: list[dict[str, Any]] = _retried(
        "listing the collections",
        lambda: connection.call("list the collections", connection.client.collections.retrieve),
    )
    pattern = re.compile(re.escape(connection.target.collection) + r"-[0-9a-f]{12}")
    for found in listed:
        name = str(found.get("name", ""))
        if pattern.fullmatch(name) and name != kept:
            _drop(connection, name)


def _drop(connection: Connection, name: str) -> None:
    for each in (name, name + STATISTICS_SUFFIX):
        handle = connection.client.collections[each]
        with contextlib.suppress(NotFound):
            connection.call("remove a collection", handle.delete)


def _meta(connection: Connection, physical: str) -> dict[str, Any]:
    try:
        return connection.retrieve("meta", physical + STATISTICS_SUFFIX)
    except NotFound:
        return {}


def _manifest(connection: Connection, physical: str) -> dict[str, tuple[str, str]]:
    """``id -> (sha256, absolute path)`` of every clipping in the collection."""
    return {
        str(doc["id"]): (str(doc.get("sha", "")), restored(str(doc.get("location", ""))))
        for doc in connection.export({"include_fields": "id,sha,location"}, physical)
    }


def _documents(batch: AnalysedBatch, schema: Any, first_seq: int) -> list[dict[str, Any]]:
    """The Typesense documents of an analysed batch (:mod:`clipsearch.typesense.documents`)."""
    documents: list[dict[str, Any]] = []
    for docnum, perdoc in enumerate(batch.documents):
        doc: dict[str, Any] = {"seq": first_seq + docnum}
        lengths: dict[str, float] = {}
        for fieldname, stored, length, column in perdoc:
            if fieldname in ("title", "lead", "body", "path", "source") and stored is not None:
                doc[fieldname] = storable(stored)
            if fieldname == "manifest":
                doc["id"], doc["sha"], location = read_manifest_entry(column)
                doc["location"] = storable(location)
            elif fieldname == "day":
                doc["day"] = int(column)
            elif fieldname == "source_key":
                key = bytes(column).decode("utf-8")
                doc["source_key"] = token(key) if key else NO_SOURCE
            elif fieldname == "dup":
                doc["sig"] = base64.b64encode(bytes(column)).decode("ascii")
            if fieldname in SCORED_FIELDS:
                doc[length_field(fieldname)] = int(length)
                lengths[fieldname] = float(LENGTH_OF_BYTE[length_to_byte(length)]) if length else 0.0
        day = int(doc.get("day", 0))
        doc.setdefault("day", 0)
        doc["month"] = f"{day // 10000:04d}-{day // 100 % 100:02d}" if day else "none"
        doc.setdefault("source_key", NO_SOURCE)
        doc["lengths"] = lengths
        for fieldname in SCORED_FIELDS:
            doc.setdefault(length_field(fieldname), 0)
        documents.append(doc)
    entries: list[list[tuple[str, str, float, list[int]]]] = [[] for _ in documents]
    for fieldname in TERM_FIELDS:
        postings = batch.postings.get(fieldname)
        for doc in documents:
            doc[term_field(fieldname)] = []
        if postings is None:
            continue
        terms = list(postings.vocabulary)
        decode = schema[fieldname].format.decode_positions if fieldname in POSITIONAL_FIELDS else None
        offset = 0
        for i, (term_id, docnum, weight) in enumerate(
            zip(postings.term_ids, postings.docs, postings.weights, strict=True)
        ):
            term = terms[term_id]
            positions: list[int] = []
            if postings.keep_values:
                size = postings.sizes[i]
                if decode is not None:
                    positions = decode(bytes(postings.data[offset : offset + size]))
                offset += size
            documents[docnum][term_field(fieldname)].append(token(term))
            entries[docnum].append((fieldname, term, float(weight), positions))
    for doc, vector in zip(documents, entries, strict=True):
        doc.update(encode_vectors(vector))
    return documents


def _statistics(connection: Connection, physical: str) -> dict[str, Any]:
    """Reprint groups, vocabulary, words for typos and source names of the whole collection."""
    signatures: dict[str, bytes] = {}
    titles: dict[str, str] = {}
    for doc in connection.export({"include_fields": "id,sig,title"}, physical):
        if doc.get("sig"):
            signatures[str(doc["id"])] = base64.b64decode(doc["sig"])
            titles[str(doc["id"])] = str(doc.get("title", ""))
    groups = group_reprints(signatures, titles.__getitem__)
    facets = f"{term_field(EXACT_FIELD)},{term_field(TEXT_FIELD)},source_key"
    found = connection.search({"q": "*", "per_page": 0, "facet_by": facets, "max_facet_values": 10_000_000}, physical)
    forms: dict[str, dict[str, int]] = {}
    words: dict[str, int] = {}
    keys: list[str] = []
    for facet in found.get("facet_counts", []):
        for count in facet.get("counts", []):
            value, n = str(count["value"]), int(count["count"])
            if facet["field_name"] == term_field(EXACT_FIELD):
                form = term_of_token(value)
                forms.setdefault(fold_syllable(form), {})[form] = n
            elif facet["field_name"] == term_field(TEXT_FIELD):
                word = term_of_token(value)
                if is_typo_target(word):
                    words[word] = n
            elif value != NO_SOURCE:
                keys.append(value)
    searches = [
        {"q": "*", "filter_by": f"source_key:=[{key}]", "sort_by": "seq:asc", "per_page": 1, "include_fields": "source"}
        for key in keys
    ]
    sources = {}
    for key, result in zip(keys, connection.searches(searches, physical), strict=True):
        hits = result.get("hits", [])
        if hits and hits[0]["document"].get("source"):
            sources[key] = str(hits[0]["document"]["source"])
    return {"groups": groups, "vocabulary": forms, "spelling": words, "sources": sources}


def _write_statistics(collection: _Collection, run: str, parts: dict[str, Any], next_seq: int) -> None:
    """The statistics' chunks, then the ``meta`` document that makes them current, then old chunks removed."""
    chunks: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for part, value in parts.items():
        data = base64.b64encode(zlib.compress(json.dumps(value, ensure_ascii=False).encode("utf-8"), 6)).decode()
        pieces = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [""]
        counts[part] = len(pieces)
        chunks += [
            {"id": f"{part}.{run}.{i}", "kind": "chunk", "run": run, "part": part, "number": i, "data": piece}
            for i, piece in enumerate(pieces)
        ]
    for start in range(0, len(chunks), 4):
        collection.upsert(chunks[start : start + 4], collection.statistics)
    updated = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    meta = {
        "id": "meta",
        "kind": "meta",
        "run": run,
        "version": DOCUMENT_VERSION,
        "chunks": counts,
        "updated": updated,
        "next_seq": next_seq,
    }
    collection.upsert([meta], collection.statistics)
    connection = collection.connection
    handle = connection.collection(collection.statistics)
    _retried(
        "removing old statistics",
        lambda: connection.call(
            "remove old statistics", lambda: handle.documents.delete({"filter_by": f"kind:=[chunk] && run:!=[{run}]"})
        ),
    )


def index_typesense(
    paths: str | Path | Iterable[str | Path],
    target: TypesenseTarget,
    *,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
    procs: int | None = None,
) -> IndexReport:
    """Index clipping files and folders into the Typesense collection of
    ``target``, with the semantics of :func:`clipsearch.writing.build.build_index`
    (added, changed, unchanged, removed; bad files skipped with their reason).
    Raises :class:`BackendUnavailableError` when the cluster cannot take the
    run (what was written is kept: run it again), :class:`IndexLockedError`
    while another run writes to the archive (:class:`_RunLease`) and
    :class:`IndexVersionError` for a collection of another layout."""
    report = IndexReport(str(target))
    given = [paths] if isinstance(paths, str | bytes | os.PathLike) else list(paths)
    roots = [Path(os.path.abspath(p)) for p in given if os.fspath(p)]
    files = find_clipping_files(given, report)
    connection = Connection(target)
    run = uuid.uuid4().hex
    with _RunLease(connection, run) as lease, _workers_die_with_this_process():
        physical = _retried("reading the collection", connection.physical)
        _drop_orphans(connection, physical)
        old: str | None = None
        if physical is not None and not rebuild:
            meta = _meta(connection, physical)
            if meta and meta.get("version") != DOCUMENT_VERSION:
                raise IndexVersionError(
                    f"the Typesense collection {target} was written by another version of clipsearch: "
                    "run `clipsearch index --rebuild --typesense ...`"
                )
            collection = _Collection(connection, physical, lease)
            known = _retried("reading the manifest", lambda: _manifest(connection, physical))
            next_seq = int(meta.get("next_seq", len(known)))
        else:
            old = physical
            collection = _create(connection, f"{target.collection}-{run[:12]}", lease)
            known, next_seq = {}, 0
            if physical is None:  # a new archive: written in place, so that an interrupted run is resumed
                _point_alias(connection, collection.name)
        try:
            next_seq = _index(collection, files, roots, report, known, progress, procs, next_seq)
            with _timed(report.timings, "statistics"):
                lease.renew()
                parts = _retried("counting the statistics", lambda: _statistics(connection, collection.name))
                lease.renew()
                _write_statistics(collection, run, parts, next_seq)
            if old is not None:
                _point_alias(connection, collection.name)
        except BaseException:
            if old is not None:  # a rebuild's collection, never searched: the old one stays
                with contextlib.suppress(BackendUnavailableError):
                    _drop(connection, collection.name)
            raise
        if old is not None:
            _drop(connection, old)
        found = _retried(
            "counting the clippings", lambda: connection.search({"q": "*", "per_page": 0}, collection.name)
        )
        report.total = int(found["found"])
    return report


@contextlib.contextmanager
def _timed(timings: dict[str, float], part: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[part] = timings.get(part, 0.0) + time.perf_counter() - started


def _index(
    collection: _Collection,
    files: list[Path],
    roots: list[Path],
    report: IndexReport,
    known: dict[str, tuple[str, str]],
    progress: Callable[[int, int], None] | None,
    procs: int | None,
    next_seq: int,
) -> int:
    """Add, update and remove clippings; returns the next free ``seq``."""
    schema = build_schema()
    workers = (procs or os.cpu_count() or 1) if len(files) >= PARALLEL_THRESHOLD else 1
    analysis = Analysis(schema, workers, _prepared_document)
    sent: list[list[tuple[str, bool]]] = []
    pending: list[tuple[bytes, Path, str, bool, bool]] = []
    pending_shown: list[tuple[str, bool]] = []
    seen: dict[str, str] = {}

    def write(batches: list[AnalysedBatch]) -> None:
        nonlocal next_seq
        for batch in batches:
            shown = sent.pop(0)
            for i, (path, _update) in enumerate(shown):
                if i in batch.failed:
                    report.skipped.append(Skipped(path, batch.failed[i]))
                else:
                    report.warnings += [Skipped(path, w) for w in batch.warnings.get(i, ())]
            documents = _documents(batch, schema, next_seq)
            next_seq += len(documents)
            collection.upsert(documents)
            for i, (path, update) in enumerate(shown):
                if i not in batch.failed:
                    (report.updated if update else report.added).append(path)

    def send() -> None:
        if pending:
            analysis.send(list(pending), sum(len(item[0]) for item in pending))
            sent.append(list(pending_shown))
            pending.clear()
            pending_shown.clear()
        write(analysis.ready())

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
                else:
                    pending.append((data, path, sha, True, False))
                    pending_shown.append((shown, previous is not None))
                    if len(pending) >= BATCH_DOCUMENTS:
                        send()
            except ClippingError as exc:
                report.skipped.append(Skipped(str(path), str(exc)))
            if progress is not None:
                progress(done, len(files))
        send()
        write(analysis.drain())
        for doc_id, (_sha, old_path) in known.items():
            if doc_id not in seen and _under(old_path, roots) and not Path(old_path).is_file():
                collection.delete(doc_id)
                report.removed.append(old_path)
    finally:
        analysis.close()
    return next_seq
