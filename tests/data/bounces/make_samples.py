# ruff: noqa: E501 - NDR lines are as long as the MTAs write them
"""Writes the bounce samples (*.eml) and expected.json in this folder.

Every message here was composed for this project from the public descriptions of each
format (RFC 3464/5965/3834 and the shapes MTAs are known to send); names and hosts are
invented. Edit this file and rerun it rather than editing the .eml files by hand:

    .venv/bin/python tests/data/bounces/make_samples.py
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from newsletter.bounces.verp import delivery_header_value, make_return_path

HERE = Path(__file__).resolve().parent
KEY = b"sample-key-for-tests"  # tests/test_bounces_parse.py uses the same key
SAMPLES: dict[str, bytes] = {}
EXPECTED: dict[str, dict] = {}


def rp(did: int) -> str:
    return make_return_path("bounces@news.example.org", did, KEY)


def token(did: int) -> str:
    return delivery_header_value(did, KEY)


def r(address: str, cls: str | None, status: str | None = None) -> dict:
    return {"address": address, "class": cls, "status": status}


def add(name: str, text: str, kind: str, recipients: list[dict], did: int | None = None) -> None:
    """Register a sample. `did`: the delivery id the parser must recover (signed)."""
    data = text.lstrip("\n").replace("\r\n", "\n").encode("utf-8", "surrogateescape")
    SAMPLES[name] = data
    entry: dict = {"kind": kind, "recipients": recipients}
    if did is not None:
        entry["delivery_id"] = did
    EXPECTED[name] = entry


def original(to: str, did: int, *, body: bool = True, return_path: bool = False) -> str:
    """Headers (and a short body) of the digest we sent."""
    lines = []
    if return_path:
        lines.append(f"Return-Path: <{rp(did)}>")
    lines += [
        "Received: from news.example.org (news.example.org [192.0.2.10])",
        "\tby mx.example.net with ESMTPS id 4Xyz; Mon, 05 Jan 2026 06:00:03 +0000",
        f"Message-ID: <digest.{did}.20260105@news.example.org>",
        "Date: Mon, 05 Jan 2026 06:00:00 +0000",
        "From: Harbour Daily <digest@news.example.org>",
        f"To: {to}",
        "Subject: Harbour Daily - 5 January 2026",
        "List-Unsubscribe: <https://news.example.org/u/k3j4>,"
        " <mailto:unsubscribe@news.example.org>",
        f"X-Newsletter-Delivery: {token(did)}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    text = "\n".join(lines) + "\n"
    if body:
        text += "\nGood morning. Five stories from the harbour today.\n"
    return text


def dsn(
    name: str,
    *,
    did: int,
    sender: str,
    subject: str,
    human: str,
    fields: str,
    to_orig: str,
    orig_type: str = "message/rfc822",
    kind: str = "bounce",
    expected: list[dict],
    extra_headers: str = "",
    status_headers: str = "",
) -> None:
    """A multipart/report DSN: human text, delivery-status, copy of the original."""
    copy = original(to_orig, did, body=orig_type == "message/rfc822")
    text = f"""
Return-Path: <>
Delivered-To: {rp(did)}
From: {sender}
To: {rp(did)}
Subject: {subject}
Date: Mon, 05 Jan 2026 06:01:12 +0000
Message-ID: <{name}.report@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
{extra_headers}Content-Type: multipart/report; report-type=delivery-status;
\tboundary="==b0und4ry=="

This is a MIME-encapsulated message.

--==b0und4ry==
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{human.strip()}

--==b0und4ry==
Content-Type: message/delivery-status
{status_headers}
{fields.strip()}

--==b0und4ry==
Content-Type: {orig_type}
Content-Description: Undelivered Message

{copy}
--==b0und4ry==--
"""
    add(name, text, kind, expected, did)


def plain(
    name: str,
    *,
    did: int | None,
    sender: str,
    subject: str,
    body: str,
    kind: str,
    expected: list[dict],
    to: str | None = None,
    headers: str = "",
    charset: str = "us-ascii",
    return_path: str = "<>",
) -> None:
    """A one-part text message (most non-DSN bounce formats look like this)."""
    to = to or (rp(did) if did is not None else "Harbour Daily <digest@news.example.org>")
    text = f"""
Return-Path: {return_path}
From: {sender}
To: {to}
Subject: {subject}
Date: Mon, 05 Jan 2026 06:02:40 +0000
Message-ID: <{name}@relay.example.net>
MIME-Version: 1.0
{headers}Content-Type: text/plain; charset={charset}
Content-Transfer-Encoding: 8bit

{body.strip()}
"""
    add(name, text, kind, expected, did)


def mixed(
    name: str,
    *,
    did: int,
    sender: str,
    subject: str,
    body: str,
    to_orig: str,
    kind: str = "bounce",
    expected: list[dict],
    headers: str = "",
    body_type: str = "text/plain; charset=utf-8",
    orig_type: str = "message/rfc822",
) -> None:
    """A multipart/mixed report with the original attached (Exchange 2003, Domino, ...)."""
    text = f"""
Return-Path: <>
From: {sender}
To: {rp(did)}
Subject: {subject}
Date: Mon, 05 Jan 2026 06:03:05 +0000
Message-ID: <{name}@relay.example.net>
MIME-Version: 1.0
{headers}Content-Type: multipart/mixed; boundary="----=_NextPart_000_01"

------=_NextPart_000_01
Content-Type: {body_type}
Content-Transfer-Encoding: 8bit

{body.strip()}

------=_NextPart_000_01
Content-Type: {orig_type}

{original(to_orig, did)}
------=_NextPart_000_01--
"""
    add(name, text, kind, expected, did)


# ---------------------------------------------------------------------------------------
# RFC 3464 DSNs
# ---------------------------------------------------------------------------------------
dsn(
    "dsn-1",
    did=1001,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Undelivered Mail Returned to Sender",
    human="""
This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<anna.berg@example.com>: host mail.example.com[198.51.100.7] said: 550 5.1.1
    <anna.berg@example.com>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)
""",
    fields="""
Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4Xyz1234
X-Postfix-Sender: rfc822; bounces@news.example.org
Arrival-Date: Mon,  5 Jan 2026 06:00:03 +0000 (UTC)

Final-Recipient: rfc822; anna.berg@example.com
Original-Recipient: rfc822;anna.berg@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.example.com
Diagnostic-Code: smtp; 550 5.1.1 <anna.berg@example.com>: Recipient address
    rejected: User unknown in virtual mailbox table
""",
    to_orig="anna.berg@example.com",
    expected=[r("anna.berg@example.com", "hard", "5.1.1")],
)
dsn(
    "dsn-2",
    did=1002,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Delayed Mail (still being retried)",
    human="""
This is the mail system at host mx.example.net.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

                   The mail system

<ben@slow.example.org>: connect to mx.slow.example.org[203.0.113.5]:25: Connection
    timed out
""",
    fields="""
Reporting-MTA: dns; mx.example.net
Arrival-Date: Mon,  5 Jan 2026 02:00:03 +0000 (UTC)

Final-Recipient: rfc822; ben@slow.example.org
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.slow.example.org[203.0.113.5]:25:
    Connection timed out
Will-Retry-Until: Sat, 10 Jan 2026 02:00:03 +0000 (UTC)
""",
    to_orig="ben@slow.example.org",
    orig_type="text/rfc822-headers",
    expected=[r("ben@slow.example.org", "soft", "4.4.1")],
)
dsn(
    "dsn-3",
    did=1003,
    sender="Mail Delivery System <Mailer-Daemon@smtp.example.net>",
    subject="Mail delivery failed: returning message to sender",
    human="""
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  carla.moreno@example.es
    host mx.example.es [198.51.100.20]
    SMTP error from remote mail server after RCPT TO:<carla.moreno@example.es>:
    550 5.1.1 <carla.moreno@example.es>: usuario desconocido
""",
    fields="""
Reporting-MTA: dns; smtp.example.net

Action: failed
Final-Recipient: rfc822;carla.moreno@example.es
Status: 5.0.0
Remote-MTA: dns; mx.example.es
Diagnostic-Code: smtp; 550 5.1.1 <carla.moreno@example.es>: usuario desconocido
""",
    to_orig="carla.moreno@example.es",
    expected=[r("carla.moreno@example.es", "hard", "5.1.1")],
)
dsn(
    "dsn-4",
    did=1004,
    sender="Mail Delivery Subsystem <MAILER-DAEMON@relay.example.net>",
    subject="Returned mail: see transcript for details",
    human="""
The original message was received at Mon, 5 Jan 2026 06:00:03 GMT
from news.example.org [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<dora@full.example.com>
    (reason: 552 5.2.2 Mailbox full)
<emil@gone.example.com>
    (reason: 550 5.1.1 User unknown)
""",
    fields="""
Reporting-MTA: dns; relay.example.net
Received-From-MTA: DNS; news.example.org
Arrival-Date: Mon, 5 Jan 2026 06:00:03 GMT

Final-Recipient: RFC822; dora@full.example.com
Action: failed
Status: 5.2.2
Remote-MTA: DNS; mx.full.example.com
Diagnostic-Code: SMTP; 552 5.2.2 Mailbox full
Last-Attempt-Date: Mon, 5 Jan 2026 06:00:05 GMT

Final-Recipient: RFC822; emil@gone.example.com
Action: failed
Status: 5.1.1
Remote-MTA: DNS; mx.gone.example.com
Diagnostic-Code: SMTP; 550 5.1.1 User unknown
Last-Attempt-Date: Mon, 5 Jan 2026 06:00:06 GMT
""",
    to_orig="dora@full.example.com, emil@gone.example.com",
    orig_type="text/rfc822-headers",
    expected=[
        r("dora@full.example.com", "soft", "5.2.2"),
        r("emil@gone.example.com", "hard", "5.1.1"),
    ],
)
dsn(
    "dsn-5",
    did=1005,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Successful Mail Delivery Report",
    human="""
This is the mail system at host mx.example.net.

Your message was successfully delivered to the destination(s)
listed below. If the message was delivered to mailbox you will
receive no further notifications. Otherwise you may still receive
notifications of mail delivery errors from other systems.

                   The mail system

<fred@example.com>: delivery via mail.example.com[198.51.100.7]:25: 250 2.0.0 Ok:
    queued as 7F3A2
""",
    fields="""
Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; fred@example.com
Original-Recipient: rfc822;fred@example.com
Action: relayed
Status: 2.0.0
Remote-MTA: dns; mail.example.com
Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 7F3A2
""",
    to_orig="fred@example.com",
    kind="not-bounce",
    expected=[],
)
dsn(
    "dsn-6",
    did=1006,
    sender="Mail Delivery System <MAILER-DAEMON@out.example.net>",
    subject="Undelivered Mail Returned to Sender",
    human="""
I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gina@strict.example.net>: host mx.strict.example.net[203.0.113.9] said: 554 5.7.1
    Service unavailable; Client host [192.0.2.10] blocked using
    zen.blocklist.example; see the list's lookup page (in reply to RCPT TO command)
""",
    fields="""
Reporting-MTA: dns; out.example.net

Final-Recipient: rfc822; gina@strict.example.net
Action: failed
Status: 5.7.1
Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.10]
    blocked using zen.blocklist.example
""",
    to_orig="gina@strict.example.net",
    expected=[r("gina@strict.example.net", "soft", "5.7.1")],
)
dsn(
    "dsn-7",
    did=1007,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Undelivered Mail Returned to Sender",
    human="""
This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<hanna.old@example.org> (expanded from <hanna@example.com>): host
    mx.example.org[198.51.100.30] said: 550 5.1.1 No such user (in reply to RCPT TO
    command)
""",
    fields="""
Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; hanna.old@example.org
Original-Recipient: rfc822; hanna@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 No such user
""",
    to_orig="hanna@example.com",
    expected=[r("hanna@example.com", "hard", "5.1.1")],
)
dsn(
    "dsn-8",
    did=1008,
    sender="Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example.com>",
    subject="Undeliverable: Harbour Daily - 5 January 2026",
    human="""
Your message to ivan.petrov@contoso.example.com couldn't be delivered.

ivan.petrov wasn't found at contoso.example.com.

Action Required
Unknown To address

How to Fix It
The address may be misspelled or may not exist.

Diagnostic information for administrators:

Generating server: AM0PR01MB1234.eurprd01.prod.example.com

ivan.petrov@contoso.example.com
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'
""",
    fields="""
Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.example.com
Received-From-MTA: dns;news.example.org
Arrival-Date: Mon, 5 Jan 2026 06:00:04 +0000

Final-Recipient: rfc822;ivan.petrov@contoso.example.com
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup
""",
    to_orig="Ivan Petrov <ivan.petrov@contoso.example.com>",
    expected=[r("ivan.petrov@contoso.example.com", "hard", "5.1.10")],
)
dsn(
    "dsn-9",
    did=1009,
    sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    subject="Delivery Status Notification (Failure)",
    human="""
** Address not found **

Your message wasn't delivered to jonas.weber@example.de because the address couldn't be found, or is unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.
""",
    fields="""
Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; news.example.org
Arrival-Date: Mon, 05 Jan 2026 06:00:04 -0800 (PST)

Final-Recipient: rfc822; jonas.weber@example.de
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.de. (198.51.100.44, the server for the domain example.de.)
Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist.
Last-Attempt-Date: Mon, 05 Jan 2026 06:00:05 -0800 (PST)
""",
    to_orig="jonas.weber@example.de",
    expected=[r("jonas.weber@example.de", "hard", "5.1.1")],
)
_b64_fields = base64.encodebytes(
    b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
    b"Final-Recipient: rfc822; karin@example.se\r\n"
    b"Action: failed\r\nStatus: 5.1.1\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 okand anvandare\r\n"
).decode()
dsn(
    "dsn-10",
    did=1010,
    sender="Mail Delivery System <MAILER-DAEMON@mx.example.net>",
    subject="Delivery Status Notification (Failure)",
    human="Delivery to the following recipient failed: karin@example.se",
    fields=_b64_fields,
    status_headers="Content-Transfer-Encoding: base64\n",
    to_orig="karin@example.se",
    expected=[r("karin@example.se", "hard", "5.1.1")],
)
dsn(
    "dsn-11",
    did=1011,
    sender="postmaster@relay.example.net",
    subject="Delivery failure",
    human="Your message could not be delivered: the recipient's domain does not exist.",
    fields="""
Reporting-MTA: dns; relay.example.net

Final-Recipient: rfc822; lars@no-such-domain.example
Status: 5.1.2
Diagnostic-Code: X-Unix; Host or domain name not found. Name service error for
    name=no-such-domain.example type=MX: Host not found
""",
    to_orig="lars@no-such-domain.example",
    expected=[r("lars@no-such-domain.example", "hard", "5.1.2")],
)
dsn(
    "dsn-12",
    did=1012,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Undelivered Mail Returned to Sender",
    human="""
This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<mia@flaky.example.com>: delivery temporarily suspended: connect to
    mx.flaky.example.com[203.0.113.77]:25: Connection refused
""",
    fields="""
Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; mia@flaky.example.com
Action: failed
Status: 4.4.7
Diagnostic-Code: X-Postfix; delivery temporarily suspended: connect to
    mx.flaky.example.com[203.0.113.77]:25: Connection refused
""",
    to_orig="mia@flaky.example.com",
    expected=[r("mia@flaky.example.com", "soft", "4.4.7")],
)
dsn(
    "dsn-13",
    did=1013,
    sender="MAILER-DAEMON@amazonses.com",
    subject="Delivery Status Notification (Failure)",
    human="""
An error occurred while trying to deliver the mail to the following recipients:
nils.hansen@example.no
""",
    fields="""
Reporting-MTA: dns; a8-12.smtp-out.amazonses.com

Action: failed
Final-Recipient: rfc822; nils.hansen@example.no
Diagnostic-Code: smtp; 550 5.1.1 user unknown
Status: 5.1.1
""",
    to_orig="nils.hansen@example.no",
    expected=[r("nils.hansen@example.no", "hard", "5.1.1")],
)
dsn(
    "dsn-14",
    did=1014,
    sender="Courier mail server at mail.example.net <@>",
    subject="NOTICE: mail delivery status.",
    human="""
This is a delivery status notification from mail.example.net,
running the Courier mail server, version 1.1.

The original message was received on Mon, 05 Jan 2026 06:00:03 +0000
from news.example.org [192.0.2.10]

---------------------------------------------------------------------------

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<olga@example.ru>:
    mx.example.ru [198.51.100.90]:
>>> RCPT TO:<olga@example.ru>
<<< 550 5.7.1 <olga@example.ru>... Mailbox unavailable or access denied

---------------------------------------------------------------------------
""",
    fields="""
Reporting-MTA: dns; mail.example.net
Arrival-Date: Mon, 05 Jan 2026 06:00:03 +0000

Final-Recipient: rfc822; olga@example.ru
Action: failed
Status: 5.0.0
Remote-MTA: dns; mx.example.ru
Diagnostic-Code: smtp; 550 5.7.1 <olga@example.ru>... Mailbox unavailable or access denied
""",
    to_orig="olga@example.ru",
    expected=[r("olga@example.ru", "hard", "5.7.1")],
)
dsn(
    "dsn-15",
    did=1015,
    sender="Postmaster@domino.example.com",
    subject="DELIVERY FAILURE: User paul.keller (paul.keller@domino.example.com) not listed in Domino Directory",
    human="""
Your message

  Subject: Harbour Daily - 5 January 2026

was not delivered to:

  paul.keller@domino.example.com

because:

  User paul.keller (paul.keller@domino.example.com) not listed in Domino Directory
""",
    fields="""
Reporting-MTA: dns;domino.example.com

Final-Recipient: rfc822;paul.keller@domino.example.com
Action: failed
Status: 5.0.0
Diagnostic-Code: X-Notes; User paul.keller (paul.keller@domino.example.com) not listed in Domino Directory
""",
    to_orig="paul.keller@domino.example.com",
    expected=[r("paul.keller@domino.example.com", "hard", "5.0.0")],
)
dsn(
    "dsn-16",
    did=1016,
    sender="postmaster@outlook.example.com",
    subject="Undeliverable: Harbour Daily - 5 January 2026",
    human="""
Delivery has failed to these recipients or groups:

quinn@fabrikam.example.com
The email address you entered couldn't be found.
""",
    fields="""
Reporting-MTA: dns;BN8PR01MB0001.namprd01.prod.example.com

Final-Recipient: rfc822;quinn@fabrikam.example.com
Action: failed
Status: 5.4.1
Diagnostic-Code: smtp;550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [BN8PR01MB0001.namprd01.prod.example.com]
""",
    to_orig="quinn@fabrikam.example.com",
    expected=[r("quinn@fabrikam.example.com", "hard", "5.4.1")],
)
dsn(
    "dsn-17",
    did=1017,
    sender="MAILER-DAEMON@mx.example.net",
    subject="failure notice",
    human="The message could not be delivered.",
    fields="""
Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; rita@example.at
Action: failed
Status: 5.0.0
""",
    to_orig="rita@example.at",
    expected=[r("rita@example.at", "hard", "5.0.0")],
)
dsn(
    "dsn-18",
    did=1018,
    sender="Mail Delivery System <mailer-daemon@gmx.example.net>",
    subject="Mail delivery failed: returning message to sender",
    human="""
Diese Nachricht wurde automatisch vom Mailsystem erzeugt.

Ihre Nachricht konnte an einen oder mehrere Empfänger nicht zugestellt werden:

sven.krause@example.de
    SMTP-Fehler vom Zielserver nach RCPT TO:
    550 Requested action not taken: mailbox unavailable
""",
    fields="""
Reporting-MTA: dns; mout.gmx.example.net

Final-Recipient: rfc822; sven.krause@example.de
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 550 Requested action not taken: mailbox unavailable
""",
    to_orig="sven.krause@example.de",
    expected=[r("sven.krause@example.de", "hard", "5.0.0")],
)
dsn(
    "dsn-19",
    did=1019,
    sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    subject="Delivery Status Notification (Delay)",
    human="""
** Message delayed **

There was a temporary problem delivering your message to tom@busy.example.com. Gmail will retry for 46 more hours. You'll be notified if the delivery fails permanently.

The response was:
421 4.7.0 Try again later, closing connection.
""",
    fields="""
Reporting-MTA: dns; googlemail.com

Final-Recipient: rfc822; tom@busy.example.com
Action: delayed
Status: 4.7.0
Diagnostic-Code: smtp; 421 4.7.0 Try again later, closing connection.
Will-Retry-Until: Wed, 07 Jan 2026 06:00:04 -0800 (PST)
""",
    to_orig="tom@busy.example.com",
    expected=[r("tom@busy.example.com", "soft", "4.7.0")],
)
dsn(
    "dsn-20",
    did=1020,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Undelivered Mail Returned to Sender",
    human="Delivery failed for one recipient; the other was delivered.",
    fields="""
Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; ulla@example.fi
Action: delivered
Status: 2.0.0

Final-Recipient: rfc822; ulla.old@example.fi
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <ulla.old@example.fi>: tuntematon käyttäjä (user unknown)
""",
    to_orig="ulla@example.fi, ulla.old@example.fi",
    expected=[r("ulla.old@example.fi", "hard", "5.1.1")],
)

# ---------------------------------------------------------------------------------------
# qmail
# ---------------------------------------------------------------------------------------
QMAIL_COPY = "--- Below this line is a copy of the message.\n\n"
plain(
    "qmail-1",
    did=2001,
    sender="MAILER-DAEMON@qmail.example.net",
    subject="failure notice",
    body=f"""
Hi. This is the qmail-send program at qmail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<vera@example.com>:
198.51.100.7 does not like recipient.
Remote host said: 550 5.1.1 <vera@example.com>: Recipient address rejected: User unknown
Giving up on 198.51.100.7.

{QMAIL_COPY}{original("vera@example.com", 2001, return_path=True)}""",
    kind="bounce",
    expected=[r("vera@example.com", "hard", "5.1.1")],
)
plain(
    "qmail-2",
    did=2002,
    sender="MAILER-DAEMON@qmail.example.net",
    subject="failure notice",
    body=f"""
Hi. This is the qmail-send program at qmail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<walter@example.com>:
Sorry, no mailbox here by that name. (#5.1.1)

<xenia@example.com>:
198.51.100.7 does not like recipient.
Remote host said: 552 5.2.2 <xenia@example.com>: mailbox is over quota
Giving up on 198.51.100.7.

{QMAIL_COPY}{original("walter@example.com, xenia@example.com", 2002)}""",
    kind="bounce",
    expected=[r("walter@example.com", "hard", "5.1.1"), r("xenia@example.com", "soft", "5.2.2")],
)
plain(
    "qmail-3",
    did=2003,
    sender="MAILER-DAEMON@qmail.example.net",
    subject="failure notice",
    body=f"""
Hi. This is the qmail-send program at qmail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<yusuf@slow.example.org>:
Connected to 203.0.113.5 but connection died. (#4.4.2)
I'm not going to try again; this message has been in the queue too long.

{QMAIL_COPY}{original("yusuf@slow.example.org", 2003)}""",
    kind="bounce",
    expected=[r("yusuf@slow.example.org", "soft", "4.4.2")],
)

# ---------------------------------------------------------------------------------------
# Exim
# ---------------------------------------------------------------------------------------
EXIM_COPY = "------ This is a copy of the message, including all the headers. ------\n\n"
plain(
    "exim-1",
    did=3001,
    sender="Mail Delivery System <Mailer-Daemon@exim.example.net>",
    subject="Mail delivery failed: returning message to sender",
    headers="Auto-Submitted: auto-replied\n",
    body=f"""
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  zoe.martin@example.fr
    host mx.example.fr [198.51.100.61]
    SMTP error from remote mail server after RCPT TO:<zoe.martin@example.fr>:
    550 5.1.1 <zoe.martin@example.fr>: utilisateur inconnu

{EXIM_COPY}{original("zoe.martin@example.fr", 3001, return_path=True)}""",
    kind="bounce",
    expected=[r("zoe.martin@example.fr", "hard", "5.1.1")],
)
plain(
    "exim-2",
    did=3002,
    sender="Mail Delivery System <Mailer-Daemon@exim.example.net>",
    subject="Warning: message 1tXyZa-0001Ab-2c delayed 24 hours",
    headers="Auto-Submitted: auto-replied\n",
    body="""
This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on exim.example.net.

The message identifier is:     1tXyZa-0001Ab-2c
The subject of the message is: Harbour Daily - 5 January 2026
The date of the message is:    Mon, 05 Jan 2026 06:00:00 +0000

The address to which the message has not yet been delivered is:

  adam@greylist.example.com
    host mx.greylist.example.com [203.0.113.40]
    Delay reason: SMTP error from remote mail server after RCPT TO:<adam@greylist.example.com>:
    451 4.7.1 Greylisted, please try again later

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered. Eventually the mail delivery software will give up,
and when that happens, the message will be returned to you.
""",
    kind="bounce",
    expected=[r("adam@greylist.example.com", "soft", "4.7.1")],
)
plain(
    "exim-3",
    did=3003,
    sender="Mail Delivery System <Mailer-Daemon@exim.example.net>",
    subject="Mail delivery failed: returning message to sender",
    body=f"""
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  bea.final@mailhost.example.net
    (generated from bea@example.net)
    unrouteable address

{EXIM_COPY}{original("bea@example.net", 3003)}""",
    kind="bounce",
    expected=[r("bea@example.net", "hard", None)],
)
plain(
    "exim-4",
    did=3004,
    sender="Mail Delivery System <Mailer-Daemon@exim.example.net>",
    subject="Mail delivery failed: returning message to sender",
    body=f"""
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  cem@example.com.tr
    mailbox is full: retry timeout exceeded

  dana@example.com.tr
    SMTP error from remote mail server after RCPT TO:<dana@example.com.tr>:
    550 Unknown user

{EXIM_COPY}{original("cem@example.com.tr", 3004)}""",
    kind="bounce",
    expected=[r("cem@example.com.tr", "soft", None), r("dana@example.com.tr", "hard", None)],
)

# ---------------------------------------------------------------------------------------
# Postfix (plain text, no DSN part)
# ---------------------------------------------------------------------------------------
plain(
    "postfix-1",
    did=4001,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Undelivered Mail Returned to Sender",
    body="""
This is the Postfix program at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to <postmaster>

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The Postfix program

<eric@example.net>: host mail.example.net[198.51.100.8] said: 550 5.1.1
    <eric@example.net>... User unknown (in reply to RCPT TO command)
""",
    kind="bounce",
    expected=[r("eric@example.net", "hard", "5.1.1")],
)
plain(
    "postfix-2",
    did=4002,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Undelivered Mail Returned to Sender",
    body="""
This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<frida.new@example.org> (expanded from <frida@example.com>): host
    mx.example.org[198.51.100.30] said: 550 5.2.1 This mailbox has been disabled
    (in reply to RCPT TO command)
""",
    kind="bounce",
    expected=[r("frida@example.com", "hard", "5.2.1")],
)
plain(
    "postfix-3",
    did=4003,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Delayed Mail (still being retried)",
    body="""
This is the mail system at host mx.example.net.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

                   The mail system

<gustav@example.se>: host mx.example.se[198.51.100.99] said: 452 4.2.2 Mailbox
    full (in reply to RCPT TO command)
""",
    kind="bounce",
    expected=[r("gustav@example.se", "soft", "4.2.2")],
)

# ---------------------------------------------------------------------------------------
# Sendmail (plain text)
# ---------------------------------------------------------------------------------------
plain(
    "sendmail-1",
    did=5001,
    sender="Mail Delivery Subsystem <MAILER-DAEMON@sendmail.example.net>",
    subject="Returned mail: see transcript for details",
    body=f"""
The original message was received at Mon, 5 Jan 2026 06:00:03 GMT
from news.example.org [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<helga@example.dk>
    (reason: 550 5.1.1 <helga@example.dk>... User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.dk.:
>>> DATA
<<< 550 5.1.1 <helga@example.dk>... User unknown
550 5.1.1 <helga@example.dk>... User unknown
<<< 503 5.0.0 Need RCPT (recipient)

   ----- Original message follows -----

{original("helga@example.dk", 5001)}""",
    kind="bounce",
    expected=[r("helga@example.dk", "hard", "5.1.1")],
)
plain(
    "sendmail-2",
    did=5002,
    sender="Mail Delivery Subsystem <MAILER-DAEMON@sendmail.example.net>",
    subject="Warning: could not send message for past 4 hours",
    body="""
    **********************************************
    **      THIS IS A WARNING MESSAGE ONLY      **
    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **
    **********************************************

The original message was received at Mon, 5 Jan 2026 02:00:03 GMT
from news.example.org [192.0.2.10]

   ----- Transcript of session follows -----
<ida@down.example.com>... Deferred: Connection timed out with mx.down.example.com.
Warning: message still undelivered after 4 hours
Will keep trying until message is 5 days old
""",
    kind="bounce",
    expected=[r("ida@down.example.com", "soft", None)],
)
plain(
    "sendmail-3",
    did=5003,
    sender="Mail Delivery Subsystem <MAILER-DAEMON@sendmail.example.net>",
    subject="Returned mail: see transcript for details",
    body="""
The original message was received at Mon, 5 Jan 2026 06:00:03 GMT
from news.example.org [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<jan@example.nl>
    (reason: 550 5.1.1 Onbekende gebruiker)

   ----- The following addresses had transient non-fatal errors -----
<kees@example.nl>
    (reason: 450 4.2.0 Mailbox temporarily unavailable)
""",
    kind="bounce",
    expected=[r("jan@example.nl", "hard", "5.1.1"), r("kees@example.nl", "soft", "4.2.0")],
)

# ---------------------------------------------------------------------------------------
# Exchange / Office 365 (text and HTML, several languages)
# ---------------------------------------------------------------------------------------
mixed(
    "exchange-1",
    did=6001,
    sender="Microsoft Exchange <postmaster@exchange.example.com>",
    subject="Undeliverable: Harbour Daily - 5 January 2026",
    body="""
Delivery has failed to these recipients or groups:

Lena Vogel
The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message. If the problem continues, please contact your helpdesk.

Diagnostic information for administrators:

Generating server: exchange.example.com

lena.vogel@exchange.example.com
#550 5.1.1 RESOLVER.ADR.RecipientNotFound; not found ##

Original message headers:

Received: from news.example.org (192.0.2.10) by exchange.example.com
""",
    to_orig="Lena Vogel <lena.vogel@exchange.example.com>",
    expected=[r("lena.vogel@exchange.example.com", "hard", "5.1.1")],
)
mixed(
    "exchange-2",
    did=6002,
    sender="System Administrator <postmaster@old-exchange.example.com>",
    subject="Undeliverable: Harbour Daily - 5 January 2026",
    body="""
Your message

  To:      Max Huber
  Subject: Harbour Daily - 5 January 2026
  Sent:    Mon, 5 Jan 2026 07:00:00 +0100

did not reach the following recipient(s):

Max Huber on Mon, 5 Jan 2026 07:00:05 +0100
    The e-mail account does not exist at the organization this message was sent to.  Check the e-mail address, or contact the recipient directly to find out the correct address.
    <old-exchange.example.com #5.1.1>
""",
    to_orig="Max Huber <max.huber@old-exchange.example.com>",
    expected=[r("max.huber@old-exchange.example.com", "hard", "5.1.1")],
)
mixed(
    "exchange-3",
    did=6003,
    sender="Microsoft Outlook <postmaster@tenant.example.com>",
    subject="Undeliverable: Harbour Daily - 5 January 2026",
    body_type="text/html; charset=utf-8",
    body="""
<html><head><style>p { margin: 0 }</style></head><body>
<p><b><font color="#000066" size="3">Your message to <a href="mailto:nora@tenant.example.com">nora@tenant.example.com</a> couldn't be delivered.</font></b></p>
<p>nora wasn't found at tenant.example.com.</p>
<table><tr><td>Diagnostic information for administrators:</td></tr></table>
<p>Generating server: DB8PR02MB5555.eurprd02.prod.example.com<br>
<br>nora@tenant.example.com<br>
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'<br></p>
</body></html>
""",
    to_orig="nora@tenant.example.com",
    expected=[r("nora@tenant.example.com", "hard", "5.1.10")],
)
mixed(
    "exchange-4",
    did=6004,
    sender="Microsoft Outlook <postmaster@firma.example.de>",
    subject="Unzustellbar: Harbour Daily - 5 January 2026",
    body="""
Die Zustellung an folgende Empfänger oder Gruppen ist fehlgeschlagen:

oskar.schmidt@firma.example.de
Die eingegebene E-Mail-Adresse wurde nicht gefunden. Überprüfen Sie die E-Mail-Adresse des Empfängers, und versuchen Sie dann, die Nachricht erneut zu senden.

Diagnoseinformationen für Administratoren:

Generierender Server: mail.firma.example.de

oskar.schmidt@firma.example.de
Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipientNotFound; Empfänger nicht gefunden'
""",
    to_orig="oskar.schmidt@firma.example.de",
    expected=[r("oskar.schmidt@firma.example.de", "hard", "5.1.1")],
)
mixed(
    "exchange-5",
    did=6005,
    sender="Microsoft Outlook <postmaster@societe.example.fr>",
    subject="Non remis : Harbour Daily - 5 January 2026",
    body="""
La remise aux destinataires ou groupes suivants a échoué :

pauline.durand@societe.example.fr
La boîte aux lettres du destinataire est pleine et ne peut pas accepter de messages pour l'instant. Veuillez réessayer plus tard.

Informations de diagnostic pour les administrateurs :

Serveur de génération : mail.societe.example.fr

pauline.durand@societe.example.fr
Remote Server returned '554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException'
""",
    to_orig="pauline.durand@societe.example.fr",
    expected=[r("pauline.durand@societe.example.fr", "soft", "5.2.2")],
)
mixed(
    "exchange-6",
    did=6006,
    sender="Microsoft Outlook <postmaster@tenant.example.com>",
    subject="Delivery delayed: Harbour Daily - 5 January 2026",
    body="""
Delivery is delayed to these recipients or groups:

quentin@partner.example.com

Subject: Harbour Daily - 5 January 2026

This message hasn't been delivered yet. Delivery will continue to be attempted.

The server will keep trying to deliver this message for the next 1 days, 19 hours and 52 minutes. You'll be notified if the message can't be delivered by that time.

Diagnostic information for administrators:

Generating server: DB8PR02MB5555.eurprd02.prod.example.com
Receiving server: mx.partner.example.com

quentin@partner.example.com
Remote Server returned '451 4.4.0 Primary target IP address responded with: "421 4.4.2 Connection dropped due to SocketError."'
""",
    to_orig="quentin@partner.example.com",
    expected=[r("quentin@partner.example.com", "soft", "4.4.0")],
)

# ---------------------------------------------------------------------------------------
# Gmail (plain text shapes; the DSN shapes are dsn-9 and dsn-19)
# ---------------------------------------------------------------------------------------
plain(
    "gmail-1",
    did=7001,
    sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    subject="Delivery Status Notification (Failure)",
    body="""
** Address not found **

Your message wasn't delivered to rosa.lima@example.com.br because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.example.com/mail/answer/6596

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.
""",
    kind="bounce",
    expected=[r("rosa.lima@example.com.br", "hard", "5.1.1")],
)
plain(
    "gmail-2",
    did=7002,
    sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    subject="Delivery Status Notification (Failure)",
    body="""
Delivery to the following recipient failed permanently:

     samuel@example.co.uk

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the server for the recipient domain example.co.uk by mx.example.co.uk. [198.51.100.120].

The error that the other server returned was:
550 5.2.1 The email account that you tried to reach is disabled.
""",
    kind="bounce",
    expected=[r("samuel@example.co.uk", "hard", "5.2.1")],
)
plain(
    "gmail-3",
    did=7003,
    sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    subject="Delivery Status Notification (Delay)",
    body="""
This is an automatically generated Delivery Status Notification

THIS IS A WARNING MESSAGE ONLY.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipient has been delayed:

     tina@slow.example.com

Message will be retried for 2 more day(s)

Technical details of temporary failure:
The recipient server did not accept our requests to connect.
""",
    kind="bounce",
    expected=[r("tina@slow.example.com", "soft", None)],
)
plain(
    "gmail-4",
    did=7004,
    sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    subject="Delivery Status Notification (Failure)",
    body="""
** Message not delivered **

There was a problem delivering your message to uwe@example.de. See the technical details below.

The response was:
552 5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to support.
""",
    kind="bounce",
    expected=[r("uwe@example.de", "soft", "5.2.2")],
)

# ---------------------------------------------------------------------------------------
# Yahoo
# ---------------------------------------------------------------------------------------
YAHOO_COPY = "--- Below this line is a copy of the message.\n\n"
plain(
    "yahoo-1",
    did=8001,
    sender="MAILER-DAEMON@yahoo.example.com",
    subject="Failure Notice",
    body=f"""
Sorry, we were unable to deliver your message to the following address.

<violet@yahoo.example.com>:
554: delivery error: dd This user doesn't have a yahoo.example.com account (violet@yahoo.example.com) [0] - mta1042.mail.example.com

{YAHOO_COPY}{original("violet@yahoo.example.com", 8001)}""",
    kind="bounce",
    expected=[r("violet@yahoo.example.com", "hard", None)],
)
plain(
    "yahoo-2",
    did=8002,
    sender="MAILER-DAEMON@yahoo.example.com",
    subject="Failure Notice",
    body=f"""
Sorry, we were unable to deliver your message to the following address.

<will@example.net>:
Remote host said: 552 1 Requested mail action aborted, mailbox not found [RCPT_TO]

{YAHOO_COPY}{original("will@example.net", 8002)}""",
    kind="bounce",
    expected=[r("will@example.net", "hard", None)],
)


# ---------------------------------------------------------------------------------------
# Amazon SES notifications by mail (SNS email subscription)
# ---------------------------------------------------------------------------------------
def _sns(message: dict) -> str:
    envelope = {
        "Type": "Notification",
        "MessageId": "2b4c1f0e-0000-4000-8000-000000000001",
        "TopicArn": "arn:aws:sns:eu-west-1:000000000000:ses-feedback",
        "Message": json.dumps(message),
        "Timestamp": "2026-01-05T06:01:00.000Z",
    }
    return json.dumps(envelope, indent=2)


plain(
    "ses-1",
    did=None,
    sender="AWS Notifications <no-reply@sns.example.com>",
    subject="AWS Notification Message",
    return_path="<bounce-sns@sns.example.com>",
    body=_sns(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": "xavier@example.com",
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": "2026-01-05T06:00:59.000Z",
            },
            "mail": {"source": "digest@news.example.org", "destination": ["xavier@example.com"]},
        }
    ),
    kind="bounce",
    expected=[r("xavier@example.com", "hard", "5.1.1")],
)
plain(
    "ses-2",
    did=None,
    sender="AWS Notifications <no-reply@sns.example.com>",
    subject="AWS Notification Message",
    return_path="<bounce-sns@sns.example.com>",
    body=_sns(
        {
            "notificationType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": "yara@example.net"}],
                "complaintFeedbackType": "abuse",
                "timestamp": "2026-01-05T08:00:00.000Z",
            },
            "mail": {"source": "digest@news.example.org", "destination": ["yara@example.net"]},
        }
    ),
    kind="complaint",
    expected=[r("yara@example.net", None)],
)
plain(
    "ses-3",
    did=None,
    sender="AWS Notifications <no-reply@sns.example.com>",
    subject="AWS Notification Message",
    return_path="<bounce-sns@sns.example.com>",
    body=_sns(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Transient",
                "bounceSubType": "MailboxFull",
                "bouncedRecipients": [
                    {
                        "emailAddress": "zeno@example.it",
                        "status": "5.2.2",
                        "diagnosticCode": "smtp; 552 5.2.2 casella piena",
                    }
                ],
            },
        }
    ),
    kind="bounce",
    expected=[r("zeno@example.it", "soft", "5.2.2")],
)

# ---------------------------------------------------------------------------------------
# Microsoft SMTP service / old Hotmail
# ---------------------------------------------------------------------------------------
plain(
    "microsoft-1",
    did=9001,
    sender="postmaster@iis.example.com",
    subject="Delivery Status Notification (Failure)",
    body="""
This is an automatically generated Delivery Status Notification.

Delivery to the following recipients failed.

       alma@iis.example.com
""",
    kind="bounce",
    expected=[r("alma@iis.example.com", "hard", None)],
)
plain(
    "microsoft-2",
    did=9002,
    sender="postmaster@hotmail.example.com",
    subject="Delivery Status Notification (Delay)",
    body="""
This is an automatically generated Delivery Status Notification.

THIS IS A WARNING MESSAGE ONLY.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipients has been delayed.

       bruno@hotmail.example.com
""",
    kind="bounce",
    expected=[r("bruno@hotmail.example.com", "soft", None)],
)

# ---------------------------------------------------------------------------------------
# Lotus Notes / Domino, GroupWise, MDaemon, Courier, iPlanet, IMail
# ---------------------------------------------------------------------------------------
mixed(
    "domino-1",
    did=9101,
    sender="Postmaster@notes.example.com",
    subject="DELIVERY FAILURE: User clara.hofer (clara.hofer@notes.example.com) not listed in Domino Directory",
    body="""
Your message

  Subject: Harbour Daily - 5 January 2026

was not delivered to:

  clara.hofer@notes.example.com

because:

  User clara.hofer (clara.hofer@notes.example.com) not listed in Domino Directory
""",
    to_orig="clara.hofer@notes.example.com",
    expected=[r("clara.hofer@notes.example.com", "hard", None)],
)
mixed(
    "domino-2",
    did=9102,
    sender="Postmaster@notes.example.de",
    subject="Zustellungsfehler: Harbour Daily - 5 January 2026",
    body="""
Ihr Dokument:

  Betreff: Harbour Daily - 5 January 2026

wurde nicht zugestellt an:

  dieter.lang@notes.example.de

weil:

  Postfach für dieter.lang@notes.example.de ist voll
""",
    to_orig="dieter.lang@notes.example.de",
    expected=[r("dieter.lang@notes.example.de", "soft", None)],
)
mixed(
    "groupwise-1",
    did=9201,
    sender="Mail Delivery System <postmaster@gw.example.com>",
    subject="Message status - undeliverable",
    body="""
The message that you sent was undeliverable to the following:
	eva.ross@gw.example.com (user not found)

Possibly truncated original message follows:
""",
    to_orig="eva.ross@gw.example.com",
    expected=[r("eva.ross@gw.example.com", "hard", None)],
)
plain(
    "groupwise-2",
    did=9202,
    sender="postmaster@gw.example.org",
    subject="Message status - undeliverable",
    body="""
Message status - undeliverable

   The attached file had the following undeliverable recipient(s):
	felix@remote.example.org

   Transcript of session follows:
	Command: RCPT TO:<felix@remote.example.org>
	Response: 550 5.1.1 <felix@remote.example.org>: Recipient address rejected: User unknown in local recipient table
""",
    kind="bounce",
    expected=[r("felix@remote.example.org", "hard", "5.1.1")],
)
plain(
    "mdaemon-1",
    did=9301,
    sender="MDaemon@md.example.com",
    subject="Permanent Delivery Failure",
    body="""
The attached message had PERMANENT fatal delivery errors!

After one or more unsuccessful delivery attempts the attached message has
been removed from the mail queue on this server.  The number and frequency
of delivery attempts are determined by local configuration parameters.

YOU DO NOT NEED TO RESEND THE MESSAGE.

--- Session Transcript ---
 Mon 2026-01-05 06:00:04: Session 0001; child 1
 Mon 2026-01-05 06:00:04: Parsing message <md.example.com\\pd50000001.msg>
 Mon 2026-01-05 06:00:04: *  To: gerda@far.example.com
 Mon 2026-01-05 06:00:05: Attempting SMTP connection to [mx.far.example.com : 25]
 Mon 2026-01-05 06:00:05: --> RCPT To:<gerda@far.example.com>
 Mon 2026-01-05 06:00:06: <-- 550 5.1.1 <gerda@far.example.com>: Recipient address rejected: User unknown
--- End Transcript ---
""",
    kind="bounce",
    expected=[r("gerda@far.example.com", "hard", "5.1.1")],
)
plain(
    "mdaemon-2",
    did=9302,
    sender="MDaemon@md.example.com",
    subject="Warning: Message Delivery Has Been Delayed",
    body="""
The attached message has not yet been delivered to its recipients.

Delivery attempts will continue.

--- Session Transcript ---
 Mon 2026-01-05 06:00:05: Attempting SMTP connection to [mx.down.example.net : 25]
 Mon 2026-01-05 06:00:35: --> RCPT To:<hugo@down.example.net>
 Mon 2026-01-05 06:00:36: <-- 451 4.3.0 Mail server temporarily rejected message
--- End Transcript ---
""",
    kind="bounce",
    expected=[r("hugo@down.example.net", "soft", "4.3.0")],
)
plain(
    "courier-1",
    did=9401,
    sender="Courier mail server at mail.example.net <@>",
    subject="NOTICE: mail delivery status.",
    body="""
This is a delivery status notification from mail.example.net,
running the Courier mail server, version 1.1.

The original message was received on Mon, 05 Jan 2026 06:00:03 +0000
from news.example.org [192.0.2.10]

---------------------------------------------------------------------------

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<ines@example.pt>:
    mx.example.pt [198.51.100.140]:
>>> RCPT TO:<ines@example.pt>
<<< 550 5.1.1 <ines@example.pt>... utilizador desconhecido

---------------------------------------------------------------------------
""",
    kind="bounce",
    expected=[r("ines@example.pt", "hard", "5.1.1")],
)
plain(
    "courier-2",
    did=9402,
    sender="Courier mail server at mail.example.net <@>",
    subject="WARNING: delayed mail.",
    body="""
This is a delivery status notification from mail.example.net,
running the Courier mail server, version 1.1.

---------------------------------------------------------------------------

                              DELAYED MAIL

Your message to the following recipients has not been delivered yet.
Delivery attempts will continue:

<jakob@slow.example.at>:
    mx.slow.example.at [203.0.113.21]:
<<< 421 Too many concurrent connections from your host
""",
    kind="bounce",
    expected=[r("jakob@slow.example.at", "soft", None)],
)
plain(
    "iplanet-1",
    did=9501,
    sender="Internet Mail Delivery <postmaster@ims.example.edu>",
    subject="Delivery Notification: Delivery has failed",
    body="""
This report relates to a message you sent with the following header fields:

  Message-id: <digest.9501.20260105@news.example.org>
  Date: Mon, 05 Jan 2026 06:00:00 +0000
  From: Harbour Daily <digest@news.example.org>
  Subject: Harbour Daily - 5 January 2026

Your message cannot be delivered to the following recipients:

  Recipient address: kurt@ims.example.edu
  Reason: Remote SMTP server has rejected address
  Diagnostic code: smtp;550 5.1.1 unknown or illegal alias: kurt@ims.example.edu
  Remote system: dns;mx.ims.example.edu (TCP|192.0.2.99|2525|198.51.100.66|25)

This Message was undeliverable due to the following reason:
""",
    kind="bounce",
    expected=[r("kurt@ims.example.edu", "hard", "5.1.1")],
)
plain(
    "imail-1",
    did=9601,
    sender="Postmaster <postmaster@imail.example.com>",
    subject="Undeliverable Mail",
    body=f"""
Unknown user: liam@imail.example.com

Original message follows.

{original("liam@imail.example.com", 9601)}""",
    kind="bounce",
    expected=[r("liam@imail.example.com", "hard", None)],
)

# ---------------------------------------------------------------------------------------
# Provider bounces in other languages, and an unknown format from a robot
# ---------------------------------------------------------------------------------------
plain(
    "localized-1",
    did=9701,
    sender="Mail Delivery System <mailer-daemon@provider.example.de>",
    subject="Unzustellbar: Harbour Daily",
    charset="utf-8",
    body="""
Hallo,

Ihre Nachricht konnte nicht zugestellt werden an:

  marta.zimmer@provider.example.de
  Grund: 550 Benutzer unbekannt

Diese Nachricht wurde automatisch erzeugt.
""",
    kind="bounce",
    expected=[r("marta.zimmer@provider.example.de", "hard", None)],
)
plain(
    "localized-2",
    did=9702,
    sender="Système de messagerie <mailer-daemon@fournisseur.example.fr>",
    subject="Message non remis",
    charset="utf-8",
    body="""
Bonjour,

Votre message n'a pas pu être remis au destinataire suivant :

  noel.petit@fournisseur.example.fr : 550 5.1.1 utilisateur inconnu

Ceci est un message automatique.
""",
    kind="bounce",
    expected=[r("noel.petit@fournisseur.example.fr", "hard", "5.1.1")],
)
plain(
    "localized-3",
    did=9703,
    sender="Sistema de correo <mailer-daemon@proveedor.example.es>",
    subject="Mensaje no entregado",
    charset="utf-8",
    body="""
No se pudo entregar su mensaje al siguiente destinatario:

  olivia.ruiz@proveedor.example.es
  Motivo: 552 buzón lleno, intente más tarde
""",
    kind="bounce",
    expected=[r("olivia.ruiz@proveedor.example.es", "soft", None)],
)
plain(
    "localized-4",
    did=9704,
    sender="Sistema di posta <mailer-daemon@fornitore.example.it>",
    subject="Messaggio non recapitabile",
    charset="iso-8859-1",
    body="""
Non è stato possibile recapitare il messaggio ai seguenti destinatari:

  piero.rossi@fornitore.example.it
  550 5.1.1 utente sconosciuto
""",
    kind="bounce",
    expected=[r("piero.rossi@fornitore.example.it", "hard", "5.1.1")],
)
plain(
    "localized-5",
    did=9705,
    sender="Mail Delivery System <mailer-daemon@provider.example.nl>",
    subject="Onbestelbaar: Harbour Daily",
    charset="utf-8",
    body="""
Uw bericht kon niet worden bezorgd bij de volgende ontvanger:

  quirijn@provider.example.nl
  550 gebruiker onbekend
""",
    kind="bounce",
    expected=[r("quirijn@provider.example.nl", "hard", None)],
)
plain(
    "localized-6",
    did=9706,
    sender="Sistema de Correio <mailer-daemon@provedor.example.com.br>",
    subject="Mensagem não entregue",
    charset="utf-8",
    body="""
Não foi possível entregar a sua mensagem ao seguinte destinatário:

  renata@provedor.example.com.br
  452 4.2.2 caixa postal cheia
""",
    kind="bounce",
    expected=[r("renata@provedor.example.com.br", "soft", "4.2.2")],
)
plain(
    "generic-1",
    did=9801,
    sender="Mail Delivery System <MAILER-DAEMON@odd.example.net>",
    subject="Returned mail",
    body="""
The following recipient was rejected by the destination server:

simon@odd.example.net: 550 No such user here
""",
    kind="bounce",
    expected=[r("simon@odd.example.net", "hard", None)],
)


# ---------------------------------------------------------------------------------------
# Complaints
# ---------------------------------------------------------------------------------------
def arf(
    name: str,
    did: int,
    fields: str,
    to_orig: str,
    expected: list[dict],
    *,
    orig_type: str = "message/rfc822",
    feedback_to: str | None = None,
    kind: str = "complaint",
) -> None:
    text = f"""
Return-Path: <>
From: Feedback Loop <fbl@isp.example.net>
To: {feedback_to or "fbl-reports@news.example.org"}
Subject: FW: Harbour Daily - 5 January 2026
Date: Mon, 05 Jan 2026 09:10:00 +0000
Message-ID: <{name}@fbl.isp.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.10 on Mon, 05 Jan 2026 06:00:04 +0000.
For more information about this format please see
https://www.rfc-editor.org/rfc/rfc5965.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

{fields.strip()}

--part1_13d.2e68ed54_boundary
Content-Type: {orig_type}
Content-Disposition: inline

{original(to_orig, did, body=orig_type == "message/rfc822")}
--part1_13d.2e68ed54_boundary--
"""
    add(name, text, kind, expected, did)


arf(
    "arf-1",
    10001,
    f"""
Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <{rp(10001)}>
Original-Rcpt-To: <tessa@isp.example.net>
Arrival-Date: Mon, 05 Jan 2026 06:00:04 +0000
Reported-Domain: news.example.org
Source-IP: 192.0.2.10
""",
    "tessa@isp.example.net",
    [r("tessa@isp.example.net", None)],
)
arf(
    "arf-2",
    10002,
    """
Feedback-Type: abuse
User-Agent: ExampleFBL/2.1
Version: 1
Source-IP: 192.0.2.10
""",
    "Ulf Berg <ulf@isp.example.net>",
    [r("ulf@isp.example.net", None)],
)
arf(
    "arf-3",
    10003,
    """
Feedback-Type: abuse
User-Agent: RedactingFBL/1.0
Version: 1
""",
    "[redacted]@isp.example.net",
    [],
)
arf(
    "arf-4",
    10004,
    """
Feedback-Type: fraud
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: valerie@isp.example.net
""",
    "valerie@isp.example.net",
    [r("valerie@isp.example.net", None)],
    orig_type="text/rfc822-headers",
)
arf(
    "arf-5",
    10005,
    """
Feedback-Type: auth-failure
User-Agent: DmarcForensics/1.0
Version: 1
Auth-Failure: dkim
Original-Rcpt-To: wanda@isp.example.net
""",
    "wanda@isp.example.net",
    [],
    kind="not-bounce",
)
add(
    "arf-6",
    f"""
Return-Path: <>
From: staff@hotmail.example.com
To: fbl-reports@news.example.org
Subject: complaint about message from 192.0.2.10
Date: Mon, 05 Jan 2026 09:11:00 +0000
Message-ID: <jmrp-1@hotmail.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="jmrp"

--jmrp
Content-Type: text/plain

This is an email abuse report.

--jmrp
Content-Type: message/rfc822

X-HmXmrOriginalRecipient: <xena@hotmail.example.com>
{original("xena@hotmail.example.com", 10006)}
--jmrp--
""",
    "complaint",
    [r("xena@hotmail.example.com", None)],
    10006,
)
add(
    "arf-7",
    f"""
Return-Path: <>
From: abuse@small-isp.example.org
To: fbl-reports@news.example.org
Subject: Abuse report
Date: Mon, 05 Jan 2026 09:12:00 +0000
Message-ID: <plain-arf-1@small-isp.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="plainarf"

--plainarf
Content-Type: text/plain

Feedback-Type: abuse
User-Agent: small-isp-fbl
Version: 1
Original-Rcpt-To: yann@small-isp.example.org

--plainarf
Content-Type: message/rfc822

{original("yann@small-isp.example.org", 10007)}
--plainarf--
""",
    "complaint",
    [r("yann@small-isp.example.org", None)],
    10007,
)

# ---------------------------------------------------------------------------------------
# Automatic replies (RFC 3834 and the usual non-standard marks)
# ---------------------------------------------------------------------------------------
plain(
    "autoreply-1",
    did=None,
    sender="Anton Keller <anton.keller@example.ch>",
    subject="Automatic reply: Harbour Daily - 5 January 2026",
    return_path="<>",
    headers="Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n",
    body="""
I am out of the office until 12 January with limited access to email.
For urgent matters please contact office@example.ch.
""",
    kind="auto-reply",
    expected=[],
)
plain(
    "autoreply-2",
    did=None,
    sender="Berta Huber <berta.huber@example.at>",
    subject="Abwesenheitsnotiz: Harbour Daily - 5 January 2026",
    return_path="<berta.huber@example.at>",
    charset="utf-8",
    body="""
Vielen Dank für Ihre Nachricht. Ich bin bis 9. Januar nicht im Büro.
Ihre E-Mail wird nicht weitergeleitet.
""",
    kind="auto-reply",
    expected=[],
)
plain(
    "autoreply-3",
    did=None,
    sender="carl@example.net",
    subject="Re: Harbour Daily - 5 January 2026",
    return_path="<carl@example.net>",
    headers="X-Autoreply: yes\n",
    body="""
I'm on vacation until Monday. Your mail was not delivered to my phone; I will read it when I am back.
""",
    kind="auto-reply",
    expected=[],
)
plain(
    "autoreply-4",
    did=None,
    sender="Delphine Martin <delphine@example.fr>",
    subject="Réponse automatique : Harbour Daily",
    return_path="<delphine@example.fr>",
    headers="Precedence: auto_reply\n",
    charset="utf-8",
    body="Je suis absente du bureau jusqu'au 8 janvier.",
    kind="auto-reply",
    expected=[],
)
plain(
    "autoreply-5",
    did=None,
    sender="Ernst Maier <ernst.maier@notes.example.com>",
    subject="Ernst Maier is out of the office.",
    return_path="<ernst.maier@notes.example.com>",
    body="""
I will be out of the office starting 05/01/2026 and will not return until 12/01/2026.
""",
    kind="auto-reply",
    expected=[],
)
plain(
    "autoreply-6",
    did=None,
    sender="Fabiola Ortiz <fabiola@example.mx>",
    subject="Fuera de la oficina",
    return_path="<fabiola@example.mx>",
    headers="X-Autorespond: Fuera de la oficina\n",
    charset="utf-8",
    body="Estoy fuera de la oficina. Responderé a mi regreso.",
    kind="auto-reply",
    expected=[],
)

# ---------------------------------------------------------------------------------------
# Plain mail that is not a bounce
# ---------------------------------------------------------------------------------------
plain(
    "plain-1",
    did=None,
    sender="Greta Lund <greta@example.se>",
    subject="Re: Harbour Daily - 5 January 2026",
    return_path="<greta@example.se>",
    body="""
Thanks for the digest! Could you add the port schedule feed too?

Greta

> Good morning. Five stories from the harbour today.
""",
    kind="not-bounce",
    expected=[],
)
plain(
    "plain-2",
    did=None,
    sender="Henrik Olsen <henrik@example.dk>",
    subject="Undelivered issue?",
    return_path="<henrik@example.dk>",
    body="""
Hi, I think Monday's issue was undelivered to my colleague lise@example.dk -
could you check your logs? My own address henrik@example.dk got it fine.
""",
    kind="not-bounce",
    expected=[],
)
add(
    "plain-3",
    """
Return-Path: <iris@example.com>
From: Iris Novak <iris@example.com>
To: digest@news.example.org
Subject: Read: Harbour Daily - 5 January 2026
Date: Mon, 05 Jan 2026 10:00:00 +0000
Message-ID: <mdn-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"

--mdn
Content-Type: text/plain

Your message was displayed on Mon, 5 Jan 2026 10:00:00 +0000.

--mdn
Content-Type: message/disposition-notification

Reporting-UA: mail.example.com; ExampleMail
Final-Recipient: rfc822;iris@example.com
Original-Message-ID: <digest.1.20260105@news.example.org>
Disposition: manual-action/MDN-sent-manually; displayed

--mdn--
""",
    "not-bounce",
    [],
)
plain(
    "plain-4",
    did=None,
    sender="Calendar <noreply@calendar.example.com>",
    subject="Invitation: harbour tour on 12 January",
    return_path="<noreply@calendar.example.com>",
    body="""
You have been invited to the harbour tour by jens@example.com.
Reply to this message to accept.
""",
    kind="not-bounce",
    expected=[],
)

# ---------------------------------------------------------------------------------------
# Malformed input
# ---------------------------------------------------------------------------------------
add(
    "malformed-1",
    f"""
Return-Path: <>
From: MAILER-DAEMON@mx.example.net
To: {rp(11001)}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="cut"

--cut
Content-Type: text/plain
Content-Transfer-Encoding: base64

VGhpcyBpcyBub3QgdmFsaWQgYmFzZTY0ISEh!!!***

--cut
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; jon@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--cut
Content-Type: message/rfc822

From: digest@news.example.org
To: jon@example.com
Subject: truncated copy, no closing boundary
""",
    "bounce",
    [r("jon@example.com", "hard", "5.1.1")],
    11001,
)
add(
    "malformed-2",
    f"""
Return-Path: <>
From: Mail Delivery System <mailer-daemon@provider.example.de>
To: {rp(11002)}
Subject: =?x-unknown-charset?Q?Unzustellbar?=
MIME-Version: 1.0
Content-Type: text/plain; charset="x-unknown-foo"
Content-Transfer-Encoding: 8bit

Ihre Nachricht konnte nicht zugestellt werden an:

  karl.m\udcfcller@provider.example.de
  karl@provider.example.de: 550 Benutzer unbekannt (Empf\udce4nger existiert nicht)
""",
    "bounce",
    [r("karl@provider.example.de", "hard", None)],
    11002,
)
add("malformed-3", "", "not-bounce", [])
SAMPLES["malformed-3"] = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10 garbage \xff\xfe\xfd"
    b" with no headers at all: 550 user unknown x@example.com\n" * 3
)
plain(
    "malformed-4",
    did=11004,
    sender="MAILER-DAEMON@qmail.example.net",
    subject="failure notice",
    headers="",
    body=f"""
Hi. This is the qmail-send program at qmail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<lotte@example.com>:
Sorry, no mailbox here by that name. (#5.1.1)

{QMAIL_COPY}""",
    kind="bounce",
    expected=[r("lotte@example.com", "hard", "5.1.1")],
)
# multipart declared without a boundary: the stdlib keeps the body as text
SAMPLES["malformed-4"] = SAMPLES["malformed-4"].replace(
    b"Content-Type: text/plain; charset=us-ascii", b"Content-Type: multipart/mixed"
)
add("malformed-5", "", "not-bounce", [])
add(
    "malformed-6",
    f"""
Return-Path: <>
From: =?utf-8?B?broken***?= <MAILER-DAEMON@mx.example.net>
To: {rp(11006)}
Subject: =?utf-8?Q?Undelivered_Mail?= =?bogus
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; <>
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; not an address at all
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; mona@example.com
Action: failed
Status: 5.1.1
Final-Recipient: rfc822; nina@example.com
Action: failed
Status: 5.2.2
--b--
""",
    "bounce",
    [r("mona@example.com", "hard", "5.1.1"), r("nina@example.com", "soft", "5.2.2")],
    11006,
)


# ---------------------------------------------------------------------------------------
# Held out: written after the parser was done, in wordings its rules were not tuned on
# ---------------------------------------------------------------------------------------
plain(
    "exim-5",
    did=12001,
    sender="Mail Delivery System <Mailer-Daemon@exim2.example.net>",
    subject="Mail delivery failed: returning message to sender",
    body=f"""
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  otto@dead-mx.example.com
    retry time not reached for any host for 'dead-mx.example.com' after a long failure period

{EXIM_COPY}{original("otto@dead-mx.example.com", 12001)}""",
    kind="bounce",
    expected=[r("otto@dead-mx.example.com", "soft", None)],
)
plain(
    "postfix-4",
    did=12002,
    sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
    subject="Undelivered Mail Returned to Sender",
    body="""
This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<petra@grey.example.org>: host mx.grey.example.org[203.0.113.66] said: 450 4.2.0
    <petra@grey.example.org>: Recipient address rejected: Greylisted, see
    the site's greylisting page (in reply to RCPT TO command)

<rolf@grey.example.org>: host mx.grey.example.org[203.0.113.66] said: 550 5.1.1
    <rolf@grey.example.org>: Recipient address rejected: undeliverable address:
    host grey.example.org[private/dovecot-lmtp] said: 550 5.1.1 User doesn't exist
    (in reply to RCPT TO command)
""",
    kind="bounce",
    expected=[
        r("petra@grey.example.org", "soft", "4.2.0"),
        r("rolf@grey.example.org", "hard", "5.1.1"),
    ],
)
mixed(
    "exchange-7",
    did=12003,
    sender="System Administrator <postmaster@ex2007.example.com>",
    subject="Undeliverable: Harbour Daily - 5 January 2026",
    body="""
Delivery has failed to these recipients or distribution lists:

stella.ng@ex2007.example.com
The recipient's mailbox is full and can't accept messages now. Microsoft Exchange will not try to redeliver this message for you. Please try resending this message later, or contact the recipient directly.

Sent by Microsoft Exchange Server 2007

Diagnostic information for administrators:

Generating server: ex2007.example.com

stella.ng@ex2007.example.com
#550 5.2.2 STOREDRV.Deliver: mailbox full. The following information should help identify the cause: "MapiExceptionShutoffQuotaExceeded:16.18969" ##
""",
    to_orig="stella.ng@ex2007.example.com",
    expected=[r("stella.ng@ex2007.example.com", "soft", "5.2.2")],
)
plain(
    "gmail-5",
    did=12004,
    sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    subject="Delivery Status Notification (Failure)",
    body="""
** Message blocked **

Your message to theo@strict.example.org has been blocked. See technical details below for more information.

The response was:
550 5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to the recipient, this message has been blocked.
""",
    kind="bounce",
    expected=[r("theo@strict.example.org", "soft", "5.7.1")],
)
plain(
    "qmail-4",
    did=12005,
    sender="MAILER-DAEMON@qmail2.example.net",
    subject="failure notice",
    body=f"""
Hi. This is the qmail-send program at qmail2.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<ute@closed.example.com>:
198.51.100.150 failed after I sent the message.
Remote host said: 554 5.7.1 <ute@closed.example.com>: Relay access denied

{QMAIL_COPY}{original("ute@closed.example.com", 12005)}""",
    kind="bounce",
    expected=[r("ute@closed.example.com", "soft", "5.7.1")],
)
dsn(
    "dsn-21",
    did=12006,
    sender="Mail Delivery System <MAILER-DAEMON@mx.example.jp>",
    subject="Returned mail: User unknown",
    human="""
This is a MIME-encapsulated message.

The original message was received at Mon, 5 Jan 2026 15:00:03 +0900
from news.example.org [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<yuki@example.jp>
    (reason: 550 Host unknown)
""",
    fields="""
Reporting-MTA: dns; mx.example.jp
Received-From-MTA: DNS; news.example.org

Final-Recipient: RFC822; yuki@example.jp
Action: failed
Status: 5.1.2
Remote-MTA: DNS; old-mx.example.jp
Diagnostic-Code: SMTP; 550 Host unknown
""",
    to_orig="yuki@example.jp",
    expected=[r("yuki@example.jp", "hard", "5.1.2")],
)
plain(
    "localized-7",
    did=12007,
    sender="Mail Delivery System <mailer-daemon@poczta.example.pl>",
    subject="Niedostarczona wiadomość",
    charset="utf-8",
    body="""
Wiadomość nie mogła zostać dostarczona do następującego odbiorcy:

  wanda.nowak@poczta.example.pl
  550 5.1.1 Użytkownik nie istnieje
""",
    kind="bounce",
    expected=[r("wanda.nowak@poczta.example.pl", "hard", "5.1.1")],
)
plain(
    "generic-2",
    did=12008,
    sender="Mail Administrator <Postmaster@legacy.example.com>",
    subject="Mail System Error - Returned Mail",
    body=f"""
This Message was undeliverable due to the following reason:

Each of the following recipients was rejected by a remote mail server.
The reasons given by the server are included to help you determine why
each recipient was rejected.

    Recipient: <victor@legacy.example.com>
    Reason:    <victor@legacy.example.com>... Mailbox disabled for this recipient

Please reply to Postmaster@legacy.example.com
if you feel this message to be in error.

{original("victor@legacy.example.com", 12008)}""",
    kind="bounce",
    expected=[r("victor@legacy.example.com", "hard", None)],
)
plain(
    "autoreply-7",
    did=None,
    sender="Service Desk <support@helpdesk.example.com>",
    subject="[Ticket #48213] We received your message",
    return_path="<support@helpdesk.example.com>",
    headers="Auto-Submitted: auto-generated\nX-Autoreply: true\n",
    body="""
Thank you for contacting us. Your request has been logged as ticket #48213.
A member of our team will get back to you.
""",
    kind="auto-reply",
    expected=[],
)
plain(
    "plain-5",
    did=None,
    sender="Postmaster <postmaster@partner.example.net>",
    subject="Question about your mailing list",
    return_path="<postmaster@partner.example.net>",
    body="""
Hello, we run the mail server for partner.example.net. Could you tell us which IP
addresses your digests are sent from, so we can add them to our allow list?

Regards, the partner.example.net mail team
""",
    kind="not-bounce",
    expected=[],
)


def main() -> None:
    for old in HERE.glob("*.eml"):
        old.unlink()
    for name, data in SAMPLES.items():
        (HERE / f"{name}.eml").write_bytes(data)
    expected = {f"{name}.eml": EXPECTED[name] for name in SAMPLES}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(SAMPLES)} samples")


if __name__ == "__main__":
    main()
