"""Indexing speed against the engines a user would pick instead, index size, memory, segmenter speed and
query latency of clipsearch on a real corpus.

Run by hand, never by CI (it takes minutes and needs the corpora in ../shared)::

    pip install -e '.[bench]'   # tantivy, one of the anchors (skipped, with a line saying so, when missing)
    python benchmarks/index_speed.py --n 5000 --corpus vietnews
    python benchmarks/index_speed.py --n 5000 --corpus rss --queries 200 --seed 1
    python benchmarks/index_speed.py --n 1000 --corpus both --no-segmenters   # builds and queries only
    python benchmarks/index_speed.py --n 80000 --corpus both   # everything (pyvi alone takes minutes)

What it does, deterministically for a given --n, --corpus, --queries and --seed
(the same steps in the same order, the same lines; timings aside):

1. Streams the corpus archive(s) with :mod:`tarfile` and extracts the first N
   clippings sorted by member name into a work folder (a temporary folder,
   deleted at the end unless --keep). With ``--corpus both``, N is the TOTAL
   number of clippings, split between the two archives in proportion to their
   sizes (60,000 : 20,000, so 3/4 vietnews and 1/4 rss); each goes into its own
   sub-folder so ids never collide.
2. Builds (--anchors, default; --no-anchors skips them) the anchors a user would
   pick instead, on exactly the extracted files, then clipsearch. Each build runs
   in a fresh process (multiprocessing's 'spawn'), so that its peak RSS is its own
   and nothing one build loads or leaves stays for the next one. The anchors list
   the files with ``find_clipping_files`` and parse them with
   ``clipsearch.read_clipping``, skipping unreadable files and repeated ids as
   ``build_index`` does; listing and parsing are timed, the interpreter start-up
   and the import of the engine's library are not:

   - SQLite FTS5 (standard-library ``sqlite3``): ``fts5(title, lead, body, id
     UNINDEXED, tokenize = "unicode61 remove_diacritics 2")``, the fields as parsed,
     inserted with one ``executemany`` in one transaction (no ``optimize``).
   - tantivy (``pip install -e '.[bench]'``; when it is not installed a line
     says so and the run goes on): title, lead and body as stored text fields
     with the default tokenizer, id stored (``raw``); one writer with a 256 MB
     heap and its default threads, ``commit``, ``wait_merging_threads``.
   - plain Whoosh (--plain-whoosh, default): ``StandardAnalyzer`` on title, lead
     and body, stored, plus a stored unique ``id``; one ``ix.writer(limitmb=256)``
     (one process), ``add_document`` per clipping, one commit.
   - clipsearch: ``clipsearch.build_index([clippings], index, rebuild=True)``
     (one worker process per CPU from --n 501 on: with 500, one process).

   For each: clippings indexed, wall and CPU seconds (the build process's threads
   and the worker processes it waited for), clippings/s, MB/s of raw text
   (1 MB = 10^6 bytes), size of the index on disk and its ratio to the raw text,
   and the build process's own peak RSS (VmHWM); then clipsearch's wall time over
   each anchor's ("clipsearch / FTS5 = 31.20 x"). For clipsearch also the CPU of
   its worker processes and ``ru_maxrss`` of RUSAGE_SELF (on Linux it starts at
   the peak of the process that started the build process: this benchmark's,
   printed) and RUSAGE_CHILDREN (its largest worker).
3. Runs ``build_index`` again, in this process, on the same folder and index (no
   rebuild, nothing changed): wall seconds, share of the full build, and whether
   its report lists every clipping as unchanged.
4. Builds --queries query seeds from the titles of indexed clippings (2-4
   consecutive words of one title) and runs each in three variants: as typed
   (with diacritics), folded without diacritics, and as a "quoted phrase".
   The segmenter's model is loaded first; the whole set runs once as a warm-up,
   then every query is timed on a second pass; p50/p95/max latency and the
   fraction of queries whose source clipping is in the top 10 (a sanity check,
   not a relevance measure) are printed.
5. Times a fresh ``clipsearch query`` process (imports, model load, index
   open, one search) five times and prints the median, and the peak RSS of one
   more such process.
6. (--segmenters, default) Segments every paragraph the index segments (each
   zone of each clipping split by ``clipsearch.text.zones.paragraphs``, after
   ``clipsearch.text.normalize``) with ``pyvi.ViTokenizer.tokenize`` and with
   ``clipsearch.text.segmenter.tokenize_like_pyvi``, in the same order: CPU seconds,
   syllables per CPU-second, paragraphs whose outputs differ (ids only);
   start-up of each in fresh processes and the temporary files they leave; and
   ours on one 10,000- vs one 100,000-syllable paragraph (pyvi, quadratic, on
   2,000 vs 20,000 in a child process with a timeout).

The report ends with a summary of the headline figures against the issue's
targets and a line with the load average (the machine's other load moves the
wall times). Only the standard library, clipsearch, pyvi, Whoosh and (optional)
tantivy are used. Corpus text never goes into the repository: the default work
folder is outside it, and differing paragraphs are reported by id, never text.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import multiprocessing
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path, PurePosixPath

import clipsearch
from clipsearch.errors import ClippingError
from clipsearch.text.fold import fold
from clipsearch.text.normalize import clean, normalize
from clipsearch.writing.build import TIMINGS, IndexReport, find_clipping_files

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"
ARCHIVES = {"vietnews": "vietnews-60k.tar.gz", "rss": "rss-20k.tar.gz"}
MEMBER_FOLDER = "clippings"
CLI_SCRIPT = Path(sys.executable).parent / "clipsearch"
VARIANTS = ("as-is", "folded", "phrase")
TOP_K = 10
CLI_RUNS = 5
MB = 1_000_000

# Segmenter section.
STARTUP_RUNS = 5  # fresh processes per start-up measurement
BATCH_CLIPPINGS = 200  # clippings whose paragraphs go through pyvi, then ours
OURS_SIZES = (10_000, 100_000)  # syllables of the synthetic paragraphs (linearity)
PYVI_SIZES = (2_000, 20_000)  # pyvi is quadratic: never 100,000
LINEAR_RUNS = 5  # best of, for ours (after a warm-up run)
LINEAR_BASE_SYLLABLES = 40  # the repeated paragraph: the first one with this many

# Targets of the issue.
TARGET_SPEED = 1.5  # ours >= 1.5 x pyvi's syllables per CPU-second
TARGET_STARTUP = 0.1  # seconds: import clipsearch.text.segmenter + get_segmenter()
TARGET_LINEAR = 2.0  # per-syllable time 100k / 10k: ~1 is linear, ~10 quadratic
# Issue 16's targets: full build <= 8 x FTS5's wall time at 80,000 clippings, <= 10 x
# FTS5's and <= half plain Whoosh's at 20,000; index <= 1.3 x raw text at 80,000, <= 2 x below.
TARGET_FTS5_RATIO = {80_000: 8.0, 20_000: 10.0}
TARGET_WHOOSH_RATIO = {20_000: 0.5}
TARGET_SIZE_RATIO = {80_000: 1.3, 0: 2.0}


def target_for(targets: dict[int, float], n: int) -> float | None:
    """The target that applies to a run of ``n`` clippings: that of the
    largest size it reaches, None below every size."""
    reached = [size for size in targets if n >= size]
    return targets[max(reached)] if reached else None


TARGET_RERUN = 0.05  # no-change re-run < 5 % of the full build

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


# ---------------------------------------------------------------------------
# Builds: the anchors a user would pick instead, then clipsearch, each in a fresh process

FTS5 = "FTS5"
TANTIVY = "tantivy"
WHOOSH = "plain Whoosh"
CLIPSEARCH = "clipsearch"
ANCHORS = (FTS5, TANTIVY, WHOOSH)
# What each build does, as the report describes it.
ENGINE_SETUP = {
    FTS5: 'sqlite3 fts5(title, lead, body, id UNINDEXED, tokenize = "unicode61 remove_diacritics 2"), '
    "one transaction (executemany)",
    TANTIVY: "title, lead, body: text, stored, default tokenizer; id: stored, raw; "
    "writer(heap 256 MB, default threads), commit, wait_merging_threads",
    WHOOSH: "StandardAnalyzer on title, lead, body (stored) + stored unique id; one ix.writer(limitmb=256)",
    CLIPSEARCH: "build_index([clippings], index, rebuild=True)",
}
# The module each build imports before its timer starts (the import is not timed).
ENGINE_MODULES = {
    FTS5: "sqlite3",
    TANTIVY: "tantivy",
    WHOOSH: "whoosh.index",
    CLIPSEARCH: "clipsearch.writing.build",
}
# Sub-folders of the work folder (clipsearch's index goes into "index").
ANCHOR_FOLDERS = {FTS5: "fts5", TANTIVY: "tantivy", WHOOSH: "whoosh-plain"}
FTS5_FILE = "fts5.sqlite3"
FTS5_CREATE = (
    "CREATE VIRTUAL TABLE clippings USING fts5(title, lead, body, id UNINDEXED, "
    'tokenize = "unicode61 remove_diacritics 2")'
)
FTS5_INSERT = "INSERT INTO clippings(title, lead, body, id) VALUES (?, ?, ?, ?)"
TANTIVY_HEAP = 256 * MB
WHOOSH_LIMIT_MB = 256


class _Progress:
    """Logs ``label done/total`` at every tenth of the work."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.step = label, total, 0

    def __call__(self, done: int) -> None:
        if self.total and done * 10 >= (self.step + 1) * self.total:
            self.step = done * 10 // self.total
            log(f"{self.label} {done:,}/{self.total:,}")


class ParsedClippings:
    """The clippings an anchor indexes: the files ``build_index`` would index,
    listed by ``find_clipping_files`` and parsed by ``clipsearch.read_clipping``
    as they are iterated; a file that cannot be parsed, or whose id came
    earlier, is skipped (and counted), as ``build_index`` does."""

    def __init__(self, clippings_dir: Path, label: str) -> None:
        self.files = find_clipping_files([clippings_dir], IndexReport(""))
        self.label = label
        self.indexed = 0
        self.skipped = 0

    def __iter__(self) -> Iterator[clipsearch.Clipping]:
        seen: set[str] = set()
        progress = _Progress(f"  {self.label}", len(self.files))
        for done, path in enumerate(self.files, start=1):
            try:
                clipping = clipsearch.read_clipping(path)
            except ClippingError:
                self.skipped += 1
            else:
                if clipping.id in seen:
                    self.skipped += 1
                else:
                    seen.add(clipping.id)
                    self.indexed += 1
                    yield clipping
            progress(done)


# Each builder lists, parses and indexes the files, and returns the clippings
# indexed, the files skipped and (clipsearch) the build's report.
BuildOutcome = tuple[int, int, IndexReport | None]


def build_fts5(clippings_dir: Path, index_dir: Path) -> BuildOutcome:
    """SQLite FTS5 (standard-library ``sqlite3``), one transaction."""
    import sqlite3

    index_dir.mkdir(parents=True)
    clippings = ParsedClippings(clippings_dir, FTS5)
    connection = sqlite3.connect(index_dir / FTS5_FILE)
    try:
        connection.execute(FTS5_CREATE)
        with connection:  # one transaction, committed at the end
            connection.executemany(FTS5_INSERT, ((c.title, c.lead, c.body_text, c.id) for c in clippings))
    finally:
        connection.close()
    return clippings.indexed, clippings.skipped, None


def build_tantivy(clippings_dir: Path, index_dir: Path) -> BuildOutcome:
    """tantivy: three stored text fields with the default tokenizer and a
    stored id, one writer with its default threads, one commit."""
    import tantivy  # type: ignore[import-not-found,unused-ignore]

    index_dir.mkdir(parents=True)
    clippings = ParsedClippings(clippings_dir, TANTIVY)
    builder = tantivy.SchemaBuilder()
    for name in ("title", "lead", "body"):
        builder.add_text_field(name, stored=True)
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    index = tantivy.Index(builder.build(), path=str(index_dir))
    writer = index.writer(heap_size=TANTIVY_HEAP)
    for c in clippings:
        writer.add_document(tantivy.Document(title=c.title, lead=c.lead, body=c.body_text, id=c.id))
    writer.commit()
    writer.wait_merging_threads()
    return clippings.indexed, clippings.skipped, None


def build_plain_whoosh(clippings_dir: Path, index_dir: Path) -> BuildOutcome:
    """Whoosh as a user would set it up: ``StandardAnalyzer`` on title, lead
    and body (stored), a stored unique id, one writer with ``limitmb=256``."""
    from whoosh import index as whoosh_index
    from whoosh.analysis import StandardAnalyzer
    from whoosh.fields import ID, TEXT, Schema

    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=StandardAnalyzer(), stored=True),
        lead=TEXT(analyzer=StandardAnalyzer(), stored=True),
        body=TEXT(analyzer=StandardAnalyzer(), stored=True),
    )
    index_dir.mkdir(parents=True)
    clippings = ParsedClippings(clippings_dir, WHOOSH)
    writer = whoosh_index.create_in(str(index_dir), schema).writer(limitmb=WHOOSH_LIMIT_MB)
    for c in clippings:
        writer.add_document(id=c.id, title=c.title, lead=c.lead, body=c.body_text)
    writer.commit()
    return clippings.indexed, clippings.skipped, None


def build_clipsearch(clippings_dir: Path, index_dir: Path) -> BuildOutcome:
    """``clipsearch.build_index``, as a user runs it (worker processes from 501 clippings on)."""
    progress: _Progress | None = None

    def log_progress(done: int, total: int) -> None:
        nonlocal progress
        if progress is None:
            progress = _Progress("  indexed", total)
        progress(done)

    report = clipsearch.build_index([clippings_dir], index_dir, rebuild=True, progress=log_progress)
    return len(report.indexed), len(report.skipped), report


BUILDERS: dict[str, Callable[[Path, Path], BuildOutcome]] = {
    FTS5: build_fts5,
    TANTIVY: build_tantivy,
    WHOOSH: build_plain_whoosh,
    CLIPSEARCH: build_clipsearch,
}


@dataclass
class EngineBuild:
    """One engine's build of the extracted files, measured inside the fresh
    process that ran it (its interpreter start-up and the engine's import excluded)."""

    engine: str
    indexed: int
    skipped: int
    wall: float
    cpu: float  # the build process, all its threads
    children_cpu: float  # the worker processes it started and waited for
    index_bytes: int
    peak_rss: int | None  # VmHWM: the build process's own peak (Linux only)
    rusage_self: int  # ru_maxrss of RUSAGE_SELF: on Linux, at least the starting process's peak
    rusage_children: int  # ru_maxrss of RUSAGE_CHILDREN: its largest worker process
    report: IndexReport | None = None  # clipsearch's

    @property
    def index_report(self) -> IndexReport:
        if self.report is None:
            raise ValueError(f"{self.engine} has no IndexReport")
        return self.report

    @property
    def total_cpu(self) -> float:
        return self.cpu + self.children_cpu


class BuildFailed(Exception):
    """A build process that raised or died."""


def vm_hwm_bytes() -> int | None:
    """This process's own peak RSS (VmHWM of /proc/self/status), or None
    where there is no /proc. Unlike ru_maxrss, it starts afresh at exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def measure_build(engine: str, clippings_dir: Path, index_dir: Path) -> EngineBuild:
    """Run one engine's build in this process and measure it."""
    importlib.import_module(ENGINE_MODULES[engine])
    gc.collect()
    times_before = os.times()
    cpu_before = time.process_time()
    start = time.perf_counter()
    indexed, skipped, report = BUILDERS[engine](clippings_dir, index_dir)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_before
    times_after = os.times()
    children_cpu = (times_after.children_user - times_before.children_user) + (
        times_after.children_system - times_before.children_system
    )
    return EngineBuild(
        engine,
        indexed,
        skipped,
        wall,
        cpu,
        children_cpu,
        folder_bytes(index_dir),
        vm_hwm_bytes(),
        max_rss_bytes(),
        max_rss_bytes(resource.RUSAGE_CHILDREN),
        report,
    )


def _build_child(engine: str, clippings_dir: Path, index_dir: Path, sender: Connection) -> None:
    """The target of a build process: its figures, or why it failed, go back through ``sender``."""
    try:
        result: EngineBuild | str = measure_build(engine, clippings_dir, index_dir)
    except Exception as exc:
        result = f"{type(exc).__name__}: {exc}"
    sender.send(result)
    sender.close()


def build_in_fresh_process(engine: str, clippings_dir: Path, index_dir: Path) -> EngineBuild:
    """``measure_build`` in a new interpreter (multiprocessing's 'spawn'): each
    engine's peak RSS is its own, and nothing one build allocated or loaded
    (pyvi's model, caches) stays for the next one or for the queries."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_build_child, args=(engine, clippings_dir, index_dir, sender), name=f"build {engine}"
    )
    process.start()
    sender.close()
    try:
        result: object = receiver.recv()
    except EOFError:
        result = None
    finally:
        receiver.close()
    process.join()
    if isinstance(result, EngineBuild):
        return result
    raise BuildFailed(str(result) if result else f"the build process exited with code {process.exitcode}")


# ---------------------------------------------------------------------------
# Re-run, queries, cold CLI (in this process)


@dataclass
class RerunFigures:
    report: clipsearch.IndexReport
    wall: float
    cpu: float

    def all_unchanged(self, built: IndexReport) -> bool:
        """Every clipping the full build indexed is reported unchanged, and nothing else happened."""
        r = self.report
        return (
            not r.added
            and not r.updated
            and not r.removed
            and sorted(r.unchanged) == sorted(built.indexed)
            and len(r.skipped) == len(built.skipped)
        )


def time_rerun(clippings_dir: Path, index_dir: Path) -> RerunFigures:
    """``build_index`` again on the same folder and index, nothing changed."""
    cpu_before = time.process_time()
    start = time.perf_counter()
    report = clipsearch.build_index([clippings_dir], index_dir)
    return RerunFigures(report, time.perf_counter() - start, time.process_time() - cpu_before)


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
    # The segmenter's model is loaded before timing, as a build in this
    # process would have loaded it (the build ran in a process of its own).
    from clipsearch.text.segmenter import get_segmenter

    get_segmenter()
    start = time.perf_counter()
    with clipsearch.open_index(index_dir) as index:
        open_seconds = time.perf_counter() - start
        doc_count = len(index)
        first_query_seconds = float("nan")
        # Warm-up pass (the segmenter's model is already loaded).
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
# A command that only reads ends with os._exit, which runs no atexit handler:
# the wrapper reports before it too (written straight to fd 2, as the CLI's
# own stderr is flushed by then).
_PEAK_RSS_WRAPPER = """
import atexit, os
def _report():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                os.write(2, ("VmHWM_KB " + line.split()[1] + "\\n").encode())
def _exit(code, _os_exit=os._exit):
    _report()
    _os_exit(code)
os._exit = _exit
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
# Segmenters: pyvi against clipsearch.text.segmenter


def indexed_paragraphs(clipping: clipsearch.Clipping) -> Iterator[tuple[str, str]]:
    """``(id, text)`` of every paragraph that the index segments into words, as
    ``clipping_document`` and ``analysis.analyse_words`` make them: the zones
    title, lead and body cleaned and joined, each split by ``paragraphs`` and
    normalised. The id is ``<clipping id>:<zone>:<paragraph number in the zone>``."""
    from clipsearch.text.zones import ZONE_MARK, join_zones, paragraphs

    value = join_zones(clean(clipping.title), clean(clipping.lead), clean(clipping.body_text))
    for zone, text in zip(("title", "lead", "body"), value.split(ZONE_MARK), strict=True):
        for number, (_offset, paragraph) in enumerate(paragraphs(text), start=1):
            yield f"{clipping.id}:{zone}:{number}", normalize(paragraph).text


# Start-up in a fresh process, ended by os._exit: no atexit handler or
# finaliser runs, as when a process is killed, so every temporary file it
# made is still there. Imports for the report come after the timing.
_STARTUP_TEMPLATE = """
import os, sys, time
wall, cpu = time.perf_counter(), time.process_time()
{work}
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
import json, tempfile
sys.stdout.write(json.dumps({{"wall": wall, "cpu": cpu, "tempdir": tempfile.gettempdir()}}) + "\\n")
sys.stdout.flush()
os._exit(0)
"""
_STARTUP_OURS = _STARTUP_TEMPLATE.format(
    work="import clipsearch.text.segmenter\nclipsearch.text.segmenter.get_segmenter()"
)
_STARTUP_PYVI = _STARTUP_TEMPLATE.format(work="import pyvi.ViTokenizer")

# pyvi on long paragraphs: arguments are pairs of a file (one paragraph) and
# how many times to segment it; a line of JSON (CPU seconds per time) after
# each, so the sizes done before a timeout are kept.
_PYVI_LONG = """
import json, sys, time
from pyvi import ViTokenizer
for path, repeats in zip(sys.argv[1::2], map(int, sys.argv[2::2])):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    syllables = len(ViTokenizer.ViTokenizer.sylabelize(text)[1])
    cpu = time.process_time()
    for _ in range(repeats):
        ViTokenizer.tokenize(text)
    cpu = (time.process_time() - cpu) / repeats
    print(json.dumps({"syllables": syllables, "cpu": cpu}), flush=True)
"""


@dataclass
class StartupFigures:
    wall: list[float]
    cpu: list[float]
    temp_left: list[str]  # names of the files the processes left in their temporary folder
    failures: list[str]


def time_startup(code: str, scratch: Path, runs: int = STARTUP_RUNS) -> StartupFigures:
    """Run ``code`` in ``runs`` fresh processes, each with a new empty
    temporary folder (TMPDIR) of its own, which it must leave empty."""
    figures = StartupFigures([], [], [], [])
    for _ in range(runs):
        private = Path(tempfile.mkdtemp(prefix="tmpdir-", dir=scratch))
        env = {**os.environ, "TMPDIR": str(private)}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, env=env, cwd=scratch, text=True, check=False
        )
        try:
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            figures.failures.append(f"exit {done.returncode}: {done.stderr.strip()[-200:]}")
            continue
        if result["tempdir"] != str(private):
            figures.failures.append(f"the child's temporary folder is {result['tempdir']}, not {private}")
        figures.wall.append(result["wall"])
        figures.cpu.append(result["cpu"])
        figures.temp_left += sorted(f.name for f in private.iterdir())
        shutil.rmtree(private, ignore_errors=True)
    return figures


def synthetic_paragraph(paragraph: str, syllables: int) -> str:
    """``paragraph`` repeated, joined with spaces, cut after ``syllables``
    syllables as pyvi splits them."""
    from clipsearch.text.segmenter import _PYVI_PATTERN

    ends = [m.end() for m in _PYVI_PATTERN.finditer(paragraph)]
    whole, rest = divmod(syllables, len(ends))
    parts = [paragraph] * whole
    if rest:
        parts.append(paragraph[: ends[rest - 1]])
    return " ".join(parts)


@dataclass
class SegmenterFigures:
    clippings: int = 0
    unreadable: int = 0
    paragraphs: int = 0
    syllables: int = 0
    pyvi_cpu: float = 0.0
    ours_cpu: float = 0.0
    differing: int = 0
    first_differing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pyvi_startup: StartupFigures | None = None
    ours_startup: StartupFigures | None = None
    linear_base: str | None = None  # id of the repeated paragraph
    linear_ours: list[tuple[int, float]] = field(default_factory=list)  # (syllables, CPU seconds)
    linear_pyvi: list[tuple[int, float]] = field(default_factory=list)
    linear_pyvi_note: str = ""

    @property
    def speed_ratio(self) -> float:
        return self.pyvi_cpu / self.ours_cpu if self.ours_cpu else float("nan")

    @property
    def ours_linearity(self) -> float:
        return _per_syllable_ratio(self.linear_ours)

    @property
    def pyvi_linearity(self) -> float:
        return _per_syllable_ratio(self.linear_pyvi)


def _per_syllable_ratio(runs: Sequence[tuple[int, float]]) -> float:
    """Per-syllable time of the larger input over that of the smaller one."""
    if len(runs) < 2 or not runs[0][1] or not runs[0][0] or not runs[1][0]:
        return float("nan")
    (n0, t0), (n1, t1) = runs[0], runs[1]
    return (t1 / n1) / (t0 / n0)


def _segment_all(function: Callable[[str], str], texts: Sequence[str]) -> list[str | None]:
    """``function`` over ``texts``; None where it raised."""
    out: list[str | None] = []
    for text in texts:
        try:
            out.append(function(text))
        except Exception:
            out.append(None)
    return out


def time_segmenters(clippings_dir: Path, scratch: Path, pyvi_timeout: float) -> SegmenterFigures:
    """pyvi and our segmenter over every paragraph the index segments, in the same
    order (batch by batch: pyvi, then ours), then start-up and linearity."""
    scratch.mkdir(parents=True, exist_ok=True)
    figures = SegmenterFigures()
    log(f"segmenters: start-up in {STARTUP_RUNS} fresh processes each ...")
    figures.ours_startup = time_startup(_STARTUP_OURS, scratch)
    figures.pyvi_startup = time_startup(_STARTUP_PYVI, scratch)

    # pyvi unpickles its model into a temporary file, deleted at exit: keep it
    # inside the work folder, so that a killed run leaves nothing in /tmp.
    saved_tempdir = tempfile.tempdir
    tempfile.tempdir = str(scratch)
    try:
        from pyvi import ViTokenizer  # type: ignore[import-untyped]
    finally:
        tempfile.tempdir = saved_tempdir
    from clipsearch.text.segmenter import get_segmenter, tokenize_like_pyvi

    pyvi_tokenize: Callable[[str], str] = ViTokenizer.tokenize
    sylabelize: Callable[[str], tuple[str, list[str]]] = ViTokenizer.ViTokenizer.sylabelize
    get_segmenter()  # loaded before timing, as pyvi's model is by its import
    for warm_up in ("Xin chào Việt Nam.", "Hội nghị bàn về công tác văn phòng cấp ủy."):
        pyvi_tokenize(warm_up)
        tokenize_like_pyvi(warm_up)

    files = find_clipping_files([clippings_dir], IndexReport(str(clippings_dir)))
    progress = _Progress("  segmented the paragraphs of", len(files))
    # (id, text, syllables) of the paragraph to repeat: the first one with
    # LINEAR_BASE_SYLLABLES syllables, else the longest.
    base: tuple[str, str, int] | None = None
    log(f"segmenters: pyvi and ours on the paragraphs of {len(files):,} clippings ...")
    for first in range(0, len(files), BATCH_CLIPPINGS):
        ids: list[str] = []
        texts: list[str] = []
        for path in files[first : first + BATCH_CLIPPINGS]:
            try:
                clipping = clipsearch.read_clipping(path)
            except ClippingError:
                figures.unreadable += 1
                continue
            figures.clippings += 1
            for paragraph_id, text in indexed_paragraphs(clipping):
                ids.append(paragraph_id)
                texts.append(text)
        for paragraph_id, text in zip(ids, texts, strict=True):
            count = len(sylabelize(text)[1])
            figures.syllables += count
            if base is None or (base[2] < LINEAR_BASE_SYLLABLES and count > base[2]):
                base = (paragraph_id, text, count)
        figures.paragraphs += len(texts)

        cpu = time.process_time()
        theirs = _segment_all(pyvi_tokenize, texts)
        figures.pyvi_cpu += time.process_time() - cpu
        cpu = time.process_time()
        ours = _segment_all(tokenize_like_pyvi, texts)
        figures.ours_cpu += time.process_time() - cpu

        for paragraph_id, expected, got in zip(ids, theirs, ours, strict=True):
            if expected is None or got is None:
                figures.errors.append(f"{paragraph_id} ({'pyvi' if expected is None else 'ours'} raised)")
            if expected != got or expected is None:
                figures.differing += 1
                if len(figures.first_differing) < 3:
                    figures.first_differing.append(paragraph_id)
        progress(min(first + BATCH_CLIPPINGS, len(files)))

    if base is not None and base[2] > 0:
        figures.linear_base = base[0]
        _time_linearity(figures, base[1], sylabelize, tokenize_like_pyvi, scratch, pyvi_timeout)
    return figures


def _time_linearity(
    figures: SegmenterFigures,
    paragraph: str,
    sylabelize: Callable[[str], tuple[str, list[str]]],
    ours: Callable[[str], str],
    scratch: Path,
    pyvi_timeout: float,
) -> None:
    log(f"segmenters: ours on {' and '.join(f'{n:,}' for n in OURS_SIZES)} syllables in one paragraph ...")
    texts = [synthetic_paragraph(paragraph, size) for size in OURS_SIZES]
    best = [float("inf")] * len(texts)
    # The objects this process already holds (pyvi's model, Whoosh, ...) are
    # frozen out of the garbage collector: the full collections that a long
    # input triggers would traverse them all, a cost of this benchmark process
    # that made the ratio swing between 1.5 and 2 on a linear segmenter.
    gc.collect()
    gc.freeze()
    try:
        # Every sample segments as many syllables (the short paragraph several
        # times), so that a sample of either size lasts as long and meets as
        # much of the machine's other load; sizes alternate; run 0 warms up.
        for run in range(LINEAR_RUNS + 1):
            for i, (size, text) in enumerate(zip(OURS_SIZES, texts, strict=True)):
                repeats = max(1, OURS_SIZES[-1] // size)
                gc.collect()
                cpu = time.process_time()
                for _ in range(repeats):
                    ours(text)
                if run:
                    best[i] = min(best[i], (time.process_time() - cpu) / repeats)
    finally:
        gc.unfreeze()
    figures.linear_ours = [(len(sylabelize(text)[1]), t) for text, t in zip(texts, best, strict=True)]

    log(f"segmenters: pyvi on {' and '.join(f'{n:,}' for n in PYVI_SIZES)} syllables (timeout {pyvi_timeout:g} s) ...")
    paths = [scratch / f"pyvi-{size}.txt" for size in PYVI_SIZES]
    for size, path in zip(PYVI_SIZES, paths, strict=True):
        path.write_text(synthetic_paragraph(paragraph, size), encoding="utf-8")
    # As for ours, every size segments as many syllables (in one sample only).
    arguments = [
        a for size, path in zip(PYVI_SIZES, paths, strict=True) for a in (str(path), str(PYVI_SIZES[-1] // size))
    ]
    private = Path(tempfile.mkdtemp(prefix="tmpdir-", dir=scratch))  # for pyvi's model file
    env = {**os.environ, "TMPDIR": str(private)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PYVI_LONG, *arguments],
            capture_output=True,
            env=env,
            cwd=scratch,
            text=True,
            timeout=pyvi_timeout,
            check=False,
        )
        stdout = done.stdout
        if done.returncode != 0:
            figures.linear_pyvi_note = f"exit {done.returncode}: {done.stderr.strip()[-200:]}"
        timed_out = False
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        stdout = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
        timed_out = True
    for line in stdout.splitlines():
        try:
            result = json.loads(line)
        except ValueError:  # a line cut by the timeout
            continue
        figures.linear_pyvi.append((int(result["syllables"]), float(result["cpu"])))
    if timed_out and len(figures.linear_pyvi) < len(PYVI_SIZES):
        missing = PYVI_SIZES[len(figures.linear_pyvi)]
        figures.linear_pyvi_note = f"{missing:,} syllables: timed out after {pyvi_timeout:g} s"
    for path in paths:
        path.unlink()
    shutil.rmtree(private, ignore_errors=True)


# ---------------------------------------------------------------------------
# Report


def mb(n: float) -> str:
    return f"{n / MB:,.1f} MB"


@dataclass
class Results:
    extracted: Extracted
    anchors: list[EngineBuild]  # in ANCHORS order, those built
    anchor_notes: dict[str, str]  # anchors not built: why
    build: EngineBuild  # clipsearch's
    rerun: RerunFigures
    queries: QueryFigures
    cli: CliFigures
    segmenters: SegmenterFigures | None
    rss_start: int
    rss_before_builds: int
    load_start: tuple[float, float, float]
    source_changed: bool

    def anchor(self, engine: str) -> EngineBuild | None:
        return next((a for a in self.anchors if a.engine == engine), None)


def _peak(build: EngineBuild) -> int:
    """A build process's own peak RSS (VmHWM), else its ru_maxrss."""
    return build.peak_rss if build.peak_rss is not None else build.rusage_self


def _builds_lines(res: Results) -> list[str]:
    """The comparison of the builds: what each engine does, its figures, clipsearch's ratio to each."""
    extracted, build = res.extracted, res.build
    raw = extracted.raw_bytes
    lines = [
        f"BUILDS  the same {extracted.files:,} clipping files ({mb(raw)} raw text), each engine in a fresh process; "
        "wall and CPU include listing and parsing the files",
    ]
    for engine in (*ANCHORS, CLIPSEARCH):
        lines.append(f"  {engine:<22}  {res.anchor_notes.get(engine, ENGINE_SETUP[engine])}")
    lines.append(
        f"  {'engine':<14} {'indexed':>8} {'wall s':>8} {'CPU s':>8} {'clippings/s':>12} {'MB/s':>7} "
        f"{'index MB':>9} {'x raw':>6} {'peak RSS':>10} {'largest worker':>14}"
    )
    for b in (*res.anchors, build):
        lines.append(
            f"  {b.engine:<14} {b.indexed:>8,} {b.wall:>8.2f} {b.total_cpu:>8.2f} {b.indexed / b.wall:>12,.1f} "
            f"{raw / MB / b.wall:>7.3f} {b.index_bytes / MB:>9.1f} {b.index_bytes / raw:>6.2f} {mb(_peak(b)):>10} "
            f"{mb(b.rusage_children) if b.rusage_children else '-':>14}"
        )
    lines.append(
        "  (CPU: the build process's threads and its worker processes; peak RSS: the build process's own (VmHWM); "
        "largest worker: RUSAGE_CHILDREN)"
    )
    if res.anchors:
        lines.append(
            "  wall time               "
            + ", ".join(f"clipsearch / {a.engine} = {build.wall / a.wall:.2f} x" for a in res.anchors)
        )
    if any(a.indexed != build.indexed or a.skipped != build.skipped for a in res.anchors):
        lines.append("  WARNING: the engines did not all index the same clippings (see indexed)")
    return lines


def _breakdown_lines(report: IndexReport, wall: float) -> list[str]:
    """Where the build's time went, as ``build_index`` reports it."""
    timings = report.timings
    if not timings:
        return []
    lines = ["  breakdown (build process wall time; analysis in CPU seconds wherever it ran):"]
    for part, meaning in TIMINGS.items():
        seconds = timings.get(part, 0.0)
        share = "" if part == "analysis" else f" {seconds / wall:5.1%}"
        lines.append(f"    {part:<12} {seconds:8.1f} s{share:>7}  {meaning}")
    return lines


def print_table(args: argparse.Namespace, res: Results) -> None:
    extracted, build, rerun, queries, cli = res.extracted, res.build, res.rerun, res.queries, res.cli
    report = build.index_report
    plain = res.anchor(WHOOSH)
    split = ", ".join(f"{name} {count:,}" for name, count in extracted.per_corpus.items())
    load_end = os.getloadavg()
    lines = [
        "",
        f"clipsearch {clipsearch.__version__} index_speed: corpus {args.corpus} ({split}), seed {args.seed}",
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {_load(res.load_start)} at start, {_load(load_end)} at end",
        f"clipsearch from {source_version()}",
        "",
        *_builds_lines(res),
        "",
        "BUILD  clipsearch build_index(rebuild=True), in a fresh process",
        f"  clipping files          {extracted.files:,} ({mb(extracted.raw_bytes)} raw text; "
        f"extracted in {extracted.seconds:.1f} s, not timed)",
        f"  indexed                 {len(report.indexed):,} (skipped {len(report.skipped):,}, "
        f"warnings {len(report.warnings):,}; {report.total:,} in the index)",
        f"  wall time               {build.wall:,.1f} s"
        + (f" = {build.wall / plain.wall:.2f} x plain Whoosh" if plain else ""),
        f"  CPU time                {build.total_cpu:,.1f} s = {build.cpu:,.1f} s build process + "
        f"{build.children_cpu:,.1f} s worker processes ({build.total_cpu / build.wall:.0%} of wall)",
        f"  throughput              {extracted.files / build.wall:,.1f} clippings/s, "
        f"{extracted.raw_bytes / MB / build.wall:.3f} MB/s",
        f"  index size              {mb(build.index_bytes)} ({build.index_bytes / extracted.raw_bytes:.2f} x raw text)",
        *_breakdown_lines(report, build.wall),
        f"  peak RSS (build)        RUSAGE_SELF {mb(build.rusage_self)}, VmHWM "
        f"{mb(build.peak_rss) if build.peak_rss is not None else 'n/a'} (ru_maxrss starts at the peak of the "
        f"process that started it, {mb(res.rss_before_builds)}; VmHWM is its own)",
        "  peak RSS (workers)      "
        + (
            f"RUSAGE_CHILDREN {mb(build.rusage_children)} (the largest worker; a forked worker also counts the "
            "pages it shares with the build process)"
            if build.rusage_children
            else "RUSAGE_CHILDREN 0: no worker processes"
        ),
        f"  peak RSS (benchmark)    {mb(res.rss_start)} at start, {mb(res.rss_before_builds)} before the builds",
        "",
        "RE-RUN  build_index again on the same folder and index, nothing changed",
        f"  wall time               {rerun.wall:,.2f} s = {rerun.wall / build.wall:.1%} of the full build "
        f"(CPU {rerun.cpu:,.2f} s)",
        f"  report                  {_rerun_counts(rerun, extracted.files)}: "
        + ("all unchanged" if rerun.all_unchanged(report) else "NOT all unchanged"),
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
    if res.segmenters is not None:
        lines += ["", *_segmenter_lines(res.segmenters)]
    lines += ["", *_summary_lines(res)]
    if res.source_changed:
        lines += ["", "WARNING: clipsearch's source files changed during the run; the figures mix versions."]
    lines += [
        "",
        f"Load average {_load(os.getloadavg())} (1, 5, 15 min) at the end, on {os.cpu_count()} CPUs: "
        "wall times move with the machine's other load; compare runs made on the same machine.",
    ]
    print("\n".join(lines))


def _rerun_counts(rerun: RerunFigures, files: int) -> str:
    r = rerun.report
    return (
        f"unchanged {len(r.unchanged):,}/{files:,}, added {len(r.added):,}, updated {len(r.updated):,}, "
        f"removed {len(r.removed):,}, skipped {len(r.skipped):,}"
    )


def _seconds(values: Sequence[float]) -> str:
    """Median of start-up times, with min and max."""
    if not values:
        return "n/a"
    return f"{statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def _per_syllable(runs: Sequence[tuple[int, float]]) -> str:
    return ", ".join(f"{n:,} syl. {t:.3f} s = {t / n * 1e6:.1f} µs/syl." for n, t in runs if n)


def _segmenter_lines(seg: SegmenterFigures) -> list[str]:
    ours_startup = seg.ours_startup or StartupFigures([], [], [], [])
    pyvi_startup = seg.pyvi_startup or StartupFigures([], [], [], [])
    lines = [
        "SEGMENTER  pyvi.ViTokenizer.tokenize vs clipsearch.text.segmenter.tokenize_like_pyvi on every paragraph "
        "the index segments",
        f"  input                   {seg.paragraphs:,} paragraphs of {seg.clippings:,} clippings "
        f"(unreadable {seg.unreadable:,}), {seg.syllables:,} syllables (pyvi's sylabelize)",
        f"  pyvi                    {seg.pyvi_cpu:,.1f} CPU s, {_rate(seg.syllables, seg.pyvi_cpu)} syllables/CPU-s",
        f"  ours                    {seg.ours_cpu:,.1f} CPU s, {_rate(seg.syllables, seg.ours_cpu)} syllables/CPU-s "
        f"= {seg.speed_ratio:.2f} x pyvi",
        f"  outputs differing       {seg.differing:,} of {seg.paragraphs:,} paragraphs"
        + (f" (first: {', '.join(seg.first_differing)})" if seg.first_differing else ""),
    ]
    if seg.errors:
        lines.append(f"  exceptions              {len(seg.errors):,} (first: {', '.join(seg.errors[:3])})")
    lines += [
        f"  start-up, ours          {_seconds(ours_startup.wall)}: import clipsearch.text.segmenter, get_segmenter()",
        f"  start-up, pyvi          {_seconds(pyvi_startup.wall)}: import pyvi.ViTokenizer",
        f"                          (wall time inside {STARTUP_RUNS} fresh processes each, median)",
        f"  temp files left         ours {len(ours_startup.temp_left)}, pyvi {len(pyvi_startup.temp_left)} "
        "(in each process's own TMPDIR, after an exit without clean-up: os._exit)",
    ]
    for name, startup in (("ours", ours_startup), ("pyvi", pyvi_startup)):
        if startup.failures:
            lines.append(f"  start-up failures       {name} {len(startup.failures)}: {startup.failures[0]}")
    if seg.linear_base is None:
        lines.append("  linearity               n/a (no paragraph to repeat)")
    else:
        lines += [
            f"  linearity               paragraph {seg.linear_base} repeated, joined with spaces; ratio = "
            "time/syllable of the long input over the short one (1 = linear, 10 = quadratic)",
            f"    ours                  {_per_syllable(seg.linear_ours)}: ratio {seg.ours_linearity:.2f}",
            f"    pyvi                  {_per_syllable(seg.linear_pyvi) or 'n/a'}"
            + (f": ratio {seg.pyvi_linearity:.2f}" if len(seg.linear_pyvi) > 1 else "")
            + (f" ({seg.linear_pyvi_note})" if seg.linear_pyvi_note else ""),
        ]
    return lines


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds else "n/a"


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def _summary_lines(res: Results) -> list[str]:
    """Every headline figure on one line each, with the issue's target where it states one."""
    build, rerun, extracted, seg = res.build, res.rerun, res.extracted, res.segmenters
    plain = res.anchor(WHOOSH)
    rows: list[tuple[str, str, str, bool | None]] = []
    if seg is not None:
        ours_startup = seg.ours_startup or StartupFigures([], [], [], [])
        pyvi_startup = seg.pyvi_startup or StartupFigures([], [], [], [])
        ours_start = statistics.median(ours_startup.wall) if ours_startup.wall else float("nan")
        temp_left = len(ours_startup.temp_left)
        rows += [
            ("pyvi: CPU, syllables/CPU-s", f"{seg.pyvi_cpu:,.1f} s, {_rate(seg.syllables, seg.pyvi_cpu)}", "", None),
            ("pyvi: import (fresh process)", _seconds(pyvi_startup.wall).split(" (")[0], "", None),
            ("ours: CPU, syllables/CPU-s", f"{seg.ours_cpu:,.1f} s, {_rate(seg.syllables, seg.ours_cpu)}", "", None),
            (
                "ours / pyvi syllables/CPU-s",
                f"{seg.speed_ratio:.2f} x",
                f">= {TARGET_SPEED:g} x",
                seg.speed_ratio >= TARGET_SPEED,
            ),
            (
                "ours: start-up (fresh process)",
                f"{ours_start:.3f} s",
                f"< {TARGET_STARTUP:g} s",
                ours_start < TARGET_STARTUP and not ours_startup.failures,
            ),
            (
                "ours: temp files left",
                f"{temp_left}",
                "0",
                temp_left == 0 and bool(ours_startup.wall) and not ours_startup.failures,
            ),
            (
                "ours: paragraphs unlike pyvi",
                f"{seg.differing:,} of {seg.paragraphs:,}",
                "0",
                seg.differing == 0 and not seg.errors,
            ),
            (
                "ours: time/syllable 100k / 10k",
                f"{seg.ours_linearity:.2f}",
                f"~1, linear (<= {TARGET_LINEAR:g})",
                seg.ours_linearity <= TARGET_LINEAR if seg.linear_ours else None,
            ),
            (
                "pyvi: time/syllable 20k / 2k",
                f"{seg.pyvi_linearity:.2f}" if len(seg.linear_pyvi) > 1 else seg.linear_pyvi_note or "n/a",
                "",
                None,
            ),
        ]
    for anchor in res.anchors:
        rows.append(
            (
                f"{anchor.engine} build",
                f"{anchor.wall:,.1f} s, {anchor.indexed / anchor.wall:,.0f} docs/s, "
                f"{anchor.index_bytes / extracted.raw_bytes:.2f} x raw",
                "",
                None,
            )
        )
    build_ratio = build.wall / plain.wall if plain is not None else float("nan")
    fts5_target = target_for(TARGET_FTS5_RATIO, extracted.files)
    whoosh_target = target_for(TARGET_WHOOSH_RATIO, extracted.files)
    size_target = target_for(TARGET_SIZE_RATIO, extracted.files)
    size_ratio = build.index_bytes / extracted.raw_bytes
    rerun_share = rerun.wall / build.wall
    rows += [
        (
            "clipsearch full build",
            f"{build.wall:,.1f} s, {extracted.files / build.wall:,.0f} docs/s, "
            f"{extracted.raw_bytes / MB / build.wall:.3f} MB/s",
            "",
            None,
        ),
        (
            "full build / plain Whoosh",
            f"{build_ratio:.2f} x" if plain is not None else f"n/a ({res.anchor_notes.get(WHOOSH, 'not built')})",
            f"<= {whoosh_target:g} x" if whoosh_target is not None else "",
            build_ratio <= whoosh_target if plain is not None and whoosh_target is not None else None,
        ),
        *(
            (
                f"full build / {anchor.engine}",
                f"{build.wall / anchor.wall:.2f} x",
                f"<= {fts5_target:g} x" if anchor.engine == FTS5 and fts5_target is not None else "",
                build.wall / anchor.wall <= fts5_target if anchor.engine == FTS5 and fts5_target is not None else None,
            )
            for anchor in res.anchors
            if anchor.engine != WHOOSH
        ),
        (
            "index size / raw text",
            f"{size_ratio:.2f} x ({mb(build.index_bytes)})",
            f"<= {size_target:g} x" if size_target is not None else "",
            size_ratio <= size_target if size_target is not None else None,
        ),
        (
            "no-change re-run",
            f"{rerun.wall:,.2f} s = {rerun_share:.1%} of full",
            f"< {TARGET_RERUN:.0%}",
            rerun_share < TARGET_RERUN,
        ),
        (
            "re-run: unchanged / files",
            f"{len(rerun.report.unchanged):,} / {extracted.files:,}",
            "all",
            rerun.all_unchanged(build.index_report),
        ),
        (
            "peak RSS: build, largest worker",
            f"{mb(_peak(build))}, {mb(build.rusage_children) if build.rusage_children else 'none'}",
            "",
            None,
        ),
    ]
    width = max(len(value) for _, value, _, _ in rows)
    lines = [f"SUMMARY  ({extracted.files:,} clippings)", f"  {'':<31} {'value':<{width}}  {'target':<20} "]
    lines[-1] = lines[-1].rstrip()
    for label, value, target, ok in rows:
        lines.append(f"  {label:<31} {value:<{width}}  {target:<20} {_verdict(ok)}".rstrip())
    return lines


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
    parser.add_argument(
        "--segmenters",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="pyvi vs clipsearch.text.segmenter on every paragraph: speed, same output, start-up, temp files, "
        "linearity",
    )
    parser.add_argument(
        "--anchors",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="before clipsearch, build SQLite FTS5, tantivy (if installed) and plain Whoosh indexes of the same "
        "files, each in a fresh process, and compare",
    )
    parser.add_argument(
        "--plain-whoosh",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="among the anchors, plain Whoosh (limitmb=256, fields stored), the baseline of the full build's target",
    )
    parser.add_argument(
        "--pyvi-timeout",
        type=float,
        default=300.0,
        help="seconds allowed for pyvi on the 2,000- and 20,000-syllable paragraphs (default 300)",
    )
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
        rss_before_builds = max_rss_bytes()
        anchors, anchor_notes = build_anchors(extracted, workdir, args.anchors, args.plain_whoosh)
        index_dir = workdir / "index"
        log(f"{CLIPSEARCH}: building the index of {extracted.files:,} clippings in a fresh process ...")
        try:
            build = build_in_fresh_process(CLIPSEARCH, extracted.clippings_dir, index_dir)
        except BuildFailed as exc:
            raise SystemExit(f"error: the clipsearch build failed: {exc}") from None
        log("re-running build_index with nothing changed ...")
        rerun = time_rerun(extracted.clippings_dir, index_dir)
        queries = make_queries(build.index_report.indexed, args.queries, random.Random(args.seed))
        if not queries:
            raise SystemExit("error: no title to make queries from")
        log(f"running {len(queries):,} queries twice ...")
        query_figures = time_queries(index_dir, queries)
        log(f"timing {CLI_RUNS} cold `clipsearch query` processes ...")
        cli = time_cli(index_dir, queries[0].text)
        segmenters = None
        if args.segmenters:
            segmenters = time_segmenters(extracted.clippings_dir, workdir / "segmenters", args.pyvi_timeout)
        changed = source_state() != source_at_start
        results = Results(
            extracted,
            anchors,
            anchor_notes,
            build,
            rerun,
            query_figures,
            cli,
            segmenters,
            rss_start,
            rss_before_builds,
            load_start,
            changed,
        )
        print_table(args, results)
    finally:
        clean_up_workdir(workdir, created, args.keep)
    return 0


def build_anchors(
    extracted: Extracted, workdir: Path, anchors: bool, plain_whoosh: bool
) -> tuple[list[EngineBuild], dict[str, str]]:
    """The anchors' builds of the extracted files, in ANCHORS order, each in a
    fresh process; and for each one not built, why (skipped, not installed, failed)."""
    built: list[EngineBuild] = []
    notes: dict[str, str] = {}
    for engine in ANCHORS:
        if not anchors:
            notes[engine] = "skipped: --no-anchors"
        elif engine == WHOOSH and not plain_whoosh:
            notes[engine] = "skipped: --no-plain-whoosh"
        elif importlib.util.find_spec(ENGINE_MODULES[engine].split(".")[0]) is None:
            notes[engine] = "not installed, skipped: pip install -e '.[bench]'"
            log(f"{engine}: {notes[engine]}")
        else:
            log(f"{engine}: building an index of {extracted.files:,} clippings in a fresh process ...")
            try:
                built.append(build_in_fresh_process(engine, extracted.clippings_dir, workdir / ANCHOR_FOLDERS[engine]))
            except BuildFailed as exc:
                notes[engine] = f"FAILED: {exc}"
                log(f"{engine}: FAILED: {exc}")
    return built, notes


def clean_up_workdir(workdir: Path, created: bool, keep: bool) -> None:
    """Delete the work folder (or, if the user gave it, its contents) unless kept."""
    if keep:
        log(f"kept {workdir}")
    elif created:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        for child in workdir.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()


if __name__ == "__main__":
    sys.exit(main())
