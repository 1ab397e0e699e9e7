"""Topic models for section grouping: TF-IDF → LSA → k-means with k chosen by stability.

A model is fitted on the store's vocabulary (the texts of items already stored) when it
is big enough, else on the digest's own entries. Documents are put in a canonical order
(by content hash) and every random step is seeded, so a given set of texts always gives
the same topics whatever order it comes in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from newsletter.analysis.themes.kmeans import adjusted_rand, kmeans, nearest
from newsletter.analysis.themes.labels import STOP_WORDS, terms
from newsletter.analysis.themes.lsa import lsa_axes
from newsletter.analysis.themes.silhouette import cosine_distances, silhouette
from newsletter.analysis.themes.space import TermSpace, unit_rows

logger = logging.getLogger(__name__)

# Fitting on more documents than this adds time but not quality: the rest are assigned.
FIT_CAP = 3000
# Below this many store texts there is too little to learn topics from the store; the
# entries are clustered on their own (with whatever store texts there are).
MIN_CORPUS = 150
LSA_DIMS = 100
# The most numbers the dense rows of a small digest's clustering may hold (64 MB).
DENSE_CELLS = 1 << 23
# A story from a cluster too small to show joins the closest shown one above this cosine.
SMALL_JOIN = 0.05
# How many topics a store may hold beyond what one digest shows; extras fold away later.
EXTRA_TOPICS = 3
STABILITY_REPS = 6
STABILITY_CAP = 1500  # documents used to choose k; more only cost time
# Below this agreement no k is a real structure (news categories score 0.7-0.8).
MIN_STABILITY = 0.4
STABILITY_FRACTION = 0.7
SEED = 0
TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W\d_]+\b"  # words of letters only: no years or prices

TermCounts = tuple[Counter[str], int]  # documents containing each term, number of documents


def digest(text: str) -> str:
    """A short content hash: the canonical order and cache key of a text."""
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()


class Vocabulary(tuple):
    """Texts of the items already in the store, and a folder where what the theme model
    learns from them may be kept between runs (so a build with a few new items reuses it)."""

    cache_dir: Path | None = None

    def __new__(cls, texts: Sequence[str], cache_dir: Path | None = None) -> Vocabulary:
        vocabulary = super().__new__(cls, texts)
        vocabulary.cache_dir = cache_dir
        return vocabulary


# A saved model is kept while this share of the texts it would be fitted on were in its last
# fit: topics drift slowly, and refitting 2,000 texts costs seconds at every run. Texts it
# has not seen are folded in (see TopicModel.update) instead.
REUSE_SHARE = 0.9
CACHE_VERSION = "topics-3"  # plain NumPy data since 3: no scikit-learn objects inside
T = TypeVar("T")


def persisted(
    vocabulary: Sequence[str], name: str, keys: Sequence[str], compute: Callable[[], T]
) -> T:
    """`compute()`, or the value saved by an earlier run for a vocabulary sharing at least
    REUSE_SHARE of `keys` (only when the vocabulary names a cache folder)."""
    path = _cache_path(vocabulary, name)
    if path is None:
        return compute()
    wanted = frozenset(keys)
    saved = _load(path)
    if saved is not None and len(saved["keys"] & wanted) >= REUSE_SHARE * len(wanted):
        return saved["value"]
    value = compute()
    _save(path, {"keys": wanted, "value": value})
    return value


def kept_model(
    vocabulary: Sequence[str],
    name: str,
    texts: Mapping[str, str],
    fit: Callable[[], TopicModel | None],
) -> TopicModel | None:
    """The store's topic model, kept between runs next to the store: fitted when none is
    kept or the store has moved on (less than REUSE_SHARE of `texts` were in its last fit),
    else the kept one with the texts it has not seen folded in, which costs what they cost."""
    path = _cache_path(vocabulary, name)
    if path is None:
        return fit()
    wanted = frozenset(texts)
    saved = _load(path)
    if saved is not None and len(saved["fitted"] & wanted) >= REUSE_SHARE * len(wanted):
        model: TopicModel | None = saved["value"]
        new = sorted(wanted - saved["seen"])
        if not new:
            return model
        if model is not None:
            model.update([texts[k] for k in new])
            logger.debug("topic model: %d new texts folded in", len(new))
        _save(path, {**saved, "seen": (saved["seen"] & wanted) | frozenset(new), "value": model})
        return model
    model = fit()
    _save(path, {"fitted": wanted, "seen": wanted, "value": model})
    return model


def _cache_path(vocabulary: Sequence[str], name: str) -> Path | None:
    folder = getattr(vocabulary, "cache_dir", None)
    return None if folder is None else Path(folder) / f"{name}.pickle"


def _load(path: Path) -> dict | None:
    try:
        with path.open("rb") as f:
            saved = pickle.load(f)  # our own file, written below, next to the store
        return saved if saved.get("version") == CACHE_VERSION else None
    except FileNotFoundError:
        return None
    except Exception as e:  # a stale or damaged cache is only a lost shortcut
        logger.info("theme cache %s not reused: %s", path, e)
        return None


def _save(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        with tmp.open("wb") as f:
            pickle.dump({**data, "version": CACHE_VERSION}, f)
        os.replace(tmp, path)
    except OSError as e:
        logger.warning("cannot keep the theme model in %s: %s", path, e)


@dataclass
class TopicModel:
    """A fitted TF-IDF (+ LSA) space, topic centroids in it, and the documents it learned
    (a store model keeps only their term counts: see `term_counts`). Plain NumPy data:
    applying a kept model needs no scikit-learn (see newsletter.analysis.themes.space)."""

    space: TermSpace
    centroids: np.ndarray
    docs: tuple[str, ...]
    doc_topics: np.ndarray
    from_store: bool  # fitted on store texts only (not on the entries being grouped)
    _stats: tuple[TermCounts, list[TermCounts]] | None = field(default=None, repr=False)
    sums: np.ndarray | None = field(default=None, repr=False)  # per topic: sum of its vectors

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_last", None)  # the last digest's vectors are not part of the model
        return state

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of texts in the model's space (the last texts' are kept: grouping
        asks twice for the same digest)."""
        key = tuple(texts)
        last = getattr(self, "_last", None)
        if last is not None and last[0] == key:
            return last[1]
        V = self.space.vectors(texts)
        self._last = (key, V)
        return V

    def assign(self, texts: Sequence[str]) -> list[int]:
        """Index of the nearest topic (cosine) for each text."""
        return [int(a) for a in np.argmax(self.vectors(texts) @ self.centroids.T, axis=1)]

    def term_counts(self) -> tuple[TermCounts, list[TermCounts]]:
        """Label-term document counts over all fitted documents and per topic (computed once)."""
        if self._stats is None:
            total: Counter[str] = Counter()
            per_topic: list[Counter[str]] = [Counter() for _ in range(self.k)]
            for text, topic in zip(self.docs, self.doc_topics, strict=True):
                seen = set(terms(text))
                total.update(seen)
                per_topic[int(topic)].update(seen)
            sizes = np.bincount(self.doc_topics, minlength=self.k)
            self._stats = (
                (total, len(self.docs)),
                [(c, int(n)) for c, n in zip(per_topic, sizes, strict=True)],
            )
        return self._stats

    def update(self, texts: Sequence[str]) -> None:
        """Fold new texts in without refitting: each joins its nearest topic, whose centre
        (the mean of its members' vectors) and term counts move with it. The vocabulary and
        the LSA space stay as fitted until the store has moved on enough to refit."""
        texts = [t for t in texts if t.strip()]
        if not texts:
            return
        (total, n), per_topic = self.term_counts()
        if self.sums is None:
            sizes = np.array([size for _, size in per_topic], dtype=np.float64)
            self.sums = self.centroids * np.maximum(sizes, 1.0)[:, None]
        V = self.vectors(texts)
        topics = np.argmax(V @ self.centroids.T, axis=1)
        np.add.at(self.sums, topics, V)
        self.centroids = unit_rows(self.sums)
        counts = [(c, size) for c, size in per_topic]
        for text, topic in zip(texts, topics, strict=True):
            seen = set(terms(text))
            total.update(seen)
            counter, size = counts[int(topic)]
            counter.update(seen)
            counts[int(topic)] = (counter, size + 1)
        self._stats = ((total, n + len(texts)), counts)


# Fitting on a large store vocabulary takes seconds; several lists (or a rebuild) reuse it.
_CACHE: dict[tuple[str, int], TopicModel | None] = {}
_CACHE_SIZE = 4


def topic_model(
    texts: Sequence[str], vocabulary: Sequence[str], max_sections: int
) -> TopicModel | None:
    """Topics of the store's vocabulary when it is big enough, else of the entries too."""
    store = {digest(t): t for t in vocabulary if t.strip()}
    from_store = len(store) >= MIN_CORPUS
    corpus = store if from_store else {**store, **{digest(t): t for t in texts if t.strip()}}
    # Hash order is canonical, and its head is a fair, repeatable sample of a big corpus.
    keys = sorted(corpus)[:FIT_CAP]
    cache_key = (digest("\n".join(keys)), max_sections)
    if cache_key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))

        def fit() -> TopicModel | None:
            model = fit_topics([corpus[k] for k in keys], max_sections, from_store)
            if model is not None:
                model.term_counts()  # computed once, kept with the model
                if from_store:  # the counts are all a store model needs of its texts
                    model.docs = ()
            return model

        if from_store:  # only a store-only model is worth keeping: entries change every run
            model = kept_model(
                vocabulary, f"topics-{max_sections}", {k: corpus[k] for k in keys}, fit
            )
            if model is not None:  # the store's term counts: the same texts, counted once
                _COUNTS_CACHE.setdefault(cache_key[0], model.term_counts()[0])
            _CACHE[cache_key] = model
        else:
            _CACHE[cache_key] = fit()
    return _CACHE[cache_key]


def fit_topics(docs: Sequence[str], max_sections: int, from_store: bool) -> TopicModel | None:
    """Fit TF-IDF, reduce with LSA when the corpus is big, and cluster with a chosen k."""
    # Many small matrix products (the k-means runs): BLAS threads only spin against each
    # other (and against whatever else the machine runs); one is several times faster.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _fit_topics(docs, max_sections, from_store)


def _fit_topics(docs: Sequence[str], max_sections: int, from_store: bool) -> TopicModel | None:
    big = len(docs) >= MIN_CORPUS
    fitted = TermSpace.fit_rows(
        docs,
        TOKEN_PATTERN,
        STOP_WORDS,
        max_df=0.5 if big else 1.0,
        min_df=2 if big else 1,
        dtype=np.float32,
    )
    if fitted is None:  # no topic word: nothing to cluster on
        return None
    space, X = fitted
    dims = min(LSA_DIMS, X.shape[1] - 1, X.shape[0] - 1)
    if big and dims >= 10:
        space.axes = lsa_axes(X, dims, SEED).astype(np.float32)
        F = unit_rows(X.dot(space.axes.T))
    else:
        F = X.dense()
    k_max = min(max_sections + (EXTRA_TOPICS if big else 0), len(docs) // 4 + 1)
    k, agreement = choose_k(F, range(2, max(2, k_max) + 1))
    if agreement < MIN_STABILITY:
        # No k is clearly right (a loose mix of feeds): about sqrt(n / 4) sections, all
        # of which can be shown, read well.
        k = int(np.clip(round(np.sqrt(len(docs) / 4)), 2, max(2, max_sections - 1)))
        logger.debug("no stable k (best agreement %.3f); using %d", agreement, k)
    labels, centres = kmeans(F, k, SEED, n_init=4)
    logger.debug("topic model: %d documents, %d topics", len(docs), k)
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    return TopicModel(
        space=space,
        centroids=unit_rows(centres),
        docs=tuple(docs),
        doc_topics=labels.astype(np.int64),
        from_store=from_store,
        sums=centres * sizes[:, None],
    )


def small_clusters(
    texts: Sequence[str], vocabulary: Sequence[str], max_sections: int, min_size: int
) -> list[int]:
    """Clusters of a small digest (no big store): average-linkage on cosine distance.

    The tree is cut where the silhouette is best, which needs no absolute distance
    threshold (those break on short texts or shared boilerplate). Quadratic in the number
    of texts, so only for corpora below MIN_CORPUS. Clusters beyond the
    `max_sections - 1` biggest of at least `min_size` are dissolved; their stories join
    the closest kept cluster when similar enough, else are left over (-1).
    """
    X = small_vectors(texts, vocabulary)
    if X is None or len(texts) < 3:
        return [0] * len(texts)
    # Texts with no topic word at all have no direction: they are left over.
    rows = np.flatnonzero(X.any(axis=1))
    out = [-1] * len(texts)
    for i, a in zip(rows, cluster_rows(X[rows], max_sections, min_size), strict=True):
        out[int(i)] = a
    return out


def cluster_rows(
    X: np.ndarray, max_sections: int, min_size: int, join: float = SMALL_JOIN
) -> list[int]:
    """Average-linkage clusters of unit rows, cut at the best silhouette: the
    `max_sections - 1` biggest of at least `min_size` are kept (0, 1, ...), a row of
    another joins the closest kept cluster when its cosine to it reaches `join`, and
    the rest are left over (-1)."""
    n = X.shape[0]
    if n < 3:
        return [0] * n
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(X, method="average", metric="cosine")
    D = cosine_distances(X)
    best, raw = -2.0, np.zeros(n, dtype=int)
    for k in range(2, min(max_sections + EXTRA_TOPICS, n - 1) + 1):
        labels = fcluster(tree, k, criterion="maxclust")
        if len(set(labels)) < 2:
            continue
        score = silhouette(D, labels)
        if score > best + 1e-9:
            best, raw = score, labels
    sizes = Counter(int(c) for c in raw)
    # Biggest first; the first member's position breaks ties so the order is repeatable.
    first = {int(c): i for i, c in reversed(list(enumerate(raw)))}
    ranked = sorted(sizes, key=lambda c: (-sizes[c], first[c]))
    kept = [c for c in ranked if sizes[c] >= min_size][: max(1, max_sections - 1)]
    index = {c: i for i, c in enumerate(kept)}
    out = [index.get(int(c), -1) for c in raw]
    if kept:
        members = [[i for i, a in enumerate(out) if a == g] for g in range(len(kept))]
        centroids = unit_rows(np.vstack([X[m].mean(axis=0) for m in members]))
        for i, a in enumerate(out):
            if a < 0:
                sims = centroids @ X[i]
                best_group = int(np.argmax(sims))
                if sims[best_group] >= join:
                    out[i] = best_group
    return out


def small_vectors(
    texts: Sequence[str], vocabulary: Sequence[str], max_share: float = 0.5
) -> np.ndarray | None:
    """Dense unit TF-IDF rows; words in more than `max_share` of the texts (boilerplate)
    are dropped, and so are the rarest words when the rows would hold more than
    DENSE_CELLS numbers (text of rare words, codes or names has a word per story)."""
    corpus = [*vocabulary, *texts]
    for max_df in (max_share, 1.0):  # a tiny corpus may have no word under the cap
        space = TermSpace.fit(
            corpus,
            TOKEN_PATTERN,
            STOP_WORDS,
            max_df if len(corpus) >= 10 else 1.0,
            max_terms=DENSE_CELLS // len(texts) if texts else None,
        )
        if space is None:
            continue
        X = space.vectors(texts)
        if X.any(axis=1).sum() >= 2:
            return X
    return None


def choose_k(F: np.ndarray, ks: range) -> tuple[int, float]:
    """The k whose clusterings agree best across random subsamples (most stable).

    Two k-means runs on different random 70% subsamples label all points; their adjusted
    Rand agreement, averaged over a few pairs, is high only for a k that matches a real
    structure in the data (Ben-Hur et al. 2002; Lange et al. 2004). Returns the best k
    and its agreement.
    """
    F = F[:STABILITY_CAP]  # rows are in hash order: the head is a fair sample
    n = F.shape[0]
    rng = np.random.default_rng(SEED)
    best_k, best_score = ks[0], -1.0
    for k in ks:
        if k >= n:
            break
        scores = []
        for rep in range(STABILITY_REPS):
            a = np.less(rng.random(n), STABILITY_FRACTION)
            b = np.less(rng.random(n), STABILITY_FRACTION)
            if a.sum() <= k or b.sum() <= k:
                continue
            _, centres_a = kmeans(F[a], k, SEED + rep)
            _, centres_b = kmeans(F[b], k, SEED + 100 + rep)
            scores.append(adjusted_rand(nearest(F, centres_a), nearest(F, centres_b)))
        score = float(np.mean(scores)) if scores else -1.0
        logger.debug("k=%d stability %.3f", k, score)
        if score > best_score + 1e-9:
            best_k, best_score = k, score
    return best_k, best_score


def store_term_counts(vocabulary: Sequence[str]) -> TermCounts | None:
    """Label-term document counts of (a capped sample of) the store's texts."""
    store = {digest(t): t for t in vocabulary if t.strip()}
    if not store:
        return None
    keys = sorted(store)[:FIT_CAP]
    cache_key = digest("\n".join(keys))
    if cache_key not in _COUNTS_CACHE:
        if len(_COUNTS_CACHE) >= _CACHE_SIZE:
            _COUNTS_CACHE.pop(next(iter(_COUNTS_CACHE)))

        def count() -> TermCounts:
            total: Counter[str] = Counter()
            for k in keys:
                total.update(set(terms(store[k])))
            return total, len(keys)

        _COUNTS_CACHE[cache_key] = persisted(vocabulary, "term-counts", keys, count)
    return _COUNTS_CACHE[cache_key]


_COUNTS_CACHE: dict[str, TermCounts] = {}
