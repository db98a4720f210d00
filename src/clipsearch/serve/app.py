"""The Starlette app of ``clipsearch serve`` (:func:`create_app`) and the
uvicorn server that runs it until Ctrl-C (:func:`serve`).

Only GET (and HEAD) is answered, 405 otherwise: no request writes anything.
A path that matches no route is a 404, as JSON under ``/api/`` and as a page
elsewhere; a path with a slash too many is not redirected.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clipsearch.backend import ArchiveLocation, Backend, open_backend
from clipsearch.errors import ClipsearchError
from clipsearch.processes import die_with_parent
from clipsearch.serve import api, pages
from clipsearch.serve.failures import failure_status

__all__ = [
    "INDEX_DIR_VARIABLE",
    "TYPESENSE_VARIABLE",
    "ServeError",
    "SharedIndex",
    "app_from_environment",
    "create_app",
    "listen",
    "listening_url",
    "serve",
]


class ServeError(ClipsearchError):
    """The server cannot start (its address cannot be had)."""


#: Where :func:`serve` tells its worker processes which index to serve, and
#: the supervisor's process id (a worker dies with it).
INDEX_DIR_VARIABLE = "CLIPSEARCH_SERVE_INDEX_DIR"
#: ... or which Typesense collection (JSON: its nodes, collection and timeout;
#: the API key stays in :data:`clipsearch.typesense.connection.API_KEY_VARIABLE`).
TYPESENSE_VARIABLE = "CLIPSEARCH_SERVE_TYPESENSE"
PARENT_VARIABLE = "CLIPSEARCH_SERVE_PARENT"

logger = logging.getLogger("clipsearch.serve")


class SharedIndex:
    """One archive (:class:`~clipsearch.backend.Backend`) for every request,
    opened on first use (and again on a later request while it cannot be
    opened: a server may start before its index exists)."""

    def __init__(self, location: ArchiveLocation) -> None:
        self.location = location
        self._index: Backend | None = None
        self._lock = threading.Lock()

    def get(self) -> Backend:
        """The open archive."""
        with self._lock:
            if self._index is None:
                self._index = open_backend(self.location)
            return self._index

    def close(self) -> None:
        """Close the index (a later :meth:`get` opens it again)."""
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path in ("/api", "/healthz")


def create_app(location: ArchiveLocation) -> Starlette:
    """The web pages and the JSON API over the archive at ``location`` (an
    index folder or a Typesense collection)."""
    shared = SharedIndex(location)

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
    the environment variable :data:`INDEX_DIR_VARIABLE`. The worker is sent
    SIGTERM when its supervisor dies (even by SIGKILL): none is left holding
    the port."""
    if PARENT_VARIABLE in os.environ:
        die_with_parent(int(os.environ[PARENT_VARIABLE]), signal.SIGTERM)
    if TYPESENSE_VARIABLE in os.environ:
        from clipsearch.typesense.connection import TypesenseTarget

        given = json.loads(os.environ[TYPESENSE_VARIABLE])
        return create_app(TypesenseTarget(tuple(given["nodes"]), given["collection"], timeout=given["timeout"]))
    return create_app(os.environ[INDEX_DIR_VARIABLE])


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` (port 0: a free one), for
    :func:`serve`; :class:`ServeError` if it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def listening_url(sock: socket.socket) -> str:
    """The URL of the server on ``sock`` (the port it got, for port 0)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(location: ArchiveLocation, sock: socket.socket, workers: int = 1) -> None:
    """Serve the pages and the API on ``sock`` (:func:`listen`) until SIGINT
    (Ctrl-C) or SIGTERM, then return.

    ``workers`` processes share the socket, each with its own open archive
    (searches run in parallel, one per process), watched by this one: a
    worker that dies (killed, or by a fault such as a file of the index cut
    short under its memory map while it read it) is replaced, and said so on
    stderr."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    class Supervisor(Multiprocess):
        def keep_subprocess_alive(self) -> None:
            # Said of every worker uvicorn replaces, after the fact: one that
            # dies while uvicorn looks at it is replaced without a first look.
            before = list(self.processes)
            super().keep_subprocess_alive()
            for old, new in zip(before, self.processes, strict=False):
                if new is not old:
                    code = old.process.exitcode
                    logger.warning(f"clipsearch serve: worker {old.pid} died (exit {code}); starting another")

    from clipsearch.typesense.connection import API_KEY_VARIABLE, TypesenseTarget

    if isinstance(location, TypesenseTarget):
        os.environ[API_KEY_VARIABLE] = location.key
        described = {"nodes": list(location.nodes), "collection": location.collection, "timeout": location.timeout}
        os.environ[TYPESENSE_VARIABLE] = json.dumps(described)
    else:
        os.environ[INDEX_DIR_VARIABLE] = os.path.abspath(location)
    os.environ[PARENT_VARIABLE] = str(os.getpid())
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        f"{__name__}:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=max(1, workers),
        log_level="warning",
        lifespan="on",
    )
    Supervisor(config, sockets=[sock]).run()
