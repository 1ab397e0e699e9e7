"""Score the section grouping against BBC News categories (dev split only).

Samples digests of 20, 50 and 80 articles (200 each, fixed seed) and compares the
product's sections with the five true categories: mean ARI, NMI and number of sections,
next to baselines run on the same samples. The product sees only text (BBC has no feed
categories). Its "store vocabulary" is simulated: dev is split once, with a fixed seed,
into a pool that digests are drawn from and a disjoint half whose texts are passed as
`vocabulary`, like the items already in a store. The product is scored on other splits
too (`--splits`): each store fits its own topic model, and one split shows one fit.

    /work/venv/bin/python benchmarks/quality_sections.py            # full run, a few minutes
    /work/venv/bin/python benchmarks/quality_sections.py --samples 20   # quick look
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from newsletter.analysis.themes.sections import group_sections
from newsletter.config import ThemesConfig
from newsletter.model import Entry, Item

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO.parent / "shared" / "datasets" / "bbc_news_summary" / "dev.jsonl"
RESULTS = REPO / "benchmarks" / "results" / "sections.md"
SIZES = (20, 50, 80)
TARGETS = {20: 0.52, 50: 0.62, 80: 0.64}
SPLIT_SEED = 20240607
SAMPLE_SEED = 11
TUNE_SEED = 97  # separate samples to tune the agglomerative threshold on
AGGLO_GRID = (0.94, 0.95, 0.955, 0.96, 0.965, 0.97)
T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def load_articles(path: Path = DATASET) -> list[dict]:
    """Dev articles, one per body (exact duplicate bodies would be merged before grouping)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if r["dup_group"] == r["id"]]


def split(rows: list[dict], seed: int = SPLIT_SEED) -> tuple[list[dict], list[dict]]:
    """A fixed half to draw digests from and a disjoint half playing the store's vocabulary."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return [rows[i] for i in order[:half]], [rows[i] for i in order[half:]]


def doc(row: dict) -> str:
    return f"{row['title']}\n\n{row['text']}"


def to_entries(rows: Sequence[dict], categorized: bool = False) -> list[Entry]:
    """Articles as digest entries; publication times are made up (they only order entries).
    With `categorized`, each article comes from one of FEEDS, with that feed's categories."""
    out = []
    for i, r in enumerate(rows):
        feed, categories = feed_categories(r) if categorized else ("bbc", ())
        item = Item(
            key=r["id"],
            feed_url=feed,
            link=f"https://bbc.example/{r['id']}",
            title=r["title"],
            text=r["text"],
            published=T0 - timedelta(minutes=7 * i),
            source=feed,
            categories=categories,
        )
        out.append(Entry(item=item, summary=""))
    return out


# Five made-up feeds, each naming the five BBC categories its own way, as real feeds do:
# one word, plural or not, "&" pairs, a short form, a desk name, a bland "News" first,
# tags after the category, and no categories at all.
FEEDS: dict[str, dict[str, tuple[str, ...]] | None] = {
    "daily": {
        "business": ("Business",),
        "entertainment": ("Entertainment",),
        "politics": ("Politics",),
        "sport": ("Sport",),
        "tech": ("Technology",),
    },
    "post": {
        "business": ("Economy", "Markets"),
        "entertainment": ("Arts & Culture", "Film"),
        "politics": ("UK Politics",),
        "sport": ("Sports",),
        "tech": ("Tech", "Gadgets"),
    },
    "herald": {
        "business": ("Money",),
        "entertainment": ("Culture",),
        "politics": ("Westminster",),
        "sport": ("Sports",),
        "tech": ("Science & Technology",),
    },
    "blog": {
        "business": ("News", "Business"),
        "entertainment": ("News", "Showbiz"),
        "politics": ("News", "Politics"),
        "sport": ("News", "Sport"),
        "tech": ("News", "Tech"),
    },
    "wire": None,
}
CROSS_LISTED = 0.1  # share of articles that also carry another topic's category, last
MISFILED = 0.05  # share whose only topic category is another topic's
_CAPITAL = re.compile(r"(?<=[a-z,] )([A-Z][a-z]{3,})")


def feed_categories(row: dict) -> tuple[str, tuple[str, ...]]:
    """The feed an article comes from and that feed's categories for it (stable per id)."""
    rng = random.Random(f"{SPLIT_SEED}:{row['id']}")
    feed = rng.choice(sorted(FEEDS))
    names = FEEDS[feed]
    if names is None:
        return feed, ()
    topic = row["category"]
    if rng.random() < MISFILED:
        topic = rng.choice(sorted(set(names) - {topic}))
    cats = list(names[topic])
    if feed == "herald":  # a tag after the category: the article's commonest proper name
        tags = Counter(_CAPITAL.findall(row["text"]))
        if tags:
            cats.append(tags.most_common(1)[0][0])
    if rng.random() < CROSS_LISTED:
        other = rng.choice(sorted(set(names) - {row["category"]}))
        cats.append(names[other][-1])
    return feed, tuple(dict.fromkeys(cats))


# --- methods: each maps a sample of articles to one cluster id per article ---------------


def product(
    vocabulary: Sequence[str] | None, categorized: bool = False
) -> Callable[[Sequence[dict]], list[str]]:
    config = ThemesConfig()

    def run(rows: Sequence[dict]) -> list[str]:
        entries = to_entries(rows, categorized)
        sections = group_sections(entries, config, vocabulary=vocabulary)
        where = {e.item.key: s.label for s in sections for e in s.entries}
        return [where[r["id"]] for r in rows]

    return run


def _tfidf(rows: Sequence[dict]):
    return TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(map(doc, rows))


def _kmeans_silhouette(X, k_max: int = 10) -> list[int]:
    best, best_labels = -2.0, [0] * X.shape[0]
    for k in range(2, min(k_max, X.shape[0] - 1) + 1):
        labels = KMeans(k, n_init=4, random_state=0).fit_predict(X)
        score = silhouette_score(X, labels, metric="cosine")
        if score > best:
            best, best_labels = score, list(labels)
    return best_labels


def kmeans_silhouette(rows: Sequence[dict]) -> list[int]:
    return _kmeans_silhouette(_tfidf(rows))


def lsa_kmeans(rows: Sequence[dict]) -> list[int]:
    X = _tfidf(rows)
    dims = min(100, X.shape[0] - 1, X.shape[1] - 1)
    return _kmeans_silhouette(normalize(TruncatedSVD(dims, random_state=0).fit_transform(X)))


def agglomerative(threshold: float) -> Callable[[Sequence[dict]], list[int]]:
    def run(rows: Sequence[dict]) -> list[int]:
        model = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=threshold
        )
        return list(model.fit_predict(_tfidf(rows).toarray()))

    return run


def one_section(rows: Sequence[dict]) -> list[int]:
    return [0] * len(rows)


# --- scoring ----------------------------------------------------------------------------


def draw(pool: list[dict], size: int, count: int, seed: int) -> list[list[dict]]:
    rng = random.Random(seed * 1000 + size)
    return [[pool[i] for i in rng.sample(range(len(pool)), size)] for _ in range(count)]


def score(method: Callable, samples: list[list[dict]]) -> dict[str, float]:
    aris, nmis, ks, cats = [], [], [], []
    t = time.perf_counter()
    for rows in samples:
        labels = method(rows)
        truth = [r["category"] for r in rows]
        aris.append(adjusted_rand_score(truth, labels))
        nmis.append(normalized_mutual_info_score(truth, labels))
        ks.append(len(set(labels)))
        cats.append(len(set(truth)))
    return {
        "ari": float(np.mean(aris)),
        "nmi": float(np.mean(nmis)),
        "sections": float(np.mean(ks)),
        "categories": float(np.mean(cats)),
        "ms": 1000 * (time.perf_counter() - t) / max(1, len(samples)),
    }


def tune_threshold(pool: list[dict], count: int) -> tuple[float, dict[float, float]]:
    """The agglomerative distance threshold with the best mean ARI over all sizes (own samples)."""
    tuning = {size: draw(pool, size, count, TUNE_SEED) for size in SIZES}
    means = {
        t: float(np.mean([score(agglomerative(t), tuning[s])["ari"] for s in SIZES]))
        for t in AGGLO_GRID
    }
    best = max(AGGLO_GRID, key=lambda t: (means[t], -t))
    return best, means


def split_table(count: int, splits: int) -> list[str]:
    """The product's ARI when the store holds another half of the articles: each split
    fits its own topic model, so the spread shows how much one fit decides."""
    if splits < 1:
        return []
    rows = load_articles()
    out = [
        f"## The product over {splits} other store splits ({count} digests per size each)",
        "",
        "| split seed | " + " | ".join(f"ARI at {size}" for size in SIZES) + " |",
        "|---|" + "---|" * len(SIZES),
    ]
    totals = [0.0] * len(SIZES)
    for seed in range(1, splits + 1):
        pool, store_half = split(rows, seed)
        run = product([doc(r) for r in store_half])
        aris = [score(run, draw(pool, size, count, SAMPLE_SEED))["ari"] for size in SIZES]
        totals = [t + a for t, a in zip(totals, aris, strict=True)]
        out.append(f"| {seed} | " + " | ".join(f"{a:.3f}" for a in aris) + " |")
    out.append("| **mean** | " + " | ".join(f"**{t / splits:.3f}**" for t in totals) + " |")
    return [*out, ""]


def categorized_tables(pool: list[dict], vocabulary: Sequence[str], count: int) -> list[str]:
    """The same digests with feed categories (synthetic, see FEEDS) vs without them."""
    out = [
        "## With feed categories (synthetic)",
        "",
        f"{count} digests per size. Each article comes from one of {len(FEEDS)} made-up "
        "feeds that name the five categories their own way (Business / Economy, Markets / "
        "Money / News, Business; Sport / Sports; Tech / Technology / Science & Technology; "
        "Arts & Culture / Culture / Showbiz; a tag after the category; one feed without "
        f"categories); {CROSS_LISTED:.0%} of articles are also listed under another "
        f"topic and {MISFILED:.0%} are filed under the wrong one. Text-only rows strip the "
        "categories (the same digests).",
        "",
        "| size | method | ARI | NMI | sections |",
        "|---|---|---|---|---|",
    ]
    methods = [
        ("**product** with categories (store vocabulary)", product(vocabulary, True)),
        ("product with categories, none misfiled (store vocabulary)", _unmisfiled(vocabulary)),
        ("product, text only (store vocabulary)", product(vocabulary)),
        ("product with categories, no vocabulary", product(None, True)),
        ("product, text only, no vocabulary", product(None)),
    ]
    for size in SIZES:
        samples = draw(pool, size, count, SAMPLE_SEED + 7)
        for name, method in methods:
            r = score(method, samples)
            out.append(
                f"| {size} | {name} | {r['ari']:.3f} | {r['nmi']:.3f} | {r['sections']:.2f} |"
            )
    return out + [""]


def _unmisfiled(vocabulary: Sequence[str]) -> Callable[[Sequence[dict]], list[str]]:
    """The product on the same digests with no article filed under a wrong topic: what
    the categories give when they are right (a misfiled story follows its category)."""
    run = product(vocabulary, True)

    def without_misfiling(rows: Sequence[dict]) -> list[str]:
        global MISFILED
        saved, MISFILED = MISFILED, 0.0
        try:
            return run(rows)
        finally:
            MISFILED = saved

    return without_misfiling


def label_sample(
    pool: list[dict], vocabulary: Sequence[str], size: int = 50, categorized: bool = False
) -> list[str]:
    """One digest's section labels next to the true categories of their entries."""
    rows = draw(pool, size, 1, seed=SAMPLE_SEED + 1)[0]
    category = {r["id"]: r["category"] for r in rows}
    lines = ["| section label | entries | true categories |", "|---|---|---|"]
    entries = to_entries(rows, categorized)
    for s in group_sections(entries, ThemesConfig(), vocabulary=vocabulary):
        mix = Counter(category[e.item.key] for e in s.entries)
        parts = ", ".join(f"{c} {n}" for c, n in mix.most_common())
        lines.append(f"| {s.label} | {len(s.entries)} | {parts} |")
    return lines


def main(argv: Sequence[str] | None = None) -> str:
    """Run the benchmark, print the markdown tables, write them to results/sections.md."""
    # Thousands of small k-means fits: one thread each is much faster than OpenMP's spin.
    with threadpool_limits(1):
        return _main(argv)


def _main(argv: Sequence[str] | None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="digests per size (default 200)")
    parser.add_argument("--tune-samples", type=int, default=40)
    parser.add_argument("--no-write", action="store_true", help="do not write results/sections.md")
    parser.add_argument(
        "--splits",
        type=int,
        default=6,
        help="other store/pool splits the product is scored on (default 6; its topic model is "
        "fitted once per store, so one split shows one fit)",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    pool, store_half = split(load_articles())
    vocabulary = [doc(r) for r in store_half]
    threshold, tuned = tune_threshold(pool, args.tune_samples)
    methods: list[tuple[str, Callable]] = [
        ("**product** (store vocabulary)", product(vocabulary)),
        ("product, no vocabulary", product(None)),
        ("TF-IDF + KMeans, k by silhouette", kmeans_silhouette),
        ("TF-IDF + LSA + KMeans, k by silhouette", lsa_kmeans),
        (f"agglomerative cosine/average, threshold {threshold}", agglomerative(threshold)),
        ("all in one section", one_section),
    ]
    results: dict[int, list[tuple[str, dict[str, float]]]] = {}
    for size in SIZES:
        samples = draw(pool, size, args.samples, SAMPLE_SEED)
        results[size] = [(name, score(method, samples)) for name, method in methods]

    out = [
        "# Section grouping vs BBC categories (dev)",
        "",
        f"{args.samples} random digests per size from a pool of {len(pool)} dev articles "
        f"(one per duplicate group); the product's vocabulary is the other {len(vocabulary)} "
        "dev articles (a disjoint half standing in for the store's items). Baselines see only "
        "the sample. Agglomerative threshold tuned on separate dev samples: "
        + ", ".join(f"{t}: {a:.3f}" for t, a in tuned.items())
        + ".",
        "",
    ]
    for size in SIZES:
        out += [
            f"## {size} articles (target ARI >= {TARGETS[size]})",
            "",
            "| method | ARI | NMI | sections | categories present | ms/digest |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in results[size]:
            out.append(
                f"| {name} | {r['ari']:.3f} | {r['nmi']:.3f} | {r['sections']:.2f} "
                f"| {r['categories']:.2f} | {r['ms']:.0f} |"
            )
        product_ari = results[size][0][1]["ari"]
        best_base = max(r["ari"] for name, r in results[size][2:])
        verdict = "met" if product_ari >= TARGETS[size] and product_ari > best_base else "MISSED"
        out += [
            "",
            f"Target: {verdict} (product {product_ari:.3f}, best baseline {best_base:.3f})",
            "",
        ]
    out += split_table(max(1, args.samples // 2), args.splits)
    out += categorized_tables(pool, vocabulary, max(1, args.samples // 2))
    out += ["## Sample of labels (one 50-article digest)", "", *label_sample(pool, vocabulary), ""]
    out += [
        "## Sample of labels with feed categories (one 50-article digest)",
        "",
        *label_sample(pool, vocabulary, categorized=True),
        "",
    ]
    out.append(f"Run time: {time.perf_counter() - started:.0f} s.")
    text = "\n".join(out) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main(sys.argv[1:])
