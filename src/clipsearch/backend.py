"""The backend seam: what the command line and the web server ask of an
archive, whichever holds it. :func:`open_backend` opens the Whoosh index in
a folder (:class:`clipsearch.search.Index`, the default) or a Typesense
collection (:class:`clipsearch.typesense.archive.TypesenseArchive`, for an
archive shared by many machines); both are a :class:`Backend` and give the
same results (:mod:`clipsearch.results`). Indexing runs go to
:func:`clipsearch.writing.build.build_index` or
:func:`clipsearch.typesense.indexing.index_typesense`."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    from clipsearch.results import ClippingSummary, ClippingView, Hit, IndexStats, SearchResult
    from clipsearch.typesense.connection import TypesenseTarget

__all__ = ["ArchiveLocation", "Backend", "open_backend"]

#: Where an archive is: an index folder, or a Typesense collection.
ArchiveLocation: TypeAlias = "str | os.PathLike[str] | TypesenseTarget"


class Backend(Protocol):
    """An open archive: searches, clippings, statistics."""

    @property
    def path(self) -> str | Path:
        """Where the archive is: its folder, or its collection's URL."""
        ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...

    def __len__(self) -> int: ...

    def close(self) -> None:
        """Release what the archive holds open."""

    def query(
        self,
        query: str = "*",
        limit: int = 10,
        *,
        source: str | Sequence[str] | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
        sort: str = "relevance",
        facets: bool = False,
        collapse: bool = True,
        exact_input: bool = False,
    ) -> SearchResult:
        """Search (:meth:`clipsearch.search.Index.query` says how)."""
        ...

    def search(self, query: str = "*", limit: int = 10, **filters: Any) -> list[Hit]:
        """The best hits of a query."""
        ...

    def show(self, clipping_id: str, query: str | None = None) -> ClippingView:
        """A whole clipping, with a query's words marked."""
        ...

    def similar(self, clipping_id: str, limit: int = 10, *, include_reprints: bool = False) -> SearchResult:
        """The clippings most like one."""
        ...

    def summaries(self, clipping_ids: Iterable[str]) -> list[ClippingSummary]:
        """Clippings as a list shows them."""
        ...

    def stats(self) -> IndexStats:
        """What the archive holds."""
        ...

    def check(self) -> int:
        """Read what every search needs; the number of clippings."""
        ...


def open_backend(location: ArchiveLocation) -> Backend:
    """The archive at ``location``: a folder holding a Whoosh index, or a Typesense collection."""
    from clipsearch.typesense.connection import TypesenseTarget

    if isinstance(location, TypesenseTarget):
        from clipsearch.typesense.archive import TypesenseArchive

        return TypesenseArchive(location)
    from clipsearch.search import open_index

    return open_index(os.fspath(location))
