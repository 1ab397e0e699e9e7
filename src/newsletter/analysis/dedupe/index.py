"""Same-story detection that costs what is new: a persisted index of recent stories.

`merge` compares a set of items among themselves. A digest build would do that again at
every run for items it has compared before; this index, kept next to the store
(`dedupe/stories.pickle`), remembers per content (its hash) what comparing it needs (its
shingles, identical-text keys, title and lead for the short-item path, the roots those
are indexed by) and the same-story pairs found so far. A build hands over its items:
those the index knows are not read or compared again; each new one is compared with
every story in the index (not only this digest's), with the same rules and candidate
caps as `merge`, and joins it. Only recent stories stay (see WINDOW and MAX_AGE), which
bounds what a build compares its new items with.

On an empty index (the first build) the pairs are those of `merge.duplicate_groups` (items
with identical text count once). Later builds may judge an edge case differently from a
comparison made from scratch, because what counts as boilerplate or as a rare word is
read over the whole index rather than over one digest; a verdict, once made, is kept.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from newsletter.analysis.dedupe.merge import (
    DedupeStats,
    components,
    features,
    same_feed,
    shingle_pairs,
)
from newsletter.analysis.dedupe.teaser import LEAD_WORDS, index_roots, maybe_short, teaser_pairs
from newsletter.model import Item

logger = logging.getLogger(__name__)

VERSION = "stories-1"
# Stories kept, newest first: what can be a digest's candidate next to a new item (at
# least WINDOW, and four times a build's items), from the last MAX_AGE. A build compares
# its new items with all of them, so this bounds its cost; an older story that comes back
# is compared again as new: nothing is lost, only redone.
WINDOW = 2_000
MAX_AGE = timedelta(days=3)
_LEAD_CHARS = LEAD_WORDS * 20 + 1  # what the short-item path reads of a text, and one more


@dataclass(frozen=True)
class Story:
    """One content (by hash) as the index keeps it: enough to compare it, nothing more."""

    key: str
    feed_url: str
    title: str
    lead: str  # the start of the text (the short-item path reads no further)
    published: datetime | None
    first_seen: datetime | None
    shingles: np.ndarray
    exact: tuple[str, ...]
    roots: tuple[str, ...]  # title and lead roots (see teaser.index_roots)

    def item(self) -> Item:
        """A stand-in Item with what the comparisons read."""
        return Item(
            key=self.key,
            feed_url=self.feed_url,
            link="",
            title=self.title,
            text=self.lead,
            published=self.published,
            first_seen=self.first_seen,
        )

    @property
    def time(self) -> datetime:
        when = self.published or self.first_seen or datetime.min.replace(tzinfo=UTC)
        return when if when.tzinfo else when.replace(tzinfo=UTC)


def story(item: Item) -> Story:
    """Read an item once: its shingles, keys and the words the short-item path needs."""
    f = features(item, keep_words=True)
    return Story(
        key=item.key,
        feed_url=item.feed_url,
        title=item.title,
        lead=item.text[:_LEAD_CHARS],
        published=item.published,
        first_seen=item.first_seen,
        shingles=f.shingles,
        exact=f.exact,
        roots=tuple(index_roots(item, f.title, f.lead)),
    )


def content_key(item: Item) -> str:
    return item.content_hash or f"{item.feed_url}\n{item.key}\n{item.title}\n{item.text}"


class StoryIndex:
    """Recent stories and the same-story pairs among them, kept in `folder` (None: kept
    in memory only, for one process)."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / "stories.pickle" if folder is not None else None
        self.stories: dict[str, Story] = {}
        self.pairs: dict[str, set[str]] = {}
        self._loaded = False

    def groups(self, items: Sequence[Item]) -> tuple[list[list[int]], DedupeStats]:
        """Indices of items grouped by story, as `merge.duplicate_groups` gives them."""
        self._load()
        keys = [content_key(it) for it in items]
        new: dict[str, Item] = {}
        for k, it in zip(keys, items, strict=True):
            if k not in self.stories and k not in new:
                new[k] = it
        for k, it in new.items():
            self.stories[k] = story(it)
        candidates = weighed = 0
        if new:
            candidates, weighed = self._compare(frozenset(new))
        edges = self._edges(items, keys)
        groups = components(len(items), edges, items)
        self._prune(frozenset(keys))
        self._save(bool(new))
        stats = DedupeStats(
            items=len(items),
            shingles=sum(len(self.stories[k].shingles) for k in new),
            candidate_pairs=candidates,
            merged_pairs=sum(len(g) - 1 for g in groups),
            teaser_candidates=weighed,
        )
        logger.debug("dedupe: %d new of %d items; %s", len(new), len(items), stats)
        return groups, stats

    def _compare(self, new: frozenset[str]) -> tuple[int, int]:
        """Find the same-story pairs between new stories and every story in the index."""
        order = list(self.stories)
        fresh = np.array([k in new for k in order])
        stories = [self.stories[k] for k in order]
        found, candidates = shingle_pairs([s.shingles for s in stories], fresh)
        weighed = 0
        stand_ins = [s.item() for s in stories]
        if any(maybe_short(it) for it in stand_ins):  # a new item may be an old teaser's story
            roots = [s.roots for s in stories]
            reworded, weighed = teaser_pairs(stand_ins, roots=roots, fresh=fresh.tolist())
            found.extend(reworded)
        for x, y in found:
            a, b = order[x], order[y]
            self.pairs.setdefault(a, set()).add(b)
            self.pairs.setdefault(b, set()).add(a)
        return candidates, weighed

    def _edges(self, items: Sequence[Item], keys: Sequence[str]) -> list[tuple[int, int]]:
        """Edges among this build's items: same key or identical text, and the index's
        pairs (a same-story pair from one feed with two keys is two stories)."""
        edges: list[tuple[int, int]] = []
        first: dict[str, int] = {}
        at: dict[str, list[int]] = {}
        for i, (it, k) in enumerate(zip(items, keys, strict=True)):
            for exact in ((f"key:{it.key}",) if it.key else ()) + self.stories[k].exact:
                if exact in first:
                    edges.append((first[exact], i))
                else:
                    first[exact] = i
            at.setdefault(k, []).append(i)
        for k, members in at.items():
            for other in self.pairs.get(k, ()):
                if other <= k or other not in at:
                    continue  # each pair once, and only between this build's items
                for i in members:
                    for j in at[other]:
                        if not same_feed(items[i], items[j]):
                            edges.append((min(i, j), max(i, j)))
        return edges

    def _prune(self, current: frozenset[str]) -> None:
        """Keep the newest stories of the last MAX_AGE, WINDOW or four times this build's
        items, whichever is more (this build's always)."""
        if not self.stories:
            return
        newest = max(s.time for s in self.stories.values())
        ranked = sorted(self.stories, key=lambda k: self.stories[k].time, reverse=True)
        keep = set(current) & set(self.stories)
        limit = max(WINDOW, 4 * len(current))
        for k in ranked:
            if len(keep) >= limit or newest - self.stories[k].time > MAX_AGE:
                break
            keep.add(k)
        if len(keep) == len(self.stories):
            return
        self.stories = {k: s for k, s in self.stories.items() if k in keep}
        self.pairs = {
            k: {o for o in others if o in keep} for k, others in self.pairs.items() if k in keep
        }

    def _load(self) -> None:
        if self._loaded or self.path is None:
            self._loaded = True
            return
        self._loaded = True
        try:
            with self.path.open("rb") as f:
                saved = pickle.load(f)  # our own file, written below, next to the store
            if saved.get("version") == VERSION:
                self.stories, self.pairs = saved["stories"], saved["pairs"]
        except FileNotFoundError:
            pass
        except Exception as e:  # a damaged index is only lost work: compare from scratch
            logger.info("story index %s not used: %s", self.path, e)

    def _save(self, changed: bool) -> None:
        if self.path is None or not changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            with tmp.open("wb") as f:
                data = {"version": VERSION, "stories": self.stories, "pairs": self.pairs}
                pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError as e:
            logger.warning("cannot keep the story index in %s: %s", self.path, e)


def story_groups(items: Sequence[Item], folder: Path | None) -> tuple[list[list[int]], DedupeStats]:
    """Items grouped by story through the index kept in `folder` (see StoryIndex)."""
    return StoryIndex(folder).groups(items)
