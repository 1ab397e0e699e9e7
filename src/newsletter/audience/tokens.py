"""Signed per-subscriber tokens and the public URLs that carry them.

A token names one subscriber id and one purpose. Each purpose signs with its own salt, so an
unsubscribe token cannot be replayed as a manage or confirm token. Confirm tokens expire after
`web.confirm_max_age_days`; unsubscribe and manage tokens never do (a years-old digest must
still unsubscribe in one click).

URL layout, shared with the web app:

    <site>/unsubscribe/<token>   GET: a page with a button; POST: unsubscribes. The same URL
                                 is the List-Unsubscribe target (RFC 8058 one-click POST).
    <site>/manage/<token>        the subscriber's preferences page
    <site>/confirm/<token>       double opt-in confirmation
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from newsletter.config import Config
from newsletter.errors import TokenError
from newsletter.model import Clock
from newsletter.model import utcnow as _utcnow

UNSUBSCRIBE = "unsubscribe"
MANAGE = "manage"
CONFIRM = "confirm"
PURPOSES = (UNSUBSCRIBE, MANAGE, CONFIRM)


class Tokens:
    """Signs and checks tokens with one secret key and one clock."""

    def __init__(self, secret_key: str, clock: Clock = _utcnow, confirm_max_age_days: int = 7):
        if not secret_key:
            raise TokenError("cannot sign links without a secret key (NEWSLETTER_SECRET_KEY)")

        # itsdangerous reads the time through `get_timestamp`; binding our clock there makes
        # expiry exact in tests and consistent with the rest of the program.
        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock().timestamp())

        self._serializers = {
            purpose: URLSafeTimedSerializer(secret_key, salt=purpose, signer=_ClockSigner)
            for purpose in PURPOSES
        }
        # what `dumps` would build on every call, built once (a send signs two per message)
        self._signers = {p: s.make_signer(p) for p, s in self._serializers.items()}
        self.confirm_max_age = int(confirm_max_age_days * 86400)

    @classmethod
    def from_config(cls, config: Config, clock: Clock = _utcnow) -> Tokens:
        """Tokens keyed by `config.secret_key` (a clear ConfigError when it is missing)."""
        return cls(config.require_secret(), clock, config.web.confirm_max_age_days)

    def make(self, purpose: str, subscriber_id: int) -> str:
        """A URL-safe token naming `subscriber_id` for `purpose`."""
        return self.make_many((purpose,), subscriber_id)[0]

    def make_many(self, purposes: tuple[str, ...], subscriber_id: int) -> list[str]:
        """Tokens for several purposes, same as `make` each (the payload is encoded once)."""
        serializers = [self._serializer(p) for p in purposes]  # checks every purpose
        # the serializers differ only in their salt, which lives in the signer
        payload = serializers[0].dump_payload(int(subscriber_id))
        return [self._signers[p].sign(payload).decode("ascii") for p in purposes]

    def read(self, purpose: str, token: str) -> int:
        """The subscriber id in a token; TokenError if forged, altered, expired or misdirected."""
        max_age = self.confirm_max_age if purpose == CONFIRM else None
        try:
            value = self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired as e:
            raise TokenError(
                "this confirmation link has expired; subscribe again to get a new one"
            ) from e
        except BadSignature as e:
            raise TokenError("this link is not valid (it was altered or is incomplete)") from e
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TokenError("this link is not valid (unexpected content)")
        return value

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        try:
            return self._serializers[purpose]
        except KeyError:
            raise TokenError(f"unknown token purpose {purpose!r}") from None


def page_url(site_url: str, purpose: str, token: str) -> str:
    """The public URL for a token: <site>/<purpose>/<token>."""
    if purpose not in PURPOSES:
        raise TokenError(f"unknown token purpose {purpose!r}")
    return f"{site_url.rstrip('/')}/{purpose}/{token}"


def unsubscribe_url(config: Config, tokens: Tokens, subscriber_id: int) -> str:
    """<site>/unsubscribe/<token>: the body link and the List-Unsubscribe target."""
    return page_url(config.site.url, UNSUBSCRIBE, tokens.make(UNSUBSCRIBE, subscriber_id))


def manage_url(config: Config, tokens: Tokens, subscriber_id: int) -> str:
    """<site>/manage/<token>: the preferences page."""
    return page_url(config.site.url, MANAGE, tokens.make(MANAGE, subscriber_id))


def subscriber_links(config: Config, tokens: Tokens, subscriber_id: int) -> tuple[str, str]:
    """(unsubscribe URL, manage URL) of one subscriber, as one message needs them."""
    unsubscribe, manage = tokens.make_many((UNSUBSCRIBE, MANAGE), subscriber_id)
    return (
        page_url(config.site.url, UNSUBSCRIBE, unsubscribe),
        page_url(config.site.url, MANAGE, manage),
    )


def confirm_url(config: Config, tokens: Tokens, subscriber_id: int) -> str:
    """<site>/confirm/<token>: the double opt-in link (expires)."""
    return page_url(config.site.url, CONFIRM, tokens.make(CONFIRM, subscriber_id))
