"""One message being examined: its parts, its report text, the copy of the original, and the
addresses that belong to the sender side (never reported as bounced recipients)."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property

from . import mime
from .addresses import addresses_in, find_addresses, is_robot
from .limits import MAX_HEADER, MAX_PART_TEXT, MAX_TOTAL_TEXT, Budget
from .model import OriginalHeaders

# Where a plain-text report stops and the quoted copy of the original message begins. Why:
# addresses in the copy (our From, List-Unsubscribe, Received "for <x>") are not recipients.
_ORIGINAL_START = re.compile(
    r"(?im)^[ \t>]{0,8}(?:"
    r"-+ ?below this line is a copy of the message"
    r"|-+ ?this is a copy of the message"
    r"|-+ ?(?:original|returned|unsent|undelivered) message"
    r"|-+ ?original message follows"
    r"|original message follows"
    r"|possibly truncated original message follows"
    r"|-+ ?the header of the original message"
    r"|-+ ?message header follows"
    r"|-+ ?copy of (?:the )?(?:original )?message"
    r"|-+ ?message (?:headers )?(?:text )?follows"
    r"|-+ ?forwarded message"
    r"|\*\*\* ?original message"
    r"|-+ ?ursprüngliche nachricht"
    r"|-+ ?message d'origine"
    r"|-+ ?mensaje original"
    r"|-+ ?messaggio originale"
    r"|-+ ?oorspronkelijk bericht"
    r"|received: from |return-path: <"
    r")"
)
_QUOTED_FIELD = re.compile(
    r"(?im)^[ \t>]{0,8}(x-newsletter-delivery|message-id|to|subject)[ \t]*:[ \t]*([^\r\n]{1,512})"
)


@dataclass
class Scan:
    """Everything the detectors share about one message, computed once and lazily."""

    msg: Message
    budget: Budget = field(default_factory=Budget)

    @cached_property
    def parts(self) -> list[tuple[Message, int, bool]]:
        return list(mime.walk(self.msg, self.budget))

    @cached_property
    def subject(self) -> str:
        return mime.header(self.msg, "Subject")

    @cached_property
    def sender(self) -> str:
        return " ".join(mime.header_all(self.msg, "From") + mime.header_all(self.msg, "Sender"))

    @cached_property
    def from_robot(self) -> bool:
        """The message comes from a daemon/postmaster address or a 'Mail Delivery' name."""
        lower = self.sender.lower()
        if any(is_robot(a) for _, _, a in find_addresses(self.sender)):
            return True
        return any(
            word in lower
            for word in ("mail delivery", "mailer-daemon", "postmaster", "mail system", "mdaemon")
        )

    @cached_property
    def report_leaves(self) -> list[str]:
        """Texts of the report's own text parts, decoded once."""
        return self.leaf_texts()

    def leaf_texts(self, *, inside: bool = False) -> list[str]:
        """Texts of the text/* leaves in (or, with inside=True, only below) attached
        messages. text/plain wins; HTML is used only when there is no plain text."""
        plain: list[str] = []
        htmls: list[str] = []
        total = 0
        for part, _, in_attached in self.parts:
            if in_attached != inside:
                continue
            ctype = mime.content_type(part)
            if part.is_multipart():
                continue
            if ctype.startswith("multipart/"):
                ctype = "text/plain"  # a multipart without boundary: the stdlib keeps it as text
            elif ctype not in ("text/plain", "text/html"):
                continue
            disposition = mime.header(part, "Content-Disposition").lower()
            if disposition.startswith("attachment") and "filename" in disposition and not inside:
                # an attached .txt copy of the original, not the report
                name = mime.param(part, "filename")
                if not name.endswith((".txt", ".html", ".htm")):
                    continue
            if total >= MAX_TOTAL_TEXT:
                break
            text = mime.body_text(part, self.budget, min(MAX_PART_TEXT, MAX_TOTAL_TEXT - total))
            total += len(text)
            (plain if ctype == "text/plain" else htmls).append(text)
        return plain or htmls

    @cached_property
    def report_text(self) -> str:
        """The human-readable report, cut before a quoted copy of the original message."""
        text = self.full_text
        match = _ORIGINAL_START.search(text)
        # a marker on the first lines is the start of the report, not of a copy
        if match and match.start() > 40:
            return text[: match.start()]
        return text

    @cached_property
    def full_text(self) -> str:
        """All of the report's text, including a copy of the original quoted in it."""
        return "\n\n".join(self.report_leaves)

    @cached_property
    def original_message(self) -> Message | None:
        """The headers (and maybe body) of the message we sent, if attached."""
        for part, _, _ in self.parts:
            ctype = mime.content_type(part)
            if ctype in ("message/rfc822", "message/global", "message/rfc822-headers"):
                payload = part.get_payload()
                if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                    return payload[0]
                if isinstance(payload, str):
                    return _headers_from_text(mime.body_text(part, self.budget, 64 * 1024))
            if ctype in ("text/rfc822-headers", "text/rfc822", "text/rfc-822-headers"):
                return _headers_from_text(mime.body_text(part, self.budget, 64 * 1024))
        return None

    @cached_property
    def original(self) -> OriginalHeaders:
        """Message-ID, X-Newsletter-Delivery, To and Subject of the original, from the
        attached copy or else from header lines quoted in the body text."""
        found: dict[str, str] = {}
        orig = self.original_message
        if orig is not None:
            for name in ("x-newsletter-delivery", "message-id", "to", "subject"):
                value = mime.header(orig, name)
                if value:
                    found[name] = value
        if "x-newsletter-delivery" not in found or "message-id" not in found:
            text = self.full_text
            match = _ORIGINAL_START.search(text)
            quoted = text[match.start() :] if match else text
            for m in _QUOTED_FIELD.finditer(self.budget.text(quoted, 128 * 1024)):
                name = m.group(1).lower()
                if name == "x-newsletter-delivery" or (match and name not in found):
                    found.setdefault(name, m.group(2).strip())
        delivery = found.get("x-newsletter-delivery")
        return OriginalHeaders(
            message_id=_clean_id(found.get("message-id")),
            delivery=delivery.split()[0][:64] if delivery else None,
            to=found.get("to"),
            subject=found.get("subject"),
        )

    @cached_property
    def own_addresses(self) -> set[str]:
        """Sender-side addresses: the report's From/To/envelope and the original's From.
        Why: generic scans would otherwise report our own bounce box or list address."""
        values: list[str] = []
        names: tuple[str, ...] = ("From", "Sender", "Reply-To", "Return-Path", "To", "Cc")
        names += ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
        for name in names:
            values += mime.header_all(self.msg, name)
        orig = self.original_message
        if orig is not None:
            for name in ("From", "Sender", "Reply-To", "Return-Path", "Errors-To"):
                values += mime.header_all(orig, name)
        return addresses_in(values)


def _headers_from_text(text: str) -> Message:
    try:
        return email.message_from_string(text.lstrip()[:65536])
    except Exception:  # noqa: BLE001
        return Message()


def _clean_id(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()[:MAX_HEADER]
    if "<" in value and ">" in value:
        value = value[value.index("<") : value.index(">", value.index("<")) + 1]
    return value[:998] or None
