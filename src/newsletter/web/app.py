"""The web app: subscribe, confirm, unsubscribe, manage, and the archive of web copies.

Thin routes over `newsletter.audience.signup` (the rules), `newsletter.mail.notices` (messages, sent
from a background thread) and `newsletter.render.archive` (files on disk). Pages are Jinja2
templates under templates/web/, overridable through digest.template_dir.

Routes:
    GET  /, /subscribe          the form ("Subscribe to get the latest posts ...")
    POST /subscribe             CSRF + honeypot + rate limits; always "Check your inbox"
    GET  /embed                 an HTML snippet to paste into another site
    GET  /confirm/<token>       a page with a "Confirm subscription" button
    POST /confirm/<token>       confirms; thank-you page and a welcome message
    GET  /unsubscribe/<token>   a page with one button
    POST /unsubscribe/<token>   unsubscribes at once; RFC 8058 one-click answers text/plain
    POST /resubscribe/<token>   undo an unsubscribe (signed by the unsubscribe token)
    GET  /manage/<token>        address, status, unsubscribe/resubscribe, data download
    POST /manage/<token>        action=unsubscribe|resubscribe
    POST /manage/<token>/data   everything stored about them, as JSON
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

import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from newsletter.audience.tokens import Tokens
from newsletter.config import Config, load_config
from newsletter.mail.notices import MailComposer, Outbox
from newsletter.mail.transport import Transport, smtp_factory
from newsletter.model import utcnow as _utcnow
from newsletter.render import archive
from newsletter.render.renderer import make_environment, render_index
from newsletter.store import Store, open_store
from newsletter.store.location import settle_store, sharing_warning
from newsletter.web import webhooks
from newsletter.web.common import CSP_ARCHIVE, CSP_PAGES, Clock, WebState, problem
from newsletter.web.csrf import Csrf
from newsletter.web.forms import add_form_pages
from newsletter.web.links import add_link_pages
from newsletter.web.ratelimit import RateLimit

logger = logging.getLogger(__name__)


def create_app(
    config: Config,
    store: Store | None = None,
    transport_factory: Callable[[], Transport] | None = None,
    clock: Clock | None = None,
) -> Flask:
    """The WSGI app for one config (ConfigError when NEWSLETTER_SECRET_KEY is missing)."""
    clock = clock or _utcnow
    secret = config.require_secret()
    if store is None:
        store = open_store(config, clock=clock)
    folder = config.digest.template_dir
    env = make_environment(config.resolve(folder) if folder else None)
    tokens = Tokens.from_config(config, clock)
    composer = MailComposer(config, env, tokens, clock)

    def locked() -> AbstractContextManager[Store]:
        return state.locked()

    web = config.web
    state = WebState(
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
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="newsletter_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.site.url.startswith("https://"),
        MAX_CONTENT_LENGTH=64 * 1024,  # forms here are a few hundred bytes
    )
    # Behind a reverse proxy the client address is in X-Forwarded-For; trusting that
    # header without a proxy would let anyone dodge the per-IP limit, so it is opt-in.
    proxies = int(getattr(config.web, "trusted_proxies", 0) or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )
    app.extensions["newsletter"] = state
    add_form_pages(app, state)
    add_link_pages(app, state)
    _add_archive(app, state)
    _add_plumbing(app, state)
    app.register_blueprint(webhooks.blueprint)  # /webhooks/<provider>: bounces and complaints
    return app


# -- archive ---------------------------------------------------------------------------------
def _add_archive(app: Flask, state: WebState) -> None:
    @app.get("/archive/", endpoint="archive_index")
    def archive_index() -> Response:
        config = state.config
        path = Path(config.output_dir) / "index.html"
        if path.is_file():
            html = path.read_text(encoding="utf-8")
        else:  # nothing built yet, or an output folder from elsewhere: render it now
            html = render_index(config, state.env)
        return _archive_response(html)

    @app.get("/archive/latest.html")
    def archive_latest() -> Response:
        stamp = archive.latest_stamp(state.config, state.config.lists[0].name)
        html = archive.web_copy(state.config, state.config.lists[0].name, stamp) if stamp else None
        if html is None:
            return problem(state, "not_found", 404)
        return _archive_response(html)

    # decorators apply bottom-up: the slash form is registered first, so url_for gives it
    @app.get("/archive/<list_name>/<stamp>/index.html", endpoint="archive_copy")
    @app.get("/archive/<list_name>/<stamp>/")
    def archive_copy(list_name: str, stamp: str) -> Response:
        html = archive.web_copy(state.config, list_name, stamp)
        if html is None:
            return problem(state, "not_found", 404)
        return _archive_response(html)


def _archive_response(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP_ARCHIVE
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# -- stylesheet, health, headers, errors -----------------------------------------------------
def _add_plumbing(app: Flask, state: WebState) -> None:
    @app.get("/style.css")
    def stylesheet() -> Response:
        # through the loader, so a user's templates/web/style.css replaces ours
        assert state.env.loader is not None
        source, _, _ = state.env.loader.get_source(state.env, "web/style.css")
        response = Response(source, mimetype="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.set_etag(hashlib.sha256(source.encode("utf-8")).hexdigest()[:32])
        return response.make_conditional(request)

    @app.get("/healthz")
    def healthz() -> Response:
        with state.locked() as store:
            store.count_subscribers()
        return Response("ok\n", mimetype="text/plain")

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP_PAGES)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # token URLs must never travel to another site in a Referer header
        headers.setdefault("Referrer-Policy", "no-referrer")
        framing = "SAMEORIGIN" if headers["Content-Security-Policy"] == CSP_ARCHIVE else "DENY"
        headers.setdefault("X-Frame-Options", framing)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        kinds = {404: "not_found", 405: "method", 413: "too_large"}
        return problem(state, kinds.get(error.code or 400, "bad_request"), error.code or 400)

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> Response:
        logger.exception("error while answering %s %s", request.method, request.path)
        return problem(state, "server_error", 500)


# -- running ---------------------------------------------------------------------------------
def serve(config: Config, host: str = "127.0.0.1", port: int = 8080) -> None:
    """`newsletter serve`: the development server (threaded). Blocks until interrupted."""
    from werkzeug.serving import run_simple

    app = create_app(config)
    logger.info("serving %s on http://%s:%s/ (development server)", config.site.name, host, port)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        app.extensions["newsletter"].outbox.close()


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
