"""Sparse matrices as rows of (column, value) entries: the few operations the analysis
needs, in NumPy alone.

Importing `scipy.sparse` costs about a tenth of a second (SciPy clones NumPy's whole
namespace for its array-API layer, test and Fortran tools included): more than the rest
of a build's analysis when a few stories are new. Fitting a model (scikit-learn, cold
builds) still loads SciPy; everything else runs on `SparseRows`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from newsletter.analysis.distinct import distinct_slots

# How many (entry × output column) products one step of `dot` or `pair_dots` holds. Small:
# the allocator hands bigger temporaries back to the system at once, and every step would
# then pay for fresh pages again (measured: 5x slower at 2 million).
BLOCK_CELLS = 1 << 16


@dataclass(frozen=True)
class SparseRows:
    """An n × width matrix in compressed rows: row i's entries are positions
    indptr[i]:indptr[i + 1] of `indices` (their columns, ascending, each once) and `data`."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    width: int

    @classmethod
    def from_entries(
        cls,
        rows: Sequence[int] | np.ndarray,
        cols: Sequence[int] | np.ndarray,
        values: Sequence[float] | np.ndarray,
        shape: tuple[int, int],
    ) -> SparseRows:
        """The matrix with `values` at (rows, cols); repeated positions are summed."""
        n, width = shape
        keys = np.asarray(rows, dtype=np.int64) * max(width, 1) + np.asarray(cols, dtype=np.int64)
        data = np.asarray(values, dtype=np.float64)
        if np.any(keys[1:] < keys[:-1]):
            # By row first: NumPy's stable sort is a radix sort on 16-bit numbers, several
            # times faster than on keys, and entries often come with their columns in order.
            r = np.asarray(rows)
            order = np.argsort(r.astype(np.uint16) if n <= 1 << 16 else r, kind="stable")
            keys, data = keys[order], data[order]
        if np.any(keys[1:] < keys[:-1]):
            order = np.argsort(keys, kind="stable")
            keys, data = keys[order], data[order]
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else keys
        if len(first) < len(keys):  # repeated positions: one entry holding their sum
            keys, data = keys[first], np.add.reduceat(data, first)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // max(width, 1), minlength=n), out=indptr[1:])
        return cls(indptr, keys % max(width, 1), data, width)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, self.width

    @cached_property
    def row_ids(self) -> np.ndarray:
        """The row of each entry (derived once: most operations need it)."""
        return np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=self.data.dtype)
        out[self.row_ids, self.indices] = self.data
        return out

    def ones(self) -> SparseRows:
        """The same entries, each 1."""
        return SparseRows(self.indptr, self.indices, np.ones(len(self.data)), self.width)

    def row_sums(self) -> np.ndarray:
        return np.bincount(self.row_ids, weights=self.data, minlength=self.shape[0])

    def self_dots(self) -> np.ndarray:
        """Each row's dot product with itself."""
        return np.bincount(self.row_ids, weights=self.data**2, minlength=self.shape[0])

    def unit(self) -> SparseRows:
        """Rows scaled to unit length (zero rows stay zero)."""
        norms = np.sqrt(self.self_dots())
        norms[norms == 0] = 1.0
        data = (self.data / norms[self.row_ids]).astype(self.data.dtype, copy=False)
        return SparseRows(self.indptr, self.indices, data, self.width)

    def column_sums(self, rows: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """Sum of each column over `rows` (indices, a repeated one counted again, or a
        boolean mask; all rows when None)."""
        weights = self.data
        if rows is not None:
            r = np.asarray(rows)
            n = self.shape[0]
            times = r.astype(float) if r.dtype == bool else np.bincount(r, minlength=n)
            weights = weights * times[self.row_ids]
        return np.bincount(self.indices, weights=weights, minlength=self.width)

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """This matrix times a vector of length width."""
        return np.bincount(
            self.row_ids, weights=self.data * np.asarray(v)[self.indices], minlength=self.shape[0]
        )

    def dot(self, M: np.ndarray) -> np.ndarray:
        """This matrix times a dense width × k matrix, a block of rows at a time."""
        M = np.asarray(M)
        n, k = self.shape[0], M.shape[1]
        out = np.zeros((n, k), dtype=np.result_type(self.data, M))
        for lo, hi in self._row_blocks(max(1, BLOCK_CELLS // max(k, 1))):
            s, e = self.indptr[lo], self.indptr[hi]
            starts = self.indptr[lo:hi]
            filled = self.indptr[lo + 1 : hi + 1] > starts
            if e > s:  # reduceat sums each filled row's own run: the empty ones have none
                products = self.data[s:e, None] * M[self.indices[s:e]]
                out[lo:hi][filled] = np.add.reduceat(products, starts[filled] - s, axis=0)
        return out

    def gram(self) -> np.ndarray:
        """X Xᵀ as a dense n × n array (for small n). Only columns that two rows share
        enter the product: the rest add to the diagonal alone."""
        n = self.shape[0]
        shared = np.bincount(self.indices, minlength=self.width)[self.indices] > 1
        columns, slot, _ = distinct_slots(self.indices[shared])
        D = np.zeros((n, len(columns)))
        D[self.row_ids[shared], slot.ravel()] = self.data[shared]
        G = D @ D.T
        G[np.diag_indices(n)] = self.self_dots()
        return G

    def pair_dots(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Dot product of rows a[p] and b[p] for each pair p: the entries of the shorter
        row looked up in the other, a block of pairs at a time. Pairs are taken in the
        order of the row looked into, so that the lookups ascend (a binary search that
        starts where the last one ended is several times faster)."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        lengths = np.diff(self.indptr)
        swap = lengths[a] > lengths[b]
        short, other = np.where(swap, b, a), np.where(swap, a, b)
        order = np.argsort(other, kind="stable")
        short, other = short[order], other[order]
        wide = max(self.width, 1)
        keys = self.row_ids * wide + self.indices  # ascending: rows, then columns
        out = np.zeros(len(a))
        if not len(keys):
            return out
        ends = np.cumsum(lengths[short])
        lo = 0
        while lo < len(a):
            base = ends[lo - 1] if lo else 0
            hi = max(lo + 1, int(np.searchsorted(ends, base + BLOCK_CELLS, side="right")))
            count = lengths[short[lo:hi]]
            pair = np.repeat(np.arange(hi - lo), count)
            offsets = np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
            entry = np.repeat(self.indptr[short[lo:hi]], count) + offsets
            wanted = other[lo:hi][pair] * wide + self.indices[entry]
            found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            hit = keys[found] == wanted
            out[order[lo:hi]] = np.bincount(
                pair[hit],
                weights=self.data[entry[hit]] * self.data[found[hit]],
                minlength=hi - lo,
            )
            lo = hi
        return out

    def _row_blocks(self, entries: int) -> Iterator[tuple[int, int]]:
        """Consecutive row ranges holding about `entries` entries each (one row at least)."""
        n, lo = self.shape[0], 0
        while lo < n:
            hi = int(np.searchsorted(self.indptr, self.indptr[lo] + entries, side="right")) - 1
            hi = min(n, max(lo + 1, hi))
            yield lo, hi
            lo = hi
