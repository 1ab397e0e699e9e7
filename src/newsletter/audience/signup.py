"""The rules behind the subscription pages: double opt-in, confirm, leave, come back, export.

Nothing here knows about HTTP. The web app calls these functions and turns their outcomes
into pages; mail is returned as a `MailJob` for the caller to compose and send, so the
answer to a request never depends on whether (or how fast) a message went out.

Throttling uses the subscriber's `confirm_sent_at` as "last mail the web app sent to this
address": a pending address gets the confirmation again at most every PENDING_RESEND, a
confirmed one gets an "already subscribed" note (with its manage link) at most every
NOTICE_RESEND, so the form cannot be used to flood someone's inbox.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from newsletter.audience.subscribers import normalize_email
from newsletter.model import Subscriber
from newsletter.store import Store

logger = logging.getLogger(__name__)

PENDING_RESEND = timedelta(minutes=10)
NOTICE_RESEND = timedelta(hours=24)

# MailJob kinds, each a template pair under templates/mail/
CONFIRM = "confirm"
WELCOME = "welcome"
MANAGE_LINK = "manage_link"

# Outcome states
CHANGED = "changed"  # the action took effect now
ALREADY = "already"  # nothing to do: the subscriber is already in that state
USED = "used"  # a confirmation link whose subscriber left since: not honoured again
NEEDS_OPTIN = "needs_optin"  # coming back needs a fresh double opt-in
MISSING = "missing"  # the link names no subscriber (removed, or a test send)


@dataclass(frozen=True)
class MailJob:
    """A message the caller should compose and send to one subscriber."""

    kind: str  # CONFIRM | WELCOME | MANAGE_LINK
    subscriber: Subscriber
    reason: str = ""  # MANAGE_LINK: "subscribe_again" | "requested"


@dataclass(frozen=True)
class Outcome:
    """What an action did, and the subscriber as it is afterwards (None if MISSING)."""

    state: str
    subscriber: Subscriber | None = None
    mail: MailJob | None = None


def request_subscription(
    store: Store, list_name: str, email: str, source: str = "web"
) -> MailJob | None:
    """Handle a subscribe form: the mail to send, if any. SubscriberError if invalid.

    New, unsubscribed and bounced addresses become pending and get a confirmation link;
    pending ones get it again (throttled); confirmed ones get a throttled note saying they
    are already subscribed. The caller answers all of these the same way.
    """
    address = normalize_email(email)
    with store.transaction():
        subscriber = store.get_subscriber((list_name, address))
        if subscriber is None:
            subscriber = store.add_subscriber(list_name, address, "", "pending", source)
            logger.debug("new pending subscriber %s on %s", subscriber.id, list_name)
        elif subscriber.status == "confirmed":
            return _throttled(store, subscriber, MANAGE_LINK, NOTICE_RESEND, "subscribe_again")
        elif subscriber.status in ("unsubscribed", "bounced"):
            # a fresh opt-in: nothing is sent to them until they confirm again
            subscriber = store.set_status(subscriber.id, "pending")
        return _throttled(store, subscriber, CONFIRM, PENDING_RESEND)


def request_manage_link(store: Store, list_name: str, email: str) -> MailJob | None:
    """Handle "email me my link": a MANAGE_LINK job if the address is on the list.

    SubscriberError if the address is not valid; None when unknown or throttled (the
    caller answers the same in every case).
    """
    address = normalize_email(email)
    with store.transaction():
        subscriber = store.get_subscriber((list_name, address))
        if subscriber is None:
            return None
        return _throttled(store, subscriber, MANAGE_LINK, PENDING_RESEND, "requested")


def _throttled(
    store: Store, subscriber: Subscriber, kind: str, every: timedelta, reason: str = ""
) -> MailJob | None:
    last = store.confirm_sent_at(subscriber.id)
    if last is not None and store.clock() - last < every:
        logger.debug("not mailing subscriber %s again yet (last %s)", subscriber.id, last)
        return None
    # stamped before the mail is queued: two quick requests must not both send
    store.mark_confirm_sent(subscriber.id)
    return MailJob(kind, subscriber, reason)


def confirm(store: Store, subscriber_id: int) -> Outcome:
    """POST of a confirmation link: pending -> confirmed, with a WELCOME job.

    A link is only honoured while its subscriber is pending: after they leave, an old
    confirmation mail must not be able to sign them up again (USED).
    """
    with store.transaction():
        subscriber = store.get_subscriber(subscriber_id)
        if subscriber is None:
            return Outcome(MISSING)
        if subscriber.status == "confirmed":
            return Outcome(ALREADY, subscriber)
        if subscriber.status != "pending":
            return Outcome(USED, subscriber)
        subscriber = store.set_status(subscriber_id, "confirmed")
    logger.info("subscriber %s confirmed on %s", subscriber_id, subscriber.list_name)
    return Outcome(CHANGED, subscriber, MailJob(WELCOME, subscriber))


def unsubscribe(store: Store, subscriber_id: int) -> Outcome:
    """Unsubscribe at once (idempotent: a second request is ALREADY)."""
    with store.transaction():
        subscriber = store.get_subscriber(subscriber_id)
        if subscriber is None:
            return Outcome(MISSING)
        if subscriber.status == "unsubscribed":
            return Outcome(ALREADY, subscriber)
        subscriber = store.set_status(subscriber_id, "unsubscribed")
    logger.info("subscriber %s unsubscribed from %s", subscriber_id, subscriber.list_name)
    return Outcome(CHANGED, subscriber)


def can_resubscribe(subscriber: Subscriber) -> bool:
    """True for someone who confirmed once and then unsubscribed."""
    return subscriber.status == "unsubscribed" and subscriber.confirmed_at is not None


def resubscribe(store: Store, subscriber_id: int) -> Outcome:
    """Undo an unsubscribe from a signed link, without a new double opt-in.

    The link came in a mail to the address, which proves ownership as well as a
    confirmation would; it is only honoured for someone who had confirmed before.
    Bounced or never-confirmed addresses need the form (NEEDS_OPTIN), and so does anyone
    who was unsubscribed because their mailbox reported a digest as spam: they come back
    only by confirming a fresh subscription themselves.
    """
    with store.transaction():
        subscriber = store.get_subscriber(subscriber_id)
        if subscriber is None:
            return Outcome(MISSING)
        if subscriber.status == "confirmed":
            return Outcome(ALREADY, subscriber)
        if not can_resubscribe(subscriber) or store.complained_since(
            subscriber_id, subscriber.confirmed_at
        ):
            return Outcome(NEEDS_OPTIN, subscriber)
        subscriber = store.set_status(subscriber_id, "confirmed")
    logger.info("subscriber %s resubscribed to %s", subscriber_id, subscriber.list_name)
    return Outcome(CHANGED, subscriber)


def subscriber_data(store: Store, subscriber_id: int) -> dict[str, Any] | None:
    """Everything stored about one subscriber (their row, deliveries and the bounces and
    complaints recorded about them), JSON-able."""
    subscriber = store.get_subscriber(subscriber_id)
    if subscriber is None:
        return None
    row = {k: _jsonable(v) for k, v in asdict(subscriber).items()}
    row["confirm_sent_at"] = _jsonable(store.confirm_sent_at(subscriber_id))
    digests: dict[int, Any] = {}
    deliveries = []
    for delivery in store.subscriber_deliveries(subscriber_id):
        if delivery.digest_id not in digests:
            digests[delivery.digest_id] = store.get_digest(delivery.digest_id)
        record = digests[delivery.digest_id]
        entry = {k: _jsonable(v) for k, v in asdict(delivery).items()}
        entry["digest_built_at"] = _jsonable(record.built_at) if record else None
        entry["digest_subject"] = record.subject if record else ""
        deliveries.append(entry)
    events = [
        {k: _jsonable(v) for k, v in asdict(event).items() if k != "subscriber_id"}
        for event in store.bounce_events(subscriber_id)
    ]
    return {"subscriber": row, "deliveries": deliveries, "bounces": events}


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value
