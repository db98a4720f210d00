"""clipsearch: full-text search for Vietnamese press clippings.

The public API::

    import clipsearch

    report = clipsearch.build_index(["seeds/"], "index")
    with clipsearch.open_index("index") as index:
        for hit in index.search("văn phòng cấp ủy", limit=5):
            print(hit.id, hit.title, hit.snippet, hit.highlights)

Importing this package loads nothing else: each name is imported on first
use (so ``import clipsearch.segmenter`` or ``clipsearch --help`` stay fast).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clipping import Clipping, read_clipping
    from .errors import (
        ClippingError,
        ClipsearchError,
        IndexLockedError,
        IndexNotFoundError,
        IndexVersionError,
        QueryError,
    )
    from .index import IndexReport, Skipped, build_index
    from .search import Hit, Index, SearchResult, open_index

__version__ = "0.1.0"

_EXPORTS = {
    "Clipping": "clipping",
    "read_clipping": "clipping",
    "ClippingError": "errors",
    "ClipsearchError": "errors",
    "IndexLockedError": "errors",
    "IndexNotFoundError": "errors",
    "IndexVersionError": "errors",
    "QueryError": "errors",
    "IndexReport": "index",
    "Skipped": "index",
    "build_index": "index",
    "Hit": "search",
    "Index": "search",
    "SearchResult": "search",
    "open_index": "search",
}

__all__ = [
    "Clipping",
    "ClippingError",
    "ClipsearchError",
    "Hit",
    "Index",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexVersionError",
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
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
