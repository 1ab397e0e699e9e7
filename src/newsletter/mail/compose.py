"""Compose digest messages: once per digest, then cheaply per subscriber.

`DigestMessage` prepares everything common to a digest's messages (headers, the two
quoted-printable bodies split at their placeholders) and `render` fills in one subscriber's
To, Message-ID, List-Unsubscribe and their unsubscribe link, manage link and name,
producing the final RFC 5322 bytes with CRLF line endings.

The bodies are split only on the markers the digest was rendered with (random per render,
recorded in digest.json; see `newsletter.render.placeholders`), so feed text in a digest can
never become a place where a subscriber's links or address are written.

Why not an `EmailMessage` per subscriber: building and serializing one costs about a
millisecond, which at 20,000 subscribers is slower than the SMTP link. The bytes produced
here are those the stdlib would produce (multipart/alternative, text/plain first, UTF-8,
quoted-printable), and tests parse them back with the stdlib to hold that.

Header safety (CVE-2024-6923): every header value that comes from a feed, a subscriber or
the config passes `safe_header_value`, which removes line breaks and control characters and
breaks up RFC 2047 encoded-word openers ("=?"), because on Python 3.11.7 an encoded newline
inside a value survives parsing and becomes a real header when the message is serialized.
Each folded header is then checked to be exactly one header.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from newsletter.bounces.verp import delivery_header_value, key_from_secret, make_return_path
from newsletter.commands import command
from newsletter.config import Config, DkimConfig, ListConfig
from newsletter.errors import ConfigError, SendError
from newsletter.render.placeholders import Placeholders
from newsletter.text import safe_header_value

logger = logging.getLogger(__name__)

ONE_CLICK = "List-Unsubscribe=One-Click"
# what the DKIM signature must cover (RFC 8058 §3.1 requires both List-Unsubscribe headers)
DKIM_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
)
SUBJECT_MAX = 200
_SPACES = re.compile(r"\s+")
_QP_ESCAPE = re.compile(rb"[^\t !-<>-~]")  # bytes that quoted-printable must escape
_QP_LINE = 76  # RFC 2045 §6.7: encoded lines are at most 76 characters


# -- header values -----------------------------------------------------------------------
def header_line(name: str, value: str) -> bytes:
    """`Name: value` folded for SMTP (RFC 2047 for non-ASCII), CRLF-terminated, ASCII.

    The value must already be safe; the folded result is checked to be one header.
    """
    folded = policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP)
    check_single_header(folded, name)
    return folded.encode("ascii")


def text_header_line(name: str, value: str) -> bytes:
    """An unstructured header (Subject, List-Id): ASCII text is folded at spaces here,
    because the stdlib sometimes folds right after the colon; other text goes through
    `header_line` for RFC 2047 encoding."""
    if not value.isascii():
        return header_line(name, value)
    lines: list[str] = []
    line, has_word = f"{name}:", False
    for word in value.split(" "):
        if has_word and len(line) + 1 + len(word) > 78:
            lines.append(line)
            line = ""
        line += " " + word  # a continuation line starts with this space
        has_word = True
    lines.append(line)
    folded = "\r\n".join(lines) + "\r\n"
    check_single_header(folded, name)
    return folded.encode("ascii")


def check_single_header(folded: str, name: str) -> None:
    """SendError unless `folded` is exactly one header: continuation lines start with
    whitespace, and there is no stray CR or LF."""
    lines = folded.split("\r\n")
    if lines[-1] != "" or not lines[0].lower().startswith(name.lower() + ":"):
        raise SendError(f"refusing to send: the {name} header did not fold into one header")
    for line in lines[1:-1]:
        if line[:1] not in (" ", "\t") or "\r" in line or "\n" in line:
            raise SendError(f"refusing to send: the {name} header would add another header")
    if "\r" in lines[0] or "\n" in lines[0]:
        raise SendError(f"refusing to send: the {name} header contains a line break")


def format_subject(template: str, *, site: str, date: str, headline: str, count: int) -> str:
    """The subject from the list's template: {site}, {date}, {headline}, {more}, {count}.

    Feed titles are made header-safe before they are placed.
    """
    fields = {
        "site": safe_header_value(site),
        "date": safe_header_value(date),
        "headline": safe_header_value(headline, limit=120),
        "more": max(0, count - 1),
        "count": count,
    }
    try:
        subject = template.format_map(fields)
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(
            f"list subject {template!r} is not a valid template ({e}); use the fields "
            "{site}, {date}, {headline}, {more}, {count}"
        ) from e
    return safe_header_value(subject, limit=SUBJECT_MAX)


def parse_sender(sender: str) -> Address:
    """The list's From address; ConfigError unless it is one address with a domain."""
    try:
        header = policy.SMTP.header_factory("From", safe_header_value(sender))
        addresses = header.addresses
    except Exception as e:  # the header parser raises several types on garbage
        raise ConfigError(f"list from = {sender!r} is not an address: {e}") from e
    if len(addresses) != 1 or not addresses[0].domain or not addresses[0].username:
        raise ConfigError(
            f'list from = {sender!r} must be one address, e.g. "Site <digest@example.org>"'
        )
    found = addresses[0]
    return Address(
        display_name=safe_header_value(found.display_name, 100), addr_spec=found.addr_spec
    )


def list_id(list_config: ListConfig, site_name: str, site_url: str) -> str:
    """`Title <name.host>` (RFC 2919): stable across issues, one per list."""
    host = (urlsplit(site_url).hostname or "localhost").lower()
    label = re.sub(r"[^a-z0-9-]+", "-", list_config.name.lower()).strip("-") or "list"
    title = safe_header_value(list_config.title or site_name, 100)
    return f"{title} <{label}.{host}>"


# -- quoted-printable with placeholders ------------------------------------------------------
def qp_encode(data: bytes, soft_end: bool = False) -> bytes:
    """Quoted-printable for CRLF text: lines <= 76, no line starting with '.', and with
    `soft_end` a final soft line break so that what follows starts a fresh line.

    Encoding '.' at the start of a line means the bytes need no SMTP dot-stuffing.
    """
    logical = data.split(b"\r\n")
    out: list[bytes] = []
    for index, line in enumerate(logical):
        last = index == len(logical) - 1
        if last and not line:
            break  # data ended with CRLF: nothing after it
        encoded = _QP_ESCAPE.sub(lambda m: b"=%02X" % m.group()[0], line)
        if encoded[-1:] in (b" ", b"\t"):  # trailing whitespace may be stripped in transit
            encoded = encoded[:-1] + b"=%02X" % encoded[-1]
        out.append(_wrap(encoded, soft=last and soft_end))
        if not last:
            out.append(b"\r\n")
    return b"".join(out)


def _wrap(encoded: bytes, soft: bool) -> bytes:
    lines = []
    rest = encoded
    while True:
        if rest[:1] == b".":
            rest = b"=2E" + rest[1:]
        if len(rest) < _QP_LINE or (not soft and len(rest) == _QP_LINE):
            break
        cut = _QP_LINE - 1
        escape = rest.rfind(b"=", cut - 2, cut)  # never split an =XX escape
        if escape != -1:
            cut = escape
        lines.append(rest[:cut] + b"=\r\n")
        rest = rest[cut:]
    lines.append(rest + b"=\r\n" if soft else rest)
    return b"".join(lines)


def _crlf(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return text.replace("\n", "\r\n")


@dataclass(frozen=True)
class _Body:
    """One part's body, pre-encoded between its placeholders."""

    pieces: tuple[bytes | str, ...]  # encoded literal bytes, or a placeholder's variable name
    escape_html: bool

    @classmethod
    def prepare(cls, text: str, placeholders: Placeholders, escape_html: bool) -> _Body:
        names = {marker: name for name, marker in placeholders.as_dict().items()}
        pattern = "(" + "|".join(re.escape(m) for m in names) + ")"
        parts = re.split(pattern, _crlf(text))
        pieces: list[bytes | str] = []
        for i, part in enumerate(parts):
            if i % 2:
                pieces.append(names[part])
            elif part:
                pieces.append(qp_encode(part.encode("utf-8"), soft_end=i < len(parts) - 1))
        return cls(tuple(pieces), escape_html)

    def render(self, values: dict[str, str]) -> list[bytes]:
        out = []
        cache: dict[str, bytes] = {}
        for piece in self.pieces:
            if isinstance(piece, bytes):
                out.append(piece)
                continue
            encoded = cache.get(piece)
            if encoded is None:
                value = values[piece]
                if self.escape_html:
                    value = html.escape(value, quote=True)
                encoded = cache[piece] = qp_encode(value.encode("utf-8"), soft_end=True)
            out.append(encoded)
        return out


# -- the per-digest message ------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    """Who one message goes to, with their personal links."""

    subscriber_id: int
    email: str
    name: str
    unsubscribe_url: str
    manage_url: str
    delivery_id: int | None = None  # the delivery row: named, signed, in the return path


class ReturnPath:
    """Envelope senders for `[bounces] address`: `bounces+d<id>-<mac>@domain` per delivery.

    A bounce comes back to the envelope sender, so the address itself says which delivery
    failed even when the report is mangled; the MAC (a key derived from the secret key)
    means nobody can make up an address that hits another subscriber. The same token goes
    into an X-Newsletter-Delivery header, which survives in the copy of the message that
    most reports attach when an MTA rewrites the return path.
    """

    HEADER = "X-Newsletter-Delivery"

    def __init__(self, address: str, key: bytes) -> None:
        make_return_path(address, 0, key)  # ValueError now for an address it cannot extend
        self.address = address
        self.key = key

    @classmethod
    def from_config(cls, config: Config) -> ReturnPath | None:
        """The return paths of `[bounces] address`, or None when it is not set."""
        if not config.bounces.address:
            return None
        return cls(config.bounces.address, key_from_secret(config.require_secret()))

    def sender(self, delivery_id: int | None) -> str:
        """The envelope sender for one delivery (the plain address when there is none)."""
        if not delivery_id:
            return self.address
        return make_return_path(self.address, delivery_id, self.key)

    def header(self, delivery_id: int) -> bytes:
        value = delivery_header_value(delivery_id, self.key)
        return f"{self.HEADER}: {value}\r\n".encode("ascii")


class DkimSigner:
    """Signs final message bytes with one key (dkimpy), covering DKIM_HEADERS."""

    def __init__(self, selector: str, domain: str, private_key: bytes):
        import dkim  # only needed when signing is configured

        self._dkim = dkim
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")
        self.key = private_key

    @classmethod
    def from_config(cls, config: Config) -> DkimSigner | None:
        """A signer when [dkim] names selector, domain and key_file; else None."""
        dk: DkimConfig = config.dkim
        if not (dk.selector or dk.domain or dk.key_file):
            return None
        if not (dk.selector and dk.domain and dk.key_file):
            raise ConfigError("[dkim] needs all of selector, domain and key_file (or none of them)")
        path = config.resolve(dk.key_file)
        try:
            key = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read dkim.key_file {path}: {e.strerror}") from e
        return cls(dk.selector, dk.domain, key)

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header in front (relaxed/relaxed)."""
        try:
            signature = self._dkim.sign(
                message,
                self.selector,
                self.domain,
                self.key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=list(DKIM_HEADERS),
            )
        except self._dkim.DKIMException as e:
            raise SendError(f"DKIM signing failed: {e}; check [dkim] key_file") from e
        return signature + message


@dataclass(frozen=True)
class Rendered:
    """One subscriber's message, ready for SMTP."""

    message_id: str
    data: bytes


class DigestMessage:
    """Everything a digest's messages share, prepared once; `render` personalizes."""

    def __init__(
        self,
        *,
        sender: str,
        subject: str,
        list_id: str,
        html_body: str,
        text_body: str,
        placeholders: Placeholders,
        reply_to: str = "",
        unsubscribe_mailto: str = "",
        dkim: DkimSigner | None = None,
        return_path: ReturnPath | None = None,
    ) -> None:
        address = parse_sender(sender)
        self.sender_address = address.addr_spec
        self.return_path = return_path
        self.domain = address.domain
        self.unsubscribe_mailto = unsubscribe_mailto
        self.dkim = dkim
        # "==" never occurs in quoted-printable output, so the boundary cannot collide
        self.boundary = f"=={secrets.token_hex(12)}=="
        head = [header_line("From", str(address))]
        if reply_to:
            head.append(header_line("Reply-To", safe_header_value(reply_to)))
        head.append(text_header_line("Subject", safe_header_value(subject, SUBJECT_MAX)))
        self._head = b"".join(head)
        self._list = b"".join(
            [
                text_header_line("List-Id", list_id),
                header_line("List-Unsubscribe-Post", ONE_CLICK),
                header_line("Auto-Submitted", "auto-generated"),
                b"MIME-Version: 1.0\r\n",
                f'Content-Type: multipart/alternative; boundary="{self.boundary}"\r\n\r\n'.encode(),
            ]
        )
        part = (
            '--{b}\r\nContent-Type: text/{kind}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        self._text_open = part.format(b=self.boundary, kind="plain").encode()
        self._html_open = ("\r\n" + part.format(b=self.boundary, kind="html")).encode()
        self._close = f"\r\n--{self.boundary}--\r\n".encode()
        self._text = _Body.prepare(text_body, placeholders, escape_html=False)
        self._html = _Body.prepare(html_body, placeholders, escape_html=True)
        self._date_key = -1
        self._date_line = b""

    def envelope_sender(self, delivery_id: int | None) -> str:
        """SMTP MAIL FROM for one delivery: its signed return path under `[bounces] address`,
        else the From address."""
        if self.return_path is None:
            return self.sender_address
        return self.return_path.sender(delivery_id)

    def render(self, recipient: Recipient, now: datetime) -> Rendered:
        """The complete message for one recipient (DKIM-signed when configured)."""
        message_id = make_msgid(domain=self.domain)
        values = {
            "unsubscribe_url": recipient.unsubscribe_url,
            "manage_url": recipient.manage_url,
            "recipient": safe_header_value(recipient.name) or recipient.email,
        }
        unsubscribe = f"<{recipient.unsubscribe_url}>"
        if self.unsubscribe_mailto:
            unsubscribe += f",\r\n <mailto:{self.unsubscribe_mailto}>"
        if not _URLISH.fullmatch(recipient.unsubscribe_url):
            raise SendError(
                f"refusing an unsubscribe URL with unsafe characters: {recipient.unsubscribe_url!r}"
            )
        chunks = [
            self._head,
            self._to_line(recipient),
            self._date(now),
            b"Message-ID: " + message_id.encode("ascii") + b"\r\n",
            self._delivery(recipient),
            b"List-Unsubscribe: " + unsubscribe.encode("ascii") + b"\r\n",
            self._list,
            self._text_open,
        ]
        chunks += self._text.render(values)
        chunks.append(self._html_open)
        chunks += self._html.render(values)
        chunks.append(self._close)
        data = b"".join(chunks)
        if self.dkim is not None:
            data = self.dkim.sign(data)
        return Rendered(message_id, data)

    def _delivery(self, recipient: Recipient) -> bytes:
        if self.return_path is None or not recipient.delivery_id:
            return b""
        return self.return_path.header(recipient.delivery_id)

    def _to_line(self, recipient: Recipient) -> bytes:
        return to_line(recipient.email, recipient.name)

    def _date(self, now: datetime) -> bytes:
        key = int(now.timestamp())
        if key != self._date_key:  # one format per second, not per message
            self._date_line = f"Date: {format_datetime(now)}\r\n".encode("ascii")
            self._date_key = key
        return self._date_line


def to_line(email: str, name: str = "") -> bytes:
    """The `To:` header of one recipient, built from the address as an address.

    The stdlib's address header parser decodes RFC 2047 encoded words even inside an
    address, so `=?utf-8?q?evil=40x.example=2C?=ann@example.com` would come out as two
    recipients; the address is therefore written here verbatim, never parsed, and one
    holding an encoded-word opener is refused (signup refuses them too).
    """
    if not _ADDRESS.fullmatch(email) or "=?" in email:
        raise SendError(f"refusing to send to a malformed address {email!r}")
    name = safe_header_value(name, 100)
    if not name:
        return b"To: " + email.encode("ascii") + b"\r\n"
    if name.isascii():  # the common case, cheaply: formataddr quotes specials
        line = f"To: {formataddr((name, email))}\r\n"
        if len(line) <= 80:
            check_single_header(line, "To")
            return line.encode("ascii")
    # long or non-ASCII names: the stdlib folds and RFC 2047-encodes the name only
    local, domain = email.rsplit("@", 1)
    return header_line("To", str(Address(display_name=name, username=local, domain=domain)))


# addresses are validated on the way in; this guards the header against anything else
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
_URLISH = re.compile(r"https?://[!#-;=?-~]+")  # printable ASCII without space, <, >, "


def build_message(
    config: Config,
    list_config: ListConfig,
    subject: str,
    html_body: str,
    text_body: str,
    placeholders: Placeholders,
    dkim: DkimSigner | None = None,
    unsubscribe_mailto: str = "",
    return_path: ReturnPath | None = None,
) -> DigestMessage:
    """The DigestMessage of one digest of `list_config`, from the rendered bodies."""
    return DigestMessage(
        sender=list_config.sender,
        subject=subject,
        list_id=list_id(list_config, config.site.name, config.site.url),
        html_body=html_body,
        text_body=text_body,
        placeholders=placeholders,
        reply_to=list_config.reply_to,
        unsubscribe_mailto=unsubscribe_mailto,
        dkim=dkim,
        return_path=return_path,
    )


def read_bodies(folder: str | Path, config_file: str | Path | None = None) -> tuple[str, str]:
    """(digest.html, digest.txt) of a rendered digest folder; SendError naming what is
    missing (and the build command, with `-c config_file` when given)."""
    folder = Path(folder)
    try:
        return (
            (folder / "digest.html").read_text(encoding="utf-8"),
            (folder / "digest.txt").read_text(encoding="utf-8"),
        )
    except OSError as e:
        raise SendError(
            f"cannot read the rendered digest in {folder}: {e.strerror}; rebuild it with "
            f"`{command(config_file, 'build')}`"
        ) from e


def missing_placeholders(
    body: str, placeholders: Placeholders, required: Sequence[str] = ("unsubscribe_url",)
) -> list[str]:
    """The template variables of `required` whose marker a body lacks (a digest without an
    unsubscribe link must not go)."""
    markers = placeholders.as_dict()
    return [name for name in required if markers[name] not in body]
