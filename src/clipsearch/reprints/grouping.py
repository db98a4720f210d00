"""Reprint groups of a whole index, computed after each indexing run that
changed it (:mod:`clipsearch.writing.statistics` writes them beside the
index; :mod:`clipsearch.reprints.collapse` reads them at search time)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from clipsearch.reprints.minhash import group
from clipsearch.schema import read_manifest_entry

__all__ = ["REPRINT_THRESHOLD", "group_reprints", "reprint_groups"]

#: Estimated Jaccard similarity of two clippings' shingles from which they are reprints, chosen on
#: pairs judged by hand and on synthetic reprints (new title, lead dropped, a sentence added):
#: lower, follow-ups of a story group as reprints; higher, reprints are missed.
REPRINT_THRESHOLD = 0.7
_NUMBER = re.compile(r"\d+")


def _title_numbers(title: str) -> frozenset[str]:
    return frozenset(n.lstrip("0") or "0" for n in _NUMBER.findall(title))


def reprint_groups(ix: Any) -> dict[str, list[str]]:
    """Groups of near-duplicate reprints: representative id -> member ids.

    Candidates come from :func:`clipsearch.reprints.minhash.group` at
    :data:`REPRINT_THRESHOLD`; then the members of a group are split by the
    numbers in their titles: issues of a series (``Xổ số miền Nam ngày 12
    tháng 4`` / ``... ngày 12 tháng 10``, ``Bản tin sức khỏe 8.6`` / ``9.12``)
    share their boilerplate text but not their numbers, while a reprint keeps
    them (``20 người bị thương``). Titles without numbers join the one
    numbered part of their group (``Hoà Bình kỷ luật 15 đảng viên`` / ``... kỷ
    luật đảng viên``), or stay together when there are several."""
    signatures: dict[str, bytes] = {}
    docnums: dict[str, int] = {}
    with ix.reader() as reader:
        if reader.doc_count() == 0:
            return {}
        manifest, dup = reader.column_reader("manifest"), reader.column_reader("dup")
        for docnum in reader.all_doc_ids():
            raw, sig = manifest[docnum], dup[docnum]
            if raw and sig:
                clipping_id = read_manifest_entry(raw)[0]
                signatures[clipping_id] = sig
                docnums[clipping_id] = docnum
        return group_reprints(signatures, lambda member: str(reader.stored_fields(docnums[member]).get("title", "")))


def group_reprints(signatures: dict[str, bytes], title_of: Callable[[str], str]) -> dict[str, list[str]]:
    """Reprint groups (representative id -> member ids) of clippings given
    by their MinHash signatures, split by the numbers of their titles
    (``title_of(id)``) as :func:`reprint_groups` says."""
    candidates: dict[str, list[str]] = {}
    for member, representative in group(signatures, REPRINT_THRESHOLD).items():
        candidates.setdefault(representative, []).append(member)
    groups: dict[str, list[str]] = {}
    for members in candidates.values():
        by_numbers: dict[frozenset[str], list[str]] = {}
        for member in members:
            by_numbers.setdefault(_title_numbers(title_of(member)), []).append(member)
        # titles without numbers go with the only numbered part, if one
        plain = by_numbers.pop(frozenset(), [])
        parts = list(by_numbers.values())
        if len(parts) == 1:
            parts[0] += plain
        elif plain:
            parts.append(plain)
        for part in parts:
            if len(part) > 1:
                groups[min(part)] = sorted(part)
    return dict(sorted(groups.items()))
