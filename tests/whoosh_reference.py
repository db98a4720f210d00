"""Whoosh's own evaluation of clipsearch's query plans: the reference the
tests compare clipsearch's vectorised evaluation with."""

from __future__ import annotations

from typing import Any

from whoosh import query as wq

from clipsearch.reading.segments import IndexFiles
from clipsearch.schema import INDEX_NAME
from clipsearch.searching.plan import And, AndNot, Every, Not, Or, Phrase, PlanNode, Term


def to_whoosh(node: PlanNode) -> Any:
    """The same query as a Whoosh query."""
    if isinstance(node, Term):
        return wq.Term(node.fieldname, node.text, boost=node.boost)
    if isinstance(node, Phrase):
        return wq.Phrase(node.fieldname, list(node.words), boost=node.boost)
    if isinstance(node, And):
        return wq.And([to_whoosh(c) for c in node.subqueries])
    if isinstance(node, Or):
        # Whoosh's binary union matchers: for OR groups of three or more on
        # small indexes, whoosh-reloaded 2.7.5 picks an array matcher whose
        # max_quality() is the largest part's score, not the sum.
        union = wq.Or([to_whoosh(c) for c in node.subqueries])
        union.matcher_type = wq.Or.DEFAULT_MATCHER
        return union
    if isinstance(node, AndNot):
        return wq.AndNot(to_whoosh(node.query), to_whoosh(node.excluded))
    if isinstance(node, Not):
        return wq.Not(to_whoosh(node.query))
    if isinstance(node, Every):
        return wq.Every()
    raise TypeError(node)


def whoosh_matches(searcher: Any, node: PlanNode) -> dict[int, float]:
    """Every document the plan matches and its score, by Whoosh's matchers
    (no collector: they prune)."""
    query = to_whoosh(node)
    context = searcher.context()
    out = {}
    for sub, offset in searcher.leaf_searchers():
        matcher = query.matcher(sub, context)
        while matcher.is_active():
            out[matcher.id() + offset] = matcher.score()
            matcher.next()
    return out


def whoosh_bonus_scores(searcher: Any, bonus: tuple[PlanNode, ...], docnums: list[int]) -> dict[int, float]:
    """The score each bonus gives each of ``docnums`` (ascending), by one
    pass of its Whoosh matcher skipping to the candidates."""
    extra: dict[int, float] = {}
    context = searcher.context()
    for node in bonus:
        matcher = to_whoosh(node).matcher(searcher, context)
        for docnum in docnums:
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
                if not matcher.is_active():
                    break
            if matcher.id() == docnum:
                extra[docnum] = extra.get(docnum, 0.0) + matcher.score()
    return extra


def files_of(searcher: Any) -> IndexFiles:
    """The generation of the index a Whoosh searcher reads, read as the
    search path reads it (without Whoosh)."""
    ix = searcher._ix
    return IndexFiles(ix.storage.folder, INDEX_NAME, ix.latest_generation())
