"""Group digest entries into themed sections with short human labels.

Sections come from text clustering: TF-IDF (fitted on the store's vocabulary when given)
→ LSA → k-means on unit vectors, with k chosen by clustering stability, or average
linkage for a digest without a big store. The feeds' categories, when they have any in
common, are evidence next to the text (themes_categories, themes_mixed): normalized
across feeds, they tip clusters where the text is weak, name a section most of whose
stories share one, and keep every story out of a section its own categories contradict.
Small leftovers go into one "More stories" section. Everything is seeded, and the input
is put in a canonical order before fitting, so the same entries always give the same
sections.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsletter.analysis.themes.categories import Categories, categories_of
from newsletter.analysis.themes.labels import text_labels
from newsletter.analysis.themes.languages import entry_languages, language_blocks
from newsletter.analysis.themes.mixed import MAX_PAIRWISE, Likeness, joint_clusters, settle
from newsletter.analysis.themes.topics import (
    EXTRA_TOPICS,
    MIN_CORPUS,
    TermCounts,
    Vocabulary,
    small_clusters,
    small_vectors,
    store_term_counts,
    topic_model,
)
from newsletter.config import ThemesConfig
from newsletter.model import Entry, Section

logger = logging.getLogger(__name__)

BOILERPLATE_SHARE = 0.9
# How much of a story's text (and of each stored one) decides its theme: its opening names
# its topic, and every step (term counts, the topic model, labels) costs what it reads.
TEXT_CHARS = 2000
# A store topic holding this share of a digest's stories is a lump, not a theme.
LUMP_SHARE = 0.5  # with categories to help, only words in nearly every text drop
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
    languages: Sequence[str] | None = None,
) -> list[Section]:
    """Group entries into at most `config.max_sections` labelled sections, biggest first,
    and one more (`config.other_label`) for the stories without a theme.

    Stories of different languages never share a section (themes_languages): each
    language's stories are grouped on their own. `languages` gives each entry's language
    code; by default it is detected from the entry's words."""
    if not entries:
        return []
    max_sections = max(1, config.max_sections)
    min_size = max(1, config.min_section_size)
    codes = list(languages) if languages is not None else entry_languages(entries)
    # Below, as in the grouping steps, a count of sections includes the leftovers' place.
    blocks, leftovers = language_blocks(codes, max_sections + 1, min_size)
    sections: list[tuple[str, list[int]]] = []  # label, entry indices
    mixed: set[int] = set()  # sections of several languages, kept in language order
    for block in blocks:
        idx = list(block.members)
        if not block.themed:  # one language after the other, each newest first
            rank: dict[str, int] = {}
            for i in idx:
                rank.setdefault(codes[i], len(rank))
            idx.sort(key=lambda i: (rank[codes[i]], -_timestamp(entries[i]), i))
            mixed.add(len(sections))
            sections.append((block.label, idx))
            continue
        found, rest = _themed_sections(
            [entries[i] for i in idx],
            [codes[i] for i in idx],
            block.sections,
            min_size,
            _heads(vocabulary or ()),
        )
        sections.extend((label, [idx[j] for j in group]) for label, group in found)
        leftovers.extend(idx[j] for j in rest)
    # Beyond the cap, the smallest sections join the leftovers.
    while len(sections) > max_sections:
        smallest = min(range(len(sections)), key=lambda k: (len(sections[k][1]), -k))
        leftovers.extend(sections.pop(smallest)[1])
        mixed = {k - (k > smallest) for k in mixed if k != smallest}
    if leftovers:
        sections.append((config.other_label, sorted(leftovers)))
    return _with_slugs(
        [
            _section(label, idx, entries, by_date=k not in mixed)
            for k, (label, idx) in enumerate(sections)
        ]
    )


def _themed_sections(
    entries: Sequence[Entry],
    languages: Sequence[str],
    max_sections: int,
    min_size: int,
    vocabulary: Sequence[str],
) -> tuple[list[tuple[str, list[int]]], list[int]]:
    """Sections (label, entry indices) of one language's entries by theme, and the
    indices left over."""
    texts = [entry_text(e) for e in entries]
    cats = categories_of(entries)
    if cats.any:
        # Newest first, then by key: how sections of one size rank, in any input order.
        priority = [(-_timestamp(e), e.item.key) for e in entries]
        groups = _category_groups(texts, cats, vocabulary, max_sections, min_size, priority)
    else:
        groups = _text_groups(texts, vocabulary, max_sections, min_size)
    return _build_sections(entries, texts, groups, max_sections, min_size, vocabulary, languages)


def entry_text(entry: Entry) -> str:
    """The text a section is decided on: the title twice (it names the story), then the
    opening of the body (TEXT_CHARS)."""
    item = entry.item
    body = item.text or entry.summary or item.summary
    return f"{item.title}\n{item.title}\n{body[:TEXT_CHARS]}"


def _heads(vocabulary: Sequence[str]) -> Sequence[str]:
    """The store's texts cut as entry texts are (the cache folder kept)."""
    if all(len(t) <= TEXT_CHARS for t in vocabulary):
        return vocabulary
    return Vocabulary([t[:TEXT_CHARS] for t in vocabulary], getattr(vocabulary, "cache_dir", None))


# --- text and categories ----------------------------------------------------------------


def _category_groups(
    texts: Sequence[str],
    cats: Categories,
    vocabulary: Sequence[str],
    max_sections: int,
    min_size: int,
    priority: Sequence[tuple[float, str]],
) -> _Groups:
    """Text clusters with the feeds' categories as evidence (see themes_mixed): the store's
    topics when it has them, else clusters on text and categories together; then named
    after their categories where most entries share one, and made consistent with them."""
    n = len(texts)
    if n < 2 * min_size + 1 or max_sections < 2:  # one section, named by a shared category
        found = cats.label(range(n))
        return _Groups([0] * n, {0: proper_case(found[0])} if found else {})
    model = None
    if len({*vocabulary, *texts}) >= MIN_CORPUS:
        model = topic_model(texts, vocabulary, max_sections)
    if model is not None:
        base = _text_groups(texts, vocabulary, max_sections, min_size)
        assignment, pooled = list(base.assignment), base.pooled
        S = Likeness(model.vectors(texts), cats.features())
    elif n <= MAX_PAIRWISE:
        # Words in most texts are boilerplate; a topic may still cover most of a digest.
        S = Likeness(small_vectors(texts, vocabulary, BOILERPLATE_SHARE), cats.features())
        assignment, pooled = joint_clusters(S, max_sections + EXTRA_TOPICS, min_size), {}
    else:  # no topic words at all in a big digest: the categories alone group it
        S = Likeness(None, cats.features())
        assignment, pooled = [0] * n, {}
    # One place is kept for the leftovers ("More stories"). Without store topics, short
    # unrelated texts chain into lumps that a shared category may split.
    named = settle(
        assignment,
        cats,
        S,
        min_size,
        room=max_sections - 1,
        split_lumps=model is None,
        priority=priority,
    )
    labels = {g: proper_case(label) for g, label in named.items()}
    logger.debug("sections named by categories: %s", ", ".join(labels.values()))
    return _Groups(assignment, labels, pooled)


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
    assignment = model.assign(texts)
    lump = _split_lump(assignment, texts, max_sections, min_size)
    if lump is not None:
        pooled.pop(lump, None)  # the store's topic no longer describes its parts
    return _Groups(assignment, {}, pooled)


def _split_lump(
    assignment: list[int], texts: Sequence[str], max_sections: int, min_size: int
) -> int | None:
    """A store topic that takes most of a digest (a store full of one podcast's episodes
    puts every other story in one topic) is split again by the digest's own words, in
    place; returns the lump's topic, or None when there is none."""
    sizes = Counter(g for g in assignment if g >= 0)
    if not sizes:
        return None
    lump, size = max(sizes.items(), key=lambda gs: (gs[1], -gs[0]))
    # clustering on the stories' own words is quadratic: a lump of a big digest stays whole
    if size < LUMP_SHARE * len(assignment) or size < 3 * min_size or size > MAX_PAIRWISE:
        return None
    idx = [i for i, g in enumerate(assignment) if g == lump]
    room = max(2, max_sections - len(sizes) + 1)
    parts = small_clusters([texts[i] for i in idx], (), room, min_size)
    if len({p for p in parts if p >= 0}) < 2:
        return None
    fresh = max(sizes) + 1
    for i, part in zip(idx, parts, strict=True):
        assignment[i] = -1 if part < 0 else (lump if part == 0 else fresh + part - 1)
    logger.debug("split a store topic of %d of %d stories by their own words", size, len(texts))
    return lump


# --- sections ---------------------------------------------------------------------------


def _build_sections(
    entries: Sequence[Entry],
    texts: Sequence[str],
    groups: _Groups,
    max_sections: int,
    min_size: int,
    vocabulary: Sequence[str],
    languages: Sequence[str],
) -> tuple[list[tuple[str, list[int]]], list[int]]:
    """Fold small clusters into leftovers, cap the count, label and order; returns the
    sections (label, entry indices) and the indices of the leftovers."""
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
            languages=languages,
        )
        labels.update(zip(missing, generated, strict=True))
    used = {labels[g].casefold() for g in ranked}
    for g in missing:  # no distinctive words: a group from one feed is named after it
        sources = {entries[i].item.source for i in big[g]}
        if labels[g].startswith(_FALLBACK_LABEL) and len(sources) == 1 and all(sources):
            source = sources.pop()
            name, n = source, 2
            while name.casefold() in used:  # two such groups of one feed: still two labels
                name, n = f"{source} {n}", n + 1
            used.add(name.casefold())
            labels[g] = name
    return [(labels[g], big[g]) for g in ranked], leftovers


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


def _section(
    label: str, idx: Sequence[int], entries: Sequence[Entry], by_date: bool = True
) -> Section:
    """A section whose entries run newest first (input order breaks ties), or keep the
    order given (a section of several languages, one language after the other)."""
    ordered = sorted(idx, key=lambda i: (-_timestamp(entries[i]), i)) if by_date else idx
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
