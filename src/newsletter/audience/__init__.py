"""The audience: who gets the mail and how they say so.

`subscribers` validates addresses and moves CSV in and out, `signup` holds the rules of
double opt-in, leaving and coming back, `tokens` signs the links that act for one person.
"""

from newsletter.audience.signup import (
    Outcome,
    confirm,
    request_subscription,
    resubscribe,
    unsubscribe,
)
from newsletter.audience.subscribers import export_csv, import_csv, normalize_email
from newsletter.audience.tokens import Link, Tokens, subscriber_links

__all__ = [
    "Link",
    "Outcome",
    "Tokens",
    "confirm",
    "export_csv",
    "import_csv",
    "normalize_email",
    "request_subscription",
    "resubscribe",
    "subscriber_links",
    "unsubscribe",
]
