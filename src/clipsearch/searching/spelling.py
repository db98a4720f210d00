"""Suggestions ("did you mean"): the diacritic form of a query typed without diacritics.

Each syllable typed without diacritics could be any form that folds to it
(``mua``: mua, mùa, múa, mưa, mua...). The form is chosen from what the index
holds, in two kinds of statistics:

* sequence and pair frequencies, counted in the clippings that match the
  query (their stored, clean text, which keeps each author's tone
  placement): every run of syllables that folds to the query's run (or to an
  adjacent pair of it) counts its written form;
* word frequencies: the document frequency of each exact form in the
  index's ``exact`` field, for syllables the matched text does not settle.

The best chain is chosen by dynamic programming over the syllables:
``log(1 + form count) + log(1 + pair count)`` summed, where a whole-sequence
match decides outright. No Whoosh here: the caller passes texts and a
word-frequency function.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from clipsearch.searching.syntax import word_spans
from clipsearch.text.fold import fold, has_diacritics, lower_and_folded
from clipsearch.text.normalize import normalize
from clipsearch.text.syllables import linked, sequence_starts, syllable_pattern, syllables, whole_syllables

__all__ = ["suggest"]

#: At most this many candidate forms per syllable are weighed.
MAX_FORMS = 6


def _prepared(texts: Iterable[str]) -> list[tuple[str, str]]:
    """Each text lowercased, and folded (same length, or "" when folding
    changes the length and the text must be read syllable by syllable)."""
    out = []
    for text in texts:
        lower, flat = lower_and_folded(text)
        out.append((lower, flat if len(flat) == len(lower) else ""))
    return out


def _count(
    folded: Sequence[str], texts: Sequence[tuple[str, str]]
) -> tuple[Counter[tuple[str, ...]], list[Counter[str]], list[Counter[tuple[str, str]]]]:
    """Written forms of the whole run, of each syllable and of each adjacent
    pair (syllables with only spaces or punctuation between them), in one
    scan of each text for any of the run's syllables."""
    n = len(folded)
    whole: Counter[tuple[str, ...]] = Counter()
    single: list[Counter[str]] = [Counter() for _ in folded]
    pairs: list[Counter[tuple[str, str]]] = [Counter() for _ in folded[1:]]
    where: dict[str, list[int]] = {}
    for i, f in enumerate(folded):
        where.setdefault(f, []).append(i)
    pattern = syllable_pattern(folded)
    for lower, flat in texts:
        if not flat:
            _count_slowly(folded, lower, whole, single, pairs)
            continue
        matches = whole_syllables(pattern, flat)
        found = [m.group() for m in matches]
        written = [lower[m.start() : m.end()] for m in matches]
        for f, form in zip(found, written, strict=True):
            for i in where[f]:
                single[i][form] += 1
        links = linked(flat, [m.span() for m in matches])
        for k in range(len(found) - 1):
            if not links[k]:
                continue
            for i in where[found[k]]:
                if i + 1 < n and folded[i + 1] == found[k + 1]:
                    pairs[i][(written[k], written[k + 1])] += 1
        if n > 1:
            for k in sequence_starts(found, links, folded):
                whole[tuple(written[k : k + n])] += 1
    return whole, single, pairs


def _count_slowly(
    folded: Sequence[str],
    text: str,
    whole: Counter[tuple[str, ...]],
    single: list[Counter[str]],
    pairs: list[Counter[tuple[str, str]]],
) -> None:
    n = len(folded)
    sylls = [(fold(s.text), text[s.start : s.end]) for s in syllables(normalize(text))]
    for k, (f, w) in enumerate(sylls):
        for i, g in enumerate(folded):
            if f != g:
                continue
            single[i][w] += 1
            if i + 1 < n and k + 1 < len(sylls) and sylls[k + 1][0] == folded[i + 1]:
                pairs[i][(w, sylls[k + 1][1])] += 1
        if n > 1 and f == folded[0] and [s[0] for s in sylls[k : k + n]] == list(folded):
            whole[tuple(s[1] for s in sylls[k : k + n])] += 1


def _best_chain(
    folded: Sequence[str],
    single: list[Counter[str]],
    pairs: list[Counter[tuple[str, str]]],
    word_frequency: Callable[[str], Counter[str]],
) -> list[str]:
    options: list[list[tuple[str, float]]] = []
    for i, f in enumerate(folded):
        counts = single[i] or word_frequency(f)
        forms = [w for w, _ in counts.most_common(MAX_FORMS)] or [f]
        # a tie keeps what the user typed
        options.append([(w, math.log1p(counts[w]) + (1e-9 if w == f else 0.0)) for w in forms])
    # Viterbi over the chain
    best: list[dict[str, tuple[float, str | None]]] = [{w: (s, None) for w, s in options[0]}]
    for i in range(1, len(folded)):
        layer: dict[str, tuple[float, str | None]] = {}
        for w, s in options[i]:
            layer[w] = max(
                ((best[-1][p][0] + s + math.log1p(pairs[i - 1][(p, w)]), p) for p in best[-1]),
                key=lambda sp: (sp[0], sp[1] or ""),
            )
        best.append(layer)
    last = max(best[-1], key=lambda w: (best[-1][w][0], w))
    chain = [last]
    for i in range(len(folded) - 1, 0, -1):
        previous = best[i][chain[-1]][1]
        assert previous is not None
        chain.append(previous)
    return chain[::-1]


def _case_like(typed: str, form: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return form.upper()
    if typed[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


def _runs(query: str) -> list[list[tuple[int, int, str]]]:
    """The syllables ``(start, end, form)`` of the query's words and phrases
    (:func:`~clipsearch.searching.syntax.word_spans`), in runs separated only
    by spaces (or a ``-``); anything else between two syllables, a syllable
    outside the words (an operator, a field prefix) and a number end a run."""
    spans = word_spans(query)
    starts = [start for start, _end in spans]
    runs: list[list[tuple[int, int, str]]] = [[]]
    previous_end = None
    for syl in syllables(normalize(query)):
        k = bisect_right(starts, syl.start) - 1
        wanted = k >= 0 and syl.end <= spans[k][1] and syl.text.isalpha()
        gap = query[previous_end : syl.start] if previous_end is not None else ""
        if gap.strip(" -") or not wanted:
            runs.append([])
        if wanted:
            runs[-1].append((syl.start, syl.end, syl.text))
        previous_end = syl.end
    return [run for run in runs if run]


def suggest(query: str, texts: Iterable[str], word_frequency: Callable[[str], Counter[str]]) -> str | None:
    """``query`` with each syllable typed without diacritics replaced by its
    most likely written form, or None when that changes nothing.

    ``texts`` are the matched clippings' texts (title, lead, body each),
    read only when the query has a syllable typed without diacritics;
    ``word_frequency(folded)`` gives the index's exact forms of a folded
    syllable with their document frequencies."""
    runs = [run for run in _runs(query) if any(not has_diacritics(form) for _s, _e, form in run)]
    if not runs:
        return None
    prepared = _prepared(texts)
    replaced: list[tuple[int, int, str]] = []
    for run in runs:
        folded = [fold(form) for _s, _e, form in run]
        whole, single, pairs = _count(folded, prepared)
        chain = list(whole.most_common(1)[0][0]) if whole else _best_chain(folded, single, pairs, word_frequency)
        for (start, end, form), written in zip(run, chain, strict=True):
            if not has_diacritics(form):
                replaced.append((start, end, _case_like(query[start:end], written)))
    out, pos = [], 0
    for start, end, text in replaced:
        out += [query[pos:start], text]
        pos = end
    out.append(query[pos:])
    suggestion = "".join(out)
    return suggestion if suggestion != query else None
