"""A reader for CRFsuite's binary model format and a Viterbi decoder.

pyvi's segmentation model is a first-order linear-chain CRF trained with
CRFsuite (two labels, ``B_W`` and ``I_W``, a few thousand attributes). Reading
its weights into Python dicts lets the segmenter score each syllable from
cached per-syllable weights instead of building feature strings, with the
same arithmetic as CRFsuite: weights are added in the order of the item's
attributes, and ties in Viterbi go to the lower label, as in ``crf1dc_viterbi``.

Format (crfsuite ``crf1d_model.c``, little-endian): a 48-byte header with the
offsets of the feature array (``FEAT``, 20-byte records ``type, src, dst,
weight``; type 0 = state feature attribute→label, type 1 = transition
label→label) and of two CQDB string databases (labels, attributes), whose
backward arrays map ids to strings.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["CrfModel", "viterbi2"]

_HEADER = struct.Struct("<4sI4sIIIIIIIII")
_CHUNK = struct.Struct("<4sII")
_CQDB_HEADER = struct.Struct("<4sIIIII")
_FEATURE = struct.Struct("<IIId")


def _read_cqdb(data: bytes, offset: int) -> list[str]:
    magic, _size, _flag, _order, count, backward = _CQDB_HEADER.unpack_from(data, offset)
    if magic != b"CQDB":
        raise ValueError("not a CRFsuite model: bad CQDB chunk")
    strings = [""] * count
    for (record,) in struct.iter_unpack("<I", data[offset + backward : offset + backward + 4 * count]):
        value, ksize = struct.unpack_from("<II", data, offset + record)
        start = offset + record + 8
        strings[value] = data[start : start + ksize - 1].decode("utf-8")
    return strings


class CrfModel(NamedTuple):
    """The weights of a CRFsuite model."""

    labels: tuple[str, ...]
    #: attribute string -> weight for each label (0.0 where it has no feature)
    state: dict[str, tuple[float, ...]]
    #: transition[i][j]: weight of label i followed by label j
    transition: tuple[tuple[float, ...], ...]

    @classmethod
    def from_bytes(cls, data: bytes) -> CrfModel:
        """Parse a model file's bytes."""
        magic, _size, kind, _version, _nf, n_labels, _na, off_feat, off_labels, off_attrs, _lr, _ar = (
            _HEADER.unpack_from(data, 0)
        )
        if magic != b"lCRF" or kind != b"FOMC":
            raise ValueError("not a CRFsuite first-order CRF model")
        labels = _read_cqdb(data, off_labels)
        attrs = _read_cqdb(data, off_attrs)
        chunk, _csize, count = _CHUNK.unpack_from(data, off_feat)
        if chunk != b"FEAT":
            raise ValueError("not a CRFsuite model: bad feature chunk")
        state: dict[str, list[float]] = {}
        transition = [[0.0] * n_labels for _ in range(n_labels)]
        start = off_feat + _CHUNK.size
        for ftype, src, dst, weight in _FEATURE.iter_unpack(data[start : start + _FEATURE.size * count]):
            if ftype == 0:
                state.setdefault(attrs[src], [0.0] * n_labels)[dst] += weight
            elif ftype == 1:
                transition[src][dst] += weight
        return cls(
            tuple(labels),
            {a: tuple(w) for a, w in state.items()},
            tuple(tuple(row) for row in transition),
        )


def viterbi2(scores0: Sequence[float], scores1: Sequence[float], transition: Sequence[Sequence[float]]) -> list[int]:
    """The best label sequence for a two-label CRF, given each position's
    state scores for label 0 and label 1. Ties go to label 0, as in CRFsuite."""
    n = len(scores0)
    if n == 0:
        return []
    t00, t01 = transition[0]
    t10, t11 = transition[1]
    p0, p1 = scores0[0], scores1[0]
    back: list[tuple[int, int]] = [(0, 0)]
    for k in range(1, n):
        a, b = p0 + t00, p1 + t10
        if b > a:
            n0, b0 = b, 1
        else:
            n0, b0 = a, 0
        a, b = p0 + t01, p1 + t11
        if b > a:
            n1, b1 = b, 1
        else:
            n1, b1 = a, 0
        p0, p1 = n0 + scores0[k], n1 + scores1[k]
        back.append((b0, b1))
    label = 1 if p1 > p0 else 0
    path = [label]
    for k in range(n - 1, 0, -1):
        label = back[k][label]
        path.append(label)
    path.reverse()
    return path
