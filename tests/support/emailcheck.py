"""A structural lint for digest email: the HTML alone, or a whole message (.eml bytes).

It encodes the checklist in the project's email notes (shared/EMAIL.md, Part A): bulk
sender headers (List-Id, one-click List-Unsubscribe, DKIM covering it), MIME shape
(multipart/alternative, text/plain first, text/html last, UTF-8), and, through
`newsletter.emailcheck_html`, everything about the HTML part. Errors are defects a reader
or a mailbox provider would notice; warnings are worth a look.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from lxml import etree
from lxml import html as lxml_html

from support.emailcheck_html import (
    GMAIL_CLIP_BYTES,
    PLACEHOLDER,
    Problem,
    accessible_name,
    check_html,
    errors,
    find_preheader,
    preheader_text,
)

__all__ = [
    "GMAIL_CLIP_BYTES",
    "Problem",
    "check_html",
    "check_message",
    "errors",
    "find_preheader",
    "preheader_text",
]

_ALLOWED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-archive",
    "list-help",
    "list-owner",
    "list-post",
    "list-subscribe",
    "reply-to",
    "sender",
    "auto-submitted",
    "precedence",
    "dkim-signature",
    "feedback-id",
    "x-mailer",
    "x-auto-response-suppress",
    "x-entity-ref-id",
    # added in transit, harmless in a received copy
    "received",
    "return-path",
    "authentication-results",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "delivered-to",
    "x-spam-status",
    "x-spam-checker-version",
    "x-spam-level",
    "x-spam-flag",
    "x-spam-report",
}
_SINGLE_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
)
_DKIM_MUST_SIGN = ("from", "list-unsubscribe", "list-unsubscribe-post")
_DKIM_SHOULD_SIGN = (
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "mime-version",
    "content-type",
)


def _e(code: str, message: str) -> Problem:
    return Problem("error", code, message)


def _w(code: str, message: str) -> Problem:
    return Problem("warning", code, message)


def check_message(raw: bytes, budget_kb: int = 90) -> list[Problem]:
    """Lint a whole message as it would be sent: headers, MIME structure, both parts."""
    out: list[Problem] = []
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    out += _raw_lines(raw)
    out += _headers(msg)
    html, text = None, None
    parts = _alternatives(msg, out)
    for part in parts:
        ctype = part.get_content_type()
        charset = (part.get_content_charset() or "").lower()
        if ctype in ("text/plain", "text/html") and charset not in ("utf-8", "utf8"):
            out.append(_e("charset", f"{ctype} part has charset {charset or 'unset'}; use utf-8"))
        try:
            content = part.get_content()
        except (LookupError, ValueError) as e:
            out.append(_e("mime-decode", f"{ctype} part does not decode: {e}"))
            continue
        if ctype == "text/html":
            html = content
        elif ctype == "text/plain":
            text = content
    if html is None:
        out.append(_e("mime-html", "no text/html part"))
    else:
        out += check_html(html, budget_kb=budget_kb, personalized=True)
    if text is None:
        out.append(_e("mime-text", "no text/plain part: every mail needs a real text version"))
    else:
        out += _text_part(text, html)
    return out


def _raw_lines(raw: bytes) -> list[Problem]:
    longest = max((len(line) for line in raw.split(b"\n")), default=0)
    if longest > 998:
        return [_e("line-length", f"a line of {longest} octets; SMTP allows 998 (use QP/base64)")]
    return []


def _headers(msg: EmailMessage) -> list[Problem]:
    out = []
    names = [k.lower() for k in msg.keys()]
    counts = Counter(names)
    for name in _SINGLE_HEADERS:
        if counts[name] == 0:
            out.append(_e(f"header-{name}", f"{name.title()} header is missing"))
        elif counts[name] > 1:
            out.append(_e(f"header-{name}", f"{name.title()} appears {counts[name]} times"))
    for name in sorted(set(names) - _ALLOWED_HEADERS):
        level = _w if name.startswith("x-") else _e
        why = (
            "a Bcc header leaks recipients (header injection?)"
            if name == "bcc"
            else "unexpected header"
        )
        out.append(level("header-unexpected", f"{name}: {why}"))
    if counts["from"] == 1 and len(getaddresses([str(msg["From"])])) != 1:
        out.append(_e("header-from", "From must hold exactly one address"))
    if counts["date"] == 1:
        try:
            parsedate_to_datetime(str(msg["Date"]))
        except (TypeError, ValueError):
            out.append(_e("header-date", f"Date {msg['Date']!r} is not an RFC 5322 date"))
    mid = str(msg.get("Message-ID", ""))
    if mid and not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mid.strip()):
        out.append(_e("header-message-id", f"Message-ID {mid!r} is not <local@domain>"))
    list_id = str(msg.get("List-Id", ""))
    if list_id and not re.search(r"<[A-Za-z0-9][\w.-]*\.[\w.-]+>\s*$", list_id):
        out.append(_e("header-list-id", f"List-Id {list_id!r} is not 'Name <label.domain>'"))
    out += _unsubscribe_headers(msg)
    for name, value in msg.items():
        if re.search(r"[\r\n]|=\?[^?]+\?[qQ]\?[^?]*=0[aAdD]", str(value)):
            out.append(_e("header-injection", f"{name} carries a line break"))
    subject = str(msg.get("Subject", ""))
    letters = [c for c in subject if c.isalpha()]
    if len(letters) > 10 and all(c.isupper() for c in letters):
        out.append(_w("subject-caps", "the subject is all capitals (a spam signal)"))
    if len(subject) > 150:
        out.append(_w("subject-length", f"subject is {len(subject)} characters"))
    out += _dkim(msg)
    return out


def _unsubscribe_headers(msg: EmailMessage) -> list[Problem]:
    out = []
    value = str(msg.get("List-Unsubscribe", ""))
    if value:
        uris = re.findall(r"<([^>]*)>", value)
        https = [u for u in uris if u.lower().startswith("https://")]
        if not uris:
            out.append(_e("list-unsubscribe", "List-Unsubscribe must list <URI>s (RFC 2369)"))
        if len(https) != 1:
            out.append(
                _e(
                    "list-unsubscribe",
                    f"List-Unsubscribe needs exactly one https URL "
                    f"(RFC 8058, Gmail); found {len(https)}",
                )
            )
        if PLACEHOLDER.search(value):
            out.append(_e("placeholder", "List-Unsubscribe holds an unfilled placeholder"))
    post = msg.get("List-Unsubscribe-Post")
    if post is not None and str(post).strip() != "List-Unsubscribe=One-Click":
        out.append(
            _e(
                "list-unsubscribe-post",
                f"List-Unsubscribe-Post must be exactly 'List-Unsubscribe=One-Click', "
                f"got {str(post)!r}",
            )
        )
    return out


def _dkim(msg: EmailMessage) -> list[Problem]:
    out = []
    for sig in msg.get_all("DKIM-Signature") or []:
        tags = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (t.partition("=") for t in re.sub(r"\s+", "", str(sig)).split(";"))
            if k.strip()
        )
        signed = {h.lower() for h in tags.get("h", "").split(":") if h}
        missing = [h for h in _DKIM_MUST_SIGN if h not in signed]
        if missing:
            out.append(
                _e(
                    "dkim-headers",
                    f"DKIM h= does not cover {missing} (RFC 8058 needs "
                    "List-Unsubscribe and List-Unsubscribe-Post signed)",
                )
            )
        weak = [h for h in _DKIM_SHOULD_SIGN if h not in signed]
        if weak:
            out.append(_w("dkim-headers", f"DKIM h= does not cover {weak}"))
    return out


def _alternatives(msg: EmailMessage, out: list[Problem]) -> list[EmailMessage]:
    """The leaf parts of multipart/alternative, checking text/plain first, text/html last."""
    if msg.get_content_type() != "multipart/alternative":
        out.append(
            _e(
                "mime-structure",
                f"top level is {msg.get_content_type()}; send "
                "multipart/alternative with a text/plain and a text/html part",
            )
        )
        return [p for p in msg.walk() if not p.is_multipart()]  # type: ignore[misc]
    children = list(msg.iter_parts())
    types = [c.get_content_type() for c in children]
    if types and types[0] != "text/plain":
        out.append(_e("mime-order", f"first alternative is {types[0]}; text/plain comes first"))
    last = children[-1] if children else None
    if last is not None:
        html_last = last.get_content_type() == "text/html" or (
            last.get_content_type() == "multipart/related"
            and any(p.get_content_type() == "text/html" for p in last.walk())
        )
        if not html_last:
            out.append(
                _e(
                    "mime-order",
                    f"last alternative is {types[-1]}; text/html comes last "
                    "(clients show the last part they understand)",
                )
            )
    return [p for p in msg.walk() if not p.is_multipart()]  # type: ignore[misc]


def _text_part(text: str, html: str | None) -> list[Problem]:
    out = []
    lines = [line for line in text.splitlines() if "unsubscribe" in line.lower()]
    urls = [u for line in lines for u in re.findall(r"https?://\S+", line)]
    if not urls:
        out.append(_e("text-unsubscribe", "the text part has no unsubscribe URL"))
    if PLACEHOLDER.search(text):
        out.append(_e("placeholder", "unreplaced placeholders in the text part"))
    if html is not None:
        try:
            root = lxml_html.document_fromstring(html)
        except (etree.ParserError, ValueError):
            return out
        wanted = {
            (a.get("href") or "").strip()
            for a in root.iter("a")
            if "unsubscribe" in accessible_name(a).lower()
        }
        if urls and wanted and not wanted & set(urls):
            out.append(
                _w("text-unsubscribe", "the text and HTML parts link to different unsubscribe URLs")
            )
        in_text = {u.rstrip(".,;:)") for u in re.findall(r"https?://\S+", text)}
        missing = sorted(
            {
                (a.get("href") or "").strip()
                for a in root.iter("a")
                if (a.get("href") or "").startswith(("http://", "https://"))
            }
            - in_text
        )
        if missing:
            out.append(
                _w(
                    "text-links",
                    f"{len(missing)} link(s) of the HTML part are missing "
                    f"from the text part, e.g. {missing[0][:80]}",
                )
            )
    return out
