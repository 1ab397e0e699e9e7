"""`newsletter send --workers N`: N processes on this host send the same digest at once.

Each worker is a process of its own, as a `newsletter send` on another host would be: its
own store connection, its own `smtp.connections` SMTP connections, its own hold on the
senders lock. They share the digest's rows through batch claims (`store.claim_batch`), so
each subscriber gets one copy whichever worker sends it. The parent writes the delivery
rows and the operator's resets first, so every worker finds the same audience, then adds
up the workers' reports.

Each worker is a child process of `newsletter.children`, on its own: one that dies (the
OOM killer, a kill -9) leaves its rows to the others (see `SendLoop.recover`) and the
others go on; the command then reports the send as stopped early (exit 4). A Ctrl-C or a
systemd stop reaches every worker, and each finishes the messages it has in flight. If the
parent is killed, each worker finishes its share and ends.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import signal
import subprocess
from typing import Any

from newsletter.children import read_result, replay, send_job, start_child
from newsletter.config import Config
from newsletter.errors import SendError
from newsletter.mail.deliver import digests_to_send, recover, send_digest
from newsletter.mail.sendloop import (
    SIGNAL_STOP,
    SendReport,
    on_stop,
    stop_on_signal,
    stop_requested,
)
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
        reports.append(_send_one(config, store, list_config.name, record.id, workers))
    return reports


def _send_one(
    config: Config, store: Store, list_name: str, digest_id: int, workers: int
) -> SendReport:
    children = [start_child() for _ in range(workers)]
    for n, child in enumerate(children):
        assert child.stdin is not None
        send_job(child.stdin, n, _worker, (config, digest_id))
        child.stdin.close()  # one job each: the child ends after it
    results, lost = _collect(children)
    merged = SendReport(digest_id, list_name)
    for result in results:
        for name in _SUMS:
            setattr(merged, name, getattr(merged, name) + result[name])
        merged.stopped = merged.stopped or result["stopped"]
        merged.elapsed = max(merged.elapsed, result["elapsed"])
    if lost and stop_requested():  # stopped before they could say so themselves
        merged.stopped = merged.stopped or SIGNAL_STOP
    elif lost:
        merged.stopped = merged.stopped or (
            f"{len(lost)} of {workers} sender processes died ({', '.join(lost)}); the others "
            "took over their rows"
        )
    store.mark_digest_sent(digest_id)  # the last worker did, unless rows are left
    merged.totals = store.delivery_counts(digest_id)
    merged.pending = merged.totals["pending"]
    merged.uncertain = merged.totals["uncertain"]
    return merged


def _collect(children: list[subprocess.Popen[bytes]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each worker's report, and how each worker without one ended. On a Ctrl-C or SIGTERM
    the workers are stopped too (each finishes the messages it has in flight) and waited
    for, then the interruption goes on up to the command."""
    results: list[dict[str, Any]] = []
    lost: list[str] = []

    def stop_children() -> None:  # a systemd stop of this process alone reaches them too
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    forget = on_stop(stop_children)
    try:
        for child in children:
            assert child.stdout is not None
            try:
                _, report, records = read_result(child.stdout)
            except (EOFError, OSError, ValueError, pickle.UnpicklingError):
                code = child.wait()
                lost.append(f"signal {-code}" if code < 0 else f"exit {code}")
                continue
            replay(records)
            results.append(report)
            child.wait()
    except KeyboardInterrupt:
        stop_children()
        for child in children:
            child.wait()
        raise
    finally:
        forget()
    return results, lost


def _worker(config: Config, digest_id: int) -> dict[str, Any]:
    """One worker process: its own store connection and `send_digest`; its report. A stop
    (SIGTERM, or Ctrl-C on the terminal) ends its send after the messages in flight."""
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    with open_store(config) as store:
        report = send_digest(config, store, digest_id)
    return dataclasses.asdict(report)
