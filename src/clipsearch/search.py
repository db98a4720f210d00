"""Searching: ranking, hits with snippets, filters, facets, reprints.

A query is parsed (:mod:`clipsearch.query`), planned (:mod:`clipsearch.plan`)
and evaluated with every match scored (:mod:`clipsearch.fastscore`); the
best :data:`CANDIDATES` get the plan's bonuses, then the hits are read
(:mod:`clipsearch.stored`) with their snippets. The index is read through one
Whoosh index reader kept open (no Whoosh searcher: nothing here runs Whoosh's
matchers or collectors).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .blocks import BlockCursor, decode_postings
from .errors import ClippingNotFoundError, QueryError
from .fastscore import Matches, in_sorted
from .filters import Filters, day_number
from .index import INDEX_NAME, TEXT_FIELD, WORDS_FIELD, read_meta, stored_body
from .plan import EXACT_WEIGHT, AnyOf, Term, plan, query_syllables
from .plan import Sequence as PlanSequence
from .query import All, And, Node, Or, Phrase, Terms, parse_query, split_filters
from .segments import IndexFiles, VarBytesColumn, latest_generation, numeric_column, toc_path
from .snippets import HighlightTerms, Snippet, highlight_spans, make_snippet
from .stored import StoredFields
from .text import fold, has_diacritics

if TYPE_CHECKING:
    from .fastscore import Evaluator

__all__ = ["EXACT_WEIGHT", "SORTS", "ClippingView", "Hit", "Index", "IndexStats", "SearchResult", "open_index"]

#: How many of the best matches by the required part get the bonuses.
CANDIDATES = 100
#: Orders of the hits; a query without words (``*``, only filters) lists newest first.
SORTS = ("relevance", "newest", "oldest")
#: How many of the best matches give their text to "did you mean".
SUGGESTION_TEXTS = 10
#: The facet value of clippings without a date or a source.
NO_VALUE = "none"


@dataclass(frozen=True)
class Hit:
    """One matching clipping."""

    id: str
    path: str
    title: str
    date: dt.date | None
    source: str | None
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    title_highlights: tuple[tuple[int, int], ...] = ()
    #: Ids of near-duplicate reprints of this clipping that also matched, collapsed into it.
    similar: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (date as ISO ``yyyy-mm-dd`` or None)."""
        return {
            **_described(self),
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
            "similar": list(self.similar),
        }


def _described(item: Hit | ClippingView) -> dict[str, Any]:
    """The fields every JSON object about a clipping starts with."""
    return {
        "id": item.id,
        "path": item.path,
        "title": item.title,
        "date": item.date.isoformat() if item.date else None,
        "source": item.source,
    }


@dataclass(frozen=True)
class SearchResult:
    """The hits shown, the number of all matching clippings and, when asked
    for, facet counts over all of them: ``{"source": {name: n}, "month":
    {"yyyy-mm": n}}``, with ``"none"`` for clippings without one."""

    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, dict[str, int]] | None = None
    suggestion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "query": self.query,
            "total": self.total,
            "suggestion": self.suggestion,
            "hits": [h.to_dict() for h in self.hits],
        }
        if self.facets is not None:
            data["facets"] = self.facets
        return data


# ---------------------------------------------------------------------------
# Highlighting


def highlight_terms(node: Node) -> HighlightTerms:
    """The syllables to highlight: those of every positive term; those of a
    quoted phrase (and of no unquoted term) only where the phrase occurs."""
    exact: set[str] = set()
    folded: set[str] = set()
    loose: set[str] = set()
    phrases: set[tuple[str, ...]] = set()

    def walk(n: Node) -> None:
        if isinstance(n, (Terms, Phrase)):
            sylls = query_syllables(n.text)
            folds = tuple(fold(s) for s in sylls)
            folded.update(folds)
            exact.update(s for s in sylls if has_diacritics(s))
            if isinstance(n, Phrase) and len(sylls) > 1:
                phrases.add(folds)
            else:
                loose.update(folds)
        elif isinstance(n, (And, Or)):
            for c in n.children:
                walk(c)

    walk(node)
    in_phrases = {s for phrase in phrases for s in phrase}
    return HighlightTerms(frozenset(exact), frozenset(folded), frozenset(phrases), frozenset(in_phrases - loose))


# ---------------------------------------------------------------------------
# The index


class Index:
    """An open clipsearch index. Keeps the index's files open (memory-mapped,
    :mod:`clipsearch.segments`) between searches and opens them again when
    the index has changed. Use as a context manager or call :meth:`close`."""

    def __init__(self, index_dir: str | Path) -> None:
        self.path = Path(index_dir)
        read_meta(self.path)  # the versions, or a clear error
        self._version = self._index_version()
        self._files = IndexFiles(self.path, INDEX_NAME, self._version[0])
        self._lock = threading.Lock()
        self._cols: _Columns | None = None
        self._vocab: tuple[tuple[int, int], dict[str, dict[str, int]]] | None = None
        self._group_cache: _Groups | None = None
        self._eval: Evaluator | None = None
        self._stored_fields: StoredFields | None = None

    def __len__(self) -> int:
        """The number of clippings in the index."""
        with self._lock:
            self._refresh()
            return self._files.doc_count()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the index's files."""
        self._files.close()
        self._eval = self._cols = self._stored_fields = None

    def _index_version(self) -> tuple[int, int]:
        """The index's generation and when its table of contents was written:
        a rebuild starts the generations again, so the generation alone does
        not tell that the index changed."""
        generation = latest_generation(self.path, INDEX_NAME)
        try:
            written = os.stat(toc_path(self.path, INDEX_NAME, generation)).st_mtime_ns
        except OSError:  # replaced while being looked at: read again next time
            written = -1
        return generation, written

    def _refresh(self) -> None:
        # The new generation's files when the index has changed, opened before
        # the old ones are closed: if opening fails (during a rebuild), the old
        # ones still work.
        version = self._index_version()
        if version != self._version:
            files = IndexFiles(self.path, INDEX_NAME, version[0])
            self._files.close()
            self._files, self._version = files, version

    def _stored(self) -> StoredFields:
        if self._stored_fields is None or self._stored_fields.files is not self._files:
            self._stored_fields = StoredFields(self._files)
        return self._stored_fields

    def _columns(self) -> _Columns:
        if self._cols is None or self._cols.files is not self._files:
            self._cols = _Columns(self._files)
        return self._cols

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
    ) -> SearchResult:
        """Search; the result has the hits shown, the total matched and, with
        ``facets=True``, counts by source and month over all of them.

        ``source`` (one name or several) and ``since``/``until``
        (:class:`datetime.date` or ``dd/mm/yyyy``, ``yyyy-mm-dd``, a month or
        a year) narrow the matches, as do ``date:`` ranges in the query. A
        query of ``*`` or with only filters lists every match, newest first.
        ``sort`` is one of :data:`SORTS`. With ``collapse``, near-duplicate
        reprints (grouped at index time) show as one hit, the best placed, with
        the ids of the others that matched in its ``similar``; ``total`` and the
        facets still count every matching clipping."""
        if limit < 1:
            raise QueryError("the limit must be at least 1")
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
        words, q_since, q_until = split_filters(parse_query(query))
        filters = Filters.make(source, since, until).narrowed(q_since, q_until)
        if filters.since and filters.until and filters.since > filters.until:
            raise QueryError("the date range is empty")
        if words is None:
            words = All()
            sort = "newest" if sort == "relevance" else sort
        query_plan = plan(words)
        terms = highlight_terms(words)
        with self._lock:
            self._refresh()
            evaluator = self._evaluator()
            columns = self._columns()
            matches = evaluator.evaluate(query_plan.required)
            if filters.active:
                matches = _filter(matches, filters, columns)
            groups = self._groups() if collapse else None
            wanted = limit if not groups else max(limit * 3, CANDIDATES)
            ranked: Iterable[tuple[float, int]]
            if sort == "relevance":
                ranked = _rank(evaluator, query_plan.bonus, matches, wanted)
            else:
                ranked = _by_date(matches, columns.days, newest=sort == "newest")
            fields_of = _FieldsOf(self._stored())
            stored = _collapse(fields_of, self._files, ranked, matches, groups, limit)
            counts = _facets(self._stored(), columns, matches) if facets else None
            days = [int(columns.days[d]) for _f, _s, d, _sim in stored]
            suggestion = self._suggest(query, matches, fields_of) if terms else None
        hits = [
            _make_hit(fields, score, terms, day, similar, body=fields_of.body(d))
            for (fields, score, d, similar), day in zip(stored, days, strict=True)
        ]
        return SearchResult(query, len(matches), hits, counts, suggestion)

    def _evaluator(self) -> Evaluator:
        from .fastscore import Evaluator

        if self._eval is None or self._eval.files is not self._files:
            self._eval = Evaluator(self._files)
        return self._eval

    def _groups(self) -> _Groups:
        from .index import read_groups

        if self._group_cache is None or self._group_cache.version != self._version:
            self._group_cache = _Groups(self._version, read_groups(self.path))
        return self._group_cache

    def _suggest(self, query: str, matches: Matches, fields_of: _FieldsOf) -> str | None:
        """Suggestion ("did you mean"), see :mod:`clipsearch.suggest`. The texts are those
        of the best :data:`SUGGESTION_TEXTS` matches of the required part."""
        from .suggest import suggest

        if all(has_diacritics(s) or s.isdigit() for s in query_syllables(query)):
            return None
        texts: list[str] = []
        for _score, docnum in _top(matches, SUGGESTION_TEXTS):
            fields = fields_of(docnum)
            texts += [fields.get("title", ""), fields.get("lead", ""), fields_of.body(docnum)]
        # The vocabulary (160 kB of JSON at 80,000 clippings) is read only if
        # the matched texts leave a syllable's form open.
        return suggest(query, texts, lambda folded: Counter(self._vocabulary().get(folded, {})))

    def _vocabulary(self) -> dict[str, dict[str, int]]:
        from .index import read_vocabulary

        if self._vocab is None or self._vocab[0] != self._version:
            self._vocab = (self._version, read_vocabulary(self.path))
        return self._vocab[1]

    def search(self, query: str = "*", limit: int = 10, **filters: Any) -> list[Hit]:
        """The best ``limit`` hits for ``query`` (same options as :meth:`query`)."""
        return self.query(query, limit, **filters).hits

    def show(self, clipping_id: str, query: str | None = None) -> ClippingView:
        """The whole clipping ``clipping_id``; with ``query``, the spans of its
        words in title, lead and body. Raises :class:`ClippingNotFoundError`."""
        terms = highlight_terms(parse_query(query)) if query else HighlightTerms(frozenset(), frozenset())
        with self._lock:
            self._refresh()
            docnum = _document_number(self._files, clipping_id)
            if docnum is None:
                raise ClippingNotFoundError(f"no clipping with id {clipping_id!r} in {str(self.path)!r}")
            fields = self._stored()(docnum)
            day = int(self._columns().days[docnum])
        title, lead, body = fields.get("title", ""), fields.get("lead", ""), stored_body(fields)
        return ClippingView(
            id=clipping_id,
            path=fields.get("path", ""),
            title=title,
            date=_date(day),
            source=fields.get("source"),
            lead=lead,
            body=body,
            title_highlights=tuple(highlight_spans(title, terms)),
            lead_highlights=tuple(highlight_spans(lead, terms)),
            body_highlights=tuple(highlight_spans(body, terms)),
        )

    def similar(self, clipping_id: str, limit: int = 10, *, include_reprints: bool = False) -> SearchResult:
        """The clippings most like ``clipping_id``: its most distinctive words
        and syllables (weighted by zone and rarity) as one OR query. Its own
        near-duplicate reprints are left out unless ``include_reprints``."""
        if limit < 1:
            raise QueryError("the limit must be at least 1")
        with self._lock:
            self._refresh()
            docnum = _document_number(self._files, clipping_id)
            if docnum is None:
                raise ClippingNotFoundError(f"no clipping with id {clipping_id!r} in {str(self.path)!r}")
            fields = self._stored()(docnum)
            terms = _key_terms(self._files, fields)
            if not terms:
                return SearchResult(f"similar to {clipping_id}", 0, [])
            query = AnyOf([Term(f, t, boost=w) for f, t, w in terms])
            excluded = {docnum} | (set() if include_reprints else self._reprints_of(docnum))
            found = self._evaluator().evaluate(query)
            keep = ~in_sorted(found.ids, np.array(sorted(excluded), dtype=np.int64))
            matches = Matches(found.ids[keep], found.scores[keep])
            best = _top(matches, limit)
            days = self._columns().days
            stored_fields = self._stored()
            stored = [(stored_fields(d), score, int(days[d])) for score, d in best]
        highlight = HighlightTerms(frozenset(), frozenset(t for f, t, _ in terms if f == TEXT_FIELD))
        hits = [_make_hit(f, score, highlight, day) for f, score, day in stored]
        return SearchResult(f"similar to {clipping_id}", len(matches), hits)

    def _reprints_of(self, docnum: int) -> set[int]:
        """Document numbers of the near-duplicate reprints of ``docnum``."""
        clipping_id = self._stored()(docnum)["id"]
        members = self._groups().members_of(clipping_id)
        found = (_document_number(self._files, m) for m in members if m != clipping_id)
        return {d for d in found if d is not None}

    def stats(self) -> IndexStats:
        """What the index holds: clippings, sources, date range, clippings
        without date or source, size on disk and when it was last updated."""
        from .index import read_meta

        with self._lock:
            self._refresh()
            columns = self._columns()
            live = self._evaluator().live().tolist()
            by_key: Counter[str] = Counter(columns.key_names[int(columns.key_codes[d])] for d in live)
            first: dict[str, int] = {}
            for d in live:
                first.setdefault(columns.key_names[int(columns.key_codes[d])], d)
            stored_fields = self._stored()
            sources = Counter({stored_fields(first[k]).get("source") or k: n for k, n in by_key.items() if k})
            days = [int(columns.days[d]) for d in live if columns.days[d]]
        size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        return IndexStats(
            index_dir=str(self.path),
            clippings=len(live),
            sources=dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
            first_date=_date(min(days)) if days else None,
            last_date=_date(max(days)) if days else None,
            without_date=len(live) - len(days),
            without_source=by_key.get("", 0),
            size_bytes=size,
            updated=read_meta(self.path).get("updated"),
        )


@dataclass(frozen=True)
class ClippingView:
    """A whole stored clipping, with the spans of a query's words."""

    id: str
    path: str
    title: str
    date: dt.date | None
    source: str | None
    lead: str
    body: str
    title_highlights: tuple[tuple[int, int], ...] = ()
    lead_highlights: tuple[tuple[int, int], ...] = ()
    body_highlights: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            **_described(self),
            "lead": self.lead,
            "body": self.body,
            "highlights": {
                "title": [list(s) for s in self.title_highlights],
                "lead": [list(s) for s in self.lead_highlights],
                "body": [list(s) for s in self.body_highlights],
            },
        }


@dataclass(frozen=True)
class IndexStats:
    """What :meth:`Index.stats` reports."""

    index_dir: str
    clippings: int
    sources: dict[str, int]
    first_date: dt.date | None
    last_date: dt.date | None
    without_date: int
    without_source: int
    size_bytes: int
    updated: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates ISO)."""
        return {
            "index_dir": self.index_dir,
            "clippings": self.clippings,
            "sources": self.sources,
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "without_date": self.without_date,
            "without_source": self.without_source,
            "size_bytes": self.size_bytes,
            "updated": self.updated,
        }


#: How many of a clipping's words and syllables make its "similar" query.
SIMILAR_WORDS, SIMILAR_SYLLABLES = 12, 8


def _key_terms(files: IndexFiles, fields: dict[str, Any]) -> list[tuple[str, str, float]]:
    """``(field, term, weight)``: the clipping's pyvi words and syllables with
    the highest zone-weighted frequency x idf, among those in other clippings
    too but not in all."""
    from .zones import ZONE_BOOSTS, analyse_syllables, analyse_words, join_zones

    value = join_zones(fields.get("title", ""), fields.get("lead", ""), stored_body(fields))
    total = max(1, files.doc_count_all())
    chosen: list[tuple[str, str, float]] = []
    counts: dict[str, defaultdict[str, float]] = {WORDS_FIELD: defaultdict(float), TEXT_FIELD: defaultdict(float)}
    for zone, word, _start, _end in analyse_words(value):
        counts[WORDS_FIELD][word] += ZONE_BOOSTS[zone]
    for zone, _pos, folded, _exact, _start, _end in analyse_syllables(value):
        if folded.isalpha():
            counts[TEXT_FIELD][folded] += ZONE_BOOSTS[zone]
    for field_name, keep in ((WORDS_FIELD, SIMILAR_WORDS), (TEXT_FIELD, SIMILAR_SYLLABLES)):
        scored = []
        for term, tf in counts[field_name].items():
            df = files.doc_frequency(field_name, term)
            if 2 <= df < total:
                scored.append((tf * math.log(total / df), term))
        scored.sort(key=lambda st: (-st[0], st[1]))
        top = scored[:keep]
        if top:
            high = top[0][0]
            chosen += [(field_name, term, round(weight / high, 4)) for weight, term in top]
    return chosen


class _Groups:
    """The reprint groups of one version of the index (``groups.json``)."""

    def __init__(self, version: tuple[int, int], groups: dict[str, list[str]]) -> None:
        self.version = version
        self.groups = groups
        self.group_of = {member: rep for rep, members in groups.items() for member in members}

    def __bool__(self) -> bool:
        return bool(self.groups)

    def members_of(self, clipping_id: str) -> list[str]:
        rep = self.group_of.get(clipping_id)
        return self.groups[rep] if rep is not None else [clipping_id]


class _FieldsOf:
    """A query's reads of stored fields, each document read (and its body
    decompressed) once: the hits and "did you mean" share their documents."""

    def __init__(self, stored: StoredFields) -> None:
        self._stored = stored
        self._fields: dict[int, dict[str, Any]] = {}
        self._bodies: dict[int, str] = {}

    def __call__(self, docnum: int) -> dict[str, Any]:
        fields = self._fields.get(docnum)
        if fields is None:
            fields = self._fields[docnum] = self._stored(docnum)
        return fields

    def body(self, docnum: int) -> str:
        body = self._bodies.get(docnum)
        if body is None:
            body = self._bodies[docnum] = stored_body(self(docnum))
        return body


def _collapse(
    fields_of: _FieldsOf,
    files: IndexFiles,
    ranked: Iterable[tuple[float, int]],
    matches: Matches,
    groups: _Groups | None,
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
                other = _document_number(files, member)
                if other is not None and _has(matches.ids, other):
                    others.append(member)
        shown.append((fields, score, docnum, tuple(others)))
    return shown


def _has(ascending: Any, value: int) -> bool:
    """Whether the ascending array holds ``value``."""
    at = int(np.searchsorted(ascending, value))
    return at < len(ascending) and int(ascending[at]) == value


class _Columns:
    """Per-document values of one generation of the index as arrays by
    document number: ``days`` (``yyyymmdd``, 0 for none), read at once from
    each segment's column; and, on first use, a code per source key
    (``key_codes``, names in ``key_names``; code 0 is no source)."""

    def __init__(self, files: IndexFiles) -> None:
        self.files = files
        self.count = files.doc_count_all()
        self.days = np.zeros(self.count, dtype=np.int64)
        day = files.fields.get("day")
        if day is not None and day.typecode:
            for segment, offset in files.leaves:
                days = numeric_column(segment.column("day"), day.typecode, segment.doc_count_all)
                self.days[offset : offset + len(days)] = days
        self._codes: npt.NDArray[np.int64] | None = None
        self._names: list[str] = [""]
        self._code_of: dict[str, int] = {"": 0}

    @property
    def key_codes(self) -> npt.NDArray[np.int64]:
        return self._source_keys()

    @property
    def key_names(self) -> list[str]:
        self._source_keys()
        return self._names

    @property
    def code_of(self) -> dict[str, int]:
        self._source_keys()
        return self._code_of

    def _source_keys(self) -> npt.NDArray[np.int64]:
        if self._codes is None:
            codes = np.zeros(self.count, dtype=np.int64)
            for segment, offset in self.files.leaves:
                buf = segment.column("source_key")
                if buf is None:
                    continue
                column = VarBytesColumn(buf, segment.doc_count_all)
                for local in range(len(column)):
                    key = column[local].decode("utf-8")
                    code = self._code_of.get(key)
                    if code is None:
                        code = self._code_of[key] = len(self._names)
                        self._names.append(key)
                    codes[offset + local] = code
            self._codes = codes
        return self._codes


def _document_number(files: IndexFiles, clipping_id: str) -> int | None:
    """The document number of the clipping ``clipping_id`` (not deleted), or None."""
    for segment, offset in files.leaves:
        postings = segment.postings("id", clipping_id)
        if postings is None:
            continue
        ids = decode_postings(postings).ids.tolist() if isinstance(postings, BlockCursor) else postings.ids
        for local in ids:
            if local not in segment.deleted:
                return int(local) + offset
    return None


def _top(matches: Matches, limit: int) -> list[tuple[float, int]]:
    """The ``limit`` best ``(score, docnum)``, ties broken by document number."""
    n = len(matches)
    if n == 0 or limit <= 0:
        return []
    scores, ids = matches.scores, matches.ids
    if n > limit:
        kth = np.partition(scores, n - limit)[n - limit]
        keep = np.flatnonzero(scores >= kth)
        scores, ids = scores[keep], ids[keep]
    order = np.lexsort((ids, -scores))[:limit]
    return list(zip(scores[order].tolist(), ids[order].tolist(), strict=True))


def _rank(
    evaluator: Evaluator, bonus: tuple[Term | PlanSequence, ...], matches: Matches, limit: int
) -> list[tuple[float, int]]:
    """Relevance order: the best :data:`CANDIDATES` by the required part,
    re-scored with the bonuses."""
    scores = {d: s for s, d in _top(matches, max(CANDIDATES, limit))}
    for docnum, extra in _bonus_scores(evaluator, bonus, sorted(scores)).items():
        scores[docnum] += extra
    return [(scores[d], d) for d in sorted(scores, key=lambda d: (-scores[d], d))[:limit]]


def _by_date(matches: Matches, days: Any, newest: bool) -> Iterator[tuple[float, int]]:
    """Matches by date (newest or oldest first), undated ones last, then by score."""
    match_days = days[matches.ids]
    order = np.lexsort((matches.ids, -matches.scores, -match_days if newest else match_days, match_days == 0))
    return zip(matches.scores[order].tolist(), matches.ids[order].tolist(), strict=True)


def _filter(matches: Matches, filters: Filters, columns: _Columns) -> Matches:
    """The matches that pass ``filters``."""
    keep = np.ones(len(matches), dtype=bool)
    days = columns.days[matches.ids]
    if filters.sources:
        allowed = [columns.code_of[k] for k in filters.sources if k in columns.code_of]
        keep &= in_sorted(columns.key_codes[matches.ids], np.array(sorted(allowed), dtype=np.int64))
    if filters.since or filters.until:
        keep &= days > 0
        if filters.since:
            keep &= days >= day_number(filters.since)
        if filters.until:
            keep &= days <= day_number(filters.until)
    return Matches(matches.ids[keep], matches.scores[keep])


def _facets(stored: StoredFields, columns: _Columns, matches: Matches) -> dict[str, dict[str, int]]:
    """Counts by source (its name as first indexed) and by month over all matches."""
    codes = columns.key_codes[matches.ids]
    sources: Counter[str] = Counter()
    for code, count in zip(*np.unique(codes, return_counts=True), strict=True):
        key = columns.key_names[int(code)]
        if not key:
            sources[NO_VALUE] += int(count)
            continue
        first = int(matches.ids[np.argmax(codes == code)])
        sources[stored(first).get("source") or NO_VALUE] += int(count)
    months: dict[str, int] = {}
    for month, count in zip(*np.unique(columns.days[matches.ids] // 100, return_counts=True), strict=True):
        months[f"{month // 100:04d}-{month % 100:02d}" if month else NO_VALUE] = int(count)
    return {
        "source": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        "month": dict(sorted(months.items(), key=lambda kv: (kv[0] == NO_VALUE, kv[0]))),
    }


def _bonus_scores(evaluator: Evaluator, bonus: tuple[Term | PlanSequence, ...], docnums: list[int]) -> dict[int, float]:
    """The score each bonus term or sequence gives each of ``docnums``
    (ascending), from posting arrays and the candidates' positions."""
    extra: dict[int, float] = {}
    if not docnums:
        return extra
    ids = np.array(docnums, dtype=np.int64)
    for query in bonus:
        if isinstance(query, PlanSequence):
            scores = evaluator.phrase_scores_at(query.fieldname, list(query.words), ids) * query.boost
        else:
            scores = evaluator.term_scores_at(query.fieldname, query.text, ids) * query.boost
        for docnum, score in zip(docnums, scores.tolist(), strict=True):
            if score:
                extra[docnum] = extra.get(docnum, 0.0) + score
    return extra


def _date(day: int) -> dt.date | None:
    return dt.date(day // 10000, day // 100 % 100, day % 100) if day else None


def _make_hit(
    fields: dict[str, Any],
    score: float,
    terms: HighlightTerms,
    day: int,
    similar: tuple[str, ...] = (),
    body: str | None = None,
) -> Hit:
    """A hit from stored fields (``body``: the body if already decompressed)."""
    body = stored_body(fields) if body is None else body
    snippet = _best_snippet(fields.get("lead", ""), body, terms)
    title = fields.get("title", "")
    return Hit(
        id=fields["id"],
        path=fields.get("path", ""),
        title=title,
        date=_date(day),
        source=fields.get("source"),
        score=float(score),
        snippet=snippet.text,
        highlights=snippet.highlights,
        title_highlights=tuple(highlight_spans(title, terms)),
        similar=similar,
    )


def _best_snippet(lead: str, body: str, terms: HighlightTerms) -> Snippet:
    first = make_snippet(body or lead, terms)
    if first.highlights or not body or not lead:
        return first
    second = make_snippet(lead, terms)
    return second if second.highlights else first


def open_index(index_dir: str | Path = "index") -> Index:
    """Open the index in ``index_dir`` for searching."""
    return Index(index_dir)
