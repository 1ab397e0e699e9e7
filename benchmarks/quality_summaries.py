"""Compare summarizers on the BBC News Summary dev split at one word budget.

Every method gets the same articles, the same cleaned sentences and the same budget
(whole sentences, at most --max-words words): the product's summarizer (`summarize()`
as shipped), Lead-k, Random (fixed seed), each sumy algorithm as sumy ships it (its
Snowball stemmer and stop-word list, our offline tokenizer, its ranking filled greedily
into the budget) and a greedy ROUGE-2 oracle (adds the sentence that raises ROUGE-2 F1
the most while one does, an upper reference point).

Reported: ROUGE-1/2/Lsum F1 (rouge-score, Porter stemming), a bootstrap 95 % interval
of the mean ROUGE-2 (1,000 resamples of articles, fixed seed), the median time per
article (cleaning + splitting + ranking + selecting), mean words, and readability counts:
summaries opening on a dangling reference ("He", "But", a quotation's tail), boilerplate
sentences, summaries ending mid-sentence, sentences out of article order, and summaries
over the budget. The references are extracts of about 45 % of the article, not in article
order: read ROUGE as agreement with that extract style (see the dataset's README).

    .venv/bin/python benchmarks/quality_summaries.py               # all 1,570 articles
    .venv/bin/python benchmarks/quality_summaries.py --limit 300 --max-words 80
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenizers

from newsletter.analysis.summary import summarize
from newsletter.text import ends_cleanly, is_boilerplate, is_dangling

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO.parent / "shared" / "datasets" / "bbc_news_summary" / "dev.jsonl"
RESULTS = REPO / "benchmarks" / "results" / "summaries.md"
SUMY = ("reduction", "textrank", "lexrank", "luhn", "lsa", "sumbasic", "kl", "edmundson")
METHODS = ("newsletter", "lead", "random", *SUMY, "oracle")
SEED = 20240601


class _MemoStemmer:
    """rouge-score's Porter stemmer with a memo: same stems, a fraction of the time."""

    def __init__(self) -> None:
        self._porter = porter.PorterStemmer()
        self._memo: dict[str, str] = {}

    def stem(self, word: str) -> str:
        found = self._memo.get(word)
        if found is None:
            found = self._memo[word] = self._porter.stem(word)
        return found


class _Tokenizer(tokenizers.DefaultTokenizer):
    """rouge-score's default tokenizer (use_stemmer=True) with the memoized stemmer."""

    def __init__(self) -> None:
        super().__init__(use_stemmer=True)
        self._stemmer = _MemoStemmer()


_TOKENIZER = _Tokenizer()
_SCORER = rouge_scorer.RougeScorer(
    ["rouge1", "rouge2", "rougeLsum"], use_stemmer=True, tokenizer=_TOKENIZER
)


def load(limit: int = 0) -> list[dict]:
    """Articles of the dev split (the first `limit`, or all)."""
    with DATASET.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return rows[:limit] if limit else rows


def run_article(job: tuple[dict, int]) -> dict[str, dict]:
    """Every method on one article: chosen sentences, time, scores, readability flags."""
    a, max_words = job
    out: dict[str, dict] = {}
    for method in METHODS:
        start = time.perf_counter()
        if method == "newsletter":
            text = summarize.summarize(a["text"], a["title"], "en", "newsletter", max_words)
            elapsed = time.perf_counter() - start
            art = summarize.prepare(a["text"], a["title"], "en")
            chosen = _locate(text, art.sentences)
        else:
            art = summarize.prepare(a["text"], a["title"], "en")
            chosen = _baseline(method, art, a, max_words)
            elapsed = time.perf_counter() - start
        sentences = [art.sentences[i] for i in chosen]
        scores = _SCORER.score("\n".join(a["summary_sentences"]), "\n".join(sentences))
        out[method] = {
            "r1": scores["rouge1"].fmeasure,
            "r2": scores["rouge2"].fmeasure,
            "rl": scores["rougeLsum"].fmeasure,
            "ms": elapsed * 1000.0,
            "words": sum(art.lengths[i] for i in chosen),
            "dangling": bool(sentences) and is_dangling(sentences[0]),
            "boilerplate": sum(is_boilerplate(s) for s in sentences),
            "cut": bool(sentences) and not ends_cleanly(sentences[-1]),
            "order": sum(1 for x, y in zip(chosen, chosen[1:], strict=False) if x >= y),
            "over": sum(art.lengths[i] for i in chosen) > max_words,
        }
    return out


def _baseline(method: str, art: summarize.Article, a: dict, max_words: int) -> list[int]:
    """A baseline's choice: a ranking filled greedily into the budget (oracle: by search)."""
    n = len(art.sentences)
    if method == "oracle":
        return _oracle(art, a["summary"], max_words)
    if method == "lead":
        ranking = list(range(n))
    elif method == "random":
        ranking = list(range(n))
        random.Random(f"{SEED}:{a['id']}").shuffle(ranking)
    else:
        ranking = summarize.rank(art, method)
    return summarize.fill_budget(ranking, art.lengths, max_words)


def _locate(summary: str, sentences: Sequence[str]) -> list[int]:
    """Indexes of the summary's sentences in the article, in summary order."""
    out: list[int] = []
    rest = summary
    while rest:
        for i, s in enumerate(sentences):
            if rest.startswith(s) and i not in out:
                out.append(i)
                rest = rest[len(s) :].lstrip()
                break
        else:
            raise AssertionError(f"summary not made of article sentences: {rest[:80]!r}")
    return out


def _oracle(art: summarize.Article, reference: str, max_words: int) -> list[int]:
    """Greedy oracle: add the fitting sentence that raises ROUGE-2 F1 most, while one does."""
    ref = _bigrams(reference)
    grams = [_bigrams(s) for s in art.sentences]
    chosen: list[int] = []
    have: Counter = Counter()
    used, best = 0, 0.0
    while True:
        pick, pick_f = None, best
        for i, g in enumerate(grams):
            if i in chosen or used + art.lengths[i] > max_words:
                continue
            f = _f1(ref, have + g)
            if f > pick_f + 1e-12:
                pick, pick_f = i, f
        if pick is None:
            break
        chosen.append(pick)
        have += grams[pick]
        used += art.lengths[pick]
        best = pick_f
    return sorted(chosen) or summarize.fill_budget(list(range(len(grams))), art.lengths, max_words)


def _bigrams(text: str) -> Counter:
    """Word pairs as ROUGE-2 counts them (same tokenizer and stemmer as the scorer)."""
    tokens = _TOKENIZER.tokenize(text)
    return Counter(zip(tokens, tokens[1:], strict=False))


def _f1(ref: Counter, cand: Counter) -> float:
    """ROUGE-N F1 of two n-gram counters."""
    overlap = sum((ref & cand).values())
    if not overlap:
        return 0.0
    p, r = overlap / sum(cand.values()), overlap / sum(ref.values())
    return 2 * p * r / (p + r)


def bootstrap(values: Sequence[float], seed: int = SEED, rounds: int = 1000) -> tuple[float, float]:
    """95 % percentile interval of the mean, resampling articles."""
    rng = np.random.default_rng(seed)
    arr = np.asarray(values)
    means = arr[rng.integers(0, len(arr), size=(rounds, len(arr)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def table(results: list[dict[str, dict]], max_words: int) -> str:
    """The markdown report: one row per method, best ROUGE-2 first (oracle last)."""
    n = len(results)
    rows = []
    for method in METHODS:
        col = [r[method] for r in results]
        r2 = [c["r2"] for c in col]
        lo, hi = bootstrap(r2)
        rows.append(
            (
                method,
                {
                    "r1": statistics.mean(c["r1"] for c in col),
                    "r2": statistics.mean(r2),
                    "lo": lo,
                    "hi": hi,
                    "rl": statistics.mean(c["rl"] for c in col),
                    "ms": statistics.median(c["ms"] for c in col),
                    "words": statistics.mean(c["words"] for c in col),
                    "dangling": 100.0 * sum(c["dangling"] for c in col) / n,
                    "boilerplate": sum(c["boilerplate"] for c in col),
                    "cut": sum(c["cut"] for c in col),
                    "order": sum(c["order"] for c in col),
                    "over": sum(c["over"] for c in col),
                },
            )
        )
    rows.sort(key=lambda r: (r[0] == "oracle", -r[1]["r2"]))
    fastest = min(m["ms"] for name, m in rows if name in SUMY)
    lines = [
        f"# Summaries: BBC News Summary dev, {n} articles, <= {max_words} words",
        "",
        "Command: `.venv/bin/python benchmarks/quality_summaries.py"
        + ("" if n == 1570 else f" --limit {n}")
        + ("" if max_words == 50 else f" --max-words {max_words}")
        + "`",
        "",
        "| method | ROUGE-1 | ROUGE-2 | ROUGE-2 95% CI | ROUGE-Lsum | median ms | words | "
        "dangling start % | boilerplate | mid-sentence end | order violations | over budget |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in rows:
        ms = "-" if name == "oracle" else f"{m['ms']:.2f}"
        label = "**newsletter** (product)" if name == "newsletter" else name
        lines.append(
            f"| {label} | {m['r1']:.4f} | {m['r2']:.4f} | {m['lo']:.4f}–{m['hi']:.4f} | "
            f"{m['rl']:.4f} | {ms} | {m['words']:.1f} | {m['dangling']:.1f} | "
            f"{m['boilerplate']} | {m['cut']} | {m['order']} | {m['over']} |"
        )
    ours = dict(rows)["newsletter"]
    best_name, best = max(
        ((k, v) for k, v in rows if k not in ("newsletter", "oracle")), key=lambda kv: kv[1]["r2"]
    )
    lines += [
        "",
        f"newsletter vs best baseline ({best_name}): ROUGE-2 {ours['r2']:.4f} vs {best['r2']:.4f} "
        f"(+{ours['r2'] - best['r2']:.4f}); intervals "
        + ("do not overlap" if ours["lo"] > best["hi"] else "OVERLAP")
        + f". Time: {ours['ms'] / fastest:.2f}x the fastest sumy algorithm "
        f"({fastest:.2f} ms median).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    """Run the comparison, print the table, write benchmarks/results/summaries.md."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="first N articles (default: all)")
    ap.add_argument("--max-words", type=int, default=50, help="word budget (default 50)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true", help="do not write results/summaries.md")
    args = ap.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv
    articles = load(args.limit)
    jobs = [(a, args.max_words) for a in articles]
    if args.workers > 1:
        with Pool(args.workers) as pool:
            results = pool.map(run_article, jobs, chunksize=20)
    else:
        results = [run_article(j) for j in jobs]
    report = table(results, args.max_words)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report, encoding="utf-8")
    print(report)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
