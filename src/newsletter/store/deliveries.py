"""Digests, the items they carried, and per-subscriber delivery rows.

How a delivery row moves while it is sent (claims, leases, what a dead sender leaves) is
`newsletter.store.claims`. Nothing here holds a transaction across network I/O.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from newsletter.errors import StoreError
from newsletter.model import Delivery
from newsletter.store.base import from_iso, to_iso
from newsletter.store.dialect import Connection

DELIVERY_STATUSES = (
    "pending",
    "sending",  # claimed by a sender, its DATA not ended
    "data_sent",  # the final "." is being written or was: in doubt until the reply
    "sent",
    "failed",
    "skipped",  # the subscriber left before their turn (why in last_error)
    "uncertain",  # its sender died between the end of the DATA and the reply
    "dismissed",  # an uncertain row the operator settled (dismissed_at, dismiss_reason)
)


@dataclass(frozen=True)
class DigestRecord:
    """What the store remembers about one built digest."""

    id: int
    list_name: str
    built_at: datetime
    sent_at: datetime | None = None
    path: str = ""  # output folder holding digest.html / digest.txt / digest.json
    subject: str = ""
    item_count: int = 0  # feed items carried, merged duplicates included
    story_count: int | None = None  # stories shown (duplicates merged); None: built earlier
    basis: str = ""  # what it was built from (see run.digest.digest_basis); "": not known


@dataclass(frozen=True)
class PendingDelivery:
    """A delivery still to send, with what composing its message needs."""

    id: int
    subscriber_id: int
    email: str
    name: str
    attempts: int
    bounce_count: int = 0  # the subscriber's, so a success only resets it when needed
    link_key: str = field(default="", repr=False)  # what the subscriber's links carry


def row_to_digest(row: sqlite3.Row) -> DigestRecord:
    return DigestRecord(
        id=row["id"],
        list_name=row["list_name"],
        built_at=from_iso(row["built_at"]),  # type: ignore[arg-type]
        sent_at=from_iso(row["sent_at"]),
        path=row["path"],
        subject=row["subject"],
        item_count=row["item_count"],
        story_count=row["story_count"],
        basis=row["basis"],
    )


def _row_to_delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        digest_id=row["digest_id"],
        subscriber_id=row["subscriber_id"],
        email=row["email"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        message_id=row["message_id"],
        sent_at=from_iso(row["sent_at"]),
    )


def pending_from_row(r: sqlite3.Row) -> PendingDelivery:
    """A pending delivery from a row joining deliveries and subscribers."""
    return PendingDelivery(
        r["id"],
        r["subscriber_id"],
        r["email"],
        r["name"],
        r["attempts"],
        r["bounce_count"],
        r["link_key"],
    )


def check_status(status: str) -> None:
    if status not in DELIVERY_STATUSES:
        raise StoreError(
            f"unknown delivery status {status!r}; use one of: {', '.join(DELIVERY_STATUSES)}"
        )


class DeliveriesMixin:
    db: Connection

    # -- digests -------------------------------------------------------------------------
    def create_digest(
        self,
        list_name: str,
        built_at: datetime,
        path: str,
        subject: str,
        items: Iterable[tuple[int, str]] = (),
        stories: int | None = None,
        basis: str = "",
    ) -> int:
        """Record a built digest and the (item id, content hash) pairs it carries; its id.

        `stories` is how many stories it shows (default: one per item carried); `basis`
        what it was built from, so that a build with nothing new knows whether it is the
        digest it would build."""
        pairs = list(dict(items).items())  # one row per item id
        with self.transaction():  # type: ignore[attr-defined]
            row = self.db.execute(
                """INSERT INTO digests (list_name, built_at, path, subject, item_count,
                                        story_count, basis)
                   VALUES (:list, :built, :path, :subject, :count, :stories, :basis)
                   RETURNING id""",
                {
                    "list": list_name,
                    "built": to_iso(built_at),
                    "path": str(path),
                    "subject": subject,
                    "count": len(pairs),
                    "stories": len(pairs) if stories is None else stories,
                    "basis": basis,
                },
            ).fetchone()
            digest_id = int(row["id"])
            self.db.executemany(
                """INSERT INTO digest_items (digest_id, item_id, content_hash)
                   VALUES (:d, :i, :h)""",
                [{"d": digest_id, "i": i, "h": h} for i, h in pairs],
            )
        return digest_id

    def get_digest(self, digest_id: int) -> DigestRecord | None:
        """One digest by id, or None."""
        row = self.db.execute("SELECT * FROM digests WHERE id = :id", {"id": digest_id}).fetchone()
        return None if row is None else row_to_digest(row)

    def latest_digest(self, list_name: str) -> DigestRecord | None:
        """The most recently built digest of a list that has files (baseline digests, which
        only mark a backlog as seen, have no folder), or None."""
        row = self.db.execute(
            "SELECT * FROM digests WHERE list_name = :list AND path != '' "
            "ORDER BY built_at DESC, id DESC LIMIT 1",
            {"list": list_name},
        ).fetchone()
        return None if row is None else row_to_digest(row)

    def list_digests(
        self, list_name: str | None = None, limit: int | None = None
    ) -> list[DigestRecord]:
        """Digests, newest first (of one list when given)."""
        sql = "SELECT * FROM digests"
        params: dict[str, object] = {}
        if list_name is not None:
            sql += " WHERE list_name = :list"
            params["list"] = list_name
        sql += " ORDER BY built_at DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [row_to_digest(r) for r in self.db.execute(sql, params)]

    def digest_items(self, digest_id: int) -> list[tuple[int, str]]:
        """(item id, content hash) pairs a digest carried."""
        rows = self.db.execute(
            "SELECT item_id, content_hash FROM digest_items WHERE digest_id = :d ORDER BY item_id",
            {"d": digest_id},
        )
        return [(r["item_id"], r["content_hash"]) for r in rows]

    def last_sent_at(self, list_name: str) -> datetime | None:
        """When the last fully sent digest of a list finished, or None."""
        row = self.db.execute(
            "SELECT MAX(sent_at) FROM digests WHERE list_name = :list", {"list": list_name}
        ).fetchone()
        return from_iso(row[0])

    def mark_digest_sent(self, digest_id: int) -> bool:
        """Stamp sent_at once no delivery is pending or held by a sender; True if it is (now
        or already) set. Uncertain rows do not hold it back: they are reported until settled."""
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                """UPDATE digests SET sent_at = :now
                   WHERE id = :d AND sent_at IS NULL AND NOT EXISTS
                     (SELECT 1 FROM deliveries WHERE digest_id = :d
                        AND status IN ('pending', 'sending', 'data_sent'))""",
                {"d": digest_id, "now": self.now()},  # type: ignore[attr-defined]
            )
        row = self.db.execute(
            "SELECT sent_at FROM digests WHERE id = :d", {"d": digest_id}
        ).fetchone()
        return row is not None and row["sent_at"] is not None

    def pending_digests(self, list_name: str | None = None) -> list[DigestRecord]:
        """Digests with deliveries still pending (a crashed send to resume), oldest first."""
        sql = """SELECT * FROM digests d WHERE EXISTS
                   (SELECT 1 FROM deliveries WHERE digest_id = d.id AND status = 'pending')"""
        params: dict[str, object] = {}
        if list_name is not None:
            sql += " AND d.list_name = :list"
            params["list"] = list_name
        sql += " ORDER BY d.built_at, d.id"
        return [row_to_digest(r) for r in self.db.execute(sql, params)]

    # -- deliveries ----------------------------------------------------------------------
    def create_deliveries(self, digest_id: int) -> int:
        """Write one pending row per confirmed subscriber of the digest's list, once.

        A digest that already has rows keeps exactly those: a rerun resumes the audience
        the first run fixed, it never widens it. Returns the number of rows written.
        """
        with self.transaction():  # type: ignore[attr-defined]
            # two senders starting the same digest at once: the second waits here, then
            # finds the rows the first wrote
            self.db.xact_lock("create_deliveries", digest_id)
            if self.db.execute(
                "SELECT 1 FROM deliveries WHERE digest_id = :d LIMIT 1", {"d": digest_id}
            ).fetchone():
                return 0
            cursor = self.db.execute(
                """INSERT INTO deliveries (digest_id, subscriber_id, email, updated_at)
                   SELECT d.id, s.id, s.email, :now FROM digests d
                   JOIN subscribers s ON s.list_name = d.list_name AND s.status = 'confirmed'
                   WHERE d.id = :d ORDER BY s.id
                   ON CONFLICT (digest_id, subscriber_id) DO NOTHING""",
                {"d": digest_id, "now": self.now()},  # type: ignore[attr-defined]
            )
        return cursor.rowcount

    def deliveries(
        self,
        digest_id: int | None = None,
        status: str | None = None,
        list_name: str | None = None,
    ) -> list[Delivery]:
        """Delivery rows of a digest (or of every digest, optionally of one list), by id."""
        where = ["1 = 1"]
        params: dict[str, object] = {}
        if digest_id is not None:
            where.append("dl.digest_id = :d")
            params["d"] = digest_id
        if status is not None:
            check_status(status)
            where.append("dl.status = :status")
            params["status"] = status
        if list_name is not None:
            where.append("dg.list_name = :list")
            params["list"] = list_name
        rows = self.db.execute(
            f"""SELECT dl.* FROM deliveries dl JOIN digests dg ON dg.id = dl.digest_id
                WHERE {" AND ".join(where)} ORDER BY dl.id""",
            params,
        )
        return [_row_to_delivery(r) for r in rows]

    def subscriber_deliveries(self, subscriber_id: int) -> list[Delivery]:
        """Every delivery row of one subscriber, oldest first (their data export)."""
        rows = self.db.execute(
            "SELECT * FROM deliveries WHERE subscriber_id = :s ORDER BY id", {"s": subscriber_id}
        )
        return [_row_to_delivery(r) for r in rows]

    def has_deliveries(self, digest_id: int) -> bool:
        """True once delivery rows were written for a digest (its send has started)."""
        row = self.db.execute(
            "SELECT 1 FROM deliveries WHERE digest_id = :d LIMIT 1", {"d": digest_id}
        ).fetchone()
        return row is not None

    def delivery_counts(self, digest_id: int) -> dict[str, int]:
        """status -> number of rows for one digest (every status present)."""
        counts = dict.fromkeys(DELIVERY_STATUSES, 0)
        for row in self.db.execute(
            "SELECT status, COUNT(*) AS n FROM deliveries WHERE digest_id = :d GROUP BY status",
            {"d": digest_id},
        ):
            counts[row["status"]] = row["n"]
        return counts

    def pending_deliveries(self, digest_id: int) -> list[PendingDelivery]:
        """Rows still to send, in id order, with the subscriber's current name."""
        rows = self.db.execute(
            """SELECT dl.id, dl.subscriber_id, dl.email, dl.attempts, s.name, s.bounce_count,
                      s.link_key
               FROM deliveries dl JOIN subscribers s ON s.id = dl.subscriber_id
               WHERE dl.digest_id = :d AND dl.status = 'pending' ORDER BY dl.id""",
            {"d": digest_id},
        )
        return [pending_from_row(r) for r in rows]
