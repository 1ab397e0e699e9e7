"""Subscribers of each list.

Addresses arrive here already validated and normalized (see `newsletter.audience.subscribers`); the
store only keeps them. Status changes stamp their own time: `confirmed_at` when a subscriber
is confirmed, `unsubscribed_at` when they leave.

Ids are never reused (the highest one given out is kept in `subscriber_ids`), and each
subscriber has two random keys that their signed links carry: `link_key` and
`confirm_key`. Every status change draws a new confirm_key; a new link_key is drawn when
asked (a subscription that starts again after an opt-out gets new links).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from newsletter.errors import SubscriberError
from newsletter.model import Subscriber
from newsletter.store.base import from_iso
from newsletter.store.dialect import INTEGRITY_ERRORS, Connection

STATUSES = ("pending", "confirmed", "unsubscribed", "bounced")


def row_to_subscriber(row: sqlite3.Row) -> Subscriber:
    """A `subscribers` row as the shared dataclass."""
    return Subscriber(
        id=row["id"],
        list_name=row["list_name"],
        email=row["email"],
        name=row["name"],
        status=row["status"],
        source=row["source"],
        created_at=from_iso(row["created_at"]),
        confirmed_at=from_iso(row["confirmed_at"]),
        unsubscribed_at=from_iso(row["unsubscribed_at"]),
        bounce_count=row["bounce_count"],
        link_key=row["link_key"],
        confirm_key=row["confirm_key"],
    )


def new_key() -> str:
    """A fresh random link key (96 bits, hex)."""
    return secrets.token_hex(12)


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise SubscriberError(
            f"unknown subscriber status {status!r}; use one of: {', '.join(STATUSES)}"
        )


class SubscribersMixin:
    db: Connection

    def lock_address(self, list_name: str, email: str) -> None:
        """Inside a transaction: hold the address until it ends, so two requests for one
        new address at once (a double click reaching two web workers) run one after the
        other and the second finds the first's row instead of failing to insert its own."""
        self.db.xact_lock("subscriber", list_name, email.lower())

    def add_subscriber(
        self,
        list_name: str,
        email: str,
        name: str = "",
        status: str = "pending",
        source: str = "",
    ) -> Subscriber:
        """Insert a new subscriber; SubscriberError if the address is already on the list."""
        _check_status(status)
        now = self.now()  # type: ignore[attr-defined]
        params = {
            "list": list_name,
            "email": email,
            "name": name,
            "status": status,
            "source": source,
            "now": now,
            "confirmed": now if status == "confirmed" else None,
            "unsubscribed": now if status == "unsubscribed" else None,
            "link_key": new_key(),
            "confirm_key": new_key(),
        }
        try:
            with self.transaction():  # type: ignore[attr-defined]
                # past the highest id ever given: a removed subscriber's id is never reused,
                # so nothing that named them can come to name someone else (one new id at a
                # time: SQLite's write lock does that, PostgreSQL takes a lock for it)
                self.db.xact_lock("subscriber_ids")
                last = self.db.execute(
                    "SELECT COALESCE(MAX(last_id), 0) FROM subscriber_ids"
                ).fetchone()[0]
                top = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM subscribers").fetchone()[0]
                params["id"] = max(int(last), int(top)) + 1
                self.db.execute(
                    """INSERT INTO subscribers (id, list_name, email, name, status, source,
                         created_at, confirmed_at, unsubscribed_at, link_key, confirm_key)
                       VALUES (:id, :list, :email, :name, :status, :source, :now, :confirmed,
                         :unsubscribed, :link_key, :confirm_key)""",
                    params,
                )
                self.db.execute("UPDATE subscriber_ids SET last_id = :id", params)
        except INTEGRITY_ERRORS as e:
            raise SubscriberError(f"{email} is already on the list {list_name!r}") from e
        subscriber = self.get_subscriber(params["id"])
        assert subscriber is not None
        return subscriber

    def get_subscriber(self, key: int | tuple[str, str]) -> Subscriber | None:
        """A subscriber by id, or by (list name, normalized email); None if absent."""
        if isinstance(key, tuple):
            list_name, email = key
            row = self.db.execute(
                "SELECT * FROM subscribers WHERE list_name = :list AND email = :email",
                {"list": list_name, "email": email},
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT * FROM subscribers WHERE id = :id", {"id": int(key)}
            ).fetchone()
        return None if row is None else row_to_subscriber(row)

    def set_status(self, subscriber_id: int, status: str, new_links: bool = False) -> Subscriber:
        """Move a subscriber to `status`, stamping confirmed_at / unsubscribed_at.

        A change of status draws a new confirm_key (confirmation links sent before stop
        working); `new_links` also draws a new link_key (every link sent before stops)."""
        _check_status(status)
        params = {
            "id": subscriber_id,
            "status": status,
            "now": self.now(),  # type: ignore[attr-defined]
            "confirm_key": new_key(),
            "link_key": new_key() if new_links else None,
        }
        with self.transaction():  # type: ignore[attr-defined]
            cursor = self.db.execute(
                """UPDATE subscribers SET
                     confirm_key = CASE WHEN status != :status THEN :confirm_key
                                        ELSE confirm_key END,
                     link_key = COALESCE(:link_key, link_key),
                     status = :status,
                     confirmed_at = CASE WHEN :status = 'confirmed' AND status != 'confirmed'
                                         THEN :now ELSE confirmed_at END,
                     unsubscribed_at = CASE WHEN :status = 'unsubscribed'
                                            AND status != 'unsubscribed'
                                            THEN :now ELSE unsubscribed_at END,
                     -- a fresh confirmation starts a clean bounce record
                     bounce_count = CASE WHEN :status = 'confirmed' AND status != 'confirmed'
                                         THEN 0 ELSE bounce_count END
                   WHERE id = :id""",
                params,
            )
        if cursor.rowcount == 0:
            raise SubscriberError(f"no subscriber with id {subscriber_id}")
        subscriber = self.get_subscriber(subscriber_id)
        assert subscriber is not None
        return subscriber

    def set_subscriber_name(self, subscriber_id: int, name: str) -> None:
        """Change the display name (already cleaned by the caller)."""
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                "UPDATE subscribers SET name = :name WHERE id = :id",
                {"id": subscriber_id, "name": name},
            )

    def list_subscribers(
        self, list_name: str | None = None, status: str | None = None
    ) -> list[Subscriber]:
        """Subscribers of a list (every list when None), optionally of one status, by id."""
        where, params = _filter(list_name, status)
        rows = self.db.execute(f"SELECT * FROM subscribers WHERE {where} ORDER BY id", params)
        return [row_to_subscriber(r) for r in rows]

    def count_subscribers(self, list_name: str | None = None, status: str | None = None) -> int:
        """How many subscribers match (every list when list_name is None)."""
        where, params = _filter(list_name, status)
        return self.db.execute(
            f"SELECT COUNT(*) FROM subscribers WHERE {where}", params
        ).fetchone()[0]

    def subscriber_counts(self, list_name: str | None = None) -> dict[str, int]:
        """status -> count for a list, every status present with 0 when empty."""
        where, params = _filter(list_name, None)
        counts = dict.fromkeys(STATUSES, 0)
        for row in self.db.execute(
            f"SELECT status, COUNT(*) AS n FROM subscribers WHERE {where} GROUP BY status", params
        ):
            counts[row["status"]] = row["n"]
        return counts

    def remove_subscriber(self, subscriber_id: int) -> bool:
        """Delete a subscriber and their delivery history; False if there was none."""
        with self.transaction():  # type: ignore[attr-defined]
            # deliveries reference subscribers; a removed person leaves no trace
            self.db.execute(
                "DELETE FROM deliveries WHERE subscriber_id = :id", {"id": subscriber_id}
            )
            cursor = self.db.execute(
                "DELETE FROM subscribers WHERE id = :id", {"id": subscriber_id}
            )
        return cursor.rowcount > 0

    def record_bounce(self, subscriber_id: int, bounce_after: int) -> bool:
        """Count one permanent failure; True when this made the subscriber `bounced`."""
        params = {
            "id": subscriber_id,
            "limit": max(1, bounce_after),
            "now": self.now(),  # type: ignore[attr-defined]
            "confirm_key": new_key(),
        }
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                "UPDATE subscribers SET bounce_count = bounce_count + 1 WHERE id = :id", params
            )
            cursor = self.db.execute(
                """UPDATE subscribers SET status = 'bounced', confirm_key = :confirm_key
                   WHERE id = :id AND status = 'confirmed' AND bounce_count >= :limit""",
                params,
            )
        return cursor.rowcount > 0

    def clear_bounces(self, subscriber_ids: Iterable[int]) -> None:
        """Reset the bounce count of subscribers who just received mail (failures must be
        consecutive to count)."""
        ids = [{"id": i} for i in subscriber_ids]
        if not ids:
            return
        with self.transaction():  # type: ignore[attr-defined]
            self.db.executemany(
                "UPDATE subscribers SET bounce_count = 0 WHERE id = :id AND bounce_count > 0", ids
            )

    def mark_confirm_sent(self, subscriber_id: int) -> None:
        """Remember when a confirmation mail went out (the web app rate-limits resends)."""
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                "UPDATE subscribers SET confirm_sent_at = :now WHERE id = :id",
                {"id": subscriber_id, "now": self.now()},  # type: ignore[attr-defined]
            )

    def confirm_sent_at(self, subscriber_id: int) -> datetime | None:
        """When the last confirmation mail went out, or None."""
        row = self.db.execute(
            "SELECT confirm_sent_at FROM subscribers WHERE id = :id", {"id": subscriber_id}
        ).fetchone()
        return None if row is None else from_iso(row["confirm_sent_at"])


def _filter(list_name: str | None, status: str | None) -> tuple[str, dict[str, object]]:
    where = ["1 = 1"]
    params: dict[str, object] = {}
    if list_name is not None:
        where.append("list_name = :list")
        params["list"] = list_name
    if status is not None:
        _check_status(status)
        where.append("status = :status")
        params["status"] = status
    return " AND ".join(where), params
