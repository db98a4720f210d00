"""Load on ``clipsearch serve``: concurrent clients on 127.0.0.1, then the
same while ``clipsearch index`` adds clippings to the index being served.

Run by hand, never by CI::

    python benchmarks/serve_load.py --index-dir /path/to/80k-index --duration 60 --clients 8 32 --add 5000

What it does:

1. Copies the index to a temporary folder (the one given is never written)
   and starts ``clipsearch serve`` on it (a real subprocess, a free port).
2. Makes a mix of requests from the index's own stored titles (2-4
   consecutive title words, as typed, without diacritics and quoted, as
   ``query_latency.py`` does): ``/api/search`` alone, with a source or a
   month filter and with facets; the search page ``/`` with the same
   queries; and ``/api/clippings/ID``. Deterministic for a given ``--seed``.
3. For each ``--clients`` count, that many keep-alive connections (asyncio,
   spread over two client processes) send requests back to back for
   ``--duration`` seconds. It prints requests/s, p50/p95/p99/max latency and
   errors (any status but 200, any broken connection), over all and per
   kind of request.
4. Writes the first ``--add`` clippings of the RSS archive under new names,
   runs ``clipsearch index`` on them against the served index, and runs the
   same load (``--during-clients``) until that run ends; then checks the
   server counts the new clippings.

Targets (issue 17, this 2-core machine): 0 errors; p95 at most 50 ms for
``/api/search`` with 8 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import clipsearch
from index_speed import VARIANTS, percentile, source_version
from query_latency import make_seeds, stored_titles

DEFAULT_ARCHIVE = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "rss-20k.tar.gz"
CLI = Path(sys.executable).with_name("clipsearch")
TARGET_P95 = 0.050
KINDS = ("api", "api+filter", "api+facets", "page", "clipping")

Request = tuple[str, str]  # (kind, path and query string)


def make_requests(index_dir: Path, count: int, rng: random.Random) -> list[Request]:
    """``count`` requests of every kind in :data:`KINDS`, in a shuffled order."""
    titles = stored_titles(index_dir, rng)
    with clipsearch.open_index(index_dir) as index:
        stats = index.stats()
    sources = list(stats.sources)[:10]
    months = []
    if stats.first_date and stats.last_date:
        year, month = stats.first_date.year, stats.first_date.month
        while (year, month) <= (stats.last_date.year, stats.last_date.month):
            months.append(f"{month}/{year}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    requests: list[Request] = []
    seeds = make_seeds(titles, count, rng)  # each seed as typed, folded and quoted: one of the three is asked
    for at in range(0, len(seeds), len(VARIANTS)):
        query = rng.choice(seeds[at : at + len(VARIANTS)])
        clipping_id, q = query.source_id, query.text
        kind = rng.choice(KINDS)
        params: list[tuple[str, str]] = [("q", q)]
        if kind == "api+filter":
            if sources and rng.random() < 0.5:
                params.append(("source", rng.choice(sources)))
            elif months:
                month = rng.choice(months)
                params += [("since", month), ("until", month)]
        elif kind == "api+facets":
            params.append(("facets", "true"))
        if kind == "clipping":
            requests.append((kind, "/api/clippings/" + urllib.parse.quote(clipping_id, safe="")))
        else:
            path = "/" if kind == "page" else "/api/search"
            requests.append((kind, path + "?" + urllib.parse.urlencode(params)))
    rng.shuffle(requests)
    return requests


async def _client(port: int, requests: Sequence[Request], first: int, stop_at: float, out: list) -> None:
    at = first
    reader = writer = None
    while time.monotonic() < stop_at:
        kind, path = requests[at % len(requests)]
        at += 7
        start = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii"))
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            status = int(status_line.split()[1])
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as exc:
            status = f"{type(exc).__name__}"
            if writer is not None:
                writer.close()
            reader = writer = None
        out.append((kind, time.perf_counter() - start, status))
    if writer is not None:
        writer.close()


def _client_process(port: int, requests: list[Request], clients: int, offset: int, duration: float, queue) -> None:
    async def run() -> list:
        out: list = []
        stop_at = time.monotonic() + duration
        await asyncio.gather(*(_client(port, requests, offset + i * 101, stop_at, out) for i in range(clients)))
        return out

    queue.put(asyncio.run(run()))


def load(port: int, requests: list[Request], clients: int, duration: float) -> tuple[list, float]:
    """Every (kind, seconds, status) of ``clients`` connections for ``duration`` seconds, and the wall time."""
    context = mp.get_context("fork")
    queue = context.Queue()
    halves = [clients - clients // 2, clients // 2]
    processes = [
        context.Process(target=_client_process, args=(port, requests, n, 1000 * i, duration, queue))
        for i, n in enumerate(halves)
        if n
    ]
    start = time.monotonic()
    for p in processes:
        p.start()
    results = [r for _ in processes for r in queue.get()]
    for p in processes:
        p.join()
    return results, time.monotonic() - start


def report(title: str, results: list, wall: float) -> float:
    """Print the figures of one phase; return p95 of ``/api/search`` (all its kinds)."""
    print(f"\n{title}: {len(results):,} requests in {wall:.1f} s, {len(results) / wall:.0f} requests/s")
    print(f"  {'kind':<12} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    groups: dict[str, list] = defaultdict(list)
    for kind, seconds, status in results:
        groups[kind].append((seconds, status))
        if kind.startswith("api"):
            groups["/api/search"].append((seconds, status))
        groups["all"].append((seconds, status))
    p95_search = float("nan")
    for kind in (*KINDS, "/api/search", "all"):
        rows = groups.get(kind, [])
        if not rows:
            continue
        times = sorted(s for s, _ in rows)
        errors = sum(1 for _, status in rows if status != 200)
        p = [percentile(times, q) * 1000 for q in (50, 95, 99)]
        figures = f"{p[0]:>8.1f} {p[1]:>8.1f} {p[2]:>8.1f} {times[-1] * 1000:>8.1f}"
        print(f"  {kind:<12} {len(rows):>7,} {figures} {errors:>7}")
        if kind == "/api/search":
            p95_search = p[1] / 1000
    bad: dict[object, int] = defaultdict(int)
    for _, _, status in results:
        if status != 200:
            bad[status] += 1
    if bad:
        print("  errors by status:", dict(bad))
    return p95_search


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clippings_served(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
        import json

        return int(json.loads(answer.read())["clippings"])


def write_new_clippings(archive: Path, count: int, into: Path) -> int:
    """The first ``count`` clippings of ``archive``, under new file names."""
    into.mkdir(parents=True)
    written = 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if written >= count:
                break
            if not (member.isfile() and member.name.endswith(".txt")):
                continue
            data = tar.extractfile(member)
            if data is None:
                continue
            (into / f"load_{written:05d}_{Path(member.name).name}").write_bytes(data.read())
            written += 1
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, required=True, help="an existing index (copied, never written)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase (default 60)")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32], help="client counts (default 8 32)")
    parser.add_argument("--add", type=int, default=5000, help="clippings added during the last phase (0: none)")
    parser.add_argument("--during-clients", type=int, default=8, help="clients while indexing (default 8)")
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE, help="where the added clippings come from")
    parser.add_argument("--requests", type=int, default=3000, help="distinct requests in the mix (default 3000)")
    parser.add_argument("--workers", type=int, help="clipsearch serve --workers (default: its own default)")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)

    print(f"clipsearch {source_version()} · python {sys.version.split()[0]} · {args.index_dir}")
    rng = random.Random(args.seed)
    requests = make_requests(args.index_dir, args.requests, rng)
    mix = ", ".join(f"{k} {sum(r[0] == k for r in requests)}" for k in KINDS)
    print(f"{len(requests):,} distinct requests: {mix}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        index_dir = Path(tmp) / "index"
        shutil.copytree(args.index_dir, index_dir)
        port = _free_port()
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115 - closed below
        workers = ["--workers", str(args.workers)] if args.workers else []
        server = subprocess.Popen(
            [str(CLI), "serve", "--index-dir", str(index_dir), "--port", str(port), *workers], stdout=log, stderr=log
        )
        print(f"clipsearch serve {' '.join(workers) or '(default workers)'}")
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    before = _clippings_served(port)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            load(port, requests, 4, 5.0)  # warm up: the index's files and caches
            for clients in args.clients:
                results, wall = load(port, requests, clients, args.duration)
                p95 = report(f"{clients} clients, {args.duration:.0f} s", results, wall)
                errors = sum(1 for r in results if r[2] != 200)
                if clients == 8:
                    ok = p95 <= TARGET_P95 and errors == 0
                    print(
                        f"  target (8 clients): p95 of /api/search <= {TARGET_P95 * 1000:.0f} ms, 0 errors: "
                        f"{'met' if ok else 'NOT met'}"
                    )
                    failed |= not ok
                failed |= errors > 0
            if args.add:
                folder = Path(tmp) / "new"
                added = write_new_clippings(args.archive, args.add, folder)
                indexing = subprocess.Popen(
                    [str(CLI), "index", str(folder), "--index-dir", str(index_dir), "--quiet"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                start = time.monotonic()
                results: list = []
                while indexing.poll() is None:
                    batch, _ = load(port, requests, args.during_clients, min(args.duration, 30.0))
                    results += batch
                wall = time.monotonic() - start
                stderr = indexing.stderr.read().decode("utf-8", "replace") if indexing.stderr else ""
                print(f"\nclipsearch index added {added:,} clippings in {wall:.0f} s (exit {indexing.returncode})")
                if indexing.returncode != 0:
                    print(stderr[-2000:])
                    failed = True
                report(f"{args.during_clients} clients while indexing", results, wall)
                after = _clippings_served(port)
                print(f"  clippings served: {before:,} before, {after:,} after (+{after - before:,})")
                failed |= after != before + added or any(r[2] != 200 for r in results)
        finally:
            server.terminate()
            server.wait(30)
            log.close()
            text = (Path(tmp) / "server.log").read_text(errors="replace")
            if "Traceback" in text:
                print("server log has a traceback:\n" + text[-3000:])
                failed = True
    print("\nall targets met" if not failed else "\nsome target NOT met")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
