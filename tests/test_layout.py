"""The package's boundaries: what a query imports, and the public API the
README names."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import clipsearch

from .conftest import REPO, SEED_ID

#: Modules a search must never load: Whoosh (the search path reads the
#: index's files itself) and the writer.
FORBIDDEN = re.compile(r"^(whoosh|clipsearch\.writing|clipsearch\.codec\.compact|clipsearch\.codec\.formats)(\.|$)")


def _imported(stderr: str) -> set[str]:
    """The modules named by ``python -X importtime`` on stderr."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")} - {
        "package"
    }


def test_a_query_in_the_api_imports_neither_whoosh_nor_the_writer(index_dir: Path) -> None:
    code = (
        "import sys, clipsearch\n"
        "with clipsearch.open_index(sys.argv[1]) as index:\n"
        "    assert index.query('van phong cap uy', facets=True).total >= 1\n"
        "    assert index.query('\"cấp ủy\" OR title:đổi', sort='newest').total >= 1\n"
        f"    index.show('{SEED_ID}', query='cấp ủy')\n"
        f"    index.similar('{SEED_ID}')\n"
        "    index.stats()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('whoosh', 'clipsearch.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(index_dir)], capture_output=True, text=True, check=True)
    loaded = set(eval(done.stdout))  # a printed list of names
    assert "clipsearch.searching.scoring" in loaded  # the query really ran through the engine
    assert not {m for m in loaded if FORBIDDEN.match(m)}


@pytest.mark.parametrize(
    "args",
    [
        ["query", "van phong cap uy", "--facets"],
        ["query", '"cấp ủy"', "--json"],
        ["show", SEED_ID, "--query", "cấp ủy"],
        ["similar", SEED_ID],
        ["stats"],
    ],
)
def test_a_cli_search_imports_neither_whoosh_nor_the_writer(index_dir: Path, args: list[str]) -> None:
    # -X importtime lists every import on stderr, even though read-only commands end with os._exit.
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "clipsearch", *args, "--index-dir", str(index_dir)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = _imported(done.stderr)
    assert "clipsearch.search" in loaded
    assert not {m for m in loaded if FORBIDDEN.match(m)}


def _readme_api_names() -> set[str]:
    """The names the README's Python API section gives as ``clipsearch``'s."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Python API", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"clipsearch\.([A-Za-z_]\w*)", section))
    names |= set(re.findall(r"`([A-Z][A-Za-z]+)`", section))  # classes and exceptions in backticks
    names |= set(re.findall(r"# ([A-Z][A-Za-z]+)\b", section))  # what the example's comments say it returns
    return names


def test_every_name_the_readme_gives_is_exported() -> None:
    names = _readme_api_names()
    assert {"ClippingNotFoundError", "ClippingView", "IndexStats", "IndexReport", "SearchResult"} <= names
    for name in sorted(names):
        assert hasattr(clipsearch, name), name
        assert name in clipsearch.__all__, name


def test_every_exported_name_resolves_and_errors_share_one_base() -> None:
    for name in clipsearch.__all__:
        value = getattr(clipsearch, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, clipsearch.ClipsearchError), name


def test_every_type_a_public_function_returns_is_exported() -> None:
    exported = {getattr(clipsearch, n) for n in clipsearch.__all__ if isinstance(getattr(clipsearch, n), type)}
    functions = [clipsearch.build_index, clipsearch.open_index, clipsearch.read_clipping]
    functions += [getattr(clipsearch.Index, n) for n in dir(clipsearch.Index) if not n.startswith("_")]
    checked = 0
    for function in functions:
        returned = typing.get_type_hints(function).get("return")
        for kind in (returned, *typing.get_args(returned)):
            if isinstance(kind, type) and kind.__module__.startswith("clipsearch"):
                assert kind in exported, f"{function.__qualname__} returns {kind.__name__}"
                checked += 1
    assert checked >= 6
