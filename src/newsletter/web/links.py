"""The pages reached through signed links: confirm, unsubscribe (and RFC 8058 one-click),
resubscribe, manage and the data download.

The token in the URL is the credential, so these forms carry no CSRF token: a GET only
ever shows a page with a button (link scanners follow every URL in a message), a POST acts.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request, url_for

from newsletter.audience import signup
from newsletter.audience.tokens import CONFIRM, MANAGE, UNSUBSCRIBE
from newsletter.model import Subscriber
from newsletter.render import archive
from newsletter.web.common import (
    WebState,
    list_title,
    page,
    problem,
    read_token,
    subscriber_or_page,
)


def add_link_pages(app: Flask, state: WebState) -> None:
    """/confirm/<t>, /unsubscribe/<t>, /resubscribe/<t>, /manage/<t> and its data."""

    @app.route("/confirm/<token>", methods=["GET", "POST"])
    def confirm(token: str) -> Response:
        sid = read_token(state, CONFIRM, token)
        if isinstance(sid, Response):
            return sid
        if request.method == "GET":
            # Link scanners fetch every URL in a message: a GET only shows the button.
            found = subscriber_or_page(state, sid)
            if isinstance(found, Response):
                return found
            if found.status == "confirmed":
                return _confirmed(state, found, already=True)
            if found.status != "pending":
                return problem(state, "link_used", 410)
            return page(
                state,
                "confirm",
                email=found.email,
                action=request.path,
                list_title=list_title(state, found),
            )
        with state.locked() as store:
            outcome = signup.confirm(store, sid)
        if outcome.state == signup.MISSING:
            return problem(state, "unknown_subscriber", 404)
        if outcome.state == signup.USED:
            return problem(state, "link_used", 410)
        if outcome.mail is not None:
            state.outbox.submit(outcome.mail)
        assert outcome.subscriber is not None
        return _confirmed(state, outcome.subscriber, already=outcome.state == signup.ALREADY)

    @app.route("/unsubscribe/<token>", methods=["GET", "POST"])
    def unsubscribe(token: str) -> Response:
        one_click = request.method == "POST" and (
            request.form.get("List-Unsubscribe") == "One-Click"
        )
        sid = read_token(state, UNSUBSCRIBE, token)
        if isinstance(sid, Response):
            return (
                _one_click_answer("This unsubscribe link is not valid.", 400) if one_click else sid
            )
        if request.method == "GET":
            found = subscriber_or_page(state, sid)
            if isinstance(found, Response):
                return found
            if found.status == "unsubscribed":
                return _unsubscribed(state, found, token, already=True)
            return page(
                state,
                "unsubscribe",
                email=found.email,
                action=request.path,
                list_title=list_title(state, found),
            )
        with state.locked() as store:
            outcome = signup.unsubscribe(store, sid)
        if one_click:
            # RFC 8058: the mailbox provider posts without cookies and wants a plain 200
            if outcome.state == signup.MISSING:
                return _one_click_answer("This address is not subscribed.")
            return _one_click_answer("You have been unsubscribed.")
        if outcome.state == signup.MISSING:
            return problem(state, "unknown_subscriber", 404)
        assert outcome.subscriber is not None
        return _unsubscribed(
            state, outcome.subscriber, token, already=outcome.state == signup.ALREADY
        )

    @app.post("/resubscribe/<token>")
    def resubscribe(token: str) -> Response:
        sid = read_token(state, UNSUBSCRIBE, token)
        if isinstance(sid, Response):
            return sid
        with state.locked() as store:
            outcome = signup.resubscribe(store, sid)
        if outcome.state == signup.MISSING:
            return problem(state, "unknown_subscriber", 404)
        if outcome.state == signup.NEEDS_OPTIN:
            return problem(state, "needs_optin", 409)
        assert outcome.subscriber is not None
        return page(
            state,
            "resubscribed",
            email=outcome.subscriber.email,
            list_title=list_title(state, outcome.subscriber),
            unsubscribe_action=url_for("unsubscribe", token=token),
        )

    @app.route("/manage/<token>", methods=["GET", "POST"])
    def manage(token: str) -> Response:
        sid = read_token(state, MANAGE, token)
        if isinstance(sid, Response):
            return sid
        notice = ""
        if request.method == "POST":
            action = request.form.get("action", "")
            with state.locked() as store:
                if action == "unsubscribe":
                    outcome = signup.unsubscribe(store, sid)
                    notice = "unsubscribed"
                elif action == "resubscribe":
                    outcome = signup.resubscribe(store, sid)
                    notice = (
                        "needs_optin" if outcome.state == signup.NEEDS_OPTIN else "resubscribed"
                    )
                else:
                    return problem(state, "bad_request", 400)
        found = subscriber_or_page(state, sid)
        if isinstance(found, Response):
            return found
        return page(
            state,
            "manage",
            subscriber=found,
            notice=notice,
            action=request.path,
            data_action=url_for("manage_data", token=token),
            can_resubscribe=signup.can_resubscribe(found),
            list_title=list_title(state, found),
        )

    @app.post("/manage/<token>/data", endpoint="manage_data")
    def manage_data(token: str) -> Response:
        sid = read_token(state, MANAGE, token)
        if isinstance(sid, Response):
            return sid
        with state.locked() as store:
            data = signup.subscriber_data(store, sid)
        if data is None:
            return problem(state, "unknown_subscriber", 404)
        body = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        response = Response(body, mimetype="application/json")
        response.headers["Content-Disposition"] = 'attachment; filename="my-subscription.json"'
        response.headers["Cache-Control"] = "no-store"
        return response


def _confirmed(state: WebState, subscriber: Subscriber, already: bool) -> Response:
    return page(
        state,
        "confirmed",
        email=subscriber.email,
        already=already,
        list_title=list_title(state, subscriber),
        latest_url=_latest_path(state, subscriber.list_name),
    )


def _unsubscribed(state: WebState, subscriber: Subscriber, token: str, already: bool) -> Response:
    return page(
        state,
        "unsubscribed",
        email=subscriber.email,
        already=already,
        list_title=list_title(state, subscriber),
        can_resubscribe=signup.can_resubscribe(subscriber),
        resubscribe_action=url_for("resubscribe", token=token),
    )


def _latest_path(state: WebState, list_name: str) -> str:
    stamp = archive.latest_stamp(state.config, list_name)
    if stamp is None:
        return url_for("archive_index")
    return url_for("archive_copy", list_name=list_name, stamp=stamp)


def _one_click_answer(text: str, status: int = 200) -> Response:
    response = Response(text + "\n", status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response
