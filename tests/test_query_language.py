"""The query language against hostile input, through the API and the
command line: dangling operators, deep nesting, arguments of the wrong type
and text that is not text. Each outcome is a result or a one-line
:class:`QueryError`, never another exception."""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import clipsearch
from clipsearch import QueryError
from clipsearch.cli import cli
from clipsearch.searching.syntax import MAX_NESTING, And, Not, Or, Phrase, Terms, parse_query

from .conftest import SEED_ID

OPERATORS_ONLY = "has no words to search for: AND, OR and NOT are operators (in lowercase they are words)"


def _ids(result: clipsearch.SearchResult) -> list[str]:
    return [h.id for h in result.hits]


def _run(index_dir: Path, command: str, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of the command line (no exception but SystemExit)."""
    result = CliRunner().invoke(cli, [command, "--index-dir", str(index_dir), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def _cli_error(index_dir: Path, command: str, *args: str) -> str:
    """The command line's error message: exit code 1, one line on stderr, no traceback."""
    code, out, err = _run(index_dir, command, *args)
    assert code == 1, (out, err)
    assert err.startswith("Error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in out + err
    return err[len("Error: ") : -1]


# 1. Operators with nothing to apply to


@pytest.mark.parametrize(
    ("query", "same_as"),
    [
        ("iran NOT", "iran"),
        ("iran OR NOT", "iran"),
        ("mùa NOT", "mùa"),
        ("mùa OR NOT", "mùa"),
        ("OR mùa", "mùa"),
        ("mùa AND", "mùa"),
        ("mùa NOT OR múa", "mùa OR múa"),
        ("mùa NOT AND lúa", "mùa lúa"),
        ("(mùa NOT) lúa", "mùa lúa"),
        ("mùa (NOT) lúa", "mùa lúa"),
        ("NOT NOT mùa", "mùa"),
        ("mùa NOT NOT lúa", "mùa lúa"),
        ("NOT -mùa", "mùa"),
        ("--mùa", "mùa"),
        ("mua NOT NOT NOT lân", "mua NOT lân"),
        ("mua -NOT NOT", "mua -NOT"),
    ],
)
def test_dangling_operator_is_ignored(index: clipsearch.Index, query: str, same_as: str) -> None:
    expected = index.query(same_as, limit=50)
    result = index.query(query, limit=50)
    assert (result.total, _ids(result)) == (expected.total, _ids(expected))


def test_dangling_operator_results(index: clipsearch.Index) -> None:
    assert index.query("iran NOT").total == 0
    assert _ids(index.query("mùa NOT")) == _ids(index.query("mùa")) != []
    assert "dance" not in _ids(index.query("mua NOT NOT NOT lân", limit=50))


@pytest.mark.parametrize("query", ["NOT", "NOT NOT", "title:NOT", "NOT NOT NOT", "OR", "AND NOT OR", "( NOT )"])
def test_operators_alone_raise(index: clipsearch.Index, query: str) -> None:
    with pytest.raises(QueryError) as caught:
        index.query(query)
    assert str(caught.value) == f"the query {query!r} {OPERATORS_ONLY}"


def test_operators_alone_raise_in_show(index: clipsearch.Index) -> None:
    with pytest.raises(QueryError) as caught:
        index.show(SEED_ID, query="NOT")
    assert str(caught.value) == f"the query 'NOT' {OPERATORS_ONLY}"
    assert index.show("season", query="mùa NOT") == index.show("season", query="mùa")


def test_lowercase_not_is_a_word(index: clipsearch.Index) -> None:
    assert parse_query("not") == Terms("not")
    assert index.query("not").total == 0


def test_minus_excludes_a_quote_a_bracket_or_a_field(index: clipsearch.Index) -> None:
    assert parse_query('mùa -"lúa chín"') == And((Terms("mùa"), Not(Phrase("lúa chín"))))
    every = set(_ids(index.query("mua", limit=50)))
    assert "season" in every
    assert set(_ids(index.query('mua -"lúa chín"', limit=50))) == every - {"season"}
    assert set(_ids(index.query("mua -(lúa OR lân)", limit=50))) == every - {"season", "dance"}
    assert set(_ids(index.query("mua -title:lúa", limit=50))) == every - {"season"}
    assert parse_query("mùa -NOT") == And((Terms("mùa"), Not(Terms("NOT"))))


@pytest.mark.parametrize("query", ["NOT", "NOT NOT", "title:NOT"])
def test_operators_alone_on_the_command_line(index_dir: Path, query: str) -> None:
    assert _cli_error(index_dir, "query", query) == f"the query {query!r} {OPERATORS_ONLY}"
    assert _cli_error(index_dir, "show", SEED_ID, "--query", query) == f"the query {query!r} {OPERATORS_ONLY}"


@pytest.mark.parametrize("query", ["iran NOT", "iran OR NOT"])
def test_dangling_operator_on_the_command_line(index_dir: Path, query: str) -> None:
    assert _run(index_dir, "query", query) == (0, f"No clipping matches {query!r}.\n", "")


def test_dangling_operator_in_show_on_the_command_line(index_dir: Path) -> None:
    code, out, err = _run(index_dir, "show", "season", "--query", "mùa NOT", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["highlights"]["title"] == [[0, 3]]  # "Mùa" in the title


# 2. Nesting


def _nested(levels: int) -> str:
    """A query whose brackets alternate AND and OR ``levels`` deep (each counts)."""
    query = "mùa lúa"
    for level in range(levels):
        query = f"mùa OR ({query})" if level % 2 else f"mua -lân ({query})"
    return query


def test_nesting_levels_are_counted(index: clipsearch.Index) -> None:
    assert isinstance(parse_query(_nested(1)), And)
    assert isinstance(parse_query(_nested(2)), Or)
    assert parse_query(_nested(0)) == Terms("mùa lúa")
    assert isinstance(parse_query(_nested(MAX_NESTING)), And | Or)
    assert index.query(_nested(MAX_NESTING)).total >= 1


@pytest.mark.parametrize("levels", [MAX_NESTING + 1, 300, 2000])
def test_too_deep_nesting_raises(index: clipsearch.Index, index_dir: Path, levels: int) -> None:
    message = f"the query nests brackets more than {MAX_NESTING} deep"
    with pytest.raises(QueryError) as caught:
        index.query(_nested(levels))
    assert str(caught.value) == message
    with pytest.raises(QueryError) as caught:
        index.show(SEED_ID, query=_nested(levels))
    assert str(caught.value) == message
    assert _cli_error(index_dir, "query", _nested(levels)) == message


@pytest.mark.parametrize(
    "query",
    [
        "(" * 300 + "mùa",
        "(" * 300 + "mùa" + ")" * 300,
        "mùa" + ")" * 300,
        "((((mùa)))) " + "(" * 1000,
        "NOT " * 1000 + "mùa",
        "-" * 1000 + "mùa",
        "NOT (" * 501 + "NOT mùa",
        "mùa OR (" * 1000 + "mùa",
        "mùa (" * 1000 + "mùa",
        "mùa " + "OR " * 1000,
    ],
)
def test_brackets_and_negations_that_cancel_out_give_a_result(
    index: clipsearch.Index, index_dir: Path, query: str
) -> None:
    expected = _ids(index.query("mùa"))
    assert _ids(index.query(query)) == expected != []
    assert index.show("season", query=query) == index.show("season", query="mùa")
    code, out, err = _run(index_dir, "query", "--json", "--", query)  # "--": the query may start with "-"
    assert (code, err) == (0, "")
    assert '"id": "season"' in out


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("NOT " * 1001 + "mùa", "only excludes words: add a word to search for"),
        ("(" * 300, OPERATORS_ONLY.split(":")[0]),
        (")" * 300, OPERATORS_ONLY.split(":")[0]),
        ("NOT (" * 1000, OPERATORS_ONLY),
    ],
)
def test_deep_queries_without_words_raise(index: clipsearch.Index, index_dir: Path, query: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        index.query(query)
    assert str(caught.value).startswith("the query ") and str(caught.value).endswith(message)
    assert _cli_error(index_dir, "query", query) == str(caught.value)


def test_stray_closing_brackets_do_not_nest(index: clipsearch.Index) -> None:
    query = "mùa ) " * 2500
    assert len(query) > 10_000
    assert _ids(index.query(query)) == _ids(index.query("mùa"))
    assert parse_query("a OR b ) c ) d") == And((Or((Terms("a"), Terms("b"))), Terms("c"), Terms("d")))


def _deepest() -> list[str]:
    """Queries at the nesting limit whose trees are as deep as trees get."""
    not_and = "mùa lúa"
    for _ in range(MAX_NESTING - 1):
        not_and = f"mua NOT (múa {not_and})"
    return [_nested(MAX_NESTING), not_and, f"title:({_nested(MAX_NESTING // 2)})"]


@pytest.mark.parametrize("query", _deepest())
def test_the_deepest_query_is_far_from_the_recursion_limit(index: clipsearch.Index, query: str) -> None:
    """Everything that walks the parsed query (plan, evaluation, highlights,
    snippets, filters, the tree's own ``==`` and ``repr``) needs less than a
    third of Python's default recursion limit, wherever it is called from."""
    index.query(query, facets=True)  # pyvi's model loaded, caches filled
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 330)
    try:
        assert index.query(query, facets=True).total >= 0
        index.show("season", query=query)
        tree = parse_query(query)
        assert tree == parse_query(query) and hash(tree) == hash(parse_query(query)) and repr(tree)
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize(
    "query",
    [
        "(" * 10_000,
        ")" * 10_000,
        "NOT " * 2_500,
        "-" * 9_999 + "a",
        "(mùa OR " * 1_250,
        "mùa ) " * 1_700,
        '"mùa ' * 2_000,
        "title:" * 1_700,
        ("văn phòng cấp ủy " * 600)[:10_000],
        " ".join(f"w{n}" for n in range(2_000))[:10_000],
        ("-mùa " * 2_000)[:10_000],
        ("(a OR (b " * 1_000)[:10_000],
    ],
)
def test_long_queries_parse_fast(query: str) -> None:
    started = time.perf_counter()
    with contextlib.suppress(QueryError):
        parse_query(query)
    assert time.perf_counter() - started < 0.5


# 3. Arguments of the wrong type


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit": 1.5}, "the limit must be a whole number, not float"),
        ({"limit": "3"}, "the limit must be a whole number, not str"),
        ({"limit": True}, "the limit must be a whole number, not bool"),
        ({"limit": None}, "the limit must be a whole number, not NoneType"),
        ({"limit": 0}, "the limit must be at least 1"),
        ({"since": 20260101}, "since must be a date or a date written as text, e.g. 31/03/2026, not int"),
        ({"until": 1.5}, "until must be a date or a date written as text, e.g. 31/03/2026, not float"),
        ({"since": True}, "since must be a date or a date written as text, e.g. 31/03/2026, not bool"),
        ({"source": 5}, "a source must be a name (a string), not int"),
        ({"source": [5]}, "a source must be a name (a string), not int"),
        ({"source": ["nhandan", None]}, "a source must be a name (a string), not NoneType"),
        ({"source": b"nhandan"}, "a source must be a name (a string), not bytes"),
        ({"source": {"nhandan": 1}}, "a source must be a name (a string), not dict"),
        ({"sort": 5}, "unknown sort 5: use one of relevance, newest, oldest"),
        ({"sort": ["newest"]}, "unknown sort ['newest']: use one of relevance, newest, oldest"),
    ],
)
def test_query_arguments_of_the_wrong_type(index: clipsearch.Index, options: dict[str, object], message: str) -> None:
    with pytest.raises(QueryError) as caught:
        index.query("mùa", **options)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(("query", "kind"), [(5, "int"), (b"mua", "bytes"), (["mua"], "list"), (None, "NoneType")])
def test_query_that_is_not_a_string(index: clipsearch.Index, query: object, kind: str) -> None:
    with pytest.raises(QueryError) as caught:
        index.query(query)  # type: ignore[arg-type]
    assert str(caught.value) == f"the query must be a string, not {kind}"
    if query is not None:  # None: show without highlights
        with pytest.raises(QueryError) as caught:
            index.show(SEED_ID, query=query)  # type: ignore[arg-type]
        assert str(caught.value) == f"the query must be a string, not {kind}"


def test_query_arguments_of_the_right_types(index: clipsearch.Index) -> None:
    assert len(index.query("mua", limit=np.int64(1)).hits) == 1  # type: ignore[arg-type]
    march = index.query("mua", since=dt.datetime(2026, 3, 1, 12), until=dt.date(2026, 3, 31))
    assert march.total == index.query("mua", since="01/03/2026", until="31/03/2026").total >= 1
    assert index.query("mua", source=("báo mẫu", "nhandan")).total == index.query("mua").total
    assert index.query("mua", source=iter(["BAO MAU"])).total == index.query("mua").total
    assert index.show(SEED_ID, query=None) == index.show(SEED_ID, query="") == index.show(SEED_ID)


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (1.5, "the limit must be a whole number, not float"),
        ("3", "the limit must be a whole number, not str"),
        (False, "the limit must be a whole number, not bool"),
        (0, "the limit must be at least 1"),
    ],
)
def test_similar_limit_of_the_wrong_type(index: clipsearch.Index, limit: object, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        index.similar("season", limit=limit)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_clipping_id_of_the_wrong_type(index: clipsearch.Index) -> None:
    for call in (index.show, index.similar):
        with pytest.raises(QueryError) as caught:
            call(5)  # type: ignore[operator]
        assert str(caught.value) == "the clipping id must be a string, not int"
    assert index.similar("season", limit=np.int64(2)).total >= 0  # type: ignore[arg-type]


# 4. Text that is not text


SURROGATE = "(bytes that are not UTF-8?)"


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("\ud800", 1),
        ("mùa \ud800", 5),
        ("m\udcf9a", 2),
        ('"mùa l\udcffúa"', 7),
        ("title:\udc80", 7),
        ("\ud83d\ude00", 1),
        ("  mùa \ud800 ", 5),
    ],
)
def test_lone_surrogates_raise(index: clipsearch.Index, index_dir: Path, query: str, position: int) -> None:
    shown = query.strip()
    message = f"the query {shown!r} is not valid text: character {position} is a lone surrogate {SURROGATE}"
    for call in (lambda: index.query(query), lambda: index.show(SEED_ID, query=query), lambda: parse_query(query)):
        with pytest.raises(QueryError) as caught:
            call()
        assert str(caught.value) == message
    assert _cli_error(index_dir, "query", query) == message
    assert _cli_error(index_dir, "show", SEED_ID, "--query", query) == message


def test_lone_surrogates_in_filters(index: clipsearch.Index, index_dir: Path) -> None:
    with pytest.raises(QueryError) as caught:
        index.query("mùa", source=["nhandan", "\udcff"])
    assert str(caught.value) == f"the source '\\udcff' is not valid text: character 1 is a lone surrogate {SURROGATE}"
    assert _cli_error(index_dir, "query", "mùa", "--source", "\udcff").startswith("the source '\\udcff' is not")
    assert _cli_error(index_dir, "query", "mùa", "--since", "\udcff").startswith("cannot read the date '\\udcff'")


def test_real_emoji_and_invisible_characters_are_fine(index: clipsearch.Index) -> None:
    for query in ("mùa 😀", "m\u200bùa", "\u202emùa", "mu\u0300a", "MÙA\u00ad", "mùa\x00"):
        assert index.query(query).total >= 1


def test_command_line_bytes_that_are_not_utf8(index_dir: Path) -> None:
    """A query typed in a legacy encoding reaches Python as lone surrogates
    (surrogateescape): a one-line error, not a UnicodeEncodeError."""
    done = subprocess.run(
        [sys.executable, "-m", "clipsearch", "query", b"m\xf9a", "--index-dir", str(index_dir)],
        capture_output=True,
        env={**os.environ, "PYTHONUTF8": "1"},
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == b""
    assert done.stderr == (
        b"Error: the query 'm\\udcf9a' is not valid text: character 2 is a lone surrogate (bytes that are not UTF-8?)\n"
    )
