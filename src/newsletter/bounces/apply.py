"""What a bounce or complaint does to the list: the policy, applied to the store.

A report is tied to a subscriber in one of two ways:

- **signed**: the delivery token in the address it came back to (VERP) or in the
  X-Newsletter-Delivery header of the attached original; its MAC proves we made it, so
  the report is about exactly that delivery. A token whose MAC is wrong makes the whole
  report *forged*: it is counted and ignored.
- **address**: without any token, each recipient the report names is looked up among the
  deliveries that went out; the newest one to that address decides the list. An address
  we never mailed is *unknown* and ignored, so nobody can unsubscribe a stranger by
  mailing us a made-up bounce about them. With `require_signature = true` reports without
  a token are ignored instead (provider webhooks, authenticated by their own signatures,
  are still matched by address).

Then, with the defaults of `[bounces]`:

- a **complaint** unsubscribes at once (the event records why: `complained`); such a
  person comes back only through a fresh double opt-in;
- **hard** bounces make a confirmed address `bounced` after `hard_after` (1) of them since
  it was confirmed;
- **soft** bounces do after `soft_after` (3) within `soft_days` (14);
- **delay** warnings (the MTA is still trying) are recorded and never counted.

Each delivery counts once per class, however many reports about it arrive. Each event is
recorded with its time, digest, delivery, class, status, diagnostic and source (see
`newsletter.store.bounces`); the same report read twice is recorded once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from newsletter.config import BouncesConfig
from newsletter.store import Store
from newsletter.store.bounces import DeliveryTarget

from .classify import parse_message
from .model import BounceReport, Recipient
from .readers import ReadError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """When bounces make an address `bounced` (the keys of `[bounces]`)."""

    hard_after: int = 1
    soft_after: int = 3
    soft_days: int = 14
    require_signature: bool = False  # unsigned reports are ignored, not matched by address

    @classmethod
    def from_config(cls, bounces: BouncesConfig) -> Policy:
        return cls(
            bounces.hard_after, bounces.soft_after, bounces.soft_days, bounces.require_signature
        )


@dataclass
class Tally:
    """What processing a batch of reports did."""

    messages: int = 0
    bounces: int = 0  # reports that are bounces
    complaints: int = 0
    auto_replies: int = 0
    other: int = 0  # neither: a person writing to the bounce address, spam, receipts
    hard: int = 0  # events recorded, by class
    soft: int = 0
    delays: int = 0
    complained: int = 0
    repeated: int = 0  # events recorded before (the same report read again)
    unknown: int = 0  # recipients who match no delivery of ours
    forged: int = 0  # reports carrying a token whose signature is wrong
    unsigned: int = 0  # reports without a token, ignored under require_signature
    bounced: list[str] = field(default_factory=list)  # addresses made `bounced` now
    unsubscribed: list[str] = field(default_factory=list)  # unsubscribed for a complaint
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (message, why): kept

    @property
    def changed(self) -> int:
        return len(self.bounced) + len(self.unsubscribed)

    def summary_line(self) -> str:
        """`4 messages: 2 bounces (1 hard, 1 soft), 1 complaint, 1 other; bounced 1, ...`"""
        parts = [
            f"{self.bounces} bounce{_s(self.bounces)}"
            + (f" ({self._classes()})" if self.hard or self.soft or self.delays else ""),
            f"{self.complaints} complaint{_s(self.complaints)}",
        ]
        if self.auto_replies:
            parts.append(f"{self.auto_replies} auto-repl{'y' if self.auto_replies == 1 else 'ies'}")
        if self.other:
            parts.append(f"{self.other} other")
        line = f"{self.messages} message{_s(self.messages)}: {', '.join(parts)}"
        line += (
            f"; now bounced: {len(self.bounced)}, unsubscribed for a complaint: "
            f"{len(self.unsubscribed)}"
        )
        notes = []
        if self.repeated:
            notes.append(f"{self.repeated} seen before")
        if self.unknown:
            notes.append(f"{self.unknown} about nobody we mailed")
        if self.forged:
            notes.append(f"{self.forged} with a forged token")
        if self.unsigned:
            notes.append(f"{self.unsigned} unsigned")
        if self.unreadable:
            notes.append(f"{len(self.unreadable)} unreadable (kept)")
        return line + (f"; ignored: {', '.join(notes)}" if notes else "")

    def _classes(self) -> str:
        parts = [f"{self.hard} hard", f"{self.soft} soft"]
        if self.delays:
            parts.append(f"{self.delays} delay{_s(self.delays)}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "bounces": self.bounces,
            "complaints": self.complaints,
            "auto_replies": self.auto_replies,
            "other": self.other,
            "events": {
                "hard": self.hard,
                "soft": self.soft,
                "delay": self.delays,
                "complaint": self.complained,
            },
            "repeated": self.repeated,
            "unknown": self.unknown,
            "forged": self.forged,
            "unsigned": self.unsigned,
            "bounced": list(self.bounced),
            "unsubscribed": list(self.unsubscribed),
            "unreadable": [{"message": n, "error": e} for n, e in self.unreadable],
        }


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def message_key(raw: bytes) -> str:
    """The identity of an incoming message: the same bytes are the same report."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


class Applier:
    """Applies reports to one store with one policy and one token key."""

    def __init__(self, store: Store, policy: Policy, key: bytes) -> None:
        self.store = store
        self.policy = policy
        self.key = key

    def apply_message(self, raw: bytes, source: str, tally: Tally) -> BounceReport:
        """Parse one incoming message and apply it; the parsed report."""
        report = parse_message(raw)
        self.apply_report(report, message_key(raw), source, tally)
        return report

    def apply_report(self, report: BounceReport, key: str, source: str, tally: Tally) -> None:
        """Apply one parsed report whose identity is `key` (see `message_key`)."""
        tally.messages += 1
        if report.kind == "auto-reply":
            tally.auto_replies += 1
            return
        if report.kind not in ("bounce", "complaint"):
            tally.other += 1
            return
        if report.kind == "bounce":
            tally.bounces += 1
        else:
            tally.complaints += 1
        delivery_id = report.delivery_id(self.key)
        if delivery_id is None and (report.verp_token or report.original_headers.delivery):
            tally.forged += 1
            logger.warning("%s: ignored, its delivery token has a wrong signature", source)
            return
        if delivery_id is not None:
            target = self.store.delivery_target(delivery_id)
            if target is None:
                tally.unknown += 1
                return
            recipient = _pick(report.recipients, target.email, report.kind)
            self._record(report.kind, target, recipient, "signed", key, source, tally)
            return
        if self.policy.require_signature:
            tally.unsigned += 1
            return
        if not report.recipients:
            tally.unknown += 1
        for recipient in report.recipients:
            target = self.store.latest_delivery_to(recipient.address.strip().lower())
            if target is None:
                tally.unknown += 1
                continue
            self._record(report.kind, target, recipient, "address", key, source, tally)

    def _record(
        self,
        kind: str,
        target: DeliveryTarget,
        recipient: Recipient,
        matched: str,
        key: str,
        source: str,
        tally: Tally,
    ) -> None:
        severity = "" if kind == "complaint" else _severity(recipient)
        with self.store.transaction():  # the event and what it does, together
            event_id = self.store.record_bounce_event(
                message_key=key,
                target=target,
                address=recipient.address,
                kind=kind,
                severity=severity,
                status=recipient.status or "",
                diagnostic=recipient.diagnostic or "",
                source=source,
                matched=matched,
            )
            if event_id is None:
                tally.repeated += 1
                return
            if kind == "complaint":
                tally.complained += 1
            elif severity == "hard":
                tally.hard += 1
            elif severity == "soft":
                tally.soft += 1
            else:
                tally.delays += 1
            action = self._decide(kind, severity, target)
            if action:
                self.store.set_bounce_action(event_id, action)
                (tally.bounced if action == "bounced" else tally.unsubscribed).append(target.email)
                logger.info("%s is now %s (%s %s)", target.email, action, severity or kind, source)

    def _decide(self, kind: str, severity: str, target: DeliveryTarget) -> str:
        """The status change an event causes, done here; "" for none."""
        subscriber = self.store.get_subscriber(target.subscriber_id)
        if subscriber is None:
            return ""
        if kind == "complaint":
            if subscriber.status == "unsubscribed":
                return ""
            self.store.set_status(subscriber.id, "unsubscribed")
            return "unsubscribed"
        if subscriber.status != "confirmed" or severity not in ("hard", "soft"):
            return ""
        since = subscriber.confirmed_at
        if severity == "hard":
            limit = self.policy.hard_after
        else:
            limit = self.policy.soft_after
            window = self.store.clock() - timedelta(days=self.policy.soft_days)
            since = window if since is None else max(since, window)
        if self.store.count_bounces(subscriber.id, severity, since) < limit:
            return ""
        self.store.set_status(subscriber.id, "bounced")
        return "bounced"


def _severity(recipient: Recipient) -> str:
    if recipient.delayed:
        return "delay"
    return recipient.cls or "soft"


def _pick(recipients: tuple[Recipient, ...], email: str, kind: str) -> Recipient:
    """The recipient of a signed report that stands for the delivery's address."""
    for recipient in recipients:
        if recipient.address.strip().lower() == email:
            return recipient
    if len(recipients) == 1:
        # the address the mail was forwarded to: still this delivery's failure
        return recipients[0]
    if kind == "complaint":
        return Recipient(email)
    # none named, or several others (an alias or a list behind the address): the delivery
    # failed somewhere past the subscriber, which says nothing certain about the address
    return Recipient(email, "soft", None, "the report does not name the subscriber's address")


def process_items(
    applier: Applier, items: Iterable[tuple[str, bytes | ReadError]], source: str
) -> Tally:
    """Apply messages from `read_messages` (files, folders, stdin); unreadable ones are
    listed in the tally and change nothing."""
    tally = Tally()
    for name, data in items:
        if isinstance(data, ReadError):
            tally.unreadable.append((name, data.message))
            continue
        applier.apply_message(data, f"{source} {name}", tally)
    return tally
