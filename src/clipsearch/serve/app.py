"""The Starlette app of ``clipsearch serve`` (:func:`create_app`) and the
uvicorn server that runs it until Ctrl-C (:func:`serve`).

Only GET (and HEAD) is answered, 405 otherwise: no request writes anything.
A path that matches no route is a 404, as JSON under ``/api/`` and as a page
elsewhere; a path with a slash too many is not redirected.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clipsearch.search import Index, open_index
from clipsearch.serve import api, pages
from clipsearch.serve.failures import failure_status

__all__ = ["INDEX_DIR_VARIABLE", "SharedIndex", "app_from_environment", "create_app", "serve"]

#: Where :func:`serve` tells its worker processes which index to serve.
INDEX_DIR_VARIABLE = "CLIPSEARCH_SERVE_INDEX_DIR"


class SharedIndex:
    """One :class:`Index` for every request, opened on first use (and again
    on a later request while it cannot be opened: a server may start before
    its index exists)."""

    def __init__(self, index_dir: str) -> None:
        self.index_dir = index_dir
        self._index: Index | None = None
        self._lock = threading.Lock()

    def get(self) -> Index:
        """The open index."""
        with self._lock:
            if self._index is None:
                self._index = open_index(self.index_dir)
            return self._index

    def close(self) -> None:
        """Close the index (a later :meth:`get` opens it again)."""
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path in ("/api", "/healthz")


def create_app(index_dir: str) -> Starlette:
    """The web pages and the JSON API over the index in ``index_dir``."""
    shared = SharedIndex(index_dir)

    async def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            status, message = exc.status_code, "not found" if exc.status_code == 404 else str(exc.detail).lower()
        else:
            status, message = failure_status(exc)
        if _is_api(request.url.path):
            return api.error_answer(status, message)
        return pages.error_page(status, "Không có trang này." if status == 404 else message)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            shared.close()

    app = Starlette(
        routes=[
            *api.routes(shared.get),
            *pages.routes(shared.get),
            Mount("/static", StaticFiles(directory=pages.STATIC), name="static"),
        ],
        exception_handlers={HTTPException: http_error, Exception: http_error},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # its redirects would name the request's Host: a 404 instead
    app.add_middleware(_Guard)
    return app


class _Guard:
    """Answers 405 to every method but GET and HEAD, and gives the answers that
    have none (static files, Starlette's own) the pages' security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            if _is_api(scope["path"]):
                answer: Response = api.error_answer(405, "method not allowed: only GET", {"Allow": "GET, HEAD"})
            else:
                answer = pages.error_page(405, "Chỉ nhận yêu cầu GET.")
                answer.headers["Allow"] = "GET, HEAD"
            await answer(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                extra = [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in pages.HEADERS.items()
                    if name.lower().encode("latin-1") not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def app_from_environment() -> Starlette:
    """The app of one worker process of :func:`serve`: the index named by
    the environment variable :data:`INDEX_DIR_VARIABLE`."""
    return create_app(os.environ[INDEX_DIR_VARIABLE])


def serve(index_dir: str, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the pages and the API until SIGINT (Ctrl-C) or SIGTERM, then return.

    ``workers`` processes share the listening socket, each with its own
    :class:`Index` (searches run in parallel, one per process), watched by
    this one: a worker that dies (killed, or by a fault such as a file of the
    index cut short under its memory map) is replaced."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[INDEX_DIR_VARIABLE] = os.path.abspath(index_dir)
    config = uvicorn.Config(
        f"{__name__}:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=max(1, workers),
        log_level="warning",
        lifespan="on",
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
