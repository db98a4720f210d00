"""Statistics of a whole index, kept beside it and rewritten after each run
that changed it: the reprint groups (``groups.json``, see
:mod:`clipsearch.reprints.grouping`) and the vocabulary (``vocabulary.json``:
for each folded syllable, its exact written forms with their document
frequencies, for "did you mean", see :mod:`clipsearch.searching.spelling`).
Each is tagged with the index generation it describes, so that a run killed
before writing them is caught up by the next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clipsearch.errors import IndexDamagedError
from clipsearch.reprints.grouping import REPRINT_THRESHOLD, reprint_groups
from clipsearch.schema import EXACT_FIELD, GROUPS_FILE, META_FILE, VOCABULARY_FILE, read_json, write_json
from clipsearch.text.fold import fold_syllable

__all__ = ["statistics_current", "write_statistics"]


def statistics_current(ix: Any, index_path: Path) -> bool:
    """Whether the statistics beside the Whoosh index ``ix`` describe its latest generation."""
    try:
        vocabulary, groups = read_json(index_path / VOCABULARY_FILE), read_json(index_path / GROUPS_FILE)
    except IndexDamagedError:  # written again
        return False
    return bool(
        vocabulary.get("generation") == groups.get("generation") == ix.latest_generation()
        and groups.get("threshold") == REPRINT_THRESHOLD
    )


def write_statistics(ix: Any, index_path: Path) -> None:
    """Write ``groups.json`` and ``vocabulary.json`` for the latest generation of ``ix``."""
    forms: dict[str, dict[str, int]] = {}
    with ix.reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            for term, info in leaf.iter_field(EXACT_FIELD):
                form = term.decode("utf-8")
                key = fold_syllable(form)
                forms.setdefault(key, {})
                forms[key][form] = forms[key].get(form, 0) + int(info.doc_frequency())
    index_id = read_json(index_path / META_FILE).get("index_id")
    generation = ix.latest_generation()
    groups = {"generation": generation, "threshold": REPRINT_THRESHOLD, "groups": reprint_groups(ix)}
    write_json(index_path / GROUPS_FILE, {**groups, "index_id": index_id})
    write_json(index_path / VOCABULARY_FILE, {"generation": generation, "forms": forms, "index_id": index_id})
