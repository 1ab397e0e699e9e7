"""Allow-list sanitizing of feed HTML (nh3), with every kept URL made absolute.

Feed HTML is hostile input: it ends up in mail clients and on the archive site. Only an
email-friendly set of tags survives; scripts, styles, frames, forms, event handlers and
`style` attributes are dropped, links may only be http(s)/mailto and images only http(s).
"""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urljoin, urlsplit

import nh3

from newsletter.ingest.decode import without_controls

# What a digest can show in any mail client. Headings are folded into h2-h4 (see `_HEADINGS`).
TAGS: frozenset[str] = frozenset(
    {
        "p",
        "div",
        "br",
        "hr",
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "sub",
        "sup",
        "small",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "q",
        "cite",
        "h2",
        "h3",
        "h4",
        "img",
        "figure",
        "figcaption",
        "code",
        "pre",
        "kbd",
        "abbr",
        "table",
        "caption",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
    }
)
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Tags removed together with their content: code, styling, and fallback text of embedded
# players ("your browser does not support video") that would only pollute the summary.
# <noscript> too: html5ever reads its content as raw text, so it would leak as escaped markup.
CLEAN_CONTENT_TAGS: frozenset[str] = frozenset(
    {
        "script",
        "style",
        "iframe",
        "noscript",
        "template",
        "svg",
        "math",
        "object",
        "video",
        "audio",
        "button",
        "select",
        "textarea",
        "noembed",
        "noframes",
    }
)
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https"})
# Feed bodies can be huge (inline base64 images, whole books). A digest shows a summary and a
# link, the summarizer needs the opening paragraphs and a mail must stay under ~100 KB, so
# keeping ~300 KB of HTML covers any real article while a runaway body cannot bloat the
# store or slow the pipeline down.
MAX_HTML_CHARS = 300_000

_HEADINGS = [
    (re.compile(r"<(/?)h1\b", re.I), r"<\1h2"),
    (re.compile(r"<(/?)h[56]\b", re.I), r"<\1h4"),
]
_DATA_URI = re.compile(r"""\ssrc\s*=\s*(["']?)data:[^"'\s>]*\1""", re.I)
# nh3 serializes attributes with double quotes, so these patterns on its output are exact.
_TRACKING_PIXEL = re.compile(r'<img\b[^>]*\b(?:width|height)="[01]"[^>]*>')
_IMG_WITHOUT_SRC = re.compile(r"<img\b(?![^>]*\bsrc=)[^>]*>")
_IMG_SRC = re.compile(r'<img\b[^>]*?\bsrc="([^"]+)"')


def absolute_url(value: str, base: str = "", schemes: frozenset[str] = LINK_SCHEMES) -> str:
    """`value` resolved against `base`, or "" when the result's scheme is not allowed."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        url = urljoin(base, value) if base else value
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an invalid IPv6 literal
        return ""
    if scheme not in schemes:
        return ""
    if scheme in ("http", "https") and not urlsplit(url).hostname:
        return ""
    return url


def sanitize_html(html: str, base_url: str = "", max_chars: int = MAX_HTML_CHARS) -> str:
    """Allow-listed HTML with absolute http(s)/mailto links and http(s) images."""
    if not html or not html.strip():
        return ""
    # data: URIs are never kept; dropping them first keeps the size cap for real content.
    html = _DATA_URI.sub("", html)
    html = _truncate(html, max_chars)
    for pattern, repl in _HEADINGS:
        html = pattern.sub(repl, html)
    cleaned = _clean(html, base_url)
    if len(cleaned) > max_chars:  # escaping can grow the text: cut the input once more
        shorter = int(len(html) * max_chars / len(cleaned) * 0.95)
        cleaned = _clean(_truncate(html, shorter), base_url)
    cleaned = _TRACKING_PIXEL.sub("", cleaned)  # 1x1 images only count opens
    cleaned = _IMG_WITHOUT_SRC.sub("", cleaned)
    return without_controls(cleaned).strip()


def _truncate(html: str, max_chars: int) -> str:
    """At most `max_chars`, cut before a tag rather than inside one."""
    if len(html) <= max_chars:
        return html
    cut = html.rfind("<", 0, max_chars)  # don't leave half a tag behind
    return html[: cut if cut > max_chars // 2 else max_chars]


def _clean(html: str, base_url: str) -> str:
    """One nh3 pass with our allow-list, resolving URLs against `base_url`."""

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        # nh3 has already dropped disallowed schemes; relative URLs reach us and are
        # resolved here, then checked again (a relative URL must not become a bad scheme).
        if attribute == "href":
            return absolute_url(value, base_url, LINK_SCHEMES) or None
        if attribute == "src":
            return absolute_url(value, base_url, IMAGE_SCHEMES) or None
        return value

    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes=ATTRIBUTES,
        attribute_filter=rewrite,
        url_schemes=set(LINK_SCHEMES),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


def text_to_html(text: str) -> str:
    """Plain text as escaped HTML paragraphs (blank lines split paragraphs)."""
    paragraphs = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip())
    return "".join(
        "<p>" + htmllib.escape(p.strip()).replace("\n", "<br>") + "</p>"
        for p in paragraphs
        if p.strip()
    )


def first_image(html: str, schemes: frozenset[str] = frozenset({"https"})) -> str:
    """The first <img> source in sanitized HTML whose scheme is allowed, or ""."""
    for match in _IMG_SRC.finditer(html or ""):
        src = htmllib.unescape(match.group(1))
        if urlsplit(src).scheme.lower() in schemes:
            return src
    return ""
