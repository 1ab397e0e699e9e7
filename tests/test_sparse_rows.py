"""SparseRows gives what scipy.sparse gives for the operations the analysis uses (SciPy is
the reference here; the build itself no longer imports it for these)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from newsletter.analysis.sparse_rows import SparseRows


def _random(rng: np.random.Generator, n: int, width: int, entries: int):
    rows = rng.integers(0, max(n, 1), entries) if n else np.zeros(0, dtype=int)
    cols = rng.integers(0, max(width, 1), entries) if width else np.zeros(0, dtype=int)
    if not (n and width):
        rows, cols = rows[:0], cols[:0]
    values = rng.normal(size=len(rows))
    ours = SparseRows.from_entries(rows, cols, values, (n, width))
    theirs = sparse.csr_matrix((values, (rows, cols)), shape=(n, width))
    theirs.sum_duplicates()
    return ours, theirs


SHAPES = [
    (0, 5, 0),
    (4, 0, 0),
    (1, 1, 3),
    (6, 9, 0),
    (30, 40, 200),
    (200, 15, 900),
    (50, 5000, 400),
]


@pytest.mark.parametrize(("n", "width", "entries"), SHAPES)
def test_every_operation_matches_scipy(n, width, entries):
    rng = np.random.default_rng(n * 1000 + width)
    ours, theirs = _random(rng, n, width, entries)
    assert ours.shape == theirs.shape
    assert np.allclose(ours.dense(), theirs.toarray())
    assert np.array_equal(ours.indptr, theirs.indptr)
    assert np.array_equal(ours.indices, theirs.indices)
    assert np.allclose(ours.self_dots(), np.asarray(theirs.multiply(theirs).sum(axis=1)).ravel())
    assert np.allclose(ours.gram(), (theirs @ theirs.T).toarray())
    assert np.allclose(ours.column_sums(), np.asarray(theirs.sum(axis=0)).ravel())
    chosen = rng.integers(0, 2, n).astype(bool)
    assert np.allclose(ours.column_sums(chosen), np.asarray(theirs[chosen].sum(axis=0)).ravel())
    picked = np.concatenate([np.flatnonzero(chosen), np.flatnonzero(chosen)[:3]])  # a repeat
    assert np.allclose(ours.column_sums(picked), np.asarray(theirs[picked].sum(axis=0)).ravel())
    v = rng.normal(size=width)
    assert np.allclose(ours.matvec(v), theirs @ v)
    M = rng.normal(size=(width, 7))
    assert np.allclose(ours.dot(M), theirs @ M)
    unit = ours.unit().dense()
    norms = np.linalg.norm(theirs.toarray(), axis=1)
    assert np.allclose(unit, theirs.toarray() / np.where(norms == 0, 1.0, norms)[:, None])
    if n:
        a, b = rng.integers(0, n, 300), rng.integers(0, n, 300)
        expected = np.asarray(theirs[a].multiply(theirs[b]).sum(axis=1)).ravel()
        assert np.allclose(ours.pair_dots(a, b), expected)


def test_repeated_positions_are_summed_and_columns_sorted():
    m = SparseRows.from_entries([1, 0, 1, 1], [3, 2, 0, 3], [1.0, 2.0, 5.0, 4.0], (3, 4))
    assert m.indptr.tolist() == [0, 1, 3, 3]
    assert m.indices.tolist() == [2, 0, 3]
    assert m.data.tolist() == [2.0, 5.0, 5.0]


def test_blocked_steps_give_what_one_step_gives(monkeypatch):
    rng = np.random.default_rng(5)
    ours, theirs = _random(rng, 120, 60, 2000)
    M = rng.normal(size=(60, 9))
    a, b = rng.integers(0, 120, 500), rng.integers(0, 120, 500)
    monkeypatch.setattr("newsletter.analysis.sparse_rows.BLOCK_CELLS", 40)
    assert np.allclose(ours.dot(M), theirs @ M)
    expected = np.asarray(theirs[a].multiply(theirs[b]).sum(axis=1)).ravel()
    assert np.allclose(ours.pair_dots(a, b), expected)


def test_long_articles_rank_their_sentences_as_short_ones_do(monkeypatch):
    from newsletter.analysis.summary import rank

    rng = np.random.default_rng(9)
    vocabulary = [f"w{i}" for i in range(300)]
    term_lists = [list(rng.choice(vocabulary, rng.integers(0, 12))) for _ in range(80)]
    dense, dense_sizes = rank.graph(term_lists)
    monkeypatch.setattr(rank, "DENSE_CELLS", 0)  # what an article too long to hold dense gets
    sparse_counts, sizes = rank.graph(term_lists)
    assert isinstance(sparse_counts, SparseRows) and isinstance(dense, np.ndarray)
    assert np.allclose(sizes, dense_sizes)
    assert np.allclose(
        rank.reduction_scores(sparse_counts, sizes), rank.reduction_scores(dense, sizes)
    )
    assert np.allclose(rank.cosine_matrix(sparse_counts), rank.cosine_matrix(dense))
