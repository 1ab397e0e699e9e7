"""Fit the weights of the "newsletter" sentence ranker on the BBC dev split, and show how
well they generalize (grouped 5-fold cross-validation, ROUGE-2 at the word budget).

A sentence is a positive example when the reference extract contains it. Folds group the
articles by `dup_group` so a duplicated body never sits on both sides. The weights printed
at the end go into `newsletter/summary_rank.py` (WEIGHTS, INTERCEPT).

    .venv/bin/python benchmarks/tune_summaries.py            # CV scores + weights
    .venv/bin/python benchmarks/tune_summaries.py --C 0.3    # another regularization
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from rouge_score import rouge_scorer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from newsletter.analysis.summary import rank as summary_rank
from newsletter.analysis.summary import summarize

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO.parent / "shared" / "datasets" / "bbc_news_summary" / "dev.jsonl"
FEATURES = (
    "reduction",
    "reduction rank",
    "cosine",
    "cosine rank",
    "position",
    "first",
    "log position",
    "paragraph start",
    "length/30",
    "log length",
    "quote",
    "dangling",
    "log sentences",
    "title overlap",
    "names subject",
)


def load(limit: int = 0) -> list[dict]:
    """Articles of the dev split (the first `limit`, or all)."""
    with DATASET.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return rows[:limit] if limit else rows


def article_rows(a: dict) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels (in the reference extract or not) of one article's sentences."""
    art = summarize.prepare(a["text"], a["title"], "en")
    if not art.sentences:
        return np.zeros((0, len(FEATURES))), np.zeros(0)
    x = summary_rank.features(art.sentences, art.paragraph, art.lengths, "en", a["title"])
    refs = a["summary_sentences"]
    labels = np.array([_in_reference(s, refs) for s in art.sentences], dtype=float)
    return x, labels


def _in_reference(sentence: str, refs: list[str]) -> bool:
    """Exactly a reference sentence, or mostly made of them (the reference splitter also
    cut inside quotations, so one of our sentences can be two of its pieces)."""
    if sentence in refs:
        return True
    covered = sum(len(r) for r in refs if len(r) > 20 and r in sentence)
    return covered >= 0.6 * len(sentence)


def score(a: dict, probs: np.ndarray, max_words: int, scorer: object) -> float:
    """ROUGE-2 F1 of the newsletter selection made from `probs`."""
    art = summarize.prepare(a["text"], a["title"], "en")
    chosen = summarize.extract(art, probs, max_words) or [0]
    text = " ".join(art.sentences[i] for i in chosen)
    return scorer.score(a["summary"], text)["rouge2"].fmeasure  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> str:
    """Cross-validate, then fit on all of dev; return the report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--max-words", type=int, default=50)
    ap.add_argument("--C", type=float, default=1.0, help="inverse regularization strength")
    args = ap.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv
    articles = load(args.limit)
    with Pool(2) as pool:
        rows = pool.map(article_rows, articles, chunksize=25)
    groups = np.array([a["dup_group"] for a in articles])
    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
    cv_scores = np.zeros(len(articles))
    for train, test in GroupKFold(5).split(np.arange(len(articles)), groups=groups):
        model = _fit([rows[i] for i in train], args.C)
        for i in test:
            x, _ = rows[i]
            if not len(x):
                continue
            probs = _probs(articles[i], x, model)
            cv_scores[i] = score(articles[i], probs, args.max_words, scorer)
    model = _fit(rows, args.C)
    lines = [
        f"articles: {len(articles)}, sentences: {sum(len(r[1]) for r in rows)}, "
        f"positives: {int(sum(r[1].sum() for r in rows))}",
        f"grouped 5-fold CV ROUGE-2 F1 at <= {args.max_words} words: "
        f"{statistics.mean(cv_scores):.4f}",
        "",
        "WEIGHTS = (",
        *[f"    {w:+.4f},  # {name}" for w, name in zip(model.coef_[0], FEATURES, strict=True)],
        ")",
        f"INTERCEPT = {model.intercept_[0]:+.4f}",
    ]
    report = "\n".join(lines)
    print(report)
    return report


def _fit(rows: list[tuple[np.ndarray, np.ndarray]], c: float) -> LogisticRegression:
    """A logistic model over the stacked sentences of the given articles."""
    x = np.vstack([r[0] for r in rows if len(r[0])])
    y = np.concatenate([r[1] for r in rows if len(r[1])])
    return LogisticRegression(C=c, max_iter=5000).fit(x, y)


def _probs(a: dict, x: np.ndarray, model: LogisticRegression) -> np.ndarray:
    """Probabilities through the product's own function (so near-duplicates are handled)."""
    art = summarize.prepare(a["text"], a["title"], "en")
    return summary_rank.probabilities(
        art.sentences,
        art.paragraph,
        art.lengths,
        "en",
        weights=tuple(model.coef_[0]),
        intercept=float(model.intercept_[0]),
        title=a["title"],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
