"""What the web app's routes share: state, page rendering, the form context, token reading.

Used by newsletter.web.app (the app factory), web_forms (the form pages) and web_links (the pages
reached through signed links).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jinja2
from flask import Response, request, session, url_for
from itsdangerous import SignatureExpired

from newsletter.audience.tokens import Tokens
from newsletter.config import Config
from newsletter.errors import ConfigError, TokenError
from newsletter.mail.notices import Outbox
from newsletter.model import Clock, Subscriber
from newsletter.store import Store
from newsletter.web.csrf import FIELD as CSRF_FIELD
from newsletter.web.csrf import Csrf
from newsletter.web.ratelimit import RateLimit

HONEYPOT = "website"  # bots fill fields with tempting names; people never see this one
MAX_EMAIL = 320

# Our pages load nothing but our stylesheet and post only to ourselves. Web copies of
# digests carry inline styles and remote https images, and may not be framed elsewhere.
CSP_PAGES = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
CSP_ARCHIVE = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'"
)
CSP_EMBED = "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'"


@dataclass
class WebState:
    """What the routes share: config, store (under a lock), tokens, mail, limits."""

    config: Config
    store: Store
    tokens: Tokens
    env: jinja2.Environment
    outbox: Outbox
    csrf: Csrf
    per_ip: RateLimit
    per_address: RateLimit
    clock: Clock
    lock: threading.RLock = field(default_factory=threading.RLock)

    @contextmanager
    def locked(self) -> Iterator[Store]:
        """The store, for one short piece of work."""
        with self.lock:
            yield self.store


def urls() -> dict[str, str]:
    """The app-relative links every page shows (they follow the mount point)."""
    return {
        "home": url_for("subscribe_page"),
        "subscribe": url_for("subscribe_post"),
        "archive": url_for("archive_index"),
        "manage": url_for("manage_help"),
        "style": url_for("stylesheet"),
    }


def page(state: WebState, name: str, status: int = 200, **context: Any) -> Response:
    """Render templates/web/<name>.html with the context every page shares."""
    config = state.config
    first = config.lists[0]
    base = {
        "site": config.site,
        "language": config.site.language or "en",
        "list_title": first.title or config.site.name,
        "urls": urls(),
        "email": "",
        "error": "",
    }
    try:
        html = state.env.get_template(f"web/{name}.html").render({**base, **context})
    except jinja2.TemplateError as e:
        raise ConfigError(
            f"template web/{name}.html failed: {e}; fix your override in digest.template_dir "
            "or remove it to use the built-in one"
        ) from e
    response = Response(html, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def problem(state: WebState, kind: str, status: int, detail: str = "") -> Response:
    """The one error page; `kind` picks its wording in templates/web/problem.html."""
    return page(state, "problem", status, kind=kind, detail=detail)


def form_context(state: WebState, list_name: str | None = None) -> dict[str, Any]:
    """The subscribe form's token, honeypot and list choice."""
    config = state.config
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": state.csrf.token(session),
        "honeypot": HONEYPOT,
        "lists": [(lst.name, lst.title or config.site.name) for lst in config.lists],
        "selected_list": list_name or config.lists[0].name,
    }


def list_name_from(state: WebState, value: str | None) -> str | None:
    """The list a form names (the first by default); None if it names an unknown one."""
    names = [lst.name for lst in state.config.lists]
    if not value:
        return names[0]
    return value if value in names else None


def client_ip() -> str:
    """The client address the per-IP limit counts (the proxy's, unless web.trusted_proxies)."""
    return request.remote_addr or "unknown"


def read_token(state: WebState, purpose: str, token: str) -> int | Response:
    """The subscriber id in a token, or the problem page saying what is wrong with it."""
    try:
        return state.tokens.read(purpose, token)
    except TokenError as e:
        expired = isinstance(e.__cause__, SignatureExpired)
        return problem(state, "expired_link" if expired else "invalid_link", 400, detail=str(e))


def subscriber_or_page(state: WebState, subscriber_id: int) -> Subscriber | Response:
    """The subscriber a link names, or the "no subscription for this link" page."""
    with state.locked() as store:
        found = store.get_subscriber(subscriber_id)
    return found if found is not None else problem(state, "unknown_subscriber", 404)


def list_title(state: WebState, subscriber: Subscriber) -> str:
    """The human name of a subscriber's list."""
    try:
        lst = state.config.list(subscriber.list_name)
    except ConfigError:  # a list removed from the config: its people can still leave
        return subscriber.list_name
    return lst.title or state.config.site.name
