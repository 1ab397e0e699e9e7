"""Many senders, one digest: pending rows handed out in batches, each row to one sender.

A sender asks for the next few pending rows of a digest and gets them claimed in its name
(the lease of `newsletter.store.claims`), in one short transaction. On PostgreSQL the
candidate rows are locked with `FOR UPDATE SKIP LOCKED`, so senders on any number of hosts
take different rows at once instead of queueing on each other; on SQLite the write lock
makes each batch a turn of its own. Rows whose subscriber left (unsubscribed, bounced,
removed) are marked 'skipped' in the same transaction. A pending row with a future
`lease_until` was just released by a sender after a temporary failure: it is left to that
sender's retry until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from newsletter.store.base import to_iso
from newsletter.store.deliveries import PendingDelivery, pending_from_row
from newsletter.store.dialect import Connection


@dataclass
class Batch:
    """Rows claimed for one sender, and how many were skipped, by the subscriber's status."""

    claimed: list[PendingDelivery] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.claimed or self.skipped)


class BatchesMixin:
    db: Connection

    def claim_batch(self, digest_id: int, owner: str, lease_until: datetime, limit: int) -> Batch:
        """Claim up to `limit` pending rows of a digest for `owner` until `lease_until`,
        lowest ids first; an empty Batch when none is left to take now."""
        params = {
            "d": digest_id,
            "owner": owner,
            "lease": to_iso(lease_until),
            "now": self.now(),  # type: ignore[attr-defined]
            "n": max(1, int(limit)),
        }
        batch = Batch()
        with self.transaction():  # type: ignore[attr-defined]
            picked = self.db.execute(
                f"""SELECT id FROM deliveries
                    WHERE digest_id = :d AND status = 'pending'
                      AND (lease_until IS NULL OR lease_until <= :now)
                    ORDER BY id LIMIT :n{self.db.skip_locked}""",
                params,
            ).fetchall()
            if not picked:
                return batch
            ids = ", ".join(str(int(r[0])) for r in picked)  # integers from the database
            left = self.db.execute(
                f"""UPDATE deliveries SET status = 'skipped', updated_at = :now,
                      last_error = COALESCE((SELECT s.status FROM subscribers s
                                             WHERE s.id = deliveries.subscriber_id), 'removed')
                    WHERE id IN ({ids}) AND NOT EXISTS
                      (SELECT 1 FROM subscribers s WHERE s.id = deliveries.subscriber_id
                         AND s.status = 'confirmed')
                    RETURNING last_error""",
                params,
            ).fetchall()
            for row in left:
                batch.skipped[row[0]] = batch.skipped.get(row[0], 0) + 1
            # the subscriber check above and this claim are one transaction: an unsubscribe
            # that commits before it is honoured, one that commits after it lands too late
            self.db.execute(
                f"""UPDATE deliveries SET status = 'sending', attempts = attempts + 1,
                      claimed_by = :owner, lease_until = :lease, updated_at = :now
                    WHERE id IN ({ids}) AND status = 'pending'""",
                params,
            )
            rows = self.db.execute(
                f"""SELECT dl.id, dl.subscriber_id, dl.email, dl.attempts, s.name,
                           s.bounce_count, s.link_key
                    FROM deliveries dl JOIN subscribers s ON s.id = dl.subscriber_id
                    WHERE dl.id IN ({ids}) AND dl.status = 'sending' AND dl.claimed_by = :owner
                    ORDER BY dl.id""",
                params,
            ).fetchall()
        batch.claimed = [pending_from_row(r) for r in rows]
        return batch

    def clear_retry_times(self, digest_id: int, owner: str | None = None) -> int:
        """Pending rows of a digest that wait for their sender's retry (a future
        `lease_until`) become claimable at once: those `owner` released, as it stops
        retrying them, or without `owner` every one (no sender is alive to retry them)."""
        mine = "AND claimed_by = :owner" if owner is not None else ""
        with self.transaction():  # type: ignore[attr-defined]
            cursor = self.db.execute(
                f"""UPDATE deliveries SET lease_until = NULL
                    WHERE digest_id = :d AND status = 'pending' AND lease_until IS NOT NULL
                    {mine}""",
                {"d": digest_id, "owner": owner},
            )
        return int(cursor.rowcount)
