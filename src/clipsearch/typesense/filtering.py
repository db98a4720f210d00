"""Query plans and filters as Typesense ``filter_by`` expressions.

A plan's required part (:mod:`clipsearch.searching.plan`) becomes a filter on
the documents' term fields (``f_text:=[token]``, :func:`~clipsearch.typesense.documents.token`),
so Typesense matches what the index matches. Typesense 0.24 cannot negate a
group, so negations are pushed down to the terms (De Morgan). A phrase
becomes its words (Typesense does not keep positions of filtered terms):
the filter then matches a superset, which the caller narrows with the
candidates' positions (:class:`~clipsearch.typesense.scorer.CandidateScorer`).
"""

from __future__ import annotations

from dataclasses import dataclass

from clipsearch.searching.filters import Filters, day_number
from clipsearch.searching.plan import And, AndNot, Every, Not, Or, Phrase, PlanNode, Term
from clipsearch.typesense.documents import term_field, token

__all__ = ["NOTHING", "MatchFilter", "both", "filters_expression", "plan_filter"]

#: A filter no document passes.
NOTHING = "seq:<0"


@dataclass(frozen=True)
class MatchFilter:
    """A ``filter_by`` expression (None: every document) and whether it
    matches exactly the plan's matches (False: a superset, for phrases)."""

    expression: str | None
    exact: bool


def _term(field: str, text: str, negated: bool) -> str:
    return f"{term_field(field)}:{'!=' if negated else '='}[{token(text)}]"


def _join(parts: list[str | None], operator: str) -> str | None:
    """``parts`` joined by ``&&`` (None parts, every document, dropped) or
    ``||`` (a None part makes the whole None)."""
    if operator == "||" and any(p is None for p in parts):
        return None
    kept = [p for p in parts if p is not None]
    if not kept:
        return None
    if operator == "&&" and NOTHING in kept:
        return NOTHING
    if operator == "||":
        kept = [p for p in kept if p != NOTHING] or [NOTHING]
    return kept[0] if len(kept) == 1 else f" {operator} ".join(f"({p})" for p in kept)


def _compile(node: PlanNode, negated: bool) -> tuple[str | None, bool]:
    if isinstance(node, Term):
        return _term(node.fieldname, node.text, negated), True
    if isinstance(node, Phrase):
        if negated:  # NOT "a b" holds documents with a and b apart: every document is a candidate
            return None, False
        return _join([_term(node.fieldname, w, False) for w in dict.fromkeys(node.words)], "&&"), False
    if isinstance(node, Every):
        return (NOTHING if negated else None), True
    if isinstance(node, Not):
        return _compile(node.query, not negated)
    if isinstance(node, AndNot):
        return _compile(And([node.query, Not(node.excluded)]), negated)
    if isinstance(node, And | Or):
        parts = [_compile(child, negated) for child in node.subqueries]
        operator = "&&" if isinstance(node, And) != negated else "||"
        return _join([p for p, _exact in parts], operator), all(exact for _p, exact in parts)
    raise TypeError(f"not a query plan: {node!r}")


def plan_filter(node: PlanNode) -> MatchFilter:
    """The filter of a plan's required part."""
    expression, exact = _compile(node, False)
    return MatchFilter(expression, exact)


def filters_expression(filters: Filters) -> str | None:
    """The ``filter_by`` expression of a search's sources and date range (None without them)."""
    parts: list[str | None] = []
    if filters.sources:
        parts.append(f"source_key:=[{','.join(sorted(token(key) for key in filters.sources))}]")
    if filters.since or filters.until:
        parts.append("day:>0")
        if filters.since:
            parts.append(f"day:>={day_number(filters.since)}")
        if filters.until:
            parts.append(f"day:<={day_number(filters.until)}")
    return _join(parts, "&&")


def both(first: str | None, second: str | None) -> str | None:
    """Two filters at once."""
    return _join([first, second], "&&")
