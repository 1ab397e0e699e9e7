"""Does a build cost the same after a store has kept years of items and digests?

A store is filled as a daily list would fill it: F feeds publishing P stories a day each,
and each day the digest a build would choose (60 stories), sent. At each age (a month of
history, then more) the store work of a build with news is timed, as the product does it:

  choose     `select_items`: the digest's candidates (a fair share of the unsent newest)
  known      `known_entries` for every feed, as ingest asks when a feed changed
  vocabulary `item_texts`: the newest texts the theme model reads
  unchanged  what a build whose feeds all answered 304 reads: each feed's fetch state,
             then whether the list's unsent digest is still up to date

Prints milliseconds per step and the ratio to the first (a month old) store; a build costs
what changed when the ratios stay near 1 while the store grows.

    python benchmarks/history.py                       # 50 feeds, 5 a day, up to a year
    python benchmarks/history.py --feeds 100 --per-day 10 --months 1 6 24
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from newsletter.config import Config, DigestConfig, FeedConfig, default_config  # noqa: E402
from newsletter.model import Item  # noqa: E402
from newsletter.run.digest import (  # noqa: E402
    VOCABULARY_SIZE,
    select_items,
    up_to_date_digest,
)
from newsletter.store import Store  # noqa: E402

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
TEXT = "The council met on {day} and agreed item {n} of the plan for feed {feed}. " * 4


def _item(feed: int, day: int, n: int) -> Item:
    published = NOW - timedelta(days=day, hours=n)
    return Item(
        key=f"feed{feed}-day{day}-{n}",
        feed_url=f"https://feed{feed}.example/rss",
        link=f"https://feed{feed}.example/{day}/{n}",
        title=f"Story {n} of day {day} from feed {feed}",
        text=TEXT.format(day=day, n=n, feed=feed),
        published=published,
        first_seen=published,
        content_hash=f"h{feed}-{day}-{n}",
        entry_hash=f"e{feed}-{day}-{n}".ljust(32, "0"),
    )


def _fill(store: Store, config: Config, feeds: int, per_day: int, days: int) -> None:
    """`days` of history, oldest first: each day's stories, then that day's digest of the
    stories a build would choose (`select_items`), sent."""
    for day in range(days - 1, -1, -1):
        items = [_item(f, day, n) for f in range(feeds) for n in range(per_day)]
        store.upsert_items(items)
        store.clock = lambda day=day: NOW - timedelta(days=day)
        chosen = select_items(config, store, "daily")[: config.digest.max_items]
        ids = store.item_ids(chosen)
        digest = store.create_digest("daily", NOW, "", "s", [(i, "h") for i in ids.values()])
        store.mark_digest_sent(digest)
    store.clock = lambda: NOW
    # today's digest, built and not yet sent: what a build with nothing new shows again
    chosen = select_items(config, store, "daily")[: config.digest.max_items]
    carried = [(i, "h") for i in store.item_ids(chosen).values()]
    store.create_digest("daily", NOW + timedelta(minutes=1), "today", "s", carried)
    config.resolve("today").mkdir()
    (config.resolve("today") / "digest.html").write_text("<p>today</p>")


def _measure(store: Store, config: Config, repeat: int) -> dict[str, float]:
    """Milliseconds of each step of a build with news that reads the store."""
    urls = [f.url for f in config.feeds]
    steps: dict[str, Callable[[], object]] = {
        "choose": lambda: select_items(config, store, "daily"),
        "known": lambda: [store.known_entries(u, 100) for u in urls],
        "vocabulary": lambda: store.item_texts(VOCABULARY_SIZE, 1000),
        "unchanged": lambda: ([store.feed_state(u) for u in urls], _up_to_date(config, store)),
    }
    return {name: _ms(step, repeat) for name, step in steps.items()}


def _up_to_date(config: Config, store: Store) -> None:
    if up_to_date_digest(config, store, "daily") is None:
        raise SystemExit("today's digest should be up to date: the step measures nothing")


def _ms(step: Callable[[], object], repeat: int) -> float:
    step()  # once first: the page cache and Python's first calls are not the store's age
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--per-day", type=int, default=5, help="stories per feed per day")
    parser.add_argument(
        "--months", type=float, nargs="+", default=[1, 3, 12], help="the first is the base"
    )
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)

    rows = []
    for months in args.months:
        with tempfile.TemporaryDirectory() as folder:
            config = dataclasses.replace(
                default_config(Path(folder)),
                feeds=tuple(
                    FeedConfig(url=f"https://feed{f}.example/rss") for f in range(args.feeds)
                ),
                digest=DigestConfig(max_items=60),
            )
            config = dataclasses.replace(
                config, lists=(dataclasses.replace(config.lists[0], name="daily"),)
            )
            store = Store(Path(folder) / "store.sqlite", clock=lambda: NOW)
            _fill(store, config, args.feeds, args.per_day, round(months * 30.4))
            items = store.db.execute("SELECT count(*) FROM items").fetchone()[0]
            digests = store.db.execute("SELECT count(*) FROM digests").fetchone()[0]
            rows.append((months, items, digests, _measure(store, config, args.repeat)))
            store.close()

    base = rows[0][3]
    print(
        f"{args.feeds} feeds, {args.per_day} stories a day each, one sent digest a day "
        f"(medians of {args.repeat})\n"
    )
    names = list(base)
    print("| history | items | digests | " + " | ".join(f"{n} ms (x)" for n in names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for months, items, digests, times in rows:
        cells = " | ".join(f"{times[n]:.1f} ({times[n] / base[n]:.2f})" for n in names)
        label = f"{months:g} months"
        print(f"| {label} | {items:,} | {digests:,} | {cells} |")
    worst = max(times[n] / base[n] for _, _, _, times in rows for n in names)
    print(f"\nratios: history worst step x{worst:.2f} of the {args.months[0]:g}-month store")


if __name__ == "__main__":
    main()
