"""Provider webhooks: SES through SNS (signatures checked against a certificate served by a
loopback HTTPS stand-in, subscription confirmation), Mailgun (HMAC), Postmark (basic auth)
and SendGrid (ECDSA). Anything not signed as it should be is refused and changes nothing."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from support.bounce_mail import bounce_config, key_of, sent_digest, verp
from support.sns import SnsStandIn
from support.web import client

from newsletter.config import WebhooksConfig, WebhookSecrets
from newsletter.web import webhooks
from newsletter.web.app import create_app
from newsletter.web.signatures import SignatureError, SnsFetcher

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"
MAILGUN_KEY = "key-mailgun-signing-0123456789"
POSTMARK = ("postmark", "a long webhook password")
ANN, BEN, CAT = (f"reader{i}@example.com" for i in range(3))


@pytest.fixture(scope="module")
def sns():
    with SnsStandIn() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def sendgrid_private():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def app(tmp_path, store, clock, sns, sendgrid_private):
    public = sendgrid_private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    config = dataclasses.replace(
        bounce_config(tmp_path),
        webhooks=WebhooksConfig(ses_topics=(TOPIC,), postmark_user=POSTMARK[0]),
        webhook_secrets=WebhookSecrets(
            mailgun_signing_key=MAILGUN_KEY,
            postmark_password=POSTMARK[1],
            sendgrid_public_key=base64.b64encode(public).decode(),
        ),
    )
    app = create_app(config, store=store, clock=clock)
    app.extensions[webhooks.FETCHER] = sns.fetcher()
    app.config["rows"] = sent_digest(store, tmp_path)[1]
    app.config["key"] = key_of(config)
    return app


def status(store, email: str) -> str:
    return store.get_subscriber(("daily", email)).status


def untouched(store) -> bool:
    people = [store.get_subscriber(("daily", e)) for e in (ANN, BEN, CAT)]
    return all(p.status == "confirmed" and not store.bounce_events(p.id) for p in people)


def ses_bounce(source: str, email: str, kind="Permanent", code="5.1.1") -> dict:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bouncedRecipients": [
                {"emailAddress": email, "status": code, "diagnosticCode": f"smtp; 550 {code} x"}
            ],
        },
        "mail": {"source": source, "messageId": "0100abc"},
    }


# --- Amazon SES via SNS --------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_bounce_signed_by_sns_is_applied(app, store, sns, version):
    source = verp(app.config["rows"][ANN], app.config["key"])
    message = sns.notification(TOPIC, ses_bounce(source, ANN), version)
    answer = client(app).post("/webhooks/ses", data=json.dumps(message))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["bounced"] == [ANN]
    assert status(store, ANN) == "bounced"
    (event,) = store.bounce_events(store.get_subscriber(("daily", ANN)).id)
    assert (event.matched, event.source, event.severity) == ("signed", "webhook ses", "hard")
    # SNS retries (and replays) are the same MessageId: recorded once
    again = client(app).post("/webhooks/ses", data=json.dumps(message))
    assert again.status_code == 200 and again.json["repeated"] == 1


def test_ses_complaint_by_address(app, store, sns):
    complaint = {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": CAT}]},
        "mail": {"source": "digest@news.example.org"},
    }
    answer = client(app).post("/webhooks/ses", data=json.dumps(sns.notification(TOPIC, complaint)))
    assert answer.status_code == 200
    assert status(store, CAT) == "unsubscribed"


def test_ses_refuses_what_sns_did_not_sign(app, store, sns):
    good = sns.notification(TOPIC, ses_bounce("x@news.example.org", ANN))
    tampered = {**good, "Message": json.dumps(ses_bounce("x@news.example.org", BEN))}
    unsigned = {k: v for k, v in good.items() if k != "Signature"}
    elsewhere = {**good, "TopicArn": "arn:aws:sns:eu-west-1:666:someone-elses"}
    other_topic = sns.notification("arn:aws:sns:eu-west-1:666:attacker", ses_bounce("x@y", ANN))
    for message in (tampered, unsigned, elsewhere, other_topic):
        answer = client(app).post("/webhooks/ses", data=json.dumps(message))
        assert answer.status_code == 403, message
    fresh = app.extensions[webhooks.FETCHER] = sns.fetcher()  # nothing cached
    assert client(app).post("/webhooks/ses", data=json.dumps(other_topic)).status_code == 403
    assert fresh.fetches == 0  # another topic: refused before any certificate fetch
    assert client(app).post("/webhooks/ses", data="not json").status_code == 400
    deep = "[" * 100_000 + "]" * 100_000
    for provider in ("ses", "mailgun", "postmark"):
        headers = basic(*POSTMARK) if provider == "postmark" else {}
        answer = client(app).post(f"/webhooks/{provider}", data=deep, headers=headers)
        assert answer.status_code == 400
    assert untouched(store)


def test_ses_certificate_urls_off_amazon_are_never_fetched(app, store, sns):
    before = len(sns.hits)
    message = sns.notification(TOPIC, ses_bounce("x@news.example.org", ANN))
    for url in (
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem",
    ):
        answer = client(app).post(
            "/webhooks/ses", data=json.dumps({**message, "SigningCertURL": url})
        )
        assert answer.status_code == 403
    # the production fetcher refuses the stand-in's loopback URL before connecting
    app.extensions[webhooks.FETCHER] = SnsFetcher()
    assert client(app).post("/webhooks/ses", data=json.dumps(message)).status_code == 403
    assert len(sns.hits) == before
    assert untouched(store)


def test_production_fetcher_accepts_only_sns_hosts():
    fetcher = SnsFetcher()
    assert fetcher.check_url("https://sns.us-east-1.amazonaws.com/S.pem", "u")
    assert fetcher.check_url("https://sns.cn-north-1.amazonaws.com.cn/S.pem", "u")
    for bad in (
        "https://sns.us-east-1.amazonaws.com:8443/S.pem",
        "https://user@sns.us-east-1.amazonaws.com/S.pem",
        "https://127.0.0.1/S.pem",
        "https://s3.amazonaws.com/S.pem",
    ):
        with pytest.raises(SignatureError):
            fetcher.check_url(bad, "u")
    assert fetcher.fetches == 0


def test_subscription_confirmation_is_visited_only_when_signed(app, store, sns):
    subscription = sns.subscription(TOPIC)
    token = re.search(r"Token=(\w+)", subscription["SubscribeURL"]).group(1)
    forged = {**sns.subscription(TOPIC), "Token": "changed"}
    assert client(app).post("/webhooks/ses", data=json.dumps(forged)).status_code == 403
    assert not any("changed" in hit for hit in sns.hits)
    answer = client(app).post("/webhooks/ses", data=json.dumps(subscription))
    assert answer.status_code == 200
    assert [h for h in sns.hits if token in h] == [f"/?Action=ConfirmSubscription&Token={token}"]


def test_ses_is_off_without_topics(app, tmp_path, store, clock, sns):
    config = dataclasses.replace(bounce_config(tmp_path), webhooks=WebhooksConfig())
    bare = create_app(config, store=store, clock=clock)
    message = sns.notification(TOPIC, ses_bounce("x@y", ANN))
    assert client(bare).post("/webhooks/ses", data=json.dumps(message)).status_code == 404
    for provider in ("mailgun", "postmark", "sendgrid"):
        assert client(bare).post(f"/webhooks/{provider}", data="{}").status_code == 404


# --- Mailgun -----------------------------------------------------------------------------


def mailgun_body(clock, event: dict, key: str = MAILGUN_KEY, age: float = 0) -> str:
    timestamp = str(int((clock() - timedelta(seconds=age)).timestamp()))
    token = "f" * 50
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": event,
        }
    )


def mailgun_failed(recipient: str, severity: str, sender: str = "", n: int = 1) -> dict:
    return {
        "event": "failed",
        "id": f"mg-{recipient}-{severity}-{n}",
        "severity": severity,
        "reason": "bounce" if severity == "permanent" else "generic",
        "recipient": recipient,
        "envelope": {"sender": sender},
        "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"},
    }


def test_mailgun_signed_events(app, store, clock):
    sender = verp(app.config["rows"][BEN], app.config["key"])
    delay = mailgun_failed(BEN, "temporary", sender)
    answer = client(app).post("/webhooks/mailgun", data=mailgun_body(clock, delay))
    assert answer.status_code == 200 and answer.json["events"]["delay"] == 1
    assert status(store, BEN) == "confirmed"
    failed = mailgun_failed(BEN, "permanent", sender)
    assert (
        client(app).post("/webhooks/mailgun", data=mailgun_body(clock, failed)).status_code == 200
    )
    assert status(store, BEN) == "bounced"
    complaint = {"event": "complained", "id": "mg-c", "recipient": CAT}
    assert (
        client(app).post("/webhooks/mailgun", data=mailgun_body(clock, complaint)).status_code
        == 200
    )
    assert status(store, CAT) == "unsubscribed"


def test_mailgun_refuses_bad_and_stale_signatures(app, store, clock):
    event = mailgun_failed(ANN, "permanent")
    for body in (
        mailgun_body(clock, event, key="not the key"),
        mailgun_body(clock, event, age=3600),  # an old request, replayed
        json.dumps({"event-data": event}),
    ):
        assert client(app).post("/webhooks/mailgun", data=body).status_code == 403
    assert untouched(store)


# --- Postmark ---------------------------------------------------------------------------


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_postmark_with_credentials(app, store):
    bounce = {
        "RecordType": "Bounce",
        "ID": 42,
        "Type": "HardBounce",
        "Email": ANN,
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
    }
    transient = {"RecordType": "Bounce", "ID": 43, "Type": "Transient", "Email": BEN}
    complaint = {"RecordType": "SpamComplaint", "ID": 44, "Type": "SpamComplaint", "Email": CAT}
    for payload in (bounce, transient, complaint):
        answer = client(app).post("/webhooks/postmark", json=payload, headers=basic(*POSTMARK))
        assert answer.status_code == 200
    assert [status(store, e) for e in (ANN, BEN, CAT)] == ["bounced", "confirmed", "unsubscribed"]


def test_postmark_refuses_wrong_or_missing_credentials(app, store):
    bounce = {"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "Email": ANN}
    for headers in ({}, basic(POSTMARK[0], "wrong"), basic("someone", POSTMARK[1])):
        answer = client(app).post("/webhooks/postmark", json=bounce, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert untouched(store)


# --- SendGrid ---------------------------------------------------------------------------


def sendgrid_post(app, clock, private, events, age: float = 0, body: bytes | None = None):
    raw = json.dumps(events).encode()
    timestamp = str(int((clock() - timedelta(seconds=age)).timestamp()))
    signature = private.sign(timestamp.encode() + raw, ec.ECDSA(hashes.SHA256()))
    return client(app).post(
        "/webhooks/sendgrid",
        data=raw if body is None else body,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            "Content-Type": "application/json",
        },
    )


SENDGRID_EVENTS = [
    {
        "email": ANN,
        "event": "bounce",
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 user unknown",
        "sg_event_id": "sg-1",
    },
    {"email": BEN, "event": "deferred", "response": "451 try later", "sg_event_id": "sg-2"},
    {"email": CAT, "event": "spamreport", "sg_event_id": "sg-3"},
    {"email": CAT, "event": "open", "sg_event_id": "sg-4"},
]


def test_sendgrid_signed_batch(app, store, clock, sendgrid_private):
    answer = sendgrid_post(app, clock, sendgrid_private, SENDGRID_EVENTS)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["events"] == {"hard": 1, "soft": 0, "delay": 1, "complaint": 1}
    assert [status(store, e) for e in (ANN, BEN, CAT)] == ["bounced", "confirmed", "unsubscribed"]


def test_sendgrid_refuses_tampered_stale_and_foreign_signatures(
    app, store, clock, sendgrid_private
):
    tampered = json.dumps(SENDGRID_EVENTS[:1] + [{"email": BEN, "event": "spamreport"}]).encode()
    assert (
        sendgrid_post(app, clock, sendgrid_private, SENDGRID_EVENTS, body=tampered).status_code
        == 403
    )
    assert sendgrid_post(app, clock, sendgrid_private, SENDGRID_EVENTS, age=3600).status_code == 403
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert sendgrid_post(app, clock, stranger, SENDGRID_EVENTS).status_code == 403
    unsigned = client(app).post("/webhooks/sendgrid", json=SENDGRID_EVENTS)
    assert unsigned.status_code == 403
    assert untouched(store)


def test_webhook_events_match_by_address_even_when_mail_needs_a_signature(app, store):
    config = app.extensions["newsletter"].config
    strict = dataclasses.replace(
        config, bounces=dataclasses.replace(config.bounces, require_signature=True)
    )
    app.extensions["newsletter"].config = strict
    bounce = {"RecordType": "Bounce", "ID": 7, "Type": "HardBounce", "Email": ANN}
    answer = client(app).post("/webhooks/postmark", json=bounce, headers=basic(*POSTMARK))
    assert answer.status_code == 200 and answer.json["unsigned"] == 0
    assert status(store, ANN) == "bounced"
