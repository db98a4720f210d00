"""Vietnamese word segmentation with pyvi's own model, without pyvi's overhead.

pyvi (``pyvi.ViTokenizer``) ships a CRF model pickled inside a
``sklearn_crfsuite.CRF`` object. Unpickling that imports scikit-learn (about a
second) and writes the model to a temporary file that a killed process leaves
behind. Here the pickle is read with a restricted unpickler that never imports
those classes, and the CRF model bytes are handed to python-crfsuite's
in-memory tagger. Syllabification, features and the joining rule are pyvi's,
so the output is the same as ``pyvi.ViTokenizer.tokenize`` (a test checks it),
but every syllable keeps its character span and long input stays linear.
"""

from __future__ import annotations

import io
import pickle
import re
import string
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["Segmenter", "Segment", "get_segmenter", "segment", "tokenize_like_pyvi"]

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


@dataclass(frozen=True)
class Segment:
    """One word: its syllables (as pyvi sees them) and its span in the input."""

    syllables: tuple[str, ...]
    start: int
    end: int

    @property
    def text(self) -> str:
        return "_".join(self.syllables)


class _Stub:
    """Stands in for every class the pickle names, so nothing is imported."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _ModelUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "_codecs" and name == "encode":
            import codecs

            return codecs.encode
        return _Stub


def _load_model_bytes() -> bytes:
    package = resources.files("pyvi") / "models" / "pyvi3.pkl"
    crf = _ModelUnpickler(io.BytesIO(package.read_bytes())).load()
    data = crf.state["modelfile"].state["__FILE_RESOURCE_DATA__"]
    if not isinstance(data, bytes):  # pragma: no cover - a different pyvi
        raise RuntimeError("unexpected pyvi model format")
    return data


def _load_ngrams() -> tuple[frozenset[str], frozenset[str]]:
    words = (resources.files("pyvi") / "models" / "words.txt").read_text(encoding="utf-8")
    bi, tri = set(), set()
    for token in words.split("\n"):
        n = token.count(" ")
        if n == 1:
            bi.add(token)
        elif n == 2:
            tri.add(token)
    return frozenset(bi), frozenset(tri)


class Segmenter:
    """pyvi's word segmenter; create through :func:`get_segmenter`."""

    def __init__(self) -> None:
        import pycrfsuite

        self._bi, self._tri = _load_ngrams()
        # The tagger reads the model from this buffer: keep a reference.
        self._model = _load_model_bytes()
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(self._model)
        self._lock = threading.Lock()

    def _features(self, sylls: list[str]) -> list[list[str]]:
        lower = [s.lower() for s in sylls]
        title = [s.istitle() for s in sylls]
        upper = [s.isupper() for s in sylls]
        bi, tri = self._bi, self._tri
        n = len(sylls)
        pair = [f"{lower[i]} {lower[i + 1]}" in bi for i in range(n - 1)]
        triple = [f"{lower[i]} {lower[i + 1]} {lower[i + 2]}" in tri for i in range(n - 2)]
        items: list[list[str]] = []
        for i, word in enumerate(sylls):
            feats = ["bias", "word.lower():" + lower[i]]
            if upper[i]:
                feats.append("word.isupper()")
            if title[i]:
                feats.append("word.istitle()")
            if word.isdigit():
                feats.append("word.isdigit()")
            if i > 0:
                feats.append("-1:word.lower():" + lower[i - 1])
                if title[i - 1]:
                    feats.append("-1:word.istitle()")
                if upper[i - 1]:
                    feats.append("-1:word.isupper()")
                if pair[i - 1]:
                    feats.append("-1:word.bi_gram()")
                if i > 1 and triple[i - 2]:
                    feats.append("-2:word.tri_gram()")
            if i < n - 1:
                feats.append("+1:word.lower():" + lower[i + 1])
                if title[i + 1]:
                    feats.append("+1:word.istitle()")
                if upper[i + 1]:
                    feats.append("+1:word.isupper()")
                if pair[i]:
                    feats.append("+1:word.bi_gram()")
                if i < n - 2 and triple[i]:
                    feats.append("+2:word.tri_gram()")
            items.append(feats)
        return items

    def _labels(self, sylls: list[str]) -> list[str]:
        with self._lock:
            labels: list[str] = self._tagger.tag(self._features(sylls))
        return labels

    def segment(self, text: str, *, chunk: int = MAX_CHUNK_SYLLABLES) -> list[Segment]:
        """Segment ``text`` (expected NFC) into words with character spans."""
        matches = list(_PYVI_PATTERN.finditer(text))
        if not matches:
            return []
        sylls = [m.group() for m in matches]
        labels: list[str] = []
        begin = 0
        while begin < len(sylls):
            end = min(len(sylls), begin + chunk)
            if end < len(sylls):
                cut = end
                while cut > begin + chunk // 2 and sylls[cut - 1] not in _SENTENCE_END:
                    cut -= 1
                end = cut if sylls[cut - 1] in _SENTENCE_END else end
            labels.extend(self._labels(sylls[begin:end]))
            begin = end
        segments: list[Segment] = []
        current = [0]
        for i in range(1, len(sylls)):
            prev, cur = sylls[i - 1], sylls[i]
            if (
                labels[i] == "I_W"
                and cur not in _PUNCTUATION
                and prev not in _PUNCTUATION
                and not cur[0].isdigit()
                and not prev[0].isdigit()
                and not (cur[0].istitle() and not prev[0].istitle())
            ):
                current.append(i)
            else:
                segments.append(_make_segment(sylls, matches, current))
                current = [i]
        segments.append(_make_segment(sylls, matches, current))
        return segments


def _make_segment(sylls: list[str], matches: list[re.Match[str]], idx: list[int]) -> Segment:
    return Segment(tuple(sylls[i] for i in idx), matches[idx[0]].start(), matches[idx[-1]].end())


_instance: Segmenter | None = None
_instance_lock = threading.Lock()


def get_segmenter() -> Segmenter:
    """The process-wide segmenter, loaded on first use (about 0.1 s)."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = Segmenter()
    return _instance


def segment(text: str) -> list[Segment]:
    """Segment ``text`` into words with the shared :class:`Segmenter`."""
    return get_segmenter().segment(text)


def tokenize_like_pyvi(text: str) -> str:
    """The string ``pyvi.ViTokenizer.tokenize`` returns for ``text``."""
    nfc = unicodedata.normalize("NFC", text)
    segments = get_segmenter().segment(nfc, chunk=10**9)
    if not segments:
        return text
    return " ".join(s.text for s in segments)
