"""The JSON API: the same objects as the command line's ``--json``
(``SearchResult``, ``ClippingView``, ``IndexStats``), or ``{"error": message}``
with the status of :func:`~clipsearch.serve.failures.failure_status`.

Ids from the URL go only to :meth:`Index.show` and :meth:`Index.similar`,
which look them up in the index: never to the file system.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clipsearch.backend import Backend
from clipsearch.serve import parameters
from clipsearch.serve.failures import failure_status

__all__ = ["HEADERS", "JSONAnswer", "error_answer", "routes"]

#: Headers of every JSON answer.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}


class JSONAnswer(Response):
    """A JSON object as UTF-8, with :data:`HEADERS`."""

    media_type = "application/json; charset=utf-8"

    def __init__(self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(content, status_code, {**HEADERS, **(headers or {})})

    def render(self, content: Any) -> bytes:
        try:
            return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except UnicodeError:  # text that is not valid Unicode (surrogate escapes): as \u escapes
            return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


def error_answer(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONAnswer:
    """``{"error": message}`` with ``status``."""
    return JSONAnswer({"error": message}, status, headers)


def _search(request: Request, index: Backend) -> dict[str, Any]:
    q = parameters.query(request)
    limit = parameters.number(request, "limit", parameters.DEFAULT_LIMIT, 1, parameters.MAX_LIMIT)
    offset = parameters.number(request, "offset", 0, 0, parameters.MAX_OFFSET)
    result = index.query(
        "*" if q is None else q,
        limit=limit + offset,
        source=parameters.sources(request) or None,
        since=parameters.text(request, "since"),
        until=parameters.text(request, "until"),
        sort=parameters.text(request, "sort") or "relevance",
        facets=parameters.flag(request, "facets"),
        exact_input=parameters.flag(request, "exact_input"),
    )
    data = result.to_dict()
    data["hits"] = data["hits"][offset:]
    return data


def _clipping(request: Request, index: Backend) -> dict[str, Any]:
    return index.show(request.path_params["id"], parameters.query(request) or None).to_dict()


def _similar(request: Request, index: Backend) -> dict[str, Any]:
    limit = parameters.number(request, "limit", parameters.DEFAULT_LIMIT, 1, parameters.MAX_LIMIT)
    return index.similar(request.path_params["id"], limit=limit).to_dict()


def _stats(request: Request, index: Backend) -> dict[str, Any]:
    return index.stats().to_dict()


def _healthz(request: Request, index: Backend) -> dict[str, Any]:
    return {"status": "ok", "clippings": index.check()}


def routes(get_index: Callable[[], Backend]) -> list[Route]:
    """The API's routes, each answering from ``get_index()``."""

    def endpoint(answer: Callable[[Request, Backend], Any]) -> Callable[[Request], JSONAnswer]:
        # A plain function: Starlette runs it in a worker thread; the Backend has its own lock.
        def run(request: Request) -> JSONAnswer:
            try:
                return JSONAnswer(answer(request, get_index()))
            except Exception as exc:
                return error_answer(*failure_status(exc))

        return run

    return [
        Route("/api/search", endpoint(_search)),
        Route("/api/clippings/{id}", endpoint(_clipping)),
        Route("/api/clippings/{id}/similar", endpoint(_similar)),
        Route("/api/stats", endpoint(_stats)),
        Route("/healthz", endpoint(_healthz)),
    ]
