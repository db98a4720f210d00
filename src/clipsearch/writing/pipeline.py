"""Analysis in worker processes, writing in the process that runs the build.

The process that runs ``clipsearch index`` reads and parses the clipping
files and gathers their documents into batches of :data:`BATCH_DOCUMENTS`;
worker processes analyse each batch (normalising, segmenting, folding,
signatures: most of a build's work) into an
:class:`~clipsearch.writing.arrays.AnalysedBatch`, and the build process
adds the batches, in the order of the files, to one
:class:`~clipsearch.writing.arrays.ArraySegmentWriter`, while the workers
analyse the next ones. So the index is the same whatever the number of
workers, every segment holds the vocabulary once, and the build process's
writing overlaps the workers' analysis.

At most :data:`IN_FLIGHT_PER_WORKER` batches per worker wait to be written,
which bounds the memory of documents in flight (about 20 KB a document
analysed) and is enough to keep the workers busy while the build process
writes a segment.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Sequence
from multiprocessing.pool import AsyncResult
from typing import Any

from clipsearch.writing.arrays import AnalysedBatch, analyse_documents

__all__ = ["BATCH_DOCUMENTS", "IN_FLIGHT_PER_WORKER", "Analysis"]

#: Documents sent to a worker at once.
BATCH_DOCUMENTS = 64
#: Batches per worker sent and not yet written.
IN_FLIGHT_PER_WORKER = 24

_schema: Any = None


def _start_worker(schema: Any) -> None:
    global _schema
    _schema = schema


def _analyse(documents: Sequence[dict[str, Any]]) -> AnalysedBatch:
    return analyse_documents(_schema, documents)


class Analysis:
    """Batches of documents analysed by ``procs`` worker processes (forked:
    they share the loaded segmenter's pages), or here for ``procs`` 1,
    given back in the order they were sent."""

    def __init__(self, schema: Any, procs: int) -> None:
        self.schema = schema
        self.procs = procs
        self._pool: Any = None
        if procs > 1:
            self._pool = multiprocessing.get_context("fork").Pool(procs, initializer=_start_worker, initargs=(schema,))
        self._pending: deque[AsyncResult[AnalysedBatch] | AnalysedBatch] = deque()

    def send(self, documents: Sequence[dict[str, Any]]) -> None:
        """Send a batch to be analysed."""
        if self._pool is None:
            self._pending.append(analyse_documents(self.schema, documents))
        else:
            self._pending.append(self._pool.apply_async(_analyse, (list(documents),)))

    def ready(self) -> list[AnalysedBatch]:
        """The analysed batches at the head of the queue that are ready, and
        the oldest ones (waited for) while too many are in flight."""
        done = []
        limit = IN_FLIGHT_PER_WORKER * max(1, self.procs)
        while self._pending:
            head = self._pending[0]
            if isinstance(head, AsyncResult) and len(self._pending) <= limit and not head.ready():
                break
            self._pending.popleft()
            done.append(head.get() if isinstance(head, AsyncResult) else head)
        return done

    def drain(self) -> list[AnalysedBatch]:
        """Every batch sent and not yet given back (waited for)."""
        done = []
        while self._pending:
            head = self._pending.popleft()
            done.append(head.get() if isinstance(head, AsyncResult) else head)
        return done

    def close(self) -> None:
        """Stop the workers (what they were doing is dropped)."""
        self._pending.clear()
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
