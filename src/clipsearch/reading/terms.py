"""A segment's terms file (``.trm``), read without Whoosh.

Whoosh's ``OrderedHashReader`` format: a hash file after D. J. Bernstein's
CDB, with 256 hash tables; keys are a field number and the term's bytes,
values a term info (read by :mod:`clipsearch.reading.segments`).
"""

from __future__ import annotations

import struct

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


class TermsFile:
    """A segment's terms file: term -> term info."""

    def __init__(self, buf: memoryview) -> None:
        if bytes(buf[:4]) != b"HSH3":
            raise IndexVersionError("a terms file of an unknown format: rebuild the index")
        if buf[4] != 0:  # Whoosh's hash type: 0 is MD5, the one its terms writer uses
            raise IndexVersionError(f"a terms file hashed with method {buf[4]}: rebuild the index")
        self._buf = buf
        extras_end = len(buf) - 4
        extras_at = extras_end - struct.unpack_from("!i", buf, extras_end)[0]
        extras = load_stand_ins(buf[extras_at:extras_end], RENAMED_CLASSES)
        self.fieldmap: dict[str, int] = dict(extras.get("fieldmap", {}))
        directory_at = extras_at - _HASH_TABLES * 12
        entries = struct.unpack_from("!" + "qi" * _HASH_TABLES, buf, directory_at)
        self._tables = list(zip(entries[0::2], entries[1::2], strict=True))

    def get(self, field: str, term: bytes) -> memoryview | None:
        """The term info's bytes, or None."""
        key = _USHORT.pack(self.fieldmap.get(field, _NO_FIELD)) + term
        keyhash = int.from_bytes(md5(key).digest()[-4:], "big")  # Whoosh's md5_hash
        start, slots = self._tables[keyhash & 255]
        if not slots:
            return None
        buf = self._buf
        end = start + slots * _POINTER.size
        slot = start + ((keyhash >> 8) % slots) * _POINTER.size
        for _ in range(slots):
            slot_hash, item = _POINTER.unpack_from(buf, slot)
            if not item:
                return None
            if slot_hash == keyhash:
                key_length, value_length = _LENGTHS.unpack_from(buf, item)
                if key_length == len(key) and buf[item + 8 : item + 8 + key_length] == key:
                    value_at = item + 8 + key_length
                    return buf[value_at : value_at + value_length]
            slot += _POINTER.size
            if slot == end:
                slot = start
        return None
