"""`bounces process` against a real Dovecot (IMAP and POP3, TLS and STARTTLS): reports are
applied, processed messages are flagged or moved and never deleted unless configured, mail
from people is never deleted, unreadable messages are kept and reported, and a second run
does nothing new."""

from __future__ import annotations

import dataclasses

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

from newsletter.bounces.mailbox import KEYWORD, MailboxError, MailboxUrl, Pop3Mailbox
from newsletter.bounces.process import process_mailbox
from newsletter.errors import ConfigError
from newsletter.store import Store

HUMAN = b"From: ann@example.com\r\nTo: bounces@news.example.org\r\nSubject: why?\r\n\r\nHi!\r\n"
PROCESSED = {"\\Seen", KEYWORD}


def mailbox_config(tmp_path, box, scheme="imaps", **bounces):
    port = {
        "imaps": box.imaps_port,
        "imap": box.imap_port,
        "pop3s": box.pop3s_port,
        "pop3": box.pop3_port,
    }[scheme]
    folder = "/INBOX" if scheme.startswith("imap") else ""
    config = bounce_config(
        tmp_path,
        mailbox=f"{scheme}://{box.user}@{box.host}:{port}{folder}",
        ca_file=str(box.cafile),
        **bounces,
    )
    return dataclasses.replace(config, bounces_password=box.password)


def fill(box, key, rows) -> None:
    """A hard bounce, a soft bounce, a complaint, an auto-reply and a person's mail."""
    ann, ben, cat = (f"reader{i}@example.com" for i in range(3))
    box.deliver(dsn(verp(rows[ann], key), ann))
    box.deliver(dsn(verp(rows[ben], key), ben, "4.2.2", diagnostic="smtp; 452 4.2.2 full"))
    copy = (
        f"From: digest@news.example.org\r\nTo: {cat}\r\nSubject: x\r\n"
        f"X-Newsletter-Delivery: {verp(rows[cat], key).split('+')[1].split('@')[0]}\r\n\r\nhi\r\n"
    ).encode()
    box.deliver(arf("fbl@news.example.org", cat, copy))
    box.deliver(auto_reply(BOUNCES))
    box.deliver(HUMAN)


def statuses(store: Store) -> list[str]:
    return [store.get_subscriber(("daily", f"reader{i}@example.com")).status for i in range(3)]


def test_imaps_flags_processed_messages_and_a_second_run_does_nothing(
    tmp_path, store, dovecot_mailbox
):
    _, rows = sent_digest(store, tmp_path)
    config = mailbox_config(tmp_path, dovecot_mailbox)
    fill(dovecot_mailbox, key_of(config), rows)

    tally = process_mailbox(config, store)
    assert (tally.messages, tally.bounces, tally.complaints) == (5, 2, 1)
    assert (tally.auto_replies, tally.other, tally.hard, tally.soft) == (1, 1, 1, 1)
    assert statuses(store) == ["bounced", "confirmed", "unsubscribed"]
    kept = dovecot_mailbox.messages("INBOX")
    assert len(kept) == 5
    assert all(PROCESSED <= m.flags and not m.deleted for m in kept)
    sources = {e.source for e in store.bounce_events(1)}
    assert sources == {f"mailbox {MailboxUrl.parse(config.bounces.mailbox)}"}

    again = process_mailbox(config, store)
    assert again.messages == 0 and again.changed == 0
    assert len(store.bounce_events(2)) == 1


def test_a_new_report_after_a_run_is_picked_up(tmp_path, store, dovecot_mailbox):
    _, rows = sent_digest(store, tmp_path)
    config = mailbox_config(tmp_path, dovecot_mailbox)
    key = key_of(config)
    dovecot_mailbox.deliver(HUMAN)
    assert process_mailbox(config, store).messages == 1
    dovecot_mailbox.deliver(dsn(verp(rows["reader0@example.com"], key), "reader0@example.com"))
    tally = process_mailbox(config, store)
    assert tally.messages == 1 and tally.bounced == ["reader0@example.com"]


def test_imap_starttls_moves_processed_messages_to_a_folder(tmp_path, store, dovecot_mailbox):
    _, rows = sent_digest(store, tmp_path)
    config = mailbox_config(tmp_path, dovecot_mailbox, "imap", move_to="Processed/Bounces")
    fill(dovecot_mailbox, key_of(config), rows)
    tally = process_mailbox(config, store)
    assert tally.messages == 5
    assert statuses(store) == ["bounced", "confirmed", "unsubscribed"]
    assert dovecot_mailbox.messages("INBOX") == []
    moved = dovecot_mailbox.messages("Processed/Bounces")
    assert len(moved) == 5 and all(PROCESSED <= m.flags for m in moved)
    assert process_mailbox(config, store).messages == 0


def test_delete_processed_deletes_reports_but_never_a_persons_mail(
    tmp_path, store, dovecot_mailbox
):
    _, rows = sent_digest(store, tmp_path)
    config = mailbox_config(tmp_path, dovecot_mailbox, delete_processed=True)
    fill(dovecot_mailbox, key_of(config), rows)
    assert process_mailbox(config, store).messages == 5
    (left,) = dovecot_mailbox.messages("INBOX")
    assert left.data.replace(b"\n", b"\r\n") == HUMAN and PROCESSED <= left.flags
    assert process_mailbox(config, store).messages == 0


@pytest.mark.parametrize("scheme", ["pop3s", "pop3"])
def test_pop3_remembers_processed_messages_by_uidl(tmp_path, store, dovecot_mailbox, scheme):
    _, rows = sent_digest(store, tmp_path)
    config = mailbox_config(tmp_path, dovecot_mailbox, scheme)
    fill(dovecot_mailbox, key_of(config), rows)
    tally = process_mailbox(config, store)
    assert (tally.messages, tally.bounces, tally.complaints) == (5, 2, 1)
    assert statuses(store) == ["bounced", "confirmed", "unsubscribed"]
    assert len(dovecot_mailbox.messages("INBOX")) == 5  # nothing deleted
    name = str(MailboxUrl.parse(config.bounces.mailbox))
    assert len(store.seen_mailbox_uids(name)) == 5
    assert process_mailbox(config, store).messages == 0


def test_pop3_delete_processed_keeps_a_persons_mail(tmp_path, store, dovecot_mailbox):
    _, rows = sent_digest(store, tmp_path)
    config = mailbox_config(tmp_path, dovecot_mailbox, "pop3s", delete_processed=True)
    fill(dovecot_mailbox, key_of(config), rows)
    assert process_mailbox(config, store).messages == 5
    (left,) = dovecot_mailbox.messages("INBOX")
    assert b"Subject: why?" in left.data
    assert process_mailbox(config, store).messages == 0


def test_a_message_it_cannot_read_is_kept_and_reported_each_run(
    tmp_path, store, dovecot_mailbox, monkeypatch
):
    _, rows = sent_digest(store, tmp_path)
    config = mailbox_config(tmp_path, dovecot_mailbox, "pop3s", delete_processed=True)
    key = key_of(config)
    big = dsn(verp(rows["reader1@example.com"], key), "reader1@example.com")
    big += b"x" * 5000 + b"\r\n"
    dovecot_mailbox.deliver(big)
    dovecot_mailbox.deliver(dsn(verp(rows["reader0@example.com"], key), "reader0@example.com"))
    monkeypatch.setattr(Pop3Mailbox, "max_size", 4000)  # the big one is over the limit
    for _ in range(2):
        tally = process_mailbox(config, store)
        assert len(tally.unreadable) == 1
        name, why = tally.unreadable[0]
        assert "too big" in why and name.endswith(" uid " + name.rsplit(" ", 1)[1])
    (left,) = dovecot_mailbox.messages("INBOX")
    assert len(left.data) > 4000
    assert statuses(store)[:2] == ["bounced", "confirmed"]


def test_wrong_password_and_untrusted_certificate_are_clear_errors(
    tmp_path, store, dovecot_mailbox
):
    config = mailbox_config(tmp_path, dovecot_mailbox)
    wrong = dataclasses.replace(config, bounces_password="not-it")
    with pytest.raises(MailboxError, match="NEWSLETTER_BOUNCES_PASSWORD"):
        process_mailbox(wrong, store)
    untrusted = dataclasses.replace(config, bounces=dataclasses.replace(config.bounces, ca_file=""))
    with pytest.raises(MailboxError, match="ca_file"):
        process_mailbox(untrusted, store)
    missing = dataclasses.replace(config, bounces_password="")
    with pytest.raises(ConfigError, match="NEWSLETTER_BOUNCES_PASSWORD"):
        process_mailbox(missing, store)
    nowhere = dataclasses.replace(config, bounces=dataclasses.replace(config.bounces, mailbox=""))
    with pytest.raises(ConfigError, match=r"\[bounces\] mailbox"):
        process_mailbox(nowhere, store)


def test_mailbox_urls():
    url = MailboxUrl.parse("imaps://bounces%40news.example.org@mail.example.org/Bounces/2026")
    assert (url.user, url.host, url.port, url.folder) == (
        "bounces@news.example.org",
        "mail.example.org",
        993,
        "Bounces/2026",
    )
    assert MailboxUrl.parse("pop3://u@h").port == 110
    assert MailboxUrl.parse("imap://u@h:1143").folder == "INBOX"
    for bad, why in [
        ("imaps://u:secret@h/INBOX", "password"),
        ("imaps://h/INBOX", "user and a host"),
        ("pop3s://u@h/INBOX", "no folders"),
        ("https://u@h/", "imaps://"),
        ("imaps://u@h:99999/", "port"),
        ("imaps://u@h/INBOX%0D%0AA1%20LOGOUT", "control characters"),
        ("pop3s://u%0D%0AQUIT@h", "control characters"),
    ]:
        with pytest.raises(ConfigError, match=why):
            MailboxUrl.parse(bad)
