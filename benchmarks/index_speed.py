"""Indexing speed, index size, memory and query latency of clipsearch on a real corpus.

Run by hand, never by CI (it takes minutes and needs the corpora in ../shared)::

    python benchmarks/index_speed.py --n 5000 --corpus vietnews
    python benchmarks/index_speed.py --n 5000 --corpus rss --queries 200 --seed 1

What it does, deterministically for a given --n, --corpus, --queries and --seed:

1. Streams the corpus archive(s) with :mod:`tarfile` and extracts the first N
   clippings sorted by member name into a work folder (a temporary folder,
   deleted at the end unless --keep). With ``--corpus both``, N is the TOTAL
   number of clippings, split between the two archives in proportion to their
   sizes (60,000 : 20,000, so 3/4 vietnews and 1/4 rss); each goes into its own
   sub-folder so ids never collide.
2. Times ``clipsearch.build_index([clippings], index, rebuild=True)``: wall
   and CPU seconds, clippings/s, MB/s of raw text (1 MB = 10^6 bytes), size of
   the index folder and its ratio to the raw text, peak RSS of this process.
3. Builds --queries query seeds from the titles of indexed clippings (2-4
   consecutive words of one title) and runs each in three variants: as typed
   (with diacritics), folded without diacritics, and as a "quoted phrase".
   The whole set runs once as a warm-up, then every query is timed on a second
   pass; p50/p95/max latency and the fraction of queries whose source clipping
   is in the top 10 (a sanity check, not a relevance measure) are printed.
4. Times a fresh ``clipsearch query`` process (imports, model load, index
   open, one search) five times and prints the median.

Only the standard library and clipsearch are used. Corpus text never goes
into the repository: the default work folder is outside it.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import clipsearch
from clipsearch.text import fold, normalize

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"
ARCHIVES = {"vietnews": "vietnews-60k.tar.gz", "rss": "rss-20k.tar.gz"}
MEMBER_FOLDER = "clippings"
CLI_SCRIPT = Path(sys.executable).parent / "clipsearch"
VARIANTS = ("as-is", "folded", "phrase")
TOP_K = 10
CLI_RUNS = 5
MB = 1_000_000

# Words of a title as a user would type them: numbers keep their inner
# separators (1.000, 2,5), otherwise runs of letters and digits.
_WORD_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")
# Query operators; lowercase they are ordinary words, which match the same.
_OPERATORS = frozenset({"AND", "OR", "NOT"})


# ---------------------------------------------------------------------------
# Corpus


def clipping_member_name(name: str) -> str | None:
    """The file name of a clipping member (``clippings/<stem>.txt``), or None
    for anything else (folders, nested or hidden files, unsafe paths)."""
    path = PurePosixPath(name)
    if len(path.parts) != 2 or path.parts[0] != MEMBER_FOLDER:
        return None
    base = path.parts[1]
    if base.startswith(".") or not base.endswith(".txt"):
        return None
    return base


def stream_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The members of a tar opened in stream mode (``r|gz``), without the
    list of every member that iterating a TarFile keeps (60,000 TarInfo
    objects would add tens of MB to the peak RSS measured later)."""
    while (member := tar.next()) is not None:
        yield member
        tar.members.clear()  # type: ignore[attr-defined]


def list_clippings(archive: Path) -> list[str]:
    """The clipping member names of ``archive``, sorted (one streaming pass)."""
    names = []
    with tarfile.open(archive, mode="r|gz") as tar:
        for member in stream_members(tar):
            if member.isfile() and clipping_member_name(member.name) is not None:
                names.append(member.name)
    return sorted(names)


def extract_members(archive: Path, wanted: Sequence[str], dest: Path) -> int:
    """Stream ``archive`` and write the ``wanted`` members into ``dest``
    (flat, by file name); stop as soon as all are found. Returns the bytes written."""
    remaining = set(wanted)
    dest.mkdir(parents=True, exist_ok=True)
    written = 0
    with tarfile.open(archive, mode="r|gz") as tar:
        for member in stream_members(tar):
            if member.name not in remaining or not member.isfile():
                continue
            base = clipping_member_name(member.name)
            source = tar.extractfile(member)
            if base is None or source is None:
                continue
            data = source.read()
            (dest / base).write_bytes(data)
            written += len(data)
            remaining.discard(member.name)
            if not remaining:
                break
    if remaining:
        raise SystemExit(f"error: {len(remaining)} members not found in {archive}")
    return written


def split_counts(n: int, sizes: dict[str, int]) -> dict[str, int]:
    """Split ``n`` clippings between corpora in proportion to their sizes
    (largest remainder; each share capped at the corpus size)."""
    total = sum(sizes.values())
    n = min(n, total)
    exact = {name: n * size / total for name, size in sizes.items()}
    counts = {name: int(share) for name, share in exact.items()}
    by_remainder = sorted(sizes, key=lambda name: (-(exact[name] - counts[name]), name))
    for name in by_remainder[: n - sum(counts.values())]:
        counts[name] += 1
    return counts


@dataclass
class Extracted:
    clippings_dir: Path
    files: int
    raw_bytes: int
    seconds: float
    per_corpus: dict[str, int]


def prepare_corpus(corpus: str, corpus_dir: Path, n: int, workdir: Path) -> Extracted:
    """Extract the first ``n`` clippings (sorted by name) of the chosen corpus."""
    start = time.perf_counter()
    names = ["vietnews", "rss"] if corpus == "both" else [corpus]
    listings = {}
    for name in names:
        archive = corpus_dir / ARCHIVES[name]
        if not archive.is_file():
            raise SystemExit(f"error: no corpus archive {archive} (use --corpus-dir)")
        log(f"listing {archive.name} ...")
        listings[name] = list_clippings(archive)
    if corpus == "both":
        counts = split_counts(n, {name: len(members) for name, members in listings.items()})
    else:
        counts = {corpus: min(n, len(listings[corpus]))}
    if sum(counts.values()) < n:
        log(f"warning: only {sum(counts.values()):,} clippings available, not {n:,}")
    clippings_dir = workdir / MEMBER_FOLDER
    raw = 0
    for name in names:
        dest = clippings_dir / name if corpus == "both" else clippings_dir
        log(f"extracting {counts[name]:,} clippings from {ARCHIVES[name]} ...")
        raw += extract_members(corpus_dir / ARCHIVES[name], listings[name][: counts[name]], dest)
    return Extracted(clippings_dir, sum(counts.values()), raw, time.perf_counter() - start, counts)


# ---------------------------------------------------------------------------
# Measuring


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def max_rss_bytes(who: int = resource.RUSAGE_SELF) -> int:
    """Peak resident set size (ru_maxrss) in bytes: KiB on Linux, bytes on macOS."""
    peak = resource.getrusage(who).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def source_state() -> tuple[tuple[str, int, int], ...]:
    """(name, size, mtime) of clipsearch's modules, to notice edits during a run
    (an editable install picks them up in the ``clipsearch query`` processes)."""
    package = Path(clipsearch.__file__).parent
    return tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(package.glob("*.py")))


def source_version() -> str:
    """Where clipsearch is imported from, with its git commit when it is in a checkout."""
    package = Path(clipsearch.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(package), "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(package)
    return f"{package} (git {commit}{', modified' if dirty else ''})"


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) with linear interpolation between ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class BuildFigures:
    report: clipsearch.IndexReport
    wall: float
    cpu: float
    children_cpu: float
    index_bytes: int
    rss_before: int
    rss_after: int
    children_rss: int


def time_build(clippings_dir: Path, index_dir: Path) -> BuildFigures:
    step = 0

    def progress(done: int, total: int) -> None:
        nonlocal step
        if done * 10 >= (step + 1) * total:
            step = done * 10 // total
            log(f"  indexed {done:,}/{total:,}")

    rss_before = max_rss_bytes()
    times_before = os.times()
    cpu_before = time.process_time()
    start = time.perf_counter()
    report = clipsearch.build_index([clippings_dir], index_dir, rebuild=True, progress=progress)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_before
    times_after = os.times()
    children_cpu = (times_after.children_user - times_before.children_user) + (
        times_after.children_system - times_before.children_system
    )
    # No child process ran before the build, so this is its largest worker.
    children_rss = max_rss_bytes(resource.RUSAGE_CHILDREN)
    return BuildFigures(
        report, wall, cpu, children_cpu, folder_bytes(index_dir), rss_before, max_rss_bytes(), children_rss
    )


@dataclass(frozen=True)
class Query:
    variant: str
    text: str
    source_id: str


def title_words(title: str) -> list[str]:
    """The words of a title, after clipsearch's own cleaning (NFC, no
    invisible characters); capitalised operators are lowercased."""
    words = _WORD_RE.findall(normalize(title).text)
    return [w.lower() if w in _OPERATORS else w for w in words]


def make_queries(indexed: Sequence[str], count: int, rng: random.Random) -> list[Query]:
    """``count`` query seeds from titles of the ``indexed`` clipping files,
    each in the three variants. A title with fewer than 2 words is passed over;
    clippings are reused (with another window) when ``count`` exceeds them."""
    order = sorted(indexed)
    rng.shuffle(order)
    queries: list[Query] = []
    seeds = 0
    misses = 0
    i = 0
    while seeds < count and order:
        path = order[i % len(order)]
        i += 1
        clipping = clipsearch.read_clipping(path)
        words = title_words(clipping.title)
        if len(words) < 2:
            misses += 1
            if misses >= len(order):  # a whole round without a usable title
                break
            continue
        misses = 0
        k = rng.randint(2, min(4, len(words)))
        start = rng.randrange(len(words) - k + 1)
        text = " ".join(words[start : start + k])
        queries.append(Query("as-is", text, clipping.id))
        queries.append(Query("folded", fold(text), clipping.id))
        queries.append(Query("phrase", f'"{text}"', clipping.id))
        seeds += 1
    return queries


@dataclass
class QueryFigures:
    open_seconds: float
    first_query_seconds: float
    doc_count: int
    latencies: dict[str, list[float]]
    found: dict[str, int]
    zero_hits: dict[str, int]
    errors: list[str]
    rss_after: int


def time_queries(index_dir: Path, queries: Sequence[Query]) -> QueryFigures:
    latencies: dict[str, list[float]] = {v: [] for v in VARIANTS}
    found = dict.fromkeys(VARIANTS, 0)
    zero_hits = dict.fromkeys(VARIANTS, 0)
    errors: list[str] = []
    start = time.perf_counter()
    with clipsearch.open_index(index_dir) as index:
        open_seconds = time.perf_counter() - start
        doc_count = len(index)
        first_query_seconds = float("nan")
        # Warm-up pass (pyvi's model is already loaded: build_index used it).
        for n, q in enumerate(queries):
            start = time.perf_counter()
            try:
                index.query(q.text, limit=TOP_K)
            except clipsearch.ClipsearchError as exc:
                errors.append(f"{q.text!r}: {exc}")
            if n == 0:
                first_query_seconds = time.perf_counter() - start
        for q in queries:
            start = time.perf_counter()
            try:
                result = index.query(q.text, limit=TOP_K)
            except clipsearch.ClipsearchError:
                continue
            latencies[q.variant].append(time.perf_counter() - start)
            if q.source_id in {hit.id for hit in result.hits}:
                found[q.variant] += 1
            if result.total == 0:
                zero_hits[q.variant] += 1
    return QueryFigures(
        open_seconds, first_query_seconds, doc_count, latencies, found, zero_hits, errors, max_rss_bytes()
    )


# Runs the CLI like the console script does and prints the process's own peak
# RSS (VmHWM) at exit. RUSAGE_CHILDREN cannot be used for this: on Linux a
# child's ru_maxrss includes the RSS of the parent that spawned it (the old
# address space's high-water mark is recorded at exec), i.e. of this benchmark.
_PEAK_RSS_WRAPPER = """
import atexit, sys
def _report():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("VmHWM_KB " + line.split()[1] + "\\n")
atexit.register(_report)
from clipsearch.cli import main
main()
"""


@dataclass
class CliFigures:
    query: str
    seconds: list[float]
    failures: list[str]
    child_peak_rss: int | None


def time_cli(index_dir: Path, query: str) -> CliFigures:
    """Wall time of ``clipsearch query`` in fresh processes, and (one more,
    untimed run, Linux only) the peak RSS of such a process."""
    arguments = ["query", query, "--index-dir", str(index_dir), "--limit", str(TOP_K)]
    env = {**os.environ, "NO_COLOR": "1"}
    seconds: list[float] = []
    failures: list[str] = []
    for _ in range(CLI_RUNS):
        start = time.perf_counter()
        done = subprocess.run([str(CLI_SCRIPT), *arguments], capture_output=True, env=env, check=False)
        seconds.append(time.perf_counter() - start)
        if done.returncode != 0:
            failures.append(f"exit {done.returncode}: {done.stderr.decode('utf-8', 'replace').strip()[:200]}")
    peak: int | None = None
    if Path("/proc/self/status").exists():
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS_WRAPPER, *arguments], capture_output=True, env=env, check=False
        )
        found = re.search(r"^VmHWM_KB (\d+)$", done.stderr.decode("utf-8", "replace"), re.MULTILINE)
        peak = int(found.group(1)) * 1024 if found else None
    return CliFigures(query, seconds, failures, peak)


# ---------------------------------------------------------------------------
# Report


def mb(n: float) -> str:
    return f"{n / MB:,.1f} MB"


def print_table(
    args: argparse.Namespace,
    extracted: Extracted,
    build: BuildFigures,
    queries: QueryFigures,
    cli: CliFigures,
    rss_start: int,
    load_start: tuple[float, float, float],
    source_changed: bool,
) -> None:
    report = build.report
    split = ", ".join(f"{name} {count:,}" for name, count in extracted.per_corpus.items())
    load_end = os.getloadavg()
    lines = [
        "",
        f"clipsearch {clipsearch.__version__} index_speed: corpus {args.corpus} ({split}), seed {args.seed}",
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {_load(load_start)} at start, {_load(load_end)} at end",
        f"clipsearch from {source_version()}",
        "",
        "BUILD  build_index(rebuild=True)",
        f"  clipping files          {extracted.files:,} ({mb(extracted.raw_bytes)} raw text; "
        f"extracted in {extracted.seconds:.1f} s, not timed)",
        f"  indexed                 {len(report.indexed):,} (skipped {len(report.skipped):,}, "
        f"warnings {len(report.warnings):,}; {report.total:,} in the index)",
        f"  wall time               {build.wall:,.1f} s",
        f"  CPU time                {build.cpu + build.children_cpu:,.1f} s = {build.cpu:,.1f} s self + "
        f"{build.children_cpu:,.1f} s worker processes ({(build.cpu + build.children_cpu) / build.wall:.0%} of wall)",
        f"  throughput              {extracted.files / build.wall:,.1f} clippings/s, "
        f"{extracted.raw_bytes / MB / build.wall:.3f} MB/s",
        f"  index size              {mb(build.index_bytes)} ({build.index_bytes / extracted.raw_bytes:.2f} x raw text)",
        f"  peak RSS (self)         {mb(rss_start)} at start, {mb(build.rss_before)} before build, "
        f"{mb(build.rss_after)} after build",
        f"  peak RSS (workers)      {mb(build.children_rss) if build.children_rss else 'no worker processes'}"
        + (
            " (largest one; a forked worker also counts the pages it shares with this process)"
            if build.children_rss
            else ""
        ),
        "",
        f"QUERIES  {queries.doc_count:,} clippings, limit {TOP_K}, timed on the 2nd pass "
        f"(open_index {queries.open_seconds * 1000:.0f} ms; very first query "
        f"{queries.first_query_seconds * 1000:.0f} ms)",
        f"  {'variant':<8} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'top10':>7} {'0 hits':>7}",
    ]
    all_latencies: list[float] = []
    all_found = all_zero = 0
    for variant in VARIANTS:
        values = queries.latencies[variant]
        all_latencies += values
        all_found += queries.found[variant]
        all_zero += queries.zero_hits[variant]
        lines.append(_latency_row(variant, values, queries.found[variant], queries.zero_hits[variant]))
    lines.append(_latency_row("all", all_latencies, all_found, all_zero))
    if queries.errors:
        lines.append(f"  query errors            {len(queries.errors)}: {'; '.join(queries.errors[:3])}")
    lines.append(f"  peak RSS (self)         {mb(queries.rss_after)} after queries")
    lines += [
        "",
        f"COLD CLI  clipsearch query {cli.query!r}  ({len(cli.seconds)} fresh processes, OS file cache warm)",
        f"  median wall             {statistics.median(cli.seconds):.2f} s "
        f"(min {min(cli.seconds):.2f}, max {max(cli.seconds):.2f})",
        f"  peak RSS (child)        {mb(cli.child_peak_rss) if cli.child_peak_rss else 'n/a'} (VmHWM, 1 extra run)",
    ]
    if cli.failures:
        lines.append(f"  failures                {len(cli.failures)}: {cli.failures[0]}")
    if source_changed:
        lines += ["", "WARNING: clipsearch's source files changed during the run; the figures mix versions."]
    print("\n".join(lines))


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def _latency_row(name: str, seconds: Sequence[float], found: int, zero: int) -> str:
    n = len(seconds)
    if not n:
        return f"  {name:<8} {0:>5}"
    ms = [s * 1000 for s in seconds]
    return (
        f"  {name:<8} {n:>5} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} {max(ms):>8.1f} "
        f"{found / n:>7.1%} {zero:>7}"
    )


# ---------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, required=True, help="number of clippings to index (total with 'both')")
    parser.add_argument("--corpus", choices=("vietnews", "rss", "both"), default="vietnews")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR, help="folder of the archives")
    parser.add_argument("--workdir", type=Path, help="new or empty folder to work in (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (clippings and index)")
    parser.add_argument("--queries", type=int, default=200, help="query seeds, each run in 3 variants")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.n < 1 or args.queries < 1:
        parser.error("--n and --queries must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rss_start = max_rss_bytes()
    load_start = os.getloadavg()
    source_at_start = source_state()
    if args.workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="clipsearch-bench-"))
        created = True
    else:
        workdir = args.workdir.resolve()
        if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
            raise SystemExit(f"error: --workdir {workdir} must be a new or empty folder")
        created = not workdir.exists()
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        extracted = prepare_corpus(args.corpus, args.corpus_dir.resolve(), args.n, workdir)
        index_dir = workdir / "index"
        log(f"building the index of {extracted.files:,} clippings ...")
        build = time_build(extracted.clippings_dir, index_dir)
        queries = make_queries(build.report.indexed, args.queries, random.Random(args.seed))
        if not queries:
            raise SystemExit("error: no title to make queries from")
        log(f"running {len(queries):,} queries twice ...")
        query_figures = time_queries(index_dir, queries)
        log(f"timing {CLI_RUNS} cold `clipsearch query` processes ...")
        cli = time_cli(index_dir, queries[0].text)
        changed = source_state() != source_at_start
        print_table(args, extracted, build, query_figures, cli, rss_start, load_start, changed)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        elif created:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            for child in workdir.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
