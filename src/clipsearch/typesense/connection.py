"""Where the archive lives on a Typesense cluster, and the requests sent there.

:class:`TypesenseTarget` names the nodes, the collection and the API key
(from :data:`API_KEY_VARIABLE` unless given); :class:`Connection` sends the
requests with the ``typesense`` client, which spreads them over the nodes
and tries the next node when one fails. Whatever goes wrong on the way (no
node answers, a wrong key, no leader for a write) is a
:class:`~clipsearch.errors.BackendUnavailableError` naming the request.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from clipsearch.errors import BackendUnavailableError

__all__ = [
    "API_KEY_VARIABLE",
    "AlreadyExists",
    "DEFAULT_COLLECTION",
    "MULTI_SEARCHES",
    "Connection",
    "NotFound",
    "PAGE",
    "TransientError",
    "TypesenseTarget",
]

#: The environment variable holding the API key.
API_KEY_VARIABLE = "CLIPSEARCH_TYPESENSE_API_KEY"
DEFAULT_COLLECTION = "clippings"
#: Searches per multi-search request (Typesense's ``limit_multi_searches`` is 50 by default).
MULTI_SEARCHES = 50
#: Documents a search page of Typesense holds at most.
PAGE = 250

T = TypeVar("T")


class NotFound(Exception):
    """The collection or document asked for does not exist."""


class AlreadyExists(Exception):
    """The collection or document to create exists."""


class TransientError(BackendUnavailableError):
    """A failure that may pass: no node answers, a timeout, a server error,
    a cluster electing its leader. Indexing runs try again
    (:func:`clipsearch.typesense.indexing`); other failures (a refused key,
    a bad request) are final."""


#: Collection names: letters, digits, ``_``, ``-`` and ``.`` (they go into URLs).
_COLLECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
#: A GET request's query string longer than this goes as a POST (Typesense refuses past 4,000).
MAX_QUERY_STRING = 3_000


@dataclass(frozen=True)
class TypesenseTarget:
    """A collection on a Typesense cluster: its nodes' URLs
    (``http://host:port``), its name and the API key."""

    nodes: tuple[str, ...]
    collection: str = DEFAULT_COLLECTION
    api_key: str | None = None
    #: Seconds a request may take before the next node is tried.
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.nodes:
            raise BackendUnavailableError("no Typesense node given")
        for url in self.nodes:
            _node(url)
        if (
            not isinstance(self.collection, str)
            or not _COLLECTION.fullmatch(self.collection)
            or ".." in self.collection
        ):
            raise BackendUnavailableError(
                f"{self.collection!r} cannot name a Typesense collection: use letters, digits, _, - and ."
            )

    @property
    def key(self) -> str:
        """The API key: given, or from :data:`API_KEY_VARIABLE`."""
        key = self.api_key if self.api_key is not None else os.environ.get(API_KEY_VARIABLE, "")
        if not key:
            raise BackendUnavailableError(f"no API key for Typesense: set {API_KEY_VARIABLE}")
        if not (key.isascii() and key.isprintable()):
            raise BackendUnavailableError("the Typesense API key must be printable ASCII characters")
        return key

    def __str__(self) -> str:
        return f"{self.nodes[0].rstrip('/')}/collections/{self.collection}"


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _node(url: str) -> dict[str, Any]:
    """The client's description of a node URL, or a clear error."""
    wrong = BackendUnavailableError(f"{url!r} is not the URL of a Typesense node, e.g. http://127.0.0.1:8108")
    if not isinstance(url, str):
        raise wrong
    parsed = urllib.parse.urlsplit(url)
    try:
        port = parsed.port
    except ValueError:  # not a number, or out of range
        raise wrong from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path.strip("/"):
        raise wrong
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise wrong
    return {
        "host": parsed.hostname,
        "port": port or (443 if parsed.scheme == "https" else 80),
        "protocol": parsed.scheme,
    }


class Connection:
    """Requests to the target's collection (and its statistics collection)."""

    def __init__(self, target: TypesenseTarget, retries: int = 3) -> None:
        try:
            import typesense
        except ImportError:
            raise BackendUnavailableError(
                'the Typesense backend needs the typesense extra: pip install "clipsearch[typesense]"'
            ) from None
        self.target = target
        config: Any = {
            "nodes": [_node(url) for url in target.nodes],
            "api_key": target.key,
            "connection_timeout_seconds": target.timeout,
            "num_retries": retries,
            "retry_interval_seconds": 0.5,
        }
        # The client warns of its own APIs for Typesense 30 (analytics, synonyms) whenever it makes a handle.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"typesense\.")
        self.client: Any = typesense.Client(config)

    def call(self, what: str, request: Callable[[], T]) -> T:
        """The answer to ``request`` (a call of the client); :class:`NotFound`
        for a missing collection or document, :class:`AlreadyExists` for one
        that cannot be created twice, else any failure as
        :class:`BackendUnavailableError`."""
        import httpx
        from typesense import exceptions

        try:
            return request()
        except exceptions.ObjectNotFound as exc:
            raise NotFound(str(exc)) from None
        except exceptions.ObjectAlreadyExists as exc:
            raise AlreadyExists(str(exc)) from None
        except exceptions.RequestUnauthorized:
            raise BackendUnavailableError(f"Typesense at {self.target}: the API key was refused ({what})") from None
        except (
            exceptions.ServerError,
            exceptions.ServiceUnavailable,
            exceptions.HTTPStatus0Error,
            exceptions.Timeout,
            httpx.HTTPError,
            OSError,
        ) as exc:
            raise TransientError(f"Typesense at {self.target}: cannot {what}: {_reason(exc)}") from None
        except exceptions.TypesenseClientError as exc:
            if "All nodes are unhealthy" in str(exc):
                raise TransientError(f"Typesense at {self.target}: cannot {what}: {_reason(exc)}") from None
            raise BackendUnavailableError(f"Typesense at {self.target}: cannot {what}: {_reason(exc)}") from None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:  # not Typesense's answers
            raise BackendUnavailableError(
                f"Typesense at {self.target}: cannot {what}: the server does not answer as Typesense does "
                f"({type(exc).__name__})"
            ) from None

    def collection(self, name: str | None = None) -> Any:
        """The client's handle on a collection (the target's by default)."""
        return self.client.collections[name or self.target.collection]

    def search(self, parameters: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        """One search of the collection (sent as a POST: a filter may be long)."""
        return self.searches([parameters], name)[0]

    def searches(self, searches: Sequence[dict[str, Any]], name: str | None = None) -> list[dict[str, Any]]:
        """Several searches of the collection, in as few requests as may be;
        their results in order. A search that fails is :class:`BackendUnavailableError`."""
        results: list[dict[str, Any]] = []
        common = {"collection": name or self.target.collection}
        for start in range(0, len(searches), MULTI_SEARCHES):
            chunk = [{**common, **s} for s in searches[start : start + MULTI_SEARCHES]]
            answer: dict[str, Any] = self.call("search", self._multi_search(chunk))
            found = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(found, list) or len(found) != len(chunk):
                raise BackendUnavailableError(
                    f"Typesense at {self.target}: cannot search: the server does not answer as Typesense does"
                )
            for result in found:
                if not isinstance(result, dict) or "error" in result:
                    error = result.get("error") if isinstance(result, dict) else result
                    if isinstance(result, dict) and int(result.get("code", 400)) >= 500:
                        raise TransientError(f"Typesense at {self.target}: a search failed: {error}")
                    raise BackendUnavailableError(f"Typesense at {self.target}: a search failed: {error}")
                results.append(result)
        return results

    def _multi_search(self, searches: list[dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        return lambda: dict(self.client.multi_search.perform({"searches": searches}, {}))

    def export(self, parameters: dict[str, Any], name: str | None = None) -> Iterator[dict[str, Any]]:
        """The documents a filter passes (``filter_by``, ``include_fields``):
        exported whole, or, for a filter too long for a URL, searched page
        by page (sent as POSTs)."""
        if len(urllib.parse.urlencode(parameters)) > MAX_QUERY_STRING:
            yield from self._paged(parameters, name)
            return
        text: str = self.call("export documents", lambda: self.collection(name).documents.export(parameters))
        # Not splitlines: U+2028, U+2029 and U+0085 may stand inside a JSON string.
        for line in text.split("\n"):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    raise BackendUnavailableError(
                        f"Typesense at {self.target}: cannot export documents: "
                        "the server does not answer as Typesense does"
                    ) from None

    def _paged(self, parameters: dict[str, Any], name: str | None) -> Iterator[dict[str, Any]]:
        search = {"q": "*", **parameters, "per_page": PAGE, "sort_by": "seq:asc"}
        first = self.search({**search, "page": 1}, name)
        yield from (hit["document"] for hit in first.get("hits", []))
        pages = -(-int(first.get("found", 0)) // PAGE)
        rest = [{**search, "page": page} for page in range(2, pages + 1)]
        for result in self.searches(rest, name):
            yield from (hit["document"] for hit in result.get("hits", []))

    def retrieve(self, doc_id: str, name: str | None = None) -> dict[str, Any]:
        """One document by id (:class:`NotFound` if there is none)."""
        try:
            quoted = urllib.parse.quote(doc_id, safe="").replace(".", "%2E")  # "." and ".." are path steps
        except UnicodeError:  # lone surrogates: no document has such an id
            raise NotFound(doc_id) from None
        found = self.call("read a document", lambda: self.collection(name).documents[quoted].retrieve())
        if not isinstance(found, dict) or found.get("id") != doc_id:
            raise NotFound(doc_id)
        return found

    def physical(self) -> str | None:
        """The collection the target's name (an alias) points to; None when
        there is neither alias nor collection of that name."""
        client = self.client
        name = self.target.collection
        try:
            alias: dict[str, Any] = self.call("read the alias", lambda: client.aliases[name].retrieve())
        except NotFound:
            try:
                self.call("read the collection", lambda: client.collections[name].retrieve())
            except NotFound:
                return None
            raise BackendUnavailableError(
                f"Typesense at {self.target}: the collection {name!r} exists and was not written by clipsearch"
            ) from None
        return str(alias["collection_name"])
