"""clipsearch: full-text search for Vietnamese press clippings.

The public API::

    import clipsearch

    report = clipsearch.build_index(["seeds/"], "index")
    with clipsearch.open_index("index") as index:
        for hit in index.search("văn phòng cấp ủy", limit=5):
            print(hit.id, hit.title, hit.snippet, hit.highlights)

Importing this package loads nothing else: each name is imported on first
use (so ``import clipsearch.text.segmenter`` or ``clipsearch --help`` stay fast).

The package's subpackages follow the engine: :mod:`clipsearch.text`
(normalisation, folding, syllables, words), :mod:`clipsearch.codec` (the
bytes of posting lists), :mod:`clipsearch.writing` (indexing runs, with
Whoosh), :mod:`clipsearch.reading` (the index's files, without Whoosh),
:mod:`clipsearch.searching` (query syntax, plans, scoring, ranking, filters,
highlights, spelling) and :mod:`clipsearch.reprints`; see
``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clipsearch.clipping import Clipping, read_clipping
    from clipsearch.errors import (
        BackendUnavailableError,
        ClippingError,
        ClippingNotFoundError,
        ClipsearchError,
        IndexDamagedError,
        IndexingError,
        IndexLockedError,
        IndexNotFoundError,
        IndexVersionError,
        IndexWriteError,
        QueryError,
    )
    from clipsearch.results import ClippingSummary, ClippingView, Hit, IndexStats, SearchResult
    from clipsearch.search import Index, open_index
    from clipsearch.writing.build import IndexReport, Skipped, build_index

__version__ = "0.1.0"

_EXPORTS = {
    "Clipping": "clipping",
    "read_clipping": "clipping",
    "BackendUnavailableError": "errors",
    "ClippingError": "errors",
    "ClippingNotFoundError": "errors",
    "ClipsearchError": "errors",
    "IndexDamagedError": "errors",
    "IndexingError": "errors",
    "IndexLockedError": "errors",
    "IndexWriteError": "errors",
    "IndexNotFoundError": "errors",
    "IndexVersionError": "errors",
    "QueryError": "errors",
    "IndexReport": "writing.build",
    "Skipped": "writing.build",
    "build_index": "writing.build",
    "ClippingSummary": "results",
    "ClippingView": "results",
    "Hit": "results",
    "Index": "search",
    "IndexStats": "results",
    "SearchResult": "results",
    "open_index": "search",
}

__all__ = [
    "BackendUnavailableError",
    "Clipping",
    "ClippingError",
    "ClippingNotFoundError",
    "ClippingSummary",
    "ClippingView",
    "ClipsearchError",
    "Hit",
    "Index",
    "IndexDamagedError",
    "IndexingError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexStats",
    "IndexVersionError",
    "IndexWriteError",
    "QueryError",
    "SearchResult",
    "Skipped",
    "__version__",
    "build_index",
    "open_index",
    "read_clipping",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'clipsearch' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"clipsearch.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
