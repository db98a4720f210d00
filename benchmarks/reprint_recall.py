"""Recall of reprint grouping on synthetic reprints of real articles.

Run by hand, never by CI (it reads the unpacked vietnews-60k clippings)::

    python benchmarks/reprint_recall.py --clippings-dir /path/to/vietnews/clippings

For N articles drawn with a fixed seed, a "reprint" is made the way newsrooms
re-publish wire copy: another title, the lead dropped, a sentence added at the
end, and a share of the body's words replaced (scattered, the hardest case for
shingles). Prints, for each share, how many article/reprint pairs
:func:`clipsearch.reprints.minhash.group` joins at the index's threshold
(:data:`clipsearch.reprints.grouping.REPRINT_THRESHOLD`), and how many pairs of different
articles it joins. No corpus text is written anywhere.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import clipsearch
from clipsearch.reprints.grouping import REPRINT_THRESHOLD
from clipsearch.reprints.minhash import group, signature

FILLERS = ["và", "của", "Nguyễn", "được", "theo"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clippings-dir", type=Path, required=True)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.02, 0.05, 0.10, 0.15])
    parser.add_argument("--threshold", type=float, default=REPRINT_THRESHOLD)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    files = sorted(args.clippings_dir.glob("*.txt"))
    articles = [clipsearch.read_clipping(p) for p in rng.sample(files, min(args.n, len(files)))]
    print(f"{len(articles)} articles from {args.clippings_dir}, threshold {args.threshold}")
    for share in args.shares:
        signatures = {}
        for n, article in enumerate(articles):
            body = "\n\n".join(article.body)
            signatures[f"a{n}"] = signature(article.title, article.lead, body)
            words = body.split()
            for _ in range(int(len(words) * share)):
                words[rng.randrange(len(words))] = rng.choice(FILLERS)
            edited = " ".join(words) + " Thêm một đoạn văn ngắn ở cuối bài."
            signatures[f"r{n}"] = signature("Một tiêu đề khác", "", edited)
        groups = group(signatures, args.threshold)
        joined = sum(1 for n in range(len(articles)) if f"a{n}" in groups and groups[f"a{n}"] == groups.get(f"r{n}"))
        wrong = sum(1 for a, ga in groups.items() for b, gb in groups.items() if a < b and ga == gb and a[1:] != b[1:])
        print(
            f"  new title, lead dropped, sentence added, {share:>4.0%} of body words replaced: "
            f"{joined}/{len(articles)} reprints grouped; pairs of different articles joined: {wrong}"
        )


if __name__ == "__main__":
    main()
