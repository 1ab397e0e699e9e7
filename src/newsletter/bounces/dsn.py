"""RFC 3464 delivery status notifications: multipart/report; report-type=delivery-status.

Only the machine-readable message/delivery-status part is read here. Per recipient:
Action "failed" is a bounce; "delayed" is a transient warning and reported as soft;
"delivered", "relayed" and "expanded" are successes and not reported at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import mime
from .addresses import normalize
from .fields import first, parse_blocks
from .limits import MAX_RECIPIENTS
from .model import Recipient
from .scan import Scan
from .severity import best_status, classify, clean_status

_STATUS_PARTS = ("message/delivery-status", "message/global-delivery-status")
_RECIPIENT_FIELDS = frozenset({"final-recipient", "original-recipient"})
_SUCCESS = ("delivered", "relayed", "expanded")


@dataclass(frozen=True)
class DsnResult:
    """`recipients` are the failed and delayed ones; `successes` counts the others, so a
    pure success notice can be told apart from a DSN we could not read."""

    recipients: tuple[Recipient, ...]
    successes: int


def has_status_part(scan: Scan) -> bool:
    return any(mime.content_type(p) in _STATUS_PARTS and not inside for p, _, inside in scan.parts)


def detect(scan: Scan) -> DsnResult | None:
    """Read every delivery-status part of the report (not of attached copies)."""
    recipients: dict[str, Recipient] = {}
    successes = 0
    found = False
    for part, _, inside in scan.parts:
        if inside or mime.content_type(part) not in _STATUS_PARTS:
            continue
        found = True
        text = scan.budget.text(mime.body_bytes(part).decode("utf-8", "replace"))
        got, ok = read_fields(text)
        successes += ok
        for recipient in got:
            _merge(recipients, recipient)
    if not found:
        return None
    return DsnResult(tuple(recipients.values())[:MAX_RECIPIENTS], successes)


def read_fields(text: str) -> tuple[list[Recipient], int]:
    """Failed/delayed recipients and the count of successful ones in delivery-status text.
    Also used on DSN fields that broken MTAs put into a text/plain part."""
    recipients: list[Recipient] = []
    successes = 0
    for block in parse_blocks(text, _RECIPIENT_FIELDS):
        final = first(block, "final-recipient")
        original = first(block, "original-recipient")
        if not final and not original:
            continue  # the per-message block
        action = first(block, "action").lower().split(" ")[0].strip(";()")
        status = clean_status(first(block, "status"))
        diagnostic = first(block, "diagnostic-code") or None
        if action in _SUCCESS or (not action and status and status[0] == "2"):
            successes += 1
            continue
        if not action and not status and not diagnostic:
            continue  # nothing says it failed
        if action and action not in ("failed", "delayed"):
            # unknown action words: trust the status class when there is one
            if not status or status[0] == "2":
                continue
        # Why prefer Original-Recipient: it is the address we sent to, before any alias or
        # forward expanded it, so it is the one the subscriber list knows.
        address = normalize(original) or normalize(final)
        if address is None:
            continue
        delayed = action == "delayed"
        status = best_status(status, diagnostic)
        recipients.append(
            Recipient(
                address=address,
                cls=classify(status, diagnostic, transient=delayed),
                status=status,
                diagnostic=_clean_diag(diagnostic),
                delayed=delayed,
            )
        )
    return recipients, successes


def _clean_diag(value: str | None) -> str | None:
    if not value:
        return None
    kind, sep, rest = value.partition(";")
    if sep and kind.strip().lower() in ("smtp", "x-postfix", "x-unix", "x-local", "x-notes"):
        value = rest
    return " ".join(value.split())[:1000] or None


def _merge(found: dict[str, Recipient], recipient: Recipient) -> None:
    """One entry per address; a failure beats a delay, a hard class beats a soft one."""
    key = recipient.address.lower()
    old = found.get(key)
    if (
        old is None
        or (old.delayed and not recipient.delayed)
        or (old.cls == "soft" and recipient.cls == "hard")
    ):
        found[key] = recipient
