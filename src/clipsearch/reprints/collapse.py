"""Reprints shown as one hit: the best placed member of a reprint group, with
the ids of the other members that matched the query. The groups are made at
index time (:mod:`clipsearch.reprints.grouping`) and read from the index's
folder (:func:`clipsearch.schema.read_groups`) or the backend's statistics."""

from __future__ import annotations

from collections.abc import Callable, Iterable

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
    ranked: Iterable[tuple[float, int]],
    id_of: Callable[[int], str],
    matched: Callable[[str], bool],
    groups: ReprintGroups | None,
    limit: int,
) -> list[tuple[float, int, tuple[str, ...]]]:
    """The first ``limit`` of ``ranked`` ``(score, docnum)``, one per reprint
    group (the best placed), each with the ids of its group's other members
    that matched (``matched(id)``); ``id_of`` gives a document's clipping id."""
    shown: list[tuple[float, int, tuple[str, ...]]] = []
    seen: set[str] = set()
    for score, docnum in ranked:
        if len(shown) >= limit:
            break
        if not groups:
            shown.append((score, docnum, ()))
            continue
        clipping_id = id_of(docnum)
        rep = groups.group_of.get(clipping_id)
        if rep is None:
            shown.append((score, docnum, ()))
            continue
        if rep in seen:
            continue
        seen.add(rep)
        others = tuple(m for m in groups.groups[rep] if m != clipping_id and matched(m))
        shown.append((score, docnum, others))
    return shown
