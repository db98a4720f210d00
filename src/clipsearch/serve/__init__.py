"""``clipsearch serve``: the archive over HTTP, a thin layer over the library
(like :mod:`clipsearch.cli`).

- :mod:`~clipsearch.serve.app` assembles the Starlette app (:func:`create_app`)
  and runs it on uvicorn (:func:`serve`);
- :mod:`~clipsearch.serve.api` answers the JSON API (``/api/...``, ``/healthz``);
- :mod:`~clipsearch.serve.pages` renders the web pages, in Vietnamese, from
  the templates in ``templates/`` (the stylesheet and the optional script are
  in ``static/``);
- :mod:`~clipsearch.serve.parameters` reads a request's parameters and
  :mod:`~clipsearch.serve.failures` turns an exception into an HTTP status,
  for both.

Every request shares one archive, a :class:`~clipsearch.search.Index` or a
Typesense collection (:class:`~clipsearch.backend.Backend`,
:class:`~clipsearch.serve.app.SharedIndex`): its methods hold its own lock, so
the server's worker threads may call it at once, and it opens the newer files
itself after a ``clipsearch index`` run commits.
"""

from clipsearch.serve.app import ServeError, create_app, listen, listening_url, serve

__all__ = ["ServeError", "create_app", "listen", "listening_url", "serve"]
