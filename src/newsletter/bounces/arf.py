"""Complaints: RFC 5965 Abuse Reporting Format reports, and the non-ARF shapes still seen
(Microsoft JMRP's X-HmXmrOriginalRecipient, ARF fields pasted into a plain text part)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from . import mime
from .addresses import find_addresses, is_robot, normalize
from .fields import every, first, parse_blocks
from .model import Recipient
from .scan import Scan

# Feedback types that are a reader saying "stop"; not-spam and auth-failure (DMARC/DKIM
# failure reports about the message, sent by a machine) are not complaints.
_COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other", "opt-out", "opt-out-list", ""})
_FEEDBACK_IN_TEXT = re.compile(r"(?im)^feedback-type:[ \t]*([a-z\-]{1,32})")


@dataclass(frozen=True)
class ArfResult:
    is_complaint: bool
    recipients: tuple[Recipient, ...]
    feedback_type: str
    mail_from: str  # Original-Mail-From: often our VERP return path


def detect(scan: Scan) -> ArfResult | None:
    text = None
    for part, _, inside in scan.parts:
        if not inside and mime.content_type(part) == "message/feedback-report":
            text = scan.budget.text(mime.body_bytes(part).decode("utf-8", "replace"))
            break
    report_type = mime.param(scan.msg, "report-type")
    if text is None and report_type == "feedback-report":
        text = ""
    if text is None:
        # Non-ARF shapes: Microsoft JMRP marks the recipient in a header of the copy.
        jmrp = _jmrp_recipient(scan)
        if jmrp:
            return ArfResult(True, (Recipient(jmrp, diagnostic="abuse"),), "abuse", "")
        # ARF fields pasted into the text (some small providers): only when the message
        # also carries the copy of ours, so a mail that merely quotes ARF does not count.
        match = _FEEDBACK_IN_TEXT.search(scan.report_text[:65536])
        if not match or scan.original_message is None:
            return None
        text = scan.report_text
    blocks = parse_blocks(text)
    fields = [pair for block in blocks for pair in block]
    feedback_type = first(fields, "feedback-type").lower().split(";")[0].strip()
    if feedback_type not in _COMPLAINT_TYPES:
        return ArfResult(False, (), feedback_type, "")
    addresses: list[str] = []
    for value in every(fields, "original-rcpt-to") + every(fields, "removal-recipient"):
        address = normalize(value)
        if address and address not in addresses:
            addresses.append(address)
    if not addresses:
        addresses = _original_to(scan)
    recipients = tuple(Recipient(a, diagnostic=feedback_type or "abuse") for a in addresses)
    return ArfResult(
        True, recipients, feedback_type or "abuse", first(fields, "original-mail-from")
    )


def _original_to(scan: Scan) -> list[str]:
    """The To of the attached copy, when the report did not name the recipient. Providers
    that redact it leave only the VERP token / X-Newsletter-Delivery to go on."""
    orig = scan.original_message
    if orig is None:
        return []
    return recipients_of(orig, scan.own_addresses)


def recipients_of(orig: Message, own: set[str]) -> list[str]:
    """Plausible To addresses of a message, in order, without sender-side ones."""
    out: list[str] = []
    for value in mime.header_all(orig, "To")[:5]:
        for _, _, address in find_addresses(value[:2048]):
            if address.lower() not in own and address not in out and not is_robot(address):
                out.append(address)
    return out[:50]


def _jmrp_recipient(scan: Scan) -> str | None:
    for msg in (scan.msg, scan.original_message):
        if msg is None:
            continue
        value = mime.header(msg, "X-HmXmrOriginalRecipient")
        if value:
            return normalize(value)
    return None
