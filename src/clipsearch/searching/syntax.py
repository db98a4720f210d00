"""The query language: a query string read into a small syntax tree, and
dates as users write them.

Syntax (as users of search engines expect it)::

    văn phòng cấp ủy          all words must match (in any field)
    "văn phòng cấp ủy"        the syllables in this order
    hòa bình OR chiến tranh   either side
    hòa bình NOT mỹ           NOT (or a leading -) excludes: -mỹ, -"hoa kỳ", -(a b), -title:x
    (a OR b) c                parentheses group
    title:hà nội  title:"văn phòng"  source:ttxvn    restrict to the title or the source
    date:03/2026  date:01/03/2026..15/03/2026  date:2026-03-01..   a date range
    *                         every clipping (with a date: range, a list by date)

Operators must be written in capitals; ``and``, ``or``, ``not`` in lowercase
are ordinary words. A query is never rejected for a stray operator or an
unclosed quote or parenthesis: those are read the forgiving way (a NOT with
nothing after it is ignored, ``NOT NOT x`` is ``x``; see :class:`_Parser`).
:class:`~clipsearch.errors.QueryError` is raised for a query with nothing to
search for, a ``date:`` that cannot be read, brackets nested more than
:data:`MAX_NESTING` deep, and text that is not text (a lone surrogate).
Parsing has no recursion, and the tree it gives is shallow, so no query
reaches Python's recursion limit.

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
from collections.abc import Sequence
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
    "MAX_NESTING",
    "check_text",
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


#: How deeply groups may nest: AND and OR inside one another, each inside
#: the other's brackets (``a OR (b (c OR (d …``). Brackets that do not
#: change the grouping (``((x))``, ``a (b c)``, ``a OR (b OR c)``) do not
#: count. A parsed query is at most ``2 * MAX_NESTING + 2`` nodes deep, so
#: the code that walks it recursively (here, :mod:`~clipsearch.searching.plan`,
#: :mod:`~clipsearch.searching.highlight`) stays far from Python's recursion limit.
MAX_NESTING = 32


class _Group:
    """A bracket being read (or the whole query): its finished OR
    alternatives and the parts of the one being read."""

    __slots__ = ("alternatives", "field", "negated", "parts")

    def __init__(self, negated: bool = False, field: str | None = None) -> None:
        self.negated = negated  # a NOT (or -) before the bracket
        self.field = field  # a title: or source: before it (or before an enclosing one)
        self.alternatives: list[Node | None] = []
        self.parts: list[Node] = []


class _Parser:
    """Reads the tokens in one loop, with a stack of open brackets (no
    recursion, so no nesting is too deep to read: too deep to keep is a
    :class:`QueryError`).

    The forgiving readings: a NOT (or ``-``) with nothing to apply to (at
    the end, before OR, AND or a closing bracket) is ignored, and so is a
    stray AND or OR; ``NOT NOT x`` is ``x``. A stray ``)`` separates two
    parts of the query that must both match; a bracket or a quote left open
    closes at the end. A field prefix applies to the word, quote or bracket
    right after it (the outermost one to everything in its bracket), and is
    ignored before anything else.
    """

    def __init__(self, query: str) -> None:
        self.stream = tokenize(query)[::-1]  # the tokens still to read, the next last
        self.groups = [_Group()]
        self.segments: list[Node | None] = []  # the parts a stray ")" separated
        self.negations = 0  # NOT and - read since the last word
        #: Each compound node's nesting (And and Or levels below it, itself
        #: included), with the node (kept alive, so that ids stay unique).
        self.levels: dict[int, tuple[Node, int]] = {}

    def parse(self) -> Node | None:
        while self.stream:
            self.step(self.stream.pop())
        while len(self.groups) > 1:  # brackets left open close at the end
            self.close()
        self.segments.append(self.finish(self.groups[0]))
        return self.compound(And, self.segments)

    def peek(self) -> Token | None:
        return self.stream[-1] if self.stream else None

    def step(self, token: Token) -> None:
        kind = token.kind
        group = self.groups[-1]
        if kind == "NOT":
            self.negations += 1
            return
        if kind == "word" and token.text.startswith("-") and self.negates(token):
            return
        if kind in ("AND", "OR", "close"):
            self.negations = 0  # a NOT before them has nothing to apply to
        if kind == "OR":
            group.alternatives.append(self.compound(And, _merge_terms(group.parts)))
            group.parts = []
        elif kind == "close":
            if len(self.groups) > 1:
                self.close()
            else:  # a stray ")"
                self.segments.append(self.finish(group))
                self.groups[0] = _Group()
        elif kind == "open":
            self.open(group.field)
        elif kind == "field":
            self.field(token.text)
        elif kind in ("word", "phrase"):
            self.add(_leaf(token, None, group.field))
        # a stray AND is ignored

    def negates(self, token: Token) -> bool:
        """Read a word that starts with ``-``: the word without it, excluded.
        A ``-`` of its own excludes the quote, bracket or field right after it;
        ``--x`` is ``x``. False for a ``-`` that is not an operator."""
        rest = token.text.lstrip("-")
        dashes = len(token.text) - len(rest)
        if rest:
            offset = token.start + dashes
            tokens = [Token(t.kind, t.text, t.start + offset, t.end + offset) for t in tokenize(rest)]
            if tokens[0].kind in OPERATORS:  # -NOT: the word "not"
                tokens[0] = tokens[0]._replace(kind="word")
            self.stream.extend(reversed(tokens))
        else:
            after = self.peek()
            if after is None or after.start != token.end or after.kind not in ("open", "phrase", "field"):
                return False
        self.negations += dashes
        return True

    def field(self, name: str) -> None:
        after = self.peek()
        if name == "date":
            if after is None or after.kind not in ("word", "phrase"):
                raise QueryError("date: needs a date or a range, e.g. date:03/2026 or date:01/03/2026..31/03/2026")
            self.stream.pop()
            self.add(DateFilter(*parse_date_range(after.text.strip('"'))))
        elif after is not None and after.kind in ("word", "phrase"):
            self.stream.pop()
            self.add(_leaf(after, name, self.groups[-1].field))
        elif after is not None and after.kind == "open":
            self.stream.pop()
            self.open(self.groups[-1].field or name)
        else:  # a field prefix with nothing to apply to is ignored, and so is a NOT before it
            self.negations = 0

    def open(self, field: str | None) -> None:
        self.groups.append(_Group(self.negations % 2 == 1, field))
        self.negations = 0

    def close(self) -> None:
        group = self.groups.pop()
        node = self.finish(group)
        if node is not None and group.negated:
            node = self.negate(node)
        if node is not None:
            self.groups[-1].parts.append(node)

    def add(self, node: Node | None) -> None:
        """Add a word, phrase or date to the group being read (excluded
        after an odd number of NOT). A NOT before a word that has no
        syllables goes with it."""
        if node is not None:
            self.groups[-1].parts.append(self.negate(node) if self.negations % 2 else node)
        self.negations = 0

    def negate(self, node: Node) -> Node:
        if isinstance(node, Not):
            return node.child
        negated = Not(node)
        if node_level := self.levels.get(id(node)):
            self.levels[id(negated)] = (negated, node_level[1])
        return negated

    def finish(self, group: _Group) -> Node | None:
        return self.compound(Or, [*group.alternatives, self.compound(And, _merge_terms(group.parts))])

    def compound(self, kind: type[And] | type[Or], parts: Sequence[Node | None]) -> Node | None:
        """``parts`` (without None) as one node of ``kind``: a part of the
        same kind gives its own parts (``a (b c)`` is ``a b c``)."""
        children: list[Node] = []
        for part in parts:
            if isinstance(part, kind):
                children.extend(part.children)
            elif part is not None:
                children.append(part)
        if not children:
            return None
        if len(children) == 1:
            return children[0]
        node = kind(tuple(children))
        level = 1 + max((self.levels[id(c)][1] for c in children if id(c) in self.levels), default=0)
        if level > MAX_NESTING:
            raise QueryError(f"the query nests brackets more than {MAX_NESTING} deep")
        self.levels[id(node)] = (node, level)
        return node


def _leaf(token: Token, field: str | None, scope: str | None) -> Node | None:
    """A word or a quoted phrase (None without syllables); ``field``: the
    prefix right before it; ``scope``: the prefix of a bracket around it,
    which wins. ``*`` without a prefix is every clipping."""
    if token.kind == "phrase":
        text = token.text.strip('"')
        return Phrase(text, scope or field) if syllable_forms(text) else None
    if token.text == "*" and field is None:
        return All()
    return Terms(token.text, scope or field) if syllable_forms(token.text) else None


def _merge_terms(parts: list[Node]) -> list[Node]:
    """Adjacent plain words of the same field become one :class:`Terms`, so
    they are segmented together (``văn phòng`` is one word)."""
    merged: list[Node] = []
    run: list[Terms] = []

    def flush() -> None:
        if run:
            text = " ".join(t.text for t in run)
            merged.append(run[0] if len(run) == 1 else Terms(text, run[0].field))
            run.clear()

    for part in parts:
        if not (isinstance(part, Terms) and run and run[-1].field == part.field):
            flush()
        if isinstance(part, Terms):
            run.append(part)
        else:
            merged.append(part)
    flush()
    return merged


def _shown(query: str) -> str:
    """``query`` as error messages show it: quoted, escaped, on one line and cut short."""
    text = query.strip()
    return repr(text if len(text) <= 80 else text[:79] + "…")


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str) -> None:
    """Raise :class:`QueryError` when ``text`` has a lone surrogate: not
    text at all, but what Python makes of bytes that are not UTF-8 on the
    command line (or a bug in the program that passed it). ``what`` names
    it in the message (``the query``), with the position in it as shown."""
    if bad := _SURROGATE_RE.search(text.strip()):
        raise QueryError(
            f"{what} {_shown(text)} is not valid text: character {bad.start() + 1} is a lone surrogate"
            " (bytes that are not UTF-8?)"
        )


def parse_query(query: str) -> Node:
    """Parse ``query``; raise :class:`QueryError` when it is not a string
    of valid text (:func:`check_text`), nests brackets more than
    :data:`MAX_NESTING` deep or has nothing to search for."""
    if not isinstance(query, str):
        raise QueryError(f"the query must be a string, not {type(query).__name__}")
    check_text(query, "the query")
    node = _Parser(query).parse()
    if node is None:
        if not query.strip():
            raise QueryError("the query is empty")
        hint = ""
        if any(t.kind in OPERATORS for t in tokenize(query)):
            hint = ": AND, OR and NOT are operators (in lowercase they are words)"
        raise QueryError(f"the query {_shown(query)} has no words to search for{hint}")
    if _only_negative(node):
        raise QueryError(f"the query {_shown(query)} only excludes words: add a word to search for")
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
