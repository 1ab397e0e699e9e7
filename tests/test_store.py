import sqlite3
from datetime import UTC, datetime

import pytest

from newsletter.errors import StoreError
from newsletter.model import FeedResult, Item
from newsletter.store import Store
from newsletter.store.schema import MIGRATIONS


def item(
    key: str, text: str = "Body.", published: datetime | None = None, feed: str = "f1"
) -> Item:
    return Item(
        key=key,
        feed_url=feed,
        link=f"https://example.org/{key}",
        title=f"Title {key}",
        text=text,
        published=published,
        categories=("Tech", "Café"),
        content_hash=f"h-{key}-{text}",
    )


def test_schema_is_created_and_versioned(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    with Store(path) as store:
        assert store.schema_version == MIGRATIONS[-1][0]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 999")
    db.close()
    with pytest.raises(StoreError, match="upgrade newsletter"):
        Store(path)


def test_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path)


def test_upsert_keeps_first_seen_and_counts_changes(store, clock):
    assert store.upsert_items([item("a"), item("b")]) == (2, 0)
    first = {i.key: i.first_seen for i in store.items()}
    clock.advance(hours=2)
    assert store.upsert_items([item("a"), item("b", text="Edited.")]) == (0, 1)
    again = {i.key: i for i in store.items()}
    assert again["b"].text == "Edited."
    assert again["b"].first_seen == first["b"]
    assert again["a"].categories == ("Tech", "Café")


def test_items_newest_first_and_since(store):
    old = datetime(2026, 1, 1, tzinfo=UTC)
    new = datetime(2026, 1, 3, tzinfo=UTC)
    store.upsert_items([item("old", published=old), item("new", published=new)])
    assert [i.key for i in store.items()] == ["new", "old"]
    assert [i.key for i in store.items(since=datetime(2026, 1, 2, tzinfo=UTC))] == ["new"]
    assert store.items(feed_urls=["other"]) == []


def test_record_fetch_keeps_validators_across_304_and_counts_failures(store):
    store.record_fetch(FeedResult(url="u", title="T", status=200, etag='"e1"', last_modified="LM"))
    store.record_fetch(FeedResult(url="u", status=304, not_modified=True))
    state = store.feed_state("u")
    assert (state.etag, state.last_modified, state.not_modified_count) == ('"e1"', "LM", 1)
    store.record_fetch(FeedResult(url="u", status=500, error="HTTP 500"))
    store.record_fetch(FeedResult(url="u", status=500, error="HTTP 500"))
    state = store.feed_state("u")
    assert (state.failures, state.last_error, state.etag) == (2, "HTTP 500", '"e1"')
    store.record_fetch(FeedResult(url="u", status=200))
    assert store.feed_state("u").failures == 0


def test_summary_cache_roundtrip(store):
    store.put_summaries({"h1": "S1", "h2": "S2"}, "algo-50")
    assert store.cached_summaries(["h1", "h2", "h3"], "algo-50") == {"h1": "S1", "h2": "S2"}
    assert store.cached_summaries(["h1"], "other") == {}


def test_has_deliveries_tells_whether_a_send_started(store):
    from newsletter.audience import subscribers

    sub = subscribers.add(store, "digest", "ada@example.org", status="confirmed")
    digest_id = store.create_digest("digest", store.clock(), "out/1", subject="")
    assert not store.has_deliveries(digest_id)
    assert store.create_deliveries(digest_id) == 1
    assert store.has_deliveries(digest_id)
    assert [d.subscriber_id for d in store.deliveries(digest_id)] == [sub.id]


def test_dates_of_any_year_are_stored_and_read_back_in_order(store):
    """A feed's typo dates a story in the year 999 (or 5): it is stored with a four-digit
    year, reads back, and sorts before the others. A year written by an older version
    without the padding still reads."""
    from datetime import timedelta, timezone

    from newsletter.store.base import from_iso, to_iso

    dates = [
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(5, 6, 7, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, 0, 10, tzinfo=timezone(timedelta(hours=1))),  # before the first
    ]
    items = [
        Item(key=f"k{n}", feed_url="https://f.example/", link="", title="t", published=d)
        for n, d in enumerate(dates)
    ]
    store.upsert_items(items)
    read = {i.key: i.published for i in store.items()}
    assert read["k0"] == dates[0] and read["k1"] == dates[1] and read["k2"] == dates[2]
    assert read["k3"] == datetime(1, 1, 1, tzinfo=UTC)
    assert [i.key for i in store.items()] == ["k2", "k0", "k1", "k3"]
    assert to_iso(dates[0]) == "0999-01-02T03:04:05.000006Z"
    assert from_iso("999-01-02T03:04:05.000006Z") == dates[0]
