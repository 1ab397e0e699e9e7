"""parse_message: decide what one incoming message means for the list.

Order of evidence, most to least authoritative:
1. complaints (ARF, SES JSON, JMRP): a reader said "spam" - acted on even if it also looks
   like a bounce;
2. RFC 3464 DSNs: machine-readable, per recipient;
3. automatic replies (RFC 3834): checked before the text heuristics because vacation notices
   quote words like "not delivered"; DSNs also carry Auto-Submitted, hence after 2;
4. the plain-text formats of heuristics.py;
5. otherwise not a bounce.
"""

from __future__ import annotations

import re
from email.message import Message

from . import arf, autoreply, dsn, heuristics, mime, ses
from .addresses import find_addresses
from .limits import Budget
from .model import BounceReport, OriginalHeaders, Recipient
from .scan import Scan
from .severity import best_status, classify
from .verp import find_token

_ENVELOPE_HEADERS = (
    "X-Original-To",
    "Delivered-To",
    "Envelope-To",
    "X-Envelope-To",
    "X-Rcpt-To",
    "To",
    "Cc",
)
_TOKEN_IN_TEXT = re.compile(r"(?i)[+=]d(?:0|[1-9][0-9]{0,18})-[a-z2-7]{12}@")


def parse_message(msg: Message | bytes, budget: Budget | None = None) -> BounceReport:
    """Classify one message. Never raises; hostile input costs bounded work (pass a
    `Budget` to see how much)."""
    budget = budget if budget is not None else Budget()
    try:
        if isinstance(msg, bytes | bytearray | memoryview):
            msg = mime.parse_bytes(bytes(msg), budget)
        if not isinstance(msg, Message):
            return BounceReport("not-bounce", source="not-a-message")
        return _classify(Scan(msg, budget))
    except Exception:  # noqa: BLE001 - the contract is "never raises": report what we can
        return BounceReport("not-bounce", source="error")


def _classify(scan: Scan) -> BounceReport:
    complaint = _safe(arf.detect, scan)
    if complaint is not None:
        if complaint.is_complaint:
            return _report(scan, "complaint", complaint.recipients, "arf", complaint.mail_from)
        return _report(scan, "not-bounce", (), f"arf-{complaint.feedback_type or 'other'}")
    amazon = _safe(ses.detect, scan)
    if amazon is not None:
        return _report(scan, amazon.kind, amazon.recipients, "ses")

    status = _safe(dsn.detect, scan)
    if status is not None and status.recipients:
        return _report(scan, "bounce", status.recipients, "dsn")
    if status is not None and status.successes:
        return _report(scan, "not-bounce", (), "dsn-success")

    reply = _safe(autoreply.detect, scan)
    if reply and not (scan.from_robot and reply == "auto-submitted"):
        return _report(scan, "auto-reply", (), f"auto-reply:{reply}")

    found = _safe(heuristics.detect, scan)
    if found is not None and found.recipients:
        return _report(scan, "bounce", found.recipients, found.source)
    is_bounce = (found is not None and found.is_bounce) or (status is not None and scan.from_robot)
    if is_bounce:
        # a failure report we could not read a recipient from: the copy of our message
        # names the recipient (one subscriber per message), or the VERP token will
        return _report(
            scan, "bounce", _from_original(scan, found), found.source if found else "dsn"
        )
    if reply:
        return _report(scan, "auto-reply", (), f"auto-reply:{reply}")
    return _report(scan, "not-bounce", (), "none")


def _from_original(scan: Scan, found: heuristics.HeuristicResult | None) -> tuple[Recipient, ...]:
    orig = scan.original_message
    if orig is None:
        return ()
    diagnostic = found.diagnostic if found else None
    transient = found.transient if found else False
    status = best_status(None, diagnostic)
    return tuple(
        Recipient(address, classify(status, diagnostic, transient), status, diagnostic, transient)
        for address in arf.recipients_of(orig, scan.own_addresses)[:1]
    )


def _report(
    scan: Scan,
    kind: str,
    recipients: tuple[Recipient, ...],
    source: str,
    mail_from: str = "",
) -> BounceReport:
    if kind != "bounce":
        # the class is a bounce notion; complaints carry none
        recipients = tuple(Recipient(r.address, None, r.status, r.diagnostic) for r in recipients)
    return BounceReport(
        kind=kind,  # type: ignore[arg-type]
        recipients=recipients,
        verp_token=_safe(_verp_token, scan, mail_from),
        original_headers=_safe(lambda s: s.original, scan) or OriginalHeaders(),
        source=source,
    )


def _verp_token(scan: Scan, mail_from: str = "") -> str | None:
    """The signed token from the address the report was sent to; else from the copy's
    Return-Path or an ARF Original-Mail-From; else quoted in the text."""
    values: list[str] = []
    for name in _ENVELOPE_HEADERS:
        values += mime.header_all(scan.msg, name)
    values.append(mail_from)
    orig = scan.original_message
    if orig is not None:
        values += mime.header_all(orig, "Return-Path")
    for value in values:
        for _, _, address in find_addresses(value[:4096]):
            token = find_token(address)
            if token:
                return token
    match = _TOKEN_IN_TEXT.search(scan.full_text[:262144])
    return find_token(match.group(0)[:-1] + "@x.invalid") if match else None


def _safe(func, *args):
    """Run one detector; a bug on odd input must not hide what the other detectors find."""
    try:
        return func(*args)
    except Exception:  # noqa: BLE001
        return None
