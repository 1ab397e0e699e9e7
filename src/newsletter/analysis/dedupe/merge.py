"""Merge near-duplicate items (the same story from several feeds) into one digest entry.

Two items are the same story when their word 3-gram shingles overlap enough: a high
Jaccard similarity (a reworded title, a sentence added or dropped) or, for a teaser
(title and first sentences) against the full text, most of the shorter one's shingles
found in the longer one. Candidates come from an inverted index of shingles with
prefix filtering (only an item's rarest shingles propose partners), so the work grows
with the number of items, not with its square; shingles found in very many items
(boilerplate) are ignored. A short item in its own words (another site's teaser) shares
few shingles with the article: it is weighed by its words, title, figures and names,
published the same day (see dedupe_teaser). Items from the same feed with different
keys are different stories unless their text, headline or article link is the same
(see `exact`). The kept version of a story
is the one with the longest text.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.analysis.dedupe.exact import exact_pairs
from newsletter.analysis.dedupe.teaser import LEAD_WORDS, maybe_short, teaser_pairs
from newsletter.analysis.distinct import distinct, distinct_slots
from newsletter.analysis.sparse_rows import SparseRows
from newsletter.model import Entry, Item

logger = logging.getLogger(__name__)

SHINGLE = 3  # words per shingle
JACCARD = 0.5  # same story reworded: share of all shingles in common
CONTAINMENT = 0.8  # teaser: share of the shorter item's shingles found in the longer one
MIN_SHINGLES = 12  # below this, an item is too short to judge by containment
SHORT_JACCARD = 0.9  # two short items must be nearly the same text
MIN_WORDS = 5  # shorter items ("Weekly roundup") are no evidence of the same story
# A shingle in more items than this is boilerplate ("the post ... appeared first on");
# ignoring it also bounds the pairs one shingle can produce.
MAX_POSTINGS = 64
# The least share of the smaller item's shingles any accepted pair shares: Jaccard >= J
# needs 2J / (1 + J) of them (the larger item has at least as many), containment its own.
MIN_SHARE = min(2 * JACCARD / (1 + JACCARD), CONTAINMENT, 2 * SHORT_JACCARD / (1 + SHORT_JACCARD))
# Partners an item proposes at most (those sharing most of its rarest shingles): a story
# is rarely in more feeds than this, and templated text cannot make the work quadratic.
MAX_CANDIDATES = 32
BLOCK = 128  # items whose candidates are gathered at once (bounds memory)

_WORD = re.compile(r"\w+")
_NONE = np.zeros(0, dtype=np.uint64)
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(1))


@dataclass(frozen=True)
class DedupeStats:
    """How much work a dedupe did: candidate pairs are bounded by the shared shingles."""

    items: int
    shingles: int
    candidate_pairs: int
    merged_pairs: int
    teaser_candidates: int = 0  # short-item pairs weighed by their words (dedupe_teaser)


def merge_duplicates(
    items: Sequence[Item], summaries: Mapping[str, str] | None = None
) -> list[Entry]:
    """One entry per story, in order of first appearance; each lists every source."""
    groups, _ = duplicate_groups(items)
    return entries_for(items, groups, summaries)


def entries_for(
    items: Sequence[Item], groups: Sequence[Sequence[int]], summaries: Mapping[str, str] | None
) -> list[Entry]:
    """One entry per group of item indices: the richest member, every member's source, and
    the kept item's summary (another member's when it has none)."""
    entries = []
    for members in groups:
        kept = _richest(items, members)
        ordered = [kept, *(i for i in members if i != kept)]
        sources = list(dict.fromkeys((_source_name(items[i]), items[i].link) for i in ordered))
        entries.append(
            Entry(
                item=items[kept],
                summary=_summary(items, ordered, summaries),
                sources=tuple(sources),
            )
        )
    return entries


@dataclass(frozen=True)
class Features:
    """What comparing one item's content needs, read from its words once."""

    shingles: np.ndarray
    exact: tuple[str, ...]  # keys of its whole text and of its body: identical text
    title: tuple[str, ...] = ()  # word tokens of the title and the lead, kept only for the
    lead: tuple[str, ...] = ()  # short-item path


def features(item: Item, keep_words: bool = False) -> Features:
    """Shingles and identical-text keys of an item (and its title and lead words)."""
    title, body = words(item.title), words(item.text)
    tokens = title + body
    shingles = shingle_hashes(tokens) if len(tokens) >= MIN_WORDS else _NONE
    exact = tuple(_exact_keys("", tokens, body))
    if not keep_words:
        return Features(shingles, exact)
    lead = tuple(map(sys.intern, body[:LEAD_WORDS]))
    return Features(shingles, exact, tuple(map(sys.intern, title)), lead)


def duplicate_groups(items: Sequence[Item]) -> tuple[list[list[int]], DedupeStats]:
    """Indices of items grouped by story (groups and members in input order), with stats."""
    # The teaser path reads the title and first words of every item, but only when some
    # item is short: otherwise no word lists are kept (they are most of the memory).
    any_short = any(maybe_short(it) for it in items)
    feats = [features(it, any_short) for it in items]
    edges = exact_edges(items, feats)
    similar, candidates = shingle_pairs([f.shingles for f in feats])
    # same feed, different key and text: a different story
    edges.extend((x, y) for x, y in similar if not same_feed(items[x], items[y]))
    # A short item in its own words (a feed's teaser) shares few 3-grams with the article.
    teaser_candidates = 0
    if any_short:
        titles, leads = [f.title for f in feats], [f.lead for f in feats]
        reworded, teaser_candidates = teaser_pairs(items, titles, leads)
        edges.extend(reworded)
    # One story under two keys: the same headline the same days, or the same article link.
    edges.extend(exact_pairs(items))
    groups = components(len(items), edges, items)
    stats = DedupeStats(
        items=len(items),
        shingles=sum(len(f.shingles) for f in feats),
        candidate_pairs=candidates,
        merged_pairs=sum(len(g) - 1 for g in groups),
        teaser_candidates=teaser_candidates,
    )
    logger.debug("dedupe: %s", stats)
    return groups, stats


def exact_edges(items: Sequence[Item], feats: Sequence[Features]) -> list[tuple[int, int]]:
    """Same key or identical text: a duplicate wherever it comes from."""
    edges: list[tuple[int, int]] = []
    seen: dict[str, int] = {}
    for i, (it, f) in enumerate(zip(items, feats, strict=True)):
        for key in ((f"key:{it.key}",) if it.key else ()) + f.exact:
            if key in seen:
                edges.append((seen[key], i))
            else:
                seen[key] = i
    return edges


def shingle_pairs(
    shingles: Sequence[np.ndarray], fresh: np.ndarray | None = None
) -> tuple[list[tuple[int, int]], int]:
    """Pairs (a < b) whose shingles say same story, and how many candidates were verified;
    with `fresh` (a mask), only pairs with a fresh item in them."""
    pairs, overlap, effective = _shared_shingles(shingles, fresh)
    if not len(pairs):
        return [], 0
    a, b = pairs[:, 0], pairs[:, 1]
    ok = _similar(effective[a], effective[b], overlap)
    return [(int(x), int(y)) for x, y in pairs[ok]], len(pairs)


class _Folded(dict[str, str]):
    """Accent-free spelling of non-ASCII words, computed once per distinct word."""

    def __missing__(self, word: str) -> str:
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)
        )
        if len(self) < 200_000:
            self[word] = plain
        return plain


class _Crc(dict[str, int]):
    """A stable 32-bit hash per distinct word (Python's own hash() is salted per run)."""

    def __missing__(self, word: str) -> int:
        value = zlib.crc32(word.encode())
        if len(self) < 500_000:
            self[word] = value
        return value


_FOLDED = _Folded()
_CRC = _Crc()


def words(text: str) -> list[str]:
    """Lower-case word tokens of a text, accents and punctuation ignored."""
    return [w if w.isascii() else _FOLDED[w] for w in _WORD.findall(text.casefold())]


def _exact_keys(item_key: str, tokens: list[str], body: list[str]) -> list[str]:
    """Keys that make two items the same story outright: same key, or identical text."""
    keys = [f"key:{item_key}"] if item_key else []
    if len(tokens) >= MIN_WORDS:
        keys.append("all:" + _hash(" ".join(tokens)))
    if len(body) >= 3 * MIN_WORDS:
        keys.append("body:" + _hash(" ".join(body)))
    return keys


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def shingle_hashes(tokens: Sequence[str]) -> np.ndarray:
    """Distinct 64-bit hashes of the word 3-grams of a token list (stable across runs)."""
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    h = np.array([_CRC[t] for t in tokens], dtype=np.uint64)
    if len(h) < SHINGLE:
        return distinct(h * _MIX[0])
    with np.errstate(over="ignore"):
        mixed = h[:-2] * _MIX[0] + h[1:-1] * _MIX[1] + h[2:] * _MIX[2]
    return distinct(mixed & _MASK)


def _shared_shingles(
    shingles: Sequence[np.ndarray], fresh: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (a < b), the shingles each pair shares, and each item's size.

    An inverted index built by sorting (shingle, item) pairs, with prefix filtering: every
    accepted pair shares at least MIN_SHARE of the smaller item's shingles, so it shares
    one among that item's rarest `size - ceil(MIN_SHARE * size) + 1` shingles (its
    prefix); only the smaller item's prefix proposes partners. Posting lists longer than
    MAX_POSTINGS are boilerplate and count for no one, and each item keeps at most
    MAX_CANDIDATES partners, those sharing the most of its prefix (a true copy shares
    nearly all of it), so templated text, where hundreds of items share phrases, costs
    no more than prose. Items are handled in blocks: memory is bounded by the block.
    """
    n = len(shingles)
    sizes = np.array([len(s) for s in shingles], dtype=np.int64)
    none = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    if n == 0 or sizes.sum() == 0:
        return *none, sizes
    sh = np.concatenate(shingles)
    doc = np.repeat(np.arange(n, dtype=np.int32), sizes)
    order = np.argsort(sh, kind="stable")  # by shingle, then item (doc is ascending)
    sh, doc = sh[order], doc[order]
    del order
    new_run = np.r_[True, sh[1:] != sh[:-1]]
    del sh
    lengths = np.diff(np.r_[np.flatnonzero(new_run), len(doc)]).astype(np.int32)
    run = np.cumsum(new_run, dtype=np.int32) - 1  # shingle id of each occurrence
    df = lengths[run]  # how many items hold it
    del new_run, lengths
    common = df > MAX_POSTINGS
    sizes = sizes - np.bincount(doc[common], minlength=n)
    # A shingle of one item only (most of them, in prose) pairs nobody: drop those
    # occurrences, counting per item how many there were. A posting list goes whole or
    # stays whole, so the rest is still grouped by shingle.
    own = np.bincount(doc[df == 1], minlength=n)
    shared = ~common & (df > 1)
    doc, df, run = doc[shared], df[shared], run[shared]
    del common, shared
    if not len(doc):
        return *none, sizes
    new_run = np.r_[True, run[1:] != run[:-1]]
    starts = np.flatnonzero(new_run)
    lengths = np.diff(np.r_[starts, len(doc)])
    run = np.cumsum(new_run, dtype=np.int32) - 1  # renumbered: shared shingles only
    del new_run
    # Each item's prefix: its rarest shingles. Its own shingles come first (the rarest of
    # all), then its shared ones by how many items share them (ties by shingle id).
    needed = np.ceil(MIN_SHARE * sizes - 1e-9).astype(np.int64)
    prefix_len = np.maximum(sizes - needed + 1 - own, 0)
    by_item = np.lexsort((run, df, doc))
    first = np.searchsorted(doc[by_item], np.arange(n))
    rank = np.empty(len(doc), dtype=np.int32)
    rank[by_item] = np.arange(len(doc)) - first[doc[by_item]]
    del by_item, first
    in_prefix = rank < prefix_len[doc]
    del rank
    if fresh is not None:  # only shingles that some fresh item has can pair it
        with_fresh = np.bincount(run, weights=fresh[doc], minlength=len(starts)) > 0
        in_prefix &= with_fresh[run]
    probes = np.flatnonzero(in_prefix)  # occurrences (sorted by shingle) that look for partners
    probes = probes[np.argsort(doc[probes], kind="stable")]  # grouped by item
    bounds = np.searchsorted(doc[probes], np.arange(0, n + BLOCK, BLOCK))
    pairs: list[np.ndarray] = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False):
        if hi > lo:
            pairs.append(
                _block_candidates(probes[lo:hi], doc, run, starts, lengths, sizes, n, fresh)
            )
    codes = distinct(np.concatenate(pairs)) if pairs else np.zeros(0, dtype=np.int64)
    if not len(codes):
        return *none, sizes
    a, b = codes // n, codes % n
    # Exact overlap of each candidate pair, boilerplate left out: a sparse row product
    # over the shared shingles of the items in some pair (with `fresh`, few of them).
    paired = np.zeros(n, dtype=bool)
    paired[a] = paired[b] = True
    kept = paired[doc]
    M = SparseRows.from_entries(doc[kept], run[kept], np.ones(int(kept.sum())), (n, len(starts)))
    overlap = M.pair_dots(a, b).astype(np.int64)
    return np.stack([a, b], axis=1), overlap, sizes


def _block_candidates(
    probes: np.ndarray,
    doc: np.ndarray,
    run: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    sizes: np.ndarray,
    n: int,
    fresh: np.ndarray | None = None,
) -> np.ndarray:
    """Pair codes (min * n + max) proposed by a block of items' prefix shingles: each
    item's MAX_CANDIDATES partners that share the most of its prefix."""
    r = run[probes]
    length = lengths[r]
    total = int(length.sum())
    # every member of each probed posting list (a posting list is a slice of `doc`)
    offsets = np.repeat(starts[r] - (np.cumsum(length) - length), length)
    partner = doc[offsets + np.arange(total)].astype(np.int64)
    prober = np.repeat(doc[probes], length).astype(np.int64)
    # the smaller item of a pair proposes it (either one when they are the same size)
    mine, theirs = sizes[prober], sizes[partner]
    ok = (partner != prober) & (mine <= theirs)
    if fresh is not None:
        ok &= fresh[prober] | fresh[partner]
    prober, partner = prober[ok], partner[ok]
    if not len(prober):
        return np.zeros(0, dtype=np.int64)
    code, _, hits = distinct_slots(prober * n + partner)
    who = code // n
    # per prober: most shared prefix shingles first, then partner order
    ranked = np.lexsort((code % n, -hits, who))
    who_sorted = who[ranked]
    first = np.searchsorted(who_sorted, who_sorted)
    top = ranked[np.arange(len(ranked)) - first < MAX_CANDIDATES]
    x, y = who[top], code[top] % n
    return np.minimum(x, y) * n + np.maximum(x, y)


def _similar(size_a: np.ndarray, size_b: np.ndarray, overlap: np.ndarray) -> np.ndarray:
    """Which candidate pairs are the same story (vectorized over pairs)."""
    small = np.minimum(size_a, size_b)
    union = size_a + size_b - overlap
    jaccard = overlap / np.maximum(union, 1)
    containment = overlap / np.maximum(small, 1)
    long_enough = small >= MIN_SHINGLES
    return np.where(
        long_enough,
        (jaccard >= JACCARD) | (containment >= CONTAINMENT),
        jaccard >= SHORT_JACCARD,
    )


def same_feed(a: Item, b: Item) -> bool:
    return bool(a.feed_url) and a.feed_url == b.feed_url and a.key != b.key


def components(n: int, edges: list[tuple[int, int]], items: Sequence[Item]) -> list[list[int]]:
    """Connected groups, each then checked against its richest member so chains cannot
    join two stories through a third: a member with no direct link to it starts anew."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    linked: dict[int, set[int]] = {}
    for a, b in edges:
        linked.setdefault(a, set()).add(b)
        linked.setdefault(b, set()).add(a)
    groups: list[list[int]] = []
    for members in comps.values():
        groups.extend(_split_on_richest(members, linked, items))
    return sorted(groups, key=lambda g: g[0])


def _split_on_richest(
    members: list[int], linked: dict[int, set[int]], items: Sequence[Item]
) -> list[list[int]]:
    out = []
    rest = members
    while rest:
        kept = _richest(items, rest)
        near = linked.get(kept, set())
        group = [i for i in rest if i == kept or i in near]
        taken = set(group)
        out.append(group)
        rest = [i for i in rest if i not in taken]
    return out


def kept_index(items: Sequence[Item], members: Sequence[int]) -> int:
    """Which member of a story is shown: the one with the longest text."""
    return _richest(items, members)


def _richest(items: Sequence[Item], members: Sequence[int]) -> int:
    """The member with the longest text (the first of them on a tie)."""
    return min(members, key=lambda i: (-len(items[i].text), i))


def _source_name(item: Item) -> str:
    return item.source or item.feed_url


def _summary(
    items: Sequence[Item], ordered: Sequence[int], summaries: Mapping[str, str] | None
) -> str:
    """The kept item's summary; another member's when the kept one has none yet."""
    if not summaries:
        return ""
    for i in ordered:
        text = summaries.get(items[i].content_hash, "")
        if text:
            return text
    return ""
