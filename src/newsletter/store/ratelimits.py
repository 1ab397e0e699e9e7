"""Rate-limit counts that every web process shares (sliding windows over stored hits).

A bucket is an opaque name chosen by the caller (the web app hashes the IP or address into
it, so no address is stored here). Each hit is a row that expires `window` seconds after
it; a bucket is full when it holds `limit` unexpired rows. Checking and counting a hit is
one transaction holding the bucket's lock, so processes on several hosts enforce one
limit between them. Expired rows are deleted as hits arrive.
"""

from __future__ import annotations

from datetime import timedelta

from newsletter.store.base import to_iso

SWEEP_EVERY = 100  # hits (per process) between deletions of every expired row


class RateLimitsMixin:
    _rate_hits = 0

    def rate_hit(self, bucket: str, limit: int, window: float) -> bool:
        """Count one hit in `bucket`; False (and not counted) when it already holds `limit`
        hits of the last `window` seconds."""
        now = self.clock()  # type: ignore[attr-defined]
        params = {
            "b": bucket,
            "now": to_iso(now),
            "expires": to_iso(now + timedelta(seconds=window)),
        }
        with self.transaction() as db:  # type: ignore[attr-defined]
            db.xact_lock("rate", bucket)
            db.execute(
                "DELETE FROM rate_limit_hits WHERE bucket = :b AND expires_at <= :now", params
            )
            count = db.execute(
                "SELECT COUNT(*) FROM rate_limit_hits WHERE bucket = :b", params
            ).fetchone()[0]
            if count >= limit:
                return False
            db.execute(
                "INSERT INTO rate_limit_hits (bucket, expires_at) VALUES (:b, :expires)", params
            )
            self._rate_hits += 1
            if self._rate_hits % SWEEP_EVERY == 0:
                # buckets hit once (one-off addresses) are not visited again
                db.execute("DELETE FROM rate_limit_hits WHERE expires_at <= :now", params)
        return True

    def rate_remaining(self, bucket: str, limit: int) -> int:
        """How many more hits `bucket` may take now."""
        count = self.db.execute(  # type: ignore[attr-defined]
            "SELECT COUNT(*) FROM rate_limit_hits WHERE bucket = :b AND expires_at > :now",
            {"b": bucket, "now": self.now()},  # type: ignore[attr-defined]
        ).fetchone()[0]
        return max(0, limit - int(count))

    def rate_limit_rows(self) -> int:
        """Hits currently stored, expired ones not yet swept included (for tests)."""
        return int(self.db.execute("SELECT COUNT(*) FROM rate_limit_hits").fetchone()[0])  # type: ignore[attr-defined]
