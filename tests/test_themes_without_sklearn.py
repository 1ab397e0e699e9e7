"""Themes without scikit-learn: the small-digest path (a TF-IDF fit, the silhouette of a
cut) and the store's topic model (TF-IDF rows, LSA axes, k-means, the agreement of two
clusterings) give what scikit-learn gives, without importing it (it is the reference)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from support.imports import loaded_after
from support.sections import TOPICS, story

from newsletter.analysis.themes.kmeans import adjusted_rand, kmeans, nearest
from newsletter.analysis.themes.lsa import lsa_axes
from newsletter.analysis.themes.silhouette import cosine_distances, silhouette
from newsletter.analysis.themes.space import TermSpace, unit_rows
from newsletter.analysis.themes.topics import STOP_WORDS, TOKEN_PATTERN


def _corpus(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    topics = sorted(TOPICS)
    texts = [story(rng, topics[i % len(topics)]) for i in range(count)]
    return texts + ["", "1999 2000 !!!", "Über Straße café naïve ÉLAN", "the and of"]


@pytest.mark.parametrize("max_df", [1.0, 0.5, 0.05])
def test_a_tfidf_fit_learns_what_scikit_learn_learns(max_df):
    corpus = _corpus(4, 60)
    ours = TermSpace.fit(corpus, TOKEN_PATTERN, STOP_WORDS, max_df)
    theirs = TfidfVectorizer(
        sublinear_tf=True, stop_words=sorted(STOP_WORDS), token_pattern=TOKEN_PATTERN, max_df=max_df
    ).fit(corpus)
    assert ours is not None
    assert ours.vocabulary == {str(t): int(i) for t, i in theirs.vocabulary_.items()}
    assert np.allclose(ours.idf, theirs.idf_)
    texts = corpus[:20] + corpus[-4:]
    assert np.allclose(ours.vectors(texts), unit_rows(theirs.transform(texts).toarray()))


def test_a_fit_with_no_term_left_is_none_where_scikit_learn_raises():
    for corpus, max_df in ((["the and of", "1999"], 1.0), (["alpha beta", "alpha beta"], 0.4)):
        assert TermSpace.fit(corpus, TOKEN_PATTERN, STOP_WORDS, max_df) is None
        with pytest.raises(ValueError):
            TfidfVectorizer(
                stop_words=sorted(STOP_WORDS), token_pattern=TOKEN_PATTERN, max_df=max_df
            ).fit(corpus)


@pytest.mark.parametrize("seed", range(6))
def test_the_silhouette_is_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 8))
    X[3] = 0.0  # a row with no direction
    labels = rng.integers(0, 2 + seed, 40)
    labels[7] = 99  # a cluster of one
    D = cosine_distances(X)
    assert silhouette(D, labels) == pytest.approx(silhouette_score(X, labels, metric="cosine"))
    assert silhouette(D, labels) == pytest.approx(silhouette_score(D, labels, metric="precomputed"))
    with pytest.raises(ValueError):
        silhouette(D, np.zeros(40, dtype=int))


def test_small_digests_are_grouped_without_scikit_learn():
    code = (
        "import random\n"
        "from support.sections import TOPICS, story\n"
        "from newsletter.analysis.themes.topics import small_clusters\n"
        "rng = random.Random(3)\n"
        "topics = sorted(TOPICS)\n"
        "texts = [story(rng, topics[i % 4]) for i in range(40)]\n"
        "assert len(set(small_clusters(texts, (), 7, 2))) > 1\n"
    )
    assert loaded_after(code, ("sklearn",)) == []


# -- the topic model's fit: TF-IDF rows, LSA axes, k-means and the agreement of two runs --


@pytest.mark.parametrize("min_df", [1, 2, 3])
def test_a_fit_with_its_rows_is_scikit_learns_with_min_df(min_df):
    corpus = _corpus(8, 80)
    fitted = TermSpace.fit_rows(corpus, TOKEN_PATTERN, STOP_WORDS, 0.5, min_df, np.float32)
    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        stop_words=sorted(STOP_WORDS),
        token_pattern=TOKEN_PATTERN,
        max_df=0.5,
        min_df=min_df,
        dtype=np.float32,
    )
    expected = vectorizer.fit_transform(corpus).toarray()
    assert fitted is not None
    space, rows = fitted
    assert space.vocabulary == {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}
    assert space.idf.dtype == np.float32 and np.allclose(space.idf, vectorizer.idf_)
    assert np.abs(rows.dense() - expected).max() < 1e-6
    assert np.abs(space.tfidf(corpus).dense() - expected).max() < 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_the_adjusted_rand_index_is_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    a = rng.integers(0, 1 + seed * 3, n)
    b = np.where(rng.random(n) < 0.7, a, rng.integers(0, 6, n)) * 7 + 3  # other label values
    assert adjusted_rand(a, b) == pytest.approx(adjusted_rand_score(a, b))
    assert adjusted_rand(a, a * 5) == pytest.approx(1.0)
    for same, alone in ((np.zeros(n), np.zeros(n)), (np.arange(n), np.arange(n)[::-1])):
        assert adjusted_rand(same, alone) == pytest.approx(adjusted_rand_score(same, alone))


def _blobs(seed: int, k: int, per: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 12)) * 4
    truth = np.repeat(np.arange(k), per)
    return centres[truth] + rng.normal(size=(k * per, 12)) * spread, truth


@pytest.mark.parametrize("seed", range(4))
def test_kmeans_finds_clear_clusters_as_scikit_learn_does(seed):
    X, truth = _blobs(seed, 3 + seed, 40, 0.3)
    labels, centres = kmeans(X, 3 + seed, seed=seed, n_init=4)
    theirs = KMeans(3 + seed, n_init=4, random_state=seed).fit(X)
    assert adjusted_rand(labels, truth) == 1.0
    assert adjusted_rand(labels, theirs.labels_) == 1.0
    assert np.array_equal(nearest(X, centres), labels)
    again, _ = kmeans(X, 3 + seed, seed=seed, n_init=4)
    assert np.array_equal(again, labels)  # the same seed, the same clusters


def test_kmeans_on_blurred_clusters_is_as_tight_as_scikit_learns():
    X, _ = _blobs(11, 6, 60, 2.5)
    labels, centres = kmeans(X, 6, seed=0, n_init=4)
    inertia = float(((X - centres[labels]) ** 2).sum())
    theirs = KMeans(6, n_init=4, random_state=0).fit(X)
    assert inertia <= 1.02 * theirs.inertia_


def test_kmeans_with_more_clusters_than_distinct_points_leaves_none_broken():
    X = np.repeat(np.eye(3), 5, axis=0)  # 15 points on 3 places
    labels, centres = kmeans(X, 5, seed=1)
    assert np.isfinite(centres).all() and labels.min() >= 0 and labels.max() < 5
    assert adjusted_rand(labels, np.repeat(np.arange(3), 5)) == 1.0  # places never split


def test_lsa_axes_span_what_scikit_learns_svd_finds():
    corpus = _corpus(9, 400)
    fitted = TermSpace.fit_rows(corpus, TOKEN_PATTERN, STOP_WORDS, 0.5, 2)
    assert fitted is not None
    _, rows = fitted
    axes = lsa_axes(rows, 20, seed=0)
    theirs = TruncatedSVD(20, random_state=0).fit(rows.dense())
    assert axes.shape == (20, rows.shape[1])
    assert np.allclose(axes @ axes.T, np.eye(20), atol=1e-8)
    exact = np.linalg.svd(rows.dense(), compute_uv=False)[:20]
    values = np.linalg.norm(rows.dot(axes.T), axis=0)
    # both are randomized: the leading values exact, the rest close, and the axes keep as
    # much of the matrix as scikit-learn's
    assert np.allclose(values[:4], exact[:4], rtol=1e-9)
    assert np.allclose(values, exact, rtol=0.02)
    assert np.sum(values**2) >= np.sum(theirs.singular_values_**2) * (1 - 1e-4)
    overlap = np.abs(np.sum(axes[:4] * theirs.components_[:4], axis=1))
    assert (overlap > 0.99).all()  # the same leading directions (up to sign)


def test_the_store_topic_model_is_fitted_without_scikit_learn():
    code = (
        "import random\n"
        "from support.sections import TOPICS, story\n"
        "from newsletter.analysis.themes.topics import fit_topics\n"
        "rng = random.Random(4)\n"
        "topics = sorted(TOPICS)\n"
        "texts = [story(rng, topics[i % len(topics)]) for i in range(300)]\n"
        "model = fit_topics(texts, 7, True)\n"
        "assert model is not None and model.space.axes is not None and model.k >= 2\n"
    )
    assert loaded_after(code, ("sklearn",)) == []


def test_a_fit_kept_to_a_number_of_terms_drops_the_rarest_first():
    corpus = _corpus(12, 120)
    full = TermSpace.fit(corpus, TOKEN_PATTERN, STOP_WORDS)
    twice = TermSpace.fit(corpus, TOKEN_PATTERN, STOP_WORDS, min_df=2)
    assert full is not None and twice is not None and len(twice.vocabulary) < len(full.vocabulary)
    kept = TermSpace.fit(corpus, TOKEN_PATTERN, STOP_WORDS, max_terms=len(twice.vocabulary))
    assert kept is not None and kept.vocabulary == twice.vocabulary
    assert np.array_equal(kept.idf, twice.idf)
    roomy = TermSpace.fit(corpus, TOKEN_PATTERN, STOP_WORDS, max_terms=len(full.vocabulary))
    assert roomy is not None and roomy.vocabulary == full.vocabulary
    assert TermSpace.fit(corpus, TOKEN_PATTERN, STOP_WORDS, max_terms=0) is None
