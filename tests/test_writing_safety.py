"""Indexing runs that fail, are killed or meet a hostile folder never lose
committed clippings, never leave a lock behind and always leave a folder
that the next run (or ``--rebuild``) repairs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import clipsearch
from clipsearch.cli import cli
from clipsearch.errors import IndexDamagedError, IndexWriteError
from clipsearch.schema import REBUILD_FOLDER

from .test_indexing import generated

AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small or read-only file system needs root")


def _index_command(docs: Path, index_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "clipsearch", "index", str(docs), "--index-dir", str(index_dir), "-q", *extra]


def _ids(index_dir: Path) -> list[str]:
    with clipsearch.open_index(index_dir) as index:
        return [hit.id for hit in index.search("*", limit=100_000, collapse=False)]


def _wait_for(condition: object, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_a_run_killed_with_its_workers_running_leaves_no_lock(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 1500)
    # Two worker processes (the parallel writer), killed while they work.
    proc = subprocess.Popen(_index_command(docs, index_dir, "--procs", "2"))
    try:
        _wait_for(lambda: any(index_dir.glob("clipsearch.tmp/*")) or proc.poll() is not None)
        time.sleep(1.0)
        assert proc.poll() is None, "the run finished before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    rerun = subprocess.run(_index_command(docs, index_dir, "--procs", "2"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr  # at once: not "locked"
    ids = _ids(index_dir)
    assert len(ids) == len(set(ids)) == 1500


def test_a_rebuild_shows_the_old_index_until_the_new_one_replaces_it(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 40)
    clipsearch.build_index([docs], index_dir)
    generated(docs, 20, start=40)
    seen_during: list[int] = []

    def progress(done: int, total: int) -> None:
        if done in (1, 30, total):
            seen_during.append(len(_ids(index_dir)))

    report = clipsearch.build_index([docs], index_dir, rebuild=True, progress=progress, commit_every=10)
    assert seen_during == [40, 40, 40]  # intermediate commits go to the new index, unseen
    assert (len(report.added), report.total) == (60, 60)
    assert sorted(_ids(index_dir)) == sorted(f"gen{i:05d}" for i in range(60))
    assert not (index_dir / REBUILD_FOLDER).exists()
    # Only the new index's files are left.
    tocs = list(index_dir.glob("_clipsearch_*.toc"))
    assert len(tocs) == 1


def test_a_rebuild_that_fails_keeps_the_old_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 30)
    clipsearch.build_index([docs], index_dir)
    before = sorted(_ids(index_dir))
    import clipsearch.writing.build as build

    calls = {"n": 0}
    real = build.clipping_document

    def failing(clipping: clipsearch.Clipping, sha: str) -> dict[str, object]:
        calls["n"] += 1
        if calls["n"] == 20:
            raise OSError(28, "No space left on device")
        return real(clipping, sha)

    monkeypatch.setattr(build, "clipping_document", failing)
    with pytest.raises(IndexWriteError, match="no space left on the device; what was committed before is kept"):
        clipsearch.build_index([docs], index_dir, rebuild=True, commit_every=5)
    assert sorted(_ids(index_dir)) == before
    assert not (index_dir / REBUILD_FOLDER).exists()


def test_a_killed_rebuild_keeps_the_old_index_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 400)
    clipsearch.build_index([docs], index_dir, procs=1)
    proc = subprocess.Popen(_index_command(docs, index_dir, "--rebuild", "--procs", "1", "--commit-every", "50"))
    try:
        _wait_for(lambda: any((index_dir / REBUILD_FOLDER).glob("_clipsearch_*.toc")) or proc.poll() is not None)
        assert proc.poll() is None, "the rebuild finished before it could be killed"
        assert len(_ids(index_dir)) == 400  # searches see the old index meanwhile
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(_ids(index_dir)) == 400
    assert (index_dir / REBUILD_FOLDER).exists()  # what the killed run left
    again = clipsearch.build_index([docs], index_dir)
    assert (len(again.unchanged), again.total) == (400, 400)
    assert not (index_dir / REBUILD_FOLDER).exists()


def test_a_deleted_meta_file_is_reported_and_repaired_by_rebuild(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "ix"
    generated(docs, 5)
    clipsearch.build_index([docs], index_dir)
    (index_dir / "clipsearch.json").unlink()
    expected = (
        f"Error: the index at {str(index_dir)!r} is damaged (clipsearch.json is missing): "
        "rebuild it with `clipsearch index --rebuild`\n"
    )
    runner = CliRunner()
    for args in (["query", "tin", "--index-dir", str(index_dir)], ["index", str(docs), "--index-dir", str(index_dir)]):
        result = runner.invoke(cli, args)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", expected)
    with pytest.raises(IndexDamagedError):
        clipsearch.open_index(index_dir)
    result = runner.invoke(cli, ["index", str(docs), "--index-dir", str(index_dir), "--rebuild"])
    assert result.exit_code == 0, result.output
    assert len(_ids(index_dir)) == 5


def test_a_folder_of_other_files_is_still_refused(tmp_path: Path) -> None:
    docs, folder = tmp_path / "docs", tmp_path / "mine"
    generated(docs, 2)
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    for rebuild in (False, True):
        with pytest.raises(clipsearch.IndexNotFoundError, match="is not empty and holds no clipsearch index"):
            clipsearch.build_index([docs], folder, rebuild=rebuild)
    assert os.listdir(folder) == ["notes.txt"]  # not even a lock file was left


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@AS_ROOT
def test_a_full_disk_is_a_clear_error_loses_nothing_and_the_retry_works(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    generated(docs, 10)
    more = tmp_path / "more"
    generated(more, 600, start=10)
    with _tmpfs(tmp_path / "disk", "400k") as disk:
        index_dir = disk / "ix"
        clipsearch.build_index([docs], index_dir)
        runner = CliRunner()
        result = runner.invoke(cli, ["index", str(docs), str(more), "--index-dir", str(index_dir), "--procs", "1"])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: cannot write the index in {str(index_dir)!r}: no space left")
        assert "Traceback" not in result.output
        assert len(_ids(index_dir)) == 10  # the committed clippings
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        retry = runner.invoke(cli, ["index", str(docs), str(more), "--index-dir", str(index_dir), "--procs", "1"])
        assert retry.exit_code == 0, retry.output
        assert len(_ids(index_dir)) == 610
        assert not (index_dir / "clipsearch.tmp").exists()


@AS_ROOT
def test_a_read_only_folder_is_a_clear_error_and_searches_still_work(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    generated(docs, 5)
    with _tmpfs(tmp_path / "disk", "16m") as disk:
        index_dir = disk / "ix"
        clipsearch.build_index([docs], index_dir)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = CliRunner().invoke(cli, ["index", str(docs), "--index-dir", str(index_dir)])
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            f"Error: cannot write the index in {str(index_dir)!r}: the file system is read-only "
            f"({index_dir / 'clipsearch.lock'}); what was committed before is kept\n"
        )
        assert len(_ids(index_dir)) == 5
