"""A fitted TF-IDF (+ LSA) space, applied with NumPy alone.

scikit-learn fits the space (newsletter.analysis.themes.topics); `TermSpace` keeps what the
fit learned (the vocabulary, the idf weights, the LSA axes), so a later build folds new
texts into a kept topic model without importing scikit-learn, whose import alone costs
most of a second: more than the rest of a build with a few new items. (SciPy is left
out for the same reason: see newsletter.analysis.sparse_rows.)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from newsletter.analysis.sparse_rows import SparseRows


@dataclass
class TermSpace:
    """What `TfidfVectorizer(sublinear_tf=True, lowercase=True, norm="l2")` and an optional
    `TruncatedSVD` learned; `vectors` gives what their `transform`s give, as unit rows."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # per term
    axes: np.ndarray | None  # LSA components (dimensions x terms); None: plain TF-IDF
    token_pattern: str

    @classmethod
    def fit(
        cls,
        corpus: Sequence[str],
        token_pattern: str,
        stop_words: AbstractSet[str],
        max_df: float = 1.0,
    ) -> TermSpace | None:
        """What `TfidfVectorizer(sublinear_tf=True, stop_words=..., max_df=...)` learns
        from `corpus`, without scikit-learn: its terms (no stop word, none in more than
        `max_df` of the texts) and their smoothed idf, ln((1 + n) / (1 + df)) + 1. None
        when no term is left (where scikit-learn raises)."""
        token = re.compile(token_pattern)
        df: Counter[str] = Counter()
        for text in corpus:
            df.update({w for w in token.findall(text.lower()) if w not in stop_words})
        n = len(corpus)
        kept = sorted(t for t, d in df.items() if d <= max_df * n)
        if not kept:
            return None
        counts = np.array([df[t] for t in kept], dtype=np.float64)
        idf = np.log((1.0 + n) / (1.0 + counts)) + 1.0
        return cls({t: i for i, t in enumerate(kept)}, idf, None, token_pattern)

    @classmethod
    def fitted(cls, vectorizer: Any, svd: Any | None) -> TermSpace:
        """The space of a fitted vectorizer (and LSA, if any)."""
        return cls(
            vocabulary={str(t): int(i) for t, i in vectorizer.vocabulary_.items()},
            idf=np.asarray(vectorizer.idf_, dtype=np.float32),
            axes=None if svd is None else np.asarray(svd.components_),
            token_pattern=vectorizer.token_pattern,
        )

    def tfidf(self, texts: Sequence[str]) -> SparseRows:
        """Unit TF-IDF rows: 1 + log(count) of each known term, times its idf."""
        token = re.compile(self.token_pattern)
        indptr, indices, counts = [0], list[int](), list[int]()
        for text in texts:
            found = Counter(
                self.vocabulary[w] for w in token.findall(text.lower()) if w in self.vocabulary
            )
            for column, count in sorted(found.items()):  # SparseRows keeps columns in order
                indices.append(column)
                counts.append(count)
            indptr.append(len(indices))
        weights = np.log(np.asarray(counts, dtype=self.idf.dtype)) + 1
        columns = np.asarray(indices, dtype=np.int64)
        X = SparseRows(
            np.asarray(indptr, dtype=np.int64), columns, weights * self.idf[columns], len(self.idf)
        )
        return X.unit()

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of texts in the space (LSA coordinates when it has axes)."""
        X = self.tfidf(texts)
        if self.axes is None:
            return X.dense()
        return unit_rows(X.dot(self.axes.T))


def unit_rows(X: Any) -> Any:
    """Rows scaled to unit length (zero rows stay zero): a dense array or a SciPy CSR
    matrix (what scikit-learn's vectorizers give; `SparseRows` has `unit`)."""
    if hasattr(X, "tocsr"):
        X = X.tocsr(copy=True)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        X.data /= np.repeat(norms, np.diff(X.indptr)).astype(X.data.dtype)
        return X
    X = np.asarray(X)
    norms = np.linalg.norm(X, axis=1)
    norms[norms == 0] = 1.0
    return X / norms[:, None]
