"""Reading clipping files: decoding and parsing into :class:`Clipping`.

A clipping file is plain text in paragraphs separated by blank lines::

    Thứ sáu,  31/03/2023          <- date line (or "Không rõ ngày", or absent)

    Title

    Lead paragraph

    Body paragraph ...

    Theo Nhandan                  <- optional source line

No Whoosh and no pyvi here.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from clipsearch.errors import ClippingError
from clipsearch.text.normalize import clean

__all__ = [
    "MAX_FILE_BYTES",
    "Clipping",
    "clipping_from_bytes",
    "clipping_id",
    "decode",
    "parse",
    "read_bytes",
    "read_clipping",
]


@dataclass(frozen=True)
class Clipping:
    """One press clipping."""

    id: str
    path: str
    date: dt.date | None
    title: str
    lead: str
    body: tuple[str, ...]
    source: str | None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def body_text(self) -> str:
        """The body paragraphs joined by blank lines."""
        return "\n\n".join(self.body)


# ---------------------------------------------------------------------------
# Decoding

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _looks_like_text(text: str) -> bool:
    """Decoded data is text unless control characters are a noticeable share
    of it (real clippings carry a few stray ones; binaries many)."""
    controls = len(_CONTROL_RE.findall(text))
    return controls <= 2 or controls <= len(text) // 20


def decode(data: bytes) -> tuple[str, list[str]]:
    """Decode clipping bytes; return the text and warnings.

    UTF-8 (with or without BOM), UTF-16 with BOM, and Windows-1258 (the
    Vietnamese Windows code page, whose tone marks are combining characters;
    the text is NFC-composed afterwards by the analysis). A UTF-8 file with a
    few damaged bytes is kept with U+FFFD in their place and a warning.
    Raises :class:`ClippingError` for binary or undecodable data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), []
            except UnicodeDecodeError as exc:
                raise ClippingError(f"invalid {encoding.upper()} at byte {exc.start}") from None
    if b"\x00" in data:
        raise ClippingError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_error = exc.start
    else:
        if not _looks_like_text(text):
            raise ClippingError("binary file (control characters)")
        return text, []
    replaced = data.decode("utf-8", errors="replace")
    damaged = replaced.count("\ufffd")
    multibyte = sum(1 for c in replaced if ord(c) > 0x7F and c != "\ufffd")
    if multibyte >= 2 * damaged:
        return replaced, [f"{damaged} invalid UTF-8 byte sequence(s) replaced (first at byte {first_error})"]
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError:
        raise ClippingError(
            f"cannot decode: not UTF-8 (invalid byte at {first_error}), UTF-16 or Windows-1258"
        ) from None
    if not _looks_like_text(text):
        raise ClippingError("cannot decode: not UTF-8, UTF-16 or Windows-1258 text")
    return unicodedata.normalize("NFC", text), ["decoded as Windows-1258"]


# ---------------------------------------------------------------------------
# Parsing

_WEEKDAY = r"(?:thứ\s*(?:hai|ba|tư|năm|sáu|bảy|bẩy|2|3|4|5|6|7)|chủ\s*nhật|cn)"
_DATE_LINE_RE = re.compile(
    r"^\s*(?:" + _WEEKDAY + r")?\s*[,.\-]?\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{4})\b.{0,40}$",
    re.IGNORECASE,
)
# A weekday followed by nothing but digits and date punctuation ("Thứ hai, 31/2").
_BROKEN_DATE_LINE_RE = re.compile(r"^\s*" + _WEEKDAY + r"\s*[,.\-]?[\d\s/.\-:]*$", re.IGNORECASE)
_UNKNOWN_DATE_RE = re.compile(r"^\s*không\s+rõ\s+ngày\s*$", re.IGNORECASE)
_SOURCE_RE = re.compile(
    r"^\s*[(\[]?\s*(?:theo|nguồn)\s*[:\-]?\s*(?P<name>[^()\[\]\n]{1,60}?)\s*[)\]]?\s*[.]?\s*$",
    re.IGNORECASE,
)
# A source name is a few words, each capitalised or an acronym (`Nhandan`,
# `TTXVN`, `Tuổi Trẻ`, `VnExpress`, `báo Nhân Dân`); "Theo cơ quan điều tra,
# ông ..." is a sentence, not a source.
_MAX_SOURCE_WORDS = 6
# Lowercase words allowed in a source name ("Theo báo Nhân Dân").
_MEDIA_WORDS = frozenset({"báo", "tạp", "chí", "trang", "đài", "kênh", "cổng", "thông", "tin", "điện", "tử"})


def _source_name(paragraph: str) -> str | None:
    if "\n" in paragraph.strip():
        return None
    m = _SOURCE_RE.match(unicodedata.normalize("NFC", paragraph))
    if not m:
        return None
    name = m.group("name").strip()
    words = name.split()
    if not words or len(words) > _MAX_SOURCE_WORDS or any(c in name for c in ",:;"):
        return None
    lowercase = [w for w in words if not (w[0].isupper() or w[0].isdigit())]
    if any(w.lower() not in _MEDIA_WORDS for w in lowercase):
        return None
    return name


def _parse_date(line: str) -> tuple[bool, dt.date | None, str | None]:
    """Is ``line`` a date line? Returns (is_date_line, date, warning)."""
    clean = unicodedata.normalize("NFC", line).replace("\u00a0", " ")
    if _UNKNOWN_DATE_RE.match(clean):
        return True, None, None
    m = _DATE_LINE_RE.match(clean)
    if m:
        day, month, year = (int(g) for g in m.groups())
        try:
            return True, dt.date(year, month, day), None
        except ValueError:
            return True, None, f"invalid date {day:02d}/{month:02d}/{year}"
    if _BROKEN_DATE_LINE_RE.match(clean):
        return True, None, f"unreadable date line {line.strip()!r}"
    return False, None, None


def _paragraphs(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in re.split(r"\n[ \t\u00a0]*\n", text):
        lines = [line.strip() for line in block.split("\n")]
        para = " ".join(line for line in lines if line)
        if para:
            paragraphs.append(para)
    return paragraphs


def parse(text: str, *, id: str, path: str = "", warnings: tuple[str, ...] = ()) -> Clipping:
    """Parse clipping text. Raises :class:`ClippingError` when there is no title."""
    if text.startswith("\ufeff"):
        text = text[1:]
    paragraphs = _paragraphs(text)
    notes = list(warnings)
    date = None
    if paragraphs:
        is_date, date, warning = _parse_date(paragraphs[0])
        if is_date:
            paragraphs.pop(0)
        if warning:
            notes.append(warning)
    if not paragraphs or not any(c.isalnum() for c in paragraphs[0]):
        raise ClippingError("empty clipping (no title)")
    title = paragraphs.pop(0)
    source = None
    if len(paragraphs) >= 1:
        source = _source_name(paragraphs[-1])
        if source is not None:
            paragraphs.pop()
    lead = paragraphs.pop(0) if paragraphs else ""
    return Clipping(id, path, date, title, lead, tuple(paragraphs), source, tuple(notes))


#: Larger files are not clippings (a press clipping is a few kilobytes).
MAX_FILE_BYTES = 10 * 1024 * 1024


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a clipping file. Raises :class:`ClippingError` when it
    cannot be read, is not a regular file (a FIFO named ``*.txt`` would block
    the reader forever, a device never end) or is larger than
    :data:`MAX_FILE_BYTES`."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):  # a socket cannot even be opened
            raise ClippingError("not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ClippingError(exc.strerror or str(exc)) from None
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise ClippingError("is a directory")
        if not stat.S_ISREG(status.st_mode):
            raise ClippingError("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ClippingError(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        size = status.st_size / 1024 / 1024
        raise ClippingError(f"file too large ({size:.1f} MB; a clipping may have {MAX_FILE_BYTES // 1024 // 1024} MB)")
    return data


def clipping_id(path: str | Path) -> str:
    """The id of the clipping in the file at ``path``: its name without the
    extension, NFC (a macOS file system writes names in NFD), without
    invisible characters. A name that is not UTF-8 (archives from old
    Windows machines name files in Windows-1258) is read as Windows-1258."""
    stem = Path(path).stem
    if any("\udc80" <= ch <= "\udcff" for ch in stem):  # bytes that were not UTF-8
        stem = os.fsencode(stem).decode("cp1258", errors="replace")
    return clean(stem)


def clipping_from_bytes(data: bytes, path: str | Path) -> Clipping:
    """Decode and parse the bytes of the clipping file at ``path`` (its id is
    :func:`clipping_id`). Raises :class:`ClippingError` with a reason."""
    p = Path(path)
    if not data.strip():
        raise ClippingError("empty file")
    text, warnings = decode(data)
    if not text.strip(" \t\r\n\ufeff\u200b\u00a0"):
        raise ClippingError("empty file")
    return parse(text, id=clipping_id(p), path=str(p), warnings=tuple(warnings))


def read_clipping(path: str | Path) -> Clipping:
    """Read and parse one clipping file. Raises :class:`ClippingError` with a
    reason when the file cannot be read, decoded or parsed."""
    return clipping_from_bytes(read_bytes(path), path)
