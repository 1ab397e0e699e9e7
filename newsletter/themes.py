"""Group digest entries into themed sections with short human labels.

Sections come from the items' own categories when the feeds agree on informative ones,
otherwise from text clustering: TF-IDF (fitted on the store's vocabulary when given) →
LSA → k-means on unit vectors, with k chosen by clustering stability. Small leftovers go
into one "More stories" section. Everything is seeded, and the input is put in a
canonical order before fitting, so the same entries always give the same sections.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from newsletter.config import ThemesConfig
from newsletter.model import Entry, Section
from newsletter.themes_labels import STOP_WORDS, text_labels
from newsletter.themes_topics import (
    MIN_CORPUS,
    TOKEN_PATTERN,
    TermCounts,
    small_clusters,
    store_term_counts,
    topic_model,
)

logger = logging.getLogger(__name__)

# Category names that say nothing about the story.
_BLAND_CATEGORIES = {
    "news",
    "uncategorized",
    "uncategorised",
    "general",
    "misc",
    "miscellaneous",
    "other",
    "blog",
    "post",
    "posts",
    "article",
    "articles",
    "featured",
    "top stories",
    "home",
}
_MAX_CATEGORY_SHARE = 0.8  # a category on more entries than this is the feed's, not a theme
_MIN_CATEGORY_COVERAGE = 0.6  # share of entries that must carry a usable category
_CATEGORY_ASSIGN_MIN_SIM = 0.05  # uncategorized entry joins the nearest category above this

_FALLBACK_LABEL = "Stories"  # only when a cluster has no distinctive word at all


@dataclass(frozen=True)
class _Groups:
    """Cluster index per entry (-1 = leftovers) and an optional fixed label per cluster."""

    assignment: list[int]
    labels: dict[int, str]
    pooled: dict[int, TermCounts] = field(default_factory=dict)  # store texts of each topic


def group_sections(
    entries: Sequence[Entry],
    config: ThemesConfig,
    vocabulary: Sequence[str] | None = None,
) -> list[Section]:
    """Group entries into at most `config.max_sections` labelled sections, biggest first."""
    if not entries:
        return []
    max_sections = max(1, config.max_sections)
    min_size = max(1, config.min_section_size)
    texts = [entry_text(e) for e in entries]
    groups = _category_groups(entries, texts, max_sections, min_size)
    if groups is None:
        groups = _text_groups(texts, vocabulary or (), max_sections, min_size)
    return _build_sections(
        entries, texts, groups, config.other_label, max_sections, min_size, vocabulary or ()
    )


def entry_text(entry: Entry) -> str:
    """The text a section is decided on: the title twice (it names the story), then the body."""
    item = entry.item
    body = item.text or entry.summary or item.summary
    return f"{item.title}\n{item.title}\n{body}"


# --- categories -------------------------------------------------------------------------


def _norm_category(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()


def _category_groups(
    entries: Sequence[Entry], texts: Sequence[str], max_sections: int, min_size: int
) -> _Groups | None:
    """Sections from the feeds' categories when they are consistent and informative."""
    n = len(entries)
    per_entry = [
        list(dict.fromkeys(_norm_category(c) for c in e.item.categories if c.strip()))
        for e in entries
    ]
    counts = Counter(c for cats in per_entry for c in cats)
    usable = {
        c
        for c, k in counts.items()
        if k >= min_size and c not in _BLAND_CATEGORIES and (n < 5 or k <= _MAX_CATEGORY_SHARE * n)
    }
    if not usable:
        return None
    # Each entry goes to its most common usable category: broad sections, not tag soup.
    chosen: list[str | None] = []
    for cats in per_entry:
        ranked = sorted((c for c in cats if c in usable), key=lambda c: (-counts[c], c))
        chosen.append(ranked[0] if ranked else None)
    covered = sum(c is not None for c in chosen)
    distinct = Counter(c for c in chosen if c is not None)
    if covered < _MIN_CATEGORY_COVERAGE * n or len(distinct) < 2:
        return None
    # Most entries in the biggest categories; the rest become leftovers.
    kept = [c for c, k in sorted(distinct.items(), key=lambda ck: (-ck[1], ck[0])) if k >= min_size]
    kept = kept[: max_sections - 1] if len(kept) > max_sections - 1 else kept
    index = {c: i for i, c in enumerate(kept)}
    assignment = [index.get(c, -1) if c is not None else -1 for c in chosen]
    _assign_by_text(texts, assignment)
    labels = {i: _category_label(c, entries) for c, i in index.items()}
    logger.debug("sections from categories: %s", ", ".join(labels.values()))
    return _Groups(assignment, labels)


def _category_label(norm: str, entries: Sequence[Entry]) -> str:
    """The category as the feeds spell it most often, in proper case."""
    spellings = Counter(
        " ".join(c.split()) for e in entries for c in e.item.categories if _norm_category(c) == norm
    )
    best = sorted(spellings.items(), key=lambda sk: (-sk[1], sk[0]))[0][0]
    return proper_case(best)


def _assign_by_text(texts: Sequence[str], assignment: list[int]) -> None:
    """Put entries without a usable category into the closest category section, if any."""
    missing = [i for i, a in enumerate(assignment) if a < 0]
    if not missing or all(a < 0 for a in assignment):
        return
    vec = TfidfVectorizer(
        sublinear_tf=True, stop_words=sorted(STOP_WORDS), token_pattern=TOKEN_PATTERN
    )
    try:
        X = vec.fit_transform(texts)
    except ValueError:  # nothing but stop words
        return
    groups = sorted({a for a in assignment if a >= 0})
    members = [[i for i, a in enumerate(assignment) if a == g] for g in groups]
    centroids = normalize(np.vstack([np.asarray(X[m].mean(axis=0)) for m in members]))
    sims = np.asarray(X[missing] @ centroids.T)
    for row, i in enumerate(missing):
        best = int(np.argmax(sims[row]))
        if sims[row, best] >= _CATEGORY_ASSIGN_MIN_SIM:
            assignment[i] = groups[best]


# --- text clustering --------------------------------------------------------------------


def _text_groups(
    texts: Sequence[str], vocabulary: Sequence[str], max_sections: int, min_size: int
) -> _Groups:
    """Cluster entries by their words; the number of clusters is chosen, not given."""
    n = len(texts)
    if n < 2 * min_size + 1 or max_sections < 2:
        return _Groups([0] * n, {})
    if len({*vocabulary, *texts}) < MIN_CORPUS:
        return _Groups(small_clusters(texts, vocabulary, max_sections, min_size), {})
    model = topic_model(texts, vocabulary, max_sections)
    if model is None:
        return _Groups([0] * n, {})
    pooled: dict[int, TermCounts] = {}
    if model.from_store:
        _, per_topic = model.term_counts()
        pooled = dict(enumerate(per_topic))
    return _Groups(model.assign(texts), {}, pooled)


# --- sections ---------------------------------------------------------------------------


def _build_sections(
    entries: Sequence[Entry],
    texts: Sequence[str],
    groups: _Groups,
    other_label: str,
    max_sections: int,
    min_size: int,
    vocabulary: Sequence[str],
) -> list[Section]:
    """Fold small clusters into leftovers, cap the count, label, order and slug."""
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups.assignment):
        members.setdefault(g, []).append(i)
    leftovers = members.pop(-1, [])
    big = {g: idx for g, idx in members.items() if len(idx) >= min_size}
    for g, idx in members.items():
        if g not in big:
            leftovers.extend(idx)
    ranked = sorted(big, key=lambda g: (-len(big[g]), -_newest(entries, big[g]), min(big[g])))
    room = max_sections - (1 if leftovers or len(ranked) > max_sections else 0)
    for g in ranked[room:]:
        leftovers.extend(big.pop(g))
    ranked = ranked[:room]
    labels = dict(groups.labels)
    if not ranked:  # one theme or too few entries: a single section
        ranked, big, leftovers, labels = [0], {0: list(range(len(entries)))}, [], {}
    missing = [g for g in ranked if g not in labels]
    if missing:
        titles = [e.item.title for e in entries]
        generated = text_labels(
            texts,
            titles,
            [big[g] for g in missing],
            _FALLBACK_LABEL,
            background=store_term_counts(vocabulary),
            pooled=[groups.pooled.get(g) for g in missing] if groups.pooled else None,
        )
        labels.update(zip(missing, generated, strict=True))
    sections = [_section(labels[g], big[g], entries) for g in ranked]
    if leftovers:
        sections.append(_section(other_label, leftovers, entries))
    return _with_slugs(sections)


def _newest(entries: Sequence[Entry], idx: Sequence[int]) -> float:
    stamps = [_timestamp(entries[i]) for i in idx]
    return max(stamps) if stamps else 0.0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _timestamp(entry: Entry) -> float:
    published = entry.item.published or entry.item.first_seen
    if published is None:
        return float("-inf")
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return (published - _EPOCH).total_seconds()


def _section(label: str, idx: Sequence[int], entries: Sequence[Entry]) -> Section:
    """A section whose entries run newest first (input order breaks ties)."""
    ordered = sorted(idx, key=lambda i: (-_timestamp(entries[i]), i))
    return Section(label=label, entries=tuple(entries[i] for i in ordered))


def _with_slugs(sections: list[Section]) -> list[Section]:
    seen: set[str] = set()
    out = []
    for s in sections:
        base = slugify(s.label) or "section"
        slug, n = base, 2
        while slug in seen:
            slug, n = f"{base}-{n}", n + 1
        seen.add(slug)
        out.append(Section(label=s.label, entries=s.entries, slug=slug))
    return out


def slugify(label: str) -> str:
    """An anchor-safe slug: ASCII letters and digits joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def proper_case(text: str) -> str:
    """Capitalize each word that is all lower case; keep acronyms and brand spellings."""
    words = text.split()
    small = {"and", "or", "of", "the", "in", "on", "for", "to", "a", "an", "at", "by"}
    out = []
    for i, w in enumerate(words):
        if w.islower() and not (i > 0 and w in small):
            w = w[0].upper() + w[1:]
        out.append(w)
    return " ".join(out)
