"""Safe access to possibly broken MIME: parse with caps, walk without recursion, decode
bodies and headers without ever raising."""

from __future__ import annotations

import binascii
import email
import html
import quopri
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message

from .limits import (
    MAX_CONTENT_TYPE_HEADERS,
    MAX_DEPTH,
    MAX_HEADER,
    MAX_MESSAGE_BYTES,
    MAX_PART_TEXT,
    MAX_PARTS,
    Budget,
)

_CONTENT_TYPE_LINE = re.compile(rb"(?im)^content-type[ \t]*:")


def cap_raw(raw: bytes) -> bytes:
    """Cut raw message bytes to the size and MIME-nesting caps (see limits.py)."""
    raw = raw[:MAX_MESSAGE_BYTES]
    for count, match in enumerate(_CONTENT_TYPE_LINE.finditer(raw), start=1):
        if count > MAX_CONTENT_TYPE_HEADERS:
            return raw[: match.start()]
    return raw


def parse_bytes(raw: bytes, budget: Budget) -> Message:
    """Parse capped bytes with the tolerant compat32 policy (it records defects, never raises
    on bad syntax). A RecursionError is still possible in theory, so fall back to headers."""
    raw = cap_raw(raw)
    budget.bytes_parsed += len(raw)
    try:
        return email.message_from_bytes(raw)
    except (RecursionError, ValueError, LookupError, TypeError, AttributeError):
        head = raw.split(b"\n\n", 1)[0]
        try:
            return email.message_from_bytes(head + b"\n\n")
        except Exception:  # noqa: BLE001 - last resort: an empty message
            return Message()


def header(msg: Message, name: str) -> str:
    """One header as readable text ('' when absent), RFC 2047 decoded, bounded in length."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - compat32 can trip over odd header objects
        return ""
    return header_text(value)


def header_all(msg: Message, name: str) -> list[str]:
    try:
        values = msg.get_all(name) or []
    except Exception:  # noqa: BLE001
        return []
    return [header_text(v) for v in values[:20]]


def header_text(value: object) -> str:
    if value is None:
        return ""
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a Header with an unknown charset
        return ""
    text = text[:MAX_HEADER]
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except Exception:  # noqa: BLE001 - broken encoded words: keep the raw text
            pass
    # surrogate escapes stand for undecodable 8-bit bytes
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return " ".join(text.split())


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "text/plain"


def param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:  # noqa: BLE001
        return ""
    if isinstance(value, tuple):  # RFC 2231 form
        value = value[2]
    return str(value or "").strip().lower()


def walk(msg: Message, budget: Budget) -> Iterator[tuple[Message, int, bool]]:
    """Yield (part, depth, inside_attached_message) depth-first, in document order, without
    recursion and within MAX_PARTS / MAX_DEPTH. `inside_attached_message` is true below a
    message/rfc822 part: that is the copy of what we sent, not the report."""
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    while stack and budget.parts_visited < MAX_PARTS:
        part, depth, inside = stack.pop()
        budget.parts_visited += 1
        budget.max_depth_seen = max(budget.max_depth_seen, depth)
        yield part, depth, inside
        if depth >= MAX_DEPTH:
            continue
        try:
            payload = part.get_payload()
        except Exception:  # noqa: BLE001
            continue
        if not isinstance(payload, list):
            continue
        ctype = content_type(part)
        child_inside = inside or ctype in ("message/rfc822", "message/global")
        children = [p for p in payload[:MAX_PARTS] if isinstance(p, Message)]
        for child in reversed(children):
            stack.append((child, depth + 1, child_inside))


def body_bytes(part: Message, cap: int = MAX_PART_TEXT) -> bytes:
    """The decoded body of a leaf part, at most `cap` bytes; b'' for containers or garbage."""
    # the raw payload: get_payload() would decode 8-bit text with 'replace' (losing bytes) and
    # get_payload(decode=True) would decode all of a huge part before we could cut it
    payload = getattr(part, "_payload", None)
    cte = header(part, "Content-Transfer-Encoding").lower()
    if isinstance(payload, list):
        # message/delivery-status and friends: the stdlib parsed the body as header blocks
        # (and an encoded body as the body of a header-less first block)
        payload = _blocks_text(payload)
        if "base64" not in cte and "quoted-printable" not in cte:
            return payload.encode("utf-8", "replace")[:cap]
    if not isinstance(payload, str):
        return b""
    if "base64" in cte:
        encoded = "".join(payload[: cap * 4 // 3 + 1024].split())
        encoded = encoded[: len(encoded) - len(encoded) % 4]
        try:
            return binascii.a2b_base64(encoded.encode("ascii", "ignore"))[:cap]
        except (binascii.Error, ValueError):
            return b""
    raw = payload[: cap * 3].encode("utf-8", "surrogateescape")
    if "quoted-printable" in cte:
        try:
            raw = quopri.decodestring(raw)
        except Exception:  # noqa: BLE001
            pass
    return raw[:cap]


def _blocks_text(blocks: list) -> str:
    out = []
    for block in blocks[:MAX_PARTS]:
        if not isinstance(block, Message):
            continue
        for name, value in block.items()[:200]:
            out.append(f"{name}: {header_text(value)}")
        try:
            rest = block.get_payload()
        except Exception:  # noqa: BLE001
            rest = ""
        if isinstance(rest, str) and rest.strip():
            out.append(rest)
        out.append("")
    return "\n".join(out)


def body_text(part: Message, budget: Budget, cap: int = MAX_PART_TEXT) -> str:
    """The body of a leaf part as text: declared charset, else UTF-8, else Latin-1 (which
    never fails); HTML reduced to its text."""
    data = body_bytes(part, cap)
    charset = param(part, "charset") or "utf-8"
    text = None
    for candidate in (charset, "utf-8"):
        try:
            text = data.decode(candidate)
            break
        except (LookupError, UnicodeDecodeError):
            continue
    if text is None:
        text = data.decode("latin-1")
    if content_type(part) == "text/html":
        text = html_to_text(text)
    return budget.text(text, cap)


_TAG = re.compile(r"<[^<>]{0,2000}>")
_BLOCK_TAG = re.compile(r"(?i)<(?:br|/p|/div|/tr|/li|/h\d)[^<>]{0,200}>")


def html_to_text(text: str) -> str:
    """Enough of an HTML-to-text step for NDRs that only come as HTML (bounded regexes)."""
    text = _drop_blocks(text, "style")
    text = _drop_blocks(text, "script")
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub(" ", text)
    return html.unescape(text)


def _drop_blocks(text: str, tag: str) -> str:
    """Remove <tag>...</tag> blocks with plain finds (a lazy regex here could go quadratic)."""
    lower = text.lower()
    out = []
    pos = 0
    while True:
        start = lower.find("<" + tag, pos)
        if start < 0:
            break
        end = lower.find("</" + tag, start)
        if end < 0:
            break
        out.append(text[pos:start])
        close = lower.find(">", end)
        pos = len(text) if close < 0 else close + 1
    out.append(text[pos:])
    return " ".join(out)
