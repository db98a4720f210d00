"""The query language: a query string read into a small syntax tree, and
dates as users write them.

Syntax (as users of search engines expect it)::

    văn phòng cấp ủy          all words must match (in any field)
    "văn phòng cấp ủy"        the syllables in this order
    hòa bình OR chiến tranh   either side
    hòa bình NOT mỹ           NOT (or a leading -) excludes
    (a OR b) c                parentheses group
    title:hà nội  title:"văn phòng"  source:ttxvn    restrict to the title or the source
    date:03/2026  date:01/03/2026..15/03/2026  date:2026-03-01..   a date range
    *                         every clipping (with a date: range, a list by date)

Operators must be written in capitals; ``and``, ``or``, ``not`` in lowercase
are ordinary words. A query is never rejected for a stray operator or an
unclosed quote or parenthesis: those are read the forgiving way. Only a query
with nothing to search for raises :class:`~clipsearch.errors.QueryError`.

Dates are read the way Vietnamese users write them (``31/3/2026``,
``03/2026``) and in ISO form (``2026-03-31``, ``2026-03``, ``2026``); a
partial date is a whole month or year. ``date:`` and the ``since`` and
``until`` filters (:class:`clipsearch.searching.filters.Filters`) read them alike.

The tree becomes a plan (:mod:`clipsearch.searching.plan`) and the terms to
highlight (:mod:`clipsearch.searching.highlight`); :func:`word_spans` tells
"did you mean" (:mod:`clipsearch.searching.spelling`) where the query's
words are in the string it rewrites.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import NamedTuple

from clipsearch.errors import QueryError
from clipsearch.text.syllables import syllable_forms

__all__ = [
    "All",
    "And",
    "DateFilter",
    "DateSpan",
    "FIELDS",
    "OPERATORS",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Terms",
    "Token",
    "parse_date_range",
    "parse_date_span",
    "parse_query",
    "split_filters",
    "tokenize",
    "word_spans",
]

#: Field prefixes a query may use (``date:`` takes a date or a range).
FIELDS = ("title", "source", "date")


@dataclass(frozen=True)
class Terms:
    """Words that must all match; ``field`` None means any text field."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class Phrase:
    """Syllables that must match in this order."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class All:
    """Every clipping (``*``)."""


@dataclass(frozen=True)
class DateFilter:
    """``date:``: clippings dated from ``since`` to ``until`` (inclusive; None: open)."""

    since: dt.date | None
    until: dt.date | None


Node = Terms | Phrase | And | Or | Not | All | DateFilter

_TOKEN_RE = re.compile(
    r"""
    (?P<phrase>"[^"]*"?)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<field>(?:"""
    + "|".join(FIELDS)
    + r"""):)
  | (?P<word>[^\s"()]+)
    """,
    re.VERBOSE | re.IGNORECASE,
)
#: Operators: a token of their own, in capitals.
OPERATORS = frozenset({"AND", "OR", "NOT"})


class Token(NamedTuple):
    """One token of a query and its span in it. ``kind`` is ``word``,
    ``phrase`` (quotes included), ``open``, ``close``, ``field`` (``text``:
    the field's name, lowercase, without the colon) or an operator
    (one of :data:`OPERATORS`)."""

    kind: str
    text: str
    start: int
    end: int


def tokenize(query: str) -> list[Token]:
    """The tokens of ``query``, in order; the characters between them are white space."""
    tokens = []
    for m in _TOKEN_RE.finditer(query):
        kind = m.lastgroup or "word"
        text = m.group()
        if kind == "word" and text in OPERATORS:
            kind = text
        elif kind == "field":
            text = text[:-1].lower()
        tokens.append(Token(kind, text, m.start(), m.end()))
    return tokens


def word_spans(query: str) -> list[tuple[int, int]]:
    """The spans of ``query`` that hold its words and phrases (ascending):
    not its operators, field prefixes, parentheses or ``date:`` values."""
    spans = []
    after_date = False
    for token in tokenize(query):
        if token.kind in ("word", "phrase") and not after_date:
            spans.append((token.start, token.end))
        after_date = token.kind == "field" and token.text == "date"
    return spans


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = tokenize(query)
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i].kind if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node | None:
        node = self.or_expr()
        while self.i < len(self.tokens):  # a stray ")" : skip it and go on
            self.take()
            more = self.or_expr()
            node = _combine(And, [n for n in (node, more) if n is not None])
        return node

    def or_expr(self) -> Node | None:
        parts = [self.and_expr()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.and_expr())
        return _combine(Or, [p for p in parts if p is not None])

    def and_expr(self) -> Node | None:
        parts: list[Node] = []
        while self.peek() not in (None, "OR", "close"):
            if self.peek() == "AND":
                self.take()
                continue
            node = self.unary()
            if node is not None:
                parts.append(node)
        return _combine(And, _merge_terms(parts))

    def unary(self) -> Node | None:
        kind = self.peek()
        if kind == "NOT":
            self.take()
            child = self.unary()
            return Not(child) if child is not None else None
        if kind == "word" and self.tokens[self.i].text.startswith("-") and len(self.tokens[self.i].text) > 1:
            token = self.take()
            self.tokens.insert(self.i, Token("word", token.text[1:], token.start + 1, token.end))
            child = self.unary()
            return Not(child) if child is not None else None
        return self.primary(None)

    def primary(self, field: str | None) -> Node | None:
        token = self.take()
        kind, value = token.kind, token.text
        if kind == "open":
            node = self.or_expr()
            if self.peek() == "close":
                self.take()
            return node
        if kind == "field" and value == "date":
            if self.peek() in ("word", "phrase"):
                return DateFilter(*parse_date_range(self.take().text.strip('"')))
            raise QueryError("date: needs a date or a range, e.g. date:03/2026 or date:01/03/2026..31/03/2026")
        if kind == "field":
            if self.peek() in ("word", "phrase", "open"):
                return _with_field(self.primary(value), value)
            return None
        if kind == "phrase":
            text = value.strip('"')
            return Phrase(text, field) if syllable_forms(text) else None
        if kind == "word" and value == "*" and field is None:
            return All()
        if kind == "word":
            return Terms(value, field) if syllable_forms(value) else None
        return None  # a stray AND / OR / ")" is ignored


def _with_field(node: Node | None, field: str) -> Node | None:
    if isinstance(node, Terms):
        return Terms(node.text, field)
    if isinstance(node, Phrase):
        return Phrase(node.text, field)
    if isinstance(node, And):
        return And(tuple(n for c in node.children if (n := _with_field(c, field)) is not None))
    if isinstance(node, Or):
        return Or(tuple(n for c in node.children if (n := _with_field(c, field)) is not None))
    if isinstance(node, Not):
        child = _with_field(node.child, field)
        return Not(child) if child is not None else None
    return node if isinstance(node, (All, DateFilter)) else None


def _merge_terms(parts: list[Node]) -> list[Node]:
    """Adjacent plain words of the same field become one :class:`Terms`, so
    they are segmented together (``văn phòng`` is one word)."""
    merged: list[Node] = []
    for part in parts:
        last = merged[-1] if merged else None
        if isinstance(part, Terms) and isinstance(last, Terms) and last.field == part.field:
            merged[-1] = Terms(f"{last.text} {part.text}", part.field)
        else:
            merged.append(part)
    return merged


def _combine(kind: type[And] | type[Or], parts: list[Node]) -> Node | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return kind(tuple(parts))


def parse_query(query: str) -> Node:
    """Parse ``query``; raise :class:`QueryError` when it has nothing to search for."""
    node = _Parser(query).parse()
    if node is None:
        shown = query.strip()
        raise QueryError(f"the query {shown!r} has no words to search for" if shown else "the query is empty")
    if _only_negative(node):
        raise QueryError(f"the query {query.strip()!r} only excludes words: add a word to search for")
    return node


def _only_negative(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, And):
        return all(_only_negative(c) for c in node.children)
    if isinstance(node, Or):
        return any(_only_negative(c) for c in node.children)
    return False


def split_filters(node: Node) -> tuple[Node | None, dt.date | None, dt.date | None]:
    """The query without its ``date:`` ranges and ``*``, and the date range
    they give (their intersection). None for the query: no words, list
    everything. ``date:`` narrows the whole query: inside OR or NOT it is an
    error."""
    since: dt.date | None = None
    until: dt.date | None = None
    parts = list(node.children) if isinstance(node, And) else [node]
    words: list[Node] = []
    narrowed = False
    for part in parts:
        narrowed = narrowed or isinstance(part, (All, DateFilter))
        if isinstance(part, DateFilter):
            if part.since and (since is None or part.since > since):
                since = part.since
            if part.until and (until is None or part.until < until):
                until = part.until
        elif not isinstance(part, All):
            if _has_filter(part):
                raise QueryError("date: and * narrow the whole query: they cannot be inside OR, NOT or parentheses")
            words.append(part)
    if words and all(isinstance(w, Not) for w in words):
        if not narrowed:
            raise QueryError("the query only excludes words: add a word to search for, or * for every clipping")
        words.insert(0, All())
    rest = None if not words else words[0] if len(words) == 1 else And(tuple(words))
    return rest, since, until


def _has_filter(node: Node) -> bool:
    if isinstance(node, (All, DateFilter)):
        return True
    if isinstance(node, (And, Or)):
        return any(_has_filter(c) for c in node.children)
    if isinstance(node, Not):
        return _has_filter(node.child)
    return False


# Dates, as ``date:`` and the date filters of the API and the command line read them

_VN_DATE = re.compile(r"(?:(\d{1,2})[/.-])?(\d{1,2})[/.-](\d{4})")
_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


@dataclass(frozen=True)
class DateSpan:
    """The first and last day a written date stands for."""

    first: dt.date
    last: dt.date


def parse_date_span(text: str) -> DateSpan:
    """``31/03/2026``, ``3/2026``, ``2026-03-31``, ``2026-03`` or ``2026``
    as the days it covers; raise :class:`QueryError` otherwise."""
    value = text.strip()
    year: int
    month: int | None
    day: int | None
    if m := _VN_DATE.fullmatch(value):
        day = int(m.group(1)) if m.group(1) else None
        month, year = int(m.group(2)), int(m.group(3))
    elif m := _ISO_DATE.fullmatch(value):
        year = int(m.group(1))
        month = int(m.group(2)) if m.group(2) else None
        day = int(m.group(3)) if m.group(3) else None
    else:
        raise QueryError(f"cannot read the date {value!r}: write dd/mm/yyyy or yyyy-mm-dd (or a month: mm/yyyy)")
    try:
        if month is None:
            return DateSpan(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if day is None:
            return DateSpan(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))
        date = dt.date(year, month, day)
    except ValueError as exc:
        raise QueryError(f"cannot read the date {value!r}: {exc}") from None
    return DateSpan(date, date)


def parse_date_range(text: str) -> tuple[dt.date | None, dt.date | None]:
    """A ``date:`` value: one date (its whole span) or ``FROM..TO`` with
    either end left open."""
    if ".." in text:
        start, _, end = text.partition("..")
        return (
            parse_date_span(start).first if start.strip() else None,
            parse_date_span(end).last if end.strip() else None,
        )
    span = parse_date_span(text)
    return span.first, span.last
