"""Extractive summaries: sumy's rankers behind an offline tokenizer, a word budget and
readability rules (whole sentences, article order, no dangling opener, no site chrome).

Algorithms: "newsletter" (default; see `newsletter.analysis.summary.rank`), "lead", and sumy's
"textrank", "lexrank", "lsa", "luhn", "reduction", "sumbasic", "kl" and "edmundson".
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import multiprocessing
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np

from newsletter.analysis.summary import rank as summary_rank
from newsletter.analysis.summary.rank import resources
from newsletter.analysis.summary.subject import mentions, subject_term
from newsletter.children import exit_with_parent
from newsletter.config import SummaryConfig
from newsletter.errors import ConfigError
from newsletter.model import Item
from newsletter.text import (
    clean_paragraphs,
    ends_cleanly,
    is_dangling,
    language_name,
    split_sentences,
    word_count,
    words,
)

logger = logging.getLogger(__name__)

# Bump when the output for the same text and settings changes: it keys the summary cache.
CODE_VERSION = "3"  # 3: Snowball stems from PyStemmer

# Sentences considered per text (the longest BBC article has 246).
MAX_SENTENCES = 300

# sumy's summarizers by name: module and class, imported only when asked for (sumy's
# import pulls in NLTK and with it scikit-learn: a second the default ranker doesn't need)
_SUMY = {
    "textrank": ("text_rank", "TextRankSummarizer"),
    "lexrank": ("lex_rank", "LexRankSummarizer"),
    "lsa": ("lsa", "LsaSummarizer"),
    "luhn": ("luhn", "LuhnSummarizer"),
    "reduction": ("reduction", "ReductionSummarizer"),
    "sumbasic": ("sum_basic", "SumBasicSummarizer"),
    "kl": ("kl", "KLSummarizer"),
    "edmundson": ("edmundson", "EdmundsonSummarizer"),
}
ALGORITHMS = ("newsletter", "lead", *_SUMY)


class OfflineTokenizer:
    """Sentence and word tokenizer for sumy that needs no downloaded (NLTK) data."""

    def __init__(self, language: str = "en") -> None:
        self.language = language_name(language)

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        """Sentences of a paragraph, by `newsletter.text.split_sentences`."""
        return tuple(split_sentences(paragraph, self.language))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        """Word tokens that start with a letter (sumy's own rule: numbers aren't terms)."""
        return tuple(w for w in words(sentence, self.language) if w[0].isalpha())


@dataclass(frozen=True)
class Article:
    """A text cut into cleaned sentences, with what every ranker and the budget need."""

    sentences: tuple[str, ...]
    paragraph: tuple[int, ...]  # paragraph index of each sentence
    lengths: tuple[int, ...]  # words, as `word_count` counts them
    title: str
    language: str


def prepare(text: str, title: str = "", language: str = "en") -> Article:
    """Clean `text` (chrome, datelines, credits) and cut it into sentences; a sentence that
    repeats the title (feeds often start the body with it) or an earlier sentence goes, so a
    text that only repeats its title has nothing to summarize."""
    lang = language_name(language)
    heading = _plain(title)
    sentences: list[str] = []
    para: list[int] = []
    seen: set[str] = set()
    for p, paragraph in enumerate(clean_paragraphs(text, lang)):
        for s in paragraph:
            plain = _plain(s) or s
            if plain in seen or _repeats(plain, heading):
                continue  # the title again, or a sentence said before
            seen.add(plain)
            sentences.append(s)
            para.append(p)
    # rankers are quadratic in sentences; a summary of a book-length post comes from its start
    del sentences[MAX_SENTENCES:], para[MAX_SENTENCES:]
    lengths = tuple(word_count(s) for s in sentences)
    return Article(tuple(sentences), tuple(para), lengths, title.strip(), lang)


# A sentence that is the title plus a few words ("…, on Wednesday night.") repeats it.
TITLE_SHARE = 0.7


def _repeats(plain: str, heading: str) -> bool:
    """Whether a sentence (lower-case words) is the title again, perhaps with a short tail."""
    if not heading:
        return False
    if plain == heading:
        return True
    return plain.startswith(heading + " ") and len(heading) >= TITLE_SHARE * len(plain)


def _plain(text: str) -> str:
    """Lower-case words only, to compare a sentence with the title."""
    return " ".join(w.lower() for w in words(text))


# -- ranking -------------------------------------------------------------------------------


def rank(article: Article, algorithm: str) -> list[int]:
    """Sentence indexes, best first, by `algorithm`; ties keep article order."""
    n = len(article.sentences)
    if algorithm == "lead" or n <= 1:
        return list(range(n))
    if algorithm == "newsletter":
        probs = summary_rank.probabilities(
            article.sentences,
            article.paragraph,
            article.lengths,
            article.language,
            title=article.title,
        )
        return sorted(range(n), key=lambda i: (-probs[i], i))
    return _sumy_rank(article, algorithm)


def _sumy_rank(article: Article, algorithm: str) -> list[int]:
    """Full ranking from a sumy summarizer (it exposes only the top k, so ask for all)."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    module, name = _SUMY[algorithm]
    summarizer_class = getattr(importlib.import_module(f"sumy.summarizers.{module}"), name)
    res = resources(article.language)
    tokenizer = OfflineTokenizer(article.language)
    if algorithm == "edmundson":
        # Edmundson's cue and key methods need hand-made word lists per language; its title
        # and location methods need only the stop words ("null words")
        summarizer = summarizer_class(res.stem, cue_weight=0.0, key_weight=0.0)
        summarizer.null_words = res.stop_words or frozenset({"\x00"})
    else:
        summarizer = summarizer_class(res.stem)
        summarizer.stop_words = res.stop_words
    paragraphs: dict[int, list[Sentence]] = {}
    if article.title:
        paragraphs[-1] = [Sentence(article.title, tokenizer, is_heading=True)]
    for s, p in zip(article.sentences, article.paragraph, strict=True):
        paragraphs.setdefault(p, []).append(Sentence(s, tokenizer))
    document = ObjectDocumentModel([Paragraph(v) for _, v in sorted(paragraphs.items())])
    order: list[object] = []

    def keep_all(infos: list[object]) -> list[object]:
        order.extend(infos)
        return infos

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LSA warns on short texts; the ranking stays usable
        summarizer(document, keep_all)
    # sumy keys ratings by sentence text: repeated sentences share one slot
    first_index: dict[str, int] = {}
    for i, s in enumerate(article.sentences):
        first_index.setdefault(s, i)
    ranked = [first_index[str(info.sentence)] for info in order]  # type: ignore[attr-defined]
    seen = set(ranked)
    return list(dict.fromkeys(ranked)) + [i for i in range(len(article.sentences)) if i not in seen]


# -- selection -----------------------------------------------------------------------------

# Cost of one word in `extract`, in probability units. ROUGE-style F1 = 2·overlap / (summary +
# reference length) grows with a sentence only when its share of overlapping words beats
# about half the F1 level (~0.45 here), so about 0.2; measured: 0.2 adds +0.002 ROUGE-2.
WORD_COST = 0.2
# Of the extract's value, the share a summary may give up to name the headline's subject.
SUBJECT_COST = 0.05
SUBJECT_TRIES = 4


def select(article: Article, algorithm: str, max_words: int = 50, sentences: int = 0) -> list[int]:
    """Indexes (article order) of the sentences that make the summary."""
    n = len(article.sentences)
    lengths = article.lengths
    # a sentence cut off by the feed ("... and then [...]") reads badly: drop it if we can
    complete = [i for i in range(n) if ends_cleanly(article.sentences[i])]
    pool = complete if complete else list(range(n))
    if sentences > 0:
        if len(pool) <= sentences:
            return pool
    elif sum(lengths[i] for i in pool) <= max_words:
        return pool  # short enough already: keep it whole
    opener_ok = [not is_dangling(s, article.language) for s in article.sentences]
    allowed = set(pool)
    if algorithm == "newsletter" and sentences <= 0:
        probs = summary_rank.probabilities(
            article.sentences, article.paragraph, lengths, article.language, title=article.title
        )
        chosen = extract(article, list(probs), max_words, allowed, opener_ok)
        if chosen:
            return chosen
    ranking = [i for i in rank(article, algorithm) if i in allowed]
    budget = 0 if sentences > 0 else max_words
    return pick(ranking, lengths, opener_ok, max_words=budget, count=sentences)


def extract(
    article: Article,
    probs: Sequence[float],
    max_words: int,
    allowed: set[int] | None = None,
    opener_ok: Sequence[bool] | None = None,
) -> list[int]:
    """The newsletter choice: the most expected overlap with a good extract within the
    budget, opened by a sentence that can open.

    A sentence is worth its probability times its word pairs, minus WORD_COST per word: a
    word that is probably off-topic makes the summary longer without making it better.
    """
    n = len(article.sentences)
    lengths = article.lengths
    values = [
        max(0.0, float(probs[i]) * max(1, lengths[i] - 1) - WORD_COST * lengths[i])
        if allowed is None or i in allowed
        else 0.0
        for i in range(n)
    ]
    if opener_ok is None:
        opener_ok = [not is_dangling(s, article.language) for s in article.sentences]
    chosen = best_extract(values, lengths, max_words, opener_ok)
    if chosen is None:
        chosen = best_extract(values, lengths, max_words, [True] * n)
    return carry_subject(article, chosen or [], values, probs, max_words, allowed, opener_ok)


def carry_subject(
    article: Article,
    chosen: list[int],
    values: Sequence[float],
    probs: Sequence[float],
    max_words: int,
    allowed: set[int] | None,
    opener_ok: Sequence[bool],
) -> list[int]:
    """`chosen`, or when it never names the headline's subject, the best extract that holds
    the likeliest sentence naming it (if one fits the budget)."""
    term = subject_term(article.title, article.sentences)
    if not term or not chosen or any(mentions(article.sentences[i], term) for i in chosen):
        return chosen
    naming = [
        i
        for i, s in enumerate(article.sentences)
        if mentions(s, term)
        and (allowed is None or i in allowed)
        and article.lengths[i] <= max_words
    ]
    if not naming:
        return chosen
    worth = sum(values[i] for i in chosen)
    best, best_value = chosen, -1.0
    # the few likeliest sentences naming it, each forced in turn: keep the richest extract
    for forced in sorted(naming, key=lambda i: (-probs[i], i))[:SUBJECT_TRIES]:
        boosted = list(values)
        boosted[forced] = max(0.0, boosted[forced]) + sum(values) + 1.0  # must be taken
        redone = best_extract(boosted, article.lengths, max_words, opener_ok)
        if redone is None:
            redone = best_extract(boosted, article.lengths, max_words, [True] * len(values))
        value = sum(values[i] for i in redone or [])
        if redone and value > best_value:
            best, best_value = redone, value
    return best if best_value >= (1.0 - SUBJECT_COST) * worth else chosen


def best_extract(
    values: Sequence[float], lengths: Sequence[int], max_words: int, opener_ok: Sequence[bool]
) -> list[int] | None:
    """The sentences with the largest total value within `max_words` (a 0/1 knapsack), whose
    first sentence in article order may open a summary; None when no such choice exists."""
    n = len(values)
    budget = max(0, max_words)
    # best[i][w]: the most value from sentences i.. using at most w words
    best = np.zeros((n + 1, budget + 1))
    take = np.zeros((n, budget + 1), dtype=bool)
    for i in range(n - 1, -1, -1):
        best[i] = best[i + 1]
        size = lengths[i]
        if values[i] > 0 and size <= budget:
            with_i = np.full(budget + 1, -1.0)
            with_i[size:] = best[i + 1][: budget + 1 - size] + values[i]
            take[i] = with_i > best[i] + 1e-12
            best[i] = np.maximum(best[i], with_i)
    first, top = None, 0.0
    for f in range(n):
        if opener_ok[f] and values[f] > 0 and lengths[f] <= budget:
            total = values[f] + best[f + 1][budget - lengths[f]]
            if total > top + 1e-12:
                first, top = f, total
    if first is None:
        return None
    chosen, room = [first], budget - lengths[first]
    for i in range(first + 1, n):
        if take[i][room]:
            chosen.append(i)
            room -= lengths[i]
    return chosen


def pick(
    ranking: Sequence[int],
    lengths: Sequence[int],
    opener_ok: Sequence[bool],
    max_words: int = 0,
    count: int = 0,
) -> list[int]:
    """Walk a ranking and keep what fits (a word budget or a sentence count), never letting
    a sentence that refers back open the summary; article order out, never empty."""
    chosen: list[int] = []
    used = 0
    waiting: list[int] = []

    def fits(i: int) -> bool:
        if count and len(chosen) >= count:
            return False
        return not max_words or used + lengths[i] <= max_words

    for i in ranking:
        if not fits(i):
            continue
        if not opener_ok[i] and (not chosen or i < min(chosen)):
            waiting.append(i)  # joins as soon as an earlier sentence opens the summary
            continue
        chosen.append(i)
        used += lengths[i]
        for j in [j for j in waiting if j > min(chosen)]:
            waiting.remove(j)
            if fits(j):
                chosen.append(j)
                used += lengths[j]
    if not chosen:  # nothing fits (or nothing can open): one whole sentence, a good opener
        fitting = [i for i in ranking if not max_words or lengths[i] <= max_words] or ranking
        chosen = [next((i for i in fitting if opener_ok[i]), fitting[0])]
    return sorted(chosen)


def fill_budget(ranking: Sequence[int], lengths: Sequence[int], max_words: int) -> list[int]:
    """Plain budget fill, for baselines: keep each ranked sentence that still fits.

    When no sentence fits, the best one is kept whole: never an empty summary.
    """
    chosen: list[int] = []
    used = 0
    for i in ranking:
        if used + lengths[i] <= max_words:
            chosen.append(i)
            used += lengths[i]
    if not chosen and ranking:
        chosen.append(ranking[0])
    return sorted(chosen)


# -- public API ------------------------------------------------------------------------------


def summarize(
    text: str,
    title: str = "",
    language: str = "en",
    algorithm: str = "newsletter",
    max_words: int = 50,
    sentences: int = 0,
) -> str:
    """An extractive summary of `text`: whole sentences in article order within `max_words`
    (or exactly `sentences` of them when > 0). Empty only when `text` has no words."""
    if algorithm not in ALGORITHMS:
        raise ConfigError(
            f"unknown summary algorithm {algorithm!r}; set [summary] algorithm to one of "
            + ", ".join(ALGORITHMS)
        )
    article = prepare(text, title, language)
    if not article.sentences:
        return ""
    chosen = select(article, algorithm, max(1, max_words), max(0, sentences))
    return " ".join(article.sentences[i] for i in chosen)


def settings_key(summary_config: SummaryConfig) -> str:
    """Short id of everything that changes a summary: the summary cache key in the store."""
    c = summary_config
    return f"{c.algorithm}/{c.max_words}w/{c.sentences}s/{c.language or '-'}/v{CODE_VERSION}"


def summarize_many(
    items: Sequence[Item],
    config: SummaryConfig,
    workers: int = 1,
    default_language: str = "en",
) -> dict[str, str]:
    """Summaries by content hash; a process pool shares the work when there is plenty.

    Language: `config.language`, else the item's, else `default_language` (the site's).
    Results don't depend on `workers`: every item is summarized on its own.
    """
    jobs: dict[str, tuple[str, str, str, str, int, int]] = {}
    for item in items:
        if item.content_hash in jobs:
            continue
        # no fallback to the HTML or the title: ingest left the text empty because it was all
        # chrome (a byline, "submitted by …"), and a summary that repeats the title says nothing
        text = item.text
        language = config.language or item.language or default_language
        settings = (config.algorithm, config.max_words, config.sentences)
        jobs[item.content_hash] = (text, item.title, language, *settings)
    if not jobs:
        return {}
    if config.algorithm not in ALGORITHMS:
        summarize("", algorithm=config.algorithm)  # raises the ConfigError that names the fix
    keys = list(jobs)
    tasks = [jobs[k] for k in keys]
    results: list[str] | None = None
    if workers > 1 and len(tasks) >= POOL_MIN_ITEMS:
        size = max(8, -(-len(tasks) // (workers * 4)))
        chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
        try:
            pool = _pool(workers)
            results = [s for part in pool.map(_summarize_chunk, chunks) for s in part]
        except (BrokenProcessPool, OSError) as e:  # no processes here: do it in this one
            logger.warning("summary worker pool failed (%s); summarizing in one process", e)
            _close_pool()
    if results is None:
        results = _summarize_chunk(tasks)
    return dict(zip(keys, results, strict=True))


# Below this many items a pool costs more than it saves (summaries take ~2-5 ms each).
POOL_MIN_ITEMS = 200

_POOL: tuple[int, ProcessPoolExecutor] | None = None


def _pool(workers: int) -> ProcessPoolExecutor:
    """A worker pool kept for the life of the process, so chunked calls pay start-up once.

    A single-threaded parent forks (the workers inherit the loaded libraries for free);
    with threads around, fork is unsafe, so a fork server that preloads this module does.
    """
    global _POOL
    if _POOL is not None and _POOL[0] == workers:
        return _POOL[1]
    _close_pool()
    methods = multiprocessing.get_all_start_methods()
    context: multiprocessing.context.BaseContext
    if "fork" in methods and threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
        # The children's garbage collector would touch every object they inherit, copying
        # the parent's whole heap page by page; frozen objects are left alone.
        gc.freeze()
    elif "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
    else:
        context = multiprocessing.get_context("spawn")
    # a worker must not outlive a killed build: it would hold the build's files (the run
    # lock among them, inherited by fork) while it waits for work that never comes
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=exit_with_parent
    )
    _POOL = (workers, pool)
    return _POOL[1]


@atexit.register
def _close_pool() -> None:
    """Stop the worker pool, if any."""
    global _POOL
    if _POOL is not None:
        _POOL[1].shutdown(cancel_futures=True)
        _POOL = None


def _summarize_chunk(tasks: Sequence[tuple[str, str, str, str, int, int]]) -> list[str]:
    """Summarize several items; one that fails gets a lead summary instead (and a warning)."""
    out: list[str] = []
    for text, title, language, algorithm, max_words, count in tasks:
        try:
            out.append(summarize(text, title, language, algorithm, max_words, count))
        except Exception:  # one odd item must not sink the digest
            logger.warning("summarizing %r failed; using its first sentences", title, exc_info=True)
            out.append(summarize(text, title, language, "lead", max_words, count))
    return out
