"""The fault test of issue 19 on a real 3-node Typesense cluster (loopback,
separate ports and data folders): a bulk ``clipsearch index`` of 5,000
clippings whose leader is SIGKILLed in the middle. Searches on the two other
nodes keep answering; the run (or its re-run) ends with exactly 5,000
clippings, none twice; the killed node, restarted, catches up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import write_sentence_clippings
from .typesense_servers import TypesenseCluster, typesense_cluster, typesense_missing_reason

pytestmark = pytest.mark.skipif(typesense_missing_reason() is not None, reason=str(typesense_missing_reason()))

CLIPPINGS = 5_000


def _count(cluster: TypesenseCluster, i: int, collection: str = "clippings") -> int | None:
    """The number of documents node ``i`` finds through the alias (None: it does not answer)."""
    try:
        status, found = cluster[i].request(f"/collections/{collection}/documents/search?q=*&per_page=0", timeout=5)
    except OSError:
        return None
    return int(found["found"]) if status == 200 else None


def _exported_ids(cluster: TypesenseCluster, i: int) -> list[str]:
    node = cluster[i]
    request = urllib.request.Request(
        f"{node.url}/collections/clippings/documents/export?include_fields=id",
        headers={"X-TYPESENSE-API-KEY": node.api_key},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return [json.loads(line)["id"] for line in answer.read().decode().splitlines() if line.strip()]


def _index(urls: list[str], folder: Path, log: Path, key: str) -> subprocess.Popen[bytes]:
    nodes = [arg for url in urls for arg in ("--typesense", url)]
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "clipsearch", "index", str(folder), *nodes, "--quiet"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CLIPSEARCH_TYPESENSE_API_KEY": key},
        )


def test_a_leader_killed_during_a_bulk_run(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    write_sentence_clippings(folder, CLIPPINGS, seed=19, prefix="f")
    log = tmp_path / "index.log"
    (tmp_path / "cluster").mkdir()
    with typesense_cluster(tmp_path / "cluster") as cluster:
        urls = [f"http://127.0.0.1:{node.api_port}" for node in cluster]
        run = _index(urls, folder, log, cluster.api_key)
        # Wait until a good part is written, then kill the leader.
        deadline = time.monotonic() + 300
        while (_count(cluster, 0) or 0) < CLIPPINGS // 5:
            assert run.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the run wrote too little"
            time.sleep(0.2)
        leader, _seconds = cluster.wait_leader()
        cluster.kill(leader)
        others = [i for i in range(len(cluster)) if i != leader]
        answered = 0
        while run.poll() is None:  # searches on the other nodes keep answering
            for i in others:
                if _count(cluster, i) is not None:
                    answered += 1
            assert time.monotonic() < deadline + 300, "the run did not end"
            time.sleep(0.5)
        assert answered > 0
        if run.returncode != 0:  # the run gave up: run it again
            assert "Error: Typesense at" in log.read_text(errors="replace")
            for _attempt in range(4):  # the failed run's lock may have stayed on the lost leader's side: it lapses
                again = _index([urls[i] for i in others], folder, log, cluster.api_key)
                if again.wait(600) == 0 or "another clipsearch index run" not in log.read_text(errors="replace"):
                    break
                time.sleep(40)
            assert again.returncode == 0, log.read_text(errors="replace")
        for i in others:
            assert _count(cluster, i) == CLIPPINGS
        # exactly the files' ids, none twice
        ids = _exported_ids(cluster, others[0])
        assert len(ids) == CLIPPINGS and set(ids) == {p.stem for p in folder.iterdir()}
        cluster.restart(leader)
        cluster.wait_healthy(leader, timeout=120)
        caught_up = time.monotonic() + 120
        while _count(cluster, leader) != CLIPPINGS:
            assert time.monotonic() < caught_up, f"the restarted node has {_count(cluster, leader)}"
            time.sleep(0.5)
