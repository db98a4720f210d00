"""Query plans and filters as Typesense ``filter_by`` expressions.

A plan's required part (:mod:`clipsearch.searching.plan`) becomes a filter on
the documents' term fields (``f_text:=[token]``, :func:`~clipsearch.typesense.documents.token`),
so Typesense matches what the index matches:

- Typesense 0.24 cannot negate a group, so negations are pushed down to the
  terms (De Morgan).
- A phrase becomes its words (Typesense keeps no positions of filtered
  terms): the filter then matches a superset, which the caller narrows with
  the candidates' positions (:class:`~clipsearch.typesense.scorer.CandidateScorer`).
- A syllable's clause ``text OR title OR exact`` is its ``text`` term alone:
  every clipping with the syllable in its title, or written as typed, has
  its folded syllable in ``text`` (the plan adds the others for scoring
  only). Terms of one field ORed together are one clause (``f:=[a,b]``), as
  are terms of one field all excluded (``f:!=[a,b]``).
- Typesense refuses an expression of more than :data:`MAX_TOKENS` tokens
  (clauses, operators and parentheses; found by trying). A longer one keeps
  the clauses of its top-level AND that match the fewest clippings and is a
  superset too; one that cannot be cut so is no filter at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clipsearch.schema import EXACT_FIELD, TEXT_FIELD, TITLE_FIELD
from clipsearch.searching.filters import Filters, day_number
from clipsearch.searching.plan import And, AndNot, Every, Not, Or, Phrase, PlanNode, Term
from clipsearch.text.fold import fold
from clipsearch.typesense.documents import term_field, token

__all__ = ["MAX_TOKENS", "NOTHING", "PLAN_TOKENS", "MatchFilter", "both", "filters_expression", "plan_filter"]

#: A filter no document passes.
NOTHING = "seq:<0"
#: The most tokens (clauses, ``&&``/``||``, parentheses) of an expression
#: Typesense 0.24 parses: 50 clauses joined by ``&&`` pass, 51 do not.
MAX_TOKENS = 99
#: What a plan's filter may take of them (the rest: sources, dates, ids).
PLAN_TOKENS = MAX_TOKENS - 20


@dataclass(frozen=True)
class MatchFilter:
    """A ``filter_by`` expression (None: every document) and whether it
    matches exactly the plan's matches (False: a superset)."""

    expression: str | None
    exact: bool


@dataclass(frozen=True)
class _Clause:
    """``field`` holds any of ``terms`` (or, ``negated``, none of them)."""

    field: str
    terms: tuple[str, ...]
    negated: bool

    def text(self) -> str:
        values = ",".join(token(t) for t in self.terms)
        return f"{term_field(self.field)}:{'!=' if self.negated else '='}[{values}]"


@dataclass(frozen=True)
class _Group:
    operator: str  # "&&" or "||"
    parts: tuple[_Part, ...]


_Part = _Clause | _Group | None  # None: every document
_NOTHING_CLAUSE = _Clause("", (), False)


def _tokens(part: _Part) -> int:
    """Tokens of a part written out (a group inside another has its parentheses)."""
    if not isinstance(part, _Group):
        return 1
    return sum(_tokens(p) + (2 if isinstance(p, _Group) else 0) for p in part.parts) + len(part.parts) - 1


def _write(part: _Part) -> str | None:
    if part is None:
        return None
    if isinstance(part, _Clause):
        return NOTHING if part is _NOTHING_CLAUSE else part.text()
    return f" {part.operator} ".join(f"({_write(p)})" if isinstance(p, _Group) else str(_write(p)) for p in part.parts)


def _covered(term: Term, by: set[str]) -> bool:
    """Whether every clipping with ``term`` has one of the ``text`` terms ``by``."""
    if term.fieldname == TITLE_FIELD:
        return term.text in by
    if term.fieldname == EXACT_FIELD:
        return fold(term.text) in by
    return False


def _combine(operator: str, parts: list[_Part]) -> _Part:
    """Parts joined by ``operator``: nested groups of the same operator
    flattened, clauses of one field merged where that keeps the meaning,
    every document and no document folded in."""
    flat: list[_Part] = []
    for part in parts:
        if isinstance(part, _Group) and part.operator == operator:
            flat.extend(part.parts)
        else:
            flat.append(part)
    if operator == "||":
        if any(p is None for p in flat):
            return None
        flat = [p for p in flat if p is not _NOTHING_CLAUSE]
    else:
        if any(p is _NOTHING_CLAUSE for p in flat):
            return _NOTHING_CLAUSE
        flat = [p for p in flat if p is not None]
    if not flat:
        return _NOTHING_CLAUSE if operator == "||" else None
    # Terms of one field: any of them (OR), or none of them (AND of exclusions).
    negated = operator == "&&"
    merged: dict[str, list[str]] = {}
    others: list[_Part] = []
    for part in flat:
        if isinstance(part, _Clause) and part is not _NOTHING_CLAUSE and part.negated == negated:
            merged.setdefault(part.field, []).extend(part.terms)
        else:
            others.append(part)
    clauses: list[_Part] = [_Clause(f, tuple(dict.fromkeys(ts)), negated) for f, ts in merged.items()]
    joined = clauses + others
    return joined[0] if len(joined) == 1 else _Group(operator, tuple(joined))


def _compile(node: PlanNode, negated: bool) -> tuple[_Part, bool]:
    if isinstance(node, Term):
        return _Clause(node.fieldname, (node.text,), negated), True
    if isinstance(node, Phrase):
        if negated:  # NOT "a b" holds documents with a and b apart: every document is a candidate
            return None, False
        words = [_Clause(node.fieldname, (w,), False) for w in dict.fromkeys(node.words)]
        return _combine("&&", list(words)), False
    if isinstance(node, Every):
        return (_NOTHING_CLAUSE if negated else None), True
    if isinstance(node, Not):
        return _compile(node.query, not negated)
    if isinstance(node, AndNot):
        return _compile(And([node.query, Not(node.excluded)]), negated)
    if isinstance(node, And | Or):
        children = list(node.subqueries)
        if isinstance(node, Or):  # NOT (a OR b) with b implying a is NOT a too
            folded = {c.text for c in children if isinstance(c, Term) and c.fieldname == TEXT_FIELD}
            children = [c for c in children if not (isinstance(c, Term) and _covered(c, folded))]
        parts = [_compile(child, negated) for child in children]
        operator = "&&" if isinstance(node, And) != negated else "||"
        return _combine(operator, [p for p, _exact in parts]), all(exact for _p, exact in parts)
    raise TypeError(f"not a query plan: {node!r}")


def _cut(part: _Part, frequency: Callable[[str, str], int] | None) -> _Part:
    """A part of at most :data:`PLAN_TOKENS` tokens that passes every
    document ``part`` passes: the clauses of its top-level AND that match
    the fewest documents (by ``frequency``), or no filter."""
    if not isinstance(part, _Group) or part.operator != "&&":
        return None

    def matched(p: _Part) -> float:
        if isinstance(p, _Clause) and not p.negated and len(p.terms) == 1 and frequency is not None:
            return frequency(p.field, p.terms[0])
        return float("inf") if isinstance(p, _Group) else 1e18

    kept: list[_Part] = []
    for p in sorted(part.parts, key=matched):
        candidate = _Group("&&", (*kept, p))
        if _tokens(candidate) <= PLAN_TOKENS:
            kept.append(p)
    return kept[0] if len(kept) == 1 else (_Group("&&", tuple(kept)) if kept else None)


def plan_filter(node: PlanNode, frequency: Callable[[str, str], int] | None = None) -> MatchFilter:
    """The filter of a plan's required part; ``frequency(field, term)``
    (documents holding a term) chooses what a too long filter keeps."""
    part, exact = _compile(node, False)
    if _tokens(part) > PLAN_TOKENS:
        part, exact = _cut(part, frequency), False
    return MatchFilter(_write(part), exact)


def filters_expression(filters: Filters) -> str | None:
    """The ``filter_by`` expression of a search's sources and date range (None without them)."""
    parts: list[str] = []
    if filters.sources:
        parts.append(f"source_key:=[{','.join(sorted(token(key) for key in filters.sources))}]")
    if filters.since or filters.until:
        parts.append("day:>0")
        if filters.since:
            parts.append(f"day:>={day_number(filters.since)}")
        if filters.until:
            parts.append(f"day:<={day_number(filters.until)}")
    return " && ".join(parts) if parts else None


def both(first: str | None, second: str | None) -> str | None:
    """Two filters at once (each parenthesised when it is several clauses)."""
    if first is None or second is None:
        return first if second is None else second
    return f"({first}) && ({second})"
