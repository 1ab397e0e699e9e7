"""Bounce and complaint events, and the POP3 messages already processed.

Every report that names one of our deliveries (or a subscriber we mailed) becomes one row
of `bounce_events`, whatever brought it: a message in the bounce mailbox, a file, a
provider's webhook. `message_key` (a hash of the message, or the provider's event id)
with the address makes a row unique, so reading the same report twice records it once.
Rows go with their subscriber (ON DELETE CASCADE): a removed person leaves no trace.

Plain SQL that SQLite and PostgreSQL both accept (`ON CONFLICT ... DO NOTHING`, `LIMIT`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from newsletter.store.base import from_iso, to_iso
from newsletter.store.dialect import Connection

SEVERITIES = ("hard", "soft", "delay", "")  # "" for complaints
ACTIONS = ("", "bounced", "unsubscribed")  # what the event did to the subscriber


@dataclass(frozen=True)
class DeliveryTarget:
    """Who a delivery went to, and the state of that subscriber now."""

    delivery_id: int
    digest_id: int
    subscriber_id: int
    email: str
    list_name: str
    subscriber_status: str
    confirmed_at: datetime | None


@dataclass(frozen=True)
class BounceEvent:
    """One recorded bounce, delay or complaint about one subscriber."""

    id: int
    received_at: datetime
    subscriber_id: int
    digest_id: int | None
    delivery_id: int | None
    address: str
    kind: str  # bounce | complaint
    severity: str  # hard | soft | delay | "" (complaint)
    status: str  # RFC 3463 code such as 5.1.1, or ""
    diagnostic: str
    source: str  # where it came from: "mailbox imaps://...", "file x.eml", "webhook ses", ...
    matched: str  # how it was tied to the subscriber: "signed" | "address"
    action: str  # "bounced" | "unsubscribed" | "" (counted only)


def _row_to_event(row: sqlite3.Row) -> BounceEvent:
    return BounceEvent(
        id=row["id"],
        received_at=from_iso(row["received_at"]),  # type: ignore[arg-type]
        subscriber_id=row["subscriber_id"],
        digest_id=row["digest_id"],
        delivery_id=row["delivery_id"],
        address=row["address"],
        kind=row["kind"],
        severity=row["severity"],
        status=row["status"],
        diagnostic=row["diagnostic"],
        source=row["source"],
        matched=row["matched"],
        action=row["action"],
    )


_TARGET = """SELECT dl.id AS delivery_id, dl.digest_id, dl.subscriber_id, dl.email,
                    s.list_name, s.status, s.confirmed_at
             FROM deliveries dl JOIN subscribers s ON s.id = dl.subscriber_id"""


def _row_to_target(row: sqlite3.Row | None) -> DeliveryTarget | None:
    if row is None:
        return None
    return DeliveryTarget(
        delivery_id=row["delivery_id"],
        digest_id=row["digest_id"],
        subscriber_id=row["subscriber_id"],
        email=row["email"],
        list_name=row["list_name"],
        subscriber_status=row["status"],
        confirmed_at=from_iso(row["confirmed_at"]),
    )


class BouncesMixin:
    db: Connection

    def delivery_target(self, delivery_id: int) -> DeliveryTarget | None:
        """The delivery with this id and its subscriber; None if there is none (any more)."""
        row = self.db.execute(f"{_TARGET} WHERE dl.id = :id", {"id": delivery_id}).fetchone()
        return _row_to_target(row)

    def latest_delivery_to(self, email: str) -> DeliveryTarget | None:
        """The newest delivery that went out (or may have) to this address, on any list."""
        row = self.db.execute(
            f"""{_TARGET} WHERE dl.email = :email AND dl.status IN ('sent', 'sending', 'failed')
                ORDER BY dl.id DESC LIMIT 1""",
            {"email": email},
        ).fetchone()
        return _row_to_target(row)

    def record_bounce_event(
        self,
        *,
        message_key: str,
        target: DeliveryTarget,
        address: str,
        kind: str,
        severity: str,
        status: str,
        diagnostic: str,
        source: str,
        matched: str,
    ) -> int | None:
        """Insert one event; its id, or None when this report was recorded before."""
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        params = {
            "key": message_key[:200],
            "now": self.now(),  # type: ignore[attr-defined]
            "subscriber": target.subscriber_id,
            "digest": target.digest_id or None,
            "delivery": target.delivery_id or None,
            "address": address[:320],
            "kind": kind,
            "severity": severity,
            "status": status[:32],
            "diagnostic": diagnostic[:1000],
            "source": source[:300],
            "matched": matched,
        }
        with self.transaction():  # type: ignore[attr-defined]
            cursor = self.db.execute(
                """INSERT INTO bounce_events (message_key, received_at, subscriber_id, digest_id,
                     delivery_id, address, kind, severity, status, diagnostic, source, matched)
                   VALUES (:key, :now, :subscriber, :digest, :delivery, :address, :kind,
                     :severity, :status, :diagnostic, :source, :matched)
                   ON CONFLICT (message_key, address) DO NOTHING""",
                params,
            )
            if cursor.rowcount == 0:
                return None
            row = self.db.execute(
                "SELECT id FROM bounce_events WHERE message_key = :key AND address = :address",
                params,
            ).fetchone()
        return int(row["id"])

    def set_bounce_action(self, event_id: int, action: str) -> None:
        """Remember what an event did to its subscriber."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                "UPDATE bounce_events SET action = :action WHERE id = :id",
                {"id": event_id, "action": action},
            )

    def count_bounces(
        self, subscriber_id: int, severity: str, since: datetime | None = None
    ) -> int:
        """Bounces of one class since a time, each delivery counted once (a report that
        arrives twice, or by mail and by webhook, is one failure)."""
        params = {"s": subscriber_id, "severity": severity, "since": to_iso(since) or ""}
        row = self.db.execute(
            """SELECT COUNT(DISTINCT COALESCE(delivery_id, -id)) AS n FROM bounce_events
               WHERE subscriber_id = :s AND kind = 'bounce' AND severity = :severity
                 AND received_at >= :since""",
            params,
        ).fetchone()
        return int(row["n"])

    def complained_since(self, subscriber_id: int, since: datetime | None) -> bool:
        """Whether a complaint about this subscriber arrived at or after `since`."""
        row = self.db.execute(
            """SELECT 1 FROM bounce_events WHERE subscriber_id = :s AND kind = 'complaint'
                 AND received_at >= :since LIMIT 1""",
            {"s": subscriber_id, "since": to_iso(since) or ""},
        ).fetchone()
        return row is not None

    def bounce_events(self, subscriber_id: int) -> list[BounceEvent]:
        """Every recorded event of one subscriber, oldest first."""
        rows = self.db.execute(
            "SELECT * FROM bounce_events WHERE subscriber_id = :s ORDER BY id",
            {"s": subscriber_id},
        )
        return [_row_to_event(r) for r in rows]

    # -- POP3 has no flags: the store remembers which messages (by UIDL) were processed --
    def seen_mailbox_uids(self, mailbox: str) -> set[str]:
        rows = self.db.execute(
            "SELECT uid FROM bounce_mailbox_seen WHERE mailbox = :m", {"m": mailbox}
        )
        return {r["uid"] for r in rows}

    def remember_mailbox_uid(self, mailbox: str, uid: str) -> None:
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                """INSERT INTO bounce_mailbox_seen (mailbox, uid, seen_at) VALUES (:m, :u, :now)
                   ON CONFLICT (mailbox, uid) DO NOTHING""",
                {"m": mailbox, "u": uid[:200], "now": self.now()},  # type: ignore[attr-defined]
            )

    def forget_mailbox_uids(self, mailbox: str, uids: Iterable[str]) -> None:
        """Drop remembered messages that are no longer on the server."""
        rows = [{"m": mailbox, "u": u} for u in uids]
        if not rows:
            return
        with self.transaction():  # type: ignore[attr-defined]
            self.db.executemany(
                "DELETE FROM bounce_mailbox_seen WHERE mailbox = :m AND uid = :u", rows
            )
