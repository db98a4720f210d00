""" "Did you mean": the diacritic form of a folded query, from the index's own text and vocabulary."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import clipsearch
from clipsearch.cli import cli
from clipsearch.schema import VOCABULARY_FILE
from clipsearch.searching.spelling import suggest

from .conftest import write_clipping

TEXTS = [
    "Nông dân vào mùa lúa chín, mùa lúa năm nay bội thu.",
    "Người dân đi mua sắm cuối năm; siêu thị đông người mua sắm.",
    "Công tác văn phòng cấp ủy được đổi mới.",
]


def _no_vocabulary(folded: str) -> Counter[str]:
    return Counter()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("van phong cap uy", "văn phòng cấp ủy"),
        ("mua lua", "mùa lúa"),  # the same "mua" ...
        ("mua sam", "mua sắm"),  # ... resolved by its neighbour
        ("VAN PHONG", "VĂN PHÒNG"),
        ("Van phong", "Văn phòng"),
        ('title:"cap uy" OR mua sam -lua', 'title:"cấp ủy" OR mua sắm -lúa'),
        ("văn phong", "văn phòng"),  # mixed: only the bare syllable changes
    ],
)
def test_suggestion_from_matched_text(query: str, expected: str) -> None:
    assert suggest(query, TEXTS, _no_vocabulary) == expected


@pytest.mark.parametrize("query", ["văn phòng cấp ủy", "mua", "2024", "title:x"])
def test_no_suggestion_when_nothing_changes(query: str) -> None:
    assert suggest(query, TEXTS, _no_vocabulary) is None


def test_vocabulary_decides_when_the_text_does_not() -> None:
    vocabulary = {"hoa": Counter({"hoà": 7, "hoa": 0, "hóa": 3}), "binh": Counter({"bình": 9, "bính": 1})}
    assert suggest("hoa binh", [], lambda f: vocabulary.get(f, Counter())) == "hoà bình"


def test_pairs_outweigh_single_frequencies() -> None:
    texts = ["múa lân", "múa lân", "mùa", "mùa", "mùa", "mùa lúa"]
    assert suggest("mua lan", texts, _no_vocabulary) == "múa lân"


# ---------------------------------------------------------------------------
# Through the index


def test_index_suggests_for_a_folded_query(index: clipsearch.Index) -> None:
    result = index.query("van phong cap uy")
    assert result.suggestion == "văn phòng cấp ủy"
    assert index.query("văn phòng cấp ủy").suggestion is None


def test_vocabulary_file_counts_exact_forms(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    for n in range(3):
        write_clipping(folder, f"a{n}", "Mùa gặt", "Nông dân vào mùa.", ["Trời đẹp."])
    write_clipping(folder, "b0", "Múa lân", "Đội múa tập luyện.", ["Trời đẹp."])
    clipsearch.build_index([folder], tmp_path / "ix")
    forms = json.loads((tmp_path / "ix" / VOCABULARY_FILE).read_text(encoding="utf-8"))["forms"]
    assert forms["mua"] == {"mùa": 3, "múa": 1}
    with clipsearch.open_index(tmp_path / "ix") as index:
        # nothing matches "mua hoi" as a whole; the vocabulary picks the commoner form
        assert index.query("mua").suggestion == "mùa"


def test_cli_did_you_mean(index_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["query", "van phong cap uy", "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Did you mean: văn phòng cấp ủy"
    data = json.loads(CliRunner().invoke(cli, ["query", "văn phòng", "--index-dir", str(index_dir), "--json"]).output)
    assert data["suggestion"] is None


SYLLABLES = ["mùa", "múa", "mua", "lúa", "lua", "văn", "vẫn", "phòng", "cấp", "ủy", "uỷ", "anh", "an", "Anh", "2024"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=30), min_size=1, max_size=4),
    st.lists(st.sampled_from(["mua", "lua", "an", "anh", "van", "phong", "cap", "uy"]), min_size=1, max_size=4),
    st.sampled_from([" ", ", ", " - ", "_", "  "]),
)
def test_one_scan_counts_like_syllable_by_syllable(texts: list[list[str]], folded: list[str], separator: str) -> None:
    from clipsearch.searching.spelling import _count, _count_slowly, _prepared

    written = [separator.join(words) for words in texts]
    fast = _count(folded, _prepared(written))
    whole: Counter[tuple[str, ...]] = Counter()
    single: list[Counter[str]] = [Counter() for _ in folded]
    pairs: list[Counter[tuple[str, str]]] = [Counter() for _ in folded[1:]]
    for text in written:
        _count_slowly(folded, text.lower(), whole, single, pairs)
    assert fast == (whole, single, pairs)
