"""Bounce and complaint webhooks of email providers, a Blueprint under /webhooks/.

    POST /webhooks/ses        Amazon SES events through an SNS topic (HTTPS subscription)
    POST /webhooks/mailgun    Mailgun webhooks (failed, complained), JSON
    POST /webhooks/postmark   Postmark bounce and spam-complaint webhooks, basic auth
    POST /webhooks/sendgrid   SendGrid signed event webhook

Each endpoint is off (404) until configured: `[webhooks] ses_topics` for SES, the
NEWSLETTER_MAILGUN_SIGNING_KEY, NEWSLETTER_POSTMARK_PASSWORD and
NEWSLETTER_SENDGRID_PUBLIC_KEY environment variables for the others. A request whose
signature or credentials do not check out gets 401/403 and changes nothing; a checked one
is applied like a bounce from the mailbox (see `newsletter.bounces.apply`) and answered
200. Replays and retries are harmless: each provider event id is recorded once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request

from newsletter.bounces.apply import Applier, Policy, Tally
from newsletter.bounces.providers import (
    Pair,
    mailgun_events,
    postmark_events,
    sendgrid_events,
    ses_events,
)
from newsletter.bounces.verp import key_from_secret
from newsletter.web.common import WebState
from newsletter.web.signatures import (
    SignatureError,
    SnsFetcher,
    check_basic_auth,
    sendgrid_key,
    verify_mailgun,
    verify_sendgrid,
    verify_sns,
)

logger = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")

FETCHER = "newsletter.webhooks.sns"  # app.extensions key of the SnsFetcher in use
MAX_BODY = 1 << 20  # SNS messages are at most 256 KB; SendGrid batches stay well below 1 MB


@blueprint.before_request
def _limits() -> None:
    request.max_content_length = MAX_BODY  # the app's limit is sized for forms


def _state() -> WebState:
    return current_app.extensions["newsletter"]


def _text(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers.update(headers or {})
    return response


def _refuse(provider: str, error: SignatureError, status: int = 403) -> Response:
    logger.warning("webhook %s refused from %s: %s", provider, request.remote_addr, error)
    headers = {"WWW-Authenticate": 'Basic realm="webhooks"'} if status == 401 else None
    return _text(f"refused: {error}", status, headers)


def _json_body() -> Any:
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def _apply(provider: str, pairs: list[Pair]) -> Response:
    state = _state()
    config = state.config
    tally = Tally()
    # the provider's signature authenticates the event: its address may decide the match
    policy = dataclasses.replace(Policy.from_config(config.bounces), require_signature=False)
    with state.locked() as store:
        applier = Applier(store, policy, key_from_secret(config.secret_key))
        for key, report in pairs:
            applier.apply_report(report, key, f"webhook {provider}", tally)
    if tally.messages:
        logger.info("webhook %s: %s", provider, tally.summary_line())
    return Response(json.dumps(tally.to_dict()), status=200, mimetype="application/json")


def _off() -> Response:
    return _text("this webhook is not configured", 404)


@blueprint.post("/ses")
def ses() -> Response:
    topics = _state().config.webhooks.ses_topics
    if not topics:
        return _off()
    message = _json_body()
    if not isinstance(message, dict):
        return _text("expected an SNS message (JSON)", 400)
    fetcher = current_app.extensions.get(FETCHER)
    if fetcher is None:
        fetcher = current_app.extensions.setdefault(FETCHER, SnsFetcher())
    try:
        # the topic first: a message for another topic costs no certificate fetch
        if message.get("TopicArn") not in topics:
            raise SignatureError(f"topic {message.get('TopicArn')!r} is not in webhooks.ses_topics")
        verify_sns(message, fetcher)
    except SignatureError as e:
        return _refuse("ses", e)
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        try:
            fetcher.visit(str(message.get("SubscribeURL") or ""))
        except SignatureError as e:
            logger.warning("SNS subscription to %s not confirmed: %s", message["TopicArn"], e)
            return _text(f"could not confirm: {e}", 502)
        logger.info("confirmed the SNS subscription to %s", message["TopicArn"])
        return _text("subscription confirmed", 200)
    if kind != "Notification":
        return _text("ok", 200)
    try:
        notification = json.loads(message["Message"])
    except (ValueError, RecursionError):
        return _text("the SNS Message is not SES JSON", 400)
    return _apply("ses", ses_events(str(message.get("MessageId") or ""), notification))


@blueprint.post("/mailgun")
def mailgun() -> Response:
    state = _state()
    key = state.config.webhook_secrets.mailgun_signing_key
    if not key:
        return _off()
    body = _json_body()
    if not isinstance(body, dict):
        return _text("expected Mailgun's JSON webhook", 400)
    raw = body.get("signature")
    signature: dict[str, Any] = raw if isinstance(raw, dict) else {}
    try:
        verify_mailgun(
            key,
            str(signature.get("timestamp") or ""),
            signature.get("token") or "",
            signature.get("signature") or "",
            state.clock(),
            state.config.webhooks.max_age,
        )
    except SignatureError as e:
        return _refuse("mailgun", e)
    return _apply("mailgun", mailgun_events(body.get("event-data")))


@blueprint.post("/postmark")
def postmark() -> Response:
    config = _state().config
    password = config.webhook_secrets.postmark_password
    if not password:
        return _off()
    try:
        check_basic_auth(
            request.headers.get("Authorization"), config.webhooks.postmark_user, password
        )
    except SignatureError as e:
        return _refuse("postmark", e, 401)
    body = _json_body()
    if not isinstance(body, dict):
        return _text("expected Postmark's JSON webhook", 400)
    return _apply("postmark", postmark_events(body))


@blueprint.post("/sendgrid")
def sendgrid() -> Response:
    state = _state()
    text = state.config.webhook_secrets.sendgrid_public_key
    if not text:
        return _off()
    try:
        key = sendgrid_key(text)
    except ValueError as e:
        logger.error("NEWSLETTER_SENDGRID_PUBLIC_KEY is not usable: %s", e)
        return _text("the verification key is misconfigured", 500)
    try:
        verify_sendgrid(
            key,
            request.headers.get("X-Twilio-Email-Event-Webhook-Signature", ""),
            request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", ""),
            request.get_data(cache=True),
            state.clock(),
            state.config.webhooks.max_age,
        )
    except SignatureError as e:
        return _refuse("sendgrid", e)
    events = _json_body()
    if not isinstance(events, list):
        return _text("expected SendGrid's JSON array of events", 400)
    return _apply("sendgrid", sendgrid_events(events))
