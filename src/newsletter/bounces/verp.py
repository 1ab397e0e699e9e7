"""Signed VERP return paths and X-Newsletter-Delivery headers.

A token `d<delivery id>-<mac>` names one delivery (one message to one subscriber). The MAC is
HMAC-SHA256 over the id, base32-encoded, lower-cased and cut to 12 characters (60 bits):
short enough for a local part, far too many guesses for a forger who wants to make us drop a
subscriber. Base32 has one case only, so the token survives MTAs that lower-case (or
upper-case) local parts; reading lower-cases before comparing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

MAC_LENGTH = 12  # also spelled out in the two patterns below
_DOMAIN_TAG = b"newsletter-delivery:"
_TOKEN = re.compile(r"d(0|[1-9][0-9]{0,18})-([a-z2-7]{12})")
# A token ending a local part, after '+' (or '=' / '-' which some MTAs substitute).
_IN_LOCAL = re.compile(r"[+=\-_.]d(0|[1-9][0-9]{0,18})-([a-z2-7]{12})$")
_MAX_ID = 2**63 - 1


def key_from_secret(secret: str) -> bytes:
    """The key that signs delivery tokens, derived from NEWSLETTER_SECRET_KEY for this one
    purpose (a token MAC can then never be replayed as a link signature, or the reverse)."""
    if not secret:
        raise ValueError("the secret key is empty")
    return hmac.new(secret.encode("utf-8"), b"newsletter bounces v1", hashlib.sha256).digest()


def _mac(delivery_id: int, key: bytes) -> str:
    digest = hmac.new(key, _DOMAIN_TAG + str(delivery_id).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:MAC_LENGTH]


def _check_id(delivery_id: int) -> None:
    if isinstance(delivery_id, bool) or not isinstance(delivery_id, int):
        raise TypeError("delivery_id must be an int")
    if not 0 <= delivery_id <= _MAX_ID:
        raise ValueError("delivery_id out of range")


def make_token(delivery_id: int, key: bytes) -> str:
    """The signed token for a delivery, e.g. 'd123-k3n5q7r2a4bx'."""
    _check_id(delivery_id)
    if not key:
        raise ValueError("key must not be empty")
    return f"d{delivery_id}-{_mac(delivery_id, key)}"


def read_token(token: str, key: bytes) -> int | None:
    """The delivery id of a token when its MAC is valid for `key`, else None."""
    if not key or not isinstance(token, str):
        return None
    match = _TOKEN.fullmatch(token.strip().lower()[:64])
    if not match:
        return None
    delivery_id = int(match.group(1))
    if delivery_id > _MAX_ID:
        return None
    expected = _mac(delivery_id, key)
    return delivery_id if hmac.compare_digest(expected, match.group(2)) else None


def make_return_path(bounce_address: str, delivery_id: int, key: bytes) -> str:
    """'bounces@news.example.org' -> 'bounces+d123-k3n5q7r2a4bx@news.example.org'."""
    local, at, domain = bounce_address.strip().strip("<>").rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an address: {bounce_address!r}")
    return f"{local}+{make_token(delivery_id, key)}@{domain}"


def find_token(address: str) -> str | None:
    """The (unverified) token at the end of an address's local part, lower-cased."""
    text = address.strip().strip("<>").lower()
    local = text.rpartition("@")[0] if "@" in text else ""
    match = _IN_LOCAL.search(local[-64:]) if local else None
    return f"d{match.group(1)}-{match.group(2)}" if match else None


def read_return_path(address: str, key: bytes) -> int | None:
    """The delivery id encoded in a VERP address, only when its MAC is valid."""
    if not isinstance(address, str):
        return None
    token = find_token(address)
    return read_token(token, key) if token else None


def delivery_header_value(delivery_id: int, key: bytes) -> str:
    """Value for the X-Newsletter-Delivery header of an outgoing message (same token)."""
    return make_token(delivery_id, key)


def read_delivery_header(value: str, key: bytes) -> int | None:
    """The delivery id in an X-Newsletter-Delivery value, only when its MAC is valid."""
    if not isinstance(value, str):
        return None
    return read_token(value.strip().strip("<>"), key)
