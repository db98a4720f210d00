"""The command line against hostile surroundings: terminals of any width,
standard streams that are closed, full, gone or in an encoding without
Vietnamese, and arguments that are not valid UTF-8 or arrive under the C
locale. Each runs the real console script in a subprocess."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

import clipsearch
from clipsearch.cli import TEXT, _echo_json, cli

from .conftest import SEED_ID, write_clipping

#: The console script the README installs (``python -m clipsearch`` where it is not beside the interpreter).
_SCRIPT = Path(sys.executable).with_name("clipsearch")
CLIPSEARCH: list[str] = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "clipsearch"]

#: Long enough for a slow machine, short enough that a hang fails the test.
TIMEOUT = 20

#: Python decodes the command line as ASCII with surrogate escapes (no UTF-8 mode, no locale coercion).
C_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "LINES", "PYTHONIOENCODING", "NO_COLOR"}}
    env.update(NO_COLOR="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.update(extra)
    return env


def _limit_memory() -> None:
    """In the child: at most 2 GiB of address space, so that a runaway
    allocation fails the test instead of the machine."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _run(
    *args: str | bytes,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.PIPE,
    preexec_fn: Callable[[], None] = _limit_memory,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLIPSEARCH, *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env or _env(),
        timeout=TIMEOUT,
        preexec_fn=preexec_fn,
    )


# 1. Terminals of any width


@pytest.mark.parametrize("columns", ["0", "1", "2", "3", "4", "5"])
def test_any_terminal_width_finishes_and_prints_the_hit(index_dir: Path, columns: str) -> None:
    done = _run("query", "múa lân", "--index-dir", str(index_dir), env=_env(COLUMNS=columns))
    out = done.stdout.decode()
    assert (done.returncode, done.stderr) == (0, b""), done.stderr
    lines = out.splitlines()
    meta = next(i for i, line in enumerate(lines) if " · dance · " in line)
    assert "**múa**" in lines[meta + 1]  # the snippet, wrapped to at least 20 columns (COLUMNS=0: unknown, 100)
    width = 100 if columns == "0" else 20
    assert all(len(line.replace("**", "").rstrip("…")) <= width for line in lines[meta + 1 : meta + 3])


def _run_on_terminal(args: Sequence[str], columns: int) -> tuple[int, bytes]:
    """Run ``args`` on a pseudo-terminal ``columns`` wide; its exit code and all it wrote."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = _env()
    del env["NO_COLOR"]  # a real terminal: colours too
    process = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=_limit_memory, close_fds=True
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no end after {TIMEOUT} s on a terminal {columns} columns wide: {bytes(out)[:500]!r}"
            if not select.select([master], [], [], left)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            out += chunk
        return process.wait(timeout=TIMEOUT), bytes(out)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")
@pytest.mark.parametrize("columns", [3, 1])
def test_a_narrow_real_terminal_finishes_and_prints_the_hit(index_dir: Path, columns: int) -> None:
    code, out = _run_on_terminal([*CLIPSEARCH, "query", "múa lân", "--index-dir", str(index_dir)], columns)
    assert code == 0, out
    assert b" dance " in out and "múa".encode() in out and b"Traceback" not in out


# 2. Standard output and error


def test_closed_stdout_is_one_error_line(index_dir: Path) -> None:
    done = _run("query", "tin", "--index-dir", str(index_dir), stdout=subprocess.DEVNULL, preexec_fn=_close_stdout)
    assert (done.returncode, done.stderr) == (1, b"Error: cannot write the output: standard output is closed\n")


def _close_stdout() -> None:
    _limit_memory()
    os.close(1)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "command", [["query", "tin"], ["query", "tin", "--json"], ["show", SEED_ID], ["similar", SEED_ID], ["stats"]]
)
def test_a_full_disk_is_one_error_line(index_dir: Path, command: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        done = _run(*command, "--index-dir", str(index_dir), stdout=full.fileno())
    assert (done.returncode, done.stderr) == (1, b"Error: cannot write the output: No space left on device\n")


# The console script's entry point, writing one more line once the command is
# done: only the final flush, before os._exit, can fail.
_WRITES_AFTER_THE_COMMAND = (
    "import sys\n"
    "import clipsearch.cli as c\n"
    "command = c.cli\n"
    "def run(**kw):\n"
    "    try:\n"
    "        command(**kw)\n"
    "    finally:\n"
    "        sys.stdout.write('one more line\\n')\n"
    "c.cli = run\n"
    "sys.argv = ['clipsearch', *sys.argv[1:]]\n"
    "c.main()\n"
)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_an_error_in_the_final_flush_is_one_error_line(index_dir: Path) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-c", _WRITES_AFTER_THE_COMMAND, "query", '"', "--index-dir", str(index_dir)],
            stdout=full,
            stderr=subprocess.PIPE,
            env=_env(),
            timeout=TIMEOUT,
        )
    assert done.returncode == 1
    assert done.stderr == (
        b"Error: the query '\"' has no words to search for\nError: cannot write the output: No space left on device\n"
    )


@pytest.mark.parametrize("command", [["query", "*"], ["query", "*", "--json"], ["show", SEED_ID], ["stats"]])
def test_a_closed_pipe_is_quiet(index_dir: Path, command: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # like `| head -1` once head is gone: every write fails with EPIPE
    try:
        done = _run(*command, "--index-dir", str(index_dir), stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, b"")


def test_an_output_without_vietnamese_gets_replacements(index_dir: Path) -> None:
    env = _env(PYTHONIOENCODING="latin-1")
    done = _run("query", "văn phòng cấp ủy", "--index-dir", str(index_dir), env=env)
    assert (done.returncode, done.stderr) == (0, b"")
    assert "**v?n ph\xf2ng c?p ?y**".encode("latin-1") in done.stdout  # ò is Latin-1; ă, ấ, ủ are not
    as_json = _run("query", "văn phòng cấp ủy", "--json", "--index-dir", str(index_dir), env=env)
    assert (as_json.returncode, as_json.stderr) == (0, b"")
    assert as_json.stdout.isascii() and "\\u0103" in as_json.stdout.decode()  # \u escapes: valid JSON
    utf8 = _run("query", "văn phòng cấp ủy", "--json", "--index-dir", str(index_dir))
    assert json.loads(as_json.stdout) == json.loads(utf8.stdout.decode("utf-8"))
    missing = _run("show", "văn", "--index-dir", str(index_dir), env=env)
    assert missing.returncode == 1
    assert missing.stderr.startswith(b"Error: no clipping with id 'v\\u0103n' in ")  # stderr: backslash escapes


# 3. Arguments that are not valid UTF-8, and the C locale


@pytest.mark.parametrize("locale", [{}, C_LOCALE], ids=["utf8", "C"])
@pytest.mark.parametrize("command", ["show", "similar"])
def test_an_undecodable_id_is_not_found(index_dir: Path, command: str, locale: dict[str, str]) -> None:
    done = _run(command, b"\xff", "--index-dir", str(index_dir), env=_env(**locale))
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr == f"Error: no clipping with id '\\udcff' in {str(index_dir)!r}\n".encode()


@pytest.mark.parametrize("locale", [{}, C_LOCALE], ids=["utf8", "C"])
def test_an_undecodable_query_gives_valid_json_or_one_error_line(index_dir: Path, locale: dict[str, str]) -> None:
    done = _run("query", b"ir\xffan", "--json", "--index-dir", str(index_dir), env=_env(**locale))
    if done.returncode == 0:  # searched: the JSON is valid UTF-8 (undecodable bytes as \u escapes)
        assert done.stderr == b""
        result = json.loads(done.stdout.decode("utf-8"))
        assert result["query"] == "ir\udcffan" and result["total"] == 0
    else:  # refused by the library: one line
        assert (done.returncode, done.stdout) == (1, b"")
        assert done.stderr.startswith(b"Error: the query 'ir\\udcffan' ") and done.stderr.count(b"\n") == 1


def test_json_output_escapes_what_the_output_cannot_take(capsys: pytest.CaptureFixture[str]) -> None:
    data = {"query": "ir\udcffan", "title": "văn phòng"}
    _echo_json({"title": "văn phòng"})
    assert capsys.readouterr().out == '{\n  "title": "văn phòng"\n}\n'  # UTF-8 where it can
    _echo_json(data)
    out = capsys.readouterr().out
    assert out.isascii() and json.loads(out) == data


@pytest.mark.parametrize(
    "command",
    [
        ["query", "văn phòng cấp ủy", "--json"],
        ["query", "van phong cap uy", "--json"],  # the suggestion: "văn phòng cấp ủy", not garbage
        ["query", "mùa", "--source", "báo mẫu", "--json"],
        ["query", "*", "--source", "Báo Mẫu", "--since", "03/2026", "--json"],
        ["show", SEED_ID, "--query", "cấp ủy", "--json"],
    ],
)
def test_the_c_locale_gives_the_same_search(index_dir: Path, command: list[str]) -> None:
    arguments = [a.encode() for a in command]
    utf8 = _run(*arguments, "--index-dir", str(index_dir))
    c_locale = _run(*arguments, "--index-dir", str(index_dir), env=_env(**C_LOCALE))
    assert (c_locale.returncode, c_locale.stderr) == (0, b"")
    found = json.loads(c_locale.stdout.decode("utf-8"))
    assert found == json.loads(utf8.stdout.decode("utf-8"))
    assert found.get("total", 1) > 0
    if command[1] == "van phong cap uy":
        assert found["suggestion"] == "văn phòng cấp ủy"


def test_c_locale_messages_show_vietnamese(index_dir: Path) -> None:
    done = _run("show", "văn".encode(), "--index-dir", str(index_dir), env=_env(**C_LOCALE))
    assert done.returncode == 1
    assert done.stderr == f"Error: no clipping with id 'văn' in {str(index_dir)!r}\n".encode()


def test_text_arguments_are_decoded_again_as_utf8() -> None:
    assert TEXT.convert(os.fsdecode("văn".encode()), None, None) == "văn"
    assert TEXT.convert("v\udcc4\udc83n", None, None) == "văn"  # what the C locale makes of it
    assert TEXT.convert(b"v\xc4\x83n\xff", None, None) == "văn\udcff"
    assert TEXT.convert("\ud800", None, None) == "\ud800"  # not from bytes: as it is


def test_skipped_file_with_an_undecodable_name(tmp_path: Path) -> None:
    folder = tmp_path / "clippings"
    folder.mkdir()
    write_clipping(folder, "good", "Tin tốt", "Một tin tốt.", ["Đoạn một."])
    try:
        (folder / os.fsdecode(b"\xff.txt")).write_bytes(b"")
    except (OSError, UnicodeError):
        pytest.skip("the file system takes only valid names")
    index = tmp_path / "index"
    result = CliRunner().invoke(cli, ["index", str(folder), "--index-dir", str(index), "-q"])
    assert result.exit_code == 3, result.output
    assert (index / "skipped.tsv").read_bytes() == os.fsencode(folder) + b"/\xff.txt\tempty file\n"


# 4. The API


@pytest.mark.parametrize("clipping_id", ["\ud800", "\udcff", "x\udcc3"])
def test_api_ids_that_are_not_unicode_are_not_found(index: clipsearch.Index, clipping_id: str) -> None:
    with pytest.raises(clipsearch.ClippingNotFoundError, match="no clipping with id"):
        index.show(clipping_id)
    with pytest.raises(clipsearch.ClippingNotFoundError, match="no clipping with id"):
        index.similar(clipping_id)


def test_a_suggestion_cannot_act_on_the_terminal(index_dir: Path) -> None:
    """'Did you mean' rewrites the query: its control characters, escape
    sequences and direction overrides must not reach the terminal."""
    from click.testing import CliRunner

    from clipsearch.cli import cli

    hostile = "van\x1b[2J phong\n\u202ecap\r uy\x07"
    result = CliRunner().invoke(cli, ["query", hostile, "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("Did you mean: "))
    assert line.startswith("Did you mean: văn[2J phòng cấp ")  # the escape character gone, the text kept
    assert not any(ch in result.stdout for ch in "\x1b\x07\r\u202e")


def test_a_query_may_start_with_a_minus(index_dir: Path) -> None:
    from click.testing import CliRunner

    from clipsearch.cli import cli

    runner = CliRunner()
    plain = runner.invoke(cli, ["query", "--index-dir", str(index_dir), "--", "-lúa mùa"])
    dashed = runner.invoke(cli, ["query", "-lúa mùa", "--index-dir", str(index_dir)])
    assert plain.exit_code == dashed.exit_code == 0, dashed.output
    assert dashed.stdout == plain.stdout and "match '-lúa mùa'" in dashed.stdout
    typo = runner.invoke(cli, ["query", "mùa", "--limt", "3", "--index-dir", str(index_dir)])
    assert typo.exit_code == 2  # an unknown option is still no search
