"""Bounces applied to the store: the signed return path each digest message carries, the
policy (hard, soft within a window, delays, complaints), forged and unknown reports, and
reports read twice."""

from __future__ import annotations

from email import message_from_bytes

import pytest
from support.bounce_mail import (
    BOUNCES,
    arf,
    auto_reply,
    bounce_config,
    dsn,
    key_of,
    sent_digest,
    verp,
)
from support.sending import add_people, make_config, make_digest
from support.smtp import SmtpServer

from newsletter.audience import signup
from newsletter.audience.tokens import CONFIRM, DATA, RESUBSCRIBE, UNSUBSCRIBE, Link, key_for
from newsletter.bounces import (
    delivery_header_value,
    make_return_path,
    read_delivery_header,
    read_return_path,
)
from newsletter.bounces.apply import Applier, Policy, Tally
from newsletter.mail.deliver import send_digest, send_test
from newsletter.store import Store


class Envelopes(list):
    """Records (MAIL FROM, RCPT TO) of every message the SMTP sink accepts."""

    def __call__(self, envelope) -> None:
        self.append((envelope.mail_from, tuple(envelope.rcpt_tos)))


def original(delivery_id: int, email: str, key: bytes) -> bytes:
    """The headers of our message as the report quotes them."""
    token = delivery_header_value(delivery_id, key)
    return (
        f"From: Example News <digest@news.example.org>\r\nTo: {email}\r\n"
        f"Subject: Example News\r\nX-Newsletter-Delivery: {token}\r\n\r\nHello\r\n"
    ).encode()


# --- the envelope sender ---------------------------------------------------------------


def test_each_message_goes_out_from_its_signed_return_path(tmp_path, store, clock):
    with SmtpServer() as server:
        envelopes = Envelopes()
        server.handler.on_data = envelopes
        config = bounce_config(tmp_path, smtp=server.smtp_config())
        add_people(store, 3)
        digest_id = make_digest(store, tmp_path)
        report = send_digest(config, store, digest_id, clock=clock)
        assert report.sent == 3
        key = key_of(config)
        rows = {d.email: d.id for d in store.deliveries(digest_id)}
        assert len(envelopes) == 3
        for mail_from, (rcpt,) in envelopes:
            local, domain = mail_from.split("@")
            assert domain == "news.example.org" and local.startswith("bounces+d")
            assert read_return_path(mail_from, key) == rows[rcpt]
            # another key (or a made-up address) names nobody
            assert read_return_path(mail_from, b"other key") is None
            message = message_from_bytes(server.messages[rcpt][0])
            assert read_delivery_header(message["X-Newsletter-Delivery"], key) == rows[rcpt]
            assert mail_from.split("+")[1].split("@")[0] == message["X-Newsletter-Delivery"]
            assert message["From"] == "Example News <digest@news.example.org>"


def test_without_a_bounce_address_the_sender_is_the_from_address(tmp_path, store, clock):
    with SmtpServer() as server:
        envelopes = Envelopes()
        server.handler.on_data = envelopes
        config = make_config(tmp_path, smtp=server.smtp_config())
        add_people(store, 1)
        send_digest(config, store, make_digest(store, tmp_path), clock=clock)
        assert envelopes == [("digest@news.example.org", ("reader0@example.com",))]
        message = message_from_bytes(server.messages["reader0@example.com"][0])
        assert message["X-Newsletter-Delivery"] is None


def test_a_test_send_uses_the_plain_bounce_address(tmp_path, store, clock):
    with SmtpServer() as server:
        envelopes = Envelopes()
        server.handler.on_data = envelopes
        config = bounce_config(tmp_path, smtp=server.smtp_config())
        send_test(config, store, make_digest(store, tmp_path), "me@example.org", clock=clock)
        assert envelopes == [(BOUNCES, ("me@example.org",))]
        assert (
            message_from_bytes(server.messages["me@example.org"][0])["X-Newsletter-Delivery"]
            is None
        )


# --- the policy -------------------------------------------------------------------------


@pytest.fixture
def setup(tmp_path, store):
    config = bounce_config(tmp_path)
    key = key_of(config)
    digest_id, rows = sent_digest(store, tmp_path)
    applier = Applier(store, Policy(), key)
    return config, key, digest_id, rows, applier


def status_of(store: Store, email: str) -> str:
    subscriber = store.get_subscriber(("daily", email))
    assert subscriber is not None
    return subscriber.status


def test_a_hard_bounce_makes_the_address_bounced_and_is_recorded(setup, store):
    _, key, digest_id, rows, applier = setup
    ann = "reader0@example.com"
    tally = Tally()
    applier.apply_message(dsn(verp(rows[ann], key), ann), "file a.eml", tally)
    assert status_of(store, ann) == "bounced"
    assert tally.bounced == [ann] and tally.hard == 1
    (event,) = store.bounce_events(store.get_subscriber(("daily", ann)).id)
    assert (event.digest_id, event.delivery_id) == (digest_id, rows[ann])
    assert (event.kind, event.severity, event.status) == ("bounce", "hard", "5.1.1")
    assert (event.matched, event.action, event.source) == ("signed", "bounced", "file a.eml")
    assert "user unknown" in event.diagnostic
    assert status_of(store, "reader1@example.com") == "confirmed"


def test_the_signed_token_wins_over_the_address_the_report_names(setup, store):
    """A subscriber whose mail is forwarded: the DSN is about the forward target."""
    _, key, _, rows, applier = setup
    tally = Tally()
    applier.apply_message(
        dsn(verp(rows["reader1@example.com"], key), "new-home@elsewhere.example"), "x", tally
    )
    assert status_of(store, "reader1@example.com") == "bounced"


def test_hard_after_two_needs_two_deliveries(tmp_path, store):
    config = bounce_config(tmp_path)
    key = key_of(config)
    _, first = sent_digest(store, tmp_path, people=1)
    applier = Applier(store, Policy(hard_after=2), key)
    ann = "reader0@example.com"
    tally = Tally()
    applier.apply_message(dsn(verp(first[ann], key), ann), "a", tally)
    # a second report about the same delivery is not a second failure
    applier.apply_message(dsn(verp(first[ann], key), ann, diagnostic="smtp; 550 gone"), "b", tally)
    assert status_of(store, ann) == "confirmed"
    second = make_digest(store, tmp_path, name="2026-01-06T0700")
    store.create_deliveries(second)
    (row,) = store.deliveries(second)
    applier.apply_message(dsn(verp(row.id, key), ann), "c", tally)
    assert status_of(store, ann) == "bounced"


def test_soft_bounces_count_within_the_window_only(tmp_path, store, clock):
    config = bounce_config(tmp_path)
    key = key_of(config)
    applier = Applier(store, Policy(soft_after=3, soft_days=14), key)
    add_people(store, 1)
    ann = "reader0@example.com"
    deliveries = []
    for day in range(4):
        digest_id = make_digest(store, tmp_path, name=f"2026-01-0{day + 1}T0700")
        store.create_deliveries(digest_id)
        deliveries.append(store.deliveries(digest_id)[0].id)
    full = "smtp; 452 4.2.2 mailbox full"
    tally = Tally()
    applier.apply_message(dsn(verp(deliveries[0], key), ann, "4.2.2", diagnostic=full), "1", tally)
    clock.advance(days=10)
    applier.apply_message(dsn(verp(deliveries[1], key), ann, "4.2.2", diagnostic=full), "2", tally)
    clock.advance(days=10)  # the first one is now 20 days old: outside the window
    applier.apply_message(dsn(verp(deliveries[2], key), ann, "4.2.2", diagnostic=full), "3", tally)
    assert status_of(store, ann) == "confirmed"
    assert tally.soft == 3 and tally.bounced == []
    clock.advance(days=1)
    applier.apply_message(dsn(verp(deliveries[3], key), ann, "4.2.2", diagnostic=full), "4", tally)
    assert status_of(store, ann) == "bounced"
    assert [e.severity for e in store.bounce_events(1)] == ["soft"] * 4


def test_delay_warnings_are_recorded_but_never_counted(setup, store):
    _, key, _, rows, _ = setup
    applier = Applier(store, Policy(soft_after=1), key)
    ann = "reader0@example.com"
    tally = Tally()
    for n in range(3):
        warning = dsn(verp(rows[ann], key), ann, "4.4.1", "delayed", f"smtp; 451 try {n} later")
        applier.apply_message(warning, f"w{n}", tally)
    assert status_of(store, ann) == "confirmed"
    assert tally.delays == 3 and tally.soft == 0
    assert {e.severity for e in store.bounce_events(1)} == {"delay"}


def _link(store, purpose: str, subscriber_id: int) -> Link:
    """The link a subscriber's mail would carry for `purpose`, as the web app reads it."""
    subscriber = store.get_subscriber(subscriber_id)
    return Link(purpose, subscriber_id, key_for(purpose, subscriber), store.clock())


def test_a_complaint_unsubscribes_and_only_a_fresh_opt_in_brings_them_back(setup, store):
    _, key, _, rows, applier = setup
    ann = "reader2@example.com"
    ours = original(rows[ann], ann, key)
    tally = Tally()
    applier.apply_message(arf("fbl@news.example.org", ann, ours), "fbl", tally)
    subscriber = store.get_subscriber(("daily", ann))
    assert subscriber.status == "unsubscribed"
    assert tally.unsubscribed == [ann] and tally.complaints == 1
    (event,) = store.bounce_events(subscriber.id)
    assert (event.kind, event.action, event.matched) == ("complaint", "unsubscribed", "signed")
    # the one-click "resubscribe" of an unsubscribe page is not enough after a complaint
    assert (
        signup.resubscribe(store, _link(store, RESUBSCRIBE, subscriber.id)).state
        == signup.NEEDS_OPTIN
    )
    assert status_of(store, ann) == "unsubscribed"
    # their own double opt-in is
    job = signup.request_subscription(store, "daily", ann)
    assert job is not None and job.kind == signup.CONFIRM
    assert signup.confirm(store, _link(store, CONFIRM, subscriber.id)).state == signup.CHANGED
    assert status_of(store, ann) == "confirmed"


def test_a_plain_unsubscribe_can_still_be_undone_from_the_link(setup, store):
    _, _, _, _, _ = setup
    subscriber = store.get_subscriber(("daily", "reader1@example.com"))
    signup.unsubscribe(store, _link(store, UNSUBSCRIBE, subscriber.id))
    assert (
        signup.resubscribe(store, _link(store, RESUBSCRIBE, subscriber.id)).state == signup.CHANGED
    )


def test_forged_tokens_change_nothing(setup, store):
    _, key, _, rows, applier = setup
    ann = "reader0@example.com"
    forged = make_return_path(BOUNCES, rows[ann], b"the attacker's key")
    tally = Tally()
    applier.apply_message(dsn(forged, ann), "evil", tally)
    applier.apply_message(
        arf("fbl@news.example.org", ann, original(rows[ann], ann, b"x")), "e", tally
    )
    assert tally.forged == 2
    assert status_of(store, ann) == "confirmed"
    assert store.bounce_events(1) == []


def test_unsigned_reports_match_only_addresses_we_mailed(setup, store):
    _, _, _, rows, applier = setup
    tally = Tally()
    applier.apply_message(dsn(BOUNCES, "stranger@example.com"), "s", tally)
    store.add_subscriber("daily", "never-mailed@example.com", status="confirmed")
    applier.apply_message(dsn(BOUNCES, "never-mailed@example.com"), "n", tally)
    assert tally.unknown == 2
    assert status_of(store, "never-mailed@example.com") == "confirmed"
    applier.apply_message(dsn(BOUNCES, "Reader1@Example.com"), "r", tally)
    assert status_of(store, "reader1@example.com") == "bounced"
    (event,) = store.bounce_events(store.get_subscriber(("daily", "reader1@example.com")).id)
    assert event.matched == "address" and event.delivery_id == rows["reader1@example.com"]


def test_the_same_report_twice_is_recorded_once(setup, store):
    _, key, _, rows, _ = setup
    applier = Applier(store, Policy(hard_after=2), key)
    ann = "reader0@example.com"
    raw = dsn(verp(rows[ann], key), ann)
    first, second = Tally(), Tally()
    applier.apply_message(raw, "a", first)
    applier.apply_message(raw, "a", second)
    assert (first.hard, second.hard, second.repeated) == (1, 0, 1)
    assert len(store.bounce_events(1)) == 1


def test_auto_replies_and_other_mail_change_nothing(setup, store):
    _, _, _, _, applier = setup
    tally = Tally()
    applier.apply_message(auto_reply(BOUNCES), "ooo", tally)
    applier.apply_message(b"From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n", "hi", tally)
    assert (tally.auto_replies, tally.other, tally.changed) == (1, 1, 0)
    assert all(status_of(store, f"reader{i}@example.com") == "confirmed" for i in range(3))


def test_removing_a_subscriber_removes_their_events(setup, store):
    _, key, _, rows, applier = setup
    ann = "reader0@example.com"
    applier.apply_message(dsn(verp(rows[ann], key), ann), "a", Tally())
    subscriber = store.get_subscriber(("daily", ann))
    assert store.bounce_events(subscriber.id)
    assert store.remove_subscriber(subscriber.id)
    assert store.bounce_events(subscriber.id) == []


def test_tally_summary_line():
    tally = Tally(messages=4, bounces=2, complaints=1, other=1, hard=1, soft=1)
    tally.bounced.append("a@example.com")
    tally.unknown = 1
    assert tally.summary_line() == (
        "4 messages: 2 bounces (1 hard, 1 soft), 1 complaint, 1 other; now bounced: 1, "
        "unsubscribed for a complaint: 0; ignored: 1 about nobody we mailed"
    )


def test_require_signature_ignores_unsigned_reports(setup, store):
    _, key, _, rows, _ = setup
    applier = Applier(store, Policy(require_signature=True), key)
    tally = Tally()
    applier.apply_message(dsn(BOUNCES, "reader1@example.com"), "unsigned", tally)
    assert tally.unsigned == 1 and status_of(store, "reader1@example.com") == "confirmed"
    applier.apply_message(
        dsn(verp(rows["reader1@example.com"], key), "reader1@example.com"), "s", tally
    )
    assert status_of(store, "reader1@example.com") == "bounced"


def test_the_data_download_includes_bounces_and_complaints(setup, store):
    _, key, digest_id, rows, applier = setup
    ann = "reader0@example.com"
    applier.apply_message(dsn(verp(rows[ann], key), ann), "file a.eml", Tally())
    data = signup.subscriber_data(
        store, _link(store, DATA, store.get_subscriber(("daily", ann)).id)
    )
    (event,) = data["bounces"]
    assert event["class"] == "hard" and event["digest_id"] == digest_id
    assert event["action"] == "bounced" and event["received_at"].startswith("2026-01-05")
