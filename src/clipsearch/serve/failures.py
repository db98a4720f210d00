"""What status an exception raised while answering a request is (one table
for the JSON API and the web pages)."""

from __future__ import annotations

import logging

from clipsearch.errors import (
    BackendUnavailableError,
    ClippingNotFoundError,
    IndexDamagedError,
    IndexNotFoundError,
    IndexVersionError,
    QueryError,
)

__all__ = ["BadParameter", "failure_status"]

logger = logging.getLogger("clipsearch.serve")


class BadParameter(Exception):
    """A parameter of the request cannot be used; the message says why."""


def failure_status(exc: Exception) -> tuple[int, str]:
    """The HTTP status and the one-line message for ``exc``: 400 a bad query
    or parameter, 404 no such clipping, 503 no usable index (or no Typesense node answering); anything else
    is 500 with a message that tells nothing of it (it is logged on stderr)."""
    if isinstance(exc, QueryError | BadParameter):
        return 400, str(exc)
    if isinstance(exc, ClippingNotFoundError):
        return 404, str(exc)
    if isinstance(exc, IndexNotFoundError | IndexDamagedError | IndexVersionError | BackendUnavailableError):
        return 503, str(exc)
    logger.error("internal error", exc_info=exc)
    return 500, "internal error"
