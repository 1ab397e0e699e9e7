"""Signed tokens: one purpose each, tamper-proof, bound to one subscriber's key, some expire."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from support.sending import SECRET, SITE_URL, make_config

from newsletter.audience.tokens import (
    CONFIRM,
    DATA,
    MANAGE,
    PURPOSES,
    RESUBSCRIBE,
    UNSUBSCRIBE,
    Tokens,
    key_for,
    link_url,
    page_url,
    subscriber_links,
)
from newsletter.errors import ConfigError, TokenError
from newsletter.model import Subscriber

ANN = Subscriber(
    id=4217,
    list_name="daily",
    email="a@example.com",
    status="unsubscribed",
    unsubscribed_at=datetime(2026, 1, 5, 6, 0, 0, 123456, tzinfo=UTC),
    link_key="L1",
    confirm_key="C1",
)


@pytest.fixture
def tokens(clock) -> Tokens:
    return Tokens(SECRET, clock, confirm_max_age_days=7)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_round_trip(tokens: Tokens, purpose: str, clock) -> None:
    token = tokens.make(purpose, 4217, "key-1")
    link = tokens.read(purpose, token)
    assert (link.purpose, link.subscriber_id, link.key) == (purpose, 4217, "key-1")
    assert link.issued_at == clock().replace(microsecond=0)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_a_token_only_works_for_its_purpose(tokens: Tokens) -> None:
    token = tokens.make(UNSUBSCRIBE, 7, "k")
    for other in (MANAGE, CONFIRM, RESUBSCRIBE, DATA):
        with pytest.raises(TokenError):
            tokens.read(other, token)


def test_altered_and_forged_tokens_are_rejected(tokens: Tokens, clock) -> None:
    token = tokens.make(UNSUBSCRIBE, 7, "k")
    payload, stamp, signature = token.split(".")
    other = tokens.make(UNSUBSCRIBE, 8, "k").split(".")[0]
    for bad in (
        f"{other}.{stamp}.{signature}",  # someone else's id under this signature
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token[:10],
        "",
        "not-a-token",
    ):
        with pytest.raises(TokenError):
            tokens.read(UNSUBSCRIBE, bad)
    forged = Tokens("another-secret-key-of-some-length", clock).make(UNSUBSCRIBE, 7, "k")
    with pytest.raises(TokenError):
        tokens.read(UNSUBSCRIBE, forged)


def test_a_link_names_a_subscriber_only_with_their_current_key(tokens: Tokens) -> None:
    unsubscribe = tokens.read(UNSUBSCRIBE, tokens.make(UNSUBSCRIBE, ANN.id, ANN.link_key))
    confirm = tokens.read(CONFIRM, tokens.make(CONFIRM, ANN.id, ANN.confirm_key))
    assert unsubscribe.names(ANN) and confirm.names(ANN)
    assert not unsubscribe.names(dataclasses.replace(ANN, link_key="L2"))  # new keys drawn
    assert not confirm.names(dataclasses.replace(ANN, confirm_key="C2"))  # status changed
    assert not unsubscribe.names(dataclasses.replace(ANN, id=4218))  # someone else
    # a confirm link carries the confirm key, the others the link key: not interchangeable
    crossed = tokens.read(CONFIRM, tokens.make(CONFIRM, ANN.id, ANN.link_key))
    assert not crossed.names(ANN)
    assert not unsubscribe.names(dataclasses.replace(ANN, link_key=""))  # a row without keys
    # a resubscribe link undoes one unsubscribe: the one at the time it carries
    undo = tokens.read(RESUBSCRIBE, tokens.make(RESUBSCRIBE, ANN.id, key_for(RESUBSCRIBE, ANN)))
    assert undo.names(ANN)
    later = ANN.unsubscribed_at.replace(microsecond=123457)
    assert not undo.names(dataclasses.replace(ANN, unsubscribed_at=later))


def test_links_made_before_keys_existed_only_unsubscribe(tokens: Tokens, clock) -> None:
    """Digests already in inboxes carry bare-id tokens; they keep unsubscribing, nothing more."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    for purpose in (UNSUBSCRIBE, MANAGE, CONFIRM):
        old = URLSafeTimedSerializer(SECRET, salt=purpose, signer=Then).dumps(ANN.id)
        if purpose == UNSUBSCRIBE:
            link = tokens.read(purpose, old)
            assert link.key is None and link.names(ANN)
        else:
            with pytest.raises(TokenError, match="before an update"):
                tokens.read(purpose, old)


def test_lifetimes(tokens: Tokens, clock) -> None:
    made = {p: tokens.make(p, 3, "k") for p in PURPOSES}
    clock.advance(hours=23, minutes=59)
    for purpose in PURPOSES:
        tokens.read(purpose, made[purpose])
    clock.advance(minutes=2)
    for purpose in (RESUBSCRIBE, DATA):
        with pytest.raises(TokenError, match="24 hours"):
            tokens.read(purpose, made[purpose])
    clock.advance(days=5, hours=23)
    tokens.read(CONFIRM, made[CONFIRM])
    clock.advance(hours=1)
    with pytest.raises(TokenError, match="expired"):
        tokens.read(CONFIRM, made[CONFIRM])
    clock.advance(days=3650)
    assert tokens.read(UNSUBSCRIBE, made[UNSUBSCRIBE]).subscriber_id == 3
    assert tokens.read(MANAGE, made[MANAGE]).subscriber_id == 3


def test_unknown_purpose_is_an_error(tokens: Tokens) -> None:
    with pytest.raises(TokenError):
        tokens.make("admin", 1, "k")
    with pytest.raises(TokenError):
        page_url(SITE_URL, "admin", "x")


def test_missing_secret_names_the_fix(tmp_path) -> None:
    config = dataclasses.replace(make_config(tmp_path), secret_key="")
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET_KEY"):
        Tokens.from_config(config)


def test_url_layout(tmp_path, clock) -> None:
    config = make_config(tmp_path)
    tokens = Tokens.from_config(config, clock)
    for purpose in PURPOSES:
        url = link_url(config, tokens, purpose, ANN)
        prefix = f"{SITE_URL}/{purpose}/"
        assert url.startswith(prefix)
        assert tokens.read(purpose, url[len(prefix) :]).names(ANN)
    assert tokens.confirm_max_age == config.web.confirm_max_age_days * 86400


def test_links_of_one_subscriber(tmp_path, clock) -> None:
    config = make_config(tmp_path)
    tokens = Tokens.from_config(config, clock)
    unsubscribe, manage = subscriber_links(config, tokens, ANN.id, ANN.link_key)
    assert unsubscribe == link_url(config, tokens, UNSUBSCRIBE, ANN)
    assert manage == link_url(config, tokens, MANAGE, ANN)
    assert tokens.make_many((CONFIRM, MANAGE), 5, "k") == [
        tokens.make(CONFIRM, 5, "k"),
        tokens.make(MANAGE, 5, "k"),
    ]
    with pytest.raises(TokenError):
        tokens.make_many((MANAGE, "admin"), 5, "k")
