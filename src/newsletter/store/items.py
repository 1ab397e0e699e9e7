"""Feeds, items and the summary cache."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsletter.model import FeedResult, Item
from newsletter.store.base import from_iso, in_marks, to_iso
from newsletter.store.dialect import Connection


@dataclass(frozen=True)
class FeedState:
    """What the store remembers about one feed."""

    url: str
    title: str = ""
    etag: str = ""
    last_modified: str = ""
    last_status: int | None = None
    last_error: str = ""
    fetched_at: datetime | None = None
    last_success_at: datetime | None = None
    failures: int = 0
    not_modified_count: int = 0
    next_fetch_at: datetime | None = None  # not requested before this (still fresh)
    next_fetch_reason: str = ""  # what said so ("Cache-Control max-age=1800", "RSS ttl 60")
    hints: str = ""  # the feed's own hints as JSON ({"ttl": 60, "skip_hours": [...], ...})
    last_decision: str = ""  # what the last run did with it, and why
    made_with: str = ""  # the settings its stored items were made with (ingest.feeds)


# the row id and every column `_row_to_item` reads but the HTML and the text
_ITEM_COLUMNS = (
    "id, key, feed_url, link, title, author, published, categories, image, image_width, "
    "image_height, language, source, content_hash, first_seen, entry_hash"
)


def _row_to_item(row: sqlite3.Row) -> Item:
    return Item(
        key=row["key"],
        feed_url=row["feed_url"],
        link=row["link"],
        title=row["title"],
        author=row["author"],
        published=from_iso(row["published"]),
        categories=tuple(json.loads(row["categories"])),
        image=row["image"],
        image_width=row["image_width"],
        image_height=row["image_height"],
        html=row["html"],
        text=row["text"],
        language=row["language"],
        source=row["source"],
        content_hash=row["content_hash"],
        first_seen=from_iso(row["first_seen"]),
        entry_hash=row["entry_hash"],
    )


# ties break on the feed and the story, not on the row id: ids follow the order in which
# responses arrived, which must not reorder a digest
_NEWEST_FIRST = "published IS NULL, COALESCE(published, first_seen) DESC, feed_url DESC, key DESC"
# the same within one feed: the order of the items_feed_recency index
_FEED_NEWEST_FIRST = "published IS NULL, COALESCE(published, first_seen) DESC, key DESC"


def _items_query(
    columns: str,
    feed_urls: Sequence[str] | None,
    since: datetime | None,
    exclude_sent_to_list: str | None,
    resend_edited: bool,
    limit: int | None,
    one_feed: str = "",
    fence: str = "",
) -> tuple[str, dict[str, object]]:
    """The SQL (and its parameters) of `ItemsMixin.items`, selecting `columns` of `items i`;
    with `one_feed` (an SQL expression), of that feed only, read newest first along the
    items_feed_recency index, so a LIMIT stops the reading. `fence` (the connection's) ends
    the subquery that looks up an item's digests: flattened into a join, PostgreSQL planned
    it without statistics (a store just filled or copied) as a scan of every sent row for
    every item, 37 s for 500 feeds of sent stories."""
    where = ["1 = 1"]
    params: dict[str, object] = {}
    if one_feed:
        where.append(f"i.feed_url = {one_feed}")
    elif feed_urls is not None:
        where.append(f"i.feed_url IN ({in_marks('f', feed_urls, params)})")
    if since is not None:
        params["since"] = to_iso(since)
        where.append("COALESCE(i.published, i.first_seen) >= :since")
    if exclude_sent_to_list is not None:
        params["list"] = exclude_sent_to_list
        edited = "AND di.content_hash = i.content_hash" if resend_edited else ""
        # a digest counts once sending has started: built-but-unsent previews consume nothing
        where.append(
            f"""NOT EXISTS (SELECT 1 FROM digest_items di JOIN digests d ON d.id = di.digest_id
                 WHERE di.item_id = i.id AND d.list_name = :list {edited}
                   AND (d.sent_at IS NOT NULL
                        OR EXISTS (SELECT 1 FROM deliveries dl WHERE dl.digest_id = d.id))
                 {fence})"""
        )
    order = _FEED_NEWEST_FIRST if one_feed else _NEWEST_FIRST
    sql = f"SELECT {columns} FROM items i WHERE {' AND '.join(where)} ORDER BY {order}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def _newest_first(rows: list[Any]) -> list[Any]:
    """Rows of several feeds in _NEWEST_FIRST order (ISO times sort as text, as in SQL)."""
    rows.sort(
        key=lambda r: (
            r["first_seen"] if r["published"] is None else r["published"],
            r["feed_url"],
            r["key"],
        )
    )
    rows.reverse()
    rows.sort(key=lambda r: r["published"] is None)  # stable: dated first, as they were
    return rows


class ItemsMixin:
    db: Connection

    # -- feeds ---------------------------------------------------------------------------
    def feed_state(self, url: str) -> FeedState:
        row = self.db.execute("SELECT * FROM feeds WHERE url = :url", {"url": url}).fetchone()
        if row is None:
            return FeedState(url=url)
        return FeedState(
            url=row["url"],
            title=row["title"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            last_status=row["last_status"],
            last_error=row["last_error"],
            fetched_at=from_iso(row["fetched_at"]),
            last_success_at=from_iso(row["last_success_at"]),
            failures=row["failures"],
            not_modified_count=row["not_modified_count"],
            next_fetch_at=from_iso(row["next_fetch_at"]),
            next_fetch_reason=row["next_fetch_reason"],
            hints=row["hints"],
            last_decision=row["last_decision"],
            made_with=row["made_with"],
        )

    def feed_states(self, urls: Iterable[str] | None = None) -> list[FeedState]:
        if urls is None:
            urls = [r[0] for r in self.db.execute("SELECT url FROM feeds ORDER BY url")]
        return [self.feed_state(u) for u in urls]

    def record_fetch(
        self,
        result: FeedResult,
        next_fetch: tuple[datetime | None, str] = (None, ""),
        hints: str | None = None,
        decision: str = "",
        made_with: str | None = None,
    ) -> None:
        """Remember the outcome of one fetch: validators on success, the reason on failure;
        when the feed may be requested next and why, its own hints (None: keep the stored
        ones), what this run decided and the settings its items are now made with (None:
        as before)."""
        now = self.now()  # type: ignore[attr-defined]
        params = {
            "url": result.url,
            "title": result.title,
            "etag": result.etag,
            "lm": result.last_modified,
            "status": result.status,
            "error": result.error,
            "now": now,
            "nm": 1 if result.not_modified else 0,
            "next_at": to_iso(next_fetch[0]),
            "next_reason": next_fetch[1],
            "hints": hints,
            "decision": decision,
            "made_with": made_with,
        }
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                "INSERT INTO feeds (url) VALUES (:url) ON CONFLICT (url) DO NOTHING", params
            )
            if result.source:  # the feed was read: with the record, so both or neither
                self._name_stories(result, made_with, now)
            self.db.execute(
                """UPDATE feeds SET next_fetch_at = :next_at, next_fetch_reason = :next_reason,
                     hints = COALESCE(:hints, hints), last_decision = :decision,
                     made_with = COALESCE(:made_with, made_with)
                   WHERE url = :url""",
                params,
            )
            if result.ok:
                self.db.execute(
                    """UPDATE feeds SET
                         title = CASE WHEN :title != '' THEN :title ELSE title END,
                         etag = CASE WHEN :nm = 1 THEN etag ELSE :etag END,
                         last_modified = CASE WHEN :nm = 1 THEN last_modified ELSE :lm END,
                         last_status = :status, last_error = '', fetched_at = :now,
                         last_success_at = :now, failures = 0,
                         not_modified_count = not_modified_count + :nm
                       WHERE url = :url""",
                    params,
                )
            else:
                self.db.execute(
                    """UPDATE feeds SET last_status = :status, last_error = :error,
                         fetched_at = :now, failures = failures + 1
                       WHERE url = :url""",
                    params,
                )

    def _name_stories(self, result: FeedResult, made_with: str | None, now: str) -> None:
        """Every stored story of a feed just read, the ones it no longer lists too, under
        the name it is shown under now, and in the config's language when its settings
        changed: only when they differ from what the feed's row says, so a read costs a
        look-up, not a pass over its stories."""
        stored = self.db.execute(
            "SELECT source, made_with FROM feeds WHERE url = :url", {"url": result.url}
        ).fetchone()
        params = {"f": result.url, "s": result.source, "l": result.language, "now": now}
        if stored["source"] != result.source:
            self.db.execute(
                "UPDATE items SET source = :s, updated_at = :now "
                "WHERE feed_url = :f AND source != :s",
                params,
            )
        if result.language and stored["made_with"] not in ("", made_with):
            self.db.execute(
                "UPDATE items SET language = :l, updated_at = :now "
                "WHERE feed_url = :f AND language != :l",
                params,
            )
        self.db.execute("UPDATE feeds SET source = :s WHERE url = :f", params)

    def record_skip(self, url: str, decision: str) -> None:
        """Remember that this run did not request a feed (still fresh), and why."""
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                "INSERT INTO feeds (url) VALUES (:url) ON CONFLICT (url) DO NOTHING", {"url": url}
            )
            self.db.execute(
                "UPDATE feeds SET last_decision = :d WHERE url = :url", {"url": url, "d": decision}
            )

    # -- items ---------------------------------------------------------------------------
    def upsert_items(
        self, items: Sequence[Item], seen_at: datetime | None = None
    ) -> tuple[int, int]:
        """Insert new items and update edited ones; returns (new, changed) counts.

        `first_seen` is kept from the first time an item was stored: `seen_at` (the start
        of the run that fetched it, the same for every feed of the run, so the order of
        undated stories does not depend on which response came first), else now.
        """
        now = self.now()  # type: ignore[attr-defined]
        first_seen = now if seen_at is None else to_iso(seen_at)
        new = changed = 0
        with self.transaction():  # type: ignore[attr-defined]
            for item in items:
                self.db.execute(
                    "INSERT INTO feeds (url) VALUES (:url) ON CONFLICT (url) DO NOTHING",
                    {"url": item.feed_url},
                )
                params = {
                    "feed_url": item.feed_url,
                    "key": item.key,
                    "link": item.link,
                    "title": item.title,
                    "author": item.author,
                    "published": to_iso(item.published),
                    "categories": json.dumps(list(item.categories), ensure_ascii=False),
                    "image": item.image,
                    "iw": item.image_width,
                    "ih": item.image_height,
                    "html": item.html,
                    "text": item.text,
                    "language": item.language,
                    "source": item.source,
                    "hash": item.content_hash,
                    "entry": item.entry_hash,
                    "now": now,
                    "first_seen": first_seen,
                }
                old = self.db.execute(
                    "SELECT content_hash, entry_hash, source, language FROM items "
                    "WHERE feed_url = :feed_url AND key = :key",
                    params,
                ).fetchone()
                if old is None:
                    self.db.execute(
                        """INSERT INTO items (feed_url, key, link, title, author, published,
                             categories, image, image_width, image_height, html, text, language,
                             source, content_hash, entry_hash, first_seen, updated_at)
                           VALUES (:feed_url, :key, :link, :title, :author, :published,
                             :categories, :image, :iw, :ih, :html, :text, :language, :source,
                             :hash, :entry, :first_seen, :now)""",
                        params,
                    )
                    new += 1
                elif old["content_hash"] != item.content_hash:
                    self.db.execute(
                        """UPDATE items SET link = :link, title = :title, author = :author,
                             published = :published, categories = :categories, image = :image,
                             image_width = :iw, image_height = :ih, html = :html, text = :text,
                             language = :language,
                             source = :source, content_hash = :hash, entry_hash = :entry,
                             updated_at = :now
                           WHERE feed_url = :feed_url AND key = :key""",
                        params,
                    )
                    changed += 1
                elif old["entry_hash"] != item.entry_hash:  # same text: skip it next time
                    # and the feed's name or language as they are now (renamed, or set in
                    # the config): not an edit, but a digest shows them, so it is a change
                    shown = (old["source"], old["language"]) != (item.source, item.language)
                    self.db.execute(
                        "UPDATE items SET entry_hash = :entry, source = :source, "
                        "language = :language"
                        + (", updated_at = :now" if shown else "")
                        + " WHERE feed_url = :feed_url AND key = :key",
                        params,
                    )
        return new, changed

    def known_entries(self, feed_url: str, newest: int) -> dict[str, str]:
        """Raw-entry hash -> key of a feed's `newest` stored items: entries to skip when it
        changes (a feed lists its newest; the years of items kept before are not read)."""
        rows = self.db.execute(
            "SELECT entry_hash, key FROM items WHERE feed_url = :u AND entry_hash != '' "
            f"ORDER BY {_FEED_NEWEST_FIRST} LIMIT :n",
            {"u": feed_url, "n": int(newest)},
        )
        return {r[0]: r[1] for r in rows}

    def items(
        self,
        feed_urls: Sequence[str] | None = None,
        since: datetime | None = None,
        exclude_sent_to_list: str | None = None,
        resend_edited: bool = False,
        limit: int | None = None,
        per_feed: int | None = None,
    ) -> list[Item]:
        """Stored items, newest first; items the feed dated before undated ones (an undated
        item's first-seen time says when we fetched it, not when it was news).

        `exclude_sent_to_list` leaves out items that a sent (or sending) digest of that list
        already carried; with `resend_edited`, an item edited since then is offered again.
        `per_feed` keeps each feed's newest that many, its dated items before its undated
        ones (an undated item counts as published when first seen, which is "now" for a
        feed without dates).
        """
        rows = self._item_rows(
            "i.*", feed_urls, since, exclude_sent_to_list, resend_edited, limit, per_feed
        )
        return [_row_to_item(r) for r in rows]

    def item_heads(
        self,
        feed_urls: Sequence[str] | None = None,
        since: datetime | None = None,
        exclude_sent_to_list: str | None = None,
        resend_edited: bool = False,
        per_feed: int | None = None,
        enough: int | None = None,
    ) -> list[tuple[int, Item]]:
        """What `items` gives, as (row id, item with only its key, feed and dates): enough
        to choose a digest's stories from without reading every story's text. With
        `enough`, fewer of each feed than `per_feed` when they give `enough` between them
        taking turns (see `_item_rows`)."""
        rows = self._item_rows(
            "i.id, i.key, i.feed_url, i.published, i.first_seen",
            feed_urls,
            since,
            exclude_sent_to_list,
            resend_edited,
            None,
            per_feed,
            enough,
        )
        return [
            (
                r["id"],
                Item(
                    key=r["key"],
                    feed_url=r["feed_url"],
                    link="",
                    title="",
                    published=from_iso(r["published"]),
                    first_seen=from_iso(r["first_seen"]),
                ),
            )
            for r in rows
        ]

    def _item_rows(
        self,
        columns: str,
        feed_urls: Sequence[str] | None,
        since: datetime | None,
        exclude_sent_to_list: str | None,
        resend_edited: bool,
        limit: int | None,
        per_feed: int | None,
        enough: int | None = None,
    ) -> list[Any]:
        """The rows `items` and `item_heads` read. With `per_feed`, each feed's newest that
        many at most, read along an index that stops there, so the cost follows what is
        taken, not the years of items the store has kept. With `enough` too, each feed's
        newest few first, then more of the feeds that had as many, until the feeds gave
        `enough` between them: as many rounds of taking one from each feed as that needs."""
        if not per_feed:
            sql, params = _items_query(
                columns,
                feed_urls,
                since,
                exclude_sent_to_list,
                resend_edited,
                limit,
                fence=self.db.fence,
            )
            return list(self.db.execute(sql, params))
        if feed_urls is None:
            feed_urls = [r[0] for r in self.db.execute("SELECT url FROM feeds ORDER BY url")]
        todo = list(dict.fromkeys(feed_urls))
        taken = per_feed if enough is None else min(per_feed, -(-enough // max(1, len(todo))))
        found: dict[str, list[Any]] = {}
        while todo:
            query = (columns, since, exclude_sent_to_list, resend_edited, taken)
            found.update(self._newest_of_each(todo, *query))
            todo = [url for url in todo if len(found[url]) >= taken]  # feeds that may have more
            given = sum(map(len, found.values()))
            if taken >= per_feed or (enough is not None and given >= enough):
                break
            taken = min(per_feed, taken * 4)
        rows = _newest_first([row for rows in found.values() for row in rows])
        return rows[:limit] if limit else rows

    def _newest_of_each(
        self,
        urls: Sequence[str],
        columns: str,
        since: datetime | None,
        exclude_sent_to_list: str | None,
        resend_edited: bool,
        taken: int,
    ) -> dict[str, list[Any]]:
        """Each feed's newest `taken` rows: a query per feed on SQLite (microseconds each),
        one statement for them all on PostgreSQL (where a round trip costs 0.35 ms)."""
        found: dict[str, list[Any]] = {url: [] for url in urls}
        one_feed = "u.feed" if self.db.dialect == "postgresql" else ":feed"
        sql, params = _items_query(
            columns,
            None,
            since,
            exclude_sent_to_list,
            resend_edited,
            taken,
            one_feed,
            self.db.fence,
        )
        if self.db.dialect == "postgresql":
            sql = (
                "SELECT h.* FROM unnest(CAST(:urls AS text[])) AS u(feed) "
                f"CROSS JOIN LATERAL ({sql}) AS h"
            )
            for row in self.db.execute(sql, {**params, "urls": list(urls)}):
                found[row["feed_url"]].append(row)
            return found
        for url in urls:
            found[url] = list(self.db.execute(sql, {**params, "feed": url}))
        return found

    def items_by_id(self, ids: Sequence[int], text_chars: int | None = None) -> list[Item]:
        """The items of these row ids, in the order given (missing ones left out). With
        `text_chars`, each text is read only that far and the HTML not at all: what a
        digest is planned from, in memory that does not grow with the articles' length."""
        columns = "*"
        if text_chars is not None:
            columns = f"{_ITEM_COLUMNS}, '' AS html, substr(text, 1, {int(text_chars)}) AS text"
        found: dict[int, Item] = {}
        for start in range(0, len(ids), 1000):
            params: dict[str, object] = {}
            marks = in_marks("i", ids[start : start + 1000], params)
            rows = self.db.execute(f"SELECT {columns} FROM items WHERE id IN ({marks})", params)
            found.update((r["id"], _row_to_item(r)) for r in rows)
        return [found[i] for i in ids if i in found]

    def item_texts(self, limit: int, chars: int) -> list[str]:
        """Title and the first `chars` characters of the text ("<title>\n<text>") of the
        newest stored items, what the theme model learns from, without reading the rest
        of each row."""
        rows = self.db.execute(
            "SELECT title, substr(text, 1, :c) AS text FROM items "
            "ORDER BY COALESCE(published, first_seen) DESC, feed_url DESC, key DESC LIMIT :n",
            {"n": int(limit), "c": int(chars)},
        )
        return [f"{r['title']}\n{r['text']}" for r in rows]

    def item_ids(self, items: Iterable[Item]) -> dict[tuple[str, str], int]:
        """(feed url, key) -> row id of each stored item among `items`."""
        ids: dict[tuple[str, str], int] = {}
        for item in items:
            row = self.db.execute(
                "SELECT id FROM items WHERE feed_url = :f AND key = :k",
                {"f": item.feed_url, "k": item.key},
            ).fetchone()
            if row is not None:
                ids[(item.feed_url, item.key)] = row["id"]
        return ids

    def items_changed_since(self, feed_urls: Sequence[str], since: datetime) -> bool:
        """Whether an item of these feeds was inserted or edited at or after `since`: a
        seek per feed along `items_feed_updated`, however many items the store has kept."""
        if self.db.dialect == "postgresql":
            # feed by feed: asked with IN (...) and LIMIT 1, a store with no planner
            # statistics yet (just filled, or copied) was scanned whole
            sql = (
                "SELECT 1 FROM unnest(CAST(:urls AS text[])) AS u(feed) WHERE EXISTS "
                "(SELECT 1 FROM items WHERE feed_url = u.feed AND updated_at >= :since) LIMIT 1"
            )
            params: dict[str, object] = {"urls": list(feed_urls), "since": to_iso(since)}
        else:
            params = {"since": to_iso(since)}
            marks = in_marks("f", feed_urls, params)
            sql = (
                f"SELECT 1 FROM items WHERE feed_url IN ({marks}) AND updated_at >= :since LIMIT 1"
            )
        return self.db.execute(sql, params).fetchone() is not None

    def count_items(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def recent_item_counts(self, since: datetime) -> dict[str, int]:
        """feed url -> items first seen or published since `since`."""
        rows = self.db.execute(
            """SELECT feed_url, COUNT(*) AS n FROM items
               WHERE COALESCE(published, first_seen) >= :since GROUP BY feed_url""",
            {"since": to_iso(since)},
        )
        return {r["feed_url"]: r["n"] for r in rows}

    # -- summary cache -------------------------------------------------------------------
    def cached_summaries(self, hashes: Iterable[str], settings: str) -> dict[str, str]:
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(hashes))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            params: dict[str, object] = {"s": settings}
            marks = in_marks("h", chunk, params)
            rows = self.db.execute(
                f"SELECT content_hash, summary FROM summaries "
                f"WHERE settings = :s AND content_hash IN ({marks})",
                params,
            )
            found.update({r["content_hash"]: r["summary"] for r in rows})
        return found

    def put_summaries(self, summaries: dict[str, str], settings: str) -> None:
        now = self.now()  # type: ignore[attr-defined]
        with self.transaction():  # type: ignore[attr-defined]
            self.db.executemany(
                """INSERT INTO summaries (content_hash, settings, summary, created_at)
                   VALUES (:h, :s, :summary, :now)
                   ON CONFLICT (content_hash, settings) DO UPDATE SET summary = :summary""",
                [{"h": h, "s": settings, "summary": s, "now": now} for h, s in summaries.items()],
            )
