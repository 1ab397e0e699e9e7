"""The send loop of one digest: worker threads, one reused SMTP connection each.

Each worker takes the next row claimed for this sender ('sending', a lease in its name:
rows are claimed a few at a time, so any number of senders, on any hosts, can share one
digest, each row going to one of them), builds its message, sends MAIL, RCPT and the body,
marks the row 'data_sent' just before the final ".", and records the reply ('sent',
'failed', or back to 'pending' for a 4xx) at once. Every step is its own short
transaction; none is held across network I/O. Temporary failures go into the next retry
round; see `newsletter.mail.deliver` for the whole procedure and `newsletter.store.claims`
for what a dead sender leaves.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from newsletter.audience.tokens import Tokens, subscriber_links
from newsletter.commands import command
from newsletter.config import Config
from newsletter.errors import SendError
from newsletter.mail.compose import DigestMessage, Recipient
from newsletter.mail.transport import (
    RETRY_BASE_SECONDS,
    ConnectFailure,
    ConnectionLost,
    PermanentFailure,
    SendPacer,
    TemporaryFailure,
    Transport,
    retry_delays,
)
from newsletter.model import Clock
from newsletter.store import Store
from newsletter.store.deliveries import PendingDelivery

logger = logging.getLogger(__name__)

# A stop asked for by a signal (systemctl stop, Ctrl-C): plain data that a signal handler
# may set without taking a lock; every send loop of the process checks it between messages.
_signalled = False
_live_loops = 0  # send loops under way in this process
_stop_hooks: list[Callable[[], None]] = []  # also told of a stop (e.g. worker processes)
SIGNAL_STOP = "stopped by a signal; the messages in flight were finished"


def request_stop() -> bool:
    """Stop every send of this process after the messages in flight: True if a send (or a
    hook) was under way to take it; False when there is nothing to stop gently."""
    global _signalled
    _signalled = True
    for hook in list(_stop_hooks):
        hook()
    return bool(_live_loops or _stop_hooks)


def stop_requested() -> bool:
    """Whether a signal asked this process to stop."""
    return _signalled


def stop_on_signal(signum: int, frame: object) -> None:
    """A signal handler: a send under way finishes its messages in flight and stops;
    otherwise the signal interrupts as Ctrl-C does."""
    if not request_stop():
        raise KeyboardInterrupt


def on_stop(hook: Callable[[], None]) -> Callable[[], None]:
    """Call `hook` (from a signal handler: keep it to os.kill and the like) on a stop;
    returns the function that forgets it again."""
    _stop_hooks.append(hook)
    return lambda: _stop_hooks.remove(hook)


Progress = Callable[[int, int], None]
TransportFactory = Callable[[], Transport]


@dataclass
class SendReport:
    """What one send of one digest did; `summary_line` is the CLI's final line."""

    digest_id: int
    list_name: str
    sent: int = 0
    failed: int = 0
    skipped_unsubscribed: int = 0
    skipped_other: int = 0  # bounced or no longer confirmed when their turn came
    uncertain: int = 0  # the digest's rows in doubt (DATA ended, no reply): maybe delivered
    bounced: int = 0  # subscribers who became 'bounced' during this run
    retried: int = 0  # temporary failures sent again
    pending: int = 0  # rows still pending at the end (the run stopped early)
    stopped: str = ""  # why the run ended before every row was handled
    dry_run: bool = False
    written: int = 0  # dry run: .eml files written
    folder: str = ""  # dry run: where they are
    elapsed: float = 0.0
    totals: dict[str, int] = field(default_factory=dict)  # the digest's rows by status

    def summary_line(self, config_file: str | Path | None = None) -> str:
        """`sent 9,812, failed 3 (see 'newsletter deliveries --failed'), skipped 41 unsubscribed`
        (the commands with `-c config_file` when given)."""
        if self.dry_run:
            plural = "" if self.written == 1 else "s"
            return f"dry run: wrote {self.written:,} message{plural} to {self.folder}"
        line = f"sent {self.sent:,}, failed {self.failed:,}"
        if self.failed:
            line += f" (see '{command(config_file, 'deliveries --failed')}')"
        line += f", skipped {self.skipped_unsubscribed:,} unsubscribed"
        if self.retried:
            line += f", {self.retried:,} retried after a temporary failure"
        if self.skipped_other:
            line += f", {self.skipped_other:,} no longer confirmed"
        if self.uncertain:
            line += (
                f", {self.uncertain:,} uncertain (DATA ended, no reply recorded; maybe "
                f"delivered: see '{command(config_file, 'deliveries --uncertain')}')"
            )
        if self.stopped:
            line += (
                f"; stopped: {self.stopped}; {self.pending:,} still pending, run "
                f"`{command(config_file, 'send')}` again"
            )
        return line


class ClaimLost(Exception):
    """This sender's lease on a row lapsed and another sender took the row over."""


def sender_id() -> str:
    """Who holds a claim: host, process and a token unique to one send."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def lease_seconds(timeout: float) -> float:
    """How long a claim lasts: ample for one SMTP transaction (connect, login, commands,
    the body and the wait for the reply, each bounded by the socket timeout)."""
    return max(60.0, 10 * timeout)


def recipient_for(config: Config, tokens: Tokens, target: PendingDelivery) -> Recipient:
    """Who a delivery goes to, with their signed unsubscribe and manage links."""
    unsubscribe, manage = subscriber_links(config, tokens, target.subscriber_id, target.link_key)
    return Recipient(
        target.subscriber_id, target.email, target.name, unsubscribe, manage, target.id or None
    )


class SendLoop:
    """One send of one digest: `connections` worker threads, each with its own SMTP link.

    The store's single connection is shared by the workers under `lock`, which serializes
    their short transactions; SMTP I/O happens outside it.
    """

    # a connection that breaks this many times in a row is given up for the round
    MAX_LOSSES = 3

    def __init__(
        self,
        config: Config,
        store: Store,
        message: DigestMessage,
        tokens: Tokens,
        clock: Clock,
        progress: Progress | None,
        report: SendReport,
        sleep: Callable[[float], None],
        senders: Any = None,
    ) -> None:
        self.config = config
        self.senders = senders  # the store's senders lock, held shared by this process
        self.store = store
        self.message = message
        self.tokens = tokens
        self.clock = clock
        self.progress = progress
        self.report = report
        self.lock = threading.Lock()  # the store's one connection: one transaction at a time
        self.stop = threading.Event()
        self.done = 0
        self.total = 0
        # last temporary failure of each job: ("reply", text) for a 4xx answer about this
        # message, ("link", text) when the connection failed, which is nobody's fault
        self.last_failure: dict[int, tuple[str, str]] = {}
        self.retry: list[PendingDelivery] = []
        self.sleep = sleep
        self.owner = sender_id()
        self.lease = timedelta(seconds=lease_seconds(config.smtp.timeout))
        self.retry_at: datetime | None = None  # when this round's failures are retried
        self.digest_id: int | None = None

    def lease_until(self) -> datetime:
        return self.store.clock() + self.lease

    def recover(self) -> int:
        """When nothing is left to claim: settle what dead senders hold (every claim but
        ours, if no other sender is alive; else those whose lease lapsed); the number of
        rows that became pending again. Called under the lock."""
        alone = self.senders is not None and self.senders.alone()
        try:
            released, uncertain = self.store.recover_claims(everything=alone, keep=self.owner)
        finally:
            if alone:
                self.senders.settled()
        if released or uncertain:
            logger.warning(
                "another sender stopped mid-send: %d of its deliveries are pending again, %d "
                "uncertain",
                released,
                uncertain,
            )
        return released

    def finish(self) -> tuple[int, int]:
        """Settle whatever this send still holds (a worker that died of a bug): rows whose
        DATA never ended go back to pending, the others are in doubt; rows it left pending
        for a retry it will not make are free for the next send at once."""
        settled = self.store.release_claims(self.owner)
        if self.digest_id is not None:
            self.store.clear_retry_times(self.digest_id, self.owner)
        return settled

    def stopping(self) -> bool:
        return self.stop.is_set() or _signalled

    def send(self, digest_id: int, factory: TransportFactory) -> None:
        """Send the digest's pending rows (shared with any other sender of it), retrying
        temporary failures in rounds after a pause; a stop asked for by a signal ends it
        after the messages in flight (see `request_stop`)."""
        global _live_loops
        _live_loops += 1
        try:
            self._send(digest_id, factory)
        finally:
            _live_loops -= 1
        if _signalled and self.store.delivery_counts(digest_id)["pending"]:
            self._halt(SIGNAL_STOP)

    def _send(self, digest_id: int, factory: TransportFactory) -> None:
        smtp = self.config.smtp
        limiter = SendPacer(smtp.rate, self.sleep)
        self.digest_id = digest_id
        self.total = self.store.delivery_counts(digest_id)["pending"]
        delays = retry_delays(smtp.max_retries)
        jobs: list[PendingDelivery] = []
        for round_no in range(len(delays) + 1):
            if self.stopping():
                break
            if round_no:
                if not jobs:
                    break
                logger.info("retrying %d deliveries in %.0f s", len(jobs), delays[round_no - 1])
                self.sleep(delays[round_no - 1])
                self.report.retried += len(jobs)
            # this sender retries its own failures after the pause; meanwhile batches (its
            # own and other senders') leave those rows alone. After the last round they
            # wait as long again, for a later send.
            pause = delays[min(round_no, len(delays) - 1)] if delays else RETRY_BASE_SECONDS
            self.retry_at = self.store.clock() + timedelta(seconds=pause)
            source = _Source(self, digest_id, jobs, _batch_size(smtp.connections, smtp.rate))
            jobs = self._round(source, factory, limiter)
        if self.stopping():
            return  # halted: what is left stays pending, the reason is in the report
        for job in jobs:
            kind, text = self.last_failure.get(job.id, ("link", "no connection"))
            if kind == "reply":
                # the server kept saying "later" about this message: give up on it
                with self.lock:
                    # the row's attempts column says how many tries that was
                    self.store.mark_failed(job.id, f"still refused after retries: {text}")
                    self.report.failed += 1
                    self._tick()
            elif not self.report.stopped:
                # the link itself kept failing: leave the rows pending for a rerun
                self.report.stopped = text

    def _round(
        self, source: _Source, factory: TransportFactory, limiter: SendPacer
    ) -> list[PendingDelivery]:
        """One pass: this sender's retries, then rows claimed batch by batch until none is
        left; returns the jobs to try again (or still untried)."""
        self.retry = []
        workers = [
            threading.Thread(
                target=self._worker, args=(source, factory, limiter), name=f"send-{i}", daemon=True
            )
            for i in range(max(1, self.config.smtp.connections))
        ]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.join()
        except KeyboardInterrupt:
            # let each connection finish its message, so no row is left in flight
            self.stop.set()
            for worker in workers:
                worker.join()
            raise
        # jobs no connection got to (all of them failed): pending again, tried next round
        for job in source.drain():
            self._release(job, "link", "no connection took it")
        return self.retry

    def _worker(self, source: _Source, factory: TransportFactory, limiter: SendPacer) -> None:
        transport: Transport | None = None
        losses = 0
        try:
            while not self.stopping() and losses < self.MAX_LOSSES:
                job = source.next()
                if job is None:
                    return
                delay = limiter.reserve()
                if delay > 0:
                    self.sleep(delay)
                if job.id in source.unclaimed:  # a retry: claimed again one by one
                    with self.lock:
                        claim = self.store.claim_delivery(job.id, self.owner, self.lease_until())
                    if claim != "claimed":
                        with self.lock:
                            self._skipped(claim)
                        continue
                try:
                    rendered = self.message.render(
                        recipient_for(self.config, self.tokens, job), self.clock()
                    )
                except SendError as e:  # this one message cannot be built: record, go on
                    self._failed(job, str(e), bounce=False)
                    continue
                try:
                    if transport is None:
                        transport = factory()
                    sender = self.message.envelope_sender(job.id)
                    transport.send(
                        sender,
                        job.email,
                        rendered.data,
                        smtp_safe=True,
                        before_end=functools.partial(self._data_ends, job),
                    )
                except ClaimLost:
                    # another sender took the row over after our lease lapsed; the "." was
                    # not sent, so the server dropped our copy: theirs is the only one
                    logger.warning("delivery to %s was taken over by another sender", job.email)
                    with self.lock:
                        self._tick()
                except ConnectFailure as e:
                    self._release(job, "link", str(e))
                    if e.permanent:
                        self._halt(str(e))
                    return  # this worker is done; the others carry on
                except ConnectionLost as e:
                    losses += 1
                    if e.after_data:
                        self._uncertain(job, str(e))
                    else:
                        self._release(job, "link", str(e))
                except TemporaryFailure as e:
                    self._release(job, "reply", str(e))
                except PermanentFailure as e:
                    if e.stage == "MAIL":  # the sender was refused: so would every message be
                        self._release(job, "reply", str(e))
                        self._halt(
                            f"the server refused the sender ({e}); check the list's from "
                            "and [bounces] address"
                        )
                        return
                    self._failed(job, str(e))
                else:
                    losses = 0
                    self._mark_sent(job, rendered.message_id)
        except Exception as e:  # a bug, not a recipient's problem: stop, leave rows resumable
            logger.exception("send worker failed")
            self._halt(f"unexpected error {e!r}; see the log")
        finally:
            if transport is not None:
                transport.close()

    def _data_ends(self, job: PendingDelivery) -> None:
        """Just before the final ".": from now on the message may be delivered."""
        with self.lock:
            if not self.store.mark_data_sent(job.id, self.owner, self.lease_until()):
                raise ClaimLost(job.email)

    def _mark_sent(self, job: PendingDelivery, message_id: str) -> None:
        with self.lock:
            self.store.mark_sent(job.id, message_id, self.owner, reset_bounces=job.bounce_count > 0)
            self.report.sent += 1
            self._tick()

    def _skipped(self, claim: str) -> None:
        if claim == "unsubscribed":
            self.report.skipped_unsubscribed += 1
        elif claim != "taken":
            self.report.skipped_other += 1
        self._tick()

    def _release(self, job: PendingDelivery, kind: str, error: str) -> None:
        """A temporary failure: the row goes back to pending, the job to the next round."""
        with self.lock:
            self.store.release_delivery(job.id, self.owner, error, self.retry_at)
            self.last_failure[job.id] = (kind, error)
            self.retry.append(job)

    def _uncertain(self, job: PendingDelivery, error: str) -> None:
        """The link broke after the end of the DATA, before the reply: maybe delivered."""
        logger.warning("delivery to %s uncertain: %s", job.email, error)
        with self.lock:
            self.store.mark_uncertain(job.id, self.owner, error)
            self._tick()

    def _failed(self, job: PendingDelivery, error: str, bounce: bool = True) -> None:
        with self.lock:
            self.store.mark_failed(job.id, error)
            self.report.failed += 1
            if bounce and self.store.record_bounce(
                job.subscriber_id, self.config.smtp.bounce_after
            ):
                self.report.bounced += 1
                logger.info("%s is now bounced: %s", job.email, error)
            self._tick()

    def _halt(self, reason: str) -> None:
        self.stop.set()
        with self.lock:
            if not self.report.stopped:
                self.report.stopped = reason

    def _tick(self) -> None:
        """Count one handled row and report progress (called under the lock)."""
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def _batch_size(connections: int, rate: float) -> int:
    """Rows to claim at a time: enough to keep every connection busy between claims, few
    enough that a paced send (`smtp.rate`) sends them well within their lease."""
    size = 2 * max(1, connections)
    if rate > 0:
        size = min(size, max(1, int(rate * 15)))
    return size


class _Source:
    """Where a round's workers take their next job: first this sender's own retries (rows
    it released, claimed again one by one), then the digest's pending rows, claimed in
    batches under the loop's lock, skipped subscribers counted as they are found."""

    def __init__(self, loop: SendLoop, digest_id: int, retries: list[PendingDelivery], size: int):
        self.loop = loop
        self.digest_id = digest_id
        self.size = size
        self.unclaimed = {job.id for job in retries}
        self.ready: deque[PendingDelivery] = deque(retries)
        self.exhausted = False
        self.guard = threading.Lock()

    def next(self) -> PendingDelivery | None:
        with self.guard:
            while not self.ready and not self.exhausted:  # a batch may hold only skips
                self._claim()
            return self.ready.popleft() if self.ready else None

    def _claim(self) -> None:
        loop = self.loop
        with loop.lock:
            batch = loop.store.claim_batch(
                self.digest_id, loop.owner, loop.lease_until(), self.size
            )
            if not batch and loop.recover():
                # rows a dead sender held are pending again: take them too
                batch = loop.store.claim_batch(
                    self.digest_id, loop.owner, loop.lease_until(), self.size
                )
            for status, count in batch.skipped.items():
                for _ in range(count):
                    loop._skipped(status)
        if not batch:
            self.exhausted = True
        self.ready.extend(batch.claimed)

    def drain(self) -> list[PendingDelivery]:
        """Claimed jobs no worker took (every connection failed)."""
        with self.guard:
            left = [job for job in self.ready if job.id not in self.unclaimed]
            untried = [job for job in self.ready if job.id in self.unclaimed]
            self.ready.clear()
        self.loop.retry.extend(untried)  # still pending: claimed again next round
        return left
