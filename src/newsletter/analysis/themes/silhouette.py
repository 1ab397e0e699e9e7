"""How well a clustering separates its members (the silhouette), in NumPy alone.

Small digests and a lump split off a kept topic model pick their cut of an average-linkage
tree by it. scikit-learn's `silhouette_score` gives the same number, but importing
scikit-learn costs most of a second: more than the rest of a build with a few new items.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from newsletter.analysis.distinct import distinct_slots


def cosine_distances(X: np.ndarray) -> np.ndarray:
    """1 - cosine similarity of the rows (a zero row is at distance 1 from every other),
    clipped to [0, 2], zero on the diagonal."""
    norms = np.linalg.norm(X, axis=1)
    norms[norms == 0] = 1.0
    unit = X / norms[:, None]
    D = 1.0 - unit @ unit.T
    np.clip(D, 0.0, 2.0, out=D)
    np.fill_diagonal(D, 0.0)
    return D


def silhouette(D: np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Mean silhouette of the samples over a distance matrix with a zero diagonal: for
    each, (b - a) / max(a, b), a its mean distance to its own cluster's other members, b
    to the nearest other cluster's; 0 for a sample alone in its cluster. Needs 2 to
    n - 1 clusters, as scikit-learn's does."""
    codes = distinct_slots(np.asarray(labels))[1]
    n, k = len(codes), int(codes.max()) + 1 if len(codes) else 0
    if not 2 <= k <= n - 1:
        raise ValueError(f"the silhouette needs 2 to n - 1 clusters, not {k} of {n} samples")
    sizes = np.bincount(codes)
    totals = D @ np.eye(k)[codes]  # each sample's summed distance to each cluster
    own = totals[np.arange(n), codes]
    totals[np.arange(n), codes] = np.inf
    nearest = (totals / sizes).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = own / (sizes[codes] - 1)
        scores = (nearest - inside) / np.maximum(inside, nearest)
    return float(np.mean(np.nan_to_num(scores)))
