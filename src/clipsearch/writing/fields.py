"""The fields of a clipsearch index and the Whoosh analysis that fills them,
built on :mod:`clipsearch.text`.

A clipping's searchable text is one string of zones (title, lead, body)
joined by :data:`~clipsearch.text.zones.ZONE_MARK`. It is normalised and
split into syllables once (shared by several fields), segmented into words by
pyvi's model once, and five tokenizers read that analysis:

* :class:`SyllableTokenizer` -> ``text``: every syllable in its folded form
  (``van``), with positions (for phrases, across any segmentation) and a
  boost by zone, so one field ranks title over lead over body (BM25F's
  weighted term frequency);
* :class:`ExactTokenizer` -> ``exact``: the exact form (``văn``) of every
  syllable that has diacritics, for ranking exact matches first;
* :class:`WordTokenizer` -> ``words``: the folded multi-syllable words pyvi
  finds (``van_phong``), a bonus for matching whole words;
* :class:`ExactWordTokenizer` -> ``exact_words``: the words as written
  (``cơ_thể``, with diacritics): pyvi's words and every run of two or three
  syllables pyvi's dictionary holds as a word, wherever the model put its
  boundaries, so that a word typed with diacritics is one posting list
  (words first, :func:`clipsearch.searching.ranking.rank`);
* :class:`PairTokenizer` -> ``pairs``: two adjacent syllables (``co the``)
  when both are among the index's most common ones, so that a quoted phrase
  of common syllables is answered by one short posting list instead of their
  positions in tens of thousands of clippings (Lucene's "common grams").

Whoosh pickles the schema, with these classes, into the index's table of
contents: they carry no model, and the segmenter is loaded once per process
on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import compress
from operator import and_, eq, itemgetter, ne
from typing import Any

from whoosh.analysis import Token, Tokenizer
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.fields import COLUMN, ID, STORED, TEXT, Schema

from clipsearch.codec.formats import IntFrequency, Presence, TokenColumns, VarintPositions
from clipsearch.reprints.minhash import zones_signature
from clipsearch.schema import EXACT_WORDS_FIELD
from clipsearch.text.zones import (
    ZONE_BOOSTS,
    SyllableRow,
    WordRow,
    analyse_syllables,
    analyse_words,
    known_words,
    pair_term,
    syllable_columns,
)

__all__ = [
    "ExactTokenizer",
    "ExactWordTokenizer",
    "PairTokenizer",
    "SignatureColumn",
    "SyllableTokenizer",
    "WordTokenizer",
    "build_schema",
]

#: What a tokenizer yields before it becomes a Whoosh token:
#: (text, zone, position, start, end).
TokenRow = tuple[str, int, int, int, int]


class _ZonedTokenizer(Tokenizer):
    """Base of the tokenizers: turns :meth:`rows` into Whoosh tokens,
    ``boosts[zone]`` weighing each."""

    def __init__(self, boosts: Sequence[float] = ZONE_BOOSTS) -> None:
        self.boosts = tuple(boosts)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.boosts == self.boosts

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.boosts))

    def rows(self, value: str) -> Iterator[TokenRow]:
        raise NotImplementedError

    def zone_boosts(self) -> tuple[float, ...]:
        """The boosts padded with the last one, so any zone number indexes them."""
        return self.boosts + (self.boosts[-1],) * 4

    def columns(self, value: str) -> TokenColumns:
        """The tokens as columns, what the posting formats of
        :mod:`clipsearch.codec.formats` read instead of Whoosh ``Token``
        objects. Made of :meth:`rows` here; the tokenizers below make them
        from the analysis's columns directly."""
        rows = list(self.rows(value))
        return TokenColumns(
            [row[0] for row in rows], [row[2] for row in rows], [row[1] for row in rows], self.zone_boosts()
        )

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        boosts = self.zone_boosts()
        for text, zone, pos, start, end in self.rows(value):
            token.text = text
            token.boost = boosts[zone]
            token.stopped = False
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            if keeporiginal:
                token.original = value[start:end]
            yield token


class SyllableTokenizer(_ZonedTokenizer):
    """Folded syllables with positions and zone boosts."""

    def rows(self, value: str) -> Iterator[TokenRow]:
        for zone, pos, folded, _exact, start, end in analyse_syllables(value):
            yield folded, zone, pos, start, end

    def columns(self, value: str) -> TokenColumns:
        syllables = syllable_columns(value)
        return TokenColumns(syllables.folded, syllables.positions, syllables.zones, self.zone_boosts())


class ExactTokenizer(_ZonedTokenizer):
    """Exact forms of the syllables that have diacritics, with zone boosts."""

    def rows(self, value: str) -> Iterator[TokenRow]:
        for zone, pos, folded, exact, start, end in analyse_syllables(value):
            if exact != folded:
                yield exact, zone, pos, start, end

    def columns(self, value: str) -> TokenColumns:
        syllables = syllable_columns(value)
        kept = list(map(ne, syllables.exact, syllables.folded))
        return TokenColumns(
            list(compress(syllables.exact, kept)),
            list(compress(syllables.positions, kept)),
            list(compress(syllables.zones, kept)),
            self.zone_boosts(),
        )


class WordTokenizer(_ZonedTokenizer):
    """Folded multi-syllable words found by pyvi's model, with zone boosts."""

    def rows(self, value: str) -> Iterator[TokenRow]:
        for i, (zone, word, start, end) in enumerate(analyse_words(value)):
            yield word, zone, i, start, end

    def columns(self, value: str) -> TokenColumns:
        return _word_columns(analyse_words(value), self.zone_boosts())


class ExactWordTokenizer(_ZonedTokenizer):
    """Words as written, with diacritics (:func:`~clipsearch.text.zones.known_words`)."""

    def rows(self, value: str) -> Iterator[TokenRow]:
        for i, (zone, word, start, end) in enumerate(known_words(value)):
            yield word, zone, i, start, end

    def columns(self, value: str) -> TokenColumns:
        return _word_columns(known_words(value), self.zone_boosts())


class PairTokenizer(_ZonedTokenizer):
    """Adjacent folded syllables (consecutive positions: never across a
    paragraph or zone) when both are in ``common``. The set is chosen when the
    index is created (:func:`~clipsearch.text.zones.common_syllables`) and pickled with the schema,
    so every clipping of an index has the same pairs."""

    def __init__(self, common: Iterable[str] = (), boosts: Sequence[float] = ZONE_BOOSTS) -> None:
        super().__init__(boosts)
        self.common = frozenset(common)

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and isinstance(other, PairTokenizer) and other.common == self.common

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.boosts, self.common))

    def rows(self, value: str) -> Iterator[TokenRow]:
        common = self.common
        previous: SyllableRow | None = None
        for row in analyse_syllables(value):
            if previous is not None and previous[1] + 1 == row[1] and previous[2] in common and row[2] in common:
                yield pair_term(previous[2], row[2]), previous[0], previous[1], previous[4], row[5]
            previous = row

    def columns(self, value: str) -> TokenColumns:
        syllables = syllable_columns(value)
        folded, positions = syllables.folded, syllables.positions
        common = list(map(self.common.__contains__, folded))
        # pair k: syllables k and k + 1, both common, at consecutive positions
        kept = list(map(and_, map(and_, common[:-1], common[1:]), map(eq, positions[1:], map((1).__add__, positions))))
        return TokenColumns(
            list(map(pair_term, compress(folded[:-1], kept), compress(folded[1:], kept))),
            list(compress(positions, kept)),
            list(compress(syllables.zones, kept)),
            self.zone_boosts(),
        )


def _word_columns(words: Sequence[WordRow], boosts: tuple[float, ...]) -> TokenColumns:
    """The columns of words ``(zone, word, start, end)``, numbered from 0."""
    return TokenColumns(list(map(itemgetter(1), words)), range(len(words)), list(map(itemgetter(0), words)), boosts)


class SignatureColumn(COLUMN):
    """A column holding the MinHash signature of a clipping's zones (see
    :mod:`clipsearch.reprints.minhash`), computed from the zones text where the
    document is analysed: in the worker processes of a parallel build, not
    in the process that reads the files."""

    def to_column_value(self, value: Any) -> bytes:
        if isinstance(value, bytes):  # already a signature
            return value
        return zones_signature(value)


def build_schema(common: Iterable[str] = (), *, exact_words: bool = True, body_z: bool = False) -> Any:
    """The Whoosh schema of a clipsearch index.

    ``exact_words=False`` leaves out the ``exact_words`` field, and
    ``body_z=True`` stores the body zlib-compressed on its own as
    ``body_z`` instead of as text in ``body``, as indexes written before
    were: an index is updated with the fields its segments were written with.

    ``text``, ``exact`` and ``words`` hold title, lead and body as zones
    weighted 3 : 2 : 1 (see :data:`clipsearch.text.zones.ZONE_BOOSTS`), ``pairs`` the
    adjacent syllables of ``text`` that are both in ``common``; ``title`` and
    ``source`` are searchable on their own (``title:``, ``source:``). The
    original text is stored for snippets (compressed in blocks of clippings
    by :class:`~clipsearch.codec.compact.CompactCodec`)."""

    def positional(boosts: tuple[float, ...], stored: bool = False) -> Any:
        field = TEXT(analyzer=SyllableTokenizer(boosts), stored=stored, phrase=True)
        field.format = VarintPositions()
        return field

    def frequency(tokenizer: Any) -> Any:
        field = TEXT(analyzer=tokenizer, phrase=False)
        field.format = IntFrequency()
        return field

    pairs = TEXT(analyzer=PairTokenizer(common, ZONE_BOOSTS), phrase=False)
    pairs.format, pairs.scorable = Presence(), False  # only which clippings have a pair

    fields: dict[str, Any] = {}
    if exact_words:
        # only which clippings hold a word: a query's words are counted, not scored
        known = TEXT(analyzer=ExactWordTokenizer(ZONE_BOOSTS), phrase=False)
        known.format, known.scorable = Presence(), False
        fields[EXACT_WORDS_FIELD] = known
    fields["body_z" if body_z else "body"] = STORED()

    return Schema(
        id=ID(stored=True, unique=True),
        path=STORED(),
        # "id<TAB>sha256<TAB>absolute path" of the file, for incremental runs
        manifest=COLUMN(),
        # yyyymmdd (0: no date) and the folded source name, for filters,
        # sorting and facets (see clipsearch.searching.filters)
        day=COLUMN(NumericColumn("I", default=0)),
        source_key=COLUMN(VarBytesColumn()),
        # MinHash signature of the text, for grouping reprints (clipsearch.reprints.minhash),
        # computed by the process that analyses the document
        dup=SignatureColumn(),
        title=positional((1.0,), stored=True),
        source=positional((1.0,), stored=True),
        lead=STORED(),
        text=positional(ZONE_BOOSTS),
        exact=frequency(ExactTokenizer(ZONE_BOOSTS)),
        words=frequency(WordTokenizer(ZONE_BOOSTS)),
        pairs=pairs,
        **fields,
    )
