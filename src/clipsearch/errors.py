"""Library exceptions. The CLI turns each into a one-line message and an exit code."""

from __future__ import annotations

__all__ = [
    "ClipsearchError",
    "ClippingError",
    "IndexNotFoundError",
    "IndexVersionError",
    "IndexLockedError",
    "QueryError",
    "ClippingNotFoundError",
    "IndexDamagedError",
    "IndexWriteError",
    "IndexingError",
    "BackendUnavailableError",
]


class ClipsearchError(Exception):
    """Base class of every error clipsearch raises on purpose."""


class ClippingError(ClipsearchError):
    """A clipping file cannot be read, decoded or parsed; the message is the reason."""


class IndexNotFoundError(ClipsearchError):
    """There is no clipsearch index in the given folder."""


class IndexVersionError(ClipsearchError):
    """The index was built by an incompatible version of clipsearch."""


class IndexLockedError(ClipsearchError):
    """Another process is writing to the index."""


class QueryError(ClipsearchError):
    """The query cannot be understood (it has no search terms, for example)."""


class ClippingNotFoundError(ClipsearchError):
    """No clipping with the given id is in the index."""


class IndexDamagedError(ClipsearchError):
    """A file of the index is missing or damaged; ``clipsearch index --rebuild`` repairs it."""


class IndexWriteError(ClipsearchError):
    """The index folder cannot be written (full disk, read-only folder, no
    permission); what was committed before is kept."""


class IndexingError(ClipsearchError):
    """An indexing run cannot go on (a worker process analysing the clippings
    died: killed, or out of memory); what was committed before is kept, and
    the next run finishes the job."""


class BackendUnavailableError(ClipsearchError):
    """The search server holding the archive (a Typesense cluster) cannot be
    reached or refuses the request (wrong API key, no leader for writes); the
    message says which and why. What it committed before is kept."""
