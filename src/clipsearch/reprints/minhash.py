"""Near-duplicate ("syndicated copy") detection: MinHash signatures and LSH grouping.

A clipping's :func:`signature` is a MinHash sketch of the set of its shingles: runs of
:data:`SHINGLE_SYLLABLES` consecutive folded syllables of title, lead and body (the
syllables the index uses, without diacritics, so NFC/NFD, tone placement, case and
``đ``/``d`` do not matter; :func:`zones_signature` reads them from the analysis the
index's fields share, :func:`clipsearch.text.zones.syllable_columns`). The fraction of
equal values of two signatures estimates the Jaccard similarity of the two shingle sets
(:func:`similarity`). :func:`group` finds the pairs above a threshold with LSH banding,
joins them (single linkage) and names every group by its smallest id.

Signatures are the same in every process, on every platform and numpy version: syllables
are hashed with CRC-32 and the hash constants come from SHAKE-128 of a fixed string (never
Python's salted ``hash``). Changing :data:`NUM_HASHES`, :data:`SHINGLE_SYLLABLES`, the
syllables or the constants changes every signature: bump
:data:`clipsearch.schema.ANALYSIS_VERSION` then, so that indexes holding the old ones are rebuilt.

Needs numpy; no Whoosh and no pyvi model.
"""

from __future__ import annotations

import hashlib
import itertools
import zlib
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from clipsearch.text.zones import ZONE_MARK, join_zones, syllable_columns

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_ROWS",
    "NUM_HASHES",
    "SHINGLE_SYLLABLES",
    "SIGNATURE_BYTES",
    "TARGET_RECALL",
    "bands_for",
    "candidate_probability",
    "group",
    "signature",
    "similarity",
    "zones_signature",
]

#: Syllables per shingle (texts with fewer syllables use single syllables).
SHINGLE_SYLLABLES = 3
#: MinHash values per signature.
NUM_HASHES = 64
#: Only the low 16 bits of each minimum are kept ("b-bit MinHash"): two different minima
#: agree by chance with probability 2**-16, a negligible bias, at half the size of 32 bits.
_VALUE_DTYPE = np.dtype("<u2")
#: Bytes of a signature.
SIGNATURE_BYTES = NUM_HASHES * _VALUE_DTYPE.itemsize
#: Estimated Jaccard similarity from which :func:`group` joins two clippings.
DEFAULT_THRESHOLD = 0.5
#: :func:`bands_for` chooses bands so that a pair at the threshold is a candidate with at least this probability.
TARGET_RECALL = 0.99
#: Fewest values per LSH band (below a threshold of about 0.35, pairs at the threshold are then
#: candidates with a probability below :data:`TARGET_RECALL`: 0.95 at 0.3).
MIN_ROWS = 2

_U64 = npt.NDArray[np.uint64]
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31, _S32 = (np.uint64(s) for s in (27, 30, 31, 32))


def _hash_parameters(count: int) -> tuple[_U64, _U64]:
    """``count`` pairs (a, b) of 64-bit constants, ``a`` odd, for multiply-add-shift hashing."""
    # The fixed string is part of the signature format: changing it changes every signature.
    raw = np.frombuffer(hashlib.shake_128(b"clipsearch.duplicates minhash v1").digest(16 * count), dtype="<u8")
    a = raw[:count].astype(np.uint64) | np.uint64(1)
    b = raw[count:].astype(np.uint64)
    return a, b


_A, _B = _hash_parameters(NUM_HASHES)


@lru_cache(maxsize=65536)
def _syllable_id(folded: str) -> int:
    """CRC-32 of a folded syllable (cached: news text repeats its syllables)."""
    return zlib.crc32(folded.encode("utf-8"))


def _mix(x: _U64) -> _U64:
    """SplitMix64's finaliser: every output bit depends on every input bit."""
    x = x ^ (x >> _S30)
    x = x * _MIX1
    x = x ^ (x >> _S27)
    x = x * _MIX2
    return x ^ (x >> _S31)


def _shingle_hashes(ids: _U64, size: int) -> _U64:
    """32-bit hashes (in uint64) of the shingles of ``size`` consecutive syllable ids;
    of each syllable when there are fewer than ``size``."""
    if len(ids) < size:
        size = 1
    n = len(ids) - size + 1
    h = ids[:n].copy()
    for k in range(1, size):
        h = h * (_M1 if k % 2 else _M2) + ids[k : k + n]
    return _mix(h) >> _S32


def signature(title: str, lead: str, body: str) -> bytes:
    """The MinHash signature (:data:`SIGNATURE_BYTES` bytes) of a clipping's text."""
    return zones_signature(join_zones(title, lead, body))


def zones_signature(value: str) -> bytes:
    """The MinHash signature of a clipping's zones as one field value
    (:func:`~clipsearch.text.zones.join_zones`: title, lead, body); a zone
    after the third does not count."""
    if value.count(ZONE_MARK) > 2:
        value = join_zones(*value.split(ZONE_MARK)[:3])
    folded = syllable_columns(value).folded
    ids = np.fromiter(map(_syllable_id, folded), dtype=np.uint64, count=len(folded))
    if len(ids) == 0:  # no syllable at all: every such text gets the same signature
        ids = np.zeros(1, dtype=np.uint64)
    shingles = _shingle_hashes(ids, SHINGLE_SYLLABLES)
    # Multiply-add-shift (Dietzfelbinger): a 2-independent hash of 32-bit keys per function,
    # shifted after the minimum (the shift keeps the order).
    with np.errstate(over="ignore"):
        values = np.multiply.outer(shingles, _A)
        values += _B
    minima: npt.NDArray[np.uint16] = (values.min(axis=0) >> _S32).astype(_VALUE_DTYPE)
    return minima.tobytes()


def _values(sig: bytes) -> npt.NDArray[np.uint16]:
    if len(sig) == 0 or len(sig) % _VALUE_DTYPE.itemsize:
        raise ValueError(f"not a signature: {len(sig)} bytes")
    return np.frombuffer(sig, dtype=_VALUE_DTYPE)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures: the fraction of equal values."""
    va, vb = _values(a), _values(b)
    if len(va) != len(vb):
        raise ValueError(f"signatures of different sizes: {len(a)} and {len(b)} bytes")
    return int(np.count_nonzero(va == vb)) / len(va)


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """Probability that LSH with ``bands`` bands of ``rows`` values pairs two signatures
    whose clippings have Jaccard similarity ``jaccard`` (the S-curve)."""
    return 1.0 - (1.0 - jaccard**rows) ** bands


def bands_for(threshold: float, num_hashes: int = NUM_HASHES) -> tuple[int, int]:
    """``(bands, rows)`` for :func:`group`: the most rows per band (fewest chance candidates)
    that still makes a pair at ``threshold`` a candidate with probability :data:`TARGET_RECALL`,
    but at least :data:`MIN_ROWS` (with one value per band, every pair of clippings that share
    a single boilerplate shingle's minimum would be compared)."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    rows = MIN_ROWS
    for r in range(MIN_ROWS + 1, num_hashes + 1):
        if candidate_probability(threshold, num_hashes // r, r) < TARGET_RECALL:
            break
        rows = r
    return num_hashes // rows, rows


def _band_keys(band: npt.NDArray[np.uint16]) -> _U64:
    """One 64-bit key per row of a band (exact for up to four 16-bit values)."""
    keys = np.zeros(len(band), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in band.T:
            keys = keys * np.uint64(1 << 16) + column if band.shape[1] <= 4 else _mix(keys ^ column)
    return keys


def _bucket_pairs(keys: _U64) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """All pairs ``(i, j)``, ``i < j``, of rows with equal keys."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    same_as_next = ordered[1:] == ordered[:-1]
    # Rows in a bucket of two or more, in key order, with their bucket number.
    in_bucket = np.zeros(len(keys), dtype=bool)
    in_bucket[:-1] |= same_as_next
    in_bucket[1:] |= same_as_next
    members = order[in_bucket]
    bucket = np.cumsum(np.concatenate(([True], ~same_as_next)))[in_bucket]
    firsts: list[npt.NDArray[np.int64]] = []
    seconds: list[npt.NDArray[np.int64]] = []
    for offset in itertools.count(1):
        paired = bucket[offset:] == bucket[:-offset]
        if not paired.any():
            break
        first, second = members[:-offset][paired], members[offset:][paired]
        firsts.append(np.minimum(first, second))
        seconds.append(np.maximum(first, second))
    if not firsts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(firsts), np.concatenate(seconds)


def _find(parent: list[int], i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


def _union(parent: list[int], i: int, j: int) -> None:
    """Join the sets of ``i`` and ``j``; the root is always the smallest index of its set."""
    ri, rj = _find(parent, i), _find(parent, j)
    if ri != rj:
        parent[max(ri, rj)] = min(ri, rj)


_CHUNK = 1 << 18  # candidate pairs compared at a time


def group(signatures: Mapping[str, bytes], threshold: float = DEFAULT_THRESHOLD) -> dict[str, str]:
    """Group near-duplicates: clippings whose estimated similarity is at least ``threshold``
    are in one group, and so (transitively) are the groups they join.

    Returns, for every id in a group of two or more, the group's representative: its
    smallest id (by string order). Ids in no group are absent."""
    ids = sorted(signatures)
    if len(ids) < 2:
        return {}
    # Identical signatures are grouped at once; LSH runs on the distinct ones.
    by_signature: dict[bytes, list[int]] = {}
    for index, key in enumerate(ids):
        by_signature.setdefault(signatures[key], []).append(index)
    distinct = list(by_signature)
    sizes = {len(sig) for sig in distinct}
    if len(sizes) != 1:
        raise ValueError(f"signatures of different sizes: {sorted(sizes)} bytes")
    matrix = np.frombuffer(b"".join(distinct), dtype=_VALUE_DTYPE).reshape(len(distinct), -1)
    if matrix.shape[1] == 0:
        raise ValueError("empty signatures")

    parent = list(range(len(ids)))
    for members in by_signature.values():
        for index in members[1:]:
            _union(parent, members[0], index)
    num_hashes = matrix.shape[1]
    bands, rows = bands_for(threshold, num_hashes)
    firsts, seconds = [], []
    for band in range(bands):
        first, second = _bucket_pairs(_band_keys(matrix[:, band * rows : (band + 1) * rows]))
        firsts.append(first)
        seconds.append(second)
    codes = np.unique(np.concatenate(firsts) * len(distinct) + np.concatenate(seconds))
    leader = [members[0] for members in by_signature.values()]
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start : start + _CHUNK]
        first, second = np.divmod(chunk, len(distinct))
        equal = np.count_nonzero(matrix[first] == matrix[second], axis=1)
        similar = equal / num_hashes >= threshold  # the same arithmetic as similarity()
        for i, j in zip(first[similar].tolist(), second[similar].tolist(), strict=True):
            _union(parent, leader[i], leader[j])

    roots = [_find(parent, i) for i in range(len(ids))]
    counts: dict[int, int] = {}
    for root in roots:
        counts[root] = counts.get(root, 0) + 1
    return {ids[i]: ids[root] for i, root in enumerate(roots) if counts[root] > 1}
