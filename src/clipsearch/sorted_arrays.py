"""Looking values up in ascending numpy arrays (document numbers, mostly):
one binary search per value, no sort, no ``np.isin`` (whose first call
imports ``numpy.ma``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["contains", "in_sorted", "locate"]


def locate(ascending: npt.NDArray[Any], values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """For each of ``values``: an index into ``ascending`` and whether the
    value is there (then ``ascending[index]`` is it)."""
    if not len(ascending):
        return np.zeros(len(values), dtype=np.intp), np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(ascending, values), len(ascending) - 1)
    found: npt.NDArray[np.bool_] = ascending[at] == values
    return at, found


def in_sorted(values: npt.NDArray[Any], ascending: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """For each of ``values``, whether it is in ``ascending``."""
    return locate(ascending, values)[1]


def contains(ascending: npt.NDArray[Any], value: int) -> bool:
    """Whether ``ascending`` holds ``value``."""
    at = int(np.searchsorted(ascending, value))
    return at < len(ascending) and int(ascending[at]) == value
