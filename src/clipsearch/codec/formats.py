"""Compact posting formats: positions as varints, weights without values,
presence only.

Whoosh's own ``Positions`` format pickles every posting's list of position
deltas (about 10 bytes of pickle framing per posting, plus 2-3 per position).
:class:`VarintPositions` stores the count and the deltas as LEB128 varints
(:mod:`clipsearch.codec.varints`): 1 byte per position in the common case.
Same interface, so Whoosh's phrase queries and scorers work unchanged. It is
pickled into the index's schema, so it lives in an importable module and
holds no state.

All three read an analyzer's token columns (:class:`TokenColumns`, from its
``columns(value)``: clipsearch's tokenizers) where it has them, instead of
Whoosh's stream of ``Token`` objects, which costs attribute writes per
token. Besides Whoosh's ``word_values`` (one value, token by token), each
turns a batch of documents' columns into postings at once with numpy
(``batch_postings``, what :func:`clipsearch.writing.arrays.analyse_documents`
calls): the same postings, without Python code per token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from operator import sub
from typing import Any, NamedTuple

import numpy as np
from whoosh.formats import Existence, Format, Frequency, tokens

from clipsearch.codec.varints import decode_varints, encode_varints, read_varint, vectorised_encode

__all__ = ["BatchPostings", "IntFrequency", "Presence", "TokenColumns", "VarintPositions"]

#: (text, position, boost) of one token.
Weighted = tuple[str, int, float]


class TokenColumns(NamedTuple):
    """The tokens of one field value as columns, in text order: each one's
    text, position and zone, and the boost of each zone number."""

    texts: Sequence[str]
    positions: Sequence[int]
    zones: Sequence[int]
    boosts: Sequence[float]


def weighted_tokens(value: Any, analyzer: Any, kwargs: dict[str, Any]) -> Iterable[Weighted]:
    """``(text, position, boost)`` of each token of ``value``: from the
    analyzer's columns if it has them, else from Whoosh's token stream."""
    columns = token_columns(value, analyzer, kwargs)
    if columns is not None:
        return zip(columns.texts, columns.positions, map(columns.boosts.__getitem__, columns.zones), strict=True)
    kwargs = {**kwargs, "positions": True, "boosts": True}
    return ((t.text, t.pos, t.boost) for t in tokens(value, analyzer, kwargs))


def token_columns(value: Any, analyzer: Any, kwargs: dict[str, Any]) -> TokenColumns | None:
    """The analyzer's :class:`TokenColumns` of ``value``, or None when it
    has none for it (not one of clipsearch's tokenizers, not a string, or
    positions not from 0)."""
    columns = getattr(analyzer, "columns", None)
    if columns is None or not isinstance(value, str) or kwargs.get("start_pos"):
        return None
    found: TokenColumns = columns(value)
    return found


class BatchPostings(NamedTuple):
    """The postings of one field of a batch of documents, ordered by
    document, then term: the terms (numbered from 0 in this order), each
    posting's term number, document number and weight, and, for a format
    with values, each posting's value size and the values joined."""

    terms: list[str]
    term_ids: Any  # numpy uint32
    docs: Any  # numpy uint32
    weights: Any  # numpy float32
    sizes: Any  # numpy uint32, or None
    data: bytes


class _Grouped(NamedTuple):
    """A batch's tokens grouped into postings: one group per (document, term)."""

    terms: list[str]
    order: Any  # the tokens, sorted by document and term (stable: text order within a group)
    starts: Any  # each group's first token in that order
    group_of_token: Any  # each token's group, in text order
    batch_docs: Any  # each group's document, as an index into the batch
    term_ids: Any


def _grouped(batch: Sequence[TokenColumns]) -> _Grouped:
    """Group the tokens of a batch of values (one field's, one per document)."""
    counts = [len(columns.texts) for columns in batch]
    texts = list(chain.from_iterable(columns.texts for columns in batch))
    terms = list(dict.fromkeys(texts))  # in order of first appearance
    numbers = dict(zip(terms, range(len(terms)), strict=True))
    term_of_token = np.fromiter(map(numbers.__getitem__, texts), dtype=np.int64, count=len(texts))
    doc_of_token = np.repeat(np.arange(len(batch), dtype=np.int64), counts)
    span = max(len(terms), 1)
    keys = doc_of_token * span + term_of_token
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(first)
    group_of_token = np.empty(len(keys), dtype=np.int64)
    group_of_token[order] = np.cumsum(first) - 1
    batch_docs, term_ids = np.divmod(sorted_keys[starts], span)
    return _Grouped(terms, order, starts, group_of_token, batch_docs, term_ids)


def _postings(
    grouped: _Grouped, docnums: Sequence[int], weights: Any, doc_boosts: Sequence[float], values: Any = None
) -> BatchPostings:
    """Postings of grouped tokens: ``weights`` per group (float64, each
    document's boost still to apply), ``values`` (sizes, data) or None."""
    boosts = np.asarray(doc_boosts, dtype=np.float64)
    if (boosts != 1.0).any():
        weights = weights * boosts[grouped.batch_docs]
    sizes, data = values if values is not None else (None, b"")
    return BatchPostings(
        grouped.terms,
        grouped.term_ids.astype(np.uint32),
        np.asarray(docnums, dtype=np.uint32)[grouped.batch_docs],
        weights.astype(np.float32),
        sizes,
        data,
    )


def _summed_boosts(grouped: _Grouped, batch: Sequence[TokenColumns], field_boost: float) -> Any:
    """Each group's zone boosts summed in text order (as ``word_values``
    adds them), times the field's boost."""
    count = len(grouped.group_of_token)
    boosts = {tuple(columns.boosts) for columns in batch}
    if len(boosts) == 1:  # one tokenizer: its boosts indexed by the tokens' zones
        zones = np.fromiter(chain.from_iterable(columns.zones for columns in batch), dtype=np.int64, count=count)
        boost_of_token = np.asarray(boosts.pop(), dtype=np.float64)[zones]
    else:
        tokens = chain.from_iterable(map(columns.boosts.__getitem__, columns.zones) for columns in batch)
        boost_of_token = np.fromiter(tokens, dtype=np.float64, count=count)
    summed = np.bincount(grouped.group_of_token, weights=boost_of_token, minlength=len(grouped.starts))
    return summed * field_boost


def _compact(weight: float) -> float:
    """A whole-number weight as an int: Whoosh pickles each block's weights,
    and pickle writes a small int in 2 bytes but every float in 9."""
    return int(weight) if weight.is_integer() else weight


class IntFrequency(Frequency):
    """Whoosh's ``Frequency`` format with only the (zone-weighted) weight of
    each posting: whole-number weights as ints, and no 4-byte value repeating
    the frequency, which scoring never reads (it reads the weight)."""

    posting_size = 0

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        field_boost = self.field_boost
        freqs: dict[str, int] = {}
        weights: dict[str, float] = {}
        for text, _pos, boost in weighted_tokens(value, analyzer, kwargs):
            if text in freqs:
                freqs[text] += 1
                weights[text] += boost
            else:
                freqs[text] = 1
                weights[text] = boost
        return [(word, freq, _compact(weights[word] * field_boost), b"") for word, freq in freqs.items()]

    def field_length(self, columns: TokenColumns) -> int:
        """The sum of the frequencies ``word_values`` gives: the tokens."""
        return len(columns.texts)

    def batch_postings(
        self, docnums: Sequence[int], batch: Sequence[TokenColumns], doc_boosts: Sequence[float]
    ) -> BatchPostings:
        """The postings ``word_values`` gives for each value of ``batch``
        (the document ``docnums[i]``'s, its weights times ``doc_boosts[i]``)."""
        grouped = _grouped(batch)
        return _postings(grouped, docnums, _summed_boosts(grouped, batch, self.field_boost), doc_boosts)

    def decode_frequency(self, valuestring: bytes) -> int:
        return 1

    def decode_weight(self, valuestring: bytes) -> float:
        return float(self.field_boost)

    def combine(self, vs: Iterable[bytes]) -> bytes:
        return b""


class VarintPositions(Format):
    """Frequency, weight and positions, varint-encoded: ``count, delta...``."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        field_boost = self.field_boost
        positions: dict[str, list[int]] = {}
        weights: dict[str, float] = {}
        for text, pos, boost in weighted_tokens(value, analyzer, kwargs):
            found = positions.get(text)
            if found is None:
                positions[text] = [pos]
                weights[text] = boost
            else:
                found.append(pos)
                weights[text] += boost
        encode = self.encode
        return [
            (word, len(poslist), _compact(weights[word] * field_boost), encode(poslist))
            for word, poslist in positions.items()
        ]

    def field_length(self, columns: TokenColumns) -> int:
        """The sum of the frequencies ``word_values`` gives: the tokens."""
        return len(columns.texts)

    def batch_postings(
        self, docnums: Sequence[int], batch: Sequence[TokenColumns], doc_boosts: Sequence[float]
    ) -> BatchPostings:
        """The postings ``word_values`` gives for each value of ``batch``
        (the document ``docnums[i]``'s, its weights times ``doc_boosts[i]``),
        the values (count, then position deltas) encoded in one pass."""
        grouped = _grouped(batch)
        weights = _summed_boosts(grouped, batch, self.field_boost)
        count = len(grouped.order)
        positions = np.fromiter(chain.from_iterable(columns.positions for columns in batch), np.int64, count)[
            grouped.order
        ]
        starts = grouped.starts
        groups = len(starts)
        previous = np.empty(count, dtype=np.int64)
        previous[1:] = positions[:-1]
        previous[starts] = 0  # a group's first position is written whole
        # Each group's varints: its count, then its tokens' deltas.
        codes = np.empty(count + groups, dtype=np.int64)
        heads = starts + np.arange(groups)
        codes[heads] = np.diff(np.append(starts, count))
        codes[np.arange(count) + grouped.group_of_token[grouped.order] + 1] = positions - previous
        data, code_sizes = vectorised_encode(codes)
        sizes = np.add.reduceat(code_sizes, heads).astype(np.uint32) if groups else np.zeros(0, np.uint32)
        return _postings(grouped, docnums, weights, doc_boosts, (sizes, data.tobytes()))

    def encode(self, poslist: list[int]) -> bytes:
        return encode_varints([len(poslist), poslist[0], *map(sub, poslist[1:], poslist[:-1])] if poslist else [0])

    def decode_positions(self, valuestring: bytes) -> list[int]:
        codes = decode_varints(valuestring)
        positions = []
        position = 0
        for delta in codes[1:]:
            position += delta
            positions.append(position)
        return positions

    def decode_frequency(self, valuestring: bytes) -> int:
        return read_varint(valuestring, 0)[0] if valuestring else 0  # the count

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * float(self.field_boost)

    def decode_position_boosts(self, valuestring: bytes) -> list[tuple[int, float]]:
        return [(pos, 1.0) for pos in self.decode_positions(valuestring)]

    def combine(self, vs: Iterable[bytes]) -> bytes:
        merged: set[int] = set()
        for v in vs:
            merged.update(self.decode_positions(v))
        return self.encode(sorted(merged))


class Presence(Existence):
    """Whoosh's ``Existence`` (which documents have a term, weight 1, no
    value), reading :func:`weighted_tokens`."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        field_boost = self.field_boost
        present = {text for text, _pos, _boost in weighted_tokens(value, analyzer, kwargs)}
        return ((word, 1, field_boost, b"") for word in present)

    def field_length(self, columns: TokenColumns) -> int:
        """The sum of the frequencies ``word_values`` gives: the distinct tokens."""
        return len(set(columns.texts))

    def batch_postings(
        self, docnums: Sequence[int], batch: Sequence[TokenColumns], doc_boosts: Sequence[float]
    ) -> BatchPostings:
        """The postings ``word_values`` gives for each value of ``batch``
        (the document ``docnums[i]``'s, its weights times ``doc_boosts[i]``)."""
        grouped = _grouped(batch)
        weights = np.full(len(grouped.starts), float(self.field_boost))
        return _postings(grouped, docnums, weights, doc_boosts)
