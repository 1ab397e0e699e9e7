"""Fetch many feeds at once, politely: at most `fetch.concurrency` requests in all and at
most `fetch.per_host` to any one host (a site with many feeds is not hit by all of them
at once).

Worker threads take the next feed whose host has a free slot, fetch it and hand the
response to the caller's thread through a queue; the caller parses and stores while the
next responses arrive. At most `2 x workers` responses wait at once, which bounds the
bodies held in memory when parsing falls behind.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from typing import Generic, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")  # a feed to fetch
R = TypeVar("R")  # what fetching it gave


def host_of(url: str) -> str:
    """The host a URL's requests go to ("" for local files: no limit)."""
    if not url.lower().startswith(("http://", "https://")):
        return ""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class _Queue(Generic[T]):
    """Feeds waiting to be fetched, handed out so no host exceeds its slots."""

    def __init__(self, feeds: Sequence[T], host: Callable[[T], str], per_host: int) -> None:
        self.pending = list(feeds)
        self.host = host
        self.per_host = max(1, per_host)
        self.busy: Counter[str] = Counter()
        self.cond = threading.Condition()
        self.closed = False

    def take(self) -> T | None:
        """The next feed whose host has a free slot (waits for one); None when done."""
        with self.cond:
            while True:
                if self.closed or not self.pending:
                    return None
                for i, feed in enumerate(self.pending):
                    host = self.host(feed)
                    if not host or self.busy[host] < self.per_host:
                        del self.pending[i]
                        self.busy[host] += 1
                        return feed
                self.cond.wait()

    def done(self, feed: T) -> None:
        with self.cond:
            self.busy[self.host(feed)] -= 1
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


def fetch_all(
    feeds: Sequence[T],
    fetch: Callable[[T], R],
    host: Callable[[T], str],
    concurrency: int,
    per_host: int,
) -> Generator[tuple[T, R], None, None]:
    """(feed, outcome) as each fetch ends. `fetch` must not raise. Closing the iterator
    early (an error, Ctrl-C in the caller) stops the workers after their current fetch."""
    if not feeds:
        return
    todo: _Queue[T] = _Queue(feeds, host, per_host)
    workers = max(1, min(concurrency, len(feeds)))
    done: queue.Queue[tuple[T, R]] = queue.Queue()
    room = threading.Semaphore(2 * workers)  # responses handed over but not yet consumed

    def work() -> None:
        while True:
            room.acquire()
            feed = todo.take()
            if feed is None:
                room.release()
                return
            try:
                outcome = fetch(feed)
            finally:
                todo.done(feed)
            done.put((feed, outcome))

    threads = [
        threading.Thread(target=work, name=f"newsletter-fetch-{i}", daemon=True)
        for i in range(workers)
    ]
    for t in threads:
        t.start()
    try:
        for _ in range(len(feeds)):
            item = done.get()
            room.release()
            yield item
    finally:
        todo.close()
        for _ in threads:  # wake workers waiting for room, so they can see the queue closed
            room.release()
        for t in threads:
            t.join()
