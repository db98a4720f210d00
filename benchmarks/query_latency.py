"""Query latency of an existing clipsearch index: in process, and from a cold start.

Run by hand, never by CI::

    python benchmarks/query_latency.py --index-dir /path/to/index --queries 200

What it does, deterministically for a given index, --queries, --warm-up and --seed:

1. Draws query seeds from the stored titles of the index's clippings, as
   ``index_speed.py`` does from files: 2-4 consecutive title words, each seed
   run as typed (``as-is``), without diacritics (``folded``) and quoted
   (``phrase``). The warm-up seeds and the timed seeds come from two disjoint
   sets of clippings, so a timed query is never one the caches have seen
   (its frequent syllables may be: that is what a searcher kept open is for).
2. Opens the index once (``clipsearch.open_index``), runs the warm-up set,
   then times each query of the timed set once: ``Index.query(text,
   limit=10)``, hits with snippets, highlights, reprint collapsing and "did
   you mean", as the CLI prints them.
3. Runs ``clipsearch query`` in fresh processes (OS file cache warm) and one
   more run that reports, from inside the process, where its time went:
   imports, opening the index, the query.

Figures: p50 / p95 / max per variant and over all, and the share of queries
whose seed clipping is in the top 10. Standard library and clipsearch only.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import clipsearch
from clipsearch.text.fold import fold
from index_speed import TOP_K, VARIANTS, Query, percentile, source_version, title_words

CLI_SCRIPT = Path(sys.executable).with_name("clipsearch")
CLI_RUNS = 7

# Run in a fresh interpreter: the time of each phase of `clipsearch query`,
# measured inside the process (the rest of the wall time is the
# interpreter's start-up and the printing).
_PHASES = r"""
import os, sys, time
t0 = time.perf_counter()
import clipsearch.cli  # what the console script imports
from clipsearch.search import open_index  # what `query` imports on first use
t1 = time.perf_counter()
index = open_index(sys.argv[1])
t2 = time.perf_counter()
result = index.query(sys.argv[2], limit=10)
t3 = time.perf_counter()
print("PHASES", t1 - t0, t2 - t1, t3 - t2, file=sys.stderr)
"""


def make_seeds(titles: Sequence[tuple[str, str]], count: int, rng: random.Random) -> list[Query]:
    """``count`` seeds (three queries each) from ``(id, title)`` pairs, in order."""
    queries: list[Query] = []
    for clipping_id, title in titles:
        if len(queries) >= 3 * count:
            break
        words = title_words(title)
        if len(words) < 2:
            continue
        k = rng.randint(2, min(4, len(words)))
        start = rng.randrange(len(words) - k + 1)
        text = " ".join(words[start : start + k])
        queries += [
            Query("as-is", text, clipping_id),
            Query("folded", fold(text), clipping_id),
            Query("phrase", f'"{text}"', clipping_id),
        ]
    return queries


def stored_titles(index_dir: Path, rng: random.Random) -> list[tuple[str, str]]:
    """Every ``(id, title)`` of the index, in a shuffled order."""
    from clipsearch.writing.build import open_whoosh_index

    ix = open_whoosh_index(index_dir)
    with ix.searcher() as searcher:
        pairs = sorted((f["id"], f.get("title", "")) for f in searcher.all_stored_fields())
    rng.shuffle(pairs)
    return pairs


def time_in_process(index_dir: Path, warm_up: Sequence[Query], timed: Sequence[Query]) -> dict[str, object]:
    latencies: dict[str, list[float]] = {v: [] for v in VARIANTS}
    found = dict.fromkeys(VARIANTS, 0)
    start = time.perf_counter()
    with clipsearch.open_index(index_dir) as index:
        opened = time.perf_counter() - start
        for q in warm_up:
            index.query(q.text, limit=TOP_K)
        for q in timed:
            start = time.perf_counter()
            result = index.query(q.text, limit=TOP_K)
            latencies[q.variant].append(time.perf_counter() - start)
            shown = {hit.id for hit in result.hits} | {s for hit in result.hits for s in hit.similar}
            found[q.variant] += q.source_id in shown
    return {"open": opened, "latencies": latencies, "found": found}


def time_cli(index_dir: Path, query: str) -> tuple[list[float], list[float]]:
    """Wall seconds of ``clipsearch query`` in fresh processes; and the phases
    (imports, open, query) of one more fresh process."""
    env = {**os.environ, "NO_COLOR": "1"}
    arguments = ["query", query, "--index-dir", str(index_dir), "--limit", str(TOP_K)]
    walls = []
    for _ in range(CLI_RUNS):
        start = time.perf_counter()
        done = subprocess.run([str(CLI_SCRIPT), *arguments], capture_output=True, env=env, check=False)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"clipsearch query failed: {done.stderr.decode('utf-8', 'replace')[:300]}")
    done = subprocess.run(
        [sys.executable, "-c", _PHASES, str(index_dir), query], capture_output=True, env=env, check=False
    )
    phases = []
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("PHASES "):
            phases = [float(x) for x in line.split()[1:]]
    return walls, phases


def _row(name: str, values: Sequence[float], found: int | None = None) -> str:
    ms = [v * 1000 for v in values]
    top = f"{found / len(values):7.1%}" if found is not None and values else ""
    return f"  {name:<8} {len(ms):>5} {statistics.median(ms):>8.1f} {percentile(ms, 95):>8.1f} {max(ms):>8.1f} {top}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=200, help="timed seeds (three queries each)")
    parser.add_argument("--warm-up", type=int, default=200, help="warm-up seeds, from other clippings")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cli-query", default="đầu năm")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    titles = stored_titles(args.index_dir, rng)
    warm_up = make_seeds(titles, args.warm_up, rng)
    used = {q.source_id for q in warm_up}
    timed = make_seeds([t for t in titles if t[0] not in used], args.queries, rng)

    figures = time_in_process(args.index_dir, warm_up, timed)
    walls, phases = time_cli(args.index_dir, args.cli_query)
    latencies: dict[str, list[float]] = figures["latencies"]  # type: ignore[assignment]
    found: dict[str, int] = figures["found"]  # type: ignore[assignment]

    print(f"clipsearch {source_version()} query latency; Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"index {args.index_dir}: {len(titles):,} clippings; load average {os.getloadavg()[0]:.2f} at the end")
    print()
    print(
        f"IN PROCESS  open_index {figures['open'] * 1000:.0f} ms; {len(warm_up)} warm-up queries, "
        f"then {len(timed)} other queries timed once each (limit {TOP_K})"
    )
    print(f"  {'variant':<8} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'top10':>7}")
    for variant in VARIANTS:
        print(_row(variant, latencies[variant], found[variant]))
    print(_row("all", [v for vs in latencies.values() for v in vs], sum(found.values())))
    print()
    print(f"COLD CLI  clipsearch query {args.cli_query!r}, {CLI_RUNS} fresh processes, OS file cache warm")
    print(f"  wall median {statistics.median(walls):.3f} s (min {min(walls):.3f}, max {max(walls):.3f})")
    if phases:
        print(
            "  one more process, inside: imports {:.0f} ms, open_index {:.0f} ms, query {:.0f} ms".format(
                *(p * 1000 for p in phases)
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
