"""Ingest: fetch every feed that is due concurrently, parse and normalize new content
(`newsletter.ingest.entries`, loaded only when a feed brought one), store it.

A failing feed becomes a `FeedResult` with a one-line reason and never stops the others.
A feed still fresh is not requested (`newsletter.ingest.freshness`); a 304 (or an
unchanged local file) is not parsed at all; in a changed feed, entries stored unchanged
(same raw-entry hash) are not parsed (`newsletter.ingest.spans`) or normalized again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime

from newsletter.config import Config, FeedConfig
from newsletter.ingest.fetch import FetchResponse, fetch, is_http, one_line
from newsletter.ingest.freshness import Hints, decide, feed_hints, next_fetch
from newsletter.ingest.hosts import fetch_all, host_of
from newsletter.ingest.parallel import ParsePool
from newsletter.model import FeedResult
from newsletter.store import Store
from newsletter.store.items import FeedState

logger = logging.getLogger(__name__)

Fetcher = Callable[[str, FeedState | None, Config], FetchResponse]

# A changed feed's entries are looked up among this many of its newest stored items (twice
# the most entries a feed is read for, `parse.MAX_ENTRIES`), not among the years of items
# a store keeps. An older entry still listed is parsed again and stored as the same item.
KNOWN_ENTRIES = 1000


@dataclass
class IngestReport:
    """What one ingest run did, feed by feed and in total."""

    # in the order feeds were given; without their items, which are in the store
    results: list[FeedResult] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    parsed_items: int = 0  # items produced by parsing (0 when every feed answered 304)
    unchanged_items: int = 0  # entries of changed feeds skipped as already stored unchanged
    not_modified: int = 0
    fresh: int = 0  # feeds not requested: still fresh, or in their skip hours
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    parsed_feeds: int = 0  # feeds whose bytes went through the parser
    fetch_seconds: float = 0.0  # wall time until the last feed's bytes had arrived
    elapsed: float = 0.0  # wall time of the whole run (fetch, parse, store)

    @property
    def feeds(self) -> int:
        return len(self.results)


def ingest(
    config: Config,
    store: Store,
    feeds: Sequence[FeedConfig] | None = None,
    progress: Callable[[FeedResult], None] | None = None,
    fetcher: Fetcher | None = None,
    refetch: bool = False,
) -> IngestReport:
    """Fetch every feed that is due, parse what changed, store items and fetch state.

    A feed still fresh by its server's or its own word (see `newsletter.ingest.freshness`)
    is not requested unless `refetch`. Worker threads only fetch, at most
    `fetch.per_host` at once per host (see `newsletter.ingest.hosts`); this thread parses
    (with a worker process beside it when many feeds changed, see
    `newsletter.ingest.parallel`) and writes the store as responses arrive, so parsing
    overlaps the network waits and the store connection stays on the caller's thread.
    """
    start = time.perf_counter()
    wanted = list(config.feeds if feeds is None else feeds)
    unique = list({f.url: f for f in reversed(wanted)}.values())[::-1]  # first one wins
    states = {f.url: store.feed_state(f.url) for f in unique}
    made = {f.url: item_settings(f) for f in unique}
    # A feed whose items were made with other settings (a name or language override
    # changed) is read in full when next due: a 304 would leave its stories as they were.
    remake = {url for url, state in states.items() if state.made_with not in ("", made[url])}
    for url in remake:
        states[url] = replace(states[url], etag="", last_modified="")
    report = IngestReport()
    results: dict[str, FeedResult] = {}
    now = store.clock()
    due: list[FeedConfig] = []
    decisions: dict[str, str] = {}
    for feed in unique:
        state = states[feed.url]
        go, why = (
            decide(
                now,
                state.fetched_at is not None,
                state.next_fetch_at,
                state.next_fetch_reason,
                Hints.from_json(state.hints),
                refetch,
            )
            if is_http(feed.url)
            else (True, "fetched: a local file (read every run)")
        )
        if go and feed.url in remake:  # when it is due: a server's wait still holds
            why = "fetched in full: its name or language setting changed"
        decisions[feed.url] = why
        if go:
            due.append(feed)
            continue
        store.record_skip(feed.url, why)
        skipped = FeedResult(url=feed.url, title=state.title, not_modified=True, skipped=True)
        results[feed.url] = skipped
        report.fresh += 1
        if progress is not None:
            progress(skipped)
    fetched_at: list[float] = []

    def fetch_one(feed: FeedConfig) -> FetchResponse | FeedResult:
        outcome = _fetch_guarded(feed, states[feed.url], config, fetcher or fetch)
        fetched_at.append(time.perf_counter())  # list.append is atomic
        return outcome

    responses = fetch_all(
        due,
        fetch_one,
        lambda f: host_of(f.url),
        config.fetch.concurrency,
        config.fetch.per_host,
    )

    # A plain 304's record (nothing new, no time to come back) is written with the others at
    # the end: a write each while a hundred responses arrive on the fetch threads cost this
    # thread ~0.4 ms apiece (the GIL changes hands at every statement). Lost to a kill, it
    # costs a request the next run would make anyway. Items, failures and a "not before"
    # (Retry-After, max-age) are written as they come: a stop must not forget them.
    plain_304s: list[tuple[FeedResult, tuple[datetime | None, str], str, str | None]] = []

    def finish(
        feed: FeedConfig, response: FetchResponse | FeedResult, outcome: tuple[FeedResult, bool]
    ) -> None:
        result, parsed = outcome
        state = states[feed.url]
        schedule, hints = _schedule(feed, state, response, result, parsed, store.clock())
        # what its stored items are made with now; a feed stored before this was kept
        # takes the current settings as its own
        made_with = made[feed.url] if (parsed and result.ok) or not state.made_with else None
        if result.not_modified and not parsed and schedule[0] is None:
            plain_304s.append((result, schedule, decisions[feed.url], made_with))
        else:
            _record(
                store, report, result, parsed, now, schedule, hints, decisions[feed.url], made_with
            )
        if progress is not None:
            progress(result)
        # stored now: the report keeps what happened, not the items (a build of long
        # articles would otherwise hold every one of them whole until the end)
        results[result.url] = replace(result, items=()) if result.items else result

    pool: ParsePool[tuple[FeedConfig, FetchResponse | FeedResult], tuple[FeedResult, bool]]
    pool = ParsePool(len(due), preload="newsletter.ingest.entries")
    try:
        with closing(responses), pool:
            for feed, response in responses:
                state = states[feed.url]
                known = store.known_entries(feed.url, KNOWN_ENTRIES) if _has_body(response) else {}
                args = (feed, state, response, known, config.fetch.max_field_chars)
                if _has_body(response) and pool.has_room():
                    pool.submit((feed, response), _to_result, *args)
                else:
                    finish(feed, response, _to_result(*args))
                for (done, its_response), outcome in pool.finished():
                    finish(done, its_response, outcome)
            for (done, its_response), outcome in pool.rest():
                finish(done, its_response, outcome)
    except BaseException:  # stopped (Ctrl-C, SIGTERM) or failed: keep what was learnt
        with suppress(Exception):
            _record_plain_304s(store, report, plain_304s, now)
        raise
    _record_plain_304s(store, report, plain_304s, now)
    report.results = [results[f.url] for f in unique]
    report.failed = [(r.url, r.error) for r in report.results if r.error]
    report.fetch_seconds = max(fetched_at, default=start) - start
    report.elapsed = time.perf_counter() - start
    logger.info(
        "ingest: %d feeds: %d read (%d entries normalized, %d unchanged skipped), %d not "
        "modified, %d still fresh, %d failed; %d new and %d edited items; %.2f s",
        report.feeds,
        report.parsed_feeds,
        report.parsed_items,
        report.unchanged_items,
        report.not_modified,
        report.fresh,
        len(report.failed),
        report.new,
        report.changed,
        report.elapsed,
    )
    return report


def _record_plain_304s(
    store: Store,
    report: IngestReport,
    answers: list[tuple[FeedResult, tuple[datetime | None, str], str, str | None]],
    seen_at: datetime,
) -> None:
    with store.transaction():
        for result, schedule, decision, made_with in answers:
            _record(store, report, result, False, seen_at, schedule, None, decision, made_with)


def item_settings(feed: FeedConfig) -> str:
    """The settings of a feed its items are made with besides its bytes, hashed: its name
    and language overrides."""
    return hashlib.sha256(repr((feed.name, feed.language)).encode()).hexdigest()[:16]


def _has_body(response: FetchResponse | FeedResult) -> bool:
    return isinstance(response, FetchResponse) and response.ok and not response.not_modified


def _schedule(
    feed: FeedConfig,
    state: FeedState | None,
    response: FetchResponse | FeedResult,
    result: FeedResult,
    parsed: bool,
    now: datetime,
) -> tuple[tuple[datetime | None, str], str | None]:
    """When the feed may be requested next and why, and its hints to store (None: keep)."""
    if not is_http(feed.url) or not isinstance(response, FetchResponse):
        return (None, ""), None
    try:
        stored = Hints.from_json(state.hints if state else "")
        hints = feed_hints(response.body) if parsed else stored
        when = next_fetch(now, response.status, response.headers, hints, result.ok)
    except Exception:  # a hint we cannot read costs a request next run, never the run
        logger.exception("cannot read the freshness of %s", feed.url)
        return (None, ""), None
    return when, hints.to_json() if parsed else None


def _record(
    store: Store,
    report: IngestReport,
    result: FeedResult,
    parsed: bool,
    seen_at: datetime,
    schedule: tuple[datetime | None, str] = (None, ""),
    hints: str | None = None,
    decision: str = "",
    made_with: str | None = None,
) -> None:
    """Store one feed's items and fetch state, and count them in the report."""
    if parsed:
        report.parsed_feeds += 1
        report.parsed_items += len(result.items)
        report.unchanged_items += result.unchanged
    if result.items:
        new, changed = store.upsert_items(result.items, seen_at)
        report.new += new
        report.changed += changed
    store.record_fetch(result, schedule, hints, decision, made_with)
    if result.not_modified:
        report.not_modified += 1
    if result.error:
        logger.warning("feed %s failed: %s", result.url, result.error)


def fetch_feed(
    feed: FeedConfig, state: FeedState | None, config: Config, fetcher: Fetcher = fetch
) -> FeedResult:
    """Fetch and parse one feed (no store writes); never raises."""
    response = _fetch_guarded(feed, state, config, fetcher)
    return _to_result(feed, state, response, {}, config.fetch.max_field_chars)[0]


def _fetch_guarded(
    feed: FeedConfig, state: FeedState | None, config: Config, fetcher: Fetcher
) -> FetchResponse | FeedResult:
    """The fetcher's response, or a failed FeedResult if the fetcher itself blew up."""
    try:
        return fetcher(feed.url, state, config)
    except Exception as e:  # one feed must never sink the run
        logger.exception("unexpected error fetching %s", feed.url)
        reason = one_line(f"internal error: {type(e).__name__}: {e}")
        return FeedResult(url=feed.url, error=reason)


def _to_result(
    feed: FeedConfig,
    state: FeedState | None,
    response: FetchResponse | FeedResult,
    known: Mapping[str, str],
    max_field_chars: int,
) -> tuple[FeedResult, bool]:
    """The feed's result from its fetch, and whether its bytes were parsed."""
    if isinstance(response, FeedResult):
        return response, False
    if response.error:
        failed = FeedResult(
            url=feed.url, status=response.status, error=response.error, elapsed=response.elapsed
        )
        return failed, False
    if response.not_modified:  # nothing to parse: the stored items are current
        unchanged = FeedResult(
            url=feed.url,
            title=state.title if state else "",
            status=response.status,
            not_modified=True,
            etag=response.etag,
            last_modified=response.last_modified,
            elapsed=response.elapsed,
        )
        return unchanged, False
    from newsletter.ingest.entries import parse_feed  # the parser: only for a feed with news

    headers = dict(response.headers)
    final = response.final_url or feed.url
    if is_http(final):
        headers["content-location"] = final  # relative links resolve against it
    parsed = parse_feed(response.body, feed.url, feed, headers, known, max_field_chars)
    return replace(
        parsed,
        status=response.status,
        etag=response.etag,
        last_modified=response.last_modified,
        elapsed=response.elapsed + parsed.elapsed,
    ), True
