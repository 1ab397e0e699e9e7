"""The rules behind the subscription pages: double opt-in, confirm, leave, come back, export.

Nothing here knows about HTTP. The web app reads a signed link (`newsletter.audience.tokens`)
and calls these functions, which check that the link names the subscriber as they are now
and turn the outcome into pages; mail is returned as a `MailJob` for the caller to compose
and send, so the answer to a request never depends on whether (or how fast) a message went
out.

An opt-out (unsubscribed or bounced) only ever ends by the person's own confirmed action:
the form sends the address a confirmation link and changes nothing until it is used. The one
shortcut is undoing an unsubscribe from the page that answered it, within
RESUBSCRIBE_HOURS, with a link only that page hands out.

Throttling uses the subscriber's `confirm_sent_at` as "last mail the web app sent to this
address": a confirmation goes out at most every PENDING_RESEND, an "already subscribed"
note or a download link at most every NOTICE_RESEND / PENDING_RESEND, so the forms cannot
be used to flood someone's inbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from newsletter.audience.subscribers import normalize_email
from newsletter.audience.tokens import CONFIRM as CONFIRM_LINK
from newsletter.audience.tokens import Link
from newsletter.model import Subscriber
from newsletter.store import Store

logger = logging.getLogger(__name__)

PENDING_RESEND = timedelta(minutes=10)
NOTICE_RESEND = timedelta(hours=24)
OPTED_OUT = ("unsubscribed", "bounced")

# MailJob kinds, each a template pair under templates/mail/
CONFIRM = "confirm"
WELCOME = "welcome"
MANAGE_LINK = "manage_link"  # reasons: "subscribe_again" | "requested" | "data"

# Outcome states
CHANGED = "changed"  # the action took effect now
ALREADY = "already"  # nothing to do: the subscriber is already in that state
USED = "used"  # a confirmation link retired by a later status change
NEEDS_OPTIN = "needs_optin"  # coming back needs a fresh double opt-in
MISSING = "missing"  # the link names no current subscriber (removed, or a test send)
SENT = "sent"  # a message was queued (or throttled: the answer is the same)


@dataclass(frozen=True)
class MailJob:
    """A message the caller should compose and send to one subscriber."""

    kind: str  # CONFIRM | WELCOME | MANAGE_LINK
    subscriber: Subscriber
    reason: str = ""  # MANAGE_LINK: "subscribe_again" | "requested" | "data"


@dataclass(frozen=True)
class Outcome:
    """What an action did, and the subscriber as it is afterwards (None if MISSING)."""

    state: str
    subscriber: Subscriber | None = None
    mail: MailJob | None = None


def subscriber_for(store: Store, link: Link) -> Subscriber | None:
    """The subscriber a link names, if it still names them (same id, current key)."""
    subscriber = store.get_subscriber(link.subscriber_id)
    return subscriber if subscriber is not None and link.names(subscriber) else None


def request_subscription(
    store: Store, list_name: str, email: str, source: str = "web"
) -> MailJob | None:
    """Handle a subscribe form: the mail to send, if any. SubscriberError if invalid.

    New addresses become pending and get a confirmation link; pending ones get it again;
    unsubscribed and bounced ones get one too but stay as they are until they use it;
    confirmed ones get a note saying they are already subscribed (all throttled). The caller
    answers all of these the same way.
    """
    address = normalize_email(email)
    with store.transaction():
        store.lock_address(list_name, address)
        subscriber = store.get_subscriber((list_name, address))
        if subscriber is None:
            subscriber = store.add_subscriber(list_name, address, "", "pending", source)
            logger.debug("new pending subscriber %s on %s", subscriber.id, list_name)
        elif subscriber.status == "confirmed":
            return _throttled(store, subscriber, MANAGE_LINK, NOTICE_RESEND, "subscribe_again")
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


def request_data_link(store: Store, link: Link) -> Outcome:
    """The manage page's "download my data": a download link, mailed to the address (the
    manage link may have been forwarded; the mailbox is the person's)."""
    with store.transaction():
        subscriber = subscriber_for(store, link)
        if subscriber is None:
            return Outcome(MISSING)
        job = _throttled(store, subscriber, MANAGE_LINK, PENDING_RESEND, "data")
    return Outcome(SENT, subscriber, job)


def request_optin(store: Store, link: Link) -> Outcome:
    """The manage page's "subscribe again": a confirmation link mailed to the address; the
    status stays as it is until the person uses it."""
    with store.transaction():
        subscriber = subscriber_for(store, link)
        if subscriber is None:
            return Outcome(MISSING)
        if subscriber.status == "confirmed":
            return Outcome(ALREADY, subscriber)
        job = _throttled(store, subscriber, CONFIRM, PENDING_RESEND)
    return Outcome(SENT, subscriber, job)


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


def confirm(store: Store, link: Link) -> Outcome:
    """POST of a confirmation link: pending, unsubscribed or bounced -> confirmed, with a
    WELCOME job.

    The link carries the confirm_key, which every status change replaces: a confirmation
    mail from before the person left (or confirmed) cannot act again (USED). Someone coming
    back after an opt-out gets new links, so links in mail from their earlier subscription
    stop working.
    """
    assert link.purpose == CONFIRM_LINK
    with store.transaction():
        subscriber = store.get_subscriber(link.subscriber_id)
        if subscriber is None:
            return Outcome(MISSING)
        if subscriber.status == "confirmed":
            return Outcome(ALREADY, subscriber)
        if not link.names(subscriber):
            return Outcome(USED, subscriber)
        coming_back = subscriber.status in OPTED_OUT
        subscriber = store.set_status(subscriber.id, "confirmed", new_links=coming_back)
    logger.info("subscriber %s confirmed on %s", subscriber.id, subscriber.list_name)
    return Outcome(CHANGED, subscriber, MailJob(WELCOME, subscriber))


def unsubscribe(store: Store, link: Link) -> Outcome:
    """Unsubscribe at once (idempotent: a second request is ALREADY)."""
    with store.transaction():
        subscriber = subscriber_for(store, link)
        if subscriber is None:
            return Outcome(MISSING)
        if subscriber.status == "unsubscribed":
            return Outcome(ALREADY, subscriber)
        subscriber = store.set_status(subscriber.id, "unsubscribed")
    logger.info("subscriber %s unsubscribed from %s", subscriber.id, subscriber.list_name)
    return Outcome(CHANGED, subscriber)


def can_undo(subscriber: Subscriber) -> bool:
    """True for someone who confirmed once and then unsubscribed (not bounced: that address
    needs a fresh confirmation)."""
    return subscriber.status == "unsubscribed" and subscriber.confirmed_at is not None


def resubscribe(store: Store, link: Link) -> Outcome:
    """Undo an unsubscribe without a new double opt-in, through the resubscribe link the
    unsubscribe answer handed out (it expires after RESUBSCRIBE_HOURS).

    The link carries the time of the unsubscribe it was made for: it undoes that one only,
    never a later opt-out. Anything else needs the form. Someone unsubscribed because their mailbox
    reported a digest as spam comes back only by confirming a fresh subscription.
    """
    with store.transaction():
        subscriber = store.get_subscriber(link.subscriber_id)
        if subscriber is None:
            return Outcome(MISSING)
        if subscriber.status == "confirmed":
            return Outcome(ALREADY, subscriber)
        if not (can_undo(subscriber) and link.names(subscriber)) or store.complained_since(
            subscriber.id, subscriber.confirmed_at
        ):
            return Outcome(NEEDS_OPTIN, subscriber)
        subscriber = store.set_status(subscriber.id, "confirmed")
    logger.info("subscriber %s resubscribed to %s", subscriber.id, subscriber.list_name)
    return Outcome(CHANGED, subscriber)


def subscriber_data(store: Store, link: Link) -> dict[str, Any] | None:
    """What is stored about one subscriber, JSON-able: their subscription and a record of
    each digest sent to them. Not the operator's internals (SMTP replies, keys, counters)."""
    subscriber = subscriber_for(store, link)
    if subscriber is None:
        return None
    row = {
        "email": subscriber.email,
        "name": subscriber.name,
        "list": subscriber.list_name,
        "status": subscriber.status,
        "source": subscriber.source,
        "created_at": _jsonable(subscriber.created_at),
        "confirmed_at": _jsonable(subscriber.confirmed_at),
        "unsubscribed_at": _jsonable(subscriber.unsubscribed_at),
        "last_mail_from_the_site_at": _jsonable(store.confirm_sent_at(subscriber.id)),
    }
    digests: dict[int, Any] = {}
    deliveries = []
    for delivery in store.subscriber_deliveries(subscriber.id):
        if delivery.digest_id not in digests:
            digests[delivery.digest_id] = store.get_digest(delivery.digest_id)
        record = digests[delivery.digest_id]
        deliveries.append(
            {
                "digest_id": delivery.digest_id,
                "digest_subject": record.subject if record else "",
                "digest_built_at": _jsonable(record.built_at) if record else None,
                "status": _DELIVERY_WORDS.get(delivery.status, delivery.status),
                "sent_at": _jsonable(delivery.sent_at),
            }
        )
    # what mail systems reported about this address, without their raw diagnostics
    events = [
        {
            "received_at": _jsonable(event.received_at),
            "kind": event.kind,
            "class": event.severity,
            "status": event.status,
            "action": event.action,
            "digest_id": event.digest_id,
        }
        for event in store.bounce_events(subscriber.id)
    ]
    return {"subscriber": row, "deliveries": deliveries, "bounces": events}


# what a delivery's state means to the person it was for
_DELIVERY_WORDS = {
    "sent": "sent",
    "failed": "not delivered",
    "skipped": "not sent (you had left the list)",
    "pending": "waiting to be sent",
    "sending": "being sent",
}


def _jsonable(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
