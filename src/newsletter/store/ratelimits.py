"""Rate-limit counts that every web process shares: sliding windows kept in the store.

A bucket is an opaque name chosen by the caller (the web app hashes the IP or address into
it, so no address is stored here). Its window is cut into `SLOTS` equal slots, and each
slot is one row counting the hits that fell in it: a bucket never holds more than `SLOTS`
rows, however high its limit, and checking it reads at most that many. The window slides
a slot at a time (a minute for an hour's window). Checking and counting a hit is one
transaction holding the bucket's lock, so processes on several hosts enforce one limit
between them. Slots that left every window are deleted as hits arrive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsletter.store.base import to_iso
from newsletter.store.dialect import Connection

SLOTS = 60  # slots per window
SWEEP_EVERY = 100  # hits (per process) between deletions of every expired slot


def _slot(now: datetime, window: float) -> tuple[int, float]:
    """(the slot `now` falls in, the slot's length in seconds)."""
    length = max(window / SLOTS, 0.001)
    return int(now.astimezone(UTC).timestamp() // length), length


class RateLimitsMixin:
    db: Connection
    _rate_hits = 0

    def rate_hit(self, bucket: str, limit: int, window: float) -> bool:
        """Count one hit in `bucket`; False (and not counted) when it already holds `limit`
        hits of the last `window` seconds."""
        now = self.clock()  # type: ignore[attr-defined]
        slot, length = _slot(now, window)
        params = {
            "b": bucket,
            "slot": slot,
            "oldest": slot - SLOTS + 1,
            "now": to_iso(now),
            # the slot counts until the window no longer reaches it
            "expires": to_iso(now + timedelta(seconds=window + length)),
        }
        with self.transaction() as db:  # type: ignore[attr-defined]
            db.xact_lock("rate", bucket)
            db.execute("DELETE FROM rate_limit_hits WHERE bucket = :b AND slot < :oldest", params)
            count = db.execute(
                "SELECT COALESCE(SUM(hits), 0) FROM rate_limit_hits WHERE bucket = :b", params
            ).fetchone()[0]
            if count >= limit:
                return False
            db.execute(
                """INSERT INTO rate_limit_hits (bucket, slot, hits, expires_at)
                   VALUES (:b, :slot, 1, :expires)
                   ON CONFLICT (bucket, slot) DO UPDATE SET hits = rate_limit_hits.hits + 1""",
                params,
            )
            self._rate_hits += 1
            if self._rate_hits % SWEEP_EVERY == 0:
                # buckets hit once (one-off addresses) are not visited again
                db.execute("DELETE FROM rate_limit_hits WHERE expires_at <= :now", params)
        return True

    def rate_remaining(self, bucket: str, limit: int, window: float) -> int:
        """How many more hits `bucket` may take now."""
        slot, _ = _slot(self.clock(), window)  # type: ignore[attr-defined]
        count = self.db.execute(
            """SELECT COALESCE(SUM(hits), 0) FROM rate_limit_hits
               WHERE bucket = :b AND slot > :before""",
            {"b": bucket, "before": slot - SLOTS},
        ).fetchone()[0]
        return max(0, limit - int(count))

    def rate_limit_rows(self) -> int:
        """Slots currently stored, expired ones not yet swept included (for tests)."""
        return int(self.db.execute("SELECT COUNT(*) FROM rate_limit_hits").fetchone()[0])
