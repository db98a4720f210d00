"""The search API: :func:`open_index` gives an :class:`Index`, whose methods
return :class:`SearchResult` (with :class:`Hit`), :class:`ClippingView` and
:class:`IndexStats`.

A query is parsed (:mod:`clipsearch.searching.syntax`), planned
(:mod:`clipsearch.searching.plan`), evaluated with every match scored
(:mod:`clipsearch.searching.scoring`), filtered
(:mod:`clipsearch.searching.filters`), ranked
(:mod:`clipsearch.searching.ranking`) and collapsed by reprint group
(:mod:`clipsearch.reprints.collapse`); then the hits are read
(:mod:`clipsearch.reading.stored`) with their snippets
(:mod:`clipsearch.searching.highlight`), and "did you mean" is asked of
:mod:`clipsearch.searching.spelling`. "Similar" searches a clipping's key
terms (:mod:`clipsearch.searching.similar`). The index's files are read by
:mod:`clipsearch.reading`, without Whoosh.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clipsearch.errors import ClippingNotFoundError, ClipsearchError, QueryError
from clipsearch.reading.columns import Columns
from clipsearch.reading.segments import UNREADABLE, IndexFiles, open_index_files
from clipsearch.reading.stored import FieldsCache, StoredFields
from clipsearch.reading.toc import latest_generation, toc_path
from clipsearch.reprints.collapse import ReprintGroups, collapse_hits
from clipsearch.results import ClippingSummary, ClippingView, Hit, IndexStats, SearchResult, date_of_day, make_hit
from clipsearch.schema import (
    GROUPS_FILE,
    INDEX_NAME,
    SPELLING_FILE,
    TEXT_FIELD,
    VOCABULARY_FILE,
    damaged,
    read_groups,
    read_meta,
    read_spelling,
    read_vocabulary,
    stored_body,
)
from clipsearch.searching.correction import decode_query
from clipsearch.searching.filters import facet_counts, filter_matches
from clipsearch.searching.highlight import HighlightTerms, highlight_spans, highlight_terms
from clipsearch.searching.plan import Or, Term, plan
from clipsearch.searching.ranking import CANDIDATES, by_date, rank, top
from clipsearch.searching.request import SORTS, checked_limit, read_request
from clipsearch.searching.scoring import Evaluator, Matches
from clipsearch.searching.similar import key_terms
from clipsearch.searching.spelling import suggest
from clipsearch.searching.syntax import All, Node, parse_query, split_filters
from clipsearch.searching.typos import Speller, Typos, spelled_alike, suggested, widen_typos
from clipsearch.sorted_arrays import contains, in_sorted
from clipsearch.text.fold import fold, fold_syllable
from clipsearch.text.syllables import syllable_forms

__all__ = ["SORTS", "ClippingSummary", "ClippingView", "Hit", "Index", "IndexStats", "SearchResult", "open_index"]

#: How many of the best matches give their text to "did you mean".
SUGGESTION_TEXTS = 10
#: Results an :class:`Index` keeps for searches asked again (a server's users
#: repeat one another, and each page of results runs its query again).
RESULT_CACHE = 256


class Index:
    """An open clipsearch index. Keeps the index's files open (memory-mapped,
    :mod:`clipsearch.reading.segments`) between searches and opens them again when
    the index has changed. Use as a context manager or call :meth:`close`."""

    def __init__(self, index_dir: str | Path) -> None:
        if not isinstance(index_dir, str | bytes | os.PathLike):
            raise TypeError(f"the index folder must be a path, not {type(index_dir).__name__}")
        self.path = Path(os.fsdecode(index_dir))
        self._closed = False
        self._meta = read_meta(self.path)  # the versions, or a clear error
        self._lock = threading.Lock()
        self._files = self._open_files()
        self._version = self._index_version(self._files)
        self._cols: Columns | None = None
        self._vocab: tuple[object, dict[str, dict[str, int]]] | None = None
        self._group_cache: ReprintGroups | None = None
        self._eval: Evaluator | None = None
        self._stored_fields: StoredFields | None = None
        self._results: OrderedDict[Hashable, SearchResult] = OrderedDict()
        self._spelling: tuple[object, Speller] | None = None
        self._checks = 0

    def __len__(self) -> int:
        """The number of clippings in the index."""
        with self._reading():
            return self._files.doc_count()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the index's files; the index cannot be searched after."""
        self._closed = True
        self._files.close()
        self._eval = self._cols = self._stored_fields = None

    def _open_files(self) -> IndexFiles:
        return open_index_files(self.path, INDEX_NAME, checksums_required=bool(self._meta.get("checksums")))

    def _index_version(self, files: IndexFiles | None = None) -> tuple[int, int, int, int]:
        """The index's latest generation (or that of ``files``) and its table
        of contents' time, inode and size: a rebuild, or another index moved
        into the folder, starts the generations again, so the generation
        alone does not tell that the index changed."""
        generation = files.generation if files is not None else latest_generation(self.path, INDEX_NAME)
        try:
            stat = os.stat(toc_path(self.path, INDEX_NAME, generation))
        except OSError:  # replaced while being looked at: read again next time
            return generation, -1, -1, -1
        return generation, stat.st_mtime_ns, stat.st_ino, stat.st_size

    def _refresh(self) -> None:
        # The new generation's files when the index has changed, opened before
        # the old ones are closed: if opening fails, the old ones still work.
        if self._index_version() != self._version:
            meta = read_meta(self.path)
            self._meta = meta
            files = self._open_files()
            self._files.close()
            self._files, self._version = files, self._index_version(files)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Hold the lock on the open files (opening a newer generation if
        there is one). Bytes that fail to decode are checked against the
        index's checksums: damage is :class:`IndexDamagedError`, naming the
        file; anything else is raised as it is."""
        with self._lock:
            if self._closed:
                raise ClipsearchError(f"the index at {str(self.path)!r} was closed")
            self._refresh()
            self._files.check_sizes()
            try:
                yield
            except UNREADABLE:
                if self._files.has_checksums:
                    self._files.verify(full=True)
                raise

    def _stored(self) -> StoredFields:
        if self._stored_fields is None or self._stored_fields.files is not self._files:
            self._stored_fields = StoredFields(self._files)
        return self._stored_fields

    def _columns(self) -> Columns:
        if self._cols is None or self._cols.files is not self._files:
            self._cols = Columns(self._files)
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
        exact_input: bool = False,
    ) -> SearchResult:
        """Search; the result has the hits shown, the total matched and, with
        ``facets=True``, counts by source and month over all of them.

        A word the index does not hold as typed, whose keys spell in Telex or
        VNI a syllable it does hold (``vawn``, ``va8n``: ``văn``), is searched
        as that syllable, and ``corrected`` gives the query searched; not with
        ``exact_input`` (nor inside quotes).

        ``source`` (one name or several) and ``since``/``until``
        (:class:`datetime.date` or ``dd/mm/yyyy``, ``yyyy-mm-dd``, a month or
        a year) narrow the matches, as do ``date:`` ranges in the query. A
        query of ``*`` or with only filters lists every match, newest first.
        ``sort`` is one of :data:`SORTS`. With ``collapse``, near-duplicate
        reprints (grouped at index time) show as one hit, the best placed, with
        the ids of the others that matched in its ``similar``; ``total`` and the
        facets still count every matching clipping."""
        limit = checked_limit(limit)
        words, filters = read_request(query, sort, source, since, until)
        asked = (query, limit, filters, sort, facets, collapse, exact_input)
        with self._reading():
            key = self._result_key(asked, collapse)
            if (cached := self._results.get(key)) is not None:
                self._results.move_to_end(key)
                return _copy(cached)
            corrected = typos = None
            if words is not None and not exact_input:
                corrected = self._decoded(query)
                if corrected is not None:
                    words = split_filters(parse_query(corrected))[0]
                typos = self._typos(words) if words is not None else None
                if typos is not None:
                    words = typos.widened
            if words is None:
                words = All()
                sort = "newest" if sort == "relevance" else sort
            query_plan = plan(words)
            terms = highlight_terms(words)
            evaluator = self._evaluator()
            columns = self._columns()
            matches = evaluator.evaluate(query_plan.required)
            if filters.active:
                matches = filter_matches(matches, filters, columns)
            groups = self._groups() if collapse else None
            wanted = limit if not groups else max(limit * 3, CANDIDATES)
            ranked: Iterable[tuple[float, int]]
            if sort == "relevance":
                ranked = rank(evaluator, query_plan.bonus, matches, wanted, query_plan.words)
            else:
                ranked = by_date(matches, columns.days, newest=sort == "newest")
            fields_of = FieldsCache(self._stored())
            files = self._files

            def matched(clipping_id: str) -> bool:
                docnum = files.document_number(clipping_id)
                return docnum is not None and contains(matches.ids, docnum)

            shown = collapse_hits(ranked, lambda d: str(fields_of(d)["id"]), matched, groups, limit)
            stored = [(fields_of(d), score, d, similar) for score, d, similar in shown]
            counts = facet_counts(self._stored(), columns, matches) if facets else None
            days = [int(columns.days[d]) for _f, _s, d, _sim in stored]
            if typos is not None:  # the nearest words, with the diacritics the matches give them
                nearest = suggested(corrected or query, typos.nearest)
                suggestion: str | None = self._suggest(nearest, matches, fields_of) or nearest
            else:
                suggestion = self._suggest(corrected or query, matches, fields_of) if terms else None
            bodies = [fields_of.body(d) for _f, _s, d, _sim in stored]
        hits = [
            make_hit(fields, score, terms, day, similar, body=body)
            for (fields, score, _d, similar), day, body in zip(stored, days, bodies, strict=True)
        ]
        result = SearchResult(query, len(matches), hits, counts, suggestion, corrected)
        with self._lock:
            self._results[key] = _copy(result)
            while len(self._results) > RESULT_CACHE:
                self._results.popitem(last=False)
        return result

    def _decoded(self, query: str) -> str | None:
        """``query`` with its keystroke words decoded, or None (:func:`decode_query`); under the lock."""
        files = self._files

        def typed(word: str) -> int:
            return min((files.doc_frequency(TEXT_FIELD, fold(s)) for s in syllable_forms(word)), default=0)

        def frequency(syllable: str) -> int:
            return int(self._vocabulary().get(fold_syllable(syllable), {}).get(syllable, 0))

        return decode_query(query, typed, frequency)

    def _result_key(self, asked: Hashable, collapse: bool) -> Hashable:
        """What a kept result is found by: the question, and the versions of
        the files its answer was read from (held under the lock)."""
        groups_key = self._statistics_key(GROUPS_FILE) if collapse else None
        vocabulary_key = self._statistics_key(VOCABULARY_FILE)
        return (self._version, groups_key, vocabulary_key, self._spelling_key(), asked)

    def _typos(self, words: Node) -> Typos | None:
        """The parsed query ``words`` with its typos widened (:func:`widen_typos`), or None; under the lock."""
        files = self._files
        return widen_typos(
            words,
            lambda folded: files.doc_frequency(TEXT_FIELD, folded) > 0,
            lambda folded: self._speller().near(folded),
            alike=lambda typed, word: spelled_alike(typed, word, self._vocabulary()),
        )

    def _spelling_key(self) -> object:
        try:
            stat = os.stat(self.path / SPELLING_FILE)
        except FileNotFoundError:  # an index written before it: no typo tolerance
            return None
        except OSError as exc:
            raise damaged(self.path, f"file {SPELLING_FILE} cannot be read: {exc.strerror or exc}") from None
        return (self._version, stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _speller(self) -> Speller:
        key = self._spelling_key()
        if self._spelling is None or self._spelling[0] != key:
            words = read_spelling(self.path, self._meta.get("index_id")) if key is not None else {}
            self._spelling = (key, Speller(words))
        return self._spelling[1]

    def _evaluator(self) -> Evaluator:
        if self._eval is None or self._eval.files is not self._files:
            self._eval = Evaluator(self._files)
        return self._eval

    def _statistics_key(self, name: str) -> object:
        """What tells that a statistics file changed: the index's version and
        the file's own (it is rewritten after each commit)."""
        try:
            stat = os.stat(self.path / name)
        except FileNotFoundError:
            if self._meta.get("statistics"):
                raise damaged(self.path, f"file {name} is missing") from None
            return (self._version, None)
        except OSError as exc:  # a loop of links, for one
            raise damaged(self.path, f"file {name} cannot be read: {exc.strerror or exc}") from None
        return (self._version, stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _groups(self) -> ReprintGroups:
        key = self._statistics_key(GROUPS_FILE)
        if self._group_cache is None or self._group_cache.version != key:
            self._group_cache = ReprintGroups(key, read_groups(self.path, self._meta.get("index_id")))
        return self._group_cache

    def _suggest(self, query: str, matches: Matches, fields_of: FieldsCache) -> str | None:
        """Suggestion ("did you mean", :mod:`clipsearch.searching.spelling`)
        from the texts of the best :data:`SUGGESTION_TEXTS` matches of the
        required part and, for the syllables they leave open, the index's
        vocabulary. Neither is read for a query typed with all its diacritics."""

        def texts() -> Iterator[str]:
            for _score, docnum in top(matches, SUGGESTION_TEXTS):
                fields = fields_of(docnum)
                yield from (fields.get("title", ""), fields.get("lead", ""), fields_of.body(docnum))

        return suggest(query, texts(), lambda folded: Counter(self._vocabulary().get(folded, {})))

    def _vocabulary(self) -> dict[str, dict[str, int]]:
        key = self._statistics_key(VOCABULARY_FILE)
        if self._vocab is None or self._vocab[0] != key:
            self._vocab = (key, read_vocabulary(self.path, self._meta.get("index_id")))
        return self._vocab[1]

    def check(self) -> int:
        """Read what every search needs, as the index is now (never from the
        results kept for repeated searches): its newest files, the reprint
        groups, and the stored fields and date of one document (another at
        each call, so that checks in turn read the whole column); the number
        of clippings. Raises what a search would
        (:class:`~clipsearch.errors.IndexDamagedError`, ...)."""
        with self._reading():
            self._groups()
            live = self._evaluator().live()
            if len(live):
                self._checks += 1
                docnum = int(live[(self._checks * 7919) % len(live)])
                self._stored()(docnum)
                int(self._columns().days[docnum])
            return self._files.doc_count()

    def search(self, query: str = "*", limit: int = 10, **filters: Any) -> list[Hit]:
        """The best ``limit`` hits for ``query`` (same options as :meth:`query`)."""
        return self.query(query, limit, **filters).hits

    def show(self, clipping_id: str, query: str | None = None) -> ClippingView:
        """The whole clipping ``clipping_id``; with ``query``, the spans of its
        words in title, lead and body. Raises :class:`ClippingNotFoundError`."""
        if not isinstance(clipping_id, str):
            raise QueryError(f"the clipping id must be a string, not {type(clipping_id).__name__}")
        if query is None or (isinstance(query, str) and not query):
            terms = HighlightTerms(frozenset(), frozenset())
        else:
            terms = highlight_terms(parse_query(query))  # a QueryError for a query that is not a string
        with self._reading():
            docnum = self._files.document_number(clipping_id)
            if docnum is None:
                raise ClippingNotFoundError(f"no clipping with id {clipping_id!r} in {str(self.path)!r}")
            fields = self._stored()(docnum)
            day = int(self._columns().days[docnum])
            title, lead, body = fields.get("title", ""), fields.get("lead", ""), stored_body(fields)
        return ClippingView(
            id=fields["id"],
            path=fields.get("path", ""),
            title=title,
            date=date_of_day(day),
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
        if not isinstance(clipping_id, str):
            raise QueryError(f"the clipping id must be a string, not {type(clipping_id).__name__}")
        limit = checked_limit(limit)
        with self._reading():
            docnum = self._files.document_number(clipping_id)
            if docnum is None:
                raise ClippingNotFoundError(f"no clipping with id {clipping_id!r} in {str(self.path)!r}")
            fields = self._stored()(docnum)
            files = self._files
            terms = key_terms(fields, files.doc_count_all(), lambda f, ts: [files.doc_frequency(f, t) for t in ts])
            if not terms:
                return SearchResult(f"similar to {clipping_id}", 0, [])
            query = Or([Term(f, t, boost=w) for f, t, w in terms])
            excluded = {docnum} | (set() if include_reprints else self._reprints_of(docnum))
            found = self._evaluator().evaluate(query)
            keep = ~in_sorted(found.ids, np.array(sorted(excluded), dtype=np.int64))
            matches = Matches(found.ids[keep], found.scores[keep])
            best = top(matches, limit)
            days = self._columns().days
            stored_fields = self._stored()
            stored = [(stored_fields(d), score, int(days[d])) for score, d in best]
        highlight = HighlightTerms(frozenset(), frozenset(t for f, t, _ in terms if f == TEXT_FIELD))
        hits = [make_hit(f, score, highlight, day) for f, score, day in stored]
        return SearchResult(f"similar to {clipping_id}", len(matches), hits)

    def summaries(self, clipping_ids: Iterable[str]) -> list[ClippingSummary]:
        """Id, path, title, date and source of each of ``clipping_ids`` that
        the index holds, in the order given (an id it does not hold is left
        out): what a list of clippings shows, without their texts."""
        ids = list(clipping_ids)
        if not all(isinstance(i, str) for i in ids):
            raise QueryError("clipping ids must be strings")
        with self._reading():
            stored_fields = self._stored()
            days = self._columns().days
            found = [(d, stored_fields(d)) for d in map(self._files.document_number, ids) if d is not None]
            return [
                ClippingSummary(
                    id=fields["id"],
                    path=fields.get("path", ""),
                    title=fields.get("title", ""),
                    date=date_of_day(int(days[d])),
                    source=fields.get("source"),
                )
                for d, fields in found
            ]

    def _reprints_of(self, docnum: int) -> set[int]:
        """Document numbers of the near-duplicate reprints of ``docnum``."""
        clipping_id = self._stored()(docnum)["id"]
        members = self._groups().members_of(clipping_id)
        found = (self._files.document_number(m) for m in members if m != clipping_id)
        return {d for d in found if d is not None}

    def stats(self) -> IndexStats:
        """What the index holds: clippings, sources, date range, clippings
        without date or source, size on disk and when it was last updated."""
        with self._reading():
            columns = self._columns()
            live = self._evaluator().live().tolist()
            by_key: Counter[str] = Counter(columns.key_names[int(columns.key_codes[d])] for d in live)
            first: dict[str, int] = {}
            for d in live:
                first.setdefault(columns.key_names[int(columns.key_codes[d])], d)
            stored_fields = self._stored()
            sources = Counter({stored_fields(first[k]).get("source") or k: n for k, n in by_key.items() if k})
            days = [int(columns.days[d]) for d in live if columns.days[d]]
        size = _folder_size(self.path)
        return IndexStats(
            index_dir=str(self.path),
            clippings=len(live),
            sources=dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
            first_date=date_of_day(min(days)) if days else None,
            last_date=date_of_day(max(days)) if days else None,
            without_date=len(live) - len(days),
            without_source=by_key.get("", 0),
            size_bytes=size,
            updated=self._meta.get("updated"),
        )


def _copy(result: SearchResult) -> SearchResult:
    """A result whose lists and dicts are its own (hits are immutable)."""
    facets = {name: dict(counts) for name, counts in result.facets.items()} if result.facets is not None else None
    return dataclasses.replace(result, hits=list(result.hits), facets=facets)


def _folder_size(folder: Path) -> int:
    """The bytes of the files in ``folder`` (a file removed meanwhile by a commit counts for nothing)."""
    size = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    size += entry.stat(follow_symlinks=False).st_size
    return size


def open_index(index_dir: str | Path = "index") -> Index:
    """Open the index in ``index_dir`` for searching."""
    return Index(index_dir)
