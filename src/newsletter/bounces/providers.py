"""Provider webhook events as bounce reports: Amazon SES (via SNS), Mailgun, Postmark and
SendGrid. Each function takes the already authenticated JSON (the web app checks the
signatures) and returns `(event key, BounceReport)` pairs; the key (the provider's event
id) makes a retried or replayed event count once. Events that are not bounces or
complaints (deliveries, opens, clicks) give no pair.

The delivery token is taken from the envelope sender the provider reports (our signed
return path) or from our X-Newsletter-Delivery header when the provider passes headers on;
without either, the recipient address decides (see `apply`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .addresses import normalize
from .model import BounceReport, Kind, OriginalHeaders, Recipient
from .ses import bounced_recipients, complained_recipients
from .severity import best_status, classify
from .verp import find_token

Pair = tuple[str, BounceReport]
_HEADER = "x-newsletter-delivery"


def _key(provider: str, event_id: Any, event: Any) -> str:
    if isinstance(event_id, str | int) and str(event_id).strip():
        return f"{provider}:{str(event_id).strip()[:150]}"
    canonical = json.dumps(event, sort_keys=True, default=str).encode()
    return f"{provider}:sha256:{hashlib.sha256(canonical).hexdigest()}"


def _token(address: Any) -> str | None:
    return find_token(address) if isinstance(address, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _address(value: Any) -> str | None:
    return normalize(value) if isinstance(value, str) else None


# -- Amazon SES ----------------------------------------------------------------------------
def ses_events(message_id: str, notification: Any) -> list[Pair]:
    """An SES notification (the `Message` of an SNS notification, parsed): Bounce,
    Complaint and DeliveryDelay, in both the notification and the event-publishing form."""
    data = _dict(notification)
    kind = str(data.get("notificationType") or data.get("eventType") or "").lower()
    mail = _dict(data.get("mail"))
    delivery = None
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == _HEADER:
            delivery = str(header.get("value", ""))[:100]
    original = OriginalHeaders(message_id=mail.get("messageId"), delivery=delivery)
    report_kind: Kind
    if kind == "bounce":
        recipients = bounced_recipients(data.get("bounce"))
        report_kind = "bounce"
    elif kind == "complaint":
        recipients = complained_recipients(data.get("complaint"))
        report_kind = "complaint"
    elif kind == "deliverydelay":
        delay = _dict(data.get("deliveryDelay"))
        recipients = tuple(
            Recipient(address, "soft", item.get("status"), item.get("diagnosticCode"), True)
            for item in delay.get("delayedRecipients") or []
            if isinstance(item, dict) and (address := _address(item.get("emailAddress")))
        )
        report_kind = "bounce"
    else:
        return []
    report = BounceReport(report_kind, recipients, _token(mail.get("source")), original, "ses")
    return [(_key("ses", message_id, data), report)]


# -- Mailgun -------------------------------------------------------------------------------
def mailgun_events(event_data: Any) -> list[Pair]:
    """A Mailgun webhook's `event-data`: failed (permanent or temporary) and complained."""
    data = _dict(event_data)
    event = str(data.get("event") or "").lower()
    address = _address(data.get("recipient"))
    if not address:
        return []
    if event == "failed":
        status = _dict(data.get("delivery-status"))
        diagnostic = " ".join(
            str(status.get(k) or "") for k in ("code", "message", "description")
        ).strip()
        code = best_status(None, diagnostic)
        if str(data.get("severity") or "").lower() == "temporary":
            # Mailgun is still retrying: a delay, not a failure yet
            recipient = Recipient(address, "soft", code, diagnostic or None, True)
        elif str(data.get("reason") or "") == "suppress-bounce":
            recipient = Recipient(address, "hard", code, diagnostic or "suppressed: bounced before")
        else:
            recipient = Recipient(address, classify(code, diagnostic), code, diagnostic or None)
        kind = "bounce"
    elif event == "complained":
        recipient, kind = Recipient(address, diagnostic="abuse"), "complaint"
    else:
        return []
    sender = _dict(data.get("envelope")).get("sender")
    report = BounceReport(kind, (recipient,), _token(sender), source="mailgun")  # type: ignore[arg-type]
    return [(_key("mailgun", data.get("id"), data), report)]


# -- Postmark ------------------------------------------------------------------------------
_POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
_POSTMARK_SOFT = {"SoftBounce", "DnsError", "Blocked", "DMARCPolicy", "Unknown"}
_POSTMARK_DELAY = {"Transient"}
_POSTMARK_AUTO = {"AutoResponder"}


def postmark_events(payload: Any) -> list[Pair]:
    """A Postmark bounce or spam-complaint webhook."""
    data = _dict(payload)
    record = str(data.get("RecordType") or "")
    kind_name = str(data.get("Type") or "")
    address = _address(data.get("Email"))
    if not address or record not in ("Bounce", "SpamComplaint"):
        return []
    diagnostic = str(data.get("Details") or data.get("Description") or "")[:1000] or None
    code = best_status(None, diagnostic)
    if record == "SpamComplaint" or kind_name == "SpamComplaint":
        report = BounceReport("complaint", (Recipient(address, diagnostic="abuse"),))
    elif kind_name in _POSTMARK_HARD:
        report = BounceReport("bounce", (Recipient(address, "hard", code, diagnostic),))
    elif kind_name in _POSTMARK_SOFT:
        report = BounceReport("bounce", (Recipient(address, "soft", code, diagnostic),))
    elif kind_name in _POSTMARK_DELAY:
        report = BounceReport("bounce", (Recipient(address, "soft", code, diagnostic, True),))
    elif kind_name in _POSTMARK_AUTO:
        report = BounceReport("auto-reply")
    else:
        report = BounceReport("not-bounce")  # subscribe requests, challenges, virus notices
    report = BounceReport(report.kind, report.recipients, source="postmark")
    return [(_key("postmark", data.get("ID"), data), report)]


# -- SendGrid ------------------------------------------------------------------------------
def sendgrid_events(events: Any) -> list[Pair]:
    """A SendGrid event webhook batch: bounce (bounce or blocked), deferred, spamreport."""
    out = []
    for item in events if isinstance(events, list) else []:
        data = _dict(item)
        event = str(data.get("event") or "").lower()
        address = _address(data.get("email"))
        if not address:
            continue
        diagnostic = str(data.get("reason") or data.get("response") or "")[:1000] or None
        code = best_status(str(data.get("status") or ""), diagnostic)
        if event == "bounce":
            blocked = str(data.get("type") or "").lower() == "blocked"
            cls = "soft" if blocked else classify(code, diagnostic)
            report = BounceReport("bounce", (Recipient(address, cls, code, diagnostic),))
        elif event == "deferred":
            report = BounceReport("bounce", (Recipient(address, "soft", code, diagnostic, True),))
        elif event == "spamreport":
            report = BounceReport("complaint", (Recipient(address, diagnostic="abuse"),))
        else:
            continue
        report = BounceReport(report.kind, report.recipients, source="sendgrid")
        out.append((_key("sendgrid", data.get("sg_event_id"), data), report))
    return out
