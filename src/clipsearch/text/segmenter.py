"""Vietnamese word segmentation with pyvi's own model, without pyvi's overhead.

pyvi (``pyvi.ViTokenizer``) ships a CRF model pickled inside a
``sklearn_crfsuite.CRF`` object. Unpickling that imports scikit-learn and
writes the model to a temporary file that a killed process leaves behind.
Here the pickle is read with stand-ins (:mod:`clipsearch.pickles`) that
import nothing, the CRFsuite model inside it is parsed by
:mod:`clipsearch.text.crfmodel`, and each syllable is scored from weights
cached per syllable string instead of feature strings built per position.
Syllabification, features, their order of summation and the joining rule are
pyvi's, so the output is the same as ``pyvi.ViTokenizer.tokenize`` (a test
and a benchmark check it), but every word keeps its character span and long
input stays linear.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
import string
import threading
import time
import unicodedata
from collections.abc import Container
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

from clipsearch.pickles import load_stand_ins
from clipsearch.text.crfmodel import CrfModel, viterbi2

try:  # the interpreter's own MD5 (a cache file's name), without OpenSSL's start-up
    from _md5 import md5  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import md5

__all__ = ["Segmenter", "Word", "get_segmenter", "segment", "tokenize_like_pyvi"]

# pyvi's syllabification pattern, in pyvi's order (first alternative wins).
_PYVI_PATTERN = re.compile(
    "("
    + "|".join(
        [
            r"[A-ZĐ]+\.",
            r"Tp\.",
            r"Mr\.",
            r"Mrs\.",
            r"Ms\.",
            r"Dr\.",
            r"ThS\.",
            "==>",
            "->",
            r"\.\.\.",
            ">>",
            "\n",
            r"\w+://[^\s]+",
            r"([a-zA-Z0-9_.+-]+@([a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)",
            r"\d+([\.,_]\d+)+",
            r"[^\w\s]",
            r"\w+",
        ]
    )
    + ")"
)
_PUNCTUATION = frozenset(string.punctuation)

# Inputs longer than this many syllables are tagged in chunks cut after
# sentence-final punctuation, which keeps memory flat on pathological files.
MAX_CHUNK_SYLLABLES = 4000
_SENTENCE_END = frozenset({".", "!", "?", "...", "\n", ";"})


class Word(NamedTuple):
    """One word: its syllables (as pyvi sees them) and its span in the input."""

    syllables: tuple[str, ...]
    start: int
    end: int

    @property
    def text(self) -> str:
        return "_".join(self.syllables)


def _pyvi_models() -> Path:
    """pyvi's model folder, found without importing pyvi."""
    spec = find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyvi is not installed: `pip install pyvi`")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _load_model_bytes() -> bytes:
    crf = load_stand_ins((_pyvi_models() / "pyvi3.pkl").read_bytes())
    data = crf.state["modelfile"].state["__FILE_RESOURCE_DATA__"]
    if not isinstance(data, bytes):  # pragma: no cover - a different pyvi
        raise RuntimeError("unexpected pyvi model format")
    return data


def _load_ngrams() -> tuple[str, str]:
    """pyvi's dictionary of two- and three-syllable words (``"văn phòng"``),
    each kind as one text, a word per line, with a newline at both ends."""
    lines = (_pyvi_models() / "words.txt").read_text(encoding="utf-8").split("\n")
    # pyvi splits each line on single spaces: 1 space = 2 parts, 2 = 3 parts.
    bigrams = sorted({line for line in lines if line.count(" ") == 1})
    trigrams = sorted({line for line in lines if line.count(" ") == 2})
    return "\n" + "\n".join(bigrams) + "\n", "\n" + "\n".join(trigrams) + "\n"


#: Lookups answered by searching a dictionary's text before it is made a set.
DICTIONARY_SEARCHES = 64


class _Dictionary:
    """pyvi's words of one length, looked up in their joined text (one search
    each) for the first :data:`DICTIONARY_SEARCHES` lookups, then in a set:
    making the set costs more than the handful of lookups of a query, and
    less than those of a text being indexed (every pair of its syllables)."""

    __slots__ = ("_searches", "_set", "joined")

    def __init__(self, joined: str) -> None:
        self.joined = joined
        self._set: frozenset[str] | None = None
        self._searches = 0

    def lookup(self, count: int) -> Container[str]:
        """Where to look up ``count`` words: this text, or the set once
        lookups would cost more than making it."""
        if self._set is None:
            self._searches += max(count, 0)
            if self._searches <= DICTIONARY_SEARCHES:
                return self
            self._set = frozenset(self.joined.strip("\n").split("\n"))
        return self._set

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and "\n" not in word and f"\n{word}\n" in self.joined


_NO_WEIGHT = (0.0, 0.0)


class _Syllable:
    """Cached weights of one syllable string: its own (``u0``, ``u1``: bias,
    lowercase form, case and digit attributes, summed in pyvi's order) and
    those it contributes as left and right neighbour, kept separate so they
    are added in the same order as CRFsuite adds them."""

    __slots__ = ("left", "lower", "right", "u0", "u1")

    def __init__(self, word: str, state: dict[str, tuple[float, ...]]) -> None:
        lower = word.lower()
        title, upper = word.istitle(), word.isupper()
        own = ["bias", "word.lower():" + lower]
        if upper:
            own.append("word.isupper()")
        if title:
            own.append("word.istitle()")
        if word.isdigit():
            own.append("word.isdigit()")
        u0 = u1 = 0.0
        for attr in own:
            w0, w1 = state.get(attr, _NO_WEIGHT)
            u0 += w0
            u1 += w1
        left = ["-1:word.lower():" + lower]
        right = ["+1:word.lower():" + lower]
        if title:
            left.append("-1:word.istitle()")
            right.append("+1:word.istitle()")
        if upper:
            left.append("-1:word.isupper()")
            right.append("+1:word.isupper()")
        self.lower = lower
        self.u0, self.u1 = u0, u1
        self.left = tuple((w[0], w[1]) for a in left if (w := state.get(a)) is not None)
        self.right = tuple((w[0], w[1]) for a in right if (w := state.get(a)) is not None)


#: Bumped when what the cache file holds changes.
_CACHE_VERSION = 2
#: Cache files of other pyvi installations (other virtual environments)
#: not written for this long are removed when a new one is written.
STALE_CACHE_DAYS = 30


def _cache_path(models: Path) -> Path | None:
    """Where the parsed dictionary and model of this pyvi installation are
    kept: ``$XDG_CACHE_HOME/clipsearch`` (default ``~/.cache/clipsearch``),
    one file per pyvi folder and file sizes and times."""
    try:
        stats = [(models / name).stat() for name in ("pyvi3.pkl", "words.txt")]
    except OSError:
        return None
    key = repr((_CACHE_VERSION, str(models), [(st.st_size, st.st_mtime_ns) for st in stats]))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "clipsearch" / f"pyvi-{md5(key.encode()).hexdigest()[:16]}.marshal"


def _load_tables() -> tuple[str, str, CrfModel]:
    """pyvi's two- and three-syllable words and its model: from the cache
    file if there is a good one, else read and parsed (most of the cost of
    a one-off query's segmentation) and cached. A cache that cannot be read
    or written is ignored."""
    path = _cache_path(_pyvi_models())
    if path is not None:
        try:
            labels, state, transition, bigrams, trigrams = marshal.loads(path.read_bytes())
            if isinstance(state, dict) and isinstance(bigrams, str) and isinstance(trigrams, str):
                with contextlib.suppress(OSError):
                    os.utime(path)  # in use: not stale (see _remove_stale)
                return bigrams, trigrams, CrfModel(labels, state, transition)
        except (OSError, ValueError, EOFError, TypeError):
            pass
    bigrams, trigrams = _load_ngrams()
    model = CrfModel.from_bytes(_load_model_bytes())
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            partial.write_bytes(marshal.dumps((model.labels, model.state, model.transition, bigrams, trigrams)))
            os.replace(partial, path)
        except OSError:
            pass
        else:
            _remove_stale(path)
    return bigrams, trigrams, model


def _remove_stale(kept: Path) -> None:
    """Remove the cache files next to ``kept`` not used (read or written)
    for :data:`STALE_CACHE_DAYS`: each virtual environment's pyvi has its
    own, and environments come and go (a CI run makes a new one)."""
    oldest = time.time() - STALE_CACHE_DAYS * 86400
    for other in kept.parent.glob("pyvi-*.marshal"):
        try:
            if other != kept and other.stat().st_mtime < oldest:
                other.unlink()
        except OSError:
            pass


class Segmenter:
    """pyvi's word segmenter; create through :func:`get_segmenter`."""

    def __init__(self) -> None:
        bigrams, trigrams, model = _load_tables()
        self._bigrams, self._trigrams = _Dictionary(bigrams), _Dictionary(trigrams)
        if model.labels != ("B_W", "I_W"):  # pragma: no cover - a different pyvi
            raise RuntimeError(f"unexpected pyvi model labels {model.labels}")
        self._state = model.state
        self._transition = model.transition
        self._bi_prev = model.state.get("-1:word.bi_gram()", _NO_WEIGHT)
        self._tri_prev = model.state.get("-2:word.tri_gram()", _NO_WEIGHT)
        self._bi_next = model.state.get("+1:word.bi_gram()", _NO_WEIGHT)
        self._tri_next = model.state.get("+2:word.tri_gram()", _NO_WEIGHT)
        self._cache: dict[str, _Syllable] = {}

    def _entries(self, sylls: list[str]) -> list[_Syllable]:
        cache, state = self._cache, self._state
        entries = []
        for word in sylls:
            entry = cache.get(word)
            if entry is None:
                if len(cache) > 500_000:
                    cache.clear()
                entry = cache[word] = _Syllable(word, state)
            entries.append(entry)
        return entries

    def _is_word(self, sylls: list[str]) -> tuple[list[bool], list[int], list[int]]:
        """``inside[i]``: pyvi labels syllable i ``I_W`` (it continues a word);
        and where a two- and a three-syllable word of pyvi's dictionary starts
        (the model's features, kept whether or not the model joins them)."""
        entries = self._entries(sylls)
        lower = [e.lower for e in entries]
        n = len(entries)
        bigrams, trigrams = self._bigrams.lookup(n - 1), self._trigrams.lookup(n - 2)
        pair = [f"{lower[i]} {lower[i + 1]}" in bigrams for i in range(n - 1)]
        triple = [f"{lower[i]} {lower[i + 1]} {lower[i + 2]}" in trigrams for i in range(n - 2)]
        bp0, bp1 = self._bi_prev
        tp0, tp1 = self._tri_prev
        bn0, bn1 = self._bi_next
        tn0, tn1 = self._tri_next
        s0: list[float] = []
        s1: list[float] = []
        for i, e in enumerate(entries):
            a0, a1 = e.u0, e.u1
            if i > 0:
                for w0, w1 in entries[i - 1].left:
                    a0 += w0
                    a1 += w1
                if pair[i - 1]:
                    a0 += bp0
                    a1 += bp1
                if i > 1 and triple[i - 2]:
                    a0 += tp0
                    a1 += tp1
            if i < n - 1:
                for w0, w1 in entries[i + 1].right:
                    a0 += w0
                    a1 += w1
                if pair[i]:
                    a0 += bn0
                    a1 += bn1
                if i < n - 2 and triple[i]:
                    a0 += tn0
                    a1 += tn1
            s0.append(a0)
            s1.append(a1)
        inside = [label == 1 for label in viterbi2(s0, s1, self._transition)]
        return inside, [i for i, known in enumerate(pair) if known], [i for i, known in enumerate(triple) if known]

    def _known_across(self, sylls: list[str], cut: int) -> list[tuple[int, int]]:
        """``(start, count)`` of the dictionary's words that span the cut
        between chunks before syllable ``cut``."""
        lower = [s.lower() for s in sylls[max(0, cut - 2) : cut + 2]]
        at = cut - max(0, cut - 2)  # where the cut falls in ``lower``
        runs = [(at - 1, 2), (at - 2, 3), (at - 1, 3)]
        found = []
        for start, count in runs:
            if start >= 0 and start + count <= len(lower):
                words = self._bigrams if count == 2 else self._trigrams
                if " ".join(lower[start : start + count]) in words.lookup(1):
                    found.append((cut - at + start, count))
        return found

    def _joins(self, text: str, chunk: int) -> tuple[list[re.Match[str]], list[bool], list[tuple[int, int]]]:
        """pyvi's syllables of ``text``; for each, whether it continues the
        word of the syllable before it; and ``(start, count)`` of the runs of
        syllables that pyvi's dictionary holds as words."""
        matches = list(_PYVI_PATTERN.finditer(text))
        sylls = [m.group() for m in matches]
        inside: list[bool] = []
        known: list[tuple[int, int]] = []
        begin = 0
        while begin < len(sylls):
            end = min(len(sylls), begin + chunk)
            if end < len(sylls):
                cut = end
                while cut > begin + chunk // 2 and sylls[cut - 1] not in _SENTENCE_END:
                    cut -= 1
                end = cut if sylls[cut - 1] in _SENTENCE_END else end
            labels, pairs, triples = self._is_word(sylls[begin:end])
            inside.extend(labels)
            known += [(begin + i, 2) for i in pairs] + [(begin + i, 3) for i in triples]
            if begin:  # the dictionary's words across the cut, which neither chunk looked up
                known += self._known_across(sylls, begin)
            begin = end
        joins = [False] * len(sylls)
        for i in range(1, len(sylls)):
            if inside[i]:
                prev, cur = sylls[i - 1], sylls[i]
                joins[i] = (
                    cur not in _PUNCTUATION
                    and prev not in _PUNCTUATION
                    and not cur[0].isdigit()
                    and not prev[0].isdigit()
                    and not (cur[0].istitle() and not prev[0].istitle())
                )
        return matches, joins, known

    def segment(self, text: str, *, chunk: int = MAX_CHUNK_SYLLABLES, min_syllables: int = 1) -> list[Word]:
        """Segment ``text`` (expected NFC) into words with character spans;
        ``min_syllables=2`` keeps only the words the index stores."""
        matches, joins, _known = self._joins(text, chunk)
        return self._words(matches, joins, min_syllables)

    @staticmethod
    def _words(matches: list[re.Match[str]], joins: list[bool], min_syllables: int) -> list[Word]:
        segments: list[Word] = []
        start = 0
        for i in range(1, len(matches) + 1):
            if i == len(matches) or not joins[i]:
                if i - start >= min_syllables:
                    sylls = tuple(m.group() for m in matches[start:i])
                    segments.append(Word(sylls, matches[start].start(), matches[i - 1].end()))
                start = i
        return segments

    def words(self, text: str, *, chunk: int = MAX_CHUNK_SYLLABLES) -> list[Word]:
        """Only the words of two or more syllables (what the index keeps)."""
        return self.segment(text, chunk=chunk, min_syllables=2)

    def words_and_known(self, text: str, *, chunk: int = MAX_CHUNK_SYLLABLES) -> tuple[list[Word], list[Word]]:
        """The words of two or more syllables, and every run of two or three
        adjacent syllables that pyvi's dictionary holds as a word, wherever
        the model put its word boundaries (``cơ thể`` in ``có cơ thể``
        and in ``cơ thể thao``)."""
        matches, joins, known = self._joins(text, chunk)
        runs = [
            Word(tuple(m.group() for m in matches[i : i + n]), matches[i].start(), matches[i + n - 1].end())
            for i, n in known
        ]
        return self._words(matches, joins, 2), runs


_instance: Segmenter | None = None
_instance_lock = threading.Lock()


def get_segmenter() -> Segmenter:
    """The process-wide segmenter, loaded on first use."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = Segmenter()
    return _instance


def segment(text: str) -> list[Word]:
    """Segment ``text`` into words with the shared :class:`Segmenter`."""
    return get_segmenter().segment(text)


def tokenize_like_pyvi(text: str) -> str:
    """The string ``pyvi.ViTokenizer.tokenize`` returns for ``text``."""
    nfc = unicodedata.normalize("NFC", text)
    segments = get_segmenter().segment(nfc, chunk=10**9)
    if not segments:
        return text
    return " ".join(s.text for s in segments)
