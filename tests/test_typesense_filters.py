"""Property test of the plan-to-filter compiler
(:mod:`clipsearch.typesense.filtering`) against a real Typesense node:
for random plans over a small vocabulary, the documents Typesense's
``filter_by`` passes are exactly the plan's matches when the filter says it
is exact, and a superset otherwise (phrases, filters cut to Typesense's
token limit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipsearch.searching.plan import And, AndNot, Every, Not, Or, Phrase, PlanNode, Term
from clipsearch.typesense.documents import term_field, token

from .typesense_servers import TypesenseNode, typesense_missing_reason, typesense_node

pytestmark = pytest.mark.skipif(typesense_missing_reason() is not None, reason=str(typesense_missing_reason()))

#: Terms with what Typesense's own normalisation would merge: case, marks, symbols.
WORDS = ["bao", "bão", "Bão", "ba", "bà", "a_b", "ab", "a-b", "x`y", "cơ_thể", "co_the", "2024", "20.24"]
FIELDS = ["text", "title", "exact"]
DOCUMENTS = 40


def _documents() -> list[dict[str, list[str]]]:
    import random

    from clipsearch.text.fold import fold

    rng = random.Random(5)
    documents = [{f: rng.sample(WORDS, rng.randint(0, 5)) for f in FIELDS} for _ in range(DOCUMENTS)]
    for doc in documents:  # as in the index: the title's syllables and the written forms, folded, are in text
        doc["text"] = list(dict.fromkeys([*doc["text"], *doc["title"], *(fold(e) for e in doc["exact"])]))
    return documents


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TypesenseNode, list[dict[str, list[str]]]]]:
    import typesense

    from .typesense_servers import client_config

    documents = _documents()
    with typesense_node(tmp_path_factory.mktemp("filters")) as node:
        client = typesense.Client(client_config(node))
        fields = [{"name": term_field(f), "type": "string[]", "optional": True} for f in FIELDS]
        client.collections.create({"name": "f", "fields": [*fields, {"name": "seq", "type": "int64"}]})
        rows = [
            {"id": str(i), "seq": i, **{term_field(f): [token(t) for t in doc[f]] for f in FIELDS}}
            for i, doc in enumerate(documents)
        ]
        client.collections["f"].documents.import_(rows, {"action": "create"})
        yield node, documents


def _matches(node: PlanNode, doc: dict[str, list[str]]) -> bool:
    if isinstance(node, Term):
        return node.text in doc[node.fieldname]
    if isinstance(node, Phrase):  # no positions here: its words (the filter's superset)
        return all(w in doc[node.fieldname] for w in node.words)
    if isinstance(node, Every):
        return True
    if isinstance(node, Not):
        return not _matches(node.query, doc)
    if isinstance(node, AndNot):
        return _matches(node.query, doc) and not _matches(node.excluded, doc)
    if isinstance(node, And):
        return all(_matches(c, doc) for c in node.subqueries)
    assert isinstance(node, Or)
    return any(_matches(c, doc) for c in node.subqueries)


terms = st.builds(Term, st.sampled_from(FIELDS), st.sampled_from(WORDS))
plans = st.recursive(
    terms | st.builds(Phrase, st.sampled_from(FIELDS), st.lists(st.sampled_from(WORDS), min_size=2, max_size=3)),
    lambda children: st.one_of(
        st.builds(And, st.lists(children, min_size=1, max_size=4)),
        st.builds(Or, st.lists(children, min_size=1, max_size=4)),
        st.builds(Not, children),
        st.builds(AndNot, children, children),
        st.just(Every()),
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans)
def test_the_filter_passes_the_plans_matches(
    collection: tuple[TypesenseNode, list[dict[str, list[str]]]], plan: PlanNode
) -> None:
    from clipsearch.typesense.filtering import plan_filter

    node, documents = collection
    expected = {str(i) for i, doc in enumerate(documents) if _matches(plan, doc)}
    matching = plan_filter(plan, lambda field, term: sum(term in d[field] for d in documents))
    path = "/collections/f/documents/search?q=*&per_page=250&include_fields=id"
    import urllib.parse

    if matching.expression is not None:
        path += "&filter_by=" + urllib.parse.quote(matching.expression)
    status, found = node.request(path, timeout=10)
    assert status == 200, (matching.expression, found)
    got = {hit["document"]["id"] for hit in found["hits"]}
    has_phrase = "Phrase(" in repr(plan)
    if matching.exact:
        assert got == expected
    else:
        assert got >= expected and (
            has_phrase or len(matching.expression or "") > 0 or got == set(map(str, range(DOCUMENTS)))
        )


def test_a_long_query_is_cut_to_what_typesense_parses(
    collection: tuple[TypesenseNode, list[dict[str, list[str]]]],
) -> None:
    from clipsearch.typesense.filtering import plan_filter

    node, documents = collection
    plan = And([Term("text", WORDS[i % len(WORDS)]) for i in range(120)])
    matching = plan_filter(plan, lambda field, term: sum(term in d[field] for d in documents))
    assert not matching.exact and matching.expression is not None
    import urllib.parse

    status, _found = node.request(
        "/collections/f/documents/search?q=*&per_page=0&filter_by=" + urllib.parse.quote(matching.expression)
    )
    assert status == 200
