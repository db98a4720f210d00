"""Near-duplicate detection (``clipsearch.reprints.minhash``) on a real corpus: signature cost, grouping
time and counts per threshold, grouped pairs to judge by hand, and recall against near-duplicate titles.

Run by hand, never by CI (it needs the corpora in ../shared)::

    python benchmarks/duplicates.py --corpus rss --n 20000
    python benchmarks/duplicates.py --corpus vietnews --n 5000 --pairs 40
    python benchmarks/duplicates.py --corpus vietnews --clippings-dir /work/corpus/v/clippings   # all 60,000

What it does, deterministically for given arguments (timings aside):

1. Reads the first N clippings (sorted by member name) of the corpus archive, streaming it twice
   (list, then read) without writing anything to disk; or the first N ``*.txt`` files (sorted by
   name) of an unpacked folder with ``--clippings-dir``. Unreadable files are counted and skipped.
2. Signature cost: ``signature(title, lead, body_text)`` of every clipping once (the first pass,
   which also fills the per-token cache), then ``--timing-runs`` passes over the first
   ``--timing-sample`` clippings; the median of those passes is the figure, in µs per clipping.
3. The LSH S-curve of every threshold: its (bands, rows) from ``bands_for`` and the probability
   that a pair of each Jaccard similarity becomes a candidate.
4. ``group`` at every threshold: wall seconds, groups, grouped clippings, largest group, joined
   pairs (pairs of one group whose estimated similarity reaches the threshold) and recall.
5. Near-duplicate titles, computed independently of the signatures: titles folded (normalize,
   syllables, fold_syllable), blocked by their first two and by their last two syllables, and
   pairs of one block with ``difflib.SequenceMatcher`` ratio >= ``--title-ratio`` (0.9, as the
   corpus README's "fuzzy ratio >= 90"). Their clusters (single linkage) and groups of identical
   folded titles are counted (the README: vietnews-60k 120 / 32, rss-20k 38 / 10, over the whole
   corpora and with its own fuzzy ratio). Recall = the share of those title pairs that ``group``
   puts in one group.
6. At ``--threshold``: a random sample (``--seed``) of ``--pairs`` joined pairs, titles side by side
   and the first 150 characters of each body (of the lead when there is no body), with the
   estimated and exact Jaccard similarity (3-syllable shingles recomputed from the text) and the
   title ratio; then ``--different-titles`` joined pairs whose titles are NOT near-duplicates (the
   reprints with another title, or false positives), and ``--missed`` title pairs that were not grouped.

Only the standard library, numpy and clipsearch's ``clipping``, ``text`` and ``duplicates`` modules
are used. The samples print corpus text to the terminal: never paste them into the repository.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import os
import random
import statistics
import sys
import tarfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from clipsearch.clipping import clipping_from_bytes
from clipsearch.errors import ClippingError
from clipsearch.reprints.minhash import (
    DEFAULT_THRESHOLD,
    NUM_HASHES,
    SHINGLE_SYLLABLES,
    SIGNATURE_BYTES,
    bands_for,
    candidate_probability,
    group,
    signature,
    similarity,
)
from clipsearch.text.fold import fold_syllable
from clipsearch.text.normalize import normalize
from clipsearch.text.syllables import syllables

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"
ARCHIVES = {"vietnews": "vietnews-60k.tar.gz", "rss": "rss-20k.tar.gz"}
README_TITLE_CLUSTERS = {"vietnews": (60_000, 120, 32), "rss": (20_000, 38, 10)}  # items, near, exact
MEMBER_FOLDER = "clippings"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
S_CURVE_POINTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SNIPPET = 150


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    lead: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.lead}\n{self.body}"

    def snippet(self) -> str:
        """The first characters of the body, or of the lead when there is no body."""
        text, label = (self.body, "body") if self.body else (self.lead, "lead")
        return f"[{label}] " + " ".join(text.split())[:SNIPPET]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Corpus


def _member_base(name: str) -> str | None:
    path = PurePosixPath(name)
    if len(path.parts) != 2 or path.parts[0] != MEMBER_FOLDER:
        return None
    base = path.parts[1]
    return base if base.endswith(".txt") and not base.startswith(".") else None


def _stream(archive: Path) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    with tarfile.open(archive, mode="r|gz") as tar:
        while (member := tar.next()) is not None:
            yield tar, member
            tar.members.clear()  # type: ignore[attr-defined]


def _parse(data: bytes, name: str, items: list[Item], skipped: list[str]) -> None:
    try:
        c = clipping_from_bytes(data, name)
    except ClippingError as exc:
        skipped.append(f"{name}: {exc}")
        return
    items.append(Item(c.id, c.title, c.lead, c.body_text))


def load_archive(archive: Path, n: int | None) -> tuple[list[Item], list[str]]:
    """The first ``n`` clippings (sorted by member name) of ``archive``, read in memory."""
    log(f"listing {archive.name} ...")
    names = sorted(m.name for _, m in _stream(archive) if m.isfile() and _member_base(m.name))
    wanted = set(names[:n] if n is not None else names)
    log(f"reading {len(wanted):,} clippings ...")
    data: dict[str, bytes] = {}
    for tar, member in _stream(archive):
        if member.name in wanted and member.isfile():
            f = tar.extractfile(member)
            if f is not None:
                data[member.name] = f.read()
            if len(data) == len(wanted):
                break
    items: list[Item] = []
    skipped: list[str] = []
    for name in sorted(data):
        _parse(data[name], str(_member_base(name)), items, skipped)
    return items, skipped


def load_folder(folder: Path, n: int | None) -> tuple[list[Item], list[str]]:
    """The first ``n`` ``*.txt`` files (sorted by name) of ``folder``."""
    files = sorted(folder.glob("*.txt"))
    files = files[:n] if n is not None else files
    log(f"reading {len(files):,} clippings from {folder} ...")
    items: list[Item] = []
    skipped: list[str] = []
    for path in files:
        _parse(path.read_bytes(), path.name, items, skipped)
    return items, skipped


# ---------------------------------------------------------------------------
# Measuring


def time_signatures(items: Sequence[Item], runs: int, sample: int) -> tuple[dict[str, bytes], float, list[float]]:
    """Signatures of all items; µs per clipping of the first pass and of each timed pass."""
    start = time.perf_counter()
    sigs = {it.id: signature(it.title, it.lead, it.body) for it in items}
    first = (time.perf_counter() - start) / max(len(items), 1) * 1e6
    subset = items[:sample]
    passes = []
    for _ in range(runs):
        start = time.perf_counter()
        for it in subset:
            signature(it.title, it.lead, it.body)
        passes.append((time.perf_counter() - start) / max(len(subset), 1) * 1e6)
    return sigs, first, passes


def folded_syllables(text: str) -> list[str]:
    return [fold_syllable(s.text) for s in syllables(normalize(text))]


def shingles(text: str) -> set[tuple[str, ...]]:
    """The 3-syllable shingles of a text, recomputed from clipsearch.text (not from duplicates)."""
    syl = folded_syllables(text)
    size = SHINGLE_SYLLABLES if len(syl) >= SHINGLE_SYLLABLES else 1
    return {tuple(syl[i : i + size]) for i in range(len(syl) - size + 1)}


def jaccard(a: Item, b: Item) -> float:
    sa, sb = shingles(a.text), shingles(b.text)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def title_ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def title_pairs(titles: dict[str, str], min_ratio: float) -> dict[tuple[str, str], float]:
    """Pairs ``(a, b)``, ``a < b``, of folded titles with ratio >= ``min_ratio``, among titles that
    share their first two or their last two syllables."""
    blocks: dict[tuple[str, ...], list[str]] = {}
    for key, title in titles.items():
        words = title.split()
        if not words:
            continue
        blocks.setdefault(("^", *words[:2]), []).append(key)
        blocks.setdefault(("$", *words[-2:]), []).append(key)
    pairs: dict[tuple[str, str], float] = {}
    for members in blocks.values():
        for a, b in itertools.combinations(sorted(members), 2):
            if (a, b) in pairs:
                continue
            m = difflib.SequenceMatcher(None, titles[a], titles[b], autojunk=False)
            if m.real_quick_ratio() >= min_ratio and m.quick_ratio() >= min_ratio and m.ratio() >= min_ratio:
                pairs[(a, b)] = m.ratio()
    return pairs


def components(pairs: Sequence[tuple[str, str]]) -> list[set[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    out: dict[str, set[str]] = {}
    for x in list(parent):
        out.setdefault(find(x), set()).add(x)
    return list(out.values())


def joined_pairs(groups: dict[str, str], sigs: dict[str, bytes], threshold: float) -> list[tuple[str, str, float]]:
    """Pairs of one group whose estimated similarity reaches ``threshold``: the pairs that join groups."""
    members: dict[str, list[str]] = {}
    for key, rep in groups.items():
        members.setdefault(rep, []).append(key)
    out = []
    for ids in members.values():
        ids.sort()
        matrix = np.frombuffer(b"".join(sigs[i] for i in ids), dtype="<u2").reshape(len(ids), -1)
        for x, y in itertools.combinations(range(len(ids)), 2):
            s = float(np.count_nonzero(matrix[x] == matrix[y])) / matrix.shape[1]
            if s >= threshold:
                out.append((ids[x], ids[y], s))
    return out


@dataclass
class GroupFigures:
    threshold: float
    seconds: float
    groups: dict[str, str]
    largest: int
    joined: list[tuple[str, str, float]]
    recall: dict[str, float]  # share of each subset of the title pairs that is in one group


def same_group(groups: dict[str, str], a: str, b: str) -> bool:
    return a in groups and groups.get(a) == groups.get(b)


def share(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


# ---------------------------------------------------------------------------
# Output


def print_pair(n: int, a: Item, b: Item, est: float, exact: float, ratio: float) -> None:
    print(f"{n:3d}. est {est:.2f}  exact {exact:.2f}  title ratio {ratio:.2f}   {a.id}  |  {b.id}")
    print(f"     A: {a.title}")
    print(f"     B: {b.title}")
    print(f"     A {a.snippet()}")
    print(f"     B {b.snippet()}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--corpus", choices=tuple(ARCHIVES), default="vietnews")
    parser.add_argument("--n", type=int, help="number of clippings (default: all)")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR, help="folder of the archives")
    parser.add_argument("--clippings-dir", type=Path, help="an unpacked clippings/ folder, read instead of the archive")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="for the samples of pairs")
    parser.add_argument("--pairs", type=int, default=40, help="joined pairs to show")
    parser.add_argument("--different-titles", type=int, default=20, help="joined pairs with different titles to show")
    parser.add_argument("--missed", type=int, default=10, help="near-duplicate title pairs not grouped to show")
    parser.add_argument("--title-ratio", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timing-runs", type=int, default=5)
    parser.add_argument("--timing-sample", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.n is not None and args.n < 2:
        parser.error("--n must be at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load_start = os.getloadavg()
    if args.clippings_dir is not None:
        items, skipped = load_folder(args.clippings_dir, args.n)
        source = str(args.clippings_dir)
    else:
        archive = args.corpus_dir / ARCHIVES[args.corpus]
        if not archive.is_file():
            raise SystemExit(f"error: no corpus archive {archive} (use --corpus-dir or --clippings-dir)")
        items, skipped = load_archive(archive, args.n)
        source = str(archive)
    by_id = {it.id: it for it in items}
    text_bytes = [len(it.text.encode("utf-8")) for it in items]

    log(f"signatures of {len(items):,} clippings ...")
    sigs, first_pass, passes = time_signatures(items, args.timing_runs, args.timing_sample)

    log("near-duplicate titles ...")
    start = time.perf_counter()
    folded_titles = {it.id: " ".join(folded_syllables(it.title)) for it in items}
    tpairs = title_pairs(folded_titles, args.title_ratio)
    title_seconds = time.perf_counter() - start
    exact_pairs = [p for p in tpairs if folded_titles[p[0]] == folded_titles[p[1]]]
    near_pairs = [p for p in tpairs if folded_titles[p[0]] != folded_titles[p[1]]]
    exact_title_groups = sum(1 for k in Counter(folded_titles.values()).values() if k > 1)
    clusters = components(list(tpairs))
    cluster_size = {key: len(c) for c in clusters for key in c}
    subsets = {
        "near": near_pairs,
        "same": exact_pairs,
        "in 2s": [p for p in tpairs if cluster_size[p[0]] == 2],
        "all": list(tpairs),
    }

    figures: list[GroupFigures] = []
    for threshold in args.thresholds:
        log(f"group(threshold={threshold}) ...")
        start = time.perf_counter()
        groups = group(sigs, threshold)
        seconds = time.perf_counter() - start
        sizes = Counter(groups.values())
        joined = joined_pairs(groups, sigs, threshold)
        figures.append(
            GroupFigures(
                threshold,
                seconds,
                groups,
                max(sizes.values(), default=0),
                joined,
                {
                    name: share(sum(same_group(groups, a, b) for a, b in pairs), len(pairs))
                    for name, pairs in subsets.items()
                },
            )
        )

    # --- figures
    print(f"# clipsearch.reprints.minhash on {len(items):,} clippings of {source}")
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, load average at start "
        f"{load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, now {os.getloadavg()[0]:.2f}"
    )
    if skipped:
        print(f"skipped {len(skipped)} unreadable files, e.g. {skipped[0]}")
    print(
        f"text (title + lead + body, UTF-8): mean {statistics.mean(text_bytes):,.0f} B, "
        f"median {statistics.median(text_bytes):,.0f} B"
    )
    print(
        f"signature: {NUM_HASHES} x 16-bit MinHash values of {SHINGLE_SYLLABLES}-syllable shingles = "
        f"{SIGNATURE_BYTES} bytes per clipping"
    )
    print(
        f"signature cost: first pass over all {first_pass:,.0f} µs/clipping (cold token cache); "
        f"median of {len(passes)} passes over {min(args.timing_sample, len(items)):,}: "
        f"{statistics.median(passes):,.0f} µs/clipping (passes: {', '.join(f'{p:.0f}' for p in passes)})"
    )
    print()
    print("LSH S-curve: probability that a pair of Jaccard similarity s is a candidate")
    print(f"{'threshold':>9} {'bands x rows':>12} " + " ".join(f"s={s:<4}" for s in S_CURVE_POINTS))
    for threshold in args.thresholds:
        bands, rows = bands_for(threshold)
        probs = " ".join(f"{candidate_probability(s, bands, rows):6.3f}" for s in S_CURVE_POINTS)
        print(f"{threshold:>9} {f'{bands} x {rows}':>12} {probs}")
    print()
    print(
        f"near-duplicate titles (folded, difflib ratio >= {args.title_ratio}): {len(tpairs):,} pairs "
        f"({len(exact_pairs):,} identical, {len(near_pairs):,} near) in {len(clusters):,} clusters "
        f"({sum(len(c) == 2 for c in clusters):,} of 2 titles, largest {max(map(len, clusters), default=0)}); "
        f"{exact_title_groups:,} groups of identical titles ({title_seconds:.1f} s)"
    )
    readme = README_TITLE_CLUSTERS[args.corpus]
    print(
        f"  corpus README, whole corpus of {readme[0]:,}: {readme[1]} near-duplicate clusters, {readme[2]} exact groups"
    )
    print()
    print(
        f"{'threshold':>9} {'group s':>8} {'groups':>7} {'grouped':>8} {'largest':>8} {'joined pairs':>12} "
        f"{'diff. titles':>12} " + " ".join(f"{'recall ' + name:>12}" for name in subsets)
    )
    for f in figures:
        different = sum(1 for a, b, _ in f.joined if (min(a, b), max(a, b)) not in tpairs)
        print(
            f"{f.threshold:>9} {f.seconds:>8.2f} {len(set(f.groups.values())):>7,} {len(f.groups):>8,} "
            f"{f.largest:>8,} {len(f.joined):>12,} {different:>12,} "
            + " ".join(f"{f.recall[name]:>12.1%}" for name in subsets)
        )
    print(
        "  recall: share of the title pairs in one group: near-duplicate titles, identical titles, pairs whose "
        "title cluster has only these 2 titles (a series such as daily horoscopes makes larger ones), all; "
        "diff. titles: joined pairs whose titles are not near-duplicates"
    )

    # --- samples at the chosen threshold
    chosen = next((f for f in figures if f.threshold == args.threshold), None)
    if chosen is None:
        groups = group(sigs, args.threshold)
        chosen = GroupFigures(args.threshold, float("nan"), groups, 0, joined_pairs(groups, sigs, args.threshold), {})
    rng = random.Random(args.seed)
    joined = sorted(chosen.joined)
    sample = rng.sample(joined, min(args.pairs, len(joined)))
    errors: list[float] = []

    def show(title: str, rows: Sequence[tuple[str, str, float]]) -> None:
        print()
        print(title)
        for n, (a, b, est) in enumerate(rows, start=1):
            exact = jaccard(by_id[a], by_id[b])
            errors.append(est - exact)
            ratio = title_ratio(folded_titles[a], folded_titles[b])
            print_pair(n, by_id[a], by_id[b], est, exact, ratio)

    show(f"## {len(sample)} of {len(joined):,} joined pairs at threshold {args.threshold} (seed {args.seed})", sample)
    unlike = [p for p in joined if (p[0], p[1]) not in tpairs]
    unlike_sample = rng.sample(unlike, min(args.different_titles, len(unlike)))
    show(
        f"## {len(unlike_sample)} of {len(unlike):,} joined pairs whose titles are not near-duplicates",
        unlike_sample,
    )
    missed = sorted(p for p in tpairs if not same_group(chosen.groups, *p))
    missed_sample = rng.sample(missed, min(args.missed, len(missed)))
    show(
        f"## {len(missed_sample)} of {len(missed):,} near-duplicate title pairs NOT grouped at {args.threshold}",
        [(a, b, similarity(sigs[a], sigs[b])) for a, b in missed_sample],
    )
    if errors:
        print()
        print(
            f"estimated - exact Jaccard over the {len(errors)} pairs shown: mean {statistics.mean(errors):+.3f}, "
            f"sd {statistics.pstdev(errors):.3f} (MinHash with {NUM_HASHES} values: sd about "
            f"{(0.25 / NUM_HASHES) ** 0.5:.3f} at s = 0.5)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
