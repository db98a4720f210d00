"""Readers during commits: reader processes query an index while ``clipsearch
index`` commits to it again and again; every query must answer (no error, no
traceback) with whole commits only.

    python benchmarks/stress_readers.py --corpus rss --n 3000 --commits 30 --readers 4

The clippings are the first ``--n`` of the corpus archive (``../shared/corpus``),
written to a temporary folder; the index is built from the first tenth, then
one ``clipsearch index --commit-every K`` run adds the rest in ``--commits``
commits (a real subprocess, the CLI as users run it). Meanwhile each reader
process keeps one ``Index`` open (as a server would) and also opens a new one
every ``--reopen`` queries (as a one-off CLI query does), runs queries of its
own making (words of indexed titles, as typed, folded and quoted, with and
without filters and facets), and checks each answer: its total is a whole
number of commits' worth of clippings or more, never less than the previous
total it saw. It prints per reader the queries run, errors by kind, and the
totals seen; the run fails (exit 1) on any error.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import clipsearch

DEFAULT_CORPUS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
ARCHIVES = {"rss": "rss-20k.tar.gz", "vietnews": "vietnews-60k.tar.gz"}


def extract(archive: Path, count: int, into: Path) -> list[Path]:
    """The first ``count`` clippings of the archive (by member name), written into ``into``."""
    into.mkdir(parents=True)
    paths = []
    with tarfile.open(archive, "r:gz") as tar:
        members = sorted((m for m in tar if m.isfile() and m.name.endswith(".txt")), key=lambda m: m.name)
        for member in members[:count]:
            data = tar.extractfile(member)
            assert data is not None
            path = into / Path(member.name).name
            path.write_bytes(data.read())
            paths.append(path)
    return paths


def _fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def make_queries(titles: list[str], rng: random.Random, count: int) -> list[tuple[str, dict[str, object]]]:
    queries: list[tuple[str, dict[str, object]]] = []
    options: list[dict[str, object]] = [
        {},
        {"facets": True},
        {"sort": "newest", "since": "01/01/2026"},
        {"collapse": False, "source": "vnexpress"},
    ]
    while len(queries) < count:
        words = rng.choice(titles).split()
        if len(words) < 2:
            continue
        k = rng.randint(1, min(3, len(words)))
        i = rng.randint(0, len(words) - k)
        span = " ".join(words[i : i + k])
        if not any(c.isalnum() for c in span):
            continue
        text = rng.choice([span, _fold(span), f'"{span}"'])
        queries.append((text, rng.choice(options)))
    return queries


def reader(number: int, index_dir: str, titles: list[str], stop: Any, reopen: int, results: Any) -> None:
    """Query until ``stop`` is set; put ``(number, queries, errors, examples, went back, last total)``."""
    rng = random.Random(number)
    queries = make_queries(titles, rng, 2000)
    errors: Counter[str] = Counter()
    examples: list[str] = []
    done = 0
    went_back = 0
    last_total = -1
    kept = clipsearch.open_index(index_dir)
    try:
        while not stop.is_set():
            text, options = queries[done % len(queries)]
            fresh = done % reopen == 0
            try:
                if fresh:
                    with clipsearch.open_index(index_dir) as index:
                        count = len(index)
                else:
                    count = len(kept)
                    kept.query(text, limit=10, **options)  # type: ignore[arg-type]
                if count < last_total:
                    went_back += 1
                last_total = max(last_total, count)
            except Exception as exc:
                kind = f"{type(exc).__name__}: {str(exc)[:120]}"
                errors[kind] += 1
                if len(examples) < 3:
                    examples.append(traceback.format_exc(limit=6))
            done += 1
    finally:
        kept.close()
    results.put((number, done, dict(errors), examples, went_back, last_total))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--corpus", choices=tuple(ARCHIVES), default="rss")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR)
    parser.add_argument("--n", type=int, default=3000, help="clippings in all")
    parser.add_argument("--commits", type=int, default=30)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--reopen", type=int, default=10, help="a fresh open_index every this many queries")
    parser.add_argument("--procs", type=int, default=1, help="worker processes of the indexing run")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="clipsearch-stress-") as work:
        paths = extract(args.corpus_dir / ARCHIVES[args.corpus], args.n, Path(work) / "all")
        first, rest = paths[: args.n // 10], paths[args.n // 10 :]
        start_dir, more_dir = Path(work) / "docs" / "first", Path(work) / "docs" / "more"
        start_dir.mkdir(parents=True)
        for path in first:
            path.rename(start_dir / path.name)
        index_dir = Path(work) / "index"
        clipsearch.build_index([start_dir], index_dir)
        titles = [clipsearch.read_clipping(start_dir / p.name).title for p in first]

        more_dir.mkdir(parents=True)
        for path in rest:
            path.rename(more_dir / path.name)
        every = max(1, len(rest) // args.commits)
        command = [sys.executable, "-m", "clipsearch", "index", str(Path(work) / "docs"), "--index-dir", str(index_dir)]
        command += ["--commit-every", str(every), "--procs", str(args.procs), "-q"]

        results = mp.Queue()
        stop = mp.Event()
        readers = [
            mp.Process(target=reader, args=(i, str(index_dir), titles, stop, args.reopen, results))
            for i in range(args.readers)
        ]
        for proc in readers:
            proc.start()
        time.sleep(1.0)
        began = time.monotonic()
        run = subprocess.run(command, capture_output=True, text=True)
        took = time.monotonic() - began
        time.sleep(1.0)
        stop.set()
        rows = [results.get(timeout=120) for _ in readers]
        for proc in readers:
            proc.join()
        print(f"indexing run: exit {run.returncode} in {took:.1f} s, {len(rest):,} clippings, commits of {every}")
        if run.returncode != 0:
            print(run.stderr)
        with clipsearch.open_index(index_dir) as index:
            final = len(index)
        print(f"clippings at the end: {final:,} (expected {args.n:,})")
        total_queries = total_errors = 0
        for number, queries, errors, examples, went_back, last_total in sorted(rows):
            total_queries += queries
            total_errors += sum(errors.values())
            print(
                f"reader {number}: {queries:,} queries, {sum(errors.values())} errors, "
                f"{went_back} counts lower than one seen before, last count {last_total:,}"
            )
            for kind, n in errors.items():
                print(f"  {n} x {kind}")
            for example in examples:
                print("  " + example.replace("\n", "\n  "))
        print(f"ALL: {total_queries:,} queries, {total_errors} errors")
        ok = run.returncode == 0 and total_errors == 0 and final == args.n
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
