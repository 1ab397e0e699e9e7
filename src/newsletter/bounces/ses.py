"""Amazon SES notifications delivered by mail (an SNS email subscription, or a forward):
a JSON body with notificationType "Bounce" or "Complaint"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .addresses import normalize
from .limits import MAX_RECIPIENTS
from .model import Kind, Recipient, Severity
from .scan import Scan
from .severity import best_status, classify


@dataclass(frozen=True)
class SesResult:
    kind: Kind
    recipients: tuple[Recipient, ...]


def detect(scan: Scan) -> SesResult | None:
    text = scan.full_text.strip()
    if '"notificationType"' not in text[:65536] and '\\"notificationType\\"' not in text[:65536]:
        return None
    data = _load(text)
    if isinstance(data, dict) and isinstance(data.get("Message"), str):
        data = _load(data["Message"])  # the SNS envelope wraps the SES JSON as a string
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "").lower()
    if kind == "bounce":
        return SesResult("bounce", bounced_recipients(data.get("bounce")))
    if kind == "complaint":
        return SesResult("complaint", complained_recipients(data.get("complaint")))
    return None


def _load(text: str) -> Any:
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(text[start : end + 1])
    except (ValueError, RecursionError):
        return None


def bounced_recipients(bounce: Any) -> tuple[Recipient, ...]:
    """The recipients of an SES `bounce` object, hard or soft."""
    if not isinstance(bounce, dict):
        return ()
    # SES's own verdict: Permanent = hard, Transient = soft; Undetermined falls to the codes.
    bounce_type = str(bounce.get("bounceType") or "").lower()
    out = []
    for item in _items(bounce.get("bouncedRecipients")):
        address = normalize(str(item.get("emailAddress") or ""))
        if not address:
            continue
        diagnostic = str(item.get("diagnosticCode") or "") or None
        status = best_status(str(item.get("status") or ""), diagnostic)
        cls: Severity
        if bounce_type == "permanent":
            cls = "hard" if classify(status, diagnostic) == "hard" or not status else "soft"
            # a Permanent bounce whose code says "mailbox full" stays soft (see severity.py)
        elif bounce_type == "transient":
            cls = "soft"
        else:
            cls = classify(status, diagnostic)
        out.append(Recipient(address, cls, status, diagnostic))
    return tuple(out[:MAX_RECIPIENTS])


def complained_recipients(complaint: Any) -> tuple[Recipient, ...]:
    """The recipients of an SES `complaint` object."""
    if not isinstance(complaint, dict):
        return ()
    kind = str(complaint.get("complaintFeedbackType") or "abuse")
    out = []
    for item in _items(complaint.get("complainedRecipients")):
        address = normalize(str(item.get("emailAddress") or ""))
        if address:
            out.append(Recipient(address, diagnostic=kind))
    return tuple(out[:MAX_RECIPIENTS])


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value[:MAX_RECIPIENTS] if isinstance(item, dict)]
