"""Fuzzing the query language through the API and the command line: any
string, however hostile (operators anywhere, quotes and brackets balanced or
not and nested deep, field prefixes with good and bad dates, ``*``, Unicode
oddities, 10,000 characters), gives a :class:`SearchResult` or a one-line
:class:`QueryError`, and nothing else."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import clipsearch
from clipsearch import QueryError, SearchResult
from clipsearch.cli import cli
from clipsearch.searching.syntax import parse_query
from clipsearch.text.fold import fold

from .conftest import SEED_ID

#: Words of the fixture corpus and others, each typed with diacritics (never
#: an operator, whatever its case).
WORDS = [
    "mùa",
    "lúa",
    "múa",
    "lân",
    "văn",
    "phòng",
    "cấp",
    "ủy",
    "hòa",
    "bình",
    "thanh",
    "tra",
    "đông",
    "anh",
    "người",
    "dân",
    "hà",
    "nội",
    "báo",
    "mẫu",
    "iran",
    "x",
]
#: Old and new tone placement of the same word.
TONE_PLACEMENT = {"hòa": "hoà", "ủy": "uỷ"}
OPERATORS = ["AND", "OR", "NOT", "NOT NOT", "-", "--", "and", "or", "not", "*", "* -"]
GOOD_DATES = ["03/2026", "2/3/2026", "2026-03-02", "2026", "01/03/2026..31/03/2026", "2026..", "..2026", '"03/2026"']
BAD_DATES = ["32/13/2026", "2026-02-30", "abc", "", "..", "99999", "0/0/0", "2026-13", "1/1/10000", "2026...2027", "-1"]
FIELDS = ["title:", "source:", "date:", "TITLE:", "Source:", "titl:", "title::"]
ODDITIES = [
    "\u0301",  # a combining acute on its own
    "\u0300\u0323",
    "a\u0306\u0301",  # ắ decomposed
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\ud800",  # lone surrogates
    "\udcff",
    "\udfff\ud800",
    "\u200f",  # right-to-left marks
    "\u202e",
    "\u061c",
    "مرحبا",
    "😀",
    "👍🏽",
    "🇻🇳",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\t",
    "\n",
    "\r\n",
    "\u2028",
    "\u3000",
    "…",
    ":",
    "\\",
    "'",
    "_",
    "..",
    "（",
    "＂",
]


def _variants(word: str) -> st.SearchStrategy[str]:
    """``word`` as users may type it: without diacritics, in capitals, NFD,
    in the other tone placement."""
    forms = {word, fold(word), word.upper(), word.title(), unicodedata.normalize("NFD", word)}
    forms.add(TONE_PLACEMENT.get(word, word))
    return st.sampled_from(sorted(forms))


WORD = st.sampled_from(WORDS).flatmap(_variants)
FIELD_VALUE = st.tuples(
    st.sampled_from(FIELDS), st.one_of(WORD, st.sampled_from([*GOOD_DATES, *BAD_DATES, "(", '"', "NOT", "*"]))
).map("".join)
PIECE = st.one_of(
    WORD,
    WORD,
    WORD,
    st.sampled_from(OPERATORS),
    st.sampled_from(OPERATORS),
    FIELD_VALUE,
    st.sampled_from(['"', "(", ")", "()", '""', "-(", '-"']),
    st.sampled_from(ODDITIES),
    st.tuples(WORD, st.sampled_from(ODDITIES)).map("".join),
    st.text(max_size=4),
)
SEPARATOR = st.sampled_from([" ", " ", " ", "", "  ", "\t"])


@st.composite
def _joined(draw: st.DrawFn, pieces: st.SearchStrategy[str], max_size: int = 12) -> str:
    parts = draw(st.lists(pieces, max_size=max_size))
    return "".join(part + draw(SEPARATOR) for part in parts)


@st.composite
def _quoted_and_bracketed(draw: st.DrawFn) -> str:
    """Balanced (or not) quotes and brackets around parts of a query."""
    inner = draw(_joined(PIECE, 5))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["()", '""', "(", ")", '"', "-()", "NOT ()", "title:()"]))
        if kind.endswith("()"):
            inner = f"{kind[:-2]}({inner})"
        elif kind == '""':
            inner = f'"{inner}"'
        else:
            inner = draw(st.sampled_from([kind + inner, inner + kind]))
        inner = draw(_joined(PIECE, 2)) + inner + draw(_joined(PIECE, 2))
    return inner


@st.composite
def _deep(draw: st.DrawFn) -> str:
    """Brackets and negations nested deep, closed or not."""
    depth = draw(st.integers(1, 400))
    opener = draw(st.sampled_from(["(", "NOT ", "-", "NOT (", "-(", "a OR (", "mùa (", "x OR (mùa -", "title:("]))
    middle = draw(_joined(PIECE, 3))
    closer = draw(st.sampled_from(["", ")", "))", ") x"]))
    closed = draw(st.integers(0, depth))
    return opener * depth + middle + closer * closed


@st.composite
def _long(draw: st.DrawFn) -> str:
    """About 10,000 characters: a fragment repeated, or many pieces."""
    fragment = draw(
        st.one_of(_joined(PIECE, 6), _quoted_and_bracketed(), st.sampled_from(["(", ")", "NOT ", '"', "-"]))
    )
    fragment = fragment or "mùa "
    return (fragment * (10_000 // len(fragment) + 1))[: draw(st.integers(9_000, 10_000))]


QUERIES = st.one_of(
    _joined(PIECE),
    _joined(PIECE),
    _quoted_and_bracketed(),
    _deep(),
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from('()"-: *NOTANDOR\u0301\u200b\ud800'), max_size=40),
)


def _kind(message: str) -> str:
    """A QueryError's message without the query it quotes."""
    return re.sub(r"^(the query|the source) (['\"]).*\2 ", r"\1 … ", message)[:60]


def _check_api(index: clipsearch.Index, query: str, limit: int = 5) -> SearchResult | QueryError:
    try:
        result = index.query(query, limit=limit)
    except QueryError as exc:
        assert str(exc) and len(str(exc).splitlines()) == 1, str(exc)
        event(f"QueryError: {_kind(str(exc))}")
        return exc
    assert isinstance(result, SearchResult)
    event("a result with hits" if result.hits else "a result without hits")
    assert result.total >= len(result.hits)
    assert len(result.hits) <= limit
    for hit in result.hits:
        assert all(0 <= start < end <= len(hit.snippet) for start, end in hit.highlights)
    return result


def _check_show(index: clipsearch.Index, query: str) -> None:
    try:
        view = index.show("season", query=query)
    except QueryError as exc:
        assert len(str(exc).splitlines()) == 1, str(exc)
        return
    assert all(0 <= start < end <= len(view.body) for start, end in view.body_highlights)


def _check_cli(index_dir: Path, command: list[str]) -> None:
    result = CliRunner().invoke(cli, command)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        assert result.stderr == ""
        if "--json" in command and command[0] == "query":
            data = json.loads(result.stdout)
            assert data["total"] >= len(data["hits"])
    else:
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUERIES)
def test_any_query_gives_a_result_or_a_query_error(index: clipsearch.Index, query: str) -> None:
    _check_api(index, query)
    _check_show(index, query)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_long())
def test_any_long_query_gives_a_result_or_a_query_error(index: clipsearch.Index, query: str) -> None:
    assert 9_000 <= len(query) <= 10_000
    _check_api(index, query)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(QUERIES, _long().map(lambda q: q[:2_000])), st.booleans())
def test_any_query_on_the_command_line(index_dir: Path, query: str, as_json: bool) -> None:
    options = ["--json"] if as_json else []
    _check_cli(index_dir, ["query", "--index-dir", str(index_dir), *options, "--", query])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUERIES)
def test_any_query_in_show_on_the_command_line(index_dir: Path, query: str) -> None:
    _check_cli(index_dir, ["show", SEED_ID, "--index-dir", str(index_dir), "--query", query])


@settings(max_examples=200, deadline=None)
@given(QUERIES)
def test_parsing_is_deterministic(query: str) -> None:
    def outcome() -> object:
        try:
            return parse_query(query)
        except QueryError as exc:
            return str(exc)

    assert outcome() == outcome()


PLAIN_PIECE = st.one_of(
    st.sampled_from(WORDS).map(lambda w: ("word", w)),
    st.sampled_from([*OPERATORS, '"', "(", ")", "title:", "source:", "date:2026"]).map(lambda p: ("other", p)),
)


@st.composite
def _plain_and_variant(draw: st.DrawFn) -> tuple[str, str]:
    """A query typed plainly (no diacritics, lowercase) and the same query
    with some of its words typed with diacritics, in capitals, NFD or the
    other tone placement."""
    pieces = draw(st.lists(PLAIN_PIECE, min_size=1, max_size=8))
    plain, variant = [], []
    for kind, text in pieces:
        if kind == "word":
            plain.append(fold(text).lower())
            variant.append(draw(_variants(text)))
        else:
            plain.append(text)
            variant.append(text)
    return " ".join(plain), " ".join(variant)


@settings(max_examples=150, deadline=None)
@given(_plain_and_variant())
def test_diacritics_case_and_nfd_never_change_whether_a_query_is_read(
    index: clipsearch.Index, queries: tuple[str, str]
) -> None:
    """Typed with diacritics, in capitals or NFD, a query raises exactly
    when its plain form raises, and matches the same clippings (diacritics
    change only the ranking)."""
    plain, variant = queries
    first, second = _check_api(index, plain, limit=50), _check_api(index, variant, limit=50)
    if isinstance(first, QueryError):
        assert isinstance(second, QueryError), (plain, variant)
    else:
        assert isinstance(second, SearchResult), (plain, variant, second)
        assert second.total == first.total, (plain, variant)
