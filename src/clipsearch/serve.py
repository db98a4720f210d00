"""``clipsearch serve``: the HTTP API, a thin layer over the library (like
:mod:`clipsearch.cli`).

:func:`create_app` makes a Starlette app with one shared
:class:`~clipsearch.search.Index`, opened on the first request (a server may
start before its index exists) and refreshed by the index itself when a
``clipsearch index`` run commits. Every answer is a JSON object: the same
objects as the command line's ``--json`` (``SearchResult``, ``ClippingView``,
``IndexStats``), or ``{"error": message}`` with the status of the error
(400 a bad query or parameter, 404 no such clipping or path, 405 not a GET,
503 no usable index, 500 anything else, logged on stderr, never shown).

Ids from the URL go only to :meth:`Index.show` and :meth:`Index.similar`,
which look them up in the index: never to the file system.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from clipsearch.errors import (
    ClippingNotFoundError,
    IndexDamagedError,
    IndexNotFoundError,
    IndexVersionError,
    QueryError,
)
from clipsearch.search import Index, open_index

__all__ = ["create_app", "serve"]

#: Hits per page: the default and the most one request may ask for.
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
#: How far into the hits a page may start.
MAX_OFFSET = 1000
#: The longest query accepted, in characters.
MAX_QUERY = 2000

#: Headers of every answer.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}

logger = logging.getLogger("clipsearch.serve")


class _BadParameter(Exception):
    """A parameter of the request cannot be used; the message says why."""


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


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONAnswer:
    return JSONAnswer({"error": message}, status, headers)


def _failure(exc: Exception) -> JSONAnswer:
    """The answer for an exception raised while answering a request."""
    if isinstance(exc, QueryError | _BadParameter):
        return _error(400, str(exc))
    if isinstance(exc, ClippingNotFoundError):
        return _error(404, str(exc))
    if isinstance(exc, IndexNotFoundError | IndexDamagedError | IndexVersionError):
        return _error(503, str(exc))
    logger.error("internal error", exc_info=exc)
    return _error(500, "internal error")


class _SharedIndex:
    """One :class:`Index` for every request, opened on first use (and again
    on a later request while it cannot be opened)."""

    def __init__(self, index_dir: str) -> None:
        self.index_dir = index_dir
        self._index: Index | None = None
        self._lock = threading.Lock()

    def get(self) -> Index:
        with self._lock:
            if self._index is None:
                self._index = open_index(self.index_dir)
            return self._index

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None


def _number(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text.strip(), 10)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise _BadParameter(f"{name} must be a whole number from {low} to {high}, not {text!r}")
    return value


def _flag(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "").strip().lower()
    if text in ("", "0", "false"):
        return False
    if text in ("1", "true"):
        return True
    raise _BadParameter(f"{name} must be true, 1, false or 0, not {text!r}")


def _text(request: Request, name: str) -> str | None:
    """A text parameter; empty (a form's blank field) is none."""
    return request.query_params.get(name) or None


def _query(request: Request, name: str = "q") -> str | None:
    text = request.query_params.get(name)
    if text is not None and len(text) > MAX_QUERY:
        raise _BadParameter(f"the query is longer than {MAX_QUERY:,} characters")
    return text


def create_app(index_dir: str) -> Starlette:
    """The HTTP API over the index in ``index_dir`` (see the module's doc)."""
    shared = _SharedIndex(index_dir)

    def endpoint(answer: Callable[[Request, Index], Any]) -> Callable[[Request], JSONAnswer]:
        # A plain function: Starlette runs it in a worker thread; the Index has its own lock.
        def run(request: Request) -> JSONAnswer:
            try:
                return JSONAnswer(answer(request, shared.get()))
            except Exception as exc:
                return _failure(exc)

        return run

    def search(request: Request, index: Index) -> dict[str, Any]:
        q = _query(request)
        limit = _number(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _number(request, "offset", 0, 0, MAX_OFFSET)
        sources = [s for s in request.query_params.getlist("source") if s]
        result = index.query(
            "*" if q is None else q,
            limit=limit + offset,
            source=sources or None,
            since=_text(request, "since"),
            until=_text(request, "until"),
            sort=_text(request, "sort") or "relevance",
            facets=_flag(request, "facets"),
        )
        data = result.to_dict()
        data["hits"] = data["hits"][offset:]
        return data

    def clipping(request: Request, index: Index) -> dict[str, Any]:
        return index.show(request.path_params["id"], _query(request) or None).to_dict()

    def similar(request: Request, index: Index) -> dict[str, Any]:
        limit = _number(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        return index.similar(request.path_params["id"], limit=limit).to_dict()

    def stats(request: Request, index: Index) -> dict[str, Any]:
        return index.stats().to_dict()

    def healthz(request: Request, index: Index) -> dict[str, Any]:
        return {"status": "ok", "clippings": len(index)}

    async def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            message = "not found" if exc.status_code == 404 else exc.detail
            return _error(exc.status_code, message.lower() if isinstance(message, str) else "error", exc.headers)
        return _failure(exc)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            shared.close()

    routes = [
        Route("/api/search", endpoint(search)),
        Route("/api/clippings/{id}", endpoint(clipping)),
        Route("/api/clippings/{id}/similar", endpoint(similar)),
        Route("/api/stats", endpoint(stats)),
        Route("/healthz", endpoint(healthz)),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: http_error},
        lifespan=lifespan,
    )
    app.add_middleware(_OnlyGet)
    return app


class _OnlyGet:
    """Answers 405 to every method but GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "GET":
            await _error(405, "method not allowed: only GET", {"Allow": "GET"})(scope, receive, send)
            return
        await self.app(scope, receive, send)


def serve(index_dir: str, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API until SIGINT (Ctrl-C) or SIGTERM, then return."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            # As uvicorn's, without raising the signal again once stopped: a clean stop, exit code 0.
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    config = uvicorn.Config(create_app(index_dir), host=host, port=port, log_level="warning", lifespan="on")
    Server(config).run()
