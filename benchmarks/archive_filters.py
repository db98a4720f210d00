"""Filters, facets and date sorting of clipsearch checked against counts made
independently from the files (not with clipsearch's parser), on real dated
and sourced clippings (the rss-20k archive of ../shared/corpus).

Run by hand, never by CI::

    python benchmarks/archive_filters.py                       # all 20,000 rss items
    python benchmarks/archive_filters.py --clippings-dir DIR   # an unpacked folder

The independent count reads each file's first line with a plain regex
(``dd/mm/yyyy`` anywhere in it, else no date) and its last non-empty line
(``Theo <name>``, else no source). It then compares, for every source and for
``--since 01/03/2026 --until 31/03/2026`` (and each source within it): the
API's ``total`` and id set; the facets of ``*`` (by source, by month) against
the counts; the newest-first and oldest-first listings against the sorted
dates; and the CLI's JSON for the March range. Prints each check and a
summary; exits 1 if any check fails. Corpus text is never written to the
repository.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import clipsearch
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


class Checks:
    def __init__(self) -> None:
        self.passed = self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.passed += ok
        self.failed += not ok
        print(f"  [{'ok' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clippings-dir", type=Path, help="an unpacked folder of clippings (default: unpack rss-20k)")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR)
    parser.add_argument("--n", type=int, default=20_000, help="rss items to unpack")
    parser.add_argument("--workdir", type=Path, help="folder for the unpacked files and the index (default: temporary)")
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

    checks = Checks()
    with clipsearch.open_index(index_dir) as index:
        everything = index.query("*", limit=len(facts) + 10, facets=True)
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
            for spelled in (name, clipsearch.text.fold(name).lower()):
                got = index.query("*", limit=len(facts), source=spelled, collapse=False)
                checks.check(
                    f"--source {spelled!r}",
                    got.total == len(want) and {h.id for h in got.hits} == want,
                    f"{got.total:,} vs {len(want):,}",
                )

        want = {i for i, (d, _) in facts.items() if d and MARCH[0] <= d <= MARCH[1]}
        got = index.query("*", limit=len(facts), since="01/03/2026", until="31/03/2026", collapse=False)
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
        syntax = index.query("* date:01/03/2026..31/03/2026", limit=len(facts))
        checks.check("date:01/03/2026..31/03/2026 in the query = the options", syntax.total == got.total)
        for name in sorted(n for n in by_source if n != "none"):
            want_s = {i for i in want if facts[i][1] == name}
            got_s = index.query(
                "*", limit=len(facts), source=name, since="01/03/2026", until="31/03/2026", collapse=False
            )
            checks.check(f"  and --source {name!r}", {h.id for h in got_s.hits} == want_s, f"{len(want_s):,}")

        dated = sorted((d for d, _ in facts.values() if d), reverse=True)
        for sort, expected in (("newest", dated), ("oldest", dated[::-1])):
            hits = index.query("*", limit=len(facts), sort=sort, collapse=False).hits
            dates = [h.date for h in hits if h.date]
            checks.check(
                f"--sort {sort}: dates in order, undated last",
                dates == expected and all(h.date is None for h in hits[len(dates) :]),
            )
        word_hits = index.query("việt nam", limit=len(facts), sort="newest").hits
        word_dates = [h.date for h in word_hits if h.date]
        checks.check(
            "a word query sorted newest", word_dates == sorted(word_dates, reverse=True), f"{len(word_hits):,} hits"
        )

        from clipsearch.schema import read_groups

        groups = read_groups(index_dir)
        stories = index.query("*", limit=len(facts) + 10)
        grouped = sum(len(m) for m in groups.values())
        print(f"  reprint groups: {len(groups):,} holding {grouped:,} clippings; `*` shows {len(stories.hits):,} hits")
        checks.check(
            "collapsed listing = clippings - grouped + groups", len(stories.hits) == len(facts) - grouped + len(groups)
        )

    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "clipsearch",
            "query",
            "--index-dir",
            str(index_dir),
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
    )
    data = json.loads(cli.stdout) if cli.returncode == 0 else {}
    checks.check(
        "CLI --json --facets for March",
        data.get("total") == len(want) and sum(data["facets"]["source"].values()) == len(want),
        f"exit {cli.returncode}",
    )
    print(f"\n{checks.passed} checks passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
