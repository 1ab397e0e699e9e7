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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse
from sumy.nlp.stemmers import Stemmer, null_stemmer
from sumy.utils import get_stop_words

from newsletter.analysis.summary.subject import mentions, subject_term
from newsletter.text import is_dangling, language_name, words

# English function words (closed classes: articles, pronouns, prepositions, conjunctions,
# auxiliaries, a few adverbs). Shorter than sumy's English list on purpose: that one also
# drops content words ("said", "new", "best") and ranked worse (benchmarks/results).
FUNCTION_WORDS_EN = frozenset(
    """a an the this that these those each every either neither some any no all both half
    several many much more most few fewer less least other others another such what which
    whatever whichever own same i me my mine myself we us our ours ourselves you your yours
    yourself yourselves he him his himself she her hers herself it its itself they them their
    theirs themselves one ones someone somebody something anyone anybody anything everyone
    everybody everything nobody nothing none who whom whose whoever where when why how about
    above across after against along amid among amongst around as at before behind below
    beneath beside besides between beyond by despite down during except for from in inside
    into like near of off on onto out outside over past per since than through throughout
    till to toward towards under underneath unlike until up upon via with within without and
    but or nor so yet because although though while whereas whether if unless once lest am is
    are was were be been being have has had having do does did doing done will would shall
    should can could may might must ought not yes very too also just only even still already
    again ever never always often sometimes here there then now thus hence therefore however
    otherwise else perhaps rather quite almost enough indeed instead maybe anyway somewhat
    etc cannot don't doesn't didn't isn't wasn't aren't weren't can't couldn't won't wouldn't
    shouldn't hasn't haven't hadn't it's i'm he's she's that's there's they're we're you're
    i've we've they've you've i'd he'd she'd we'd they'd you'd i'll he'll she'll we'll they'll
    you'll let's""".split()
)

# A small Russian list of our own: sumy ships none, and Cyrillic news is common in feeds.
EXTRA_STOP_WORDS = {
    "russian": frozenset(
        """и в во не что он она оно они на я с со как а то все всё так его её ее но да ты к у
        же вы за бы по только мне было вот от меня ещё еще нет о об из ему когда даже ли если
        уже или ни быть был была были будет него до вас там потом себя ей может тут где есть
        надо для мы тебя их чем сам без чего раз тоже себе под кто этот того потому этого
        какой здесь этом один мой тем чтобы при два другой после над больше тот через эти нас
        про всего них много эту эта это также который которая которые которого году года""".split()
    ),
}


@dataclass(frozen=True)
class Resources:
    """Per-language stemmer and stop words, built once per process."""

    language: str
    stem: Callable[[str], str]
    stop_words: frozenset[str]


@lru_cache(maxsize=32)
def resources(language: str) -> Resources:
    """Stemmer (nltk Snowball, no data needed) and stop words for a language, or neutral ones."""
    lang = language_name(language)
    try:
        stemmer: Callable[[str], str] = Stemmer(lang)
    except LookupError:
        stemmer = null_stemmer
    try:
        stop = frozenset(get_stop_words(lang))
    except LookupError:
        stop = EXTRA_STOP_WORDS.get(lang, frozenset())
    cache: dict[str, str] = {}

    def stem(word: str) -> str:
        # Snowball is the costliest step per word; articles repeat their words a lot
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


def graph(term_lists: Sequence[Sequence[str]]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Sentence-by-term count matrix C (n × V, sparse) and the term count of each sentence."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, ts in enumerate(term_lists):
        for t in ts:
            rows.append(i)
            cols.append(vocab.setdefault(t, len(vocab)))
    shape = (len(term_lists), max(1, len(vocab)))
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    counts.sum_duplicates()
    return counts, np.asarray(counts.sum(axis=1)).ravel()


def reduction_scores(counts: sparse.csr_matrix, lengths: np.ndarray) -> np.ndarray:
    """sumy's Reduction rating: Σ_j shared(i, j) / (log |i| + log |j|) over other sentences."""
    shared = (counts @ counts.T).toarray()
    logs = np.log(np.maximum(lengths, 1.0))
    norm = logs[:, None] + logs[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where((shared > 0) & (norm > 0), shared / norm, 0.0)
    np.fill_diagonal(w, 0.0)
    return w.sum(axis=1)


def cosine_matrix(counts: sparse.csr_matrix) -> np.ndarray:
    """Binary cosine similarity between sentences, |i ∩ j| / √(|i| |j|), zero diagonal."""
    present = counts.copy()
    present.data[:] = 1.0
    shared = (present @ present.T).toarray()
    sizes = np.asarray(present.sum(axis=1)).ravel()
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
    """English: function words out, no stemming (measured best); others: sumy's stop-word
    list and Snowball stemmer where they exist, since their inflection splits overlaps."""
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
