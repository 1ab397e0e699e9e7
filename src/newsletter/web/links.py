"""The pages reached through signed links: confirm, unsubscribe (and RFC 8058 one-click),
resubscribe, manage and the data download.

The token in the URL is the credential, so these forms carry no CSRF token. Only a POST
changes anything or sends mail: GET and HEAD (link scanners and mail previews fetch every
URL in a message, some with HEAD) only ever show a page with a button, and OPTIONS is
answered by Flask without calling these functions.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request, url_for

from newsletter.audience import signup
from newsletter.audience.tokens import (
    CONFIRM,
    DATA,
    MANAGE,
    RESUBSCRIBE,
    UNSUBSCRIBE,
    key_for,
)
from newsletter.model import Subscriber
from newsletter.render import archive
from newsletter.web.common import (
    here,
    link_to,
    list_title,
    page,
    problem,
    read_link,
    state,
    subscriber_or_page,
)

bp = Blueprint("links", __name__)

ACTING = "POST"  # the one method that acts


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Response:
    link = read_link(CONFIRM, token)
    if isinstance(link, Response):
        return link
    web = state()
    if request.method != ACTING:
        with web.locked() as store:
            found = store.get_subscriber(link.subscriber_id)
        if found is None:
            return problem("unknown_subscriber", 404)
        if found.status == "confirmed":
            return _confirmed(found, already=True)
        if not link.names(found):
            return problem("link_used", 410)
        return page("confirm", email=found.email, action=here(), list_title=list_title(found))
    with web.locked() as store:
        outcome = signup.confirm(store, link)
    if outcome.state == signup.MISSING:
        return problem("unknown_subscriber", 404)
    if outcome.state == signup.USED:
        return problem("link_used", 410)
    if outcome.mail is not None:
        web.outbox.submit(outcome.mail)
    assert outcome.subscriber is not None
    return _confirmed(outcome.subscriber, already=outcome.state == signup.ALREADY)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Response:
    acting = request.method == ACTING
    one_click = acting and request.form.get("List-Unsubscribe") == "One-Click"
    link = read_link(UNSUBSCRIBE, token)
    if isinstance(link, Response):
        return _one_click_answer("This unsubscribe link is not valid.", 400) if one_click else link
    if not acting:
        found = subscriber_or_page(link)
        if isinstance(found, Response):
            return found
        if found.status == "unsubscribed":
            return _unsubscribed(found, already=True)
        return page("unsubscribe", email=found.email, action=here(), list_title=list_title(found))
    web = state()
    with web.locked() as store:
        outcome = signup.unsubscribe(store, link)
    if one_click:
        # RFC 8058: the mailbox provider posts without cookies and wants a plain 200
        if outcome.state == signup.MISSING:
            return _one_click_answer("This address is not subscribed.")
        return _one_click_answer("You have been unsubscribed.")
    if outcome.state == signup.MISSING:
        return problem("unknown_subscriber", 404)
    assert outcome.subscriber is not None
    return _unsubscribed(outcome.subscriber, already=outcome.state == signup.ALREADY)


@bp.post("/resubscribe/<token>")
def resubscribe(token: str) -> Response:
    link = read_link(RESUBSCRIBE, token)
    if isinstance(link, Response):
        return link
    with state().locked() as store:
        outcome = signup.resubscribe(store, link)
    if outcome.state == signup.MISSING:
        return problem("unknown_subscriber", 404)
    if outcome.state == signup.NEEDS_OPTIN:
        return problem("needs_optin", 409)
    assert outcome.subscriber is not None
    return page(
        "resubscribed",
        email=outcome.subscriber.email,
        list_title=list_title(outcome.subscriber),
        unsubscribe_action=_action(UNSUBSCRIBE, "links.unsubscribe", outcome.subscriber),
    )


@bp.route("/manage/<token>", methods=["GET", "POST"])
def manage(token: str) -> Response:
    link = read_link(MANAGE, token)
    if isinstance(link, Response):
        return link
    web = state()
    notice = ""
    undo = ""
    found = subscriber_or_page(link)
    if isinstance(found, Response):
        return found
    if request.method == ACTING:
        action = request.form.get("action", "")
        with web.locked() as store:
            if action == "unsubscribe":
                outcome = signup.unsubscribe(store, link)
                notice = "unsubscribed"
            elif action == "subscribe_again":
                outcome = signup.request_optin(store, link)
                notice = _mail_notice(outcome, "optin_sent")
            else:
                return problem("bad_request", 400)
        if outcome.mail is not None:
            web.outbox.submit(outcome.mail)
        if outcome.subscriber is None:  # removed since the lookup above
            return problem("unknown_subscriber", 404)
        found = outcome.subscriber
        if outcome.state == signup.CHANGED:
            undo = _undo_action(found)
    return page(
        "manage",
        subscriber=found,
        notice=notice,
        action=here(),
        data_action=url_for("links.manage_data", token=token),
        resubscribe_action=undo,
        list_title=list_title(found),
    )


@bp.post("/manage/<token>/data", endpoint="manage_data")
def manage_data(token: str) -> Response:
    """Mail a download link to the address: a forwarded manage link must not hand out
    someone's data, their mailbox is what proves it is them."""
    link = read_link(MANAGE, token)
    if isinstance(link, Response):
        return link
    web = state()
    with web.locked() as store:
        outcome = signup.request_data_link(store, link)
    if outcome.subscriber is None:
        return problem("unknown_subscriber", 404)
    if outcome.mail is not None:
        web.outbox.submit(outcome.mail)
    return page(
        "manage",
        subscriber=outcome.subscriber,
        notice=_mail_notice(outcome, "data_sent"),
        action=here().removesuffix("/data"),
        data_action=here(),
        resubscribe_action="",
        list_title=list_title(outcome.subscriber),
    )


@bp.route("/data/<token>", methods=["GET", "POST"])
def data(token: str) -> Response:
    """GET: a page with a download button (the link came by mail); POST: the JSON file."""
    link = read_link(DATA, token)
    if isinstance(link, Response):
        return link
    if request.method != ACTING:
        found = subscriber_or_page(link)
        if isinstance(found, Response):
            return found
        return page("data", email=found.email, action=here(), list_title=list_title(found))
    with state().locked() as store:
        stored = signup.subscriber_data(store, link)
    if stored is None:
        return problem("unknown_subscriber", 404)
    body = json.dumps(stored, indent=2, ensure_ascii=False) + "\n"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-subscription.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _mail_notice(outcome: signup.Outcome, sent: str) -> str:
    """What the manage page says after a request for mail: `sent`, or "wait" when the
    address had a message from us minutes ago (the throttle), or nothing."""
    if outcome.state != signup.SENT:
        return ""
    return sent if outcome.mail is not None else "wait"


def _action(purpose: str, endpoint: str, subscriber: Subscriber) -> str:
    """The path of a freshly signed `purpose` link of this subscriber (a form action)."""
    token = state().tokens.make(purpose, subscriber.id, key_for(purpose, subscriber))
    return url_for(endpoint, token=token)


def _undo_action(subscriber: Subscriber) -> str:
    """The "unsubscribed by mistake?" form action: a resubscribe link made now, handed out
    only on the page answering the unsubscribe (see signup.resubscribe)."""
    if not signup.can_undo(subscriber):
        return ""
    return _action(RESUBSCRIBE, "links.resubscribe", subscriber)


def _confirmed(subscriber: Subscriber, already: bool) -> Response:
    return page(
        "confirmed",
        email=subscriber.email,
        already=already,
        list_title=list_title(subscriber),
        latest_url=_latest_path(subscriber.list_name),
    )


def _unsubscribed(subscriber: Subscriber, already: bool) -> Response:
    return page(
        "unsubscribed",
        email=subscriber.email,
        already=already,
        list_title=list_title(subscriber),
        resubscribe_action="" if already else _undo_action(subscriber),
    )


def _latest_path(list_name: str) -> str:
    stamp = archive.latest_stamp(state().config, list_name)
    if stamp is None:
        return link_to("site.archive_index")
    return link_to("site.archive_copy", list_name=list_name, stamp=stamp)


def _one_click_answer(text: str, status: int = 200) -> Response:
    response = Response(text + "\n", status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response
