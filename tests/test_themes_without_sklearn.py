"""The small-digest path of themes (a TF-IDF fit, the silhouette of a cut) gives what
scikit-learn gives, without importing it (scikit-learn is the reference here)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from support.imports import loaded_after
from support.sections import TOPICS, story

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
    assert np.allclose(ours.vectors(texts), unit_rows(theirs.transform(texts)).toarray())


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
