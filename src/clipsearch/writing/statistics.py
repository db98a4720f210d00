"""Statistics of a whole index, kept beside it and rewritten after each run
that changed it: the reprint groups (``groups.json``, see
:mod:`clipsearch.reprints.grouping`), the vocabulary (``vocabulary.json``:
for each folded syllable, its exact written forms with their document
frequencies, for "did you mean", see :mod:`clipsearch.searching.spelling`)
and the words a typo may have meant (``spelling.json``: folded words of
:data:`~clipsearch.searching.typos.MIN_TARGET` letters or more with their
document frequencies, see :mod:`clipsearch.searching.typos`).
Each is tagged with the index generation it describes, so that a run killed
before writing them is caught up by the next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clipsearch.errors import IndexDamagedError
from clipsearch.reprints.grouping import REPRINT_THRESHOLD, reprint_groups
from clipsearch.schema import (
    EXACT_FIELD,
    GROUPS_FILE,
    META_FILE,
    SPELLING_FILE,
    TEXT_FIELD,
    VOCABULARY_FILE,
    read_json,
    write_json,
)
from clipsearch.searching.typos import is_typo_target
from clipsearch.text.fold import fold_syllable

__all__ = ["statistics_current", "write_statistics"]


def statistics_current(ix: Any, index_path: Path) -> bool:
    """Whether the statistics beside the Whoosh index ``ix`` describe its latest generation."""
    try:
        vocabulary, groups = read_json(index_path / VOCABULARY_FILE), read_json(index_path / GROUPS_FILE)
        spelling = read_json(index_path / SPELLING_FILE)
    except IndexDamagedError:  # written again
        return False
    return bool(
        vocabulary.get("generation") == groups.get("generation") == spelling.get("generation") == ix.latest_generation()
        and groups.get("threshold") == REPRINT_THRESHOLD
    )


def write_statistics(ix: Any, index_path: Path) -> None:
    """Write ``groups.json`` and ``vocabulary.json`` for the latest generation of ``ix``."""
    forms: dict[str, dict[str, int]] = {}
    words: dict[str, int] = {}
    with ix.reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            for term, info in leaf.iter_field(EXACT_FIELD):
                form = term.decode("utf-8")
                key = fold_syllable(form)
                forms.setdefault(key, {})
                forms[key][form] = forms[key].get(form, 0) + int(info.doc_frequency())
            for term, info in leaf.iter_field(TEXT_FIELD):
                word = term.decode("utf-8")
                if is_typo_target(word):
                    words[word] = words.get(word, 0) + int(info.doc_frequency())
    index_id = read_json(index_path / META_FILE).get("index_id")
    generation = ix.latest_generation()
    groups = {"generation": generation, "threshold": REPRINT_THRESHOLD, "groups": reprint_groups(ix)}
    write_json(index_path / GROUPS_FILE, {**groups, "index_id": index_id})
    write_json(index_path / VOCABULARY_FILE, {"generation": generation, "forms": forms, "index_id": index_id})
    write_json(index_path / SPELLING_FILE, {"generation": generation, "words": words, "index_id": index_id})
