"""The subscribe flow in a real headless browser (Debian's chromium via Playwright).

The app runs on a real threaded server on 127.0.0.1, mail goes to a real aiosmtpd server,
and the pages are checked at phone width (375 px). Screenshots are written to
output/screenshots/web-*.png for a human to look at. Without chromium this test FAILS.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.inbox import make_config as render_config
from support.inbox import sample_digest
from support.paths import REPO
from support.smtp import SmtpServer
from support.web import web_config
from werkzeug.serving import make_server

from newsletter.config import SiteConfig
from newsletter.render.renderer import render_digest, write_digest
from newsletter.store import Store
from newsletter.web.app import create_app
from newsletter.web.preview import make_preview_server

SCREENSHOTS = REPO / "output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
EMAIL = "reader@example.com"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        pytest.fail(
            "chromium is not installed: apt-get install -y --no-install-recommends "
            "chromium fonts-dejavu-core"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed in the virtualenv: pip install playwright")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


class _Site:
    """The app on a real server: bound first, so the config can name its real URL."""

    def __init__(self, tmp_path: Path, smtp: SmtpServer) -> None:
        self.server = make_server("127.0.0.1", 0, _not_ready, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        config = web_config(tmp_path, smtp=smtp.smtp_config())
        self.config = dataclasses.replace(
            config,
            site=SiteConfig(
                name="Harbour Notes",
                url=self.url,
                address="Harbour Notes, 3 Quay Street, Falmouth TR11 3HH, United Kingdom",
            ),
            lists=(dataclasses.replace(config.lists[0], title="Harbour Notes"),),
        )
        self.store = Store(tmp_path / "web.sqlite")
        self.app = create_app(self.config, store=self.store)
        self.server.app = self.app
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)
        self.app.extensions["newsletter"].outbox.close()
        self.store.close()


def _not_ready(environ: dict, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def _only_local(route: Any) -> None:
    """Offline and deterministic: only the local servers answer."""
    if route.request.url.startswith("http://127.0.0.1:"):
        route.continue_()
    else:
        route.abort()


def _check_page(page: Any, name: str, width: int = 375) -> None:
    """Fits the width, has a labelled main landmark; screenshot saved as web-<name>.png."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    assert page.locator("main").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"web-{name}.png"), full_page=True)


def _path(url: str, base: str) -> str:
    assert url.startswith(base + "/"), url
    return url


@pytest.mark.browser
def test_subscribe_and_confirm_in_a_browser(browser: Any, tmp_path: Path) -> None:
    with SmtpServer() as smtp, _Site(tmp_path, smtp) as site:
        # a digest in the archive, for the thank-you page's "Read the latest digest"
        built = dataclasses.replace(render_config(site.config.output_dir), site=site.config.site)
        digest = sample_digest()
        write_digest(render_digest(digest, built), built, "daily", digest.built_at)

        context = browser.new_context(viewport={"width": 375, "height": 800})
        page = context.new_page()
        page.route("**/*", _only_local)
        page.goto(site.url + "/")
        assert page.get_by_text("Subscribe to get the latest posts sent to your email").is_visible()
        field = page.get_by_label("Email address")
        assert field.is_visible()
        trap = page.locator("input[name=website]").bounding_box()  # the honeypot: off-screen
        assert trap is None or trap["x"] + trap["width"] <= 0
        # keyboard users see where they are: a visible focus ring on the field
        field.focus()
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"
        _check_page(page, "subscribe")

        field.fill(EMAIL)
        page.get_by_role("button", name="Subscribe").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Check your inbox").is_visible()
        _check_page(page, "check-inbox")

        assert site.app.extensions["newsletter"].outbox.flush(10)
        [confirmation] = smtp.parsed(EMAIL)
        confirm_url = _path(link_on(confirmation, site.url, "confirm"), site.url)
        page.goto(confirm_url)
        assert page.get_by_role("button", name="Confirm subscription").is_visible()
        assert site.store.get_subscriber(("daily", EMAIL)).status == "pending"
        _check_page(page, "confirm")

        page.get_by_role("button", name="Confirm subscription").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Thank you for subscribing").is_visible()
        assert site.store.get_subscriber(("daily", EMAIL)).status == "confirmed"
        _check_page(page, "confirmed")

        assert site.app.extensions["newsletter"].outbox.flush(10)
        welcome = smtp.parsed(EMAIL)[-1]
        assert welcome["Subject"] == "Welcome to Harbour Notes"

        page.get_by_role("link", name="Read the latest digest").click()
        page.wait_for_load_state()
        assert "Rain gauges on every allotment" in page.content()
        page.screenshot(path=str(SCREENSHOTS / "web-archive-copy.png"), full_page=True)

        page.goto(link_on(welcome, site.url, "manage"))
        assert page.get_by_text(EMAIL).first.is_visible()
        _check_page(page, "manage")

        page.goto(link_on(welcome, site.url, "unsubscribe"))
        _check_page(page, "unsubscribe")
        page.get_by_role("button", name="Unsubscribe").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="You are unsubscribed").is_visible()
        assert site.store.get_subscriber(("daily", EMAIL)).status == "unsubscribed"
        _check_page(page, "unsubscribed")

        page.goto(site.url + "/manage")
        _check_page(page, "manage-help")
        context.close()

        dark = browser.new_context(viewport={"width": 375, "height": 800}, color_scheme="dark")
        page = dark.new_page()
        page.route("**/*", _only_local)
        page.goto(site.url + "/subscribe")
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.card')).backgroundColor"
        )
        assert background == "rgb(30, 41, 59)"
        _check_page(page, "subscribe-dark")
        dark.close()


def link_on(message: Any, base: str, kind: str) -> str:
    """A /<kind>/ link in a message whose links point at the live server."""
    part = message.get_body(preferencelist=("plain",)).get_content()
    for url in re.findall(r"http://127\.0\.0\.1:\d+/[A-Za-z0-9/._~%-]+", part):
        if url.startswith(f"{base}/{kind}/"):
            return url
    raise AssertionError(f"no /{kind}/ link in:\n{part}")


@pytest.mark.browser
def test_preview_width_switch_in_a_browser(browser: Any, tmp_path: Path) -> None:
    config = render_config(tmp_path / "output")
    digest = sample_digest()
    write_digest(render_digest(digest, config), config, "daily", digest.built_at)
    server = make_preview_server(config, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.route("**/*", _only_local)
        page.goto(f"http://127.0.0.1:{server.server_port}/")
        frame = page.locator("iframe.preview-frame")
        assert frame.bounding_box()["width"] == 600
        page.get_by_label("Phone (375 px)").check()
        assert frame.bounding_box()["width"] == 375
        assert "Rain gauges" in page.locator("pre.preview-text").inner_text()
        inner = page.frame_locator("iframe.preview-frame")
        story = inner.get_by_role("link", name=re.compile("^Rain gauges on every allotment"))
        assert story.first.is_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "web-preview.png"), full_page=False)
        context.close()
    finally:
        server.shutdown()
        thread.join(5)
