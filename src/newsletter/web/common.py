"""What the web app's routes share: the app's state, page rendering, the form context, links.

Routes are plain module-level functions in Blueprints (`forms`, `links`, `site`); what they
need (config, store, tokens, mail) lives in one `WebState` stored as the app extension
"newsletter" and reached through `state()`, so a Blueprint can be mounted and tested alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jinja2
from flask import Response, current_app, request, session, url_for
from itsdangerous import SignatureExpired
from werkzeug.routing import BuildError

from newsletter.audience.signup import subscriber_for
from newsletter.audience.tokens import OLD_LINK, Link, Tokens
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
EXTENSION = "newsletter"

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


def state() -> WebState:
    """The WebState of the app answering the current request."""
    return current_app.extensions[EXTENSION]


def link_to(endpoint: str, **values: Any) -> str:
    """url_for, or "" when the Blueprint with that endpoint is not mounted."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return ""


def urls() -> dict[str, str]:
    """The app-relative links every page shows (they follow the mount point)."""
    return {
        "home": link_to("forms.subscribe_page"),
        "subscribe": link_to("forms.subscribe_post"),
        "archive": link_to("site.archive_index"),
        "manage": link_to("forms.manage_help"),
        "style": link_to("site.stylesheet"),
    }


def here() -> str:
    """The path of the current page as the browser sees it (with the mount point): the
    action of a form that posts back to its own page."""
    return request.script_root + request.path


def page(name: str, status: int = 200, **context: Any) -> Response:
    """Render templates/web/<name>.html with the context every page shares."""
    web = state()
    config = web.config
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
        html = web.env.get_template(f"web/{name}.html").render({**base, **context})
    except jinja2.TemplateError as e:
        raise ConfigError(
            f"template web/{name}.html failed: {e}; fix your override in digest.template_dir "
            "or remove it to use the built-in one"
        ) from e
    response = Response(html, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def problem(kind: str, status: int, detail: str = "") -> Response:
    """The one error page; `kind` picks its wording in templates/web/problem.html."""
    return page("problem", status, kind=kind, detail=detail)


def form_context(list_name: str | None = None) -> dict[str, Any]:
    """The subscribe form's token, honeypot and list choice."""
    web = state()
    config = web.config
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": web.csrf.token(session),
        "honeypot": HONEYPOT,
        "lists": [(lst.name, lst.title or config.site.name) for lst in config.lists],
        "selected_list": list_name or config.lists[0].name,
    }


def list_name_from(value: str | None) -> str | None:
    """The list a form names (the first by default); None if it names an unknown one."""
    names = [lst.name for lst in state().config.lists]
    if not value:
        return names[0]
    return value if value in names else None


def client_ip() -> str:
    """The client address the per-IP limit counts (the proxy's, unless web.trusted_proxies)."""
    return request.remote_addr or "unknown"


def read_link(purpose: str, token: str) -> Link | Response:
    """What a link's token names, or the problem page saying what is wrong with it."""
    try:
        return state().tokens.read(purpose, token)
    except TokenError as e:
        if str(e) == OLD_LINK:
            return problem("old_link", 400, detail=str(e))
        expired = isinstance(e.__cause__, SignatureExpired)
        return problem("expired_link" if expired else "invalid_link", 400, detail=str(e))


def subscriber_or_page(link: Link) -> Subscriber | Response:
    """The subscriber a link names (with their current key), or the "no subscription for
    this link" page."""
    with state().locked() as store:
        found = subscriber_for(store, link)
    return found if found is not None else problem("unknown_subscriber", 404)


def list_title(subscriber: Subscriber) -> str:
    """The human name of a subscriber's list."""
    config = state().config
    try:
        lst = config.list(subscriber.list_name)
    except ConfigError:  # a list removed from the config: its people can still leave
        return subscriber.list_name
    return lst.title or config.site.name
