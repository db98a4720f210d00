"""The archive on a Typesense collection, searched as the Whoosh index is:
:class:`TypesenseArchive` has the methods of :class:`clipsearch.search.Index`
and gives the same results.

A search is planned by clipsearch (:mod:`clipsearch.searching`): the plan's
required part becomes a ``filter_by`` (:mod:`clipsearch.typesense.filtering`)
that Typesense counts and, with the search's own term frequencies, answers
in one multi-search request. When no more than :data:`FULL_CANDIDATES`
clippings match, all of them come back with the buckets of their term
vectors that hold the search's terms, and are scored, ranked, collapsed and
counted here exactly as the index does it
(:class:`~clipsearch.typesense.scorer.CandidateScorer`). Past that, the
candidates are the best :data:`PROXY_CANDIDATES` by Typesense's own text
match on the folded syllables (title first, then shorter clippings), or by
date, and only they are scored; the total and the facets still count every
match (a phrase's clippings are counted exactly up to
:data:`FULL_PHRASE_CANDIDATES`). Snippets and highlights are computed on the
stored text, as for the index.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clipsearch.errors import ClippingNotFoundError, ClipsearchError, IndexNotFoundError, IndexVersionError, QueryError
from clipsearch.reprints.collapse import ReprintGroups, collapse_hits
from clipsearch.results import ClippingSummary, ClippingView, Hit, IndexStats, SearchResult, date_of_day, make_hit
from clipsearch.schema import TEXT_FIELD
from clipsearch.searching.correction import decode_query
from clipsearch.searching.filters import NO_VALUE
from clipsearch.searching.highlight import HighlightTerms, highlight_spans, highlight_terms
from clipsearch.searching.plan import And, AndNot, Not, Or, Phrase, PlanNode, Term, plan
from clipsearch.searching.ranking import CANDIDATES, by_date, rank, top
from clipsearch.searching.request import checked_limit, read_request
from clipsearch.searching.scoring import Matches
from clipsearch.searching.similar import key_terms
from clipsearch.searching.spelling import suggest
from clipsearch.searching.syntax import All, parse_query, split_filters
from clipsearch.searching.typos import Speller, spelled_alike, suggested, widen_typos
from clipsearch.text.fold import fold, fold_syllable
from clipsearch.text.syllables import syllable_forms
from clipsearch.typesense.connection import PAGE, Connection, NotFound, TypesenseTarget
from clipsearch.typesense.documents import (
    DOCUMENT_VERSION,
    NO_SOURCE,
    SCORED_FIELDS,
    STATISTICS_SUFFIX,
    bucket_of,
    decode_vectors,
    length_field,
    restored,
    term_field,
    token,
)
from clipsearch.typesense.filtering import both, filters_expression, plan_filter
from clipsearch.typesense.scorer import CandidateScorer, CollectionStatistics

__all__ = [
    "FULL_CANDIDATES",
    "FULL_PHRASE_CANDIDATES",
    "PROXY_CANDIDATES",
    "ArchiveStatistics",
    "TypesenseArchive",
    "read_statistics",
]

#: Matches scored all (exact ranking and counts) up to this many.
FULL_CANDIDATES = 2_000
#: ... and up to this many when the filter matches more than the query (a
#: phrase, whose positions only the candidates' term vectors tell): past it,
#: the total and the facets count the clippings that hold the phrase's words.
FULL_PHRASE_CANDIDATES = 20_000
#: Past that, the candidates of Typesense's own ranking that are scored.
PROXY_CANDIDATES = 1_000
#: Ids asked for in one search (ids a filter compares loosely may bring others: a page holds them).
ID_BATCH = 100
#: Hits' stored fields.
STORED = "id,path,title,lead,body,source,day"
#: Suggestions read the texts of this many of the best matches.
SUGGESTION_TEXTS = 10
#: A filter every document passes.
EVERYTHING = "seq:>=0"


@dataclass(frozen=True)
class ArchiveStatistics:
    """What an indexing run wrote beside the clippings: its id, when, the
    reprint groups, the vocabulary (folded syllable -> written forms -> n),
    the words typos may have meant, each source key's name, and the
    collection's size and average field lengths."""

    run: str
    updated: str | None
    groups: ReprintGroups
    vocabulary: dict[str, dict[str, int]]
    speller: Speller
    sources: dict[str, str]


def read_statistics(connection: Connection, physical: str) -> ArchiveStatistics | None:
    """The statistics of the last run that wrote them in the collection
    ``physical`` (None if none did)."""
    name = physical + STATISTICS_SUFFIX
    try:
        meta = connection.retrieve("meta", name)
    except NotFound:
        return None
    run = str(meta.get("run", ""))
    chunks: dict[str, dict[int, str]] = {}
    for doc in connection.export({"filter_by": "kind:=[chunk]"}, name):
        if doc.get("run") == run:
            chunks.setdefault(str(doc["part"]), {})[int(doc["number"])] = str(doc["data"])
    parts: dict[str, Any] = {}
    for part, count in dict(meta.get("chunks", {})).items():
        pieces = chunks.get(part, {})
        if len(pieces) != count:
            raise ClipsearchError(f"the statistics of {connection.target} are incomplete: run `clipsearch index` again")
        parts[part] = json.loads(zlib.decompress(base64.b64decode("".join(pieces[i] for i in range(count)))))
    return ArchiveStatistics(
        run=run,
        updated=meta.get("updated"),
        groups=ReprintGroups(run, parts.get("groups", {})),
        vocabulary=parts.get("vocabulary", {}),
        speller=Speller(parts.get("spelling", {})),
        sources=parts.get("sources", {}),
    )


class _Frequencies:
    """Document frequencies of terms in the collection, asked in batches and kept for one search."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.known: dict[tuple[str, str], int] = {}

    def fetch(self, keys: Iterable[tuple[str, str]]) -> None:
        wanted = [k for k in dict.fromkeys(keys) if k not in self.known]
        if not wanted:
            return
        searches = [{"q": "*", "filter_by": f"{term_field(f)}:=[{token(t)}]", "per_page": 0} for f, t in wanted]
        for key, result in zip(wanted, self.connection.searches(searches), strict=True):
            self.known[key] = int(result["found"])

    def __call__(self, field: str, term: str) -> int:
        if (field, term) not in self.known:
            self.fetch([(field, term)])
        return self.known[(field, term)]

    def many(self, field: str, terms: Sequence[str]) -> list[int]:
        self.fetch((field, t) for t in terms)
        return [self.known[(field, t)] for t in terms]


def _plan_terms(node: PlanNode | Term | Phrase) -> Iterator[tuple[str, str]]:
    """The ``(field, term)`` of every term and phrase word of a plan."""
    if isinstance(node, Term):
        yield node.fieldname, node.text
    elif isinstance(node, Phrase):
        yield from ((node.fieldname, w) for w in node.words)
    elif isinstance(node, And | Or):
        for child in node.subqueries:
            yield from _plan_terms(child)
    elif isinstance(node, AndNot):
        yield from _plan_terms(node.query)
        yield from _plan_terms(node.excluded)
    elif isinstance(node, Not):
        yield from _plan_terms(node.query)


class TypesenseArchive:
    """The archive in a Typesense collection (``clipsearch index --typesense``
    wrote it). Thread-safe; holds no connection open between requests."""

    def __init__(self, target: TypesenseTarget) -> None:
        self.target = target
        self.path = str(target)
        self._connection = Connection(target)
        self._lock = threading.Lock()
        self._statistics: ArchiveStatistics | None = None
        self._physical: str | None = None
        self._collection: tuple[str, int, dict[str, float]] | None = None
        self._current()

    def __enter__(self) -> TypesenseArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing is held open; kept for the same use as :class:`~clipsearch.search.Index`."""

    def __len__(self) -> int:
        """The number of clippings in the collection."""
        return self._size()[0]

    # -- what the collection holds -------------------------------------------

    def _meta(self) -> tuple[str, dict[str, Any]]:
        """The physical collection behind the alias and its ``meta`` document.
        The alias is looked up again only when what it pointed to is gone (a
        rebuild moved it)."""
        connection = self._connection
        for fresh in (False, True):
            physical = self._physical if not fresh else None
            if physical is None:
                physical = connection.physical()
                if physical is None:
                    break
            try:
                meta = connection.retrieve("meta", physical + STATISTICS_SUFFIX)
            except NotFound:
                self._physical = None
                continue
            self._physical = physical
            return physical, meta
        raise IndexNotFoundError(
            f"no clipsearch archive in the Typesense collection {self.target}: "
            f"run `clipsearch index --typesense ...` first"
        )

    def _current(self) -> ArchiveStatistics:
        """The statistics of the last indexing run, read again when another run wrote newer ones."""
        physical, meta = self._meta()
        if meta.get("version") != DOCUMENT_VERSION:
            raise IndexVersionError(
                f"the Typesense collection {self.target} was written by another version of clipsearch: "
                "run `clipsearch index --rebuild --typesense ...`"
            )
        with self._lock:
            if self._statistics is not None and self._statistics.run == meta.get("run"):
                return self._statistics
        statistics = read_statistics(self._connection, physical)
        if statistics is None:
            raise IndexNotFoundError(f"no clipsearch archive in the Typesense collection {self.target}")
        with self._lock:
            self._statistics = statistics
            self._collection = None
        return statistics

    def _size(self, statistics: ArchiveStatistics | None = None) -> tuple[int, dict[str, float]]:
        """The number of clippings and the average length of each scored field
        (read once per indexing run: ``statistics`` say which is current)."""
        run = (statistics or self._current()).run
        with self._lock:
            if self._collection is not None and self._collection[0] == run:
                return self._collection[1], self._collection[2]
        facets = ",".join(length_field(f) for f in SCORED_FIELDS)
        found = self._connection.search({"q": "*", "per_page": 0, "facet_by": facets, "max_facet_values": 1})
        total = int(found["found"])
        averages: dict[str, float] = {}
        for counts in found.get("facet_counts", []):
            field = str(counts["field_name"])[2:]
            averages[field] = float(counts.get("stats", {}).get("sum", 0.0)) / (total or 1) or 1.0
        with self._lock:
            self._collection = (run, total, averages)
        return total, averages

    # -- searching -----------------------------------------------------------

    def query(
        self,
        query: str = "*",
        limit: int = 10,
        *,
        source: str | Sequence[str] | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
        sort: str = "relevance",
        facets: bool = False,
        collapse: bool = True,
        exact_input: bool = False,
    ) -> SearchResult:
        """Search, as :meth:`clipsearch.search.Index.query` does."""
        limit = checked_limit(limit)
        words, filters = read_request(query, sort, source, since, until)
        statistics = self._current()
        frequencies = _Frequencies(self._connection)
        corrected = typos = None
        if words is not None and not exact_input:
            syllables = [fold(s) for s in syllable_forms(query)]
            frequencies.fetch((TEXT_FIELD, s) for s in syllables if s)

            def typed(word: str) -> int:
                return min((frequencies(TEXT_FIELD, fold(s)) for s in syllable_forms(word)), default=0)

            def frequency(syllable: str) -> int:
                return int(statistics.vocabulary.get(fold_syllable(syllable), {}).get(syllable, 0))

            corrected = decode_query(query, typed, frequency)
            if corrected is not None:
                words = split_filters(parse_query(corrected))[0]
            if words is not None:
                typos = widen_typos(
                    words,
                    lambda folded: frequencies(TEXT_FIELD, folded) > 0,
                    statistics.speller.near,
                    alike=lambda typed, word: spelled_alike(typed, word, statistics.vocabulary),
                )
                if typos is not None:
                    words = typos.widened
        if words is None:
            words = All()
            sort = "newest" if sort == "relevance" else sort
        query_plan = plan(words)
        terms = highlight_terms(words)
        wanted = [*_plan_terms(query_plan.required), *(k for b in query_plan.bonus for k in _plan_terms(b))]
        wanted += [("exact_words", w) for w in query_plan.words]
        frequencies.fetch(wanted)
        matching = plan_filter(query_plan.required, frequencies)
        expression = both(matching.expression, filters_expression(filters))
        counted = {"q": "*", "filter_by": expression or EVERYTHING, "per_page": 0}
        if facets:
            counted |= {"facet_by": "source_key,month", "max_facet_values": 10_000}
        found = self._connection.search(counted)
        total_found = int(found["found"])
        full = total_found <= (FULL_CANDIDATES if matching.exact else FULL_PHRASE_CANDIDATES)
        keys = set(wanted)
        if full:
            candidates = self._fetch(expression or EVERYTHING, keys)
        else:
            candidates = self._proxy(expression or EVERYTHING, query_plan.required, keys, sort, limit)
        size, averages = self._size(statistics)
        ids = [str(c["id"]) for c in candidates]
        scorer = CandidateScorer(
            [decode_vectors(c, keys) for c in candidates],
            [dict(c.get("lengths", {})) for c in candidates],
            CollectionStatistics(size, averages, frequencies.known),
        )
        matches = scorer.evaluate(query_plan.required)
        total = len(matches) if full else total_found
        days = np.array([int(c.get("day", 0)) for c in candidates], dtype=np.int64)
        groups = statistics.groups if collapse and statistics.groups else None
        wanted_hits = limit if not groups else max(limit * 3, CANDIDATES)
        ranked: Iterable[tuple[float, int]]
        if sort == "relevance":
            ranked = rank(scorer, query_plan.bonus, matches, wanted_hits, query_plan.words)
        else:
            ranked = by_date(matches, days, newest=sort == "newest")
        matched_ids = {ids[d] for d in matches.ids.tolist()}
        shown = collapse_hits(ranked, ids.__getitem__, matched_ids.__contains__, groups, limit)
        stored = _StoredFields(self._connection, ids)
        if facets:
            counts = self._facets(candidates, matches, statistics) if full else self._facet_counts(found, statistics)
        else:
            counts = None
        if typos is not None:
            nearest = suggested(corrected or query, typos.nearest)
            suggestion: str | None = self._suggest(nearest, matches, stored, statistics) or nearest
        else:
            suggestion = self._suggest(corrected or query, matches, stored, statistics) if terms else None
        stored.prefetch(d for _score, d, _similar in shown)
        hits = [make_hit(stored(d), score, terms, int(days[d]), similar, body=None) for score, d, similar in shown]
        return SearchResult(query, total, hits, counts, suggestion, corrected)

    def _fetch(self, expression: str, keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
        """Every document the filter passes, with what scoring needs, in the order they were indexed."""
        buckets = sorted({bucket_of(f, t) for f, t in keys})
        include = ",".join(["id", "seq", "day", "source_key", "lengths", *(f"v{k}" for k in buckets)])
        found = list(self._connection.export({"filter_by": expression, "include_fields": include}))
        found.sort(key=lambda doc: int(doc.get("seq", 0)))
        return found

    def _proxy(
        self, expression: str, required: PlanNode, keys: set[tuple[str, str]], sort: str, limit: int
    ) -> list[dict[str, Any]]:
        """The best :data:`PROXY_CANDIDATES` matches (at least ``limit``) in
        Typesense's own orders: for relevance, its text match on the folded
        syllables (title first, then shorter clippings), topped up with the
        shortest matches (a query of alternatives or exclusions may match
        what the text match does not); by date, the dated ones newest (or
        oldest) first and the undated ones, which come last."""
        buckets = sorted({bucket_of(f, t) for f, t in keys})
        include = ",".join(["id", "seq", "day", "source_key", "lengths", *(f"v{k}" for k in buckets)])
        wanted = max(PROXY_CANDIDATES, limit)
        per_page = min(PAGE, wanted)
        common = {"q": "*", "filter_by": expression, "include_fields": include, "per_page": per_page}
        orders: list[dict[str, Any]] = []
        if sort == "relevance":
            syllables = list(dict.fromkeys(token(t) for f, t in _plan_terms(required) if f == TEXT_FIELD))
            if syllables:
                orders.append(
                    {
                        "q": " ".join(syllables),
                        "query_by": f"{term_field('title')},{term_field(TEXT_FIELD)}",
                        "query_by_weights": "2,1",
                        "num_typos": 0,
                        "prefix": "false",
                        "drop_tokens_threshold": 0,
                        "typo_tokens_threshold": 0,
                        "sort_by": f"_text_match:desc,{length_field(TEXT_FIELD)}:asc",
                    }
                )
            orders.append({"sort_by": f"{length_field(TEXT_FIELD)}:asc,seq:asc"})
        else:
            by_day = "day:asc" if sort == "oldest" else "day:desc"
            orders.append({"filter_by": both(expression, "day:>0"), "sort_by": f"{by_day},seq:asc"})
            orders.append({"filter_by": both(expression, "day:=0"), "sort_by": "seq:asc"})
        found: dict[str, dict[str, Any]] = {}
        pages = -(-wanted // per_page)
        for order in orders:
            if len(found) >= wanted and sort == "relevance":
                break
            searches = [{**common, **order, "page": p + 1} for p in range(pages)]
            for result in self._connection.searches(searches):
                for hit in result.get("hits", []):
                    found.setdefault(str(hit["document"]["id"]), hit["document"])
        return sorted(found.values(), key=lambda doc: int(doc.get("seq", 0)))

    def _facets(
        self, candidates: list[dict[str, Any]], matches: Matches, statistics: ArchiveStatistics
    ) -> dict[str, dict[str, int]]:
        """Counts by source and month of the matches among the candidates (all of them)."""
        sources: Counter[str] = Counter()
        months: Counter[str] = Counter()
        for d in matches.ids.tolist():
            doc = candidates[d]
            key = str(doc.get("source_key", NO_SOURCE))
            sources[_source_name(key, statistics)] += 1
            day = int(doc.get("day", 0))
            months[f"{day // 10000:04d}-{day // 100 % 100:02d}" if day else NO_VALUE] += 1
        return _ordered_facets(sources, months)

    def _facet_counts(self, found: dict[str, Any], statistics: ArchiveStatistics) -> dict[str, dict[str, int]]:
        """Counts by source and month, as Typesense counted them."""
        sources: Counter[str] = Counter()
        months: Counter[str] = Counter()
        for facet in found.get("facet_counts", []):
            for count in facet.get("counts", []):
                value, n = str(count["value"]), int(count["count"])
                if facet["field_name"] == "source_key":
                    sources[_source_name(value, statistics)] += n
                else:
                    months[value] += n
        return _ordered_facets(sources, months)

    def _suggest(
        self, query: str, matches: Matches, stored: _StoredFields, statistics: ArchiveStatistics
    ) -> str | None:
        def texts() -> Iterator[str]:
            for _score, docnum in top(matches, SUGGESTION_TEXTS):
                fields = stored(docnum)
                yield from (fields.get("title", ""), fields.get("lead", ""), fields.get("body", ""))

        return suggest(query, texts(), lambda folded: Counter(statistics.vocabulary.get(folded, {})))

    def search(self, query: str = "*", limit: int = 10, **filters: Any) -> list[Hit]:
        """The best ``limit`` hits for ``query`` (same options as :meth:`query`)."""
        return self.query(query, limit, **filters).hits

    def check(self) -> int:
        """Read what every search needs (the statistics, the collection's
        size) and return the number of clippings."""
        return self._size(self._current())[0]

    def _document(self, clipping_id: str) -> dict[str, Any]:
        if not isinstance(clipping_id, str):
            raise QueryError(f"the clipping id must be a string, not {type(clipping_id).__name__}")
        try:
            return self._connection.retrieve(clipping_id)
        except NotFound:
            raise ClippingNotFoundError(f"no clipping with id {clipping_id!r} in {self.path!r}") from None

    def show(self, clipping_id: str, query: str | None = None) -> ClippingView:
        """The whole clipping ``clipping_id``, as :meth:`clipsearch.search.Index.show` gives it."""
        if not isinstance(clipping_id, str):
            raise QueryError(f"the clipping id must be a string, not {type(clipping_id).__name__}")
        if query is None or (isinstance(query, str) and not query):
            terms = HighlightTerms(frozenset(), frozenset())
        else:
            terms = highlight_terms(parse_query(query))
        doc = self._document(clipping_id)
        title, lead, body = str(doc.get("title", "")), str(doc.get("lead", "")), str(doc.get("body", ""))
        return ClippingView(
            id=str(doc["id"]),
            path=restored(str(doc.get("path", ""))),
            title=title,
            date=date_of_day(int(doc.get("day", 0))),
            source=doc.get("source"),
            lead=lead,
            body=body,
            title_highlights=tuple(highlight_spans(title, terms)),
            lead_highlights=tuple(highlight_spans(lead, terms)),
            body_highlights=tuple(highlight_spans(body, terms)),
        )

    def similar(self, clipping_id: str, limit: int = 10, *, include_reprints: bool = False) -> SearchResult:
        """The clippings most like ``clipping_id``, as :meth:`clipsearch.search.Index.similar` finds them."""
        if not isinstance(clipping_id, str):
            raise QueryError(f"the clipping id must be a string, not {type(clipping_id).__name__}")
        limit = checked_limit(limit)
        statistics = self._current()
        doc = self._document(clipping_id)
        frequencies = _Frequencies(self._connection)
        size, averages = self._size(statistics)
        terms = key_terms(doc, size, frequencies.many)
        if not terms:
            return SearchResult(f"similar to {clipping_id}", 0, [])
        query = Or([Term(f, t, boost=w) for f, t, w in terms])
        excluded = {clipping_id} if include_reprints else set(statistics.groups.members_of(clipping_id))
        keys = {(f, t) for f, t, _w in terms}
        frequencies.fetch(keys)
        matching = plan_filter(query, frequencies)
        counted = [{"q": "*", "filter_by": matching.expression or EVERYTHING, "per_page": 0}]
        named = [m for m in sorted(excluded) if "`" not in m]
        if named:  # how many of the clippings left out match (the total leaves them out)
            members = ",".join(f"`{m}`" for m in named)
            id_filter = both(matching.expression, f"id:[{members}]")
            counted.append({"q": "*", "filter_by": id_filter, "per_page": min(PAGE, len(named))})
        results = self._connection.searches(counted)
        total_found = int(results[0]["found"])
        left_out = sum(1 for h in results[1]["hits"] if h["document"]["id"] in excluded) if named else 0
        if total_found <= (FULL_CANDIDATES if matching.exact else FULL_PHRASE_CANDIDATES):
            candidates = self._fetch(matching.expression or EVERYTHING, keys)
        else:
            candidates = self._proxy(matching.expression or EVERYTHING, query, keys, "relevance", limit)
        ids = [str(c["id"]) for c in candidates]
        scorer = CandidateScorer(
            [decode_vectors(c, keys) for c in candidates],
            [dict(c.get("lengths", {})) for c in candidates],
            CollectionStatistics(size, averages, frequencies.known),
        )
        found = scorer.evaluate(query)
        keep = np.array([ids[d] not in excluded for d in found.ids.tolist()], dtype=bool)
        matches = Matches(found.ids[keep], found.scores[keep])
        stored = _StoredFields(self._connection, ids)
        highlight = HighlightTerms(frozenset(), frozenset(t for f, t, _ in terms if f == TEXT_FIELD))
        days = [int(c.get("day", 0)) for c in candidates]
        best = top(matches, limit)
        stored.prefetch(d for _score, d in best)
        hits = [make_hit(stored(d), score, highlight, days[d]) for score, d in best]
        full = total_found <= (FULL_CANDIDATES if matching.exact else FULL_PHRASE_CANDIDATES)
        total = len(matches) if full else total_found - left_out
        return SearchResult(f"similar to {clipping_id}", total, hits)

    def summaries(self, clipping_ids: Iterable[str]) -> list[ClippingSummary]:
        """Id, path, title, date and source of each of ``clipping_ids`` the
        collection holds, in the order given."""
        ids = list(clipping_ids)
        if not all(isinstance(i, str) for i in ids):
            raise QueryError("clipping ids must be strings")
        found = []
        for clipping_id in ids:
            try:
                doc = self._connection.retrieve(clipping_id)
            except NotFound:
                continue
            found.append(
                ClippingSummary(
                    id=str(doc["id"]),
                    path=restored(str(doc.get("path", ""))),
                    title=str(doc.get("title", "")),
                    date=date_of_day(int(doc.get("day", 0))),
                    source=doc.get("source"),
                )
            )
        return found

    def stats(self) -> IndexStats:
        """What the collection holds, as :meth:`clipsearch.search.Index.stats` reports it
        (``size_bytes`` None: Typesense does not tell a collection's size)."""
        statistics = self._current()
        results = self._connection.searches(
            [
                {"q": "*", "per_page": 0, "facet_by": "source_key", "max_facet_values": 100_000},
                {"q": "*", "per_page": 0, "filter_by": "day:>0", "facet_by": "day", "max_facet_values": 1},
            ]
        )
        everything, dated = results
        total = int(everything["found"])
        sources: Counter[str] = Counter()
        without_source = 0
        for facet in everything.get("facet_counts", []):
            for count in facet.get("counts", []):
                if count["value"] == NO_SOURCE:
                    without_source += int(count["count"])
                else:
                    sources[_source_name(str(count["value"]), statistics)] += int(count["count"])
        day_stats: dict[str, Any] = next((f.get("stats", {}) for f in dated.get("facet_counts", [])), {})
        first = int(day_stats["min"]) if int(dated["found"]) and "min" in day_stats else 0
        last = int(day_stats["max"]) if int(dated["found"]) and "max" in day_stats else 0
        return IndexStats(
            index_dir=self.path,
            clippings=total,
            sources=dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
            first_date=date_of_day(first),
            last_date=date_of_day(last),
            without_date=total - int(dated["found"]),
            without_source=without_source,
            size_bytes=None,
            updated=statistics.updated,
        )


class _StoredFields:
    """The stored fields of candidates, fetched once each when asked for."""

    def __init__(self, connection: Connection, ids: list[str]) -> None:
        self.connection = connection
        self.ids = ids
        self.fields: dict[int, dict[str, Any]] = {}

    def prefetch(self, docnums: Iterable[int]) -> None:
        """Fetch the fields of several candidates in one request (ids that a
        filter cannot name, holding a backtick, are fetched one by one later)."""
        wanted = {self.ids[d]: d for d in docnums if d not in self.fields and "`" not in self.ids[d]}
        if not wanted:
            return
        names = list(wanted)
        searches = []
        for start in range(0, len(names), ID_BATCH):
            chunk = ",".join(f"`{i}`" for i in names[start : start + ID_BATCH])
            searches.append({"q": "*", "filter_by": f"id:[{chunk}]", "include_fields": STORED, "per_page": PAGE})
        for found in self.connection.searches(searches):
            for hit in found.get("hits", []):
                docnum = wanted.get(str(hit["document"]["id"]))  # the filter compares ids loosely: keep the exact ones
                if docnum is not None:
                    self.fields[docnum] = _stored(hit["document"])

    def __call__(self, docnum: int) -> dict[str, Any]:
        if docnum not in self.fields:
            self.fields[docnum] = _stored(self.connection.retrieve(self.ids[docnum]))
        return self.fields[docnum]


def _stored(doc: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in doc.items() if k in STORED.split(",") and v is not None}
    if "path" in fields:
        fields["path"] = restored(str(fields["path"]))
    return fields


def _source_name(key: str, statistics: ArchiveStatistics) -> str:
    if key == NO_SOURCE:
        return NO_VALUE
    return statistics.sources.get(key) or NO_VALUE


def _ordered_facets(sources: Counter[str], months: Counter[str]) -> dict[str, dict[str, int]]:
    return {
        "source": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        "month": dict(sorted(months.items(), key=lambda kv: (kv[0] == NO_VALUE, kv[0]))),
    }
