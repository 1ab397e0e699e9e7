"""Reports as mail systems write them, built around a message we really sent: an RFC 3464
DSN (Postfix style) and an RFC 5965 ARF complaint. The original goes in as bytes, so its
X-Newsletter-Delivery header is whatever our sender put there."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from pathlib import Path

from newsletter.bounces import make_return_path
from newsletter.bounces.verp import key_from_secret
from newsletter.config import BouncesConfig, Config
from newsletter.store import Store
from support.sending import add_people, make_config, make_digest

BOUNCES = "bounces@news.example.org"

_serial = itertools.count(1)


def _headers_of(original: bytes) -> bytes:
    head, _, _ = original.replace(b"\r\n", b"\n").partition(b"\n\n")
    return head + b"\n"


def dsn(
    to: str,
    recipient: str,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str = "smtp; 550 5.1.1 user unknown",
    original: bytes = b"",
) -> bytes:
    """A bounce to `to` (our VERP address) about `recipient`, with the original's headers."""
    n = next(_serial)
    words = "could not be delivered" if action == "failed" else "is delayed"
    return (
        f"""Return-Path: <>
Delivered-To: {to}
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Date: Mon, 05 Jan 2026 08:00:00 +0000
Message-ID: <dsn-{n}@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b-{n}"

--b-{n}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net. Your message {words}.

--b-{n}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--b-{n}
Content-Type: text/rfc822-headers

""".replace("\n", "\r\n").encode()
        + _headers_of(original).replace(b"\n", b"\r\n")
        + f"\r\n--b-{n}--\r\n".encode()
    )


def arf(to: str, recipient: str, original: bytes, mail_from: str = "") -> bytes:
    """A spam complaint (RFC 5965) sent to `to`, with the whole original attached."""
    n = next(_serial)
    body = original.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return (
        f"""Return-Path: <>
From: Feedback Loop <fbl@isp.example.net>
To: {to}
Subject: FW: complaint
Date: Mon, 05 Jan 2026 09:00:00 +0000
Message-ID: <arf-{n}@isp.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="a-{n}"

--a-{n}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report.

--a-{n}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <{mail_from}>
Original-Rcpt-To: <{recipient}>

--a-{n}
Content-Type: message/rfc822
Content-Disposition: inline

""".replace("\n", "\r\n").encode()
        + body
        + f"\r\n--a-{n}--\r\n".encode()
    )


def auto_reply(to: str) -> bytes:
    return (
        f"From: ann@example.com\r\nTo: {to}\r\nSubject: Out of office\r\n"
        "Auto-Submitted: auto-replied\r\nMessage-ID: <ooo@example.com>\r\n\r\n"
        "I am away until Monday.\r\n"
    ).encode()


def bounce_config(tmp_path: Path, smtp=None, **bounces) -> Config:  # type: ignore[no-untyped-def]
    """The sending tests' config with `[bounces] address = BOUNCES` and `bounces` keys."""
    config = make_config(tmp_path, smtp=smtp)
    return dataclasses.replace(config, bounces=BouncesConfig(address=BOUNCES, **bounces))


def key_of(config: Config) -> bytes:
    return key_from_secret(config.secret_key)


def verp(delivery_id: int, key: bytes) -> str:
    return make_return_path(BOUNCES, delivery_id, key)


def sent_digest(store: Store, tmp_path: Path, people: int = 3) -> tuple[int, dict[str, int]]:
    """A digest whose deliveries went out (as the send loop leaves them), without SMTP;
    (digest id, {email: delivery id}) for subscribers reader0..reader<people-1>."""
    add_people(store, people)
    digest_id = make_digest(store, tmp_path)
    store.create_deliveries(digest_id)
    rows = {}
    for delivery in store.deliveries(digest_id):
        lease = store.clock() + timedelta(minutes=5)
        assert store.claim_delivery(delivery.id, "test-sender", lease) == "claimed"
        store.mark_sent(delivery.id, f"<{delivery.id}@news.example.org>", "test-sender")
        rows[delivery.email] = delivery.id
    return digest_id, rows
