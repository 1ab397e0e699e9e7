"""CSRF tokens for the app's own forms: a signed double submit, no extra dependency.

A random nonce lives in the (signed, HttpOnly, SameSite=Lax) session cookie; the form
carries the nonce signed with a timestamp. A POST passes when the signature is good, the
token is not older than `max_age`, and its nonce matches the cookie's. Another site can
neither read the cookie nor make the browser send it with a cross-site POST, so it cannot
produce a matching pair.

Forms reached through a link that already carries a signed token (confirm, unsubscribe,
manage) need no CSRF token: the link itself is the credential, and RFC 8058 one-click
unsubscribes arrive without cookies by design.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, MutableMapping
from datetime import datetime

from itsdangerous import BadSignature

from newsletter.audience.tokens import clocked_serializer

SESSION_KEY = "csrf"
FIELD = "csrf_token"


class Csrf:
    """Makes and checks form tokens bound to a session nonce."""

    def __init__(self, secret_key: str, clock: Callable[[], datetime], max_age: int = 6 * 3600):
        self._serializer = clocked_serializer(secret_key, "newsletter-csrf", clock)
        self.max_age = max_age

    def token(self, session: MutableMapping[str, object]) -> str:
        """A token for a form; creates the session nonce on first use."""
        nonce = session.get(SESSION_KEY)
        if not isinstance(nonce, str):
            nonce = secrets.token_urlsafe(18)
            session[SESSION_KEY] = nonce
        return self._serializer.dumps(nonce)

    def valid(self, session: MutableMapping[str, object], submitted: str | None) -> bool:
        """True when `submitted` was made for this session recently."""
        nonce = session.get(SESSION_KEY)
        if not submitted or not isinstance(nonce, str):
            return False
        try:
            value = self._serializer.loads(submitted, max_age=self.max_age)
        except BadSignature:  # covers SignatureExpired
            return False
        return isinstance(value, str) and hmac.compare_digest(value, nonce)
