"""clipsearch: full-text search for Vietnamese press clippings.

The public API::

    import clipsearch

    report = clipsearch.build_index(["seeds/"], "index")
    with clipsearch.open_index("index") as index:
        for hit in index.search("văn phòng cấp ủy", limit=5):
            print(hit.id, hit.title, hit.snippet, hit.highlights)

Importing this package loads neither Whoosh nor pyvi's model; they are
loaded when an index is opened or built.
"""

from __future__ import annotations

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
    "build_index",
    "open_index",
    "read_clipping",
    "__version__",
]
