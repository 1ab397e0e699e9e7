"""An in-memory sliding-window rate limit (per IP, per address) with an injectable clock.

One process keeps its own counts: behind several worker processes each enforces the limit
on the requests it sees, which is still a useful bound. Memory stays bounded: keys whose
hits have all left the window are dropped as new hits arrive.
"""

from __future__ import annotations

import threading
from collections import deque

from newsletter.model import Clock
from newsletter.model import utcnow as _utcnow


class SlidingWindow:
    """At most `limit` hits per key within any `window` seconds (limit <= 0: no limit)."""

    # sweep stale keys at most this often (in hits), so a flood of one-off keys cannot grow
    # memory without bound and a quiet server does no work
    SWEEP_EVERY = 1000

    def __init__(self, limit: int, window: float = 3600.0, clock: Clock = _utcnow) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._since_sweep = 0

    def hit(self, key: str) -> bool:
        """Count one attempt for `key`; False (and not counted) when it is over the limit."""
        if self.limit <= 0:
            return True
        now = self.clock().timestamp()
        with self._lock:
            self._since_sweep += 1
            if self._since_sweep >= self.SWEEP_EVERY:
                self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            self._expire(hits, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def remaining(self, key: str) -> int:
        """How many more hits `key` may make now."""
        if self.limit <= 0:
            return 1 << 30
        now = self.clock().timestamp()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                return self.limit
            self._expire(hits, now)
            return max(0, self.limit - len(hits))

    def _expire(self, hits: deque[float], now: float) -> None:
        while hits and hits[0] <= now - self.window:
            hits.popleft()

    def _sweep(self, now: float) -> None:
        self._since_sweep = 0
        for key in list(self._hits):
            hits = self._hits[key]
            self._expire(hits, now)
            if not hits:
                del self._hits[key]

    def __len__(self) -> int:
        """Keys currently tracked (for tests and diagnostics)."""
        return len(self._hits)
