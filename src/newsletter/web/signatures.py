"""Checking that a webhook request really comes from the provider it claims.

- Amazon SNS (SES events): an RSA signature (SHA1 for SignatureVersion 1, SHA256 for 2) over
  named fields of the message, made with a certificate that SNS publishes. The certificate
  is fetched from the message's SigningCertURL only when that is an https URL on an
  `sns.<region>.amazonaws.com` host (anything else is refused unfetched), without
  following redirects. The same rule guards the SubscribeURL of a subscription
  confirmation, visited only after its signature checked out.
- Mailgun: HMAC-SHA256 of timestamp + token with the webhook signing key, and a timestamp
  no older than `max_age`.
- SendGrid: an ECDSA P-256 / SHA-256 signature over timestamp + raw body with the
  verification key SendGrid shows, and the same timestamp rule.
- Postmark signs nothing: HTTP basic-auth credentials of our choosing, compared in
  constant time.

Every failure raises `SignatureError`; the web app answers it with 4xx and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from newsletter.errors import NewsletterError

SNS_HOST = re.compile(r"sns\.[a-z0-9-]{1,40}\.amazonaws\.com(?:\.cn)?")
_NOTIFICATION_FIELDS: tuple[str, ...] = (
    "Message",
    "MessageId",
    "Subject",
    "Timestamp",
    "TopicArn",
    "Type",
)
_SUBSCRIPTION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERT_BYTES = 64 * 1024


class SignatureError(NewsletterError):
    """A webhook request is not signed, or not by whom it claims."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect becomes an HTTPError: the URL we checked is the one we use


class SnsFetcher:
    """Fetches SNS signing certificates (cached) and visits subscription URLs, only on
    hosts that `hosts` matches, over certificate-checked HTTPS.

    The defaults are Amazon's hosts and the system's trust store. Tests serve their own
    certificate from a loopback server by making a fetcher for that host and CA and
    placing it in `app.extensions[webhooks.FETCHER]`; no setting of the config file can.
    """

    def __init__(
        self,
        hosts: re.Pattern[str] = SNS_HOST,
        context: ssl.SSLContext | None = None,
        any_port: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.hosts = hosts
        self.any_port = any_port
        self.timeout = timeout
        context = context or ssl.create_default_context()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), _NoRedirects()
        )
        self._certs: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # network requests made (certificates and subscription visits)

    def check_url(self, url: str, what: str) -> str:
        """The URL when it is https on an allowed host; SignatureError otherwise."""
        if not isinstance(url, str) or len(url) > 2048:
            raise SignatureError(f"{what} is missing")
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as e:
            raise SignatureError(f"{what} has a bad port") from e
        if (
            parts.scheme != "https"
            or parts.username is not None
            or not parts.hostname
            or not self.hosts.fullmatch(parts.hostname)
            or (port not in (None, 443) and not self.any_port)
        ):
            raise SignatureError(f"{what} {url!r} is not an https URL of Amazon SNS")
        return url

    def _get(self, url: str, limit: int) -> bytes:
        self.fetches += 1
        try:
            with self.opener.open(url, timeout=self.timeout) as response:
                return response.read(limit + 1)
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise SignatureError(f"cannot fetch {url}: {e}") from e

    def certificate(self, url: str) -> x509.Certificate:
        url = self.check_url(url, "SigningCertURL")
        if not urlsplit(url).path.endswith(".pem"):
            raise SignatureError(f"SigningCertURL {url!r} does not name a .pem certificate")
        with self._lock:
            cached = self._certs.get(url)
        if cached is not None:
            return cached
        data = self._get(url, MAX_CERT_BYTES)
        if len(data) > MAX_CERT_BYTES:
            raise SignatureError(f"{url} is too large to be a certificate")
        try:
            cert = x509.load_pem_x509_certificate(data)
        except ValueError as e:
            raise SignatureError(f"{url} is not a PEM certificate") from e
        with self._lock:
            if len(self._certs) >= 32:
                self._certs.clear()
            self._certs[url] = cert
        return cert

    def visit(self, url: str) -> None:
        """GET a SubscribeURL (confirms the subscription at SNS)."""
        self._get(self.check_url(url, "SubscribeURL"), 64 * 1024)


def sns_string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The canonical text SNS signs: `Name\\nvalue\\n` for its fields, in order."""
    kind = message.get("Type")
    if kind == "Notification":
        names = _NOTIFICATION_FIELDS
    elif kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        names = _SUBSCRIPTION_FIELDS
    else:
        raise SignatureError(f"unknown SNS message type {kind!r}")
    parts = []
    for name in names:
        value = message.get(name)
        if value is None:
            if name == "Subject":
                continue  # optional, and then not signed
            raise SignatureError(f"the SNS message lacks {name}")
        if not isinstance(value, str):
            raise SignatureError(f"the SNS message's {name} is not a string")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


def verify_sns(message: Mapping[str, Any], fetcher: SnsFetcher) -> None:
    """SignatureError unless `message` is signed by the certificate SNS published."""
    version = str(message.get("SignatureVersion") or "")
    if version not in _HASHES:
        raise SignatureError(f"unsupported SNS SignatureVersion {version!r}")
    signed = sns_string_to_sign(message)
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError) as e:
        raise SignatureError("the SNS Signature is not base64") from e
    if not signature:
        raise SignatureError("the SNS message is not signed")
    key = fetcher.certificate(str(message.get("SigningCertURL") or "")).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the SNS signing certificate does not hold an RSA key")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), _HASHES[version]())
    except InvalidSignature as e:
        raise SignatureError("the SNS signature does not match the message") from e


def _fresh(timestamp: str, now: datetime, max_age: int) -> None:
    try:
        when = int(timestamp)
    except (TypeError, ValueError) as e:
        raise SignatureError("the timestamp is missing or not a number") from e
    if abs(now.timestamp() - when) > max_age:
        raise SignatureError(f"the timestamp is more than {max_age} s away from now")


def verify_mailgun(
    key: str, timestamp: str, token: str, signature: str, now: datetime, max_age: int
) -> None:
    """SignatureError unless Mailgun signed timestamp + token with `key`, recently."""
    if not (isinstance(token, str) and isinstance(signature, str) and token and signature):
        raise SignatureError("the Mailgun signature is missing")
    _fresh(timestamp, now, max_age)
    expected = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError("the Mailgun signature does not match")


def sendgrid_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or PEM; ValueError if not
    a P-256 public key."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode("".join(text.split())))
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not an ECDSA P-256 public key")
    return key


def verify_sendgrid(
    key: ec.EllipticCurvePublicKey,
    signature: str,
    timestamp: str,
    body: bytes,
    now: datetime,
    max_age: int,
) -> None:
    """SignatureError unless SendGrid signed timestamp + body, recently."""
    if not signature or not timestamp:
        raise SignatureError("the SendGrid signature headers are missing")
    _fresh(timestamp, now, max_age)
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature) as e:
        raise SignatureError("the SendGrid signature does not match") from e


def check_basic_auth(header: str | None, user: str, password: str) -> None:
    """SignatureError unless an `Authorization: Basic` header carries user and password."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise SignatureError("basic authentication is required")
    try:
        given_user, _, given_password = base64.b64decode(encoded.strip()).partition(b":")
    except (binascii.Error, ValueError) as e:
        raise SignatureError("the basic authentication header is malformed") from e
    # both compared, always: the time taken says nothing about which part was wrong
    ok_user = hmac.compare_digest(given_user, user.encode())
    ok_password = hmac.compare_digest(given_password, password.encode())
    if not (ok_user and ok_password):
        raise SignatureError("wrong webhook credentials")
