"""Vietnamese word segmentation with pyvi's own model, without pyvi's overhead.

pyvi (``pyvi.ViTokenizer``) ships a CRF model pickled inside a
``sklearn_crfsuite.CRF`` object. Unpickling that imports scikit-learn and
writes the model to a temporary file that a killed process leaves behind.
Here the pickle is read with stand-ins (:mod:`clipsearch.pickles`) that
import nothing, the CRFsuite model inside it is parsed by
:mod:`clipsearch.text.crfmodel`, and each syllable is scored from weights
cached per syllable string instead of feature strings built per position;
once a text's worth of syllables has been looked up, pyvi's dictionary is
indexed by first syllable, and each cached syllable knows which syllables
follow it in a dictionary word.
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
from itertools import accumulate, compress, count, pairwise
from pathlib import Path
from typing import NamedTuple

from clipsearch.pickles import load_stand_ins
from clipsearch.text.crfmodel import CrfModel

try:  # the interpreter's own MD5 (a cache file's name), without OpenSSL's start-up
    from _md5 import md5  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import md5

__all__ = ["Segmenter", "Word", "get_segmenter", "segment", "tokenize_like_pyvi"]

# pyvi's syllabification pattern, in pyvi's order (first alternative wins), its
# only group the whole syllable (what split keeps between the text around it).
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
            r"(?:[a-zA-Z0-9_.+-]+@(?:[a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)",
            r"\d+(?:[\.,_]\d+)+",
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


#: Makes a :class:`Word` of a tuple of its fields without calling the
#: ``__new__`` that :class:`~typing.NamedTuple` writes in Python.
_new_word = tuple.__new__


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
_NO_FOLLOWERS: frozenset[str] = frozenset()
_NO_THIRDS: dict[str, frozenset[str]] = {}  # never changed


def _first_and_others(
    weights: list[tuple[float, ...] | None],
) -> tuple[float, float, tuple[tuple[float, float], ...]]:
    """The first of the weights the model has (0.0, 0.0 if it has none:
    adding 0.0 leaves a sum's value as it is, -0.0 becoming 0.0, which
    compares the same), and the others."""
    found = [(w[0], w[1]) for w in weights if w is not None]
    (w0, w1), *others = found or [_NO_WEIGHT]
    return w0, w1, tuple(others)


class _Syllable:
    """Cached data of one syllable string: its weights as a syllable
    (``u0``, ``u1``: bias, lowercase form, case and digit attributes, summed
    in pyvi's order) and those it contributes as left and right neighbour,
    kept separate so they are added in the same order as CRFsuite adds them
    (the first as ``left0``, ``left1``, 0.0 if it has none, the others in
    ``left``; the same for ``right``);
    the syllables that follow its lowercase form in pyvi's two-syllable
    words (``next2``) and, by second syllable, in its three-syllable words
    (``next3``), filled once the dictionary is indexed; what pyvi's joining
    rule asks of it (``alone``: a punctuation mark or starting with a digit,
    never joined; ``capital``: starting with a capital letter); and its
    syllables as a word of their own (``alone_word``, shared by the words
    it makes)."""

    __slots__ = (
        "alone",
        "alone_word",
        "capital",
        "left",
        "left0",
        "left1",
        "lower",
        "next2",
        "next3",
        "right",
        "right0",
        "right1",
        "u0",
        "u1",
    )

    def __init__(
        self,
        word: str,
        state: dict[str, tuple[float, ...]],
        next2: dict[str, frozenset[str]],
        next3: dict[str, dict[str, frozenset[str]]],
    ) -> None:
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
        self.left0, self.left1, self.left = _first_and_others([state.get(a) for a in left])
        self.right0, self.right1, self.right = _first_and_others([state.get(a) for a in right])
        self.next2 = next2.get(lower, _NO_FOLLOWERS)
        self.next3 = next3.get(lower, _NO_THIRDS)
        self.alone = word in _PUNCTUATION or word[0].isdigit()
        self.capital = word[0].istitle()
        self.alone_word = (word,)


#: The neighbour of the first and last syllables: no weights, no words.
_EDGE = _Syllable(" ", {}, {}, {})


class _Syllables:
    """The syllables cached by string, and pyvi's words by first syllable
    that they were made with (none before the dictionary is indexed): the
    second syllables of its two-syllable words, and the third syllables of
    its three-syllable words by second."""

    __slots__ = ("cache", "indexed", "next2", "next3")

    def __init__(
        self,
        next2: dict[str, frozenset[str]] | None = None,
        next3: dict[str, dict[str, frozenset[str]]] | None = None,
    ) -> None:
        self.cache: dict[str, _Syllable] = {}
        self.indexed = next2 is not None
        self.next2 = next2 or {}
        self.next3 = next3 or {}


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
        self._syllables = _Syllables()

    def _lookups(self, count: int) -> tuple[_Syllables, tuple[Container[str], Container[str]] | None]:
        """The cached syllables to use for ``count`` syllables, and where to
        look up the dictionary's words among them: the two- and
        three-syllable words' texts or sets, or ``None`` once both are sets
        and indexed by first syllable (the cached syllables then know which
        syllables follow them in a word)."""
        syllables = self._syllables
        if syllables.indexed:
            return syllables, None
        bigrams, trigrams = self._bigrams.lookup(count - 1), self._trigrams.lookup(count - 2)
        if not (isinstance(bigrams, frozenset) and isinstance(trigrams, frozenset)):
            return syllables, (bigrams, trigrams)
        next2: dict[str, set[str]] = {}
        for word in bigrams:
            first, second = word.split(" ")
            next2.setdefault(first, set()).add(second)
        next3: dict[str, dict[str, set[str]]] = {}
        for word in trigrams:
            first, second, third = word.split(" ")
            next3.setdefault(first, {}).setdefault(second, set()).add(third)
        # A new cache (the syllables cached so far lack their followers),
        # replaced in one step: another thread still looking up the texts
        # adds to the old one.
        self._syllables = _Syllables(
            {first: frozenset(seconds) for first, seconds in next2.items()},
            {first: {second: frozenset(thirds) for second, thirds in rests.items()} for first, rests in next3.items()},
        )
        return self._syllables, None

    def _entries(self, sylls: list[str], syllables: _Syllables) -> list[_Syllable]:
        """The cached data of each syllable, made for those not cached."""
        cache = syllables.cache
        try:
            return list(map(cache.__getitem__, sylls))
        except KeyError:
            pass
        if len(cache) > 500_000:
            cache.clear()
        state, next2, next3 = self._state, syllables.next2, syllables.next3
        for word in sylls:
            if word not in cache:
                cache[word] = _Syllable(word, state, next2, next3)
        return list(map(cache.__getitem__, sylls))

    @staticmethod
    def _in_dictionary(
        entries: list[_Syllable], lookups: tuple[Container[str], Container[str]] | None
    ) -> tuple[list[bool], list[bool]]:
        """Whether a two- and a three-syllable word of pyvi's dictionary
        starts at each syllable (as far as one fits)."""
        triples = zip(entries, entries[1:], entries[2:], strict=False)
        if lookups is None:
            pair = [b.lower in a.next2 for a, b in pairwise(entries)]
            triple = [b.lower in a.next3 and c.lower in a.next3[b.lower] for a, b, c in triples]
        else:
            bigrams, trigrams = lookups
            pair = [f"{a.lower} {b.lower}" in bigrams for a, b in pairwise(entries)]
            triple = [f"{a.lower} {b.lower} {c.lower}" in trigrams for a, b, c in triples]
        return pair, triple

    def _inside(self, entries: list[_Syllable], pair: list[bool], triple: list[bool]) -> list[int]:
        """Whether pyvi labels each syllable ``I_W`` (1: it continues a word):
        each syllable's state scores, summed in CRFsuite's order (its own
        weights, its left neighbour's, the dictionary's words ending at it,
        its right neighbour's, those starting at it), fed straight into a
        two-label Viterbi whose ties go to ``B_W``, as in
        :func:`clipsearch.text.crfmodel.viterbi2`."""
        bp0, bp1 = self._bi_prev
        tp0, tp1 = self._tri_prev
        bn0, bn1 = self._bi_next
        tn0, tn1 = self._tri_next
        (t00, t01), (t10, t11) = self._transition
        before = [_EDGE, *entries]
        after = entries[1:]
        after.append(_EDGE)
        # back[k - 1], for position k: 2 * the best label before it if it is B_W + the best if it is I_W
        back: list[int] = []
        p0 = p1 = 0.0
        first = True
        for prev, e, nxt, pair_before, pair_at, triple_before, triple_at in zip(
            before,
            entries,
            after,
            [False, *pair],
            [*pair, False],
            [False, False, *triple],
            [*triple, False, False],
            strict=False,  # before: one more; triples: two for a single syllable
        ):
            a0 = e.u0 + prev.left0
            a1 = e.u1 + prev.left1
            if prev.left:
                for w0, w1 in prev.left:
                    a0 += w0
                    a1 += w1
            if pair_before:
                a0 += bp0
                a1 += bp1
            if triple_before:
                a0 += tp0
                a1 += tp1
            a0 += nxt.right0
            a1 += nxt.right1
            if nxt.right:
                for w0, w1 in nxt.right:
                    a0 += w0
                    a1 += w1
            if pair_at:
                a0 += bn0
                a1 += bn1
            if triple_at:
                a0 += tn0
                a1 += tn1
            if first:
                p0, p1 = a0, a1
                first = False
                continue
            x, y = p0 + t00, p1 + t10
            if y > x:
                n0, code = y, 2
            else:
                n0, code = x, 0
            x, y = p0 + t01, p1 + t11
            if y > x:
                n1 = y
                code += 1
            else:
                n1 = x
            back.append(code)
            p0, p1 = n0 + a0, n1 + a1
        label = 1 if p1 > p0 else 0
        inside = [label]
        for code in reversed(back):
            label = code & 1 if label else code >> 1
            inside.append(label)
        inside.reverse()
        return inside

    def _known_across(self, sylls: list[str], cut: int) -> list[tuple[int, int]]:
        """``(start, count)`` of the dictionary's words that span the cut
        between chunks before syllable ``cut``."""
        lower = [s.lower() for s in sylls[max(0, cut - 2) : cut + 2]]
        at = cut - max(0, cut - 2)  # where the cut falls in ``lower``
        runs = [(at - 1, 2), (at - 2, 3), (at - 1, 3)]
        found = []
        for start, length in runs:
            if start >= 0 and start + length <= len(lower):
                words = self._bigrams if length == 2 else self._trigrams
                if " ".join(lower[start : start + length]) in words.lookup(1):
                    found.append((cut - at + start, length))
        return found

    def _joins(
        self, text: str, chunk: int
    ) -> tuple[list[str], list[_Syllable], list[int], list[int], list[tuple[list[int], int]]]:
        """pyvi's syllables of ``text``, their cached data, and where they
        are (``bounds[2 * i]`` and ``bounds[2 * i + 1]``: the start and end
        of syllable ``i``); the syllables that continue the word of the
        syllable before them, in order; and the runs of syllables that
        pyvi's dictionary holds as words, as ``(starts, count)``: where runs
        of ``count`` syllables start."""
        parts = _PYVI_PATTERN.split(text)  # text between syllables, syllable, ..., text after the last
        sylls = parts[1::2]
        bounds = list(accumulate(map(len, parts)))
        n = len(sylls)
        syllables, lookups = self._lookups(n)
        entries = self._entries(sylls, syllables)
        joined: list[int] = []
        known: list[tuple[list[int], int]] = []
        begin = 0
        while begin < n:
            end = min(n, begin + chunk)
            if end < n:
                cut = end
                while cut > begin + chunk // 2 and sylls[cut - 1] not in _SENTENCE_END:
                    cut -= 1
                end = cut if sylls[cut - 1] in _SENTENCE_END else end
            part = entries[begin:end] if begin or end < n else entries
            pair, triple = self._in_dictionary(part, lookups)
            for i in compress(range(begin, end), self._inside(part, pair, triple)):
                if i:
                    prev, cur = entries[i - 1], entries[i]
                    if not (cur.alone or prev.alone or (cur.capital and not prev.capital)):
                        joined.append(i)
            known.append((list(compress(count(begin), pair)), 2))
            known.append((list(compress(count(begin), triple)), 3))
            if begin:  # the dictionary's words across the cut, which neither chunk looked up
                known += [([start], length) for start, length in self._known_across(sylls, begin)]
            begin = end
        return sylls, entries, bounds, joined, known

    def segment(self, text: str, *, chunk: int = MAX_CHUNK_SYLLABLES, min_syllables: int = 1) -> list[Word]:
        """Segment ``text`` (expected NFC) into words with character spans;
        ``min_syllables=2`` keeps only the words the index stores."""
        sylls, entries, bounds, joined, _known = self._joins(text, chunk)
        if min_syllables > 1:
            words = self._joined_words(sylls, bounds, joined)
            return words if min_syllables == 2 else [w for w in words if len(w.syllables) >= min_syllables]
        n = len(sylls)
        if not n:
            return []
        starts_word = [True] * n
        for i in joined:
            starts_word[i] = False
        starts = list(compress(range(n), starts_word))
        ends = starts[1:]
        ends.append(n)
        return [
            _new_word(
                Word,
                (
                    entries[start].alone_word if end - start == 1 else tuple(sylls[start:end]),
                    bounds[2 * start],
                    bounds[2 * end - 1],
                ),
            )
            for start, end in zip(starts, ends, strict=True)
        ]

    @staticmethod
    def _joined_words(sylls: list[str], bounds: list[int], joined: list[int]) -> list[Word]:
        """The words of two or more syllables, given the syllables (in order)
        that continue the word before them."""
        words: list[Word] = []
        k, last = 0, len(joined)
        while k < last:
            first = joined[k] - 1
            end = joined[k] + 1
            k += 1
            while k < last and joined[k] == end:
                end += 1
                k += 1
            words.append(_new_word(Word, (tuple(sylls[first:end]), bounds[2 * first], bounds[2 * end - 1])))
        return words

    def words(self, text: str, *, chunk: int = MAX_CHUNK_SYLLABLES) -> list[Word]:
        """Only the words of two or more syllables (what the index keeps)."""
        return self.segment(text, chunk=chunk, min_syllables=2)

    def words_and_known(self, text: str, *, chunk: int = MAX_CHUNK_SYLLABLES) -> tuple[list[Word], list[Word]]:
        """The words of two or more syllables, and every run of two or three
        adjacent syllables that pyvi's dictionary holds as a word, wherever
        the model put its word boundaries (``cơ thể`` in ``có cơ thể``
        and in ``cơ thể thao``)."""
        sylls, _, bounds, joined, known = self._joins(text, chunk)
        words = self._joined_words(sylls, bounds, joined)
        by_start = {word.start: word for word in words}
        runs = []
        for starts, n in known:
            for i in starts:
                start, end = bounds[2 * i], bounds[2 * (i + n) - 1]
                word = by_start.get(start)
                if word is None or word.end != end:  # not one of the model's words
                    word = _new_word(Word, (tuple(sylls[i : i + n]), start, end))
                runs.append(word)
        return words, runs


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
