"""How a delivery row moves while it is sent: claims as leases, and what a dead sender leaves.

    pending --claim--> sending --just before the final "."--> data_sent --reply--> sent
                                                                        \\-> failed (5xx)
                                                                        \\-> pending (4xx)
    pending --subscriber left--> skipped

A claim is a lease: the row names its sender (`claimed_by`, "host:pid:token") and the time
the claim lapses (`lease_until`). Each step is one short transaction and a compare-and-set
on the claimant, so a sender whose lease lapsed and was taken over finds out at the next
step and stops before the end of its DATA: the server never gets that copy.

A sender that dies leaves its rows claimed. Found later (the lease lapsed, or the finder
holds the senders lock alone so no other sender can be alive), a 'sending' row goes back
to 'pending' (its DATA never ended, so the server dropped it: send it again, no duplicate
possible) and a 'data_sent' row becomes 'uncertain' (the server may hold it): reported on
every run until the operator resends it (back to 'pending') or dismisses it ('dismissed',
with time and reason).

Several senders (processes, hosts) share a digest by claiming pending rows in batches under
the same lease columns (`newsletter.store.batches`); a row released after a temporary
failure keeps its time of retry in `lease_until`, so only its own sender retries it early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newsletter.store.base import from_iso, to_iso
from newsletter.store.deliveries import DigestRecord, check_status, row_to_digest
from newsletter.store.dialect import Connection

# rows of a few states, found digest by digest through the (digest_id, status) index
# instead of a scan of every delivery ever made (SQLite's CROSS JOIN keeps digests the
# outer loop; PostgreSQL's planner finds that order itself)
_BY_DIGEST = "digests dg {join} deliveries dl ON dl.digest_id = dg.id"
_LEFT_BEFORE_END = "its sender stopped before the end of its DATA; the server dropped it"
_LEFT_AFTER_END = "its sender stopped after the end of its DATA, before the server's reply"


@dataclass(frozen=True)
class UncertainDelivery:
    """A message whose DATA ended with no reply recorded: maybe delivered, maybe not."""

    id: int
    digest_id: int
    email: str
    data_ended_at: datetime | None
    last_error: str


class ClaimsMixin:
    db: Connection

    def _by_digest(self) -> str:
        return _BY_DIGEST.format(join=self.db.cross_join)

    def claim_delivery(self, delivery_id: int, owner: str, lease_until: datetime) -> str:
        """Move a pending row to 'sending' for `owner` until `lease_until`, right before its
        SMTP transaction.

        Returns "claimed"; or the subscriber's status when they are no longer confirmed (the
        row becomes 'skipped'); or "taken" when the row is not pending any more.
        """
        params = {
            "id": delivery_id,
            "owner": owner,
            "lease": to_iso(lease_until),
            "now": self.now(),  # type: ignore[attr-defined]
        }
        with self.transaction():  # type: ignore[attr-defined]
            # the subscriber check and the claim are one statement: an unsubscribe that
            # commits before it is honoured, one that commits after it lands too late
            cursor = self.db.execute(
                """UPDATE deliveries SET status = 'sending', attempts = attempts + 1,
                     claimed_by = :owner, lease_until = :lease, updated_at = :now
                   WHERE id = :id AND status = 'pending' AND EXISTS
                     (SELECT 1 FROM subscribers s WHERE s.id = deliveries.subscriber_id
                        AND s.status = 'confirmed')""",
                params,
            )
            if cursor.rowcount == 1:
                return "claimed"
            row = self.db.execute(
                """SELECT dl.status, s.status AS subscriber_status FROM deliveries dl
                   JOIN subscribers s ON s.id = dl.subscriber_id WHERE dl.id = :id""",
                params,
            ).fetchone()
            if row is None or row["status"] != "pending":
                return "taken"
            params["why"] = row["subscriber_status"]
            self.db.execute(
                """UPDATE deliveries SET status = 'skipped', last_error = :why, updated_at = :now
                   WHERE id = :id""",
                params,
            )
            return str(row["subscriber_status"])

    def mark_data_sent(self, delivery_id: int, owner: str, lease_until: datetime) -> bool:
        """Record, before the final "." goes out, that the message is about to be complete
        (renewing the lease for the wait for the reply). False when `owner` no longer holds
        the row: then the "." must not be sent."""
        now = self.now()  # type: ignore[attr-defined]
        with self.transaction():  # type: ignore[attr-defined]
            cursor = self.db.execute(
                """UPDATE deliveries SET status = 'data_sent', data_ended_at = :now,
                     lease_until = :lease, updated_at = :now
                   WHERE id = :id AND status = 'sending' AND claimed_by = :owner""",
                {"id": delivery_id, "owner": owner, "lease": to_iso(lease_until), "now": now},
            )
        return cursor.rowcount == 1

    def mark_sent(
        self, delivery_id: int, message_id: str, owner: str, reset_bounces: bool = True
    ) -> None:
        """The server accepted the message: the row is 'sent' (even if it was meanwhile
        found in doubt: the reply settles that); the bounce count restarts (the caller may
        pass reset_bounces=False when it knows the count is 0)."""
        params = {"id": delivery_id, "mid": message_id, "owner": owner, "now": self.now()}  # type: ignore[attr-defined]
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                """UPDATE deliveries SET status = 'sent', message_id = :mid, last_error = '',
                     lease_until = NULL, sent_at = :now, updated_at = :now
                   WHERE id = :id AND claimed_by = :owner
                     AND status IN ('sending', 'data_sent', 'uncertain')""",
                params,
            )
            if reset_bounces:
                # bounces count only when consecutive: a delivered message wipes the slate
                self.db.execute(
                    """UPDATE subscribers SET bounce_count = 0 WHERE bounce_count > 0
                       AND id = (SELECT subscriber_id FROM deliveries WHERE id = :id)""",
                    params,
                )

    def mark_failed(self, delivery_id: int, error: str) -> None:
        """The message will not be delivered (permanent failure, retries exhausted, or a
        message that could not be built)."""
        self._settle(delivery_id, "failed", error, "status IN ('pending', 'sending', 'data_sent')")

    def release_delivery(
        self, delivery_id: int, owner: str, error: str, retry_at: datetime | None = None
    ) -> None:
        """A temporary failure (the server said "later", or the link broke before the end
        of the DATA): back to 'pending' so a retry (or a rerun) sends it. With `retry_at`,
        other senders' batches leave it alone until then (`claim_batch`): its own sender
        retries it after its pause."""
        self._settle(
            delivery_id,
            "pending",
            error,
            "status IN ('sending', 'data_sent') AND claimed_by = :owner",
            owner,
            retry_at,
        )

    def mark_uncertain(self, delivery_id: int, owner: str, error: str) -> None:
        """The link broke after the end of the DATA and before the reply: maybe delivered."""
        self._settle(
            delivery_id, "uncertain", error, "status = 'data_sent' AND claimed_by = :owner", owner
        )

    def _settle(
        self,
        delivery_id: int,
        status: str,
        error: str,
        where: str,
        owner: str = "",
        not_before: datetime | None = None,
    ) -> None:
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                f"""UPDATE deliveries SET status = :status, last_error = :error,
                      lease_until = :lease, updated_at = :now
                    WHERE id = :id AND {where}""",
                {
                    "id": delivery_id,
                    "status": status,
                    "error": error[:500],
                    "owner": owner,
                    "lease": to_iso(not_before),
                    "now": self.now(),  # type: ignore[attr-defined]
                },
            )

    # -- what dead senders left ------------------------------------------------------------
    def release_claims(self, owner: str) -> tuple[int, int]:
        """Settle the rows `owner` still holds as it stops: 'sending' -> 'pending',
        'data_sent' -> 'uncertain'. (released, uncertain)."""
        return self._abandon("dl.claimed_by = :owner", {"owner": owner})

    def recover_claims(self, everything: bool = False, keep: str = "") -> tuple[int, int]:
        """Settle the rows dead senders left: those whose lease lapsed or, with
        `everything` (the caller is the only live sender: `senders_lock().alone()`), every
        claimed row but those of `keep` (the caller's own). (released to pending, now
        uncertain)."""
        mine = "AND (dl.claimed_by IS NULL OR dl.claimed_by != :keep)" if keep else ""
        which = "1 = 1" if everything else "dl.lease_until < :now"
        return self._abandon(f"{which} {mine}", {"now": self.now(), "keep": keep})  # type: ignore[attr-defined]

    def _abandon(self, which: str, params: dict[str, object]) -> tuple[int, int]:
        params = {
            **params,
            "now": self.now(),  # type: ignore[attr-defined]
            "before": _LEFT_BEFORE_END,
            "after": _LEFT_AFTER_END,
        }
        with self.transaction():  # type: ignore[attr-defined]
            rows = self.db.execute(
                f"""SELECT dl.id, dl.digest_id, dl.status FROM {self._by_digest()}
                    WHERE dl.status IN ('sending', 'data_sent') AND {which}""",
                params,
            ).fetchall()
            if not rows:
                return 0, 0
            ids = ",".join(str(int(r["id"])) for r in rows)
            self.db.execute(
                f"""UPDATE deliveries SET
                      status = CASE status WHEN 'sending' THEN 'pending' ELSE 'uncertain' END,
                      last_error = CASE status WHEN 'sending' THEN :before ELSE :after END,
                      lease_until = NULL, updated_at = :now
                    WHERE id IN ({ids})""",
                params,
            )
            released = [r for r in rows if r["status"] == "sending"]
            # a digest with rows to send again is not finished
            for digest_id in {r["digest_id"] for r in released}:
                self.db.execute("UPDATE digests SET sent_at = NULL WHERE id = :d", {"d": digest_id})
        return len(released), len(rows) - len(released)

    # -- rows in doubt -----------------------------------------------------------------------
    def uncertain_deliveries(
        self, list_name: str | None = None, digest_id: int | None = None
    ) -> list[UncertainDelivery]:
        """Rows still in doubt (of one list or digest), oldest digest first."""
        params: dict[str, object] = {"list": list_name, "d": digest_id}
        rows = self.db.execute(
            f"""SELECT dl.id, dl.digest_id, dl.email, dl.data_ended_at, dl.last_error
                FROM {self._by_digest()}
                WHERE dl.status = 'uncertain'
                  AND (:list IS NULL OR dg.list_name = :list)
                  AND (:d IS NULL OR dl.digest_id = :d)
                ORDER BY dl.digest_id, dl.id""",
            params,
        )
        return [
            UncertainDelivery(
                r["id"], r["digest_id"], r["email"], from_iso(r["data_ended_at"]), r["last_error"]
            )
            for r in rows
        ]

    def dismiss_uncertain(
        self,
        list_name: str,
        reason: str,
        email: str | None = None,
        digest_id: int | None = None,
    ) -> int:
        """The operator settles rows in doubt without resending (e.g. the server's log shows
        them delivered): 'uncertain' -> 'dismissed', with the time and `reason`. Every such
        row of the list, or those to `email` / of `digest_id`; the number dismissed."""
        wanted = None if email is None else email.strip().lower()
        targets = [
            u.id
            for u in self.uncertain_deliveries(list_name, digest_id)
            if wanted is None or u.email.lower() == wanted
        ]
        if not targets:
            return 0
        ids = ",".join(str(int(i)) for i in targets)
        with self.transaction():  # type: ignore[attr-defined]
            cursor = self.db.execute(
                f"""UPDATE deliveries SET status = 'dismissed', dismissed_at = :now,
                      dismiss_reason = :reason, updated_at = :now
                    WHERE id IN ({ids}) AND status = 'uncertain'""",
                {"now": self.now(), "reason": reason[:500]},  # type: ignore[attr-defined]
            )
        return cursor.rowcount

    def digests_with(self, list_name: str, status: str) -> list[DigestRecord]:
        """Digests of a list that have rows of `status` (sent or not), oldest first: what
        `--resend-uncertain` and `--retry-failed` act on."""
        check_status(status)
        rows = self.db.execute(
            """SELECT * FROM digests d WHERE d.list_name = :list AND EXISTS
                 (SELECT 1 FROM deliveries WHERE digest_id = d.id AND status = :status)
               ORDER BY d.built_at, d.id""",
            {"list": list_name, "status": status},
        )
        return [row_to_digest(r) for r in rows]

    def reset_deliveries(self, digest_id: int, status: str) -> int:
        """Put every row of one status back to 'pending' (the operator's choice to resend
        'uncertain' rows, or to retry 'failed' ones); the number reset."""
        check_status(status)
        with self.transaction():  # type: ignore[attr-defined]
            cursor = self.db.execute(
                """UPDATE deliveries SET status = 'pending', updated_at = :now
                   WHERE digest_id = :d AND status = :status""",
                {"d": digest_id, "status": status, "now": self.now()},  # type: ignore[attr-defined]
            )
            if cursor.rowcount:
                # a digest that gets pending rows again is not finished
                self.db.execute("UPDATE digests SET sent_at = NULL WHERE id = :d", {"d": digest_id})
        return cursor.rowcount
