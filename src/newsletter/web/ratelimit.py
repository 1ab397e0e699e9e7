"""Rate limits every web process shares: sliding windows counted in the store.

Several worker processes (gunicorn --workers 4, or web servers on two hosts behind a load
balancer) see one count, because the hits live in the database (see
`newsletter.store.ratelimits`), not in a process's memory. What is counted, an IP or an
address, is stored only as a keyed hash (HMAC with the app's secret key): the table never
holds an address, and the hashes cannot be checked against guesses without the key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from contextlib import AbstractContextManager

from newsletter.store import Store

StoreAccess = Callable[[], AbstractContextManager[Store]]


class RateLimit:
    """At most `limit` hits per key within any `window` seconds (limit <= 0: no limit)."""

    def __init__(
        self, name: str, limit: int, window: float, secret: str, access: StoreAccess
    ) -> None:
        self.name = name
        self.limit = limit
        self.window = window
        self._key = hashlib.sha256(f"newsletter-rate-limit\0{secret}".encode()).digest()
        self._access = access

    def bucket(self, key: str) -> str:
        """The stored name of `key`'s count: the limit's name and a keyed hash."""
        digest = hmac.new(self._key, key.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{self.name}:{digest[:32]}"

    def hit(self, key: str) -> bool:
        """Count one attempt for `key`; False (and not counted) when it is over the limit."""
        if self.limit <= 0:
            return True
        with self._access() as store:
            return store.rate_hit(self.bucket(key), self.limit, self.window)

    def remaining(self, key: str) -> int:
        """How many more hits `key` may make now."""
        if self.limit <= 0:
            return 1 << 30
        with self._access() as store:
            return store.rate_remaining(self.bucket(key), self.limit, self.window)
