"""Reprints shown as one hit: the best placed member of a reprint group, with
the ids of the other members that matched the query. The groups are made at
index time (:mod:`clipsearch.reprints.grouping`) and read from the index's
folder (:func:`clipsearch.schema.read_groups`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clipsearch.reading.segments import IndexFiles
from clipsearch.reading.stored import FieldsCache
from clipsearch.searching.scoring import Matches
from clipsearch.sorted_arrays import contains

__all__ = ["ReprintGroups", "collapse_hits"]


class ReprintGroups:
    """The reprint groups of one version of ``groups.json`` (``version``
    tells which to whoever caches them), and each member's group."""

    def __init__(self, version: object, groups: dict[str, list[str]]) -> None:
        self.version = version
        self.groups = groups
        self.group_of = {member: rep for rep, members in groups.items() for member in members}

    def __bool__(self) -> bool:
        return bool(self.groups)

    def members_of(self, clipping_id: str) -> list[str]:
        """The ids in the group of ``clipping_id`` (itself included; alone if in none)."""
        rep = self.group_of.get(clipping_id)
        return self.groups[rep] if rep is not None else [clipping_id]


def collapse_hits(
    fields_of: FieldsCache,
    files: IndexFiles,
    ranked: Iterable[tuple[float, int]],
    matches: Matches,
    groups: ReprintGroups | None,
    limit: int,
) -> list[tuple[dict[str, Any], float, int, tuple[str, ...]]]:
    """The first ``limit`` of ``ranked`` with stored fields, one per reprint
    group (the best placed), each with the ids of its group's other matches."""
    shown: list[tuple[dict[str, Any], float, int, tuple[str, ...]]] = []
    seen: set[str] = set()
    for score, docnum in ranked:
        if len(shown) >= limit:
            break
        fields = fields_of(docnum)
        if not groups:
            shown.append((fields, score, docnum, ()))
            continue
        rep = groups.group_of.get(fields["id"])
        if rep is None:
            shown.append((fields, score, docnum, ()))
            continue
        if rep in seen:
            continue
        seen.add(rep)
        others = []
        for member in groups.groups[rep]:
            if member != fields["id"]:
                other = files.document_number(member)
                if other is not None and contains(matches.ids, other):
                    others.append(member)
        shown.append((fields, score, docnum, tuple(others)))
    return shown
