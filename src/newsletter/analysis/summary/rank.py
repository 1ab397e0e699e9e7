"""The "newsletter" sentence ranker: sumy's Reduction graph plus a cosine graph, position
and length, fused by a small logistic model, so each sentence gets a probability of
belonging in a good extract. `newsletter.analysis.summary.summarize` turns those into a summary.

The graph scores are sumy's formulas computed with numpy (one matrix product instead of
sumy's pure-Python pair loops): `reduction_scores` equals `ReductionSummarizer`'s ratings,
which tests/test_summarize.py checks. The weights come from benchmarks/tune_summaries.py.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import Stemmer as pystemmer

from newsletter.analysis.language.stopwords import function_words
from newsletter.analysis.sparse_rows import SparseRows
from newsletter.analysis.summary.subject import mentions, subject_term
from newsletter.text import is_dangling, language_name, words

# English: function words only (measured best; see newsletter.analysis.language.stopwords).
FUNCTION_WORDS_EN = function_words("en")


@dataclass(frozen=True)
class Resources:
    """Per-language stemmer and stop words, built once per process."""

    language: str
    stem: Callable[[str], str]
    stop_words: frozenset[str]


# Snowball stemmers (PyStemmer: compiled, no data to download, a millisecond to load).
_SNOWBALL = frozenset(pystemmer.algorithms())
_STEMMED_AS = {"slovak": "czech"}  # close enough to share one (sumy does the same)
_SUMY_ONLY = frozenset({"ukrainian"})  # sumy has a stemmer of its own for these


def stemmer_for(lang: str) -> Callable[[str], str]:
    """A word stemmer for a language name: Snowball's, else sumy's own, else lower case."""
    name = _STEMMED_AS.get(lang, lang)
    if name in _SNOWBALL:
        local = threading.local()  # a PyStemmer object must not be shared between threads

        def snowball(word: str) -> str:
            stemmer = getattr(local, "stemmer", None)
            if stemmer is None:
                stemmer = local.stemmer = pystemmer.Stemmer(name)
            return str(stemmer.stemWord(word))

        return snowball
    if lang in _SUMY_ONLY:
        from sumy.nlp.stemmers import Stemmer as SumyStemmer  # imports NLTK: only here

        return SumyStemmer(lang)
    return str.lower


@lru_cache(maxsize=32)
def resources(language: str) -> Resources:
    """Stemmer (see `stemmer_for`) and function words for a language, or neutral ones."""
    lang = language_name(language)
    stemmer = stemmer_for(lang)
    stop = function_words(lang)
    cache: dict[str, str] = {}

    def stem(word: str) -> str:
        # stemming is the costliest step per word; articles repeat their words a lot
        found = cache.get(word)
        if found is None:
            found = cache[word] = stemmer(word)
            if len(cache) > 200_000:
                cache.clear()
        return found

    return Resources(lang, stem, stop)


# Logistic weights per feature (see `features`), fitted on all 1,570 BBC dev articles by
# benchmarks/tune_summaries.py; its grouped 5-fold CV gives ROUGE-2 0.454 at 50 words
# out of fold, about the same as in sample, so the 16 numbers don't overfit. The two
# headline features leave ROUGE where it was (0.455 without them) and rank sentences that
# share the headline's words higher.
WEIGHTS = (
    +0.4720,  # reduction / max
    -3.3105,  # reduction rank (0 best, 1 worst)
    +0.8450,  # cosine / max
    -4.4727,  # cosine rank
    -0.2683,  # position (0 first, 1 last)
    +0.1557,  # first sentence
    +0.0271,  # log(1 + index)
    -0.1460,  # opens a paragraph
    -1.4312,  # words / 30
    +1.1277,  # log(1 + words)
    -0.1129,  # has a quotation mark
    +0.1145,  # dangling opener (the selection keeps it from opening a summary)
    -0.0609,  # log(sentences in the article)
    +0.4161,  # share of the headline's content terms
    -0.0679,  # names the headline's subject (see summary.subject)
)
INTERCEPT = +0.2971
# Sentences this similar (binary cosine of their terms) say the same thing.
NEAR_DUPLICATE = 0.8


@dataclass(frozen=True)
class Terms:
    """How one language turns a sentence into index terms for the graphs."""

    stem: Callable[[str], str] | None
    stop_words: frozenset[str]


def sentence_terms(sentence: str, terms: Terms) -> list[str]:
    """Lower-cased content words of a sentence (stemmed where the language wants it);
    runs of CJK characters become overlapping character pairs, which work as words."""
    out: list[str] = []
    for token in _terms_tokens(sentence):
        low = token.lower()
        if low in terms.stop_words:
            continue
        out.append(terms.stem(low) if terms.stem and len(low) > 1 else low)
    return out


_UNSPACED_RUN = re.compile(
    "[\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff]+"
)


def _terms_tokens(sentence: str) -> list[str]:
    """Word tokens that start with a letter; CJK-like runs as character bigrams."""
    out: list[str] = []
    pos = 0
    for m in _UNSPACED_RUN.finditer(sentence):
        out.extend(w for w in words(sentence[pos : m.start()]) if w[0].isalpha())
        run = m.group(0)
        out.extend([run] if len(run) == 1 else [run[k : k + 2] for k in range(len(run) - 1)])
        pos = m.end()
    out.extend(w for w in words(sentence[pos:]) if w[0].isalpha())
    return out


# Up to this many cells a sentence-by-term matrix is kept dense: building a sparse one
# costs more than the arithmetic on a short article.
DENSE_CELLS = 250_000


def graph(term_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray | SparseRows, np.ndarray]:
    """Sentence-by-term count matrix C (n × V; sparse for long articles) and the term count
    of each sentence."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, ts in enumerate(term_lists):
        for t in ts:
            rows.append(i)
            cols.append(vocab.setdefault(t, len(vocab)))
    shape = (len(term_lists), max(1, len(vocab)))
    if shape[0] * shape[1] > DENSE_CELLS:
        sparse = SparseRows.from_entries(rows, cols, np.ones(len(rows)), shape)
        return sparse, sparse.row_sums()
    counts = np.zeros(shape)
    np.add.at(counts, (rows, cols), 1.0)
    return counts, counts.sum(axis=1)


def _gram(M: np.ndarray | SparseRows) -> np.ndarray:
    """M Mᵀ, dense."""
    return M.gram() if isinstance(M, SparseRows) else M @ M.T


def reduction_scores(counts: np.ndarray | SparseRows, lengths: np.ndarray) -> np.ndarray:
    """sumy's Reduction rating: Σ_j shared(i, j) / (log |i| + log |j|) over other sentences."""
    shared = _gram(counts)
    logs = np.log(np.maximum(lengths, 1.0))
    norm = logs[:, None] + logs[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where((shared > 0) & (norm > 0), shared / norm, 0.0)
    np.fill_diagonal(w, 0.0)
    return w.sum(axis=1)


def cosine_matrix(counts: np.ndarray | SparseRows) -> np.ndarray:
    """Binary cosine similarity between sentences, |i ∩ j| / √(|i| |j|), zero diagonal."""
    present = counts.ones() if isinstance(counts, SparseRows) else (counts > 0).astype(float)
    shared = _gram(present)
    sizes = present.row_sums() if isinstance(present, SparseRows) else present.sum(axis=1)
    w = shared / np.sqrt(np.maximum(np.outer(sizes, sizes), 1.0))
    np.fill_diagonal(w, 0.0)
    return w


def features(
    sentences: Sequence[str],
    paragraph: Sequence[int],
    lengths: Sequence[int],
    language: str,
    title: str = "",
) -> np.ndarray:
    """One row per sentence: graph scores (scaled and ranked), position, length, style, and
    what it shares with the headline."""
    return _analyze(sentences, paragraph, lengths, language, title)[0]


def _analyze(
    sentences: Sequence[str],
    paragraph: Sequence[int],
    lengths: Sequence[int],
    language: str,
    title: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix and the cosine matrix (for redundancy control)."""
    n = len(sentences)
    terms = terms_for(language)
    term_lists = [sentence_terms(s, terms) for s in sentences]
    counts, sizes = graph(term_lists)
    red = reduction_scores(counts, sizes)
    sim = cosine_matrix(counts)
    cos = sim.sum(axis=1)
    idx = np.arange(n, dtype=float)
    length = np.asarray(lengths, dtype=float)
    para_first = np.array([i == 0 or paragraph[i] != paragraph[i - 1] for i in range(n)])
    x = np.column_stack(
        [
            _scaled(red),
            _rank_fraction(red),
            _scaled(cos),
            _rank_fraction(cos),
            idx / max(1, n - 1),
            idx == 0,
            np.log1p(idx),
            para_first,
            length / 30.0,
            np.log1p(length),
            [('"' in s or "“" in s) for s in sentences],
            [is_dangling(s, language) for s in sentences],
            np.full(n, math.log(max(n, 1))),
            _title_overlap(title, term_lists, terms),
            _names_subject(title, sentences),
        ]
    ).astype(float)
    return x, sim


def _title_overlap(title: str, term_lists: Sequence[Sequence[str]], terms: Terms) -> np.ndarray:
    """Share of the headline's content terms each sentence contains."""
    wanted = set(sentence_terms(title, terms)) if title else set()
    if not wanted:
        return np.zeros(len(term_lists))
    return np.array([len(wanted.intersection(ts)) / len(wanted) for ts in term_lists])


def _names_subject(title: str, sentences: Sequence[str]) -> np.ndarray:
    """1 for the sentences that name the headline's subject (see `subject_term`)."""
    term = subject_term(title, sentences) if title else ""
    return np.array([mentions(s, term) for s in sentences], dtype=float)


def probabilities(
    sentences: Sequence[str],
    paragraph: Sequence[int],
    lengths: Sequence[int],
    language: str,
    weights: Sequence[float] = WEIGHTS,
    intercept: float = INTERCEPT,
    title: str = "",
) -> np.ndarray:
    """Probability that each sentence belongs in the extract; a sentence that repeats a
    likelier one (cosine >= NEAR_DUPLICATE) gets 0, so a summary never says a thing twice."""
    if not sentences:
        return np.zeros(0)
    x, sim = _analyze(sentences, paragraph, lengths, language, title)
    probs = 1.0 / (1.0 + np.exp(-(x @ np.asarray(weights) + intercept)))
    for i, j in zip(*np.nonzero(np.triu(sim >= NEAR_DUPLICATE)), strict=True):
        loser = j if (probs[i], -i) >= (probs[j], -j) else i
        probs[loser] = 0.0
    return probs


@lru_cache(maxsize=32)
def terms_for(language: str) -> Terms:
    """English: function words out, no stemming (measured best); others: their function
    words and Snowball stemmer where they exist, since their inflection splits overlaps."""
    lang = language_name(language)
    if lang == "english":
        return Terms(None, FUNCTION_WORDS_EN)
    res = resources(lang)
    return Terms(res.stem, res.stop_words)


def _scaled(v: np.ndarray) -> np.ndarray:
    """Divide by the maximum (all zeros stay zeros)."""
    top = v.max() if v.size else 0.0
    return v / top if top > 0 else np.zeros_like(v)


def _rank_fraction(v: np.ndarray) -> np.ndarray:
    """0 for the best, 1 for the worst; ties in article order."""
    n = len(v)
    order = np.argsort(-v, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n)
    return ranks / max(1, n - 1)
