"""Real Typesense servers (tests/typesense_servers.py) for issue 19: one node
started, used through the ``typesense`` client and stopped with nothing left
behind; a 3-node Raft cluster on loopback that keeps answering searches when its
leader is SIGKILLed, takes writes again once it has elected another, and lets
the killed node, restarted, catch up. Skipped, saying why, where the server
binary cannot run (see ``typesense_missing_reason``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .typesense_servers import (
    TypesenseCluster,
    TypesenseNode,
    client_config,
    pid_alive,
    typesense_binary,
    typesense_cluster,
    typesense_missing_reason,
    typesense_node,
)

#: The 2.x client warns, on every Client and collection, that APIs of servers v30+ replace
#: the ones it builds for older servers (0.24.1 has only the older ones).
pytestmark = pytest.mark.filterwarnings("ignore:.* is deprecated on v30\\+:DeprecationWarning:typesense")

typesense = pytest.importorskip("typesense", reason="the typesense client is not installed (pip install -e '.[test]')")

COLLECTION = "clippings"
SCHEMA: dict[str, Any] = {
    "name": COLLECTION,
    "fields": [
        {"name": "title", "type": "string"},
        {"name": "body", "type": "string"},
        {"name": "source", "type": "string", "facet": True},
        {"name": "day", "type": "int32"},
    ],
    "default_sorting_field": "day",
}

#: Made-up clippings (none is a real article).
CLIPPINGS: list[dict[str, Any]] = [
    {
        "id": "hoi-nghi",
        "title": "Hội nghị văn phòng cấp ủy toàn quốc khai mạc",
        "body": "Các đại biểu bàn cách đổi mới công tác văn phòng cấp ủy trong năm tới.",
        "source": "Báo Mẫu",
        "day": 20260302,
    },
    {
        "id": "tap-huan",
        "title": "Tập huấn nghiệp vụ cho cán bộ văn phòng",
        "body": "Lớp tập huấn kéo dài ba ngày, dành cho văn phòng cấp ủy các huyện.",
        "source": "Nhân Dân",
        "day": 20260305,
    },
    {
        "id": "gia-xang",
        "title": "Giá xăng tăng nhẹ từ chiều nay",
        "body": "Giá dầu thế giới đi lên kéo theo giá xăng trong nước.",
        "source": "Tuổi Trẻ",
        "day": 20260310,
    },
    {
        "id": "mua-lua",
        "title": "Mùa lúa chín trên cánh đồng ven sông",
        "body": "Nông dân vào mùa gặt sớm, giá lúa ổn định.",
        "source": "Báo Mẫu",
        "day": 20260312,
    },
]


@pytest.fixture(scope="module")
def binary() -> Path:
    found = typesense_binary()
    if found is None:
        pytest.skip(f"no Typesense server to run: {typesense_missing_reason()}")
    return found


def client(node: TypesenseNode, timeout: float = 5.0) -> Any:
    """A client speaking to this node only, failing fast (no retries on other nodes)."""
    return typesense.Client(client_config(node, timeout=timeout))


def hit_ids(node: TypesenseNode, q: str, timeout: float = 5.0) -> list[str]:
    answer = (
        client(node, timeout)
        .collections[COLLECTION]
        .documents.search({"q": q, "query_by": "title,body", "sort_by": "_text_match:desc,day:desc", "per_page": 50})
    )
    return [hit["document"]["id"] for hit in answer["hits"]]


def document_count(node: TypesenseNode) -> int:
    return int(client(node).collections[COLLECTION].retrieve()["num_documents"])


def wait_for(what: str, check: Any, timeout: float) -> float:
    """Call ``check()`` until it is true (errors count as false); the seconds it took."""
    started = time.monotonic()
    last: object = None
    while True:
        try:
            if check():
                return time.monotonic() - started
        except Exception as exc:  # the server is still catching up, electing, starting
            last = exc
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not after {timeout:.0f} s (last error: {last!r})")
        time.sleep(0.1)


def test_one_node_indexes_searches_and_stops(binary: Path, tmp_path: Path) -> None:
    with typesense_node(tmp_path) as node:
        pid = node.pid
        assert pid is not None and pid_alive(pid)
        assert node.url.startswith("http://127.0.0.1:")
        assert node.data_dir.is_dir() and node.log.is_file()
        assert node.raft_state() == "LEADER"  # a node without --nodes is a cluster of one

        api = client(node)
        api.collections.create(SCHEMA)
        results = api.collections[COLLECTION].documents.import_(CLIPPINGS, {"action": "create"})
        assert all(result["success"] for result in results), results
        assert document_count(node) == len(CLIPPINGS)

        assert set(hit_ids(node, "văn phòng cấp ủy")) == {"hoi-nghi", "tap-huan"}
        assert hit_ids(node, "giá xăng")[0] == "gia-xang"
        # One diacritic (ă, ò, ù) is folded by the server's default tokenizer...
        assert "mua-lua" in hit_ids(node, "mua lua")
        facets = api.collections[COLLECTION].documents.search(
            {"q": "*", "query_by": "title", "facet_by": "source", "filter_by": "day:>=20260305"}
        )
        assert facets["found"] == 3
        counts = {c["value"]: c["count"] for c in facets["facet_counts"][0]["counts"]}
        assert counts == {"Nhân Dân": 1, "Tuổi Trẻ": 1, "Báo Mẫu": 1}
    # Stopped by its PID (SIGTERM, SIGKILL after a timeout) and reaped: nothing left.
    assert not pid_alive(pid)
    assert node.returncode() is not None
    assert "Bye." in node.log.read_text(errors="replace")  # it stopped cleanly, not killed


def test_one_node_server_does_not_fold_every_vietnamese_letter(binary: Path, tmp_path: Path) -> None:
    """What the backend must do itself: Typesense 0.24.1's default tokenizer folds
    letters with one mark (ă ò ù đ) but not those of Latin Extended Additional
    (ấ ủ ồ ị ...) nor ư/ơ, so "cap uy" does not find "cấp ủy" without typos."""
    with typesense_node(tmp_path) as node:
        api = client(node)
        api.collections.create(SCHEMA)
        api.collections[COLLECTION].documents.import_(CLIPPINGS, {"action": "create"})

        def exact(q: str) -> list[str]:
            answer = api.collections[COLLECTION].documents.search(
                {"q": q, "query_by": "title,body", "num_typos": 0, "prefix": False, "drop_tokens_threshold": 0}
            )
            return [hit["document"]["id"] for hit in answer["hits"]]

        assert set(exact("cấp ủy")) == {"hoi-nghi", "tap-huan"}
        assert set(exact("văn phòng")) == {"hoi-nghi", "tap-huan"}
        assert set(exact("van phong")) == {"hoi-nghi", "tap-huan"}  # ă, ò: folded
        assert exact("cap uy") == []  # ấ, ủ: not folded


def test_one_node_stopped_when_the_test_fails(binary: Path, tmp_path: Path) -> None:
    pid = None
    with pytest.raises(RuntimeError, match="the test failed"), typesense_node(tmp_path) as node:
        pid = node.pid
        raise RuntimeError("the test failed")
    assert pid is not None and not pid_alive(pid)


def test_node_dies_with_the_process_that_started_it(binary: Path, tmp_path: Path) -> None:
    """Were pytest itself killed, its servers would not outlive it (PR_SET_PDEATHSIG)."""
    if sys.platform != "linux":
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from tests.typesense_servers import typesense_node\n"
        f"node = typesense_node(Path({str(tmp_path)!r})).__enter__()\n"
        "print(node.pid, flush=True)\n"
        "os._exit(0)  # no clean-up at all\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0])
    wait_for("the orphaned server is gone", lambda: not pid_alive(pid), 10)


def test_cluster_survives_its_leader_killed(binary: Path, tmp_path: Path, capsys: Any) -> None:
    """SIGKILL the leader: the two others answer the same searches throughout,
    take writes once one is elected, and the killed node, restarted on the same
    ports and data, catches up. Every wait is bounded; the whole test takes
    about 30 s on loopback (the cluster forms in about 13 s). Every node is
    stopped after, whatever happens."""
    started = time.monotonic()
    pids: set[int] = set()
    with typesense_cluster(tmp_path, nodes=3) as group:
        pids.update(node.pid for node in group if node.pid is not None)
        timings = {"cluster formed": time.monotonic() - started}
        try:
            searches = _leader_killed(group, timings)
        finally:
            pids.update(node.pid for node in group if node.pid is not None)
        stopping = time.monotonic()
    stopped_in = time.monotonic() - stopping
    assert len(pids) == 4  # three, and the restarted one
    assert not any(pid_alive(pid) for pid in pids)
    with capsys.disabled():
        print(
            f"\n[typesense 3-node cluster] {searches} searches answered during the election; "
            + ", ".join(f"{what}: {seconds:.1f} s" for what, seconds in timings.items())
            + f"; all three stopped in {stopped_in:.1f} s"
        )


def _leader_killed(group: TypesenseCluster, timings: dict[str, float]) -> int:
    leader = group.leader()
    assert leader is not None
    assert sorted(map(str, group.states())) == ["FOLLOWER", "FOLLOWER", "LEADER"]

    # Written through the leader, replicated to the followers.
    api = client(group[leader])
    api.collections.create(SCHEMA)
    results = api.collections[COLLECTION].documents.import_(CLIPPINGS, {"action": "create"})
    assert all(result["success"] for result in results), results
    extra = [
        {
            "id": f"tin-{n:03d}",
            "title": f"Bản tin số {n}",
            "body": "Tin văn phòng cấp ủy tỉnh.",
            "source": "Báo Mẫu",
            "day": n,
        }
        for n in range(40)
    ]
    api.collections[COLLECTION].documents.import_(extra, {"action": "create"})
    total = len(CLIPPINGS) + len(extra)
    timings["replicated"] = wait_for(
        "every node holds every document", lambda: all(document_count(node) == total for node in group), 20
    )
    queries = ["văn phòng cấp ủy", "giá xăng", "mùa lúa"]
    expected = {q: hit_ids(group[leader], q) for q in queries}
    assert {"hoi-nghi", "tap-huan"} <= set(expected["văn phòng cấp ủy"])
    for node in group:
        assert {q: hit_ids(node, q) for q in queries} == expected

    # SIGKILL the leader; searches on the others go on answering while they elect another.
    killed_pid = group[leader].pid
    killed_at = time.monotonic()
    group.kill(leader)
    assert killed_pid is not None and not pid_alive(killed_pid)
    survivors = [i for i in range(len(group)) if i != leader]
    searches = 0
    write_back: float | None = None
    while write_back is None:
        for i in survivors:
            for q in queries:
                assert hit_ids(group[i], q) == expected[q], (
                    f"node {i}, {time.monotonic() - killed_at:.1f} s after the kill"
                )
                searches += 1
        if "new leader elected" not in timings and group.leader() is not None:
            timings["new leader elected"] = time.monotonic() - killed_at
        try:  # a write sent to a survivor (a follower forwards it to the leader)
            client(group[survivors[0]], timeout=2).collections[COLLECTION].documents.create(
                {
                    "id": "sau-bau",
                    "title": "Tin sau bầu lại",
                    "body": "Văn phòng cấp ủy họp.",
                    "source": "Báo Mẫu",
                    "day": 1,
                }
            )
            write_back = time.monotonic() - killed_at
        except Exception:
            assert time.monotonic() - killed_at < 40, f"no write accepted 40 s after the kill: {group.states()}"
            time.sleep(0.2)
    timings["writes accepted again"] = write_back
    assert group.leader() in survivors
    total += 1
    timings["write on both survivors"] = (
        wait_for("the write on both survivors", lambda: all(document_count(group[i]) == total for i in survivors), 10)
        + write_back
    )
    for i in survivors:
        assert hit_ids(group[i], "sau bầu lại")[0] == "sau-bau"
    expected = {q: hit_ids(group[survivors[0]], q) for q in queries}  # "văn phòng cấp ủy" finds "sau-bau" too
    assert "sau-bau" in expected["văn phòng cấp ủy"]
    assert {q: hit_ids(group[survivors[1]], q) for q in queries} == expected

    # The killed node, restarted (same ports, same data folder), catches up.
    restarted_at = time.monotonic()
    group.restart(leader)
    group.wait_healthy(leader, 30)
    timings["restarted node healthy"] = time.monotonic() - restarted_at
    wait_for("the restarted node catches up", lambda: document_count(group[leader]) == total, 20)
    timings["restarted node caught up"] = time.monotonic() - restarted_at
    assert hit_ids(group[leader], "sau bầu lại")[0] == "sau-bau"
    for q in queries:
        assert hit_ids(group[leader], q) == expected[q]
    assert group.leader() in survivors  # the restarted node is a follower
    return searches
