"""The form pages: subscribe (and its embeddable snippet), and "email me my link".

Both forms answer the same page whatever the address's status, so they cannot be used to
learn who is subscribed.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request, session

from newsletter.audience import signup
from newsletter.audience.subscribers import normalize_email
from newsletter.errors import SubscriberError
from newsletter.web.common import (
    CSP_EMBED,
    CSRF_FIELD,
    HONEYPOT,
    MAX_EMAIL,
    WebState,
    client_ip,
    form_context,
    list_name_from,
    page,
    problem,
)

logger = logging.getLogger(__name__)


def add_form_pages(app: Flask, state: WebState) -> None:
    """/, /subscribe, /embed, and /unsubscribe, /manage without a token."""

    @app.get("/subscribe", endpoint="subscribe_page")
    @app.get("/")  # registered first (bottom-up): url_for gives "/" for the home link
    def subscribe_page() -> Response:
        list_name = list_name_from(state, request.args.get("list"))
        if list_name is None:
            return problem(state, "not_found", 404)
        return page(state, "subscribe", **form_context(state, list_name))

    def guarded_address(form_page: str, answer: str) -> tuple[str, str] | Response:
        """(list, normalized address) of a posted email form, or the response that stops
        it: an expired form, the honeypot (answered as if accepted), a rate limit, or an
        invalid address (the form again, with the error)."""
        form = request.form
        email = form.get("email", "")[:MAX_EMAIL].strip()
        list_name = list_name_from(state, form.get("list"))
        if not state.csrf.valid(session, form.get(CSRF_FIELD)):
            return problem(state, "form_expired", 400)
        if list_name is None:
            return problem(state, "bad_request", 400)
        if form.get(HONEYPOT):
            logger.info("%s form: honeypot filled from %s; ignored", form_page, client_ip())
            return page(state, answer, email=email)
        if not state.per_ip.hit(client_ip()):
            return problem(state, "too_many", 429)
        try:
            address = normalize_email(email)
        except SubscriberError:
            return page(
                state,
                form_page,
                400,
                email=email,
                error="invalid_email",
                **form_context(state, list_name),
            )
        if not state.per_address.hit(f"{list_name}\n{address}"):
            return problem(state, "too_many", 429)
        return list_name, address

    @app.post("/subscribe", endpoint="subscribe_post")
    def subscribe_post() -> Response:
        form = request.form
        if form.get("embed") and not state.csrf.valid(session, form.get(CSRF_FIELD)):
            # A post from the snippet on another site: nothing happens until the person
            # presses the button on this page, which carries a real token.
            email = form.get("email", "")[:MAX_EMAIL].strip()
            list_name = list_name_from(state, form.get("list"))
            return page(
                state, "subscribe", embed=True, email=email, **form_context(state, list_name)
            )
        checked = guarded_address("subscribe", "check_inbox")
        if isinstance(checked, Response):
            return checked
        list_name, address = checked
        with state.locked() as store:
            job = signup.request_subscription(store, list_name, address, source="web")
        if job is not None:
            state.outbox.submit(job)
        # the same page, byte for byte, whatever the address's status was
        return page(state, "check_inbox", email=address)

    @app.get("/embed")
    def embed() -> Response:
        list_name = list_name_from(state, request.args.get("list"))
        if list_name is None:
            return problem(state, "not_found", 404)
        html = state.env.get_template("web/embed.html").render(
            site=state.config.site,
            action=f"{state.config.site.url.rstrip('/')}/subscribe",
            list_name=list_name,
            honeypot=HONEYPOT,
        )
        response = Response(html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = CSP_EMBED
        return response

    @app.get("/unsubscribe", endpoint="unsubscribe_help")
    @app.get("/manage", endpoint="manage_help")
    def manage_help() -> Response:
        return page(state, "manage_help", **form_context(state))

    @app.post("/manage")
    def manage_request() -> Response:
        checked = guarded_address("manage_help", "manage_sent")
        if isinstance(checked, Response):
            return checked
        list_name, address = checked
        with state.locked() as store:
            job = signup.request_manage_link(store, list_name, address)
        if job is not None:
            state.outbox.submit(job)
        return page(state, "manage_sent", email=address)
