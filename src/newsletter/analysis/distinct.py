"""The distinct values of an array, as `np.unique` gives them, without its import.

NumPy 2's `np.unique` asks `np.ma.is_masked` of its input, which imports `numpy.ma` at its
first call: 17 ms, a tenth of what a build with a few new stories spends on analysis.
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-d array."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def distinct_slots(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sorted distinct values of a 1-d array, the place of each value among them,
    and how often each occurs."""
    values = np.asarray(values).ravel()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    slots = np.empty(len(values), dtype=np.intp)
    slots[order] = np.cumsum(first) - 1
    counts = np.diff(np.append(np.flatnonzero(first), len(ordered)))
    return ordered[first], slots, counts
