"""Filters, facets and date sorting of clipsearch checked against counts made
independently from the files (not with clipsearch's parser), on real dated
and sourced clippings (the rss-20k archive of ../shared/corpus).

Run by hand, never by CI::

    python benchmarks/archive_filters.py                       # all 20,000 rss items
    python benchmarks/archive_filters.py --clippings-dir DIR   # an unpacked folder
    python benchmarks/archive_filters.py --typesense           # and on the Typesense backend
    python benchmarks/archive_filters.py --typesense-url http://127.0.0.1:8108   # on a running node

The independent count reads each file's first line with a plain regex
(``dd/mm/yyyy`` anywhere in it, else no date) and its last non-empty line
(``Theo <name>``, else no source). It then compares, for every source and for
``--since 01/03/2026 --until 31/03/2026`` (and each source within it): the
API's ``total`` and id set; the facets of ``*`` (by source, by month) against
the counts; the newest-first and oldest-first listings against the sorted
dates; and the CLI's JSON for the March range. Prints each check and a
summary; exits 1 if any check fails. Corpus text is never written to the
repository.

With ``--typesense`` (a node started here with ``tests/typesense_servers.py``,
stopped after) or ``--typesense-url URL`` (a running node, the API key in
``CLIPSEARCH_TYPESENSE_API_KEY``; the collection ``--collection`` is rebuilt),
the same files are also indexed into a Typesense collection
(``index_typesense``) and every check runs on both backends, unchanged: the
Whoosh index and ``TypesenseArchive`` (its reprint groups from the collection's
statistics, the CLI with ``--typesense URL --collection NAME``). Each check is
printed once with both results, ``[whoosh|typesense]``; the exit status is 1
if any fails on either.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import clipsearch
from clipsearch.text.fold import fold
from index_speed import DEFAULT_CORPUS_DIR, prepare_corpus

DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
SOURCE = re.compile(r"^Theo (.+?)\s*$")
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def independent_facts(folder: Path) -> dict[str, tuple[dt.date | None, str | None]]:
    """id -> (date, source) read with two regexes."""
    facts: dict[str, tuple[dt.date | None, str | None]] = {}
    for path in sorted(folder.rglob("*.txt")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        m = DATE.search(lines[0]) if lines else None
        date = dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))) if m else None
        s = SOURCE.match(lines[-1]) if len(lines) > 1 else None
        facts[path.stem] = (date, s.group(1) if s else None)
    return facts


class _Failed:
    """What stands for the result of a search that raised: nothing found, the error as detail."""

    def __init__(self, error: str) -> None:
        self.error = error
        self.total = -1
        self.hits: list[Any] = []
        self.facets: dict[str, dict[str, int]] = {"source": {}, "month": {}}


class Checks:
    """The checks of one backend, in order, with notes between them; printed as they
    are made (``echo``) or afterwards beside another backend's (:func:`print_side_by_side`)."""

    def __init__(self, echo: bool = True) -> None:
        self.passed = self.failed = 0
        self.echo = echo
        self.lines: list[tuple[str, bool | None, str]] = []  # (name, ok, detail); ok None: a note
        self.errors: list[str] = []  # searches that raised
        self.reported = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if len(self.errors) > self.reported:  # a search of this check raised: it fails
            ok = False
            detail = f"{detail} [{self.errors[self.reported][:160]}]".strip()
            self.reported = len(self.errors)
        self.passed += ok
        self.failed += not ok
        self.lines.append((name, ok, detail))
        if self.echo:
            print(f"  [{'ok' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail else ""))

    def note(self, text: str) -> None:
        self.lines.append((text, None, ""))
        if self.echo:
            print(text)


def run_checks(
    index: Any,
    facts: dict[str, tuple[dt.date | None, str | None]],
    groups: dict[str, list[str]],
    location: list[str],
    env: dict[str, str],
    checks: Checks,
) -> None:
    """Every check on one open backend (``index``); ``groups`` are its reprint
    groups, ``location`` the CLI options naming it (``--index-dir DIR`` or
    ``--typesense URL --collection NAME``), ``env`` the CLI's extra variables.
    A search that raises fails its check (the error is its detail): the
    result stands in as empty."""

    def query(text: str, **options: Any) -> Any:
        try:
            return index.query(text, **options)
        except clipsearch.ClipsearchError as exc:
            checks.errors.append(f"{type(exc).__name__}: {exc}")
            return _Failed(checks.errors[-1])

    everything = query("*", limit=len(facts) + 10, facets=True)
    checks.check("* matches every clipping", everything.total == len(facts), f"{everything.total:,}")
    assert everything.facets is not None
    by_source = Counter(s or "none" for _, s in facts.values())
    by_month = Counter(f"{d:%Y-%m}" if d else "none" for d, _ in facts.values())
    checks.check(
        "source facets = independent counts",
        everything.facets["source"] == dict(by_source),
        json.dumps(everything.facets["source"], ensure_ascii=False),
    )
    checks.check(
        "month facets = independent counts", everything.facets["month"] == dict(by_month), f"{len(by_month)} months"
    )
    checks.check(
        "facets sum to the total",
        sum(everything.facets["source"].values()) == sum(everything.facets["month"].values()) == everything.total,
    )

    for name in sorted(n for n in by_source if n != "none"):
        want = {i for i, (_, s) in facts.items() if s == name}
        for spelled in (name, fold(name).lower()):
            got = query("*", limit=len(facts), source=spelled, collapse=False)
            checks.check(
                f"--source {spelled!r}",
                got.total == len(want) and {h.id for h in got.hits} == want,
                f"{got.total:,} vs {len(want):,}",
            )

    want = {i for i, (d, _) in facts.items() if d and MARCH[0] <= d <= MARCH[1]}
    got = query("*", limit=len(facts), since="01/03/2026", until="31/03/2026", collapse=False)
    checks.check(
        "--since 01/03/2026 --until 31/03/2026",
        got.total == len(want) and {h.id for h in got.hits} == want,
        f"{got.total:,} vs {len(want):,}",
    )
    edge = {d for i, (d, _) in facts.items() if i in want}
    checks.check(
        "  it includes 1 and 31 March when they have clippings",
        all(d in {h.date for h in got.hits} for d in edge & {MARCH[0], MARCH[1]}),
        ", ".join(f"{d:%d/%m}" for d in sorted(edge & {MARCH[0], MARCH[1]})),
    )
    syntax = query("* date:01/03/2026..31/03/2026", limit=len(facts))
    checks.check("date:01/03/2026..31/03/2026 in the query = the options", syntax.total == got.total)
    for name in sorted(n for n in by_source if n != "none"):
        want_s = {i for i in want if facts[i][1] == name}
        got_s = query("*", limit=len(facts), source=name, since="01/03/2026", until="31/03/2026", collapse=False)
        checks.check(f"  and --source {name!r}", {h.id for h in got_s.hits} == want_s, f"{len(want_s):,}")

    dated = sorted((d for d, _ in facts.values() if d), reverse=True)
    for sort, expected in (("newest", dated), ("oldest", dated[::-1])):
        hits = query("*", limit=len(facts), sort=sort, collapse=False).hits
        dates = [h.date for h in hits if h.date]
        checks.check(
            f"--sort {sort}: dates in order, undated last",
            dates == expected and all(h.date is None for h in hits[len(dates) :]),
        )
    word_hits = query("việt nam", limit=len(facts), sort="newest").hits
    word_dates = [h.date for h in word_hits if h.date]
    checks.check(
        "a word query sorted newest", word_dates == sorted(word_dates, reverse=True), f"{len(word_hits):,} hits"
    )

    stories = query("*", limit=len(facts) + 10)
    grouped = sum(len(m) for m in groups.values())
    checks.note(
        f"  reprint groups: {len(groups):,} holding {grouped:,} clippings; `*` shows {len(stories.hits):,} hits"
    )
    checks.check(
        "collapsed listing = clippings - grouped + groups", len(stories.hits) == len(facts) - grouped + len(groups)
    )

    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "clipsearch",
            "query",
            *location,
            "--json",
            "--facets",
            "--since",
            "01/03/2026",
            "--until",
            "31/03/2026",
            "-n",
            "3",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    data = json.loads(cli.stdout) if cli.returncode == 0 else {}
    checks.check(
        "CLI --json --facets for March",
        data.get("total") == len(want) and sum(data["facets"]["source"].values()) == len(want),
        f"exit {cli.returncode}",
    )


def print_side_by_side(results: dict[str, Checks]) -> None:
    """The checks of several backends, one line each: ``[ok|FAIL]`` per backend in order."""
    names = list(results)
    print(f"  [{'|'.join(names)}]")
    rows = zip(*(results[n].lines for n in names), strict=True)
    for row in rows:
        name, ok, _ = row[0]
        if ok is None:
            print("  " + " | ".join(r[0].strip() for r in row) if len({r[0] for r in row}) > 1 else name)
            continue
        marks = "|".join("ok" if r[1] else "FAIL" for r in row)
        details = [r[2] for r in row]
        detail = details[0] if len(set(details)) == 1 else " | ".join(details)
        print(f"  [{marks}] {name}" + (f": {detail}" if detail else ""))


@contextlib.contextmanager
def typesense_collection(args: argparse.Namespace, work: Path) -> Iterator[Any]:
    """The Typesense target (a node started here, or ``--typesense-url``); None without either option."""
    if not (args.typesense or args.typesense_url):
        yield None
        return
    from clipsearch.typesense.connection import API_KEY_VARIABLE, TypesenseTarget

    if args.typesense_url:
        key = os.environ.get(API_KEY_VARIABLE, "")
        if not key:
            raise SystemExit(f"error: --typesense-url needs the API key in {API_KEY_VARIABLE}")
        yield TypesenseTarget((args.typesense_url,), collection=args.collection, api_key=key, timeout=60.0)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.typesense_servers import typesense_node

    with typesense_node(work) as node:
        print(f"Typesense node {node.url} (pid {node.pid}), data in {node.data_dir}")
        yield TypesenseTarget((node.url,), collection=args.collection, api_key=node.api_key, timeout=60.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clippings-dir", type=Path, help="an unpacked folder of clippings (default: unpack rss-20k)")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR)
    parser.add_argument("--n", type=int, default=20_000, help="rss items to unpack")
    parser.add_argument("--workdir", type=Path, help="folder for the unpacked files and the index (default: temporary)")
    parser.add_argument(
        "--typesense",
        action="store_true",
        help="also run every check on the Typesense backend, on a node started here (tests/typesense_servers.py)",
    )
    parser.add_argument(
        "--typesense-url", help="the same on a running node (API key from CLIPSEARCH_TYPESENSE_API_KEY)"
    )
    parser.add_argument("--collection", default="archive_filters", help="the Typesense collection (rebuilt)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="clipsearch-archive-"))
    work.mkdir(parents=True, exist_ok=True)
    folder = args.clippings_dir or prepare_corpus("rss", args.corpus_dir, args.n, work).clippings_dir
    index_dir = work / "index"
    facts = independent_facts(folder)
    print(f"{len(facts):,} clippings in {folder}")

    started = time.perf_counter()
    report = clipsearch.build_index([folder], index_dir, rebuild=(args.workdir is None))
    print(f"indexed {len(report.indexed):,} in {time.perf_counter() - started:.1f} s; skipped {len(report.skipped)}")

    with typesense_collection(args, work) as target:
        if target is None:
            checks = Checks()
            with clipsearch.open_index(index_dir) as index:
                from clipsearch.schema import read_groups

                run_checks(index, facts, read_groups(index_dir), ["--index-dir", str(index_dir)], {}, checks)
            print(f"\n{checks.passed} checks passed, {checks.failed} failed")
            return 1 if checks.failed else 0

        from clipsearch.typesense.archive import TypesenseArchive, read_statistics
        from clipsearch.typesense.connection import API_KEY_VARIABLE, Connection
        from clipsearch.typesense.indexing import index_typesense

        started = time.perf_counter()
        ts_report = index_typesense([folder], target, rebuild=True)
        print(
            f"indexed {len(ts_report.indexed):,} into Typesense {target} in {time.perf_counter() - started:.1f} s; "
            f"skipped {len(ts_report.skipped)}"
        )
        results = {"whoosh": Checks(echo=False), "typesense": Checks(echo=False)}
        with clipsearch.open_index(index_dir) as index:
            from clipsearch.schema import read_groups

            run_checks(index, facts, read_groups(index_dir), ["--index-dir", str(index_dir)], {}, results["whoosh"])
        connection = Connection(target)
        physical = connection.physical()
        statistics = read_statistics(connection, physical) if physical else None
        ts_groups = statistics.groups.groups if statistics is not None else {}
        location = ["--typesense", target.nodes[0], "--collection", target.collection]
        with TypesenseArchive(target) as archive:
            run_checks(archive, facts, ts_groups, location, {API_KEY_VARIABLE: target.key}, results["typesense"])
        print_side_by_side(results)
        print()
        for name, checks in results.items():
            print(f"{name}: {checks.passed} checks passed, {checks.failed} failed")
        return 1 if any(c.failed for c in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
