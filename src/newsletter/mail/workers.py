"""`newsletter send --workers N`: N processes on this host send the same digest at once.

Each worker is a process of its own, as a `newsletter send` on another host would be: its
own store connection, its own `smtp.connections` SMTP connections, its own hold on the
senders lock. They share the digest's rows through batch claims (`store.claim_batch`), so
each subscriber gets one copy whichever worker sends it. The parent writes the delivery
rows and the operator's resets first, so every worker finds the same audience, then adds
up the workers' reports. A worker that dies leaves its rows to the others (see
`SendLoop.recover`).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from newsletter.config import Config
from newsletter.errors import SendError
from newsletter.mail.deliver import digests_to_send, recover, send_digest
from newsletter.mail.sendloop import SendReport
from newsletter.store import Store, open_store

logger = logging.getLogger(__name__)

MAX_WORKERS = 32

# the report fields that add up across workers
_SUMS = ("sent", "failed", "skipped_unsubscribed", "skipped_other", "bounced", "retried")


def send_in_parallel(
    config: Config,
    store: Store,
    list_name: str | None,
    digest: str | int | None,
    workers: int,
    *,
    resend_uncertain: bool = False,
    retry_failed: bool = False,
) -> list[SendReport]:
    """What `newsletter send --workers N` does: the digests `digests_to_send` picks, each
    sent by `workers` processes at once."""
    if not 1 <= workers <= MAX_WORKERS:
        raise SendError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    list_config = config.list(list_name)
    recover(store)
    records = digests_to_send(
        store,
        list_config.name,
        digest,
        resend_uncertain=resend_uncertain,
        retry_failed=retry_failed,
    )
    reports = []
    for record in records:
        store.create_deliveries(record.id)  # once, here: every worker sends to this audience
        if resend_uncertain:
            store.reset_deliveries(record.id, "uncertain")
        if retry_failed:
            store.reset_deliveries(record.id, "failed")
        reports.append(_send_one(config, store, record.id, workers))
    return reports


def _send_one(config: Config, store: Store, digest_id: int, workers: int) -> SendReport:
    # spawn, not fork: a forked child would share the parent's database connection
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_worker, config, digest_id) for _ in range(workers)]
        results = [future.result() for future in futures]
    merged = SendReport(digest_id, results[0]["list_name"])
    for result in results:
        for name in _SUMS:
            setattr(merged, name, getattr(merged, name) + result[name])
        merged.stopped = merged.stopped or result["stopped"]
        merged.elapsed = max(merged.elapsed, result["elapsed"])
    store.mark_digest_sent(digest_id)  # the last worker did; a no-op then
    merged.totals = store.delivery_counts(digest_id)
    merged.pending = merged.totals["pending"]
    merged.uncertain = merged.totals["uncertain"]
    return merged


def _worker(config: Config, digest_id: int) -> dict[str, Any]:
    """One worker process: its own store connection and `send_digest`; its report."""
    with open_store(config) as store:
        report = send_digest(config, store, digest_id)
    return dataclasses.asdict(report)
