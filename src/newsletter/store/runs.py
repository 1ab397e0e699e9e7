"""What `newsletter run` remembers per list: when it started, which feeds it took on (with
the baseline digests that hold back their backlog), and unfinished digests to resume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from newsletter.store.base import from_iso, in_marks, to_iso
from newsletter.store.deliveries import DigestRecord
from newsletter.store.dialect import Connection

# a digest "counts" for a list once sending started: the rule `items(exclude_sent_to_list=)`
# uses, repeated here so baselines and history agree with it
_COUNTED = (
    "(d.sent_at IS NOT NULL OR EXISTS (SELECT 1 FROM deliveries dl WHERE dl.digest_id = d.id))"
)


@dataclass(frozen=True)
class ListState:
    """When `newsletter run` first handled a list, and when a due run last found too
    little to send."""

    list_name: str
    started_at: datetime
    checked_at: datetime | None = None


@dataclass(frozen=True)
class Adoption:
    """Feeds a list took on in one go, and the baseline digest holding back their backlog."""

    feeds: tuple[str, ...] = ()
    policy: str = ""
    held_back: int = 0  # items recorded as seen, never to be sent to this list
    baseline_digest_id: int | None = None


class RunsMixin:
    db: Connection

    # -- list state ------------------------------------------------------------------------
    def list_state(self, list_name: str) -> ListState | None:
        """The run state of a list, or None before its first run."""
        row = self.db.execute(
            "SELECT * FROM list_state WHERE list_name = :list", {"list": list_name}
        ).fetchone()
        if row is None:
            return None
        return ListState(
            row["list_name"],
            from_iso(row["started_at"]),  # type: ignore[arg-type]
            from_iso(row["checked_at"]),
        )

    def start_list(self, list_name: str) -> ListState:
        """The list's run state, created (started now) on its first run."""
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                """INSERT INTO list_state (list_name, started_at) VALUES (:list, :now)
                   ON CONFLICT (list_name) DO NOTHING""",
                {"list": list_name, "now": self.now()},  # type: ignore[attr-defined]
            )
        state = self.list_state(list_name)
        assert state is not None
        return state

    def mark_list_checked(self, list_name: str) -> None:
        """A due run found too little to send: the list waits for its next slot."""
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                "UPDATE list_state SET checked_at = :now WHERE list_name = :list",
                {"list": list_name, "now": self.now()},  # type: ignore[attr-defined]
            )

    # -- digests -----------------------------------------------------------------------------
    def last_digest_sent_at(self, list_name: str) -> datetime | None:
        """When the list's last real digest (not a baseline) finished sending, or None."""
        row = self.db.execute(
            """SELECT MAX(d.sent_at) FROM digests d
               WHERE d.list_name = :list AND d.sent_at IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM list_feeds lf WHERE lf.baseline_digest_id = d.id)""",
            {"list": list_name},
        ).fetchone()
        return from_iso(row[0])

    def unfinished_digests(self, list_name: str) -> list[DigestRecord]:
        """Digests whose sending started and never finished (deliveries written, not marked
        sent: pending rows, or rows caught in flight), oldest first."""
        rows = self.db.execute(
            """SELECT d.id FROM digests d
               WHERE d.list_name = :list AND d.sent_at IS NULL
                 AND EXISTS (SELECT 1 FROM deliveries dl WHERE dl.digest_id = d.id)
               ORDER BY d.built_at, d.id""",
            {"list": list_name},
        )
        records = [self.get_digest(r["id"]) for r in rows.fetchall()]  # type: ignore[attr-defined]
        return [r for r in records if r is not None]

    def is_baseline(self, digest_id: int) -> bool:
        """True for a baseline digest (backlog held back, nothing sent)."""
        row = self.db.execute(
            "SELECT 1 FROM list_feeds WHERE baseline_digest_id = :d LIMIT 1", {"d": digest_id}
        ).fetchone()
        return row is not None

    # -- feeds a list has taken on -----------------------------------------------------------
    def adopted_feeds(self, list_name: str) -> set[str]:
        """URLs of the feeds the list has taken on."""
        rows = self.db.execute(
            "SELECT feed_url FROM list_feeds WHERE list_name = :list", {"list": list_name}
        )
        return {r["feed_url"] for r in rows}

    def feeds_with_history(self, list_name: str, feed_urls: Sequence[str]) -> set[str]:
        """Those of `feed_urls` with an item in a digest of the list that counts (sent or
        sending): the list was already reading them before `newsletter run` took over."""
        params: dict[str, object] = {"list": list_name}
        marks = in_marks("f", feed_urls, params)
        rows = self.db.execute(
            f"""SELECT DISTINCT i.feed_url FROM items i
                JOIN digest_items di ON di.item_id = i.id
                JOIN digests d ON d.id = di.digest_id
                WHERE d.list_name = :list AND i.feed_url IN ({marks}) AND {_COUNTED}""",
            params,
        )
        return {r["feed_url"] for r in rows}

    def adopt_feeds(
        self,
        list_name: str,
        feed_urls: Sequence[str],
        policy: str,
        hold_back: str = "nothing",
        older_than: datetime | None = None,
    ) -> Adoption:
        """Take feeds on for a list, holding back part of what they already have.

        `hold_back` is "nothing", "everything" (every stored item of those feeds), or
        "older" (items published, else first seen, before `older_than`). The held-back
        items go into one baseline digest, marked sent with no deliveries, in the same
        transaction as the adoption, so a crash leaves either both or neither.
        """
        if not feed_urls:
            return Adoption(policy=policy)
        now = self.now()  # type: ignore[attr-defined]
        params: dict[str, object] = {"list": list_name}
        marks = in_marks("f", feed_urls, params)
        where = [f"i.feed_url IN ({marks})"]
        if hold_back == "older":
            params["before"] = to_iso(older_than)
            where.append("COALESCE(i.published, i.first_seen) < :before")
        elif hold_back != "everything":
            where.append("1 = 0")
        with self.transaction():  # type: ignore[attr-defined]
            rows = self.db.execute(
                f"""SELECT i.id, i.content_hash FROM items i WHERE {" AND ".join(where)}
                    AND NOT EXISTS (SELECT 1 FROM digest_items di
                        JOIN digests d ON d.id = di.digest_id
                        WHERE di.item_id = i.id AND d.list_name = :list AND {_COUNTED}
                        {self.db.fence})
                    ORDER BY i.id""",
                params,
            ).fetchall()
            baseline = None
            if rows:
                baseline = self.create_digest(  # type: ignore[attr-defined]
                    list_name,
                    self.clock(),  # type: ignore[attr-defined]
                    "",
                    f"baseline: {len(rows)} earlier stories held back (backlog = {policy}); "
                    "nothing was sent",
                    [(r["id"], r["content_hash"]) for r in rows],
                )
                self.db.execute(
                    "UPDATE digests SET sent_at = :now WHERE id = :d", {"d": baseline, "now": now}
                )
            self.db.executemany(
                """INSERT INTO list_feeds (list_name, feed_url, adopted_at, backlog,
                     baseline_digest_id)
                   VALUES (:list, :url, :now, :policy, :baseline)
                   ON CONFLICT (list_name, feed_url) DO NOTHING""",
                [
                    {
                        "list": list_name,
                        "url": url,
                        "now": now,
                        "policy": policy,
                        "baseline": baseline,
                    }
                    for url in feed_urls
                ],
            )
        return Adoption(tuple(feed_urls), policy, len(rows), baseline)
