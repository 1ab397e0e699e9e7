"""Lead images: the feed's own picture at its natural size, never an icon, a tracking pixel
or the artwork every item repeats; shown at min(natural width, column)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from newsletter.config import Config, SiteConfig
from newsletter.ingest.entries import parse_feed
from newsletter.ingest.images import Image, best, is_icon, repeated, url_size
from newsletter.model import Digest, Entry, Item, Section
from newsletter.render.renderer import render_digest
from newsletter.render.view import image_size
from newsletter.store import Store


def rss(items: str, channel_image: str = "") -> bytes:
    image = (
        f"<image><url>{channel_image}</url><title>S</title><link>https://s.example/</link></image>"
        if channel_image
        else ""
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>S</title><link>https://s.example/</link>{image}{items}</channel></rss>"
    ).encode()


def item(n: int, media: str = "", body: str = "Text.") -> str:
    return (
        f"<item><title>Story number {n}</title><link>https://s.example/{n}</link>"
        f"<description><![CDATA[{body}]]></description>{media}</item>"
    )


def test_media_content_without_medium_is_a_picture_and_the_largest_size_wins() -> None:
    media = (
        '<media:content width="140" url="https://i.example/a.jpg?w=140"><media:credit>'
        "Photograph: someone</media:credit></media:content>"
        '<media:content width="460" url="https://i.example/a.jpg?w=460"/>'
        '<media:content url="https://i.example/a.mp3"/>'  # a file that is no picture
    )
    (got,) = parse_feed(rss(item(1, media)), "https://s.example/rss").items
    assert (got.image, got.image_width, got.image_height) == (
        "https://i.example/a.jpg?w=460",
        460,
        0,
    )
    assert got.title == "Story number 1"  # not the credit's text


def test_sizes_come_from_the_feed_or_the_url() -> None:
    assert url_size("https://i.example/photo-150x150.jpg") == (150, 150)
    assert url_size("https://i.example/p/chuva_142x100.jpg") == (142, 100)
    assert url_size("https://i.example/a.jpg?w=460&q=55") == (460, 0)
    assert url_size("https://bp.example/img/s72-c/photo.png") == (72, 0)
    assert url_size("https://i.example/photo.jpg") == (0, 0)
    assert best([Image("https://i.example/t-158x106.jpg")]) == Image(
        "https://i.example/t-158x106.jpg", 158, 106
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example/favicon-192x192.png",
        "https://s.example/static/logo.png",
        "https://avatars3.example.com/u/42?s=60",
        "https://stats.example.org/p.php?idsite=8",
        "https://s.example/piwik.php?rec=1",
        "https://s.example/icon.svg",
    ],
)
def test_icons_logos_and_counters_are_no_pictures(url: str) -> None:
    assert is_icon(Image(url))
    assert best([Image(url)]) is None


def test_tiny_images_are_icons_but_small_photos_are_not() -> None:
    assert is_icon(Image("https://i.example/a.jpg", 70, 70))
    assert not is_icon(Image("https://i.example/a.jpg", 140, 93))
    assert not is_icon(Image("https://i.example/open-source-day.jpg"))


def test_repeated_artwork_and_the_feeds_own_image_are_dropped() -> None:
    art = "https://cdn.example/show-art.jpg"
    assert repeated([art, art, art, "https://cdn.example/1.jpg"]) == {art}
    others = [f"https://a/{n}.jpg" for n in range(2, 8)]
    assert repeated(["https://a/1.jpg", "https://a/1.jpg", *others]) == set()  # 2 of 8
    assert repeated(["https://a/1.jpg"], feed_image="https://a/1.jpg") == {"https://a/1.jpg"}
    thumb = lambda n: f'<media:thumbnail url="{art}" width="600" height="600"/>'  # noqa: E731
    own = '<media:thumbnail url="https://cdn.example/own.jpg" width="600" height="400"/>'
    items = parse_feed(
        rss(item(1, thumb(1)) + item(2, thumb(2)) + item(3, own)), "https://s.example/rss"
    ).items
    assert [i.image for i in items] == ["", "", "https://cdn.example/own.jpg"]
    items = parse_feed(rss(item(1, thumb(1)), channel_image=art), "https://s.example/rss").items
    assert items[0].image == ""


def test_an_icon_in_the_feed_is_not_taken_back_from_the_body() -> None:
    thumb = '<media:thumbnail url="https://t.example/frog.jpg" width="70" height="70"/>'
    body = '<img src="https://t.example/frog.jpg"> A frog.'
    (got,) = parse_feed(rss(item(1, thumb, body)), "https://s.example/rss").items
    assert got.image == ""


def test_an_item_image_element_is_a_picture() -> None:
    media = "<image><url>https://img.example/thumb-800x450.jpg</url><title>x</title></image>"
    (got,) = parse_feed(rss(item(1, media)), "https://s.example/rss").items
    assert (got.image, got.image_width) == ("https://img.example/thumb-800x450.jpg", 800)
    assert got.title == "Story number 1"
    media = (
        "<image><url>https://img.example/t.jpg</url><title>x</title><width>150</width>"
        "<height>150</height></image>"
    )
    (got,) = parse_feed(rss(item(1, media)), "https://s.example/rss").items
    assert (got.image, got.image_width, got.image_height) == ("https://img.example/t.jpg", 150, 150)


def test_shown_at_natural_size_or_the_column_never_wider() -> None:
    assert image_size(158, 106) == {"image_width": 158, "image_height": 106}
    assert image_size(1200, 800) == {"image_width": 552, "image_height": 368}
    assert image_size(0, 0) == {"image_width": 552, "image_height": 276}


def test_rendered_digest_never_stretches_a_thumbnail(tmp_path: Path) -> None:
    config = Config(base_dir=tmp_path, site=SiteConfig(url="https://d.example.org"))
    when = datetime(2026, 1, 5, tzinfo=UTC)

    def entry(n: int, url: str, w: int, h: int) -> Entry:
        it = Item(
            key=str(n),
            feed_url="https://s.example/rss",
            link=f"https://s.example/{n}",
            title=f"Story {n}",
            published=when,
            image=url,
            image_width=w,
            image_height=h,
            source="S",
        )
        return Entry(item=it, summary="A summary.")

    digest = Digest(
        list_name="digest",
        site_name="D",
        site_url="https://d.example.org",
        built_at=when,
        sections=(
            Section(
                label="News",
                entries=(
                    entry(1, "https://i.example/t.jpg", 158, 106),
                    entry(2, "https://i.example/big.jpg", 1600, 900),
                    entry(3, "https://i.example/unknown.jpg", 0, 0),
                ),
            ),
        ),
    )
    page = lxml.html.document_fromstring(render_digest(digest, config).html)
    imgs = {i.get("src"): i for i in page.iter("img")}
    small, big, unknown = (imgs[f"https://i.example/{n}.jpg"] for n in ("t", "big", "unknown"))
    assert (small.get("width"), small.get("height")) == ("158", "106")
    assert (big.get("width"), big.get("height")) == ("552", "310")
    # fluid (width:100%, so it shrinks on a phone) but never wider than its natural size
    assert "max-width:158px" in small.get("style") and "width:100%" in small.get("style")
    assert "max-width:552px" in big.get("style")
    assert unknown.get("width") == "552"


def test_image_size_survives_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    it = Item(
        key="k",
        feed_url="https://s.example/rss",
        link="https://s.example/1",
        title="T",
        image="https://i.example/t.jpg",
        image_width=158,
        image_height=106,
    )
    store.upsert_items([it])
    (back,) = store.items()
    assert (back.image_width, back.image_height) == (158, 106)
    store.close()
