"""`distinct` and `distinct_slots` give what `np.unique` gives, without loading numpy.ma."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from newsletter.analysis.distinct import distinct, distinct_slots


@pytest.mark.parametrize(
    "values",
    [
        np.zeros(0, dtype=np.int64),
        np.array([7], dtype=np.uint64),
        np.array([3, 1, 3, 3, 0, 1], dtype=np.int64),
        np.random.default_rng(0).integers(0, 50, 1000),
        np.random.default_rng(1).integers(0, 2**63, 300, dtype=np.uint64) * np.uint64(2),
    ],
)
def test_distinct_values_slots_and_counts_are_numpys(values):
    assert np.array_equal(distinct(values), np.unique(values))
    unique, slots, counts = distinct_slots(values)
    expected, inverse, times = np.unique(values, return_inverse=True, return_counts=True)
    assert np.array_equal(unique, expected) and unique.dtype == expected.dtype
    assert np.array_equal(slots, inverse.ravel()) and np.array_equal(counts, times)
    assert np.array_equal(unique[slots], values)


def test_finding_duplicates_does_not_load_numpy_ma():
    probe = (
        "import sys\n"
        "from newsletter.analysis.dedupe.merge import duplicate_groups\n"
        "from newsletter.model import Item\n"
        "text = 'The harbour ferry leaves ten minutes later from Monday on, the council said.'\n"
        "items = [Item(key=str(i), feed_url=f'f{i}', link='', title='Ferry times', text=text)\n"
        "         for i in range(3)]\n"
        "assert duplicate_groups(items)[0] == [[0, 1, 2]]\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
