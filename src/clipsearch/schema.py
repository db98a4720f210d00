"""What a clipsearch index is made of, for its writer and its readers:
versions, field names, the files beside Whoosh's, and their readers.

A clipsearch index is a Whoosh index (written by :mod:`clipsearch.writing`
with the posting blocks of :mod:`clipsearch.codec`, read by
:mod:`clipsearch.reading`) plus files of its own in the same folder:
``clipsearch.json`` (the versions that built it), ``groups.json`` (reprint
groups) and ``vocabulary.json`` (exact forms and their document
frequencies). Title, lead and body are indexed as zones of ``text`` (folded
syllables, positions), ``exact`` (forms with diacritics) and ``words``
(pyvi's words), ``exact_words`` the words as written (with diacritics);
``pairs`` holds adjacent common syllables; ``title`` and
``source`` also have fields of their own; ``day``, ``source_key``, ``dup`` and
``manifest`` are columns. Nothing here imports Whoosh.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import uuid
import zlib
from pathlib import Path
from typing import Any

from clipsearch.errors import IndexDamagedError, IndexNotFoundError, IndexVersionError

__all__ = [
    "ANALYSIS_VERSION",
    "EXACT_FIELD",
    "EXACT_WORDS_FIELD",
    "GROUPS_FILE",
    "INDEX_NAME",
    "LOCK_FILE",
    "META_FILE",
    "REBUILD_FOLDER",
    "SKIPPED_FILE",
    "PAIRS_FIELD",
    "RENAMED_CLASSES",
    "SCHEMA_VERSION",
    "TEXT_FIELD",
    "TITLE_FIELD",
    "SPELLING_FILE",
    "VOCABULARY_FILE",
    "WORDS_FIELD",
    "manifest_entry",
    "is_index_file",
    "open_index_file",
    "read_index_file",
    "read_groups",
    "read_manifest_entry",
    "read_statistics",
    "read_json",
    "read_meta",
    "read_spelling",
    "read_vocabulary",
    "stored_body",
    "write_json",
    "write_meta",
    "damaged",
]

#: Bumped when the fields or the bytes of their postings change.
SCHEMA_VERSION = 10
#: Bumped when normalisation, syllables, segmentation or the reprint
#: signatures (:mod:`clipsearch.reprints.minhash`) change what is indexed.
ANALYSIS_VERSION = 1
#: The name of the Whoosh index in the folder (its files start with it).
INDEX_NAME = "clipsearch"
META_FILE = "clipsearch.json"
#: Held (``flock``) by the one ``clipsearch index`` run writing to the folder.
LOCK_FILE = "clipsearch.lock"
#: Index statistics kept beside the index, rewritten after each run that changed it.
VOCABULARY_FILE = "vocabulary.json"
GROUPS_FILE = "groups.json"
#: The words a typo may have meant (see :mod:`clipsearch.searching.typos`).
SPELLING_FILE = "spelling.json"

#: What else a run leaves in the folder: the list of skipped files, Whoosh's
#: write lock and temporary folder, the folder a rebuild is made in.
SKIPPED_FILE = "skipped.tsv"
REBUILD_FOLDER = ".rebuild"
_INDEX_FILE = re.compile(
    rf"^(_{INDEX_NAME}_\d+\.toc(\.[\d.]+)?|_{INDEX_NAME}_\d+\.sums|{INDEX_NAME}_\w+(\.\w+)*|{INDEX_NAME}\.tmp|"
    rf"{re.escape(META_FILE)}|{re.escape(LOCK_FILE)}|{re.escape(VOCABULARY_FILE)}|{re.escape(GROUPS_FILE)}|{re.escape(SPELLING_FILE)}|"
    rf"{re.escape(SKIPPED_FILE)}|{re.escape(REBUILD_FOLDER)})(\.new)?$"
)

#: Where the boosts of the zones title, lead and body are applied.
TEXT_FIELD, EXACT_FIELD, WORDS_FIELD, TITLE_FIELD = "text", "exact", "words", "title"
#: Adjacent common syllables of ``text`` (see :class:`clipsearch.writing.fields.PairTokenizer`).
PAIRS_FIELD = "pairs"
#: Words in their exact forms (see :class:`clipsearch.writing.fields.ExactWordTokenizer`);
#: indexes written before it have no such field.
EXACT_WORDS_FIELD = "exact_words"

#: The classes Whoosh pickles into a table of contents (the schema's
#: tokenizers, formats and columns; the segments' codec), by the name that
#: indexes written before the package had subpackages (schema 10) give them:
#: those indexes are read and updated as they are.
RENAMED_CLASSES = {
    "clipsearch.analysis.SyllableTokenizer": "clipsearch.writing.fields.SyllableTokenizer",
    "clipsearch.analysis.ExactTokenizer": "clipsearch.writing.fields.ExactTokenizer",
    "clipsearch.analysis.WordTokenizer": "clipsearch.writing.fields.WordTokenizer",
    "clipsearch.analysis.PairTokenizer": "clipsearch.writing.fields.PairTokenizer",
    "clipsearch.analysis.SignatureColumn": "clipsearch.writing.fields.SignatureColumn",
    "clipsearch.postings.IntFrequency": "clipsearch.codec.formats.IntFrequency",
    "clipsearch.postings.Presence": "clipsearch.codec.formats.Presence",
    "clipsearch.postings.VarintPositions": "clipsearch.codec.formats.VarintPositions",
    "clipsearch.codec.CompactCodec": "clipsearch.codec.compact.CompactCodec",
}


def is_index_file(name: str) -> bool:
    """Whether a file of this name in an index folder is clipsearch's (or Whoosh's for it)."""
    return bool(_INDEX_FILE.match(name))


def open_index_file(path: Path) -> int:
    """A file descriptor of the index file at ``path``, opened for reading
    without blocking (a FIFO put in its place would block forever). Raises
    :class:`FileNotFoundError` when there is none (a commit may have removed
    it), and :class:`IndexDamagedError` when it is not a regular file (a
    folder, a device, a FIFO, a loop of symbolic links) or cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise damaged(path.parent, f"file {path.name} cannot be read: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise damaged(path.parent, f"file {path.name} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_index_file(path: Path) -> bytes:
    """The bytes of the index file at ``path`` (see :func:`open_index_file`)."""
    fd = open_index_file(path)
    try:
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError as exc:
        raise damaged(path.parent, f"file {path.name} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def damaged(index_dir: Path, what: str) -> IndexDamagedError:
    """The error for an index with a missing or damaged file."""
    return IndexDamagedError(
        f"the index at {str(index_dir)!r} is damaged ({what}): rebuild it with `clipsearch index --rebuild`"
    )


def read_meta(index_dir: Path) -> dict[str, Any]:
    """The recorded versions of the index in ``index_dir``."""
    meta = index_dir / META_FILE
    if not os.path.lexists(meta):
        try:
            has_toc = any(name.startswith(f"_{INDEX_NAME}_") for name in os.listdir(index_dir))
        except OSError:
            has_toc = False
        if has_toc:
            raise damaged(index_dir, f"{META_FILE} is missing")
        raise IndexNotFoundError(f"no clipsearch index in {str(index_dir)!r}: run `clipsearch index` first")
    data = read_json(meta)
    if not data:  # a dangling symbolic link, or removed meanwhile
        raise damaged(index_dir, f"{META_FILE} is missing")
    if data.get("schema_version") != SCHEMA_VERSION or data.get("analysis_version") != ANALYSIS_VERSION:
        raise IndexVersionError(
            f"the index in {str(index_dir)!r} was built by another version of clipsearch "
            f"(schema {data.get('schema_version')}, analysis {data.get('analysis_version')}; "
            f"this one needs {SCHEMA_VERSION}, {ANALYSIS_VERSION}): rebuild it with `clipsearch index --rebuild`"
        )
    return data


def write_meta(index_dir: Path, **extra: Any) -> None:
    """Record this version's schema and analysis versions (and ``extra``) in
    ``index_dir``, and that every generation from now on has checksums."""
    try:
        index_id = read_json(index_dir / META_FILE).get("index_id")
    except IndexDamagedError:
        index_id = None
    data = {
        "schema_version": SCHEMA_VERSION,
        "analysis_version": ANALYSIS_VERSION,
        # Which index the statistics files belong to; kept by every run and rebuild.
        "index_id": index_id if isinstance(index_id, str) else uuid.uuid4().hex,
        "checksums": True,
        "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }
    write_json(index_dir / META_FILE, data)


def manifest_entry(clipping_id: str, sha: str, location: str) -> bytes:
    """The ``manifest`` column's value for a clipping: its id, the SHA-256 of
    its file and the file's absolute path, for incremental runs; separated by
    NUL, which no file name holds, the path as the file system's bytes (a
    name need not be UTF-8, and may hold tabs)."""
    return b"\0".join((clipping_id.encode("utf-8", "surrogatepass"), sha.encode("ascii"), os.fsencode(location)))


def read_manifest_entry(raw: bytes) -> tuple[str, str, str]:
    """``(id, sha256, absolute path)`` from what :func:`manifest_entry` wrote
    (or what clipsearch before 0.2 wrote: the three separated by tabs)."""
    if b"\0" in raw:
        clipping_id, sha, location = raw.split(b"\0", 2)
        return clipping_id.decode("utf-8", "surrogatepass"), sha.decode("ascii"), os.fsdecode(location)
    clipping_id_text, sha_text, location_text = raw.decode("utf-8").split("\t", 2)
    return clipping_id_text, sha_text, location_text


def _json_crc(data: dict[str, Any]) -> int:
    return zlib.crc32(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()) & 0xFFFFFFFF


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` as compact JSON and its checksum
    (``crc32``), never leaving it half written."""
    if (os.path.lexists(path) and not os.path.isfile(path)) or os.path.islink(path):
        raise damaged(path.parent, f"file {path.name} is not a regular file")
    tmp = path.with_name(path.name + ".new")
    text = json.dumps({**data, "crc32": _json_crc(data)}, ensure_ascii=False, separators=(",", ":"))
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object written by :func:`write_json` (empty if missing). Raises
    :class:`IndexDamagedError` if it is unreadable or does not match its checksum."""
    try:
        data = json.loads(read_index_file(path).decode("utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        raise damaged(path.parent, f"file {path.name} is unreadable") from None
    if not isinstance(data, dict):
        raise damaged(path.parent, f"file {path.name} is unreadable")
    written = data.pop("crc32", None)
    if written is not None and written != _json_crc(data):  # files of clipsearch before 0.2 have none
        raise damaged(path.parent, f"file {path.name} does not match its checksum")
    return data


def read_statistics(path: Path, index_id: str | None) -> dict[str, Any]:
    """A statistics file written beside the index (empty if missing), which
    must be the index's own: one copied from another index is damage."""
    data = read_json(path)
    if index_id and data.get("index_id") not in (None, index_id):
        raise damaged(path.parent, f"file {path.name} belongs to another index")
    return data


def read_groups(index_path: Path, index_id: str | None = None) -> dict[str, list[str]]:
    """The reprint groups written beside the index (empty if missing):
    representative id -> member ids."""
    groups = read_statistics(index_path / GROUPS_FILE, index_id).get("groups", {})
    if not isinstance(groups, dict) or not all(
        isinstance(members, list) and all(isinstance(m, str) for m in members) for members in groups.values()
    ):
        raise damaged(index_path, f"file {GROUPS_FILE} is unreadable")
    return groups


def read_vocabulary(index_path: Path, index_id: str | None = None) -> dict[str, dict[str, int]]:
    """The vocabulary written beside the index (empty if missing): for each
    folded syllable, its exact written forms with their document frequencies."""
    forms = read_statistics(index_path / VOCABULARY_FILE, index_id).get("forms", {})
    if not isinstance(forms, dict) or not all(isinstance(counts, dict) for counts in forms.values()):
        raise damaged(index_path, f"file {VOCABULARY_FILE} is unreadable")
    return forms


def read_spelling(index_path: Path, index_id: str | None = None) -> dict[str, int]:
    """The words of the index a typo may have meant, written beside it (empty
    if missing: indexes written before it): folded word -> document frequency."""
    if not os.path.lexists(index_path / SPELLING_FILE):
        return {}
    words = read_statistics(index_path / SPELLING_FILE, index_id).get("words")
    if not isinstance(words, dict) or not all(
        isinstance(w, str) and w.isalpha() and type(n) is int and n > 0 for w, n in words.items()
    ):
        raise damaged(index_path, f"file {SPELLING_FILE} is unreadable")
    return words


def stored_body(fields: dict[str, Any]) -> str:
    """The body text of a stored document: ``body``, or in an index written
    before it, ``body_z`` (zlib-compressed on its own)."""
    body = fields.get("body")
    if isinstance(body, str):
        return body
    data = fields.get("body_z")
    return zlib.decompress(data).decode("utf-8") if data else ""
