"""Bounce and complaint parsing: what an incoming message to the bounce address means.

    report = parse_message(raw_bytes)
    report.kind            # "bounce" | "complaint" | "auto-reply" | "not-bounce"
    report.recipients      # (Recipient(address, cls "hard"/"soft", status, diagnostic), ...)
    report.delivery_id(key)  # the signed VERP / X-Newsletter-Delivery delivery id, or None

Self-contained: imports only the standard library.
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
