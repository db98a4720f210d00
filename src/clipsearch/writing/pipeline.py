"""Analysis in worker processes, writing in the process that runs the build.

The process that runs ``clipsearch index`` reads the clipping files and
gathers them into batches of :data:`BATCH_DOCUMENTS`; worker processes parse
each batch's files into documents and analyse them (normalising,
segmenting, folding, signatures: most of a build's work) into an
:class:`~clipsearch.writing.arrays.AnalysedBatch`, and the build process
adds the batches, in the order of the files, to one
:class:`~clipsearch.writing.arrays.ArraySegmentWriter`, while the workers
analyse the next ones. So the index is the same whatever the number of
workers, every segment holds the vocabulary once, and the build process's
writing overlaps the workers' analysis.

At most :data:`IN_FLIGHT_PER_WORKER` batches per worker, and
:data:`IN_FLIGHT_BYTES` of clipping files, wait to be written,
which bounds the memory of documents in flight (about 20 KB a document
analysed) and is enough to keep the workers busy while the build process
writes a segment.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from clipsearch.errors import ClippingError, IndexingError
from clipsearch.writing.arrays import AnalysedBatch, analyse_documents

__all__ = ["BATCH_DOCUMENTS", "IN_FLIGHT_BYTES", "IN_FLIGHT_PER_WORKER", "Analysis", "Prepare", "prepare_and_analyse"]

#: Documents sent to a worker at once.
BATCH_DOCUMENTS = 64
#: Batches per worker sent and not yet written.
IN_FLIGHT_PER_WORKER = 24
#: Bytes of clipping files sent and not yet written (past it, the build
#: process waits for the oldest batch, however few are in flight).
IN_FLIGHT_BYTES = 64 * 1024 * 1024

#: Turns what is sent for one clipping (its file's bytes and what goes with
#: them) into its document and the warnings about it; raises
#: :class:`~clipsearch.errors.ClippingError` for a file that is not a clipping.
Prepare = Callable[[Any], tuple[dict[str, Any], tuple[str, ...]]]

_schema: Any = None
_prepare: Prepare | None = None


def _start_worker(schema: Any, prepare: Prepare) -> None:
    global _schema, _prepare
    _schema, _prepare = schema, prepare


def prepare_and_analyse(schema: Any, prepare: Prepare, items: Sequence[Any]) -> AnalysedBatch:
    """Documents made of ``items`` by ``prepare`` and analysed; the items it
    refuses are in the batch's ``failed``, their reason with them."""
    documents: list[dict[str, Any]] = []
    failed: dict[int, str] = {}
    warnings: dict[int, tuple[str, ...]] = {}
    for i, item in enumerate(items):
        try:
            document, notes = prepare(item)
        except ClippingError as exc:
            failed[i] = str(exc)
            continue
        documents.append(document)
        if notes:
            warnings[i] = notes
    batch = analyse_documents(schema, documents)
    batch.failed, batch.warnings = failed, warnings
    return batch


def _analyse(items: Sequence[Any]) -> AnalysedBatch:
    assert _prepare is not None
    return prepare_and_analyse(_schema, _prepare, items)


class Analysis:
    """Batches of clippings made into documents by ``prepare`` and analysed
    by ``procs`` worker processes (forked: they share the loaded
    segmenter's pages), or here for ``procs`` 1, given back in the order
    they were sent. A worker that dies (killed, out of memory) fails the
    run with :class:`~clipsearch.errors.IndexingError`, never a wait."""

    def __init__(self, schema: Any, procs: int, prepare: Prepare) -> None:
        self.schema = schema
        self.procs = procs
        self.prepare = prepare
        self._pool: ProcessPoolExecutor | None = None
        if procs > 1:
            self._pool = ProcessPoolExecutor(
                procs,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(schema, prepare),
            )
        self._pending: deque[tuple[Future[AnalysedBatch] | AnalysedBatch, int]] = deque()
        self._pending_bytes = 0

    def send(self, items: Sequence[Any], size: int = 0) -> None:
        """Send a batch of clippings (of about ``size`` bytes) to be analysed."""
        if self._pool is None:
            self._pending.append((prepare_and_analyse(self.schema, self.prepare, items), 0))
            return
        try:
            future = self._pool.submit(_analyse, list(items))
        except BrokenProcessPool:
            raise _worker_died() from None
        self._pending.append((future, size))
        self._pending_bytes += size

    def _result(self, head: Future[AnalysedBatch] | AnalysedBatch, size: int) -> AnalysedBatch:
        self._pending_bytes -= size
        if not isinstance(head, Future):
            return head
        try:
            return head.result()
        except BrokenProcessPool:
            raise _worker_died() from None

    def ready(self) -> list[AnalysedBatch]:
        """The analysed batches at the head of the queue that are ready, and
        the oldest ones (waited for) while too many, or too many bytes, are
        in flight."""
        done = []
        limit = IN_FLIGHT_PER_WORKER * max(1, self.procs)
        while self._pending:
            head, size = self._pending[0]
            if (
                isinstance(head, Future)
                and not head.done()
                and len(self._pending) <= limit
                and self._pending_bytes <= IN_FLIGHT_BYTES
            ):
                break
            self._pending.popleft()
            done.append(self._result(head, size))
        return done

    def drain(self) -> list[AnalysedBatch]:
        """Every batch sent and not yet given back (waited for)."""
        done = []
        while self._pending:
            head, size = self._pending.popleft()
            done.append(self._result(head, size))
        return done

    def close(self) -> None:
        """Stop the workers (what they were doing is dropped)."""
        self._pending.clear()
        self._pending_bytes = 0
        pool, self._pool = self._pool, None
        if pool is not None:
            processes = list((pool._processes or {}).values())  # to stop them now, not after their batch
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                with contextlib.suppress(Exception):
                    process.kill()
            for process in processes:
                with contextlib.suppress(Exception):
                    process.join(5)


def _worker_died() -> IndexingError:
    return IndexingError(
        "a worker process analysing the clippings died (killed, or out of memory): "
        "what was committed is kept; run `clipsearch index` again to finish"
    )
