"""A clipping as a document of a Typesense collection, and the collection's schema.

Typesense only stores and matches what clipsearch analysed; it decides
nothing about Vietnamese. A document holds:

* the clipping as shown: ``title``, ``lead``, ``body``, ``source``, ``path``
  (stored, not indexed: snippets and highlights are computed by clipsearch
  on this text);
* the terms of each of the index's fields (:data:`TERM_FIELDS`), distinct,
  as ``string[]`` fields ``f_<field>``: filters match them exactly
  (``f_text:=[bao]``), so a query matches the same clippings as in the
  Whoosh index. Typesense compares filter values after its own
  normalisation (lower case, some diacritics and every symbol removed:
  ``bà`` is ``ba``, ``a_b`` is ``ab``), so each term goes as a token that
  normalisation leaves alone (:func:`token`);
* each field's length (``n_<field>``, an ``int32`` faceted for its sum, the
  average length of BM25F) and, in ``lengths``, the length as Whoosh's
  length byte gives it back;
* the term vector: every term of every field with its weight (frequency
  times zone boosts) and, for the fields with positions, its positions, in
  :data:`BUCKETS` stored fields ``v<k>`` by a hash of the term
  (:func:`bucket_of`), so that a search fetches only the buckets of its own
  terms (:func:`encode_vectors`, :func:`decode_vectors`);
* ``day`` (``yyyymmdd``, 0 without a date), ``month`` (``yyyy-mm`` or
  ``none``) and ``source_key`` (:data:`NO_SOURCE` without one) for filters,
  facets and sorting; ``seq``, the order documents were indexed in (ties
  between equal scores go by it, as they go by document number in Whoosh);
* ``sha`` and ``location``, the content hash and absolute path of the file
  (the manifest an indexing run compares files with), and ``sig``, the
  clipping's MinHash signature (base64) for reprint groups.

The archive's statistics (reprint groups, vocabulary, words for typos)
are kept in a second collection, ``<collection>__statistics``
(:data:`STATISTICS_SUFFIX`).
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from clipsearch.schema import EXACT_FIELD, EXACT_WORDS_FIELD, TEXT_FIELD, TITLE_FIELD, WORDS_FIELD

__all__ = [
    "BUCKETS",
    "DOCUMENT_VERSION",
    "FACETED_FIELDS",
    "NO_SOURCE",
    "POSITIONAL_FIELDS",
    "SCORED_FIELDS",
    "STATISTICS_SUFFIX",
    "TERM_FIELDS",
    "Vector",
    "bucket_of",
    "collection_schema",
    "decode_vectors",
    "encode_vectors",
    "restored",
    "statistics_schema",
    "storable",
    "term_field",
    "term_of_token",
    "token",
]

#: The index's fields whose terms a document carries (``source`` for ``source:`` queries).
TERM_FIELDS = (TEXT_FIELD, TITLE_FIELD, EXACT_FIELD, WORDS_FIELD, EXACT_WORDS_FIELD, "source")
#: Fields scored by BM25F (the others only match).
SCORED_FIELDS = (TEXT_FIELD, TITLE_FIELD, EXACT_FIELD, WORDS_FIELD, "source")
#: Fields whose term vector keeps positions (phrases).
POSITIONAL_FIELDS = (TEXT_FIELD, TITLE_FIELD, "source")
#: Stored fields the term vector is spread over.
BUCKETS = 32
#: ``source_key`` of a clipping without a source (Typesense filters no empty string).
NO_SOURCE = "-"
#: Fields counted by facets.
FACETED_FIELDS = ("source_key", "month")
#: The collection of the archive's statistics is ``<collection>`` + this.
STATISTICS_SUFFIX = "__statistics"
#: The layout of the documents; a collection of another layout needs a rebuild.
DOCUMENT_VERSION = 1

_SEP_ENTRY, _SEP_PART = "\x1e", "\x1f"

#: ``(field, term) -> (weight, positions)``
Vector = dict[tuple[str, str], tuple[float, tuple[int, ...]]]


_PLAIN = re.compile(r"[a-z0-9]+")
#: Tokens of terms that are not plain lower-case letters and digits start with this.
ENCODED = "zz"


def token(term: str) -> str:
    """The token of a term in the ``f_<field>`` fields and in filters: the
    term itself when it is lower-case ASCII letters and digits (not starting
    with :data:`ENCODED`), else :data:`ENCODED` and its UTF-8 in base 32,
    lower case: distinct terms, distinct tokens, whatever Typesense's
    normalisation does."""
    if _PLAIN.fullmatch(term) and not term.startswith(ENCODED):
        return term
    encoded = base64.b32encode(term.encode("utf-8", "surrogatepass")).decode("ascii")
    return ENCODED + encoded.rstrip("=").lower()


#: What starts a stored text that was not valid Unicode (a file name in a legacy encoding).
_BYTES = "\x00b64:"


def storable(text: str) -> str:
    """``text`` as JSON can carry it: itself, or, when it holds the lone
    surrogates that stand for bytes that are not UTF-8 (a file name from an
    old Windows archive), those bytes in base 64 after a marker no path holds."""
    try:
        text.encode("utf-8")
    except UnicodeError:
        return _BYTES + base64.b64encode(text.encode("utf-8", "surrogateescape")).decode("ascii")
    return text


def restored(text: str) -> str:
    """The text :func:`storable` was given."""
    if not text.startswith(_BYTES):
        return text
    return base64.b64decode(text[len(_BYTES) :]).decode("utf-8", "surrogateescape")


def term_of_token(value: str) -> str:
    """The term a :func:`token` stands for."""
    if not value.startswith(ENCODED):
        return value
    encoded = value[len(ENCODED) :].upper()
    return base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode("utf-8", "surrogatepass")


def term_field(field: str) -> str:
    """The ``string[]`` field holding a field's terms."""
    return f"f_{field}"


def length_field(field: str) -> str:
    """The ``int32`` field holding a field's length."""
    return f"n_{field}"


def bucket_of(field: str, term: str) -> int:
    """The bucket (``v<k>``) of a term's entry in the term vector."""
    return zlib.crc32(f"{field}{_SEP_PART}{term}".encode("utf-8", "surrogatepass")) % BUCKETS


def encode_vectors(entries: Iterable[tuple[str, str, float, Sequence[int]]]) -> dict[str, str]:
    """The stored fields ``v<k>`` of a term vector given as ``(field, term,
    weight, positions)``."""
    buckets: dict[int, list[str]] = {}
    for field, term, weight, positions in entries:
        line = _SEP_PART.join((field, term, repr(float(weight)), " ".join(map(str, positions))))
        buckets.setdefault(bucket_of(field, term), []).append(line)
    return {f"v{k}": _SEP_ENTRY.join(lines) for k, lines in buckets.items()}


def decode_vectors(document: Mapping[str, Any], wanted: set[tuple[str, str]] | None = None) -> Vector:
    """The entries of a document's term vector (those of ``wanted``, if given)
    found in the buckets it holds."""
    vector: Vector = {}
    for k in range(BUCKETS):
        stored = document.get(f"v{k}")
        if not stored:
            continue
        for line in stored.split(_SEP_ENTRY):
            field, term, weight, positions = line.split(_SEP_PART)
            if wanted is not None and (field, term) not in wanted:
                continue
            vector[(field, term)] = (float(weight), tuple(int(p) for p in positions.split()) if positions else ())
    return vector


def collection_schema(name: str) -> dict[str, Any]:
    """The schema of the collection of clippings ``name``: only what filters,
    facets and sorts use is declared (indexed); the rest of a document is
    stored as it is."""
    # The syllables and written forms are faceted: their counts are the
    # vocabulary and the words typos may have meant.
    fields: list[dict[str, Any]] = [
        {"name": term_field(f), "type": "string[]", "optional": True, "facet": f in (TEXT_FIELD, EXACT_FIELD)}
        for f in TERM_FIELDS
    ]
    fields += [{"name": length_field(f), "type": "int32", "facet": True} for f in SCORED_FIELDS]
    fields += [
        {"name": "day", "type": "int32", "facet": True},
        {"name": "month", "type": "string", "facet": True},
        {"name": "source_key", "type": "string", "facet": True},
        {"name": "seq", "type": "int64"},
    ]
    return {"name": name, "fields": fields, "default_sorting_field": "seq", "token_separators": []}


def statistics_schema(name: str) -> dict[str, Any]:
    """The schema of the statistics collection (documents stored whole, nothing to search)."""
    return {"name": name, "fields": [{"name": "kind", "type": "string"}, {"name": "run", "type": "string"}]}
