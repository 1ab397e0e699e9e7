"""The form pages: subscribe (and its embeddable snippet), and "email me my link".

Both forms answer the same page whatever the address's status, so they cannot be used to
learn who is subscribed, and neither changes an existing subscriber's status: they only
send mail to the address (throttled).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request, session

from newsletter.audience import signup
from newsletter.audience.subscribers import normalize_email
from newsletter.errors import SubscriberError
from newsletter.web.common import (
    CSP_EMBED,
    CSRF_FIELD,
    HONEYPOT,
    MAX_EMAIL,
    client_ip,
    form_context,
    list_name_from,
    page,
    problem,
    state,
)

logger = logging.getLogger(__name__)

bp = Blueprint("forms", __name__)


# decorators apply bottom-up: "/" is registered first, so url_for gives it for the home link
@bp.get("/subscribe", endpoint="subscribe_page")
@bp.get("/")
def subscribe_page() -> Response:
    list_name = list_name_from(request.args.get("list"))
    if list_name is None:
        return problem("not_found", 404)
    return page("subscribe", **form_context(list_name))


def guarded_address(form_page: str, answer: str) -> tuple[str, str] | Response:
    """(list, normalized address) of a posted email form, or the response that stops it: an
    expired form, the honeypot (answered as if accepted), a rate limit, or an invalid
    address (the form again, with the error)."""
    web = state()
    form = request.form
    email = form.get("email", "")[:MAX_EMAIL].strip()
    list_name = list_name_from(form.get("list"))
    if not web.csrf.valid(session, form.get(CSRF_FIELD)):
        return problem("form_expired", 400)
    if list_name is None:
        return problem("bad_request", 400)
    if form.get(HONEYPOT):
        logger.info("%s form: honeypot filled from %s; ignored", form_page, client_ip())
        return page(answer, email=email)
    if not web.per_ip.hit(client_ip()):
        return problem("too_many", 429)
    try:
        address = normalize_email(email)
    except SubscriberError:
        return page(form_page, 400, email=email, error="invalid_email", **form_context(list_name))
    if not web.per_address.hit(f"{list_name}\n{address}"):
        return problem("too_many", 429)
    return list_name, address


@bp.post("/subscribe", endpoint="subscribe_post")
def subscribe_post() -> Response:
    web = state()
    form = request.form
    if form.get("embed") and not web.csrf.valid(session, form.get(CSRF_FIELD)):
        # A post from the snippet on another site: nothing happens until the person
        # presses the button on this page, which carries a real token.
        email = form.get("email", "")[:MAX_EMAIL].strip()
        list_name = list_name_from(form.get("list"))
        return page("subscribe", embed=True, email=email, **form_context(list_name))
    checked = guarded_address("subscribe", "check_inbox")
    if isinstance(checked, Response):
        return checked
    list_name, address = checked
    with web.locked() as store:
        job = signup.request_subscription(store, list_name, address, source="web")
    if job is not None:
        web.outbox.submit(job)
    # the same page, byte for byte, whatever the address's status was
    return page("check_inbox", email=address)


@bp.get("/embed")
def embed() -> Response:
    web = state()
    list_name = list_name_from(request.args.get("list"))
    if list_name is None:
        return problem("not_found", 404)
    html = web.env.get_template("web/embed.html").render(
        site=web.config.site,
        action=f"{web.config.site.url.rstrip('/')}/subscribe",
        list_name=list_name,
        honeypot=HONEYPOT,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP_EMBED
    return response


@bp.get("/unsubscribe", endpoint="unsubscribe_help")
@bp.get("/manage", endpoint="manage_help")
def manage_help() -> Response:
    return page("manage_help", **form_context())


@bp.post("/manage")
def manage_request() -> Response:
    checked = guarded_address("manage_help", "manage_sent")
    if isinstance(checked, Response):
        return checked
    list_name, address = checked
    web = state()
    with web.locked() as store:
        job = signup.request_manage_link(store, list_name, address)
    if job is not None:
        web.outbox.submit(job)
    return page("manage_sent", email=address)
