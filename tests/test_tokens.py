"""Signed tokens: one purpose each, tamper-proof, confirm tokens expire."""

from __future__ import annotations

import dataclasses

import pytest
from support.sending import SECRET, SITE_URL, make_config

from newsletter.audience.tokens import (
    CONFIRM,
    MANAGE,
    UNSUBSCRIBE,
    Tokens,
    confirm_url,
    manage_url,
    page_url,
    unsubscribe_url,
)
from newsletter.errors import ConfigError, TokenError


@pytest.fixture
def tokens(clock) -> Tokens:
    return Tokens(SECRET, clock, confirm_max_age_days=7)


@pytest.mark.parametrize("purpose", [UNSUBSCRIBE, MANAGE, CONFIRM])
def test_round_trip(tokens: Tokens, purpose: str) -> None:
    token = tokens.make(purpose, 4217)
    assert tokens.read(purpose, token) == 4217
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_a_token_only_works_for_its_purpose(tokens: Tokens) -> None:
    token = tokens.make(UNSUBSCRIBE, 7)
    with pytest.raises(TokenError):
        tokens.read(MANAGE, token)
    with pytest.raises(TokenError):
        tokens.read(CONFIRM, token)


def test_altered_and_forged_tokens_are_rejected(tokens: Tokens, clock) -> None:
    token = tokens.make(UNSUBSCRIBE, 7)
    payload, stamp, signature = token.split(".")
    other = tokens.make(UNSUBSCRIBE, 8).split(".")[0]
    for bad in (
        f"{other}.{stamp}.{signature}",  # someone else's id under this signature
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token[:10],
        "",
        "not-a-token",
    ):
        with pytest.raises(TokenError):
            tokens.read(UNSUBSCRIBE, bad)
    forged = Tokens("another-secret-key-of-some-length", clock).make(UNSUBSCRIBE, 7)
    with pytest.raises(TokenError):
        tokens.read(UNSUBSCRIBE, forged)


def test_confirm_tokens_expire_others_do_not(tokens: Tokens, clock) -> None:
    confirm = tokens.make(CONFIRM, 3)
    unsubscribe = tokens.make(UNSUBSCRIBE, 3)
    manage = tokens.make(MANAGE, 3)
    clock.advance(days=6, hours=23)
    assert tokens.read(CONFIRM, confirm) == 3
    clock.advance(hours=2)
    with pytest.raises(TokenError, match="expired"):
        tokens.read(CONFIRM, confirm)
    clock.advance(days=3650)
    assert tokens.read(UNSUBSCRIBE, unsubscribe) == 3
    assert tokens.read(MANAGE, manage) == 3


def test_unknown_purpose_is_an_error(tokens: Tokens) -> None:
    with pytest.raises(TokenError):
        tokens.make("admin", 1)
    with pytest.raises(TokenError):
        page_url(SITE_URL, "admin", "x")


def test_missing_secret_names_the_fix(tmp_path) -> None:
    config = dataclasses.replace(make_config(tmp_path), secret_key="")
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET_KEY"):
        Tokens.from_config(config)


def test_url_layout(tmp_path, clock) -> None:
    config = make_config(tmp_path)
    tokens = Tokens.from_config(config, clock)
    for build, purpose in (
        (unsubscribe_url, UNSUBSCRIBE),
        (manage_url, MANAGE),
        (confirm_url, CONFIRM),
    ):
        url = build(config, tokens, 99)
        prefix = f"{SITE_URL}/{purpose}/"
        assert url.startswith(prefix)
        assert tokens.read(purpose, url[len(prefix) :]) == 99
    assert tokens.confirm_max_age == config.web.confirm_max_age_days * 86400


def test_links_of_one_subscriber(tmp_path, clock) -> None:
    from newsletter.audience.tokens import subscriber_links

    config = make_config(tmp_path)
    tokens = Tokens.from_config(config, clock)
    unsubscribe, manage = subscriber_links(config, tokens, 41)
    assert unsubscribe == unsubscribe_url(config, tokens, 41)
    assert manage == manage_url(config, tokens, 41)
    assert tokens.make_many((CONFIRM, MANAGE), 5) == [
        tokens.make(CONFIRM, 5),
        tokens.make(MANAGE, 5),
    ]
    with pytest.raises(TokenError):
        tokens.make_many((MANAGE, "admin"), 5)
