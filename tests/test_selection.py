"""A fair share per feed: no busy or undated feed fills a digest (newsletter.run.selection)."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsletter.config import Config, DigestConfig, FeedConfig, default_config
from newsletter.model import Item
from newsletter.run.digest import build, select_items
from newsletter.run.selection import fair_share
from newsletter.store import Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _item(feed: str, n: int, published: datetime | None) -> Item:
    return Item(
        key=f"{feed}-{n}",
        feed_url=f"https://{feed}.example/feed",
        link=f"https://{feed}.example/{n}",
        title=f"{feed} story {n}",
        published=published,
        first_seen=NOW,
        content_hash=f"{feed}-{n}",
    )


def _undated_and_dated() -> list[Item]:
    # one feed without dates (all "first seen now") and five dated feeds, a day old
    undated = [_item("nodates", n, None) for n in range(40)]
    dated = [
        _item(f"dated{f}", n, NOW - timedelta(days=1, hours=n)) for f in range(5) for n in range(4)
    ]
    return undated + dated


def test_feeds_take_turns_and_undated_items_never_take_every_place() -> None:
    chosen = fair_share(_undated_and_dated(), 12)
    per_feed = Counter(i.feed_url for i in chosen)
    assert len(chosen) == 12
    assert len(per_feed) == 6  # every feed is in
    assert per_feed["https://nodates.example/feed"] == 2  # its share, not 40
    # within a round, dated stories come before undated ones
    assert chosen[5].feed_url == "https://nodates.example/feed"
    assert all(i.published is not None for i in chosen[:5])


def test_a_feed_with_few_stories_leaves_its_places_to_the_others() -> None:
    items = [_item("busy", n, NOW - timedelta(hours=n)) for n in range(30)]
    items += [_item("quiet", 0, NOW - timedelta(days=3))]
    chosen = fair_share(items, 10)
    assert Counter(i.feed_url for i in chosen) == {
        "https://busy.example/feed": 9,
        "https://quiet.example/feed": 1,
    }
    newest = [i.key for i in chosen if i.feed_url.startswith("https://busy")]
    assert newest == [f"busy-{n}" for n in range(9)]  # newest first within the feed


def test_max_per_feed_caps_every_feed() -> None:
    chosen = fair_share(_undated_and_dated(), None, per_feed=3)
    assert max(Counter(i.feed_url for i in chosen).values()) == 3
    assert len(chosen) == 18


def test_store_keeps_the_newest_per_feed_dated_first(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite", clock=lambda: NOW)
    mixed = [_item("mixed", n, NOW - timedelta(hours=n)) for n in range(3)]
    mixed += [_item("mixed", 9, None)]
    store.upsert_items(_undated_and_dated() + mixed)
    rows = store.items(per_feed=2)
    per_feed = Counter(i.feed_url for i in rows)
    assert set(per_feed.values()) == {2} and len(per_feed) == 7
    assert {i.key for i in rows if "mixed" in i.key} == {"mixed-0", "mixed-1"}
    # the same choice made on keys and dates alone, then the chosen stories read whole
    heads = store.item_heads(per_feed=2)
    assert [(h.key, h.published) for _, h in heads] == [(i.key, i.published) for i in rows]
    assert all(h.text == "" for _, h in heads)
    ids = [row for row, _ in heads][::-3]
    assert store.items_by_id(ids) == [rows[k] for k in range(len(rows))][::-3]
    assert store.items_by_id([]) == [] and store.items_by_id([10**9]) == []


def _rdf_without_dates(n: int) -> str:
    items = "".join(
        f'<item rdf:about="https://undated.example/{k}"><title>Undated story number {k}</title>'
        f"<link>https://undated.example/{k}</link><description>Text {k} of a feed without "
        "any dates at all, about trains and timetables.</description></item>"
        for k in range(n)
    )
    return (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://undated.example/">'
        "<title>Undated</title><link>https://undated.example/</link><description>d</description>"
        f"</channel>{items}</rdf:RDF>"
    )


def _rss_with_dates(name: str, n: int) -> str:
    items = "".join(
        f"<item><title>{name} dated story {k}</title><link>https://{name}.example/{k}</link>"
        f"<guid>{name}-{k}</guid><pubDate>Mon, 0{k + 1} Feb 2026 08:00:00 GMT</pubDate>"
        f"<description>Story {k} of {name}, on gardens and weather.</description></item>"
        for k in range(n)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://{name}.example/</link><description>d</description>{items}"
        "</channel></rss>"
    )


def test_a_feed_without_dates_does_not_fill_a_built_digest(tmp_path: Path) -> None:
    feeds = {"undated.rdf": _rdf_without_dates(30)}
    feeds |= {f"{name}.xml": _rss_with_dates(name, 3) for name in ("alpha", "beta", "gamma")}
    for name, body in feeds.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    config = default_config(tmp_path)
    config = dataclasses.replace(
        config,
        feeds=tuple(FeedConfig(url=str(tmp_path / name)) for name in feeds),
        digest=DigestConfig(max_items=12),
    )
    store = Store(config.store_path)
    _, result = build(config, store)
    assert result is not None and result.plan is not None
    per_feed = Counter(e.item.feed_url for e in result.plan.digest.entries)
    assert len(per_feed) == 4
    assert per_feed[str(tmp_path / "undated.rdf")] == 3  # 12 places, four feeds: 3 each
    # candidates for merging: twice the limit, still shared out fairly
    candidates = Counter(i.feed_url for i in select_items(config, store, max_items=12))
    assert candidates[str(tmp_path / "undated.rdf")] == 24 - 9


def _vm_steps(store: Store, work: Callable[[], object]) -> int:
    """SQLite virtual-machine steps (in thousands) that `work` takes."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.db.set_progress_handler(count, 1000)
    try:
        work()
    finally:
        store.db.set_progress_handler(None, 1000)
    return steps


def test_choosing_stories_costs_the_same_however_many_digests_went_out(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite", clock=lambda: NOW)
    items = [_item(f"f{f}", n, NOW - timedelta(hours=n)) for f in range(20) for n in range(150)]
    store.upsert_items(items)
    ids = [row for row, _ in store.item_heads()]

    def send_digests(count: int, first: int) -> None:
        for d in range(first, first + count):
            carried = [(i, "h") for i in ids[d * 20 % len(ids) :][:20]]
            digest = store.create_digest("daily", NOW, f"d{d}", "s", carried)
            store.mark_digest_sent(digest)

    def choose() -> object:  # every item is read, and looked up in what was sent
        return store.item_heads(exclude_sent_to_list="daily")

    send_digests(5, 0)
    few = _vm_steps(store, choose)
    send_digests(145, 5)  # a digest a day for five months: every item sent once
    many = _vm_steps(store, choose)
    assert store.item_heads(exclude_sent_to_list="daily") == []
    # each item's sent digests are looked up, not searched for among all of them
    assert many < few * 2, (few, many)


def test_a_build_that_brought_nothing_asks_as_little_of_a_year_old_store(tmp_path: Path) -> None:
    clock = [NOW]
    store = Store(tmp_path / "s.sqlite", clock=lambda: clock[0])
    urls = [f"https://f{f}.example/feed" for f in range(20)]

    def stored_on(days_ago: int) -> None:  # every feed's stories of that day
        clock[0] = NOW - timedelta(days=days_ago)
        store.upsert_items(
            [_item(f"f{f}", days_ago * 10 + n, clock[0]) for f in range(20) for n in range(5)]
        )

    for days_ago in range(30, 0, -1):
        stored_on(days_ago)
    built = NOW - timedelta(hours=12)  # the last digest, after the newest story

    def changed() -> bool:
        return store.items_changed_since(urls, built)

    month = _vm_steps(store, changed)
    for days_ago in range(365, 30, -1):
        stored_on(days_ago)
    year = _vm_steps(store, changed)
    assert not changed()
    # a seek per feed, not a read of every item the feeds ever had (it was 18k, then 219k)
    assert year <= month + 2, (month, year)

    clock[0] = built  # an edit at the very time the digest was built counts
    store.upsert_items([dataclasses.replace(_item("f3", 10, NOW), content_hash="edited")])
    assert changed() and store.items_changed_since(urls[3:4], built)
    assert not store.items_changed_since(urls[4:], built)


def _config_for(
    tmp_path: Path, feeds: int, max_items: int, max_per_feed: int = 0, prefix: str = "f"
) -> Config:
    return dataclasses.replace(
        default_config(tmp_path),
        feeds=tuple(FeedConfig(url=f"https://{prefix}{f}.example/feed") for f in range(feeds)),
        digest=DigestConfig(max_items=max_items, max_per_feed=max_per_feed),
    )


def test_choosing_stories_reads_what_it_takes_not_the_years_kept(tmp_path: Path) -> None:
    config = _config_for(tmp_path, 20, max_items=30)
    store = Store(tmp_path / "s.sqlite", clock=lambda: NOW)
    store.upsert_items(
        [_item(f"f{f}", n, NOW - timedelta(hours=n)) for f in range(20) for n in range(30)]
    )
    recent = _vm_steps(store, lambda: select_items(config, store))
    chosen = select_items(config, store)
    # two years of older stories that never made it into a digest
    older = [
        _item(f"f{f}", n, NOW - timedelta(hours=n)) for f in range(20) for n in range(30, 1500)
    ]
    store.upsert_items(older)
    kept = _vm_steps(store, lambda: select_items(config, store))
    assert select_items(config, store) == chosen
    assert kept < recent * 2, (recent, kept)


def _random_feeds(rng: random.Random, store: Store, prefix: str, lst: str) -> int:
    """A few feeds of random sizes and dates (some undated), some stories already sent."""
    feeds = rng.randint(1, 12)
    items = []
    for f in range(feeds):
        for n in range(rng.choice([0, 1, 2, 3, 5, 8, 30, 80])):
            when = None if rng.random() < 0.2 else NOW - timedelta(minutes=rng.randint(0, 3) * 30)
            items.append(_item(f"{prefix}{f}", n, when))
    store.upsert_items(items)
    heads = store.item_heads(feed_urls=sorted({i.feed_url for i in items}))
    for d in range(rng.randint(0, 3)):
        carried = [(row, "h") for row, _ in rng.sample(heads, min(len(heads), rng.randint(0, 9)))]
        store.mark_digest_sent(store.create_digest(lst, NOW, f"{prefix}{d}", "s", carried))
    return feeds


def test_choosing_stories_a_few_per_feed_at_a_time_chooses_as_reading_them_all(
    store: Store, tmp_path: Path
) -> None:
    rng = random.Random(5)
    for case in range(40):
        prefix = f"c{case}f"
        config = _config_for(tmp_path, 1, 0, prefix=prefix)
        lst = config.list(None)
        feeds = _random_feeds(rng, store, prefix, lst.name)
        max_items, max_per_feed = rng.choice([1, 2, 5, 12, 40, 0]), rng.choice([0, 0, 1, 3])
        config = _config_for(tmp_path, feeds, max_items, max_per_feed, prefix)
        wanted = max_items * 2 if max_items else None
        everything = store.item_heads(
            feed_urls=[f.url for f in config.feeds], exclude_sent_to_list=lst.name
        )
        picked = {row for row, _ in fair_share(everything, wanted, max_per_feed, lambda c: c[1])}
        expected = [item.key for row, item in everything if row in picked]
        assert [i.key for i in select_items(config, store)] == expected, case


def test_stories_a_microsecond_apart_keep_their_order_however_far_off(tmp_path: Path) -> None:
    """Seconds as a float tie for dates centuries away (a feed's typo): the rank is exact,
    so the store's newest-first order and the fair share agree on which story is newer."""
    far = datetime(9000, 1, 1, tzinfo=UTC)
    newer = dataclasses.replace(_item("a", 1, far + timedelta(microseconds=1)), key="a-1")
    older = dataclasses.replace(_item("a", 2, far), key="a-2")
    assert [i.key for i in fair_share([older, newer], 1)] == ["a-1"]
    store = Store(tmp_path / "s.sqlite", clock=lambda: NOW)
    store.upsert_items([older, newer, _item("b", 1, NOW)])
    config = _config_for(tmp_path, 0, max_items=1)
    config = dataclasses.replace(
        config, feeds=tuple(FeedConfig(url=f"https://{n}.example/feed") for n in "ab")
    )
    assert [i.key for i in select_items(config, store)] == ["a-1", "b-1"]


def _plans(store: Store, mentioning: str, work: Callable[[], object]) -> list[str]:
    """PostgreSQL's plans of the statements `work` sent that mention `mentioning`."""
    statements: list[tuple[str, dict[str, object]]] = []
    execute = store.db.execute

    def capture(sql: str, params: object = None) -> object:
        if mentioning in sql:
            statements.append((sql, dict(params or {})))  # type: ignore[call-overload]
        return execute(sql, params)

    store.db.execute = capture  # type: ignore[method-assign]
    try:
        work()
    finally:
        store.db.execute = execute  # type: ignore[method-assign]
    return [
        "\n".join(str(r[0]) for r in store.db.execute("EXPLAIN " + sql, params))
        for sql, params in statements
    ]


def _sent_all_but_the_newest(store: Store) -> None:
    """Five feeds of 40 stories, each feed's newest unsent, the rest sent to "main"."""
    items = [_item(f"f{f}", n, NOW - timedelta(hours=n)) for f in range(5) for n in range(40)]
    store.upsert_items(items)
    sent = [(row, "h") for row, item in store.item_heads() if not item.key.endswith("-0")]
    store.mark_digest_sent(store.create_digest("main", NOW, "d", "s", sent))


def test_postgres_looks_up_what_was_sent_item_by_item_even_before_statistics(
    pg_store_url: str,
) -> None:
    """A store just filled (or copied from SQLite) has no planner statistics yet: the
    lookup of an item's digests must still go along digest_items_item, not become a scan
    of every sent row for every item (37 s for 500 feeds of sent stories)."""
    store = Store(pg_store_url, clock=lambda: NOW)
    _sent_all_but_the_newest(store)
    found = {}

    def choose() -> None:
        found["heads"] = store.item_heads(exclude_sent_to_list="main", per_feed=10, enough=5)
        found["unsent"] = store.item_heads(exclude_sent_to_list="main")  # every one, no limit

    plans = _plans(store, "digest_items", choose)
    assert sorted(item.key for _, item in found["heads"]) == [f"f{f}-0" for f in range(5)]
    assert sorted(item.key for _, item in found["unsent"]) == [f"f{f}-0" for f in range(5)]
    assert len(plans) >= 2
    for plan in plans:
        # a subquery run item by item along the index, never a join the planner may
        # choose to run as a scan of all that was sent for every item
        assert "digest_items_item" in plan and "Anti Join" not in plan, plan
    store.close()


def test_postgres_adopts_feeds_looking_up_what_was_sent_item_by_item(pg_store_url: str) -> None:
    """Taking feeds on holds back their stories not yet sent: the same lookup, the same
    plan, even before the store has statistics."""
    store = Store(pg_store_url, clock=lambda: NOW)
    _sent_all_but_the_newest(store)
    urls = [f"https://f{f}.example/feed" for f in range(5)]
    adopted = {}

    def adopt() -> None:
        adopted["main"] = store.adopt_feeds("main", urls, "none", hold_back="everything")

    [plan] = _plans(store, "digest_items", adopt)
    assert "digest_items_item" in plan and "Anti Join" not in plan, plan
    held = store.item_heads(exclude_sent_to_list="main")
    assert adopted["main"].baseline_digest_id is not None and held == []
    store.close()


def test_postgres_asks_whether_an_item_changed_feed_by_feed_even_before_statistics(
    pg_store_url: str,
) -> None:
    """Asked of every feed at once, a store not yet analyzed was read whole for a build
    whose feeds brought nothing (the planner bet on finding a change early)."""
    store = Store(pg_store_url, clock=lambda: NOW - timedelta(days=1))
    store.upsert_items(
        [_item(f"f{f}", n, NOW - timedelta(hours=n)) for f in range(20) for n in range(200)]
    )
    urls = [f"https://f{f}.example/feed" for f in range(20)]
    answers = []
    [plan] = _plans(store, "items", lambda: answers.append(store.items_changed_since(urls, NOW)))
    assert answers == [False]
    assert store.items_changed_since(urls, NOW - timedelta(days=1))
    assert "items_feed_updated" in plan and "Seq Scan on items" not in plan, plan
    store.close()
