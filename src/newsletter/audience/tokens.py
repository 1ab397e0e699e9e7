"""Signed per-subscriber tokens and the public URLs that carry them.

A token carries a subscriber id and one of that subscriber's random keys (see
`newsletter.store.subscribers`), signed with NEWSLETTER_SECRET_KEY and a salt per purpose,
so a token made for one purpose cannot be replayed as another. The key binds a link to one
subscriber for good: removing the subscriber, or drawing them new keys, revokes it; ids are
never reused.

    purpose       key          works for                      allows
    unsubscribe   link_key     ever (old digests must work)   leaving; RFC 8058 one-click
    manage        link_key     ever                           seeing the status, leaving,
                                                              asking for mail (below)
    confirm       confirm_key  web.confirm_max_age_days,      confirming, also coming back
                               until the status changes       after an opt-out
    resubscribe   link_key and RESUBSCRIBE_HOURS              undoing that one unsubscribe
                  the time of
                  the unsubscribe
    data          link_key     DATA_HOURS                     downloading the stored data

Resubscribe links are only handed out on the page answering an unsubscribe; data links are
only ever mailed to the address. Unsubscribe links made before keys existed (a bare id)
still unsubscribe; any other old link is refused.

URL layout, shared with the web app: <site>/<purpose>/<token>.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from newsletter.config import Config
from newsletter.errors import TokenError
from newsletter.model import Clock, Subscriber
from newsletter.model import utcnow as _utcnow

UNSUBSCRIBE = "unsubscribe"
MANAGE = "manage"
CONFIRM = "confirm"
RESUBSCRIBE = "resubscribe"
DATA = "data"
PURPOSES = (UNSUBSCRIBE, MANAGE, CONFIRM, RESUBSCRIBE, DATA)

RESUBSCRIBE_HOURS = 24  # "unsubscribed by mistake?" is answered the same day or not at all
DATA_HOURS = 24  # a download link is mailed on request and used at once

OLD_LINK = (
    "this link is from before an update of the site; ask for a new one by email on the manage page"
)
_EXPIRED = {
    CONFIRM: "this confirmation link has expired; subscribe again to get a new one",
    RESUBSCRIBE: (
        f"undoing an unsubscribe works for {RESUBSCRIBE_HOURS} hours; subscribe again through "
        "the form to confirm your address"
    ),
    DATA: f"download links work for {DATA_HOURS} hours; ask for a new one on your manage page",
}


@dataclass(frozen=True)
class Link:
    """What a valid token says: who, with which key, made when."""

    purpose: str
    subscriber_id: int
    key: str | None  # None: an unsubscribe link from before keys existed
    issued_at: datetime

    def names(self, subscriber: Subscriber) -> bool:
        """True when the token was made for this subscriber as they are now: same id and
        the key they hold for this purpose."""
        if subscriber.id != self.subscriber_id:
            return False
        if self.key is None:  # signed by us before keys existed; such links only unsubscribe
            return self.purpose == UNSUBSCRIBE
        expected = key_for(self.purpose, subscriber)
        return bool(expected) and hmac.compare_digest(self.key, expected)


def key_for(purpose: str, subscriber: Subscriber) -> str:
    """The key a `purpose` link of this subscriber carries ("" when there can be none).

    A resubscribe link also carries the time of the unsubscribe it undoes, so it undoes
    that one and no later one.
    """
    if purpose == CONFIRM:
        return subscriber.confirm_key
    if purpose == RESUBSCRIBE:
        left = subscriber.unsubscribed_at
        return f"{subscriber.link_key}/{left.isoformat()}" if left and subscriber.link_key else ""
    return subscriber.link_key


def clocked_serializer(secret_key: str, salt: str, clock: Clock) -> URLSafeTimedSerializer:
    """An itsdangerous serializer whose timestamps come from `clock`.

    itsdangerous reads the time through `get_timestamp`; binding our clock there makes
    expiry exact in tests and consistent with the rest of the program. Links and the web
    forms' CSRF tokens both sign this way."""

    class _ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return URLSafeTimedSerializer(secret_key, salt=salt, signer=_ClockSigner)


class Tokens:
    """Signs and checks tokens with one secret key and one clock."""

    def __init__(self, secret_key: str, clock: Clock = _utcnow, confirm_max_age_days: int = 7):
        if not secret_key:
            raise TokenError("cannot sign links without a secret key (NEWSLETTER_SECRET_KEY)")
        self._serializers = {
            purpose: clocked_serializer(secret_key, purpose, clock) for purpose in PURPOSES
        }
        # what `dumps` would build on every call, built once (a send signs two per message)
        self._signers = {p: s.make_signer(p) for p, s in self._serializers.items()}
        self.confirm_max_age = int(confirm_max_age_days * 86400)
        self.max_age = {
            CONFIRM: self.confirm_max_age,
            RESUBSCRIBE: RESUBSCRIBE_HOURS * 3600,
            DATA: DATA_HOURS * 3600,
        }

    @classmethod
    def from_config(cls, config: Config, clock: Clock = _utcnow) -> Tokens:
        """Tokens keyed by `config.secret_key` (a clear ConfigError when it is missing)."""
        return cls(config.require_secret(), clock, config.web.confirm_max_age_days)

    def make(self, purpose: str, subscriber_id: int, key: str) -> str:
        """A URL-safe token naming `subscriber_id` (holding `key`) for `purpose`."""
        return self.make_many((purpose,), subscriber_id, key)[0]

    def make_many(self, purposes: tuple[str, ...], subscriber_id: int, key: str) -> list[str]:
        """Tokens for several purposes, same as `make` each (the payload is encoded once)."""
        serializers = [self._serializer(p) for p in purposes]  # checks every purpose
        # the serializers differ only in their salt, which lives in the signer
        payload = serializers[0].dump_payload([int(subscriber_id), str(key)])
        return [self._signers[p].sign(payload).decode("ascii") for p in purposes]

    def read(self, purpose: str, token: str) -> Link:
        """What a token names; TokenError if forged, altered, expired or misdirected."""
        try:
            value, stamp = self._serializer(purpose).loads(
                token, max_age=self.max_age.get(purpose), return_timestamp=True
            )
        except SignatureExpired as e:
            raise TokenError(_EXPIRED.get(purpose, "this link has expired")) from e
        except BadSignature as e:
            raise TokenError("this link is not valid (it was altered or is incomplete)") from e
        issued = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        if _is_id(value) and purpose == UNSUBSCRIBE:
            return Link(purpose, value, None, issued)
        if (
            isinstance(value, list)
            and len(value) == 2
            and _is_id(value[0])
            and isinstance(value[1], str)
        ):
            return Link(purpose, value[0], value[1], issued)
        if _is_id(value):
            raise TokenError(OLD_LINK)
        raise TokenError("this link is not valid (unexpected content)")

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        try:
            return self._serializers[purpose]
        except KeyError:
            raise TokenError(f"unknown token purpose {purpose!r}") from None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def page_url(site_url: str, purpose: str, token: str) -> str:
    """The public URL for a token: <site>/<purpose>/<token>."""
    if purpose not in PURPOSES:
        raise TokenError(f"unknown token purpose {purpose!r}")
    return f"{site_url.rstrip('/')}/{purpose}/{token}"


def link_url(config: Config, tokens: Tokens, purpose: str, subscriber: Subscriber) -> str:
    """<site>/<purpose>/<token> for one subscriber, carrying the key the purpose needs."""
    token = tokens.make(purpose, subscriber.id, key_for(purpose, subscriber))
    return page_url(config.site.url, purpose, token)


def subscriber_links(
    config: Config, tokens: Tokens, subscriber_id: int, link_key: str
) -> tuple[str, str]:
    """(unsubscribe URL, manage URL) of one subscriber, as one message needs them."""
    unsubscribe, manage = tokens.make_many((UNSUBSCRIBE, MANAGE), subscriber_id, link_key)
    return (
        page_url(config.site.url, UNSUBSCRIBE, unsubscribe),
        page_url(config.site.url, MANAGE, manage),
    )
