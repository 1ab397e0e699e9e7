"""An item's lead image: the feed's own picture of the story at its natural size, never a
logo, an icon or the artwork every item of the feed repeats.

Feeds offer pictures in `media:content` (often several sizes, often without a `medium`),
`media:thumbnail`, image enclosures, `itunes:image` and `<img>` tags in the body. Sizes come
from the feed's `width`/`height` attributes, else from the URL where sites write them
(`-150x150.jpg`, `_142x100.jpg`, `?w=460`, `/s72-c/`); 0 means unknown. A template shows an
image at min(natural width, column width), so a 158-px thumbnail is never stretched.
"""

from __future__ import annotations

import html as htmllib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

# Below this many pixels on its longer side an image is an icon or a button, not a picture.
MIN_PICTURE_PX = 100
# The same picture on this share of a feed's items (and on at least two) is the feed's
# artwork or logo, not a picture of each story.
REPEATED_SHARE = 0.5
REPEATED_ALWAYS = 5  # ... and on this many items, whatever the share
# Widths above this are wasted bytes in a 600-px mail (twice the column covers retina).
MAX_USEFUL_PX = 2000

_AUDIO_VIDEO = re.compile(r"\.(?:mp3|m4a|aac|ogg|oga|opus|wav|flac|mp4|m4v|mov|webm|mkv)$", re.I)
_ICON_URL = re.compile(
    r"favicon|apple-touch-icon|(?:^|[/_.-])(?:logo|icon|avatar|gravatar|sprite|spacer)s?"
    r"(?:[/_.-]|\d|$)|\.ico$|\.svg$"
    # counters and tracking pixels: stats hosts, piwik/matomo endpoints, "open" beacons
    r"|^(?:stats?|pixel|track(?:ing)?|analytics|counter|beacon)\d*\.|/(?:piwik|matomo|pixel|"
    r"beacon|track(?:ing)?|open|count(?:er)?)(?:\.\w+)?$|^[^/]*/p\.php$",
    re.I,
)
# nh3 writes attributes with double quotes, so this reads sanitized HTML exactly.
_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'\b(src|width|height)="([^"]*)"')
_SIZE_IN_NAME = re.compile(r"(?<![0-9])(\d{2,4})[x×](\d{2,4})(?![0-9])")
_SIZE_PARAM = re.compile(r"(?:^|&)(?:w|width|resize_w|sz|s)=(\d{2,4})(?:&|$)", re.I)
_BLOGGER_SIZE = re.compile(r"/[swh](\d{2,4})(?:-[a-z0-9-]+)?/")


@dataclass(frozen=True)
class Image:
    """A picture an item offers: absolute or relative URL, and its size when known (0)."""

    url: str
    width: int = 0
    height: int = 0


def from_entry(e: Mapping[str, Any]) -> list[Image]:
    """The pictures a feedparser entry offers, in the feed's order of preference."""
    found: list[Image] = []
    for thumb in e.get("media_thumbnail") or []:
        found.append(_image(thumb.get("url"), thumb.get("width"), thumb.get("height")))
    for media in e.get("media_content") or []:
        kind = str(media.get("medium") or media.get("type") or "").lower()
        url = str(media.get("url") or "")
        # many feeds leave out medium and type: a file that is not audio or video is a picture
        if kind in ("image", "") or kind.startswith("image/"):
            if not (kind == "" and _AUDIO_VIDEO.search(urlsplit(url).path)):
                found.append(_image(url, media.get("width"), media.get("height")))
    for link in e.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type") or "").startswith("image/"):
            found.append(_image(link.get("href")))
    image = e.get("image")
    if isinstance(image, Mapping) and image.get("href"):
        found.append(_image(image.get("href"), image.get("width"), image.get("height")))
    # an RSS item's own <image><url><width>: feedparser files them as the entry's "href",
    # "width" and "height"
    # (dict.get: feedparser's own get() maps some keys to others)
    if isinstance(e, dict):
        href = dict.get(e, "href")
        if isinstance(href, str) and href.strip() and href.strip() != e.get("link"):
            found.append(_image(href, dict.get(e, "width"), dict.get(e, "height")))
    return [i for i in found if i.url]


def from_html(html: str) -> list[Image]:
    """The `<img>` pictures of sanitized HTML, with the sizes their attributes give."""
    found = []
    for tag in _IMG.findall(html or ""):
        attrs = dict(_ATTR.findall(tag))
        if attrs.get("src"):
            src = htmllib.unescape(attrs["src"])
            found.append(_image(src, attrs.get("width"), attrs.get("height")))
    return found


def _image(url: Any, width: Any = 0, height: Any = 0) -> Image:
    return Image(str(url or "").strip(), _px(width), _px(height))


def _px(value: Any) -> int:
    try:
        number = int(float(str(value).strip().removesuffix("px")))
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 20_000 else 0


def with_size(image: Image) -> Image:
    """The image with the size its URL gives when the feed gave none."""
    if image.width:
        return image
    width, height = url_size(image.url)
    return replace(image, width=width, height=height or image.height)


def url_size(url: str) -> tuple[int, int]:
    """(width, height) that a URL states, e.g. "photo-150x150.jpg", "?w=460"; zeros if none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return 0, 0
    m = _SIZE_IN_NAME.search(parts.path)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _BLOGGER_SIZE.search(parts.path)
    if m:
        return int(m.group(1)), 0
    m = _SIZE_PARAM.search(parts.query)
    if m:
        return int(m.group(1)), 0
    return 0, 0


def is_icon(image: Image) -> bool:
    """A logo, favicon, avatar or button rather than a picture of the story."""
    parts = urlsplit(image.url)
    if _ICON_URL.search(parts.netloc + parts.path):
        return True
    longest = max(image.width, image.height)
    return 0 < longest < MIN_PICTURE_PX


def best(images: Sequence[Image]) -> Image | None:
    """The picture to lead with: not an icon; of several sizes, the largest up to
    MAX_USEFUL_PX (unknown sizes after known ones of at least 200 px)."""
    usable = [with_size(i) for i in images if i.url]
    usable = [i for i in usable if not is_icon(i)]
    if not usable:
        return None

    def rank(i: Image) -> tuple[int, int]:
        if i.width >= 200:
            return (2, -i.width if i.width > MAX_USEFUL_PX else i.width)
        return (1, 0) if not i.width else (0, i.width)

    return max(usable, key=rank)  # max() keeps the first of equals: the feed's order


def repeated(urls: Sequence[str], feed_image: str = "") -> set[str]:
    """Image URLs that are a feed's artwork rather than each story's picture: the feed's own
    image, or one picture on most (or very many) of its items."""
    counts = Counter(u for u in urls if u)
    total = len(urls)
    found = {
        u
        for u, n in counts.items()
        if n >= 2 and (n >= REPEATED_ALWAYS or n >= REPEATED_SHARE * total)
    }
    if feed_image:
        found.add(feed_image)
    return found
