"""A segment's terms file (``.trm``), read without Whoosh.

Whoosh's ``OrderedHashReader`` format: a hash file after D. J. Bernstein's
CDB, with 256 hash tables; keys are a field number and the term's bytes,
values a term info (read by :mod:`clipsearch.reading.segments`).

A terms file larger than :data:`~clipsearch.reading.checksums.CHECKED_ON_OPEN`
is not checked whole when the index is opened: given its chunk CRCs'
check, :class:`TermsFile` checks every range of bytes before it reads it
(its header, directory and field map; a lookup's slots, key and value).
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable
from typing import Any

from clipsearch.errors import IndexVersionError
from clipsearch.pickles import load_stand_ins
from clipsearch.schema import RENAMED_CLASSES

try:  # the interpreter's own MD5 (the hash of Whoosh's terms files), without OpenSSL's start-up
    from _md5 import md5  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import md5

__all__ = ["TermsFile"]

_USHORT = struct.Struct("!H")
_POINTER = struct.Struct("!Iq")  # a hash slot: key hash, position of the item
_LENGTHS = struct.Struct("!ii")  # an item: key length, value length
_HASH_TABLES = 256
#: The field number Whoosh's terms reader uses for a field it does not know.
_NO_FIELD = 65535
#: Bytes of a terms file's extras first checked and read for their pickle
#: (a few hundred bytes; the array of the keys' positions follows it).
_EXTRAS_READ = 4096


def _unchecked(_start: int, _end: int) -> None:
    """The check of a terms file checked whole when the index was opened (or never)."""


def _load_extras(buf: memoryview, start: int, end: int, check: Callable[[int, int], None]) -> Any:
    """The pickled extras at ``start`` of a terms file: a small dictionary,
    followed up to ``end`` by Whoosh's array of the keys' positions (hundreds
    of kilobytes), which is neither checked nor read (nor copied). A pickle
    cut short fails to load (a prefix of one holds no stop where it had
    none), so the bytes are checked and read in growing prefixes until it loads."""
    size = _EXTRAS_READ
    while True:
        stop = min(end, start + size)
        check(start, stop)
        try:
            return load_stand_ins(buf[start:stop], RENAMED_CLASSES)
        except (EOFError, pickle.UnpicklingError):
            if stop >= end:
                raise
        size *= 16


class TermsFile:
    """A segment's terms file: term -> term info. ``check(start, end)``, if
    given, checks bytes ``start`` to ``end`` of ``buf`` before they are read."""

    def __init__(self, buf: memoryview, check: Callable[[int, int], None] | None = None) -> None:
        self._check = check = check or _unchecked
        check(0, 5)
        if bytes(buf[:4]) != b"HSH3":
            raise IndexVersionError("a terms file of an unknown format: rebuild the index")
        if buf[4] != 0:  # Whoosh's hash type: 0 is MD5, the one its terms writer uses
            raise IndexVersionError(f"a terms file hashed with method {buf[4]}: rebuild the index")
        self._buf = buf
        extras_end = len(buf) - 4
        check(extras_end, extras_end + 4)
        extras_at = extras_end - struct.unpack_from("!i", buf, extras_end)[0]
        directory_at = extras_at - _HASH_TABLES * 12
        check(directory_at, extras_at)
        extras = _load_extras(buf, extras_at, extras_end, check)
        self.fieldmap: dict[str, int] = dict(extras.get("fieldmap", {}))
        entries = struct.unpack_from("!" + "qi" * _HASH_TABLES, buf, directory_at)
        self._tables = list(zip(entries[0::2], entries[1::2], strict=True))

    def get(self, field: str, term: bytes) -> memoryview | None:
        """The term info's bytes, or None."""
        key = _USHORT.pack(self.fieldmap.get(field, _NO_FIELD)) + term
        keyhash = int.from_bytes(md5(key).digest()[-4:], "big")  # Whoosh's md5_hash
        start, slots = self._tables[keyhash & 255]
        if not slots:
            return None
        buf, check = self._buf, self._check
        end = start + slots * _POINTER.size
        slot = start + ((keyhash >> 8) % slots) * _POINTER.size
        for _ in range(slots):
            check(slot, slot + _POINTER.size)
            slot_hash, item = _POINTER.unpack_from(buf, slot)
            if not item:
                return None
            if slot_hash == keyhash:
                check(item, item + _LENGTHS.size)
                key_length, value_length = _LENGTHS.unpack_from(buf, item)
                if key_length == len(key):
                    value_at = item + _LENGTHS.size + key_length
                    check(item + _LENGTHS.size, value_at + value_length)  # the key, and the value it keys
                    if buf[item + _LENGTHS.size : value_at] == key:
                        return buf[value_at : value_at + value_length]
            slot += _POINTER.size
            if slot == end:
                slot = start
        return None
