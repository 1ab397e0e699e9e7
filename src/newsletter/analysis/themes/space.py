"""A TF-IDF (+ LSA) space, fitted and applied with NumPy alone.

`TermSpace` learns what scikit-learn's `TfidfVectorizer` learns (the vocabulary and the
idf weights; `topics` adds the LSA axes, see `lsa`), and applies it to new texts, so
neither fitting the store's topic model nor folding new texts into a kept one imports
scikit-learn, whose import alone costs most of a second: more than the rest of a build
with a few new items. (SciPy's sparse matrices are left out for the same reason: see
newsletter.analysis.sparse_rows.)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from newsletter.analysis.sparse_rows import SparseRows

# The document counts `TermSpace.fit` raises `min_df` to, in turn, to keep to `max_terms`.
_FLOORS = (2, 3, 5, 8, 13)


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
        min_df: int = 1,
        dtype: type = np.float64,
        max_terms: int | None = None,
    ) -> TermSpace | None:
        """What `TfidfVectorizer(sublinear_tf=True, stop_words=..., max_df=..., min_df=...)`
        learns from `corpus`: its terms (no stop word, none in more than `max_df` of the
        texts or fewer than `min_df`) and their smoothed idf, ln((1 + n) / (1 + df)) + 1.
        None when no term is left (where scikit-learn raises).

        With `max_terms`, `min_df` is raised in steps (2, 3, 5, 8, 13) until at most that
        many terms are left, the rarest dropped first; None when even the last step leaves
        more."""
        counts = _term_counts(corpus, token_pattern, stop_words)
        return cls._fit(counts, token_pattern, max_df, min_df, dtype, max_terms)

    @classmethod
    def fit_rows(
        cls,
        corpus: Sequence[str],
        token_pattern: str,
        stop_words: AbstractSet[str],
        max_df: float = 1.0,
        min_df: int = 1,
        dtype: type = np.float64,
    ) -> tuple[TermSpace, SparseRows] | None:
        """`fit`, and the corpus's unit TF-IDF rows in the space (its words read once)."""
        counts = _term_counts(corpus, token_pattern, stop_words)
        space = cls._fit(counts, token_pattern, max_df, min_df, dtype)
        return None if space is None else (space, space._rows(counts))

    @classmethod
    def _fit(
        cls,
        counts: list[Counter[str]],
        token_pattern: str,
        max_df: float,
        min_df: int,
        dtype: type,
        max_terms: int | None = None,
    ) -> TermSpace | None:
        df: Counter[str] = Counter()
        for found in counts:
            df.update(found.keys())
        n = len(counts)
        floors = [min_df] if max_terms is None else [min_df, *(m for m in _FLOORS if m > min_df)]
        for floor in floors:
            kept = [t for t, d in df.items() if floor <= d <= max_df * n]
            if not kept:
                return None
            if max_terms is None or len(kept) <= max_terms:
                break
        else:
            return None
        kept.sort()
        documents = np.array([df[t] for t in kept], dtype=np.float64)
        idf: np.ndarray = (np.log((1.0 + n) / (1.0 + documents)) + 1.0).astype(dtype)
        return cls({t: i for i, t in enumerate(kept)}, idf, None, token_pattern)

    def tfidf(self, texts: Sequence[str]) -> SparseRows:
        """Unit TF-IDF rows: 1 + log(count) of each known term, times its idf."""
        return self._rows(_term_counts(texts, self.token_pattern, only=self.vocabulary.keys()))

    def _rows(self, counts: Sequence[Counter[str]]) -> SparseRows:
        indptr, indices, numbers = [0], list[int](), list[int]()
        for found in counts:
            known = sorted(
                (self.vocabulary[w], c) for w, c in found.items() if w in self.vocabulary
            )
            indices.extend(column for column, _ in known)  # SparseRows keeps columns in order
            numbers.extend(count for _, count in known)
            indptr.append(len(indices))
        weights = np.log(np.asarray(numbers, dtype=self.idf.dtype)) + 1
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


def _term_counts(
    texts: Sequence[str],
    token_pattern: str,
    skip: AbstractSet[str] = frozenset(),
    only: AbstractSet[str] | None = None,
) -> list[Counter[str]]:
    """How often each text has each lowercased word: not those in `skip`, and only those
    in `only` when given."""
    token = re.compile(token_pattern)
    if only is not None:
        return [Counter(w for w in token.findall(t.lower()) if w in only) for t in texts]
    return [Counter(w for w in token.findall(t.lower()) if w not in skip) for t in texts]


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); `SparseRows` has `unit`."""
    X = np.asarray(X)
    norms = np.linalg.norm(X, axis=1)
    norms[norms == 0] = 1.0
    return X / norms[:, None]
