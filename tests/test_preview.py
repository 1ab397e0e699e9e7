"""preview.py: the latest built digest or the next one, served locally; nothing changes."""

from __future__ import annotations

import dataclasses
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.inbox import make_config as render_config
from support.inbox import sample_digest
from support.stores import snapshot

from newsletter.config import config_from_dict
from newsletter.errors import NewsletterError
from newsletter.model import Item
from newsletter.render.renderer import render_digest, stamp, write_digest
from newsletter.web.preview import (
    create_preview_app,
    latest_preview,
    next_preview,
    preview,
)

FEED = "https://journal.example.net/feed.xml"


def _build(config, built_at: datetime | None = None) -> str:
    digest = sample_digest()
    if built_at is not None:
        digest = dataclasses.replace(digest, built_at=built_at)
    write_digest(render_digest(digest, config), config, "daily", digest.built_at)
    return stamp(digest.built_at)


@pytest.fixture
def config(tmp_path: Path):
    return render_config(tmp_path / "output")


def test_the_page_frames_the_latest_digest_with_a_width_switch_and_text(config) -> None:
    _build(config)
    newer = _build(config, sample_digest().built_at + timedelta(days=1))
    client = create_preview_app(config).test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert f"daily · {newer}" in page.text
    assert '<iframe class="preview-frame" src="/mail.html"' in page.text
    assert '<label for="width-phone">Phone (375 px)</label>' in page.text
    assert '<label for="width-desktop">Desktop (600 px)</label>' in page.text
    assert "Rain gauges on every allotment" in page.text  # the text part, beside the frame
    mail = client.get("/mail.html")
    assert mail.status_code == 200 and "Rain gauges on every allotment" in mail.text
    assert "%%" not in mail.text and "https://news.example.org/unsubscribe" in mail.text
    assert "frame-ancestors 'self'" in mail.headers["Content-Security-Policy"]
    text = client.get("/mail.txt")
    assert text.mimetype == "text/plain" and "%%" not in text.text
    css = client.get("/style.css")
    assert ".preview-frame" in css.text and "#width-phone:checked" in css.text


def test_nothing_built_yet(config) -> None:
    assert latest_preview(config) is None
    page = create_preview_app(config).test_client().get("/")
    assert page.status_code == 404 and "Nothing to preview" in page.text
    with pytest.raises(NewsletterError, match="newsletter build"):
        preview(config, port=0, open_browser=False)


def _item(n: int, title: str, text: str) -> Item:
    return Item(
        key=f"post-{n}",
        feed_url=FEED,
        link=f"https://journal.example.net/posts/{n}",
        title=title,
        source="Harbour Journal",
        published=datetime(2026, 1, 4, 12, tzinfo=UTC) - timedelta(hours=n),
        text=text,
        html=f"<p>{text}</p>",
        content_hash=f"hash-{n}",
    )


def test_next_digest_is_planned_without_changing_anything(tmp_path: Path, store) -> None:
    config = config_from_dict(
        {"site": {"name": "Harbour", "url": "https://news.example.org"}, "feeds": [{"url": FEED}]},
        base_dir=tmp_path,
    )
    store.upsert_items(
        [
            _item(
                1,
                "Ferry timetable changes for the winter",
                "The winter timetable starts next week. Early crossings move by ten minutes. "
                "The last boat on Sundays now leaves at nine.",
            ),
            _item(
                2,
                "Harbour wall repairs finish early",
                "Masons finished the harbour wall two weeks ahead of plan. The walkway reopens "
                "on Friday. A plaque marks the storm that broke it.",
            ),
        ]
    )
    before = snapshot(store)
    found = next_preview(config, store)
    assert found is not None and found.stories == 2
    assert "Ferry timetable changes for the winter" in found.html
    assert "Harbour wall repairs finish early" in found.text
    assert "%%" not in found.html + found.text
    assert snapshot(store) == before  # no summary cached, no digest recorded
    assert store.list_digests() == []
    assert not config.output_dir.exists()
    page = create_preview_app(config, next_=True, store=store).test_client().get("/")
    assert page.status_code == 200 and f"{config.lists[0].name} · next digest" in page.text
    assert snapshot(store) == before


def test_next_with_nothing_new(tmp_path: Path, store) -> None:
    config = config_from_dict({"feeds": [{"url": FEED}]}, base_dir=tmp_path)
    assert next_preview(config, store) is None
    page = create_preview_app(config, next_=True, store=store).test_client().get("/")
    assert page.status_code == 404 and "No new items" in page.text


def test_next_without_a_store_creates_none(tmp_path: Path) -> None:
    config = config_from_dict({"feeds": [{"url": FEED}]}, base_dir=tmp_path)
    with pytest.raises(NewsletterError, match="no store"):
        preview(config, port=0, next_=True, open_browser=False)
    assert not config.store_path.exists()


@pytest.mark.parametrize("open_browser", [True, False])
def test_preview_serves_and_opens_the_browser(config, open_browser: bool) -> None:
    _build(config)
    opened: list[str] = []
    started = threading.Event()
    servers = []

    def on_start(server) -> None:
        servers.append(server)
        started.set()

    def opener(url: str) -> bool:
        opened.append(url)
        return True

    thread = threading.Thread(
        target=preview,
        args=(config,),
        kwargs={
            "port": 0,
            "open_browser": open_browser,
            "opener": opener,
            "announce": lambda line: None,
            "on_start": on_start,
        },
        daemon=True,
    )
    thread.start()
    assert started.wait(5)
    url = f"http://127.0.0.1:{servers[0].server_port}/"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200 and b"/mail.html" in response.read()
    if open_browser:
        deadline = datetime.now() + timedelta(seconds=5)
        while not opened and datetime.now() < deadline:
            threading.Event().wait(0.05)
        assert opened == [url]
    servers[0].shutdown()
    thread.join(5)
    assert not thread.is_alive()
    if not open_browser:
        assert opened == []
