"""The rest of the site: the archive of web copies, the stylesheet, the health check, and
what every response gets (security headers, error pages)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from newsletter.render import archive
from newsletter.render.renderer import render_index
from newsletter.web.common import CSP_ARCHIVE, CSP_PAGES, problem, state
from newsletter.web.redact import redact

logger = logging.getLogger(__name__)

bp = Blueprint("site", __name__)


# -- archive ---------------------------------------------------------------------------------
@bp.get("/archive/", endpoint="archive_index")
def archive_index() -> Response:
    web = state()
    config = web.config
    path = Path(config.output_dir) / "index.html"
    if path.is_file():
        html = path.read_text(encoding="utf-8")
    else:  # nothing built yet, or an output folder from elsewhere: render it now
        html = render_index(config, web.env)
    return _archive_response(html)


@bp.get("/archive/latest.html")
def archive_latest() -> Response:
    config = state().config
    stamp = archive.latest_stamp(config, config.lists[0].name)
    html = archive.web_copy(config, config.lists[0].name, stamp) if stamp else None
    if html is None:
        return problem("not_found", 404)
    return _archive_response(html)


# decorators apply bottom-up: the slash form is registered first, so url_for gives it
@bp.get("/archive/<list_name>/<stamp>/index.html", endpoint="archive_copy")
@bp.get("/archive/<list_name>/<stamp>/")
def archive_copy(list_name: str, stamp: str) -> Response:
    html = archive.web_copy(state().config, list_name, stamp)
    if html is None:
        return problem("not_found", 404)
    return _archive_response(html)


def _archive_response(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP_ARCHIVE
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# -- stylesheet, health ----------------------------------------------------------------------
@bp.get("/style.css")
def stylesheet() -> Response:
    env = state().env
    # through the loader, so a user's templates/web/style.css replaces ours
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, "web/style.css")
    response = Response(source, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.set_etag(hashlib.sha256(source.encode("utf-8")).hexdigest()[:32])
    response.make_conditional(request)  # in place: a 304 when the ETag matches
    return response


@bp.get("/healthz")
def healthz() -> Response:
    with state().locked() as store:
        store.count_subscribers()
    return Response("ok\n", mimetype="text/plain")


# -- every response --------------------------------------------------------------------------
@bp.after_app_request
def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP_PAGES)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # token URLs must never travel to another site in a Referer header
    headers.setdefault("Referrer-Policy", "no-referrer")
    framing = "SAMEORIGIN" if headers["Content-Security-Policy"] == CSP_ARCHIVE else "DENY"
    headers.setdefault("X-Frame-Options", framing)
    return response


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    kinds = {404: "not_found", 405: "method", 413: "too_large"}
    response = problem(kinds.get(error.code or 400, "bad_request"), error.code or 400)
    allowed = getattr(error, "valid_methods", None)  # set on 405 (MethodNotAllowed)
    if error.code == 405 and isinstance(allowed, list | tuple):
        response.headers["Allow"] = ", ".join(allowed)
    return response


@bp.app_errorhandler(Exception)
def server_error(error: Exception) -> Response:
    # the path may hold a token: the log gets it redacted
    logger.exception("error while answering %s %s", request.method, redact(request.path))
    return problem("server_error", 500)
