"""`newsletter run`: what cron calls every few minutes. Ingest, build and send, when due.

One run, under an exclusive lock (see `newsletter.run.lock`):

0. **Bounces.** With `[bounces] mailbox` set, the reports waiting there are applied first
   (see `newsletter.bounces.process`), so no address that bounced or complained gets
   this run's digest.
1. **Resume.** Every digest of each list whose sending started and never finished (a
   crash, SMTP down) is sent first. A list whose digest still has pending deliveries
   afterwards gets no new digest this run: digests go out in order.
2. **Ingest** the feeds of every list in scope, once, every run: conditional GET keeps
   it cheap, and frequent fetches catch items of short feeds before they scroll away.
3. **Take on new feeds.** The first time a list sees a feed that has been fetched, the
   list's backlog policy decides what of the feed's existing items it will ever send:
   "days:N" holds back what is older than N days, "none" holds back everything already
   there, "all" nothing. Held-back items go into a *baseline* digest (a digest row marked
   sent, with no deliveries and no files), so the one rule "a digest carries the items no
   earlier sent digest of the list carried" keeps them out for good, in `build`, preview
   and `run` alike. The list's first run is the case where every feed is new; a feed
   added later gets the same treatment instead of flooding the next digest with its
   archive. Feeds whose items the list already sent before it used `run` carry on as
   they are ("continued").
4. **Due?** "every run" lists are always due. A scheduled list is due when nothing
   happened since its latest slot: no digest sent, no due run that found too few stories
   (the list then waits for its next slot rather than mailing whenever an item trickles
   in), and `run` did not first see the list after that slot. So the very first run of
   a scheduled list sends nothing: it starts the clock, and the first digest goes out
   at the next slot; a missed slot (machine off) is caught up at the next run.
5. **Build and send**: the new stories (at least `min_items`, at most
   `digest.max_items`; the rest wait for the next digest) are rendered, recorded with
   the items they carry, and sent with the resumable send loop.

Crash safety follows from the store: items count as sent from the moment a digest has
delivery rows, those rows are written in one transaction before any mail leaves, and each
row is sent at most once. A run holds the lock, so rows a killed sender left claimed are
settled first: those whose DATA never ended are pending again (the server dropped them),
those whose DATA ended with no reply recorded are "uncertain": reported, with exit code 4,
on every run until the operator resends or dismisses them. A crash before the rows exist
leaves a built, never-sent digest that consumed nothing; the next run builds afresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from newsletter.bounces.process import process_mailbox
from newsletter.cadence import is_due, next_slot, parse_cadence
from newsletter.config import Config, FeedConfig, ListConfig
from newsletter.errors import ConfigError, LockedError, NewsletterError, SendError, StoreError
from newsletter.ingest.feeds import Fetcher, IngestReport, ingest
from newsletter.ingest.health import feed_health
from newsletter.mail.deliver import recover, send_digest
from newsletter.mail.sendloop import SendReport, TransportFactory
from newsletter.model import Clock
from newsletter.run.digest import plan_digest, write_plan
from newsletter.run.lock import lock_for, lock_path
from newsletter.run.report import (
    EXIT_DELIVERY,
    EXIT_FEEDS_FAILED,
    EXIT_LOCKED,
    EXIT_NOTHING_DONE,
    EXIT_OK,
    IngestSummary,
    ListRun,
    RunReport,
    format_run_report,
)
from newsletter.store import DatabaseError, Store

logger = logging.getLogger(__name__)


__all__ = [
    "EXIT_DELIVERY",
    "EXIT_FEEDS_FAILED",
    "EXIT_LOCKED",
    "EXIT_NOTHING_DONE",
    "EXIT_OK",
    "RunReport",
    "format_run_report",
    "lock_path",
    "run",
]


def run(
    config: Config,
    store: Store,
    list_name: str | None = None,
    *,
    clock: Clock | None = None,
    transport_factory: TransportFactory | None = None,
    fetcher: Fetcher | None = None,
    sleep: Callable[[float], None] | None = None,
    refetch: bool = False,
) -> RunReport:
    """One cron run over every list (or `list_name`): resume, ingest, build and send what
    is due. Never raises for feed, send or store trouble: see `RunReport.exit_code`.

    Raises ConfigError for an unknown list or a missing NEWSLETTER_SECRET_KEY, before
    anything is done (those are usage errors, exit code 2). `refetch` requests every feed,
    even one still fresh.
    """
    started = time.perf_counter()
    clock = clock or store.clock
    lists = [config.list(list_name)] if list_name is not None else list(config.lists)
    for lst in lists:
        parse_cadence(lst.cadence)
        if lst.backlog not in ("none", "all"):
            _backlog_days(lst.backlog)
    config.require_secret()  # every mail carries signed links: fail before building
    lock = lock_for(store, lock_path(config))
    report = RunReport(
        started_at=clock(),
        lock_file=lock.where,
        failing_threshold=config.run.failing_feed_runs,
        config_file=str(config.source or ""),
    )
    try:
        lock.acquire()
    except LockedError as e:
        report.locked = str(e)
        report.finished_at = clock()
        report.elapsed = time.perf_counter() - started
        return report
    try:
        run = _Run(config, store, clock, transport_factory, fetcher, sleep, report)
        run.refetch = refetch
        run.go(lists)
    except (StoreError, DatabaseError) as e:
        logger.exception("run stopped by a store error")
        report.error = f"store error: {e}; " + (
            f"check that {store.where} is writable and not on a network file system"
            if store.path is not None
            else "check that the database server is up and reachable"
        )
    finally:
        lock.release()
    report.finished_at = clock()
    report.elapsed = time.perf_counter() - started
    return report


class _Run:
    """One locked run; `go` does the steps in the module docstring."""

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        transport_factory: TransportFactory | None,
        fetcher: Fetcher | None,
        sleep: Callable[[float], None] | None,
        report: RunReport,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.transport_factory = transport_factory
        self.fetcher = fetcher
        self.sleep = sleep
        self.report = report
        self.ingest_report: IngestReport | None = None
        self.refetch = False  # request every feed, fresh or not

    def go(self, lists: list[ListConfig]) -> None:
        self._bounces()
        runs = [ListRun(lst.name, cadence=parse_cadence(lst.cadence).describe()) for lst in lists]
        self.report.lists = runs
        recover(self.store)  # rows a dead sender held (all of them, if no sender is alive)
        blocked = {lr.list_name for lr in runs if not self._resume(lr)}
        feeds = _feeds_of(self.config, lists)
        if feeds:
            self.ingest_report = ingest(
                self.config, self.store, feeds=feeds, fetcher=self.fetcher, refetch=self.refetch
            )
            self.report.ingest = _summary(self.ingest_report)
        for lst, lr in zip(lists, runs, strict=True):
            self._adopt(lst, lr)
            if lst.name in blocked:
                continue
            self._due(lst, lr)
            if lr.due:
                self._build_and_send(lst, lr)
        for lst, lr in zip(lists, runs, strict=True):
            lr.uncertain = self.store.uncertain_deliveries(lst.name)
        scope = {f.url for f in feeds}
        self.report.failing_feeds = [
            h
            for h in feed_health(self.config, self.store, self.clock())
            if h.failing and h.url in scope
        ]

    # -- 0. bounces ------------------------------------------------------------------------
    def _bounces(self) -> None:
        """Apply what waits in the bounce mailbox first, so no digest of this run goes to
        an address that just bounced or complained."""
        if not self.config.bounces.mailbox:
            return
        try:
            self.report.bounces = process_mailbox(self.config, self.store)
        except NewsletterError as e:
            logger.warning("bounce mailbox: %s", e)
            self.report.bounces_error = str(e)

    # -- 1. resume -------------------------------------------------------------------------
    def _resume(self, lr: ListRun) -> bool:
        """Finish the list's interrupted digests, oldest first; False if one is still
        unfinished (then no new digest is started)."""
        for record in self.store.unfinished_digests(lr.list_name):
            logger.info("%s: resuming digest %s", lr.list_name, record.id)
            try:
                sent = self._send(record.id)
            except SendError as e:
                lr.error, lr.error_stage = f"digest {record.id}: {e}", "send"
                return False
            lr.resumed.append(sent)
            if sent.pending:
                lr.note = (
                    f"digest {record.id} still has {sent.pending} deliveries pending; no new "
                    "digest until they go (the next run retries)"
                )
                return False
        return True

    def _send(self, digest_id: int) -> SendReport:
        return send_digest(
            self.config,
            self.store,
            digest_id,
            transport_factory=self.transport_factory,
            clock=self.clock,
            sleep=self.sleep or time.sleep,
        )

    # -- 3. new feeds ------------------------------------------------------------------------
    def _adopt(self, lst: ListConfig, lr: ListRun) -> None:
        """Take on the list's feeds that have been fetched but are new to it."""
        adopted = self.store.adopted_feeds(lst.name)
        fetched = [
            f.url
            for f in self.config.feeds_for(lst.name)
            if f.url not in adopted and self.store.feed_state(f.url).last_success_at is not None
        ]
        if not fetched:
            return
        history = self.store.feeds_with_history(lst.name, fetched)
        if history:
            self.store.adopt_feeds(lst.name, sorted(history), "continued")
        new = [u for u in fetched if u not in history]
        if not new:
            return
        policy = lst.backlog
        if policy == "all":
            adoption = self.store.adopt_feeds(lst.name, new, policy)
        elif policy == "none":
            adoption = self.store.adopt_feeds(lst.name, new, policy, hold_back="everything")
        else:
            days = _backlog_days(policy)
            cutoff = self.clock() - timedelta(days=days)
            adoption = self.store.adopt_feeds(
                lst.name, new, policy, hold_back="older", older_than=cutoff
            )
        logger.info(
            "%s: took on %d feeds (backlog %s), %d items held back",
            lst.name,
            len(new),
            policy,
            adoption.held_back,
        )
        lr.adopted.append(adoption)

    # -- 4. due? ------------------------------------------------------------------------------
    def _due(self, lst: ListConfig, lr: ListRun) -> None:
        now = self.clock()
        cadence = parse_cadence(lst.cadence)
        before = self.store.list_state(lst.name)
        state = self.store.start_list(lst.name)
        last_sent = self.store.last_digest_sent_at(lst.name)
        lr.first_run = before is None and last_sent is None
        # the latest of: a digest sent, a due run that found too little, run's first sight
        marks = [t for t in (last_sent, state.checked_at, state.started_at) if t is not None]
        if cadence.kind == "every":
            lr.due = True
            return
        lr.due = is_due(cadence, now, lst.timezone, max(marks))
        lr.next_due = next_slot(cadence, now, lst.timezone)
        if not lr.due:
            lr.note = (
                f"not due ({lr.cadence}, {lst.timezone}); next digest at {_local(lr.next_due)}"
            )

    # -- 5. build and send ------------------------------------------------------------------
    def _build_and_send(self, lst: ListConfig, lr: ListRun) -> None:
        failed = self.ingest_report.failed if self.ingest_report else []
        try:
            plan = plan_digest(self.config, self.store, lst.name, failed=failed)
        except NewsletterError as e:
            lr.error, lr.error_stage = str(e), "build"
            return
        lr.stories = len(plan.digest.entries)
        wanted = max(1, lst.min_items)
        if lr.stories < wanted:
            lr.note = (
                "no new stories"
                if not lr.stories
                else f"{lr.stories} new, fewer than min_items = {wanted}"
            ) + "; nothing sent"
            if self._informed(lst):
                # a scheduled list waits for its next slot; "every run" is not affected
                self.store.mark_list_checked(lst.name)
            return
        try:
            result = write_plan(plan, self.config, self.store)
        except NewsletterError as e:
            lr.error, lr.error_stage = str(e), "build"
            return
        assert result.digest_id is not None
        lr.digest_id = result.digest_id
        lr.folder = str(result.folder or "")
        logger.info("%s: digest %s built with %d stories", lst.name, lr.digest_id, lr.stories)
        try:
            lr.sent = self._send(result.digest_id)
        except SendError as e:
            lr.error, lr.error_stage = f"digest {result.digest_id}: {e}", "send"

    def _informed(self, lst: ListConfig) -> bool:
        """Whether "too few stories" is worth remembering: at least one of the list's feeds
        was fetched this run (if every one failed, the next run should look again)."""
        if self.ingest_report is None:
            return True
        urls = {f.url for f in self.config.feeds_for(lst.name)}
        mine = [r for r in self.ingest_report.results if r.url in urls]
        return not mine or any(r.ok for r in mine)


def _feeds_of(config: Config, lists: list[ListConfig]) -> list[FeedConfig]:
    """The feeds of `lists`, each once, in config order."""
    seen: dict[str, FeedConfig] = {}
    for lst in lists:
        for feed in config.feeds_for(lst.name):
            seen.setdefault(feed.url, feed)
    return list(seen.values())


def _summary(report: IngestReport) -> IngestSummary:
    return IngestSummary(
        feeds=report.feeds,
        not_modified=report.not_modified,
        failed=list(report.failed),
        new=report.new,
        changed=report.changed,
        seconds=report.elapsed,
        fresh=report.fresh,
    )


def _backlog_days(policy: str) -> float:
    """N of "days:N"; ConfigError for anything else."""
    try:
        days = float(policy.split(":", 1)[1])
    except (IndexError, ValueError):
        days = -1.0
    if days < 0:
        raise ConfigError(
            f"backlog {policy!r} not understood; use 'days:N' (N >= 0), 'none' or 'all'"
        )
    return days


def _local(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z") if moment else "?"
