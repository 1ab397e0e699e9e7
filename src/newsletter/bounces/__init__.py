"""Bounce and complaint parsing: what an incoming message to the bounce address means.

    report = parse_message(raw_bytes)
    report.kind            # "bounce" | "complaint" | "auto-reply" | "not-bounce"
    report.recipients      # (Recipient(address, cls "hard"/"soft", status, diagnostic), ...)
    report.delivery_id(key)  # the signed VERP / X-Newsletter-Delivery delivery id, or None

The parser modules import only the standard library. Around them: `providers` (webhook
events as reports), `apply` (the policy: what a report does to the store), `mailbox` (the
IMAP/POP3 bounce mailbox) and `process` (files or mailbox -> apply), used by the CLI's
`bounces` commands, `newsletter run` and the web app's webhooks.
"""

from .classify import parse_message
from .limits import Budget
from .model import BounceReport, OriginalHeaders, Recipient
from .readers import ReadError, read_messages
from .verp import (
    delivery_header_value,
    make_return_path,
    read_delivery_header,
    read_return_path,
)

__all__ = [
    "BounceReport",
    "Budget",
    "OriginalHeaders",
    "ReadError",
    "Recipient",
    "delivery_header_value",
    "make_return_path",
    "parse_message",
    "read_delivery_header",
    "read_messages",
    "read_return_path",
]
