"""Reading a request's query-string parameters, with their limits; a value
that cannot be used is a :class:`~clipsearch.serve.failures.BadParameter`."""

from __future__ import annotations

import re

from starlette.requests import Request

from clipsearch.serve.failures import BadParameter

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_OFFSET", "MAX_QUERY", "flag", "number", "query", "sources", "text"]

#: Hits per page: the default and the most one request may ask for.
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
#: How far into the hits a page may start.
MAX_OFFSET = 1000
#: The longest query accepted, in characters.
MAX_QUERY = 2000
#: The most sources one request may name, and the longest name.
MAX_SOURCES = 100
MAX_SOURCE_NAME = 200

_DIGITS = re.compile(r"[0-9]{1,18}")


def number(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``; ``default`` when absent or empty."""
    value_text = request.query_params.get(name)
    if value_text is None or value_text == "":
        return default
    digits = value_text.strip()
    value = int(digits) if _DIGITS.fullmatch(digits) else None  # ASCII digits only: not "1_0", not "١"
    if value is None or not low <= value <= high:
        raise BadParameter(f"{name} must be a whole number from {low} to {high}, not {value_text!r}")
    return value


def flag(request: Request, name: str) -> bool:
    """``true``/``1`` or ``false``/``0`` (absent or empty: false)."""
    value = request.query_params.get(name, "").strip().lower()
    if value in ("", "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise BadParameter(f"{name} must be true, 1, false or 0, not {value!r}")


def text(request: Request, name: str) -> str | None:
    """A text parameter; empty (a form's blank field) or only spaces is none."""
    value = request.query_params.get(name)
    return value if value and value.strip() else None


def sources(request: Request) -> list[str]:
    """The ``source`` parameters given, blank ones left out, each once; at
    most :data:`MAX_SOURCES` of at most :data:`MAX_SOURCE_NAME` characters."""
    names = list(dict.fromkeys(s for s in request.query_params.getlist("source") if s.strip()))
    if len(names) > MAX_SOURCES:
        raise BadParameter(f"at most {MAX_SOURCES} sources may be given, not {len(names):,}")
    if any(len(name) > MAX_SOURCE_NAME for name in names):
        raise BadParameter(f"a source name is longer than {MAX_SOURCE_NAME} characters")
    return names


def query(request: Request, name: str = "q") -> str | None:
    """The query text, at most :data:`MAX_QUERY` characters (absent: none)."""
    value = request.query_params.get(name)
    if value is not None and len(value) > MAX_QUERY:
        raise BadParameter(f"the query is longer than {MAX_QUERY:,} characters")
    return value
