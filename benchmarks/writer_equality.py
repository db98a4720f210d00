"""Do two indexes of the same clippings give the same answers?

Built to check a new index writer against the one before it: build an index
of a folder of clippings with each (for example the current checkout and a
``git worktree`` of an earlier commit, each with ``PYTHONPATH`` set to its
``src``), then run this with the current code on both. It asks both the same
queries, made from the clippings' stored titles as ``query_latency.py`` makes
them (as typed, folded, quoted), with and without filters, facets, date
sorting and reprint collapse, and compares, query by query, the totals, the
ranked ids, the scores (to ``--tolerance``), the snippets and highlights,
the suggestions and the facet counts.

    python benchmarks/writer_equality.py OLD_INDEX NEW_INDEX --queries 300

Exit status 0 when every answer is the same (clippings of equal score may
come in another order: ties are broken by document number), 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clipsearch
from query_latency import make_seeds, stored_titles

#: The options each query is asked with, besides plain relevance.
OPTIONS: list[dict[str, Any]] = [
    {},
    {"collapse": False, "limit": 20},
    {"facets": True},
    {"sort": "newest"},
    {"since": "2019-01-01", "until": "2022-12-31"},
]


#: What :func:`_difference` says of two answers whose only difference is the
#: order of clippings of equal score (ties are broken by document number,
#: which depends on how the writer numbered the clippings).
TIES = "ties in another order"


def _difference(old_result: Any, new_result: Any, tolerance: float) -> str | None:
    """What differs between two answers (None: nothing beyond the tolerance)."""
    old, new = old_result.to_dict(), new_result.to_dict()
    for key in ("total", "corrected", "suggestion", "facets"):
        if old.get(key) != new.get(key):
            return f"{key}: {old.get(key)!r} != {new.get(key)!r}"
    old_hits, new_hits = old["hits"], new["hits"]
    if len(old_hits) != len(new_hits):
        return f"{len(old_hits)} hits != {len(new_hits)}"
    for hit_a, hit_b in zip(old_result.hits, new_result.hits, strict=True):
        if abs(hit_a.score - hit_b.score) > tolerance:
            return f"score at the place of {hit_a.id}: {hit_a.score!r} != {hit_b.score!r} ({hit_b.id})"
    if [h["id"] for h in old_hits] != [h["id"] for h in new_hits]:
        # the same scores, place by place: clippings of equal score in another order
        by_id = {hit.id: hit.score for hit in old_result.hits}
        if all(abs(by_id.get(hit.id, -1.0) - hit.score) <= tolerance for hit in new_result.hits):
            return TIES
        return f"ids: {[h['id'] for h in old_hits]} != {[h['id'] for h in new_hits]}"
    old_hits = sorted(old_hits, key=lambda h: h["id"])
    new_hits = sorted(new_hits, key=lambda h: h["id"])
    for a, b in zip(old_hits, new_hits, strict=True):
        for key in ("snippet", "highlights", "similar", "title", "date", "source", "path"):
            if a[key] != b[key]:
                return f"{key} of {a['id']}: {a[key]!r} != {b[key]!r}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="index written by the writer before")
    parser.add_argument("new", type=Path, help="index of the same clippings written by the new writer")
    parser.add_argument("--queries", type=int, default=300, help="query seeds, each in 3 variants")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=1e-6, help="largest score difference taken as equal")
    parser.add_argument("--show", type=int, default=10, help="differences shown")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    seeds = make_seeds(stored_titles(args.old, rng), args.queries, rng)
    asked: Counter[str] = Counter()
    differ: list[tuple[str, dict[str, Any], str]] = []
    with clipsearch.open_index(args.old) as old, clipsearch.open_index(args.new) as new:
        if len(old) != len(new):
            print(f"the indexes hold {len(old):,} and {len(new):,} clippings")
            return 1
        for seed in seeds:
            for options in OPTIONS:
                kind = f"{seed.variant} {','.join(options) or 'relevance'}"
                asked[kind] += 1
                a = old.query(seed.text, **{"limit": 10, **options})
                b = new.query(seed.text, **{"limit": 10, **options})
                found = _difference(a, b, args.tolerance)
                if found is not None:
                    differ.append((seed.text, options, found))
    total = sum(asked.values())
    ties = [d for d in differ if d[2] == TIES]
    other = [d for d in differ if d[2] != TIES]
    print(f"{total:,} queries ({len(seeds)} seeds x {len(OPTIONS)} option sets) on {args.old} and {args.new}:")
    print(f"  same answers                       {total - len(differ):,}")
    print(f"  the same but ties in another order {len(ties):,}")
    print(f"  different                          {len(other):,}")
    for text, options, found in (other + ties)[: args.show]:
        print(f"    {text!r} {options}: {found}")
    return 0 if not other else 1


if __name__ == "__main__":
    raise SystemExit(main())
