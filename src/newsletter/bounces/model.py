"""The result types of the bounce parser: one report per incoming message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["bounce", "complaint", "auto-reply", "not-bounce"]
Severity = Literal["hard", "soft"]


@dataclass(frozen=True)
class Recipient:
    """One recipient a report is about.

    `cls` is set only for bounces: "hard" means the address is dead and should stop getting
    mail, "soft" means the failure may pass (full mailbox, greylisting, a blocklist, a delay).
    `status` is an RFC 3463 enhanced status code such as "5.1.1" when one was found.
    `delayed` marks a delay warning (the MTA is still trying): soft, and not a failure yet.
    """

    address: str
    cls: Severity | None = None
    status: str | None = None
    diagnostic: str | None = None
    delayed: bool = False

    def to_json(self) -> dict[str, str | None]:
        return {
            "address": self.address,
            "class": self.cls,
            "status": self.status,
            "diagnostic": self.diagnostic,
        }


@dataclass(frozen=True)
class OriginalHeaders:
    """What the report tells about the message we sent (attached or quoted in it)."""

    message_id: str | None = None
    delivery: str | None = None  # the X-Newsletter-Delivery value, unverified
    to: str | None = None
    subject: str | None = None


@dataclass(frozen=True)
class BounceReport:
    """What one incoming message means for the mailing list.

    `verp_token` is the signed delivery token found in the address the report was sent to
    (unverified: check it with `verp.read_token`, or call `delivery_id(key)`). `source` names
    the detector that decided (e.g. "dsn", "arf", "exim"); it is for debugging and benchmarks.
    """

    kind: Kind
    recipients: tuple[Recipient, ...] = ()
    verp_token: str | None = None
    original_headers: OriginalHeaders = field(default_factory=OriginalHeaders)
    source: str = ""

    def to_json(self, file: str | None = None) -> dict[str, Any]:
        return {
            "file": file,
            "kind": self.kind,
            "recipients": [r.to_json() for r in self.recipients],
        }

    def delivery_id(self, key: bytes) -> int | None:
        """The delivery this report is about, from the VERP token or else the
        X-Newsletter-Delivery header of the original; None unless a signature checks out."""
        from .verp import read_token

        for token in (self.verp_token, self.original_headers.delivery):
            if token:
                found = read_token(token, key)
                if found is not None:
                    return found
        return None
