"""The resumable send loop: one digest to every confirmed subscriber of its list, once.

Before any mail leaves, one delivery row per (digest, confirmed subscriber) is written in
one transaction. Each row then moves pending -> sending -> data_sent -> sent | failed
around its own SMTP transaction, each step its own short transaction (never held across
network I/O, so the web app can keep writing to the same SQLite file): 'data_sent' is
written just before the final "." of the DATA. A subscriber who unsubscribed after the
rows were written is skipped at their turn.

After a crash, a rerun first settles what the dead sender held (see
`newsletter.store.claims`): a row whose DATA never ended goes back to pending, since the
server dropped that message, and is sent like any other; a row whose DATA ended with no
reply recorded may have been delivered: it is "uncertain", not resent, and reported on
every `send` and `run` until the operator resends it (`resend_uncertain=True`, CLI:
--resend-uncertain, accepting a possible duplicate for that person) or dismisses it
(`newsletter deliveries --dismiss`). `retry_failed=True` gives failed rows another chance.

Temporary failures (4xx, a dropped link) are retried in rounds after growing pauses, at
most `smtp.max_retries` times; permanent ones (5xx) are recorded at once, and a subscriber
refused `smtp.bounce_after` times in a row becomes 'bounced'.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from newsletter.audience.subscribers import normalize_email
from newsletter.audience.tokens import Tokens
from newsletter.commands import command
from newsletter.config import Config, ListConfig
from newsletter.errors import SendError
from newsletter.mail.compose import (
    DigestMessage,
    DkimSigner,
    ReturnPath,
    build_message,
    missing_placeholders,
    read_bodies,
)
from newsletter.mail.sendloop import (
    Clock,
    Progress,
    SendLoop,
    SendReport,
    TransportFactory,
    recipient_for,
)
from newsletter.mail.subject import subject_line
from newsletter.mail.transport import smtp_factory
from newsletter.model import utcnow as _utcnow
from newsletter.render.placeholders import Placeholders, fill, read_placeholders
from newsletter.render.renderer import public_links
from newsletter.store import Store, UncertainDelivery
from newsletter.store.deliveries import DigestRecord, PendingDelivery

logger = logging.getLogger(__name__)

__all__ = [
    "SendReport",
    "digest_folder",
    "digest_subject",
    "digests_to_send",
    "dry_run_to",
    "prepare_message",
    "recover",
    "send",
    "send_digest",
    "send_test",
    "uncertain_lines",
]


# -- choosing what to send ---------------------------------------------------------------
def digests_to_send(
    store: Store,
    list_name: str,
    digest: str | int | None = None,
    *,
    resend_uncertain: bool = False,
    retry_failed: bool = False,
    config_file: str | Path | None = None,
) -> list[DigestRecord]:
    """The digests a `send` means: an id, "latest", or (None) every digest of the list with
    pending deliveries (crash recovery) followed by the latest one if never sent; with
    `resend_uncertain`, also every digest with uncertain rows, and with `retry_failed`
    the latest digest with failed rows, sent or not. Errors name commands with
    `-c config_file`."""
    if digest is not None and str(digest) != "latest":
        try:
            record = store.get_digest(int(digest))
        except ValueError:
            raise SendError(f"--digest must be a number or 'latest', got {digest!r}") from None
        if record is None:
            hint = command(config_file, "digests")
            raise SendError(f"no digest {digest}; see the ids with `{hint}`")
        if record.list_name != list_name:
            raise SendError(
                f"digest {record.id} is of list {record.list_name!r}, not {list_name!r}; "
                f"pass --list {record.list_name}"
            )
        return [record]
    latest = store.latest_digest(list_name)
    if latest is None:
        raise SendError(
            f"list {list_name!r} has no digest yet; build one with "
            f"`{command(config_file, 'build')}`"
        )
    if digest == "latest":
        return [latest]
    chosen = store.pending_digests(list_name)
    if latest.sent_at is None and all(d.id != latest.id for d in chosen):
        if not store.has_deliveries(latest.id):
            chosen.append(latest)
    if resend_uncertain:
        chosen.extend(store.digests_with(list_name, "uncertain"))
    if retry_failed:
        chosen.extend(store.digests_with(list_name, "failed")[-1:])
    unique = {d.id: d for d in chosen}
    return sorted(unique.values(), key=lambda d: (d.built_at, d.id))


def uncertain_lines(
    list_name: str, rows: list[UncertainDelivery], config_file: str | Path | None = None
) -> list[str]:
    """One line per delivery in doubt, then how to settle them (commands that run as
    printed, with `-c config_file` when given); empty when there are none."""
    if not rows:
        return []
    lines = [
        f"{list_name}: UNCERTAIN digest {u.digest_id} to {u.email}: its DATA ended"
        f"{_at(u.data_ended_at)} with no reply recorded (maybe delivered)"
        for u in rows
    ]
    many = len(rows) != 1
    resend = command(config_file, f"send --list {list_name} --resend-uncertain")
    dismiss = command(
        config_file,
        f'deliveries --list {list_name} --dismiss all --reason "checked the mail server log"',
    )
    lines.append(
        f"{list_name}: {len(rows)} uncertain deliver{'ies are' if many else 'y is'} reported on "
        f"every send and run until resent ({resend}) or dismissed ({dismiss})"
    )
    return lines


def _no_digest(config: Config, digest_id: int) -> SendError:
    return SendError(
        f"no digest {digest_id}; see the ids with `{command(config.source, 'digests')}`"
    )


def _at(moment: datetime | None) -> str:
    return f" at {moment.strftime('%Y-%m-%d %H:%M:%S UTC')}" if moment else ""


@contextmanager
def joined(store: Store, senders: Any = None) -> Iterator[Any]:
    """The store's senders lock, held shared (this process counts as a live sender): the
    one given, already held, or a new one for the block."""
    if senders is not None:
        yield senders
        return
    with store.senders_lock() as held:
        yield held


def recover(store: Store, senders: Any = None, digest_id: int | None = None) -> None:
    """Settle the rows dead senders left claimed (see `newsletter.store.claims`): every one
    when no other sender is alive (this process alone holds the senders lock, so any claim
    left is a dead process's, and no one will retry the rows of `digest_id` it released
    for later), else those whose lease lapsed."""
    with joined(store, senders) as held:
        alone = held.alone()
        try:
            released, uncertain = store.recover_claims(everything=alone)
            if alone and digest_id is not None:
                store.clear_retry_times(digest_id)
        finally:
            if alone:
                held.settled()
    if released or uncertain:
        logger.warning(
            "a sender stopped mid-send: %d deliveries whose DATA never ended are pending "
            "again, %d whose DATA ended are uncertain",
            released,
            uncertain,
        )


def digest_folder(config: Config, record: DigestRecord) -> Path:
    """The rendered folder of a digest (its stored path, relative to the config's folder)."""
    return config.resolve(record.path)


def digest_subject(config: Config, list_config: ListConfig, record: DigestRecord) -> str:
    """The subject stored with the digest, else the list's template (or the site
    language's) filled from the digest's digest.json (first story's title as {headline},
    the story count); see `newsletter.mail.subject` for the length rule."""
    if record.subject:
        return record.subject
    headline, count = _headline(digest_folder(config, record) / "digest.json")
    when = record.built_at.astimezone(ZoneInfo(list_config.timezone))
    return subject_line(
        list_config.subject,
        config.site.language,
        site=config.site.name,
        headline=headline,
        count=count or record.story_count or record.item_count,
        when=when,
    )


def _headline(path: Path) -> tuple[str, int]:
    """(first story title, number of stories) from a digest.json; ("", 0) if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        titles = [i.get("title", "") for s in data.get("sections", []) for i in s.get("items", [])]
        return next((t for t in titles if t), ""), int(data.get("stories") or len(titles))
    except (OSError, ValueError, TypeError, AttributeError) as e:
        logger.warning("no headline for the subject from %s: %s", path, e)
        return "", 0


def prepare_message(config: Config, record: DigestRecord) -> DigestMessage:
    """The digest's shared message parts, from its rendered folder; SendError if the
    bodies lack an unsubscribe link."""
    list_config = config.list(record.list_name)
    folder = digest_folder(config, record)
    html_body, text_body = read_bodies(folder, config.source)
    placeholders = read_placeholders(folder)
    legacy = placeholders is None
    if placeholders is None:
        # Built by an older version, whose fixed placeholders feed text could imitate: the
        # bodies get the site's token-less pages instead of personal links (the
        # List-Unsubscribe header, which no feed reaches, stays personal).
        logger.warning(
            "digest %s was built by an older version: its links to unsubscribe and manage "
            "lead to the site's pages, not personal ones",
            record.id,
        )
        public = public_links(config)
        html_body = fill(html_body, None, public)
        text_body = fill(text_body, None, public)
        placeholders = Placeholders.fresh()  # in neither body: nothing is filled in
    for name, body in (("digest.html", html_body), ("digest.txt", text_body)):
        missing = missing_placeholders(body, placeholders)
        if legacy and public_links(config)["unsubscribe_url"] in body:
            continue  # an older digest's unsubscribe link, now to the token-less page
        if missing:
            raise SendError(
                f"{name} of digest {record.id} has no {{{{ {missing[0]} }}}} link; every "
                "message needs a visible unsubscribe link: check the template"
            )
    return build_message(
        config,
        list_config,
        digest_subject(config, list_config, record),
        html_body,
        text_body,
        placeholders,
        dkim=DkimSigner.from_config(config),
        return_path=ReturnPath.from_config(config),
    )


# -- sending -------------------------------------------------------------------------------
def send_digest(
    config: Config,
    store: Store,
    digest_id: int,
    *,
    transport_factory: TransportFactory | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    clock: Clock = _utcnow,
    sleep: Callable[[float], None] = time.sleep,
    resend_uncertain: bool = False,
    retry_failed: bool = False,
    senders: Any = None,
) -> SendReport:
    """Send (or with `dry_run`, write as .eml) one digest to its list; resumable. Other
    senders (processes, hosts) may work the same digest at once: each row goes to one.

    While it sends, the process holds the store's senders lock shared (`senders`, if the
    caller already does); rows a dead sender left are settled first (see `recover`)."""
    started = time.monotonic()
    record = store.get_digest(digest_id)
    if record is None:
        raise _no_digest(config, digest_id)
    tokens = Tokens.from_config(config, clock)
    message = prepare_message(config, record)
    report = SendReport(digest_id, record.list_name, dry_run=dry_run)
    if dry_run:
        _dry_run(config, store, record, message, tokens, clock, report)
        report.elapsed = time.monotonic() - started
        return report
    factory = transport_factory or smtp_factory(config)
    with joined(store, senders) as held:
        recover(store, held, digest_id)
        if store.create_deliveries(digest_id):
            logger.info("digest %s: delivery rows written", digest_id)
        if resend_uncertain:
            store.reset_deliveries(digest_id, "uncertain")
        if retry_failed:
            store.reset_deliveries(digest_id, "failed")
        run = SendLoop(config, store, message, tokens, clock, progress, report, sleep, held)
        try:
            run.send(digest_id, factory)
        finally:
            run.finish()
    store.mark_digest_sent(digest_id)
    report.totals = store.delivery_counts(digest_id)
    report.pending = report.totals["pending"]
    report.uncertain = report.totals["uncertain"]
    report.elapsed = time.monotonic() - started
    logger.info("digest %s: %s", digest_id, report.summary_line())
    return report


def send_test(
    config: Config,
    store: Store,
    digest_id: int,
    address: str,
    *,
    transport_factory: TransportFactory | None = None,
    clock: Clock = _utcnow,
) -> str:
    """Send the real digest to one address (`send --to`), recorded nowhere; its Message-ID.

    If the address is on the list its links are its own; otherwise they carry id 0, which
    the web app rejects as unknown.
    """
    record = store.get_digest(digest_id)
    if record is None:
        raise _no_digest(config, digest_id)
    email = normalize_email(address)
    tokens = Tokens.from_config(config, clock)
    message = prepare_message(config, record)
    subscriber = store.get_subscriber((record.list_name, email))
    subscriber_id = subscriber.id if subscriber else 0
    target = PendingDelivery(
        0,
        subscriber_id,
        email,
        subscriber.name if subscriber else "",
        0,
        link_key=subscriber.link_key if subscriber else "",
    )
    rendered = message.render(recipient_for(config, tokens, target), clock())
    transport = (transport_factory or smtp_factory(config))()
    try:
        transport.send(message.envelope_sender(None), email, rendered.data, smtp_safe=True)
    finally:
        transport.close()
    return rendered.message_id


def dry_run_to(
    config: Config, store: Store, digest_id: int, address: str, *, clock: Clock = _utcnow
) -> SendReport:
    """What `send --to` would send to `address`, written as one .eml; nothing is sent or
    recorded (`send --dry-run --to`)."""
    record = store.get_digest(digest_id)
    if record is None:
        raise _no_digest(config, digest_id)
    email = normalize_email(address)
    message = prepare_message(config, record)
    subscriber = store.get_subscriber((record.list_name, email))
    target = PendingDelivery(
        0, subscriber.id if subscriber else 0, email, subscriber.name if subscriber else "", 0
    )
    tokens = Tokens.from_config(config, clock)
    rendered = message.render(recipient_for(config, tokens, target), clock())
    folder = _dry_run_folder(config, record)
    _write_private(folder / _eml_name(target), rendered.data)
    return SendReport(record.id, record.list_name, dry_run=True, written=1, folder=str(folder))


def _dry_run(
    config: Config,
    store: Store,
    record: DigestRecord,
    message: DigestMessage,
    tokens: Tokens,
    clock: Clock,
    report: SendReport,
) -> None:
    """Write what a send would send as .eml files; no state changes.

    The files hold working unsubscribe and manage links, so only their owner may read them.
    """
    folder = _dry_run_folder(config, record)
    if store.has_deliveries(record.id):
        targets = [
            p
            for p in store.pending_deliveries(record.id)
            if (s := store.get_subscriber(p.subscriber_id)) is not None and s.status == "confirmed"
        ]
    else:
        targets = [
            PendingDelivery(0, s.id, s.email, s.name, 0, link_key=s.link_key)
            for s in store.list_subscribers(record.list_name, "confirmed")
        ]
    for target in targets:
        rendered = message.render(recipient_for(config, tokens, target), clock())
        _write_private(folder / _eml_name(target), rendered.data)
        report.written += 1
    report.folder = str(folder)


def _dry_run_folder(config: Config, record: DigestRecord) -> Path:
    """The digest's dry-run folder, its owner's alone: its files hold working unsubscribe
    and manage links."""
    folder = digest_folder(config, record) / "dry-run"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (mode 0600, also when it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)


def _eml_name(target: PendingDelivery) -> str:
    safe = re.sub(r"[^A-Za-z0-9._@+-]", "_", target.email)
    return f"{target.subscriber_id:06d}-{safe}.eml"


def send(
    config: Config,
    store: Store,
    list_name: str | None = None,
    digest: str | int | None = None,
    *,
    dry_run: bool = False,
    to: str | None = None,
    transport_factory: TransportFactory | None = None,
    progress: Progress | None = None,
    clock: Clock = _utcnow,
    resend_uncertain: bool = False,
    retry_failed: bool = False,
) -> list[SendReport]:
    """What `newsletter send` does: pick the digests (see `digests_to_send`) and send each.

    With `to`, the first chosen digest (else the latest) goes to that one address and
    nothing is recorded; the report then has sent=1. With `to` and `dry_run` that one
    message is written as .eml instead: a dry run never opens an SMTP connection.
    """
    list_config = config.list(list_name)
    if not dry_run and to is None:
        recover(store)  # rows a dead sender held may make a digest unfinished
    records = digests_to_send(
        store,
        list_config.name,
        digest,
        resend_uncertain=resend_uncertain and not dry_run,
        retry_failed=retry_failed and not dry_run,
        config_file=config.source,
    )
    if to is not None:
        # a test copy of an already sent digest is fine: default to the latest one
        records = records or digests_to_send(
            store, list_config.name, "latest", config_file=config.source
        )
        if dry_run:  # never a connection: the one message is written as .eml
            return [dry_run_to(config, store, records[0].id, to, clock=clock)]
        send_test(
            config, store, records[0].id, to, transport_factory=transport_factory, clock=clock
        )
        return [SendReport(records[0].id, list_config.name, sent=1)]
    return [
        send_digest(
            config,
            store,
            record.id,
            transport_factory=transport_factory,
            dry_run=dry_run,
            progress=progress,
            clock=clock,
            resend_uncertain=resend_uncertain,
            retry_failed=retry_failed,
        )
        for record in records
    ]
