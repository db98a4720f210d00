"""Query plans: what a parsed query (:mod:`clipsearch.searching.syntax`)
asks of the index's fields.

The plan for each group of words (see :mod:`clipsearch.writing.fields` for the fields):

* required: every syllable, folded, in ``text`` (title, lead and body as
  zones weighted 3 : 2 : 1), so a query matches whatever diacritics, tone
  placement, case or normalisation either side used; each is
  ``text:folded OR title:folded`` (:data:`TITLE_WEIGHT`), and typed WITH
  diacritics also ``OR exact:form`` (:data:`EXACT_WEIGHT`): the same
  clippings match, and those with the syllable in their title, or with what
  the user typed, rank first;
* bonus, scored on the best candidates only
  (:mod:`clipsearch.searching.ranking`): the words pyvi finds in the query,
  in ``words``, and the syllables in sequence (a phrase) in ``text``, since
  pyvi may segment the query and a clipping differently;
* words as typed: the query's words of two or more syllables typed with
  diacritics, in ``exact_words`` (``cơ_thể``); a clipping that holds more of
  them ranks above one that holds fewer, whatever the scores.

A quoted phrase requires the sequence (and the exact forms score as above).

Plans are small trees of the classes below, evaluated by
:class:`clipsearch.searching.scoring.Evaluator` with Whoosh's BM25F. They are
not Whoosh queries, so a search imports no Whoosh; the tests check every plan
against the same query built for Whoosh (``tests/whoosh_reference.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from clipsearch.schema import EXACT_FIELD, TEXT_FIELD, TITLE_FIELD, WORDS_FIELD
from clipsearch.searching import syntax
from clipsearch.text.fold import fold, has_diacritics
from clipsearch.text.normalize import normalize
from clipsearch.text.segmenter import segment
from clipsearch.text.syllables import syllable_form, syllable_forms
from clipsearch.text.zones import exact_word, one_case

__all__ = [
    "EXACT_WEIGHT",
    "MAX_TYPED_WORDS",
    "SEQUENCE_BONUS",
    "TITLE_WEIGHT",
    "WORD_BONUS",
    "And",
    "Or",
    "Every",
    "Not",
    "Plan",
    "PlanNode",
    "Phrase",
    "Term",
    "AndNot",
    "plan",
    "query_words",
    "typed_words",
]

#: Weight of a syllable matched with the diacritics the user typed.
EXACT_WEIGHT = 1.0
#: Weight of a syllable in the title, scored against the title's own length
#: (the ``text`` field weighs the title zone, but against the whole clipping's);
#: chosen with ``benchmarks/relevance.py``.
TITLE_WEIGHT = 1.0
#: Weights of the optional bonuses: whole pyvi words and the syllables in order.
WORD_BONUS = 0.5
SEQUENCE_BONUS = 1.0


class Term:
    """The clippings with ``text`` in ``fieldname``, scored by BM25F times ``boost``."""

    __slots__ = ("boost", "fieldname", "text")

    def __init__(self, fieldname: str, text: str, boost: float = 1.0) -> None:
        self.fieldname, self.text, self.boost = fieldname, text, boost

    def __repr__(self) -> str:
        return f"Term({self.fieldname!r}, {self.text!r}, boost={self.boost})"


class Phrase:
    """The clippings with ``words`` next to each other, in order, in
    ``fieldname`` (a phrase), scored as the sum of its words' scores."""

    __slots__ = ("boost", "fieldname", "words")

    def __init__(self, fieldname: str, words: list[str] | tuple[str, ...], boost: float = 1.0) -> None:
        self.fieldname, self.words, self.boost = fieldname, tuple(words), boost

    def __repr__(self) -> str:
        return f"Phrase({self.fieldname!r}, {list(self.words)!r}, boost={self.boost})"


class _Parts:
    __slots__ = ("subqueries",)

    def __init__(self, subqueries: list[PlanNode]) -> None:
        self.subqueries = tuple(subqueries)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.subqueries)!r})"


class And(_Parts):
    """The clippings every part matches; their scores added."""

    __slots__ = ()


class Or(_Parts):
    """The clippings any part matches; the scores of the parts that match added."""

    __slots__ = ()


class AndNot:
    """The clippings ``query`` matches and ``excluded`` does not, with ``query``'s scores."""

    __slots__ = ("excluded", "query")

    def __init__(self, query: PlanNode, excluded: PlanNode) -> None:
        self.query, self.excluded = query, excluded

    def __repr__(self) -> str:
        return f"AndNot({self.query!r}, {self.excluded!r})"


class Not:
    """Every clipping ``query`` does not match, each scored 0."""

    __slots__ = ("query",)

    def __init__(self, query: PlanNode) -> None:
        self.query = query

    def __repr__(self) -> str:
        return f"Not({self.query!r})"


class Every:
    """Every clipping, each scored 1."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Every()"


PlanNode = Union[Term, Phrase, And, Or, AndNot, Not, Every]  # noqa: UP007 (a runtime alias)


@dataclass(frozen=True)
class Plan:
    """What a query asks of the index: ``required`` decides which clippings
    match and ranks them (every match is scored); ``bonus`` terms and
    sequences add score to the best candidates only; ``words`` are the
    ``exact_words`` terms of the query's words typed with diacritics, and a
    clipping that holds more of them ranks above one that holds fewer
    (:func:`clipsearch.searching.ranking.rank`)."""

    required: PlanNode
    bonus: tuple[Term | Phrase, ...] = ()
    words: tuple[str, ...] = ()


def _syllable_clause(syllable: str, field: str, whole: bool) -> PlanNode:
    """The folded syllable. In the whole text (no ``title:``), also the folded
    syllable in the title on its own (weight :data:`TITLE_WEIGHT`) and, typed
    with diacritics, its exact form (:data:`EXACT_WEIGHT`). Every clipping
    with either has the folded syllable too, so the union matches the same
    clippings; those with it in a short title, or with what the user typed,
    score more."""
    folded = Term(field, fold(syllable))
    if not whole:
        return folded
    parts: list[PlanNode] = [folded, Term(TITLE_FIELD, fold(syllable), boost=TITLE_WEIGHT)]
    if has_diacritics(syllable):
        parts.append(Term(EXACT_FIELD, syllable, boost=EXACT_WEIGHT))
    return Or(parts)


@lru_cache(maxsize=256)
def _segmented(text: str) -> tuple[tuple[str, ...], ...]:
    """The syllables (lower case) of pyvi's words of two or more syllables
    in ``text``, as written; not the words the model joined across letter
    case (:func:`~clipsearch.text.zones.one_case`)."""
    return tuple(
        tuple(s.lower() for s in seg.syllables)
        for seg in segment(text)
        if len(seg.syllables) > 1 and one_case(seg.syllables)
    )


def _query_segments(text: str, names: bool = False) -> tuple[tuple[str, ...], ...]:
    """The syllables of pyvi's words of two or more syllables in the query.
    pyvi segments capitals differently, so the query is lowercased first:
    letter case must not change the ranking; with ``names``, it is also
    segmented with the capitals of its names (:func:`_as_names`), where the
    model joins them (``Hải Phòng``). Each form is segmented once, whichever
    asks (:func:`query_words`, :func:`typed_words`)."""
    norm = normalize(text).text
    found = _segmented(norm.lower())
    if names:
        found += _segmented(_as_names(norm))
    return tuple(dict.fromkeys(found))


def _as_names(text: str) -> str:
    """The query with the capitals of its names: as typed when the user wrote
    some words with capitals and others without (``Texas phát``: a name and a
    verb, not the name ``Texas Phát``); in title case when the letter case
    says nothing (all in lower case or all in capitals: ``hải phòng``)."""
    return text.title() if text.islower() or text.isupper() else text


def query_words(text: str) -> list[str]:
    """pyvi's words of the query, folded (``words`` terms)."""
    return [fold("_".join(syllable_form(s) for s in word)) for word in _query_segments(text)]


def typed_words(text: str) -> list[str]:
    """pyvi's words of the query as typed (``exact_words`` terms), those
    typed with diacritics: ``cơ thể`` gives ``cơ_thể``, ``co the`` nothing.
    The query is segmented in lower case and with the capitals of its names
    (:func:`_as_names`): a clipping holds a name as a word where the model
    joined it, capitalised."""
    words = (exact_word(word) for word in _query_segments(text, names=True))
    return list(dict.fromkeys(w for w in words if w is not None))


def _plan_words(node: syntax.Terms | syntax.Phrase) -> Plan:
    field = node.field or TEXT_FIELD
    whole = node.field is None  # title: and source: are plain syllable fields
    in_order = syllable_forms(node.text)
    sylls = list(dict.fromkeys(in_order))
    folded = [fold(s) for s in in_order]
    bonus: list[Term | Phrase] = []
    typed: tuple[str, ...] = ()
    if whole and len(in_order) > 1:  # one syllable is no pyvi word: the model is not loaded for it
        bonus += [Term(WORDS_FIELD, w, boost=WORD_BONUS) for w in query_words(node.text)]
        typed = tuple(typed_words(node.text))
    if isinstance(node, syntax.Phrase) and len(folded) > 1:
        sequence = Phrase(field, folded)
        # The same clauses as unquoted words (title weight; exact form where
        # typed), so a phrase ranks by the same rules whether or not it was
        # typed with diacritics.
        clauses = [_syllable_clause(s, field, whole) for s in sylls] if whole else []
        return Plan(And([sequence, *clauses]) if clauses else sequence, tuple(bonus), typed)
    clauses = [_syllable_clause(s, field, whole) for s in sylls]
    required = And(clauses) if len(clauses) > 1 else clauses[0]
    if len(folded) > 1:
        bonus.append(Phrase(field, folded, boost=SEQUENCE_BONUS))
    return Plan(required, tuple(bonus), typed)


#: The most words as typed a query's ranking counts (each is a posting list read).
MAX_TYPED_WORDS = 16


def plan(node: syntax.Node) -> Plan:
    """The plan of a parsed query (without its date filters); its words as
    typed once each, at most :data:`MAX_TYPED_WORDS`."""
    found = _plan(node)
    words = tuple(dict.fromkeys(found.words))[:MAX_TYPED_WORDS]
    return found if words == found.words else Plan(found.required, found.bonus, words)


def _plan(node: syntax.Node) -> Plan:
    if isinstance(node, (syntax.Terms, syntax.Phrase)):
        return _plan_words(node)
    if isinstance(node, syntax.All):
        return Plan(Every())
    if isinstance(node, syntax.Not):
        return Plan(Not(_plan(node.child).required))
    if isinstance(node, syntax.And):
        positive = [_plan(c) for c in node.children if not isinstance(c, syntax.Not)]
        negative = [_plan(c.child).required for c in node.children if isinstance(c, syntax.Not)]
        if not positive:  # (NOT a NOT b) inside a larger query
            return Plan(Not(Or(negative)))
        q = positive[0].required if len(positive) == 1 else And([p.required for p in positive])
        required = AndNot(q, Or(negative)) if negative else q
        return Plan(required, tuple(b for p in positive for b in p.bonus), tuple(w for p in positive for w in p.words))
    if isinstance(node, syntax.Or):
        parts = [_plan(c) for c in node.children]
        words = tuple(w for p in parts for w in p.words)
        return Plan(Or([p.required for p in parts]), tuple(b for p in parts for b in p.bonus), words)
    raise TypeError(node)  # pragma: no cover
