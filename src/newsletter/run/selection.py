"""Which stories a digest carries: a fair share for every feed, newest first within each.

Taking the newest N stories of all feeds lets one busy feed, or a feed without dates (its
stories count as published when first seen, so "now"), fill the whole digest. Instead the
feeds take turns: every round each feed gives its newest story not yet taken, dated
stories of the round before undated ones, until the digest is full. A feed with few
stories leaves its places to the others, so the shares stay fair without a fixed quota;
`digest.max_per_feed` caps a feed further when set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from newsletter.model import Entry, Item

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def item_rank(item: Item) -> tuple[bool, float]:
    """Sort key, larger first: dated before undated, then newer before older, to the
    microsecond (the store's order: seconds as a float tie for dates far off)."""
    when = item.published or item.first_seen
    if when is None:
        return (False, float("-inf"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (item.published is not None, (when - _EPOCH) // _MICROSECOND)


def fair_share(
    things: Sequence[T],
    limit: int | None,
    per_feed: int = 0,
    item_of: Callable[[T], Item] = lambda t: t,  # type: ignore[assignment,return-value]
) -> list[T]:
    """At most `limit` of `things` (None: all), taken in turns across feeds; each feed
    gives at most `per_feed` (0: no cap). Returned in the order taken: round by round,
    each round's picks dated-and-newest first."""
    feeds: dict[str, list[T]] = {}
    for thing in things:
        feeds.setdefault(item_of(thing).feed_url, []).append(thing)
    queues = []
    for url, own in feeds.items():
        own.sort(key=lambda t: (item_rank(item_of(t)), item_of(t).key), reverse=True)
        queues.append((url, own[:per_feed] if per_feed > 0 else own))
    chosen: list[T] = []
    depth = max((len(q) for _, q in queues), default=0)
    for round_ in range(depth):
        picks = [q[round_] for _, q in queues if round_ < len(q)]
        picks.sort(key=lambda t: (item_rank(item_of(t)), item_of(t).feed_url), reverse=True)
        chosen.extend(picks)
        if limit is not None and len(chosen) >= limit:
            return chosen[:limit]
    return chosen


def fair_entries(entries: Sequence[Entry], limit: int | None, per_feed: int = 0) -> list[Entry]:
    """`fair_share` of merged stories, each counted for the feed of the version kept."""
    return fair_share(entries, limit, per_feed, item_of=lambda e: e.item)
