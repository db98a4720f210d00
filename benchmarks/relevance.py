"""Known-item relevance of clipsearch against SQLite FTS5, on the same clippings in the same run.

Run by hand, never by CI (it needs the corpora in ../shared)::

    python benchmarks/relevance.py --n 2000 --corpus both --queries 100
    python benchmarks/relevance.py --n 5000 --corpus vietnews --seed 2 --show-losses 3
    python benchmarks/relevance.py --n 80000 --corpus both --index-dir /path/to/an/index/of/these/80000
    python benchmarks/relevance.py --n 20000 --corpus both --typesense   # and on the Typesense backend

What it does, deterministically for a given --n, --corpus, --queries and --seed:

1. Extracts the first N clippings like ``index_speed.py`` (its ``prepare_corpus``;
   with ``--corpus both`` N is the total, 3/4 vietnews and 1/4 rss).
2. Builds a clipsearch index of them (``build_index``, one process by default so
   that the order of the documents, which breaks ties between equal scores, is
   the same in every run), or uses ``--index-dir``, which must hold exactly these
   clippings (not checked beyond their number).
3. Builds an SQLite FTS5 table (stdlib ``sqlite3``) of the same files, listed the
   same way and parsed with ``clipsearch.read_clipping``: columns title, lead,
   body (the text as parsed, not cleaned) and id UNINDEXED, ``tokenize =
   "unicode61 remove_diacritics 2"``, one transaction, then ``optimize``. Queries
   are ranked by ``bm25(clippings, 3.0, 2.0, 1.0)`` (title 3, lead 2, body 1,
   clipsearch's zone weights), ties by rowid (the file order).
4. Counts, over the same parsed clippings, the document frequency of every
   syllable (``clipsearch.text.normalize`` + ``syllables``): of its exact form
   (lowercase, one tone placement) and of its folded form (``fold``).
5. Generates known-item queries with ``random.Random(seed)``: up to --queries
   target clippings in a shuffled order, each giving the kinds it can (``KINDS``).
   A "span" is a run of consecutive words with only spaces between them (no
   punctuation inside) and none of the operator words and/or/not. The title
   kinds share one span of 2-5 words with a rare syllable that is in no other
   clipping's title (FTS5 phrase in the title column; its length drawn first
   among the lengths that have rare spans, then up to 10 spans tried, those
   with a syllable of the other tone placement first, so that kind 3 gets
   queries). Few titles have a syllable to write in the other placement, so
   after the targets, up to ``--queries // 3`` more clippings whose title has
   one give kind 3 alone, chosen the same way. The body kinds use the body paragraphs, or the lead
   when there is no body (rss items). "Rare" means a folded document frequency
   of at most ``max(2, N // 100)``: a body phrase must contain a rare alphabetic
   syllable; the three unquoted body syllables must each be rare but in at least
   2 clippings, with different folded forms, no two adjacent. A body query must
   also identify its clipping, as a known item does: FTS5 (as written, with
   diacritics) finds it in no other clipping; up to 10 phrases and 10 triples
   are tried per clipping. Without this, reprints of one story (the rss items
   come from several papers) make the target a coin toss between copies.
6. Generates exact-diacritic queries: syllables typed with diacritics whose
   folded form has at least 2 exact forms each in at least
   ``max(10, ceil(N / 200))`` clippings (mùa / múa / mua). A hit is relevant
   when its title + lead + body, normalised and lowercased, has that exact form
   as a whole syllable; precision@10 counts missing hits as not relevant.
7. Runs every query once on both engines as a warm-up, then again, timed, the
   two engines alternating first; the rankings of that second pass are scored
   (a target that clipsearch shows as a near-duplicate reprint of a hit, in
   the hit's ``similar``, counts at that hit's rank):
   MRR@10, success@1 and success@10 of the target per kind and for all kinds
   pooled, precision@10 of the exact-form queries, latency p50/p95.

With ``--typesense`` (a node started with ``tests/typesense_servers.py``, stopped
after) or ``--typesense-url URL`` (a running node, the API key in
``CLIPSEARCH_TYPESENSE_API_KEY``; the collection ``--collection`` is rebuilt),
the same files are also indexed into a Typesense collection (``index_typesense``)
and every query runs a third time in each pass, on ``TypesenseArchive``; a
section TYPESENSE BACKEND then gives, per kind, both backends' MRR@10 (ok when
they are within 0.02, issue 19), success@1 and @10, the share of identical top
10s and their overlap, both precisions and both latencies. The rest of the
report (clipsearch against FTS5) is what it is without the option.

Queries reach FTS5 through :func:`to_fts5`: every whitespace-separated word and
every quoted phrase becomes an FTS5 string ("..." with inner quotes doubled),
AND-ed; a word without a letter or digit is dropped (FTS5 matches nothing for an
empty string in an AND). Standard library and clipsearch only. Run as a script:
``index_speed`` is imported from this script's own folder. Corpus text never
goes into the repository: it is printed (examples, --show-losses), not stored.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import os
import platform
import random
import re
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import clipsearch
from clipsearch.errors import ClippingError
from clipsearch.text.fold import fold, has_diacritics
from clipsearch.text.normalize import clean, normalize, normalize_tone_placement
from clipsearch.text.syllables import syllables
from clipsearch.writing.build import IndexReport, find_clipping_files
from index_speed import (
    DEFAULT_CORPUS_DIR,
    Extracted,
    clean_up_workdir,
    folder_bytes,
    log,
    mb,
    percentile,
    prepare_corpus,
    source_version,
)

TOP_K = 10
RARE_SHARE = 100  # a syllable is rare in at most max(2, N // RARE_SHARE) clippings
EXACT_SHARE = 200  # exact-precision forms: each in at least ceil(N / EXACT_SHARE) clippings (and at least TOP_K)
WORD_SHARE = 2000  # exact words: written in at least N / WORD_SHARE clippings (at least TOP_K)
TITLE_SPAN = (2, 5)
PHRASE_LENGTH = 5
RARE_TERMS = 3
TRIES = 10  # body phrases / rare-syllable triples tried per clipping for one that identifies it
BM25_WEIGHTS = (3.0, 2.0, 1.0)  # title, lead, body
FTS5_TABLE = "clippings"
FTS5_TOKENIZE = "unicode61 remove_diacritics 2"
FTS5_SQL = (
    f"SELECT id FROM {FTS5_TABLE} WHERE {FTS5_TABLE} MATCH ? "
    f"ORDER BY bm25({FTS5_TABLE}, {', '.join(map(str, BM25_WEIGHTS))}), rowid LIMIT {TOP_K}"
)

KINDS: tuple[tuple[str, str], ...] = (
    ("title", "2-5 consecutive title words, a rare syllable, in no other title; with diacritics as written"),
    ("title folded", "the same span without diacritics (clipsearch.text.fold)"),
    ("title tone", "the same span, old tone placement <-> new (hoà <-> hòa, uỷ <-> ủy)"),
    ("title NFD", "the same span decomposed (NFD)"),
    ("title CAPS", "the same span in capitals"),
    ("title telex", "the same span typed with the input method off: Telex keys (vawn phongf)"),
    ("title vni", "the same span as VNI keys (va8n pho2ng)"),
    (
        "title typo",
        "the same span, one of its words of 5+ letters (folded) with one typo: a letter dropped, "
        "two swapped or one changed; only where the index holds no such word",
    ),
    ("body phrase", f"a quoted {PHRASE_LENGTH}-syllable phrase of the body with a rare syllable"),
    ("body phrase folded", "the same phrase without diacritics"),
    ("body rare", f"{RARE_TERMS} rare syllables of the body, not adjacent, unquoted"),
)
KIND_NAMES = tuple(name for name, _ in KINDS)
ENGINES = ("clipsearch", "FTS5")
#: The third engine with --typesense: clipsearch on the Typesense backend (TypesenseArchive).
TYPESENSE = "typesense"
#: Issue 19: the Typesense backend's MRR@10 within this of the Whoosh index's, on every kind.
TYPESENSE_MRR_TOLERANCE = 0.02
# Query operators in any case: a capitalised span would turn them into operators.
_OPERATOR_WORDS = frozenset({"and", "or", "not"})

# ---------------------------------------------------------------------------
# Tone placement both ways (oa, oe, uy without a final consonant; not after q
# for uy, where the u belongs to the consonant: quý).

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below


def _toned(*bases: str) -> str:
    return "".join(unicodedata.normalize("NFC", b + t) for b in bases for t in _TONE_MARKS)


# old style marks the second vowel (hoà, khoẻ, thuỷ), new style the first (hòa, khỏe, thủy)
_PLACEMENT_RE = re.compile(
    "[oO][" + _toned("a", "A", "e", "E") + "](?!\\w)"
    "|(?<![qQ])[uU][" + _toned("y", "Y") + "](?!\\w)"
    "|[" + _toned("o", "O") + "][aAeE](?!\\w)"
    "|(?<![qQ])[" + _toned("u", "U") + "][yY](?!\\w)"
)


def _split_tone(char: str) -> tuple[str, str]:
    decomposed = unicodedata.normalize("NFD", char)
    base = "".join(c for c in decomposed if c not in _TONE_MARKS)
    return unicodedata.normalize("NFC", base), "".join(c for c in decomposed if c in _TONE_MARKS)


def _flip(match: re.Match[str]) -> str:
    first, second = match.group()[0], match.group()[1]
    first_base, first_tone = _split_tone(first)
    second_base, second_tone = _split_tone(second)
    if first_tone:
        return first_base + unicodedata.normalize("NFC", second_base + first_tone)
    return unicodedata.normalize("NFC", first_base + second_tone) + second_base


def other_tone_placement(text: str) -> str:
    """Every oa/oe/uy syllable of NFC ``text`` in the other tone placement:
    old style (``hoà``, ``thuỷ``) becomes new (``hòa``, ``thủy``) and new old."""
    return _PLACEMENT_RE.sub(_flip, text)


def has_tone_variant(text: str) -> bool:
    """Does NFC ``text`` have a syllable whose tone placement can be switched?"""
    return _PLACEMENT_RE.search(text) is not None


# ---------------------------------------------------------------------------
# FTS5 query syntax

_FTS5_PART_RE = re.compile(r'"([^"]*)"?|([^\s"]+)')
_HAS_TOKEN_RE = re.compile(r"[^\W_]")


def fts5_string(text: str) -> str:
    """``text`` as an FTS5 string: in double quotes, inner quotes doubled."""
    return '"' + text.replace('"', '""') + '"'


def to_fts5(query: str) -> str:
    """A clipsearch query of words and "quoted phrases" as FTS5 syntax: each
    word and each phrase an FTS5 string, AND-ed (no operator is interpreted).
    Raises ValueError when nothing is left to search for."""
    parts = []
    for match in _FTS5_PART_RE.finditer(query):
        text = match.group(1) if match.group(1) is not None else match.group(2)
        if _HAS_TOKEN_RE.search(text):
            parts.append(fts5_string(" ".join(text.split())))
    if not parts:
        raise ValueError(f"no word to search for in {query!r}")
    return " AND ".join(parts)


# ---------------------------------------------------------------------------
# Corpus: parsing, FTS5 table, syllable counts


@dataclass(frozen=True)
class Word:
    """A syllable of a text: as written, and folded (its matching key)."""

    text: str
    key: str


def word_runs(text: str) -> list[list[Word]]:
    """The syllables of NFC ``text`` in runs separated only by whitespace: a
    run ends at punctuation (``TP.HCM``, ``COVID-19``, ``a, b``) and at an
    operator word (and, or, not in any case), which is left out."""
    runs: list[list[Word]] = []
    run: list[Word] = []
    previous_end = None
    for syl in syllables(normalize(text)):
        gap = text[previous_end : syl.start] if previous_end is not None else " "
        previous_end = syl.end
        if not gap.isspace() or syl.text in _OPERATOR_WORDS:
            if len(run) > 0:
                runs.append(run)
            run = []
        if syl.text not in _OPERATOR_WORDS:
            run.append(Word(text[syl.start : syl.end], fold(syl.text)))
    if run:
        runs.append(run)
    return runs


def ambiguous_words() -> frozenset[str]:
    """Two-syllable words of pyvi's dictionary (its ``models/words.txt``),
    lowercase with one tone placement, whose folded form another such word
    shares (``cơ thể`` / ``có thể``, ``chu kỳ`` / ``chữ ký``)."""
    import pyvi

    listing = Path(pyvi.__file__).parent / "models" / "words.txt"
    words = set()
    for line in listing.read_text(encoding="utf-8").splitlines():
        forms = [s.text for s in syllables(normalize(line.strip().lower()))]
        if len(forms) == 2 and all(f.isalpha() for f in forms) and any(has_diacritics(f) for f in forms):
            words.add(" ".join(forms))
    families = Counter(fold(w) for w in words)
    return frozenset(w for w in words if families[fold(w)] > 1)


def exact_bigrams(clipping: clipsearch.Clipping) -> set[str]:
    """Pairs of adjacent syllables of title + lead + body (only spaces between
    them), normalised and lowercased, as ``"a b"``."""
    pairs = set()
    for part in (clipping.title, clipping.lead, clipping.body_text):
        found = syllables(normalize(part))  # spans in ``part``
        for a, b in itertools.pairwise(found):
            if not part[a.end : b.start].strip():
                pairs.add(f"{a.text} {b.text}")
    return pairs


def exact_forms(clipping: clipsearch.Clipping) -> set[str]:
    """The syllables of title + lead + body, normalised and lowercased."""
    text = "\n\n".join((clipping.title, clipping.lead, clipping.body_text))
    return {s.text for s in syllables(normalize(text))}


@dataclass
class Corpus:
    paths: dict[str, Path]  # id -> file, in file order
    skipped: int
    exact_df: Counter[str]
    folded_df: Counter[str]
    fts5_seconds: float
    fts5_bytes: int
    word_df: Counter[str] = field(default_factory=Counter)  # ambiguous dictionary words, adjacent as written
    _forms: dict[str, frozenset[str]] = field(default_factory=dict)
    _bigrams: dict[str, frozenset[str]] = field(default_factory=dict)
    _titles: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, doc_id: str) -> clipsearch.Clipping:
        return clipsearch.read_clipping(self.paths[doc_id])

    def forms(self, doc_id: str) -> frozenset[str]:
        """Exact forms of a clipping's syllables (cached); none for an id
        that is not among these clippings (an --index-dir with others)."""
        if doc_id not in self.paths:
            return frozenset()
        if doc_id not in self._forms:
            self._forms[doc_id] = frozenset(exact_forms(self.read(doc_id)))
        return self._forms[doc_id]

    def bigrams(self, doc_id: str) -> frozenset[str]:
        """A clipping's adjacent syllable pairs as written (cached)."""
        if doc_id not in self.paths:
            return frozenset()
        if doc_id not in self._bigrams:
            self._bigrams[doc_id] = frozenset(exact_bigrams(self.read(doc_id)))
        return self._bigrams[doc_id]

    def title(self, doc_id: str) -> str:
        if doc_id not in self._titles:
            self._titles[doc_id] = clean(self.read(doc_id).title) if doc_id in self.paths else "?"
        return self._titles[doc_id]


def load_corpus(clippings_dir: Path, database: Path) -> Corpus:
    """Parse every clipping file once: into the FTS5 table (timed: listing,
    parsing, inserting, optimize) and into the syllable counts (not timed).
    A file that cannot be parsed, or whose id came earlier, is skipped, as
    build_index does."""
    exact_df: Counter[str] = Counter()
    folded_df: Counter[str] = Counter()
    word_df: Counter[str] = Counter()
    dictionary = ambiguous_words()
    paths: dict[str, Path] = {}
    skipped = 0
    counting = 0.0
    start = time.perf_counter()
    files = find_clipping_files([clippings_dir], IndexReport(""))
    connection = sqlite3.connect(database)
    try:
        connection.execute(
            f"CREATE VIRTUAL TABLE {FTS5_TABLE} USING fts5(title, lead, body, id UNINDEXED, "
            f"tokenize = {fts5_string(FTS5_TOKENIZE)})"
        )
        with connection:
            for done, path in enumerate(files, start=1):
                try:
                    clipping = clipsearch.read_clipping(path)
                except ClippingError:
                    skipped += 1
                    continue
                if clipping.id in paths:
                    skipped += 1
                    continue
                paths[clipping.id] = path
                connection.execute(
                    f"INSERT INTO {FTS5_TABLE}(title, lead, body, id) VALUES (?, ?, ?, ?)",
                    (clipping.title, clipping.lead, clipping.body_text, clipping.id),
                )
                count_start = time.perf_counter()
                forms = exact_forms(clipping)
                exact_df.update(forms)
                folded_df.update({fold(f) for f in forms})
                word_df.update(exact_bigrams(clipping) & dictionary)
                counting += time.perf_counter() - count_start
                if done % 5000 == 0:
                    log(f"  parsed {done:,}/{len(files):,}")
            connection.execute(f"INSERT INTO {FTS5_TABLE}({FTS5_TABLE}) VALUES ('optimize')")
    finally:
        connection.close()
    seconds = time.perf_counter() - start - counting
    return Corpus(paths, skipped, exact_df, folded_df, seconds, database.stat().st_size, word_df)


# ---------------------------------------------------------------------------
# Queries


@dataclass(frozen=True)
class Query:
    kind: str
    text: str  # clipsearch syntax
    target: str = ""  # the clipping to find (known-item queries)
    form: str = ""  # the exact form (exact-precision queries); the span as written (kind 3)

    @property
    def fts5(self) -> str:
        return to_fts5(self.text)


@dataclass(frozen=True)
class Thresholds:
    rare_df: int  # rare: folded df <= this
    exact_df: int  # exact-precision forms: df >= this
    word_df: int  # exact words: df >= this


def thresholds(docs: int) -> Thresholds:
    return Thresholds(
        max(2, docs // RARE_SHARE), max(TOP_K, math.ceil(docs / EXACT_SHARE)), max(TOP_K, math.ceil(docs / WORD_SHARE))
    )


def _joined(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words)


def title_queries(
    title: str,
    target: str,
    limits: Thresholds,
    df: Counter[str],
    rng: random.Random,
    unique: Callable[[str], bool],
    tone_only: bool = False,
) -> list[Query]:
    """The title kinds of one clipping: one span of its title, 2-5 words, with
    a rare syllable (as the body kinds have), that is in no other clipping's
    title (``unique`` of the FTS5 phrase in the title column): what a reader
    remembers of a headline. With ``tone_only``, only kind 3, from a span
    that has a syllable of the other tone placement."""
    runs = [run for run in word_runs(clean(title)) if len(run) >= TITLE_SPAN[0]]
    by_length: dict[int, list[list[Word]]] = {}
    for k in range(TITLE_SPAN[0], TITLE_SPAN[1] + 1):
        spans = [
            run[i : i + k]
            for run in runs
            for i in range(len(run) - k + 1)
            if any(w.text.isalpha() and df[w.key] <= limits.rare_df for w in run[i : i + k])
        ]
        if spans:
            by_length[k] = spans
    if not by_length:
        return []
    spans = by_length[rng.choice(sorted(by_length))]
    if tone_only:
        spans = [span for span in spans if has_tone_variant(_joined(span))]
    rng.shuffle(spans)
    # Spans with a syllable of the other tone placement first, so that kind 3 gets queries.
    spans.sort(key=lambda span: not has_tone_variant(_joined(span)))
    for span in spans[:TRIES]:
        text = _joined(span)
        phrase = to_fts5('"' + text + '"')
        if not unique(f"title : {phrase}"):
            continue
        if tone_only:
            return [Query("title tone", other_tone_placement(text), target, form=text)]
        queries = [Query("title", text, target), Query("title folded", fold(text), target)]
        if has_tone_variant(text):
            queries.append(Query("title tone", other_tone_placement(text), target, form=text))
        queries.append(Query("title NFD", unicodedata.normalize("NFD", text), target))
        queries.append(Query("title CAPS", text.upper(), target))
        if any(has_diacritics(w.text) for w in span):
            queries.append(Query("title telex", " ".join(keystrokes(w.text, "telex") for w in span), target))
            queries.append(Query("title vni", " ".join(keystrokes(w.text, "vni") for w in span), target))
        typo = with_typo(span, df, rng)
        if typo is not None:
            queries.append(Query("title typo", typo, target))
        return queries
    return []


# Typing with the input method off (Telex, VNI), and typos: written here, not
# taken from clipsearch, so that the benchmark does not grade clipsearch's
# decoder with its own encoder.
_KEY_TONES = {
    "\u0301": ("s", "1"),
    "\u0300": ("f", "2"),
    "\u0309": ("r", "3"),
    "\u0303": ("x", "4"),
    "\u0323": ("j", "5"),
}
_KEY_MARKS = {
    "â": ("aa", "a6"),
    "ă": ("aw", "a8"),
    "ê": ("ee", "e6"),
    "ô": ("oo", "o6"),
    "ơ": ("ow", "o7"),
    "ư": ("uw", "u7"),
    "đ": ("dd", "d9"),
}


def keystrokes(word: str, scheme: str) -> str:
    """The keys that type ``word`` with Telex or VNI: each mark after its letter, the tone key last."""
    column = 0 if scheme == "telex" else 1
    keys, tone = [], ""
    for ch in unicodedata.normalize("NFC", word):
        parts = unicodedata.normalize("NFD", ch)
        letter = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _KEY_TONES))
        lower = letter.lower()
        typed = _KEY_MARKS[lower][column] if lower in _KEY_MARKS else lower
        keys.append(typed.upper() if letter.isupper() and len(typed) == 1 else typed)
        tone = next((_KEY_TONES[c][column] for c in parts if c in _KEY_TONES), tone)
    return "".join(keys) + tone


def with_typo(span: Sequence[Word], df: Counter[str], rng: random.Random) -> str | None:
    """The span with one typo in one of its words of 5 or more letters (folded): a
    letter dropped, two neighbours swapped or one changed, into a word no clipping
    holds; None if the span has no such word."""
    long_words = [i for i, w in enumerate(span) if fold(w.text).isalpha() and len(fold(w.text)) >= 5]
    if not long_words:
        return None
    i = rng.choice(long_words)
    word = fold(span[i].text).lower()
    for _ in range(10):
        at = rng.randrange(1, len(word) - 1)
        edit = rng.choice(("drop", "swap", "change"))
        if edit == "drop":
            typo = word[:at] + word[at + 1 :]
        elif edit == "swap":
            typo = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        else:
            typo = word[:at] + rng.choice("abcdeghiklmnopqrstuvxy".replace(word[at], "")) + word[at + 1 :]
        if typo != word and df[typo] == 0:
            return " ".join(typo if j == i else w.text for j, w in enumerate(span))
    return None


def body_queries(
    clipping: clipsearch.Clipping,
    target: str,
    limits: Thresholds,
    df: Counter[str],
    rng: random.Random,
    unique: Callable[[str], bool],
) -> list[Query]:
    """The body kinds of one clipping, each only if it identifies the clipping:
    ``unique(fts5_query)`` must hold (FTS5 finds no other clipping)."""
    paragraphs = clipping.body or ((clipping.lead,) if clipping.lead else ())
    runs = [run for p in paragraphs for run in word_runs(clean(p))]

    def rare(word: Word, at_least: int = 1) -> bool:
        return word.text.isalpha() and at_least <= df[word.key] <= limits.rare_df

    queries: list[Query] = []
    windows = [
        run[i : i + PHRASE_LENGTH]
        for run in runs
        for i in range(len(run) - PHRASE_LENGTH + 1)
        if any(rare(w) for w in run[i : i + PHRASE_LENGTH])
    ]
    rng.shuffle(windows)
    for window in windows[:TRIES]:
        text = _joined(window)
        if unique(to_fts5(f'"{text}"')):
            queries += [
                Query("body phrase", f'"{text}"', target),
                Query("body phrase folded", f'"{fold(text)}"', target),
            ]
            break
    # Positions count across runs with a gap of 2 between runs: words of two
    # runs are never adjacent in this sense (punctuation separates them).
    candidates: list[tuple[int, Word]] = []
    position = 0
    for run in runs:
        for word in run:
            if rare(word, at_least=2):
                candidates.append((position, word))
            position += 1
        position += 1
    for _ in range(TRIES):
        rng.shuffle(candidates)
        chosen: list[tuple[int, Word]] = []
        for position, word in candidates:
            if all(abs(position - p) > 1 and word.key != w.key for p, w in chosen):
                chosen.append((position, word))
                if len(chosen) == RARE_TERMS:
                    break
        if len(chosen) < RARE_TERMS:
            break
        text = " ".join(w.text for _, w in sorted(chosen, key=lambda c: c[0]))
        if unique(to_fts5(text)):
            queries.append(Query("body rare", text, target))
            break
    return queries


def known_item_queries(
    corpus: Corpus, count: int, limits: Thresholds, rng: random.Random, database: Path
) -> tuple[list[Query], int, int]:
    """Queries of up to ``count`` target clippings (those giving at least one
    query), in a shuffled order of the corpus, then of up to ``count // 3``
    more clippings for kind 3 alone (few titles have an ``oa``/``oe``/``uy``
    syllable to write the other way); and the numbers of both kinds of
    targets."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)

    def unique(fts5_query: str) -> bool:
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {FTS5_TABLE} WHERE {FTS5_TABLE} MATCH ? LIMIT 2)"
        return int(connection.execute(sql, (fts5_query,)).fetchone()[0]) == 1

    order = list(corpus.paths)
    rng.shuffle(order)
    queries: list[Query] = []
    targets = 0
    used = 0
    for doc_id in order:
        if targets == count:
            break
        used += 1
        clipping = corpus.read(doc_id)
        found = title_queries(clipping.title, doc_id, limits, corpus.folded_df, rng, unique) + body_queries(
            clipping, doc_id, limits, corpus.folded_df, rng, unique
        )
        if found:
            targets += 1
            queries += found
    tone_targets = 0
    for doc_id in order[used:]:
        if tone_targets >= count // 3:
            break
        clipping = corpus.read(doc_id)
        if not has_tone_variant(clean(clipping.title)):
            continue
        found = title_queries(clipping.title, doc_id, limits, corpus.folded_df, rng, unique, tone_only=True)
        if found:
            tone_targets += 1
            queries += found
    connection.close()
    return queries, targets, tone_targets


@dataclass(frozen=True)
class ExactCandidate:
    form: str
    df: int
    group: tuple[tuple[str, int], ...]  # every exact form of its folded form, by df


def exact_candidates(corpus: Corpus, limits: Thresholds) -> list[ExactCandidate]:
    """Forms with diacritics whose folded form has another exact form, both in
    at least ``limits.exact_df`` clippings; sorted by form."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for form, df in corpus.exact_df.items():
        if form.isalpha():
            groups.setdefault(fold(form), []).append((form, df))
    found = []
    for forms in groups.values():
        decent = [form for form, df in forms if df >= limits.exact_df]
        if len(decent) < 2:
            continue
        group = tuple(sorted(forms, key=lambda f: (-f[1], f[0])))
        found += [ExactCandidate(f, corpus.exact_df[f], group) for f in decent if has_diacritics(f)]
    return sorted(found, key=lambda c: c.form)


def word_candidates(corpus: Corpus, limits: Thresholds) -> list[ExactCandidate]:
    """Ambiguous dictionary words (:func:`ambiguous_words`) written, adjacent,
    in at least ``limits.word_df`` clippings, whose folded form another such
    word written that often shares; sorted by word."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for word, df in corpus.word_df.items():
        groups.setdefault(fold(word), []).append((word, df))
    found = []
    for words in groups.values():
        decent = [w for w, df in words if df >= limits.word_df]
        if len(decent) < 2:
            continue
        group = tuple(sorted(words, key=lambda w: (-w[1], w[0])))
        found += [ExactCandidate(w, corpus.word_df[w], group) for w in decent]
    return sorted(found, key=lambda c: c.form)


# ---------------------------------------------------------------------------
# Running


@dataclass
class Run:
    ranked: dict[str, list[list[str]]]  # engine -> ids per query
    seconds: dict[str, list[float]]
    errors: dict[str, list[str]]
    doc_count: int


def run_queries(index_dir: Path, database: Path, queries: Sequence[Query], archive: Any = None) -> Run:
    """A warm-up pass over every query on both engines (and ``archive``, the
    Typesense backend, when given), then a timed pass whose rankings are kept;
    the engines take turns to go first."""
    engines = ENGINES if archive is None else (*ENGINES, TYPESENSE)
    ranked: dict[str, list[list[str]]] = {e: [] for e in engines}
    seconds: dict[str, list[float]] = {e: [] for e in engines}
    errors: dict[str, list[str]] = {e: [] for e in engines}
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        with clipsearch.open_index(index_dir) as index:

            def search(engine: str, query: Query, keep: bool) -> None:
                start = time.perf_counter()
                try:
                    if engine in ("clipsearch", TYPESENSE):
                        # A target shown as a reprint of a hit (its "+N similar") is
                        # found at that hit's rank.
                        backend = index if engine == "clipsearch" else archive
                        ids = [
                            query.target if query.target in hit.similar else hit.id
                            for hit in backend.search(query.text, limit=TOP_K)
                        ]
                    else:
                        ids = [row[0] for row in connection.execute(FTS5_SQL, (query.fts5,))]
                except (clipsearch.ClipsearchError, sqlite3.Error, ValueError) as exc:
                    ids = []
                    if keep:
                        errors[engine].append(f"{query.text!r}: {exc}")
                elapsed = time.perf_counter() - start
                if keep:
                    ranked[engine].append(ids)
                    seconds[engine].append(elapsed)

            for keep in (False, True):
                log("running the queries " + ("(timed) ..." if keep else "(warm-up) ..."))
                for i, query in enumerate(queries):
                    turn = i % len(engines)  # with two engines: in order, then reversed
                    for engine in engines[turn:] + engines[:turn]:
                        search(engine, query, keep)
            doc_count = len(index)
    finally:
        connection.close()
    return Run(ranked, seconds, errors, doc_count)


@dataclass
class Scores:
    n: int = 0
    reciprocal: float = 0.0
    at1: int = 0
    at10: int = 0
    zero: int = 0

    def add(self, rank: int | None, hits: int) -> None:
        self.n += 1
        if rank is not None:
            self.reciprocal += 1 / rank
            self.at1 += rank == 1
            self.at10 += 1
        self.zero += hits == 0


def rank_of(target: str, ids: Sequence[str]) -> int | None:
    return ids.index(target) + 1 if target in ids else None


def _worse(a: int | None, b: int | None) -> bool:
    """Is rank ``a`` worse than rank ``b`` (None: not in the top 10)?"""
    return b is not None and (a is None or a > b)


# ---------------------------------------------------------------------------
# Report


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _ratio(part: float, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "  n/a"


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _score_row(label: str, cs: Scores, ft: Scores, better: tuple[int, int]) -> str:
    return (
        f"  {label:<22} {cs.n:>5}   {_ratio(cs.reciprocal, cs.n):>6} {_ratio(ft.reciprocal, ft.n):>6}   "
        f"{_pct(cs.at1, cs.n):>6} {_pct(ft.at1, ft.n):>6}   {_pct(cs.at10, cs.n):>6} {_pct(ft.at10, ft.n):>6}   "
        f"{better[0]:>5} {better[1]:>5}   {cs.zero:>5} {ft.zero:>5}"
    )


def _hit_list(corpus: Corpus, ids: Sequence[str], target: str, count: int = 3) -> str:
    shown = [f"{'*' if i == target else ''}{i} {corpus.title(i)[:60]!r}" for i in ids[:count]]
    return "; ".join(shown) if shown else "(no hit)"


@dataclass
class Report:
    args: argparse.Namespace
    extracted: Extracted
    corpus: Corpus
    limits: Thresholds
    index_note: str
    known: list[Query]
    targets: int
    exact: list[ExactCandidate]
    run: Run
    tone_targets: int = 0
    words: list[ExactCandidate] = field(default_factory=list)
    seconds: float = 0.0
    typesense_note: str = ""
    lines: list[str] = field(default_factory=list)


def report_lines(rep: Report) -> list[str]:
    args, corpus, run, limits = rep.args, rep.corpus, rep.run, rep.limits
    split = ", ".join(f"{count:,} {name}" for name, count in rep.extracted.per_corpus.items())
    weights = ", ".join(map(str, BM25_WEIGHTS))
    lines = [
        f"clipsearch {clipsearch.__version__} relevance: corpus {args.corpus} ({split}), seed {args.seed}, "
        f"--queries {args.queries}",
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"SQLite {sqlite3.sqlite_version}; load average {_load()} at the end",
        f"clipsearch from {source_version()}",
        "",
        "ENGINES",
        f"  clippings              {len(corpus):,} parsed (skipped {corpus.skipped:,}); "
        f"{run.doc_count:,} in the clipsearch index"
        + ("" if run.doc_count == len(corpus) else "  WARNING: not the same number"),
        f"  clipsearch             {rep.index_note}; Index.search(query, limit={TOP_K})",
        f"  FTS5                   fts5(title, lead, body, id UNINDEXED, tokenize = {fts5_string(FTS5_TOKENIZE)}); "
        f"built in {corpus.fts5_seconds:.1f} s, {mb(corpus.fts5_bytes)}",
        f"                         ranked by bm25({FTS5_TABLE}, {weights}) (title, lead, body weights), "
        f"ties by rowid; LIMIT {TOP_K}",
        "                         query: every word and quoted phrase as an FTS5 string, AND-ed",
        f"  rare syllable          in at most {limits.rare_df:,} clippings (folded; N // {RARE_SHARE}, at least 2)",
        "",
    ]
    scores = {e: {k: Scores() for k in KIND_NAMES} for e in ENGINES}
    better = {k: [0, 0] for k in KIND_NAMES}
    losses: dict[str, list[int]] = {k: [] for k in KIND_NAMES}
    for i, query in enumerate(rep.known):
        ranks = {e: rank_of(query.target, run.ranked[e][i]) for e in ENGINES}
        for e in ENGINES:
            scores[e][query.kind].add(ranks[e], len(run.ranked[e][i]))
        if _worse(ranks["FTS5"], ranks["clipsearch"]):
            better[query.kind][0] += 1
        if _worse(ranks["clipsearch"], ranks["FTS5"]):
            better[query.kind][1] += 1
            losses[query.kind].append(i)
    lines += [
        f"KNOWN ITEM  {len(rep.known):,} queries from {rep.targets:,} target clippings and {rep.tone_targets:,} more "
        "for kind 3; the target's rank in the top "
        f"{TOP_K} (cs = clipsearch, fts = FTS5)",
        f"  {'kind':<22} {'n':>5}   {'MRR@10':^13}   {'success@1':^13}   {'success@10':^13}   "
        f"{'better':^11}   {'0 hits':^11}",
        f"  {'':<22} {'':>5}   {'cs':>6} {'fts':>6}   {'cs':>6} {'fts':>6}   {'cs':>6} {'fts':>6}   "
        f"{'cs':>5} {'fts':>5}   {'cs':>5} {'fts':>5}",
    ]
    total = {e: Scores() for e in ENGINES}
    for number, kind in enumerate(KIND_NAMES, start=1):
        cs, ft = scores["clipsearch"][kind], scores["FTS5"][kind]
        lines.append(_score_row(f"{number} {kind}", cs, ft, (better[kind][0], better[kind][1])))
        for e in ENGINES:
            s = scores[e][kind]
            t = total[e]
            t.n, t.reciprocal, t.at1, t.at10, t.zero = (
                t.n + s.n,
                t.reciprocal + s.reciprocal,
                t.at1 + s.at1,
                t.at10 + s.at10,
                t.zero + s.zero,
            )
    all_better = (sum(b[0] for b in better.values()), sum(b[1] for b in better.values()))
    lines += [
        _score_row("all kinds", total["clipsearch"], total["FTS5"], all_better),
        "  (better: queries where that engine ranks the target higher, absent counting as lowest; "
        "all kinds pooled over queries)",
        f"  (kind 3: {_tone_check(rep.known)})",
        "",
        "QUERY KINDS  (examples from the first target with the most kinds; clipsearch syntax -> FTS5)",
    ]
    examples = _examples(rep.known)
    for number, (kind, description) in enumerate(KINDS, start=1):
        example = examples.get(kind)
        lines.append(f"  {number} {kind:<20} {description}")
        if example is not None:
            lines.append(f"    {example.text}  ->  {example.fts5}   [{example.target}]")
    lines += ["", *_exact_lines(rep), "", *_word_lines(rep), "", *_latency_lines(rep)]
    if run.errors["clipsearch"] or run.errors["FTS5"]:
        for e in ENGINES:
            if run.errors[e]:
                lines.append(f"  errors {e:<15} {len(run.errors[e])}: {'; '.join(run.errors[e][:3])}")
    if args.show_losses:
        lines += ["", f"CLIPSEARCH BEHIND FTS5  (up to {args.show_losses} per kind; * marks the target)"]
        for kind in KIND_NAMES:
            for i in losses[kind][: args.show_losses]:
                q = rep.known[i]
                cs_ids, ft_ids = run.ranked["clipsearch"][i], run.ranked["FTS5"][i]
                lines += [
                    f"  {kind}: {q.text}  target {q.target} {corpus.title(q.target)[:70]!r}",
                    f"    clipsearch rank {rank_of(q.target, cs_ids) or '-'}: {_hit_list(corpus, cs_ids, q.target)}",
                    f"    FTS5       rank {rank_of(q.target, ft_ids) or '-'}: {_hit_list(corpus, ft_ids, q.target)}",
                ]
        if not any(losses.values()):
            lines.append("  none")
    if args.show_misses:
        lines += ["", f"CLIPSEARCH TARGET NOT FIRST  (up to {args.show_misses} per kind; * marks the target)"]
        for kind in KIND_NAMES:
            misses = [
                i
                for i, q in enumerate(rep.known)
                if q.kind == kind and rank_of(q.target, run.ranked["clipsearch"][i]) != 1
            ]
            for i in misses[: args.show_misses]:
                q = rep.known[i]
                cs_ids = run.ranked["clipsearch"][i]
                lines += [
                    f"  {kind}: {q.text}  target {q.target} {corpus.title(q.target)[:70]!r}",
                    f"    clipsearch rank {rank_of(q.target, cs_ids) or '-'}: {_hit_list(corpus, cs_ids, q.target)}",
                ]
    if TYPESENSE in run.ranked:
        lines += ["", *_typesense_lines(rep)]
    lines += ["", f"total wall time {rep.seconds:.1f} s"]
    return lines


def _overlap(reference: Sequence[str], other: Sequence[str]) -> float:
    """|reference & other| / max(1, min(10, len(reference))); 1 when both are empty."""
    if not reference and not other:
        return 1.0
    return len(set(reference) & set(other)) / max(1, min(TOP_K, len(reference)))


def _typesense_lines(rep: Report) -> list[str]:
    """The known-item scores, precisions and latency of the Typesense backend beside the Whoosh index's."""
    run = rep.run
    ws, ts = "clipsearch", TYPESENSE
    lines = [
        f"TYPESENSE BACKEND  the same queries, same pass, on clipsearch's Typesense backend "
        f"(TypesenseArchive.search(query, limit={TOP_K})): {rep.typesense_note}",
        f"  wh = the Whoosh index (the clipsearch column above), ts = Typesense; ok when |ts - wh| MRR@10 <= "
        f"{TYPESENSE_MRR_TOLERANCE} (issue 19); same 10: the same top 10 in the same order; overlap: "
        f"|wh & ts| / min(10, wh hits)",
        f"  {'kind':<22} {'n':>5}   {'MRR@10':^21}        {'success@1':^13}   {'success@10':^13}   "
        f"{'same 10':>7} {'overlap':>7}",
        f"  {'':<22} {'':>5}   {'wh':>6} {'ts':>6} {'ts-wh':>7}        {'wh':>6} {'ts':>6}   {'wh':>6} {'ts':>6}",
    ]
    pooled = {e: Scores() for e in (ws, ts)}
    pooled_same, pooled_overlap = 0, 0.0
    for number, kind in enumerate(KIND_NAMES, start=1):
        scores = {e: Scores() for e in (ws, ts)}
        same, overlap = 0, 0.0
        for i, query in enumerate(rep.known):
            if query.kind != kind:
                continue
            for e in (ws, ts):
                rank = rank_of(query.target, run.ranked[e][i])
                scores[e].add(rank, len(run.ranked[e][i]))
                pooled[e].add(rank, len(run.ranked[e][i]))
            same += run.ranked[ws][i] == run.ranked[ts][i]
            overlap += _overlap(run.ranked[ws][i], run.ranked[ts][i])
        pooled_same += same
        pooled_overlap += overlap
        lines.append(_typesense_row(f"{number} {kind}", scores[ws], scores[ts], same, overlap))
    lines.append(_typesense_row("all kinds", pooled[ws], pooled[ts], pooled_same, pooled_overlap))
    offset = len(rep.known)
    for label, candidates, found_in in (
        ("exact diacritics", rep.exact, rep.corpus.forms),
        ("exact words", rep.words, rep.corpus.bigrams),
    ):
        if not candidates:
            continue
        precision = {e: 0.0 for e in (ws, ts)}
        same = 0
        for j, candidate in enumerate(candidates):
            for e in (ws, ts):
                precision[e] += sum(candidate.form in found_in(d) for d in run.ranked[e][offset + j]) / TOP_K
            same += run.ranked[ws][offset + j] == run.ranked[ts][offset + j]
        n = len(candidates)
        lines.append(
            f"  {label:<22} {n:>5}   precision@10 wh {precision[ws] / n:.3f} ts {precision[ts] / n:.3f}; "
            f"same top 10 {same / n:.1%}"
        )
        offset += n
    count = len(run.seconds[ts])
    lines += [
        f"  latency of the same {count:,} queries (timed pass, engines taking turns to go first; the Whoosh index keeps"
        " its last 256 results, so with fewer queries than that its timed pass is answered from that cache):"
    ]
    for e, name in ((ws, "Whoosh"), (ts, "Typesense")):
        ms = [x * 1000 for x in run.seconds[e]]
        lines.append(
            f"    {name:<10} p50 {percentile(ms, 50):>7.2f} ms   p95 {percentile(ms, 95):>7.2f} ms   "
            f"max {max(ms, default=0):>7.2f} ms"
        )
    if run.errors[ts]:
        lines.append(f"  errors typesense {len(run.errors[ts])}: {'; '.join(run.errors[ts][:3])}")
    return lines


def _typesense_row(label: str, wh: Scores, ts: Scores, same: int, overlap: float) -> str:
    mrr = {e: s.reciprocal / s.n if s.n else 0.0 for e, s in (("wh", wh), ("ts", ts))}
    diff = mrr["ts"] - mrr["wh"]
    verdict = ("ok" if abs(diff) <= TYPESENSE_MRR_TOLERANCE else "MISSED") if wh.n else ""
    return (
        f"  {label:<22} {wh.n:>5}   {_ratio(wh.reciprocal, wh.n):>6} {_ratio(ts.reciprocal, ts.n):>6} "
        f"{diff:>+7.3f} {verdict:<6}   {_pct(wh.at1, wh.n):>6} {_pct(ts.at1, ts.n):>6}   "
        f"{_pct(wh.at10, wh.n):>6} {_pct(ts.at10, ts.n):>6}   {_pct(same, wh.n):>7} "
        f"{_ratio(overlap, wh.n):>7}"
    )


def _examples(queries: Sequence[Query]) -> dict[str, Query]:
    """One query per kind: those of the first target with the most kinds, then
    the first query of each kind still missing."""
    by_target: dict[str, dict[str, Query]] = {}
    for q in queries:
        by_target.setdefault(q.target, {}).setdefault(q.kind, q)
    chosen: dict[str, Query] = {}
    for kinds in by_target.values():
        if len(kinds) > len(chosen):
            chosen = dict(kinds)
    for q in queries:
        chosen.setdefault(q.kind, q)
    return chosen


def _tone_check(queries: Sequence[Query]) -> str:
    """Do the tone-placement variants normalise like their originals in clipsearch?"""
    variants = [q for q in queries if q.kind == "title tone"]
    differing = [q.text for q in variants if normalize_tone_placement(q.text) != normalize_tone_placement(q.form)]
    if differing:
        return f"{len(differing)} of {len(variants)} variants normalise differently, e.g. {differing[0]!r}"
    return "every variant normalises like its original with clipsearch.text.normalize_tone_placement"


def _precision(
    run: Run, offset: int, candidates: Sequence[ExactCandidate], found_in: Callable[[str], frozenset[str]]
) -> dict[str, float]:
    """Each engine's mean precision@10 over the queries of ``candidates`` (from
    ``offset`` in the run): the share of its top 10 whose ``found_in(id)`` holds
    the candidate's form (a missing hit counts as wrong)."""
    precision = dict.fromkeys(ENGINES, 0.0)
    for j, candidate in enumerate(candidates):
        for e in ENGINES:
            precision[e] += sum(candidate.form in found_in(d) for d in run.ranked[e][offset + j]) / TOP_K
    return {e: total / len(candidates) for e, total in precision.items()}


def _exact_lines(rep: Report) -> list[str]:
    run, corpus = rep.run, rep.corpus
    offset = len(rep.known)
    lines = [
        f"EXACT DIACRITICS  {len(rep.exact):,} queries: one syllable with diacritics whose folded form has >= 2 exact "
        f"forms in >= {rep.limits.exact_df:,} clippings each",
        "  precision@10: share of the top 10 (missing hits count as wrong) whose title + lead + body, normalised and",
        "  lowercased, has the exact form as a whole syllable",
    ]
    if not rep.exact:
        return [*lines, "  no such syllable in these clippings"]
    precision = _precision(run, offset, rep.exact, corpus.forms)
    base = sum(c.df / corpus.folded_df[fold(c.form)] for c in rep.exact) / len(rep.exact)
    example = rep.exact[0]
    group = ", ".join(f"{form} {df:,}" for form, df in example.group[:6])
    return [
        *lines,
        f"  clipsearch {precision['clipsearch']:.3f}   FTS5 {precision['FTS5']:.3f}"
        f"   (base rate {base:.3f}: mean share of the clippings with the folded syllable that have the exact form)",
        f"  example: {example.form!r} (clippings with each form of {fold(example.form)!r}: {group})",
    ]


def _word_lines(rep: Report) -> list[str]:
    run, corpus = rep.run, rep.corpus
    offset = len(rep.known) + len(rep.exact)
    lines = [
        f"EXACT WORDS  {len(rep.words):,} queries: a two-syllable word of pyvi's dictionary typed with its diacritics, "
        f"unquoted, whose folded form another such word shares, each written in >= {rep.limits.word_df:,} clippings",
        "  precision@10: share of the top 10 (missing hits count as wrong) whose title, lead or body has the word as",
        "  written, its two syllables adjacent (normalised, lowercased)",
    ]
    if not rep.words:
        return [*lines, "  no such word in these clippings"]
    precision = _precision(run, offset, rep.words, corpus.bigrams)
    example = rep.words[0]
    group = ", ".join(f"{form} {df:,}" for form, df in example.group[:4])
    return [
        *lines,
        f"  clipsearch {precision['clipsearch']:.3f}   FTS5 {precision['FTS5']:.3f}",
        f"  example: {example.form!r} (clippings with each word of {fold(example.form)!r}: {group})",
    ]


def _latency_lines(rep: Report) -> list[str]:
    count = len(rep.known) + len(rep.exact)
    lines = [
        f"LATENCY  {count:,} queries (known item + exact), in-process, timed on the 2nd pass after a warm-up pass; "
        "engines alternate first",
        f"  {'engine':<12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}",
    ]
    for e in ENGINES:
        ms = [s * 1000 for s in rep.run.seconds[e]]
        lines.append(f"  {e:<12} {percentile(ms, 50):>8.2f} {percentile(ms, 95):>8.2f} {max(ms, default=0):>8.2f}")
    lines.append("  (clipsearch: hits with snippets and highlights; FTS5: ids only)")
    return lines


# ---------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, required=True, help="number of clippings (total with 'both')")
    parser.add_argument("--corpus", choices=("vietnews", "rss", "both"), default="vietnews")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR, help="folder of the archives")
    parser.add_argument("--queries", type=int, default=200, help="target clippings, and exact-diacritic queries")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="new or empty folder to work in (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (clippings, indexes)")
    parser.add_argument(
        "--index-dir", type=Path, help="an existing clipsearch index of exactly these clippings (not rebuilt)"
    )
    parser.add_argument(
        "--procs",
        type=int,
        default=1,
        help="processes for build_index (default 1: the same document order, hence the same ties, in every run)",
    )
    parser.add_argument(
        "--typesense",
        action="store_true",
        help="also run the queries on clipsearch's Typesense backend, on a node started here "
        "(tests/typesense_servers.py; stopped after)",
    )
    parser.add_argument(
        "--typesense-url",
        metavar="URL",
        help="the same on a running node (API key from CLIPSEARCH_TYPESENSE_API_KEY; --collection is rebuilt)",
    )
    parser.add_argument("--collection", default="relevance", help="the Typesense collection (default: relevance)")
    parser.add_argument(
        "--show-losses", type=int, default=0, metavar="K", help="print up to K queries per kind where FTS5 ranks better"
    )
    parser.add_argument(
        "--show-misses",
        type=int,
        default=0,
        metavar="K",
        help="print up to K queries per kind where clipsearch's target is not first",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.queries < 1 or args.procs < 1 or args.show_losses < 0:
        parser.error("--n, --queries and --procs must be at least 1, --show-losses at least 0")
    return args


def _workdir(args: argparse.Namespace) -> tuple[Path, bool]:
    if args.workdir is None:
        return Path(tempfile.mkdtemp(prefix="clipsearch-relevance-")), True
    workdir = args.workdir.resolve()
    if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
        raise SystemExit(f"error: --workdir {workdir} must be a new or empty folder")
    created = not workdir.exists()
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir, created


def _progress(done: int, total: int) -> None:
    if done == total or done % 1000 == 0:
        log(f"  indexed {done:,}/{total:,}")


def build_clipsearch(args: argparse.Namespace, clippings_dir: Path, workdir: Path) -> tuple[Path, str]:
    if args.index_dir is not None:
        index_dir = args.index_dir.resolve()
        if not index_dir.is_dir():
            raise SystemExit(f"error: --index-dir {index_dir} is not a folder")
        return index_dir, f"existing index {index_dir}"
    index_dir = workdir / "index"
    log("building the clipsearch index ...")
    start = time.perf_counter()
    report = clipsearch.build_index([clippings_dir], index_dir, rebuild=True, procs=args.procs, progress=_progress)
    seconds = time.perf_counter() - start
    note = (
        f"built in {seconds:.1f} s ({args.procs} process{'es' if args.procs > 1 else ''}), "
        f"{mb(folder_bytes(index_dir))}, skipped {len(report.skipped):,}"
    )
    return index_dir, note


@contextlib.contextmanager
def typesense_archive(args: argparse.Namespace, clippings_dir: Path, workdir: Path) -> Iterator[tuple[Any, str]]:
    """With --typesense or --typesense-url: the clippings indexed into a Typesense
    collection (``index_typesense``, rebuilt) and opened (``TypesenseArchive``),
    and how it was built; else ``(None, "")``."""
    if not (args.typesense or args.typesense_url):
        yield None, ""
        return
    from clipsearch.typesense.archive import TypesenseArchive
    from clipsearch.typesense.connection import API_KEY_VARIABLE, TypesenseTarget
    from clipsearch.typesense.indexing import index_typesense

    with contextlib.ExitStack() as stack:
        if args.typesense_url:
            key = os.environ.get(API_KEY_VARIABLE, "")
            if not key:
                raise SystemExit(f"error: --typesense-url needs the API key in {API_KEY_VARIABLE}")
            target = TypesenseTarget((args.typesense_url,), collection=args.collection, api_key=key, timeout=60.0)
            where = f"node {args.typesense_url}"
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from tests.typesense_servers import typesense_node

            log("starting a Typesense node ...")
            node = stack.enter_context(typesense_node(workdir))
            target = TypesenseTarget((node.url,), collection=args.collection, api_key=node.api_key, timeout=60.0)
            where = "a node started here"
        log("building the Typesense collection ...")
        start = time.perf_counter()
        report = index_typesense([clippings_dir], target, rebuild=True, procs=args.procs, progress=_progress)
        seconds = time.perf_counter() - start
        archive = TypesenseArchive(target)
        note = (
            f"{len(archive):,} clippings on {where}, built in {seconds:.1f} s "
            f"({args.procs} process{'es' if args.procs > 1 else ''}), skipped {len(report.skipped):,}"
        )
        yield archive, note


def iter_kinds(queries: Sequence[Query]) -> Iterator[tuple[str, int]]:
    counts = Counter(q.kind for q in queries)
    for kind in KIND_NAMES:
        yield kind, counts[kind]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    workdir, created = _workdir(args)
    try:
        extracted = prepare_corpus(args.corpus, args.corpus_dir.resolve(), args.n, workdir)
        log(f"parsing {extracted.files:,} clippings into FTS5 and counting syllables ...")
        corpus = load_corpus(extracted.clippings_dir, workdir / "fts5.sqlite3")
        if not corpus.paths:
            raise SystemExit("error: no clipping could be parsed")
        index_dir, index_note = build_clipsearch(args, extracted.clippings_dir, workdir)
        limits = thresholds(len(corpus))
        rng = random.Random(args.seed)
        known, targets, tone_targets = known_item_queries(corpus, args.queries, limits, rng, workdir / "fts5.sqlite3")
        candidates = exact_candidates(corpus, limits)
        exact = rng.sample(candidates, min(args.queries, len(candidates)))
        word_pool = word_candidates(corpus, limits)
        words = rng.sample(word_pool, min(args.queries, len(word_pool)))
        log(
            "queries: "
            + ", ".join(f"{kind} {count}" for kind, count in iter_kinds(known))
            + f", exact {len(exact)} (of {len(candidates)} candidates)"
            + f", words {len(words)} (of {len(word_pool)} candidates)"
        )
        queries = known + [Query("exact", c.form, form=c.form) for c in exact]
        queries += [Query("word", c.form, form=c.form) for c in words]
        with typesense_archive(args, extracted.clippings_dir, workdir) as (archive, typesense_note):
            run = run_queries(index_dir, workdir / "fts5.sqlite3", queries, archive)
        rep = Report(args, extracted, corpus, limits, index_note, known, targets, exact, run, tone_targets, words)
        rep.typesense_note = typesense_note
        rep.seconds = time.perf_counter() - started
        print("\n".join(line.rstrip() for line in report_lines(rep)))
    finally:
        clean_up_workdir(workdir, created, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
