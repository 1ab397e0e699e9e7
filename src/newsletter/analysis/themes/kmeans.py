"""k-means and the agreement of two clusterings, in NumPy.

The topic model clusters a few thousand LSA vectors, once for each of a dozen candidate
k and a few subsamples (`topics.choose_k`): small problems, where importing scikit-learn
(most of a second) cost more than all the clustering it did.

`kmeans` is Lloyd's algorithm from greedy k-means++ seeds (Arthur & Vassilvitskii 2007:
each new seed is the best of a few candidates drawn in proportion to their squared
distance from the seeds so far), keeping the best of `n_init` runs by inertia.
"""

from __future__ import annotations

import math

import numpy as np

from newsletter.analysis.distinct import distinct_slots

MAX_ITER = 300
TOL = 1e-4  # converged when the centres move less than this share of the data's variance


def kmeans(F: np.ndarray, k: int, seed: int, n_init: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Labels (0..k-1) of the rows of `F` and the k centres, the same for the same seed."""
    F = np.asarray(F, dtype=np.float64)
    rng = np.random.default_rng(seed)
    squares = np.einsum("ij,ij->i", F, F)
    threshold = TOL * float(np.mean(np.var(F, axis=0)))
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(n_init):
        run = _lloyd(F, squares, _seeds(F, squares, k, rng), threshold)
        if best is None or run[2] < best[2]:
            best = run
    assert best is not None
    return best[0], best[1]


def nearest(F: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The index of each row's nearest centre (Euclidean)."""
    return np.argmax(F @ centres.T - 0.5 * np.einsum("ij,ij->i", centres, centres), axis=1)


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings of the same points (Hubert & Arabie 1985):
    1 when they agree, about 0 when no better than chance."""
    a, b = distinct_slots(a)[1], distinct_slots(b)[1]
    n = len(a)
    if n < 2:
        return 1.0
    table = np.bincount(a * (int(b.max()) + 1) + b).astype(np.float64)
    pairs = float(np.sum(table * (table - 1)) / 2)
    rows = np.bincount(a).astype(np.float64)
    cols = np.bincount(b).astype(np.float64)
    pairs_a = float(np.sum(rows * (rows - 1)) / 2)
    pairs_b = float(np.sum(cols * (cols - 1)) / 2)
    expected = pairs_a * pairs_b / (n * (n - 1) / 2)
    top = (pairs_a + pairs_b) / 2
    if top == expected:  # one cluster each, or every point alone in both: the same
        return 1.0
    return (pairs - expected) / (top - expected)


def _distances(F: np.ndarray, squares: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, rows × centres."""
    d = squares[:, None] - 2.0 * (F @ centres.T) + np.einsum("ij,ij->i", centres, centres)
    return np.maximum(d, 0.0)


def _seeds(F: np.ndarray, squares: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++: the first seed at random, each next one the best (least total
    squared distance to the seeds) of 2 + ln k candidates drawn by squared distance."""
    n = F.shape[0]
    trials = 2 + int(math.log(k)) if k > 1 else 1
    chosen = [int(rng.integers(n))]
    closest = _distances(F, squares, F[chosen])[:, 0]
    for _ in range(1, k):
        total = float(closest.sum())
        if total > 0:
            draws = rng.random(trials) * total
            candidates = np.minimum(np.searchsorted(np.cumsum(closest), draws), n - 1)
        else:  # every point sits on a seed already
            candidates = rng.integers(n, size=trials)
        options = np.minimum(closest[None, :], _distances(F, squares, F[candidates]).T)
        best = int(np.argmin(options.sum(axis=1)))
        chosen.append(int(candidates[best]))
        closest = options[best]
    return F[chosen].copy()


def _lloyd(
    F: np.ndarray, squares: np.ndarray, centres: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd's iterations from `centres`: (labels, centres, inertia)."""
    n, k = F.shape[0], centres.shape[0]
    members = np.zeros((k, n))
    for _ in range(MAX_ITER):
        d = _distances(F, squares, centres)
        labels = np.argmin(d, axis=1)
        members[:] = 0.0
        members[labels, np.arange(n)] = 1.0
        counts = members.sum(axis=1)
        sums = members @ F
        empty = np.flatnonzero(counts == 0)
        if len(empty):  # an emptied cluster restarts at the points farthest from theirs
            far = np.argsort(-d[np.arange(n), labels], kind="stable")[: len(empty)]
            sums[empty], counts[empty] = F[far], 1.0
        moved = sums / counts[:, None]
        shift = float(np.sum((moved - centres) ** 2))
        centres = moved
        if shift <= threshold:
            break
    d = _distances(F, squares, centres)
    labels = np.argmin(d, axis=1)
    return labels, centres, float(d[np.arange(n), labels].sum())
