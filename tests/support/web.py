"""Fixtures for the web app tests: a config, an app wired to a real SMTP server, helpers
to read forms and the links in received messages."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from newsletter.config import Config, WebConfig
from newsletter.store import Store
from newsletter.web.app import create_app
from support.sending import SITE_URL, make_config
from support.smtp import SmtpServer

HOST = urlsplit(SITE_URL).hostname
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_URL = re.compile(r"https://news\.example\.org/[A-Za-z0-9/._~%-]+")


def web_config(base: Path, smtp: Any = None, **web: Any) -> Config:
    """The sending tests' config (list "daily" on news.example.org) with [web] overrides."""
    config = make_config(base, smtp=smtp)
    return dataclasses.replace(
        config,
        web=dataclasses.replace(WebConfig(), **web),
        output_dir=base / "output",
    )


def client(app: Flask, ip: str = "203.0.113.7") -> FlaskClient:
    """A test client that looks like a browser on https://news.example.org from `ip`."""
    c = app.test_client()
    c.environ_base.update({"HTTP_HOST": HOST, "wsgi.url_scheme": "https", "REMOTE_ADDR": ip})
    return c


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def without_csrf(html: str) -> str:
    return _CSRF.sub('name="csrf_token" value=""', html)


def path_of(url: str) -> str:
    """The path of an absolute link on the site (what the test client requests)."""
    parts = urlsplit(url)
    assert parts.scheme == "https" and parts.hostname == HOST, url
    return parts.path


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def link(message: EmailMessage, kind: str) -> str:
    """The first <site>/<kind>/... URL in a message's text part."""
    for url in _URL.findall(text_part(message)):
        if urlsplit(url).path.startswith(f"/{kind}/"):
            return url
    raise AssertionError(f"no /{kind}/ link in:\n{text_part(message)}")


@dataclass
class Web:
    """An app on a real store, sending through a real SMTP server on loopback."""

    app: Flask
    store: Store
    server: SmtpServer
    config: Config
    clock: Any

    def client(self, ip: str = "203.0.113.7") -> FlaskClient:
        return client(self.app, ip)

    def flush(self) -> None:
        """Wait until the background outbox has sent everything queued."""
        assert self.app.extensions["newsletter"].outbox.flush(10)

    def mail(self, address: str) -> list[EmailMessage]:
        self.flush()
        return self.server.parsed(address)

    def subscribe(self, c: FlaskClient, email: str, **extra: str) -> Any:
        page = c.get("/subscribe")
        data = {"csrf_token": csrf_token(page.text), "email": email, "list": "daily", **extra}
        return c.post("/subscribe", data=data)

    def status(self, email: str) -> str:
        found = self.store.get_subscriber(("daily", email))
        return found.status if found else "absent"


def make_web(
    tmp_path: Path, store: Store, clock: Any, server: SmtpServer, template_dir: str = "", **web: Any
) -> Web:
    """An app for list "daily" with [web] overrides (and digest.template_dir if given)."""
    config = web_config(tmp_path, smtp=server.smtp_config(), **web)
    if template_dir:
        digest = dataclasses.replace(config.digest, template_dir=template_dir)
        config = dataclasses.replace(config, digest=digest)
    app = create_app(config, store=store, clock=clock)
    return Web(app, store, server, config, clock)
