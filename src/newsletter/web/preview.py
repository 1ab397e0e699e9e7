"""`newsletter preview`: a local page showing a digest as subscribers will get it.

The mail HTML is shown in an iframe with a phone/desktop width switch (375 / 600 px) and
the plain-text part beside it. By default the digest is the latest one built under output/;
with `next_` it is the digest the next send would carry, planned from the store as it is
now and rendered in memory: nothing is fetched, written to output/ or recorded in the store
(summaries computed for it are used and thrown away).
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from flask import Flask, Response
from werkzeug.serving import BaseWSGIServer, make_server

from newsletter.commands import command
from newsletter.config import Config
from newsletter.errors import NewsletterError
from newsletter.render import archive
from newsletter.render.placeholders import read_placeholders
from newsletter.render.renderer import make_environment, render_digest, web_version
from newsletter.run.digest import plan_digest
from newsletter.store import Store, open_store

logger = logging.getLogger(__name__)

# framed mail: inline styles and remote images only, never scripts or forms
CSP_FRAME = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)
CSP_SHELL = "default-src 'none'; style-src 'self'; frame-src 'self'; frame-ancestors 'none'"


@dataclass(frozen=True)
class PreviewDigest:
    """What the preview shows."""

    html: str  # the mail HTML, personal links replaced by the site's non-personal pages
    text: str
    label: str  # e.g. "daily · 20260105-070000" or "daily · next digest"
    source: str  # where it came from, for the page's caption
    stories: int = 0


def latest_preview(config: Config, list_name: str | None = None) -> PreviewDigest | None:
    """The newest digest built under output/ (of one list, or of any), or None."""
    out = Path(config.output_dir)
    if list_name:
        names = [list_name]
    else:
        names = sorted(p.name for p in out.iterdir() if p.is_dir()) if out.is_dir() else []
    newest: tuple[str, str] | None = None  # (list, stamp); stamps sort like times
    for name in names:
        folder = out / name
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if archive.valid_names(name, path.name) and (path / "digest.html").is_file():
                if newest is None or path.name > newest[1]:
                    newest = (name, path.name)
    if newest is None:
        return None
    folder = out / newest[0] / newest[1]
    html = (folder / "digest.html").read_text(encoding="utf-8")
    text_path = folder / "digest.txt"
    text = text_path.read_text(encoding="utf-8") if text_path.is_file() else ""
    placeholders = read_placeholders(folder)
    return PreviewDigest(
        html=web_version(html, config, placeholders),
        text=web_version(text, config, placeholders),
        label=f"{newest[0]} · {newest[1]}",
        source=str(folder),
    )


def next_preview(
    config: Config, store: Store, list_name: str | None = None
) -> PreviewDigest | None:
    """The digest the next send would carry, from the store as it is; None if nothing new."""
    lst = config.list(list_name)
    plan = plan_digest(config, store, lst.name, read_only=True)
    if not plan.digest.entries:
        return None
    rendered = render_digest(plan.digest, config)
    return PreviewDigest(
        html=web_version(rendered.html, config, rendered.placeholders),
        text=web_version(rendered.text, config, rendered.placeholders),
        label=f"{lst.name} · next digest",
        source=(
            f"planned from {config.store_target} now; not built, not saved "
            f"({plan.summarized} summaries computed, {plan.cached} cached)"
        ),
        stories=len(plan.digest.entries),
    )


def create_preview_app(
    config: Config,
    next_: bool = False,
    store: Store | None = None,
    list_name: str | None = None,
) -> Flask:
    """The preview site: / (the switchable frame + text), /mail.html, /mail.txt, /style.css.

    The digest is looked up again on each load of /, so a rebuild shows on reload.
    """
    folder = config.digest.template_dir
    env = make_environment(config.resolve(folder) if folder else None)
    own_store = store is None and next_
    if own_store:
        store = open_store(config)
    lock = threading.Lock()
    current: dict[str, PreviewDigest | None] = {"digest": None}

    def load() -> PreviewDigest | None:
        with lock:
            if next_:
                assert store is not None
                found = next_preview(config, store, list_name)
            else:
                found = latest_preview(config, list_name)
            current["digest"] = found
            return found

    def shown() -> PreviewDigest | None:
        return current["digest"] or load()

    app = Flask(__name__, static_folder=None)

    @app.get("/")
    def shell() -> Response:
        digest = load()
        html = _render(env, config, digest, next_)
        response = Response(html, 200 if digest else 404, mimetype="text/html")
        response.headers["Content-Security-Policy"] = CSP_SHELL
        return response

    @app.get("/mail.html")
    def mail_html() -> Response:
        digest = shown()
        response = Response(
            digest.html if digest else "", 200 if digest else 404, mimetype="text/html"
        )
        response.headers["Content-Security-Policy"] = CSP_FRAME
        return response

    @app.get("/mail.txt")
    def mail_text() -> Response:
        digest = shown()
        return Response(
            digest.text if digest else "", 200 if digest else 404, mimetype="text/plain"
        )

    @app.get("/style.css")
    def stylesheet() -> Response:
        assert env.loader is not None
        source = env.loader.get_source(env, "web/style.css")[0]
        return Response(source, mimetype="text/css")

    @app.after_request
    def no_cache(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"  # always the current build
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    if own_store:
        app.extensions["newsletter_preview_store"] = store
    return app


def _render(
    env: jinja2.Environment, config: Config, digest: PreviewDigest | None, next_: bool
) -> str:
    try:
        return env.get_template("web/preview.html").render(
            site=config.site,
            language=config.site.language or "en",
            digest=digest,
            next_=next_,
        )
    except jinja2.TemplateError as e:
        raise NewsletterError(f"template web/preview.html failed: {e}") from e


def make_preview_server(
    config: Config,
    host: str = "127.0.0.1",
    port: int = 8001,
    next_: bool = False,
    store: Store | None = None,
    list_name: str | None = None,
) -> BaseWSGIServer:
    """A threaded server for the preview app, bound (port 0 picks a free one), not started."""
    app = create_preview_app(config, next_=next_, store=store, list_name=list_name)
    return make_server(host, port, app, threaded=True)


def preview(
    config: Config,
    host: str = "127.0.0.1",
    port: int = 8001,
    next_: bool = False,
    open_browser: bool = True,
    *,
    list_name: str | None = None,
    opener: Callable[[str], bool] = webbrowser.open,
    announce: Callable[[str], None] = print,
    on_start: Callable[[BaseWSGIServer], None] | None = None,
) -> None:
    """`newsletter preview`: serve the preview until interrupted, opening a browser on it
    when one is available (`open_browser=False` or a headless machine: just the URL).

    `on_start` receives the bound server (a caller in another thread may `shutdown()` it).
    """
    if next_ and not config.store_url and not Path(config.store_path).is_file():
        raise NewsletterError(
            f"no store at {config.store_path} yet; run `{command(config.source, 'build')}` "
            "(or check [store] path)"
        )
    if not next_ and latest_preview(config, list_name) is None:
        raise NewsletterError(
            f"no built digest under {config.output_dir}; run "
            f"`{command(config.source, 'build')}` first, or use --next to preview the next "
            "digest from the store"
        )
    server = make_preview_server(config, host, port, next_=next_, list_name=list_name)
    url = f"http://{_url_host(host)}:{server.server_port}/"
    announce(f"previewing at {url} (Ctrl+C to stop)")
    if on_start is not None:
        on_start(server)
    if open_browser:
        # webbrowser.open returns False when there is no browser to open: nothing to do then
        def open_or_say() -> None:
            if not opener(url):
                logger.info("no browser found; open %s", url)

        threading.Timer(0.3, open_or_say).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
