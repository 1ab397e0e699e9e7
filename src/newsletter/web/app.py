"""The web app: subscribe, confirm, unsubscribe, manage, and the archive of web copies.

Thin routes over `newsletter.audience.signup` (the rules), `newsletter.mail.notices` (messages, sent
from a background thread) and `newsletter.render.archive` (files on disk). Pages are Jinja2
templates under templates/web/, overridable through digest.template_dir. The routes live in
three Blueprints (`forms`, `links`, `site`) and reach the app's state through the
"newsletter" extension (`newsletter.web.common.state`).

Routes (only POST ever changes a subscription or sends mail):
    GET  /, /subscribe          the form ("Subscribe to get the latest posts ...")
    POST /subscribe             CSRF + honeypot + rate limits; always "Check your inbox"
    GET  /embed                 an HTML snippet to paste into another site
    GET  /confirm/<token>       a page with a "Confirm subscription" button
    POST /confirm/<token>       confirms; thank-you page and a welcome message
    GET  /unsubscribe/<token>   a page with one button
    POST /unsubscribe/<token>   unsubscribes at once; RFC 8058 one-click answers text/plain
    POST /resubscribe/<token>   undo an unsubscribe (link from the unsubscribe answer, 24 h)
    GET  /manage/<token>        address, status, unsubscribe, subscribe again, data
    POST /manage/<token>        action=unsubscribe | subscribe_again (mails a confirm link)
    POST /manage/<token>/data   mails a download link to the address
    GET  /data/<token>          a page with a download button (link from that mail, 24 h)
    POST /data/<token>          what is stored about the subscriber, as JSON
    GET  /unsubscribe, /manage  how to leave; a form to get a manage link by email
    POST /manage                sends that link (same answer whether or not subscribed)
    GET  /archive/              output/index.html
    GET  /archive/<list>/<stamp>/   a digest's web copy (no personal links)
    GET  /style.css, /healthz
    POST /webhooks/ses|mailgun|postmark|sendgrid   provider bounce events (web/webhooks.py)

One store connection serves every request thread of a process under a lock: SQLite writes
are serialized anyway and each request does a few milliseconds of work. Nothing a request
needs lives only in a process's memory: rate limits are counted in the store and the CSRF
nonce travels in the signed session cookie, so any number of worker processes, on one
host (SQLite or PostgreSQL) or several (PostgreSQL), act as one app.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

from newsletter.audience.tokens import Tokens
from newsletter.config import Config, load_config
from newsletter.mail.notices import MailComposer, Outbox
from newsletter.mail.transport import Transport, smtp_factory
from newsletter.model import utcnow as _utcnow
from newsletter.render.renderer import make_environment
from newsletter.store import Store, open_store
from newsletter.store.location import settle_store, sharing_warning
from newsletter.web import forms, links, site, webhooks
from newsletter.web.common import EXTENSION, Clock, WebState
from newsletter.web.csrf import Csrf
from newsletter.web.ratelimit import RateLimit
from newsletter.web.redact import redact

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_app(
    config: Config,
    store: Store | None = None,
    transport_factory: Callable[[], Transport] | None = None,
    clock: Clock | None = None,
) -> Flask:
    """The WSGI app for one config (ConfigError when NEWSLETTER_SECRET_KEY is missing or weak)."""
    clock = clock or _utcnow
    secret = config.require_secret()
    if store is None:
        store = open_store(config, clock=clock)
    folder = config.digest.template_dir
    env = make_environment(config.resolve(folder) if folder else None)
    tokens = Tokens.from_config(config, clock)
    composer = MailComposer(config, env, tokens, clock)
    app = Flask(__name__, static_folder=None)
    app.config.update(
        # never from FLASK_DEBUG: a debug app shows tracebacks (and secrets) to visitors
        DEBUG=False,
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="newsletter_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.site.url.startswith("https://"),
        MAX_CONTENT_LENGTH=64 * 1024,  # forms here are a few hundred bytes
    )
    app.debug = False

    def locked() -> AbstractContextManager[Store]:
        return state.locked()

    web = config.web
    state = app.extensions[EXTENSION] = WebState(
        config=config,
        store=store,
        tokens=tokens,
        env=env,
        outbox=Outbox(composer.compose, transport_factory or smtp_factory(config)),
        csrf=Csrf(secret, clock),
        # counted in the store, so every worker process enforces the same limits
        per_ip=RateLimit("ip", web.subscribe_per_ip_per_hour, 3600, secret, locked),
        per_address=RateLimit("address", web.subscribe_per_address_per_hour, 3600, secret, locked),
        clock=clock,
    )
    for blueprint in (forms.bp, links.bp, site.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(webhooks.blueprint)  # /webhooks/<provider>: bounces and complaints
    app.wsgi_app = _front(app.wsgi_app, config)  # type: ignore[method-assign,assignment]
    return app


def _front(wsgi_app: WSGIApp, config: Config) -> WSGIApp:
    """What stands between the WSGI server and Flask: the mount point and proxy headers.

    Behind a reverse proxy the client address is in X-Forwarded-For; trusting it without a
    proxy would let anyone dodge the per-IP limit, so it is opt-in (web.trusted_proxies).
    The host and path prefix are never taken from X-Forwarded-Host / -Prefix, which a
    client can send through many proxies: page links and form actions follow [site] url.
    """
    proxies = int(getattr(config.web, "trusted_proxies", 0) or 0)
    if proxies > 0:
        wsgi_app = ProxyFix(wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_prefix=0)
    prefix = urlsplit(config.site.url).path.rstrip("/")
    if not prefix:
        return wsgi_app

    def mounted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == prefix or path.startswith(prefix + "/"):  # the proxy kept the prefix
            environ["PATH_INFO"] = path[len(prefix) :] or "/"
        environ["SCRIPT_NAME"] = prefix
        return wsgi_app(environ, start_response)

    return mounted


# -- running ---------------------------------------------------------------------------------
class _RedactingHandler(WSGIRequestHandler):
    """The development server's request handler: request lines and errors are logged with
    tokens redacted."""

    def log(self, type: str, message: str, *args: Any) -> None:
        text = message % args if args else message
        super().log(type, "%s", redact(text))


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080) -> None:
    """`newsletter serve`: the development server (threaded). Blocks until interrupted."""
    from werkzeug.serving import run_simple

    app = create_app(config)
    logger.info("serving %s on http://%s:%s/ (development server)", config.site.name, host, port)
    try:
        run_simple(
            host,
            port,
            app,
            threaded=True,
            use_reloader=False,
            use_debugger=False,
            request_handler=_RedactingHandler,
        )
    finally:
        app.extensions[EXTENSION].outbox.close()


def make_wsgi_app(config_path: str | None = None, env: Mapping[str, str] | None = None) -> Flask:
    """The app for a production WSGI server, configured from the environment.

    `waitress-serve --call newsletter.web.app:make_wsgi_app` or
    `gunicorn 'newsletter.web.app:make_wsgi_app()'`, with NEWSLETTER_CONFIG naming the TOML
    file and NEWSLETTER_SECRET_KEY (and NEWSLETTER_SMTP_PASSWORD) set.
    """
    env = os.environ if env is None else env
    path = config_path or env.get("NEWSLETTER_CONFIG") or None
    if path is None and Path("newsletter.toml").is_file():
        path = "newsletter.toml"
    config = settle_store(load_config(path, env=env))
    if warning := sharing_warning(config):
        logging.getLogger(__name__).warning("%s", warning)
    return create_app(config)
