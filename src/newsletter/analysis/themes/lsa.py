"""The LSA axes of a TF-IDF matrix: its leading right singular vectors, found by a
randomized SVD (Halko, Martinsson & Tropp 2011).

A random block of directions is pushed through the matrix and back a few times (power
iterations, so the leading singular values stand out), which leaves a small basis holding
the matrix's leading rows; the SVD of the matrix seen in that basis is small and exact.
Only the products need a sparse matrix in compiled code (SciPy's, imported here: a build
that fits no topic model never loads it); the rest is NumPy on blocks of a hundred or so
columns.
"""

from __future__ import annotations

import numpy as np

from newsletter.analysis.sparse_rows import SparseRows

POWER_ITERATIONS = 5
OVERSAMPLE = 10  # extra directions that make the leading ones come out accurate


def lsa_axes(X: SparseRows, dims: int, seed: int) -> np.ndarray:
    """The `dims` leading right singular vectors of X (dims × width), the same for the
    same seed."""
    import scipy.sparse

    A = scipy.sparse.csr_matrix((X.data, X.indices, X.indptr), shape=X.shape)
    AT = A.T.tocsr()
    rng = np.random.default_rng(seed)
    Y = A @ rng.standard_normal((X.shape[1], min(dims + OVERSAMPLE, min(X.shape))))
    for _ in range(POWER_ITERATIONS):
        Y = A @ _orthonormal(AT @ _orthonormal(Y))
    basis, _ = np.linalg.qr(Y)
    small = np.asarray(AT @ basis).T  # X seen in the basis: (dims + oversample) × width
    _, _, axes = np.linalg.svd(small, full_matrices=False)
    return axes[:dims]


def _orthonormal(Y: np.ndarray) -> np.ndarray:
    """An orthonormal basis of Y's columns. Cholesky QR: one small factorization of the
    columns' Gram matrix instead of a QR of the tall block (as accurate here: the power
    iterations only need the columns kept apart); a true QR when the columns are not
    independent."""
    Y = np.asarray(Y)
    try:
        upper = np.linalg.cholesky(Y.T @ Y).T
    except np.linalg.LinAlgError:
        return np.linalg.qr(Y)[0]
    return np.linalg.solve(upper.T, Y.T).T
