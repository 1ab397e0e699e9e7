"""Read feed bytes into raw entries: RSS/Atom/RDF via feedparser, JSON Feed by hand.

No network and no sanitizing here: `read_feed` either returns a `RawFeed` or raises
`FeedError` with a one-line reason ("not a feed: got an HTML page", "empty response").
Normalizing raw entries into `Item`s is the ingest pipeline's job.
"""

from __future__ import annotations

import codecs
import html as htmllib
import io
import json
import re
import time
import xml.sax
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from newsletter.errors import FeedError
from newsletter.ingest import images as feed_images
from newsletter.ingest.bounds import (
    cap_author_text,
    cap_elements,
    defuse_entities,
    markup_in_ascii,
)
from newsletter.ingest.dates import parse_date
from newsletter.ingest.spans import entry_spans
from newsletter.text import html_to_text

# Bounded work: feeds list newest first, and nobody wants more than this from one feed.
MAX_ENTRIES = 500
# A gzip file named .xml (served without Content-Encoding) is inflated up to this size.
MAX_INFLATED_BYTES = 50_000_000
# Title, author, category and feed title are cut to this many characters (fetch.max_field_chars)
MAX_FIELD_CHARS = 500

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_UTF8_NAMES = {"utf-8", "utf8", "utf_8"}
_XML_ENCODING = re.compile(
    rb"""^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*["'])([A-Za-z0-9._:-]+)(["'])"""
)
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*|<\?xml[^>]*>\s*)*(?:<!doctype\s+html|<html\b|<head\b|<body\b)",
    re.I | re.S,
)
_LINK_TAG = re.compile(rb"<link\b[^>]*>", re.I)
_FEED_TYPE = re.compile(rb"""type\s*=\s*["']?application/(?:rss\+xml|atom\+xml|feed\+json)""", re.I)
_HREF = re.compile(rb"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_CODE_TAG = re.compile(r"<(?:script|style|iframe|object|embed)\b", re.I)
_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w:.-]*)")


@dataclass
class RawEntry:
    """One entry as the feed states it: plain-text title/author, unsanitized body."""

    id: str = ""
    link: str = ""
    title: str = ""
    author: str = ""
    published: datetime | None = None
    categories: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # media:thumbnail/content, enclosures
    body: str = ""
    body_is_html: bool = True
    body_base: str = ""  # an explicit xml:base for the body, when it differs from the feed's
    language: str = ""
    image_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # url -> (w, h)
    subtitle: str = ""  # itunes:subtitle, plain text
    bodies: list[tuple[str, bool]] = field(default_factory=list)  # every text: (value, is html)
    media_types: list[str] = field(default_factory=list)  # enclosures: "audio/mpeg", ...


@dataclass
class RawFeed:
    """A parsed feed before normalization."""

    title: str = ""
    link: str = ""
    language: str = ""
    entries: list[RawEntry] = field(default_factory=list)
    problem: str = ""  # malformed XML that feedparser recovered from ("" when well-formed)
    image: str = ""  # the feed's own image (logo or show artwork)
    # A hash of each entry's own bytes, matching `entries`; None when the document could not
    # be cut into its entries (malformed XML, JSON Feed) and entries are known by content
    byte_hashes: list[str] | None = None
    # the byte hashes of the entries `keep` turned down: never handed to feedparser
    passed_over: list[str] = field(default_factory=list)


# Given the feed-level fields (a RawFeed without entries), which entries (by the hash of
# their bytes) to read: the others are known to be stored unchanged.
Keep = Callable[[RawFeed], Callable[[str], bool]]


def read_feed(
    data: bytes,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    max_field_chars: int = MAX_FIELD_CHARS,
    keep: Keep | None = None,
) -> RawFeed:
    """Parse feed bytes; raises FeedError with a one-line reason.

    Links stay as the feed wrote them (callers resolve them): given a base URL, feedparser
    would also rewrite relative guids, and an item's identity must not depend on the URL
    the feed was fetched from. `base_url` only names the page an HTML error points to.
    Text fields (titles, authors, categories) are cut to `max_field_chars`; authors before
    feedparser sees them, as are elements past the counts feedparser handles in bounded time
    (see newsletter.ingest.bounds).

    With `keep`, a well-formed document is first read without its entries; feedparser
    then reads only the entries `keep` wants (see newsletter.ingest.spans).
    """
    limit = max(1, max_field_chars)
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    data = _maybe_gunzip(data)
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start:
        raise FeedError("empty response")
    if start[:1] in (b"{", b"["):
        return _read_json(start, limit)
    data, headers = markup_in_ascii(*_prefer_utf8(data, headers))
    data = cap_author_text(cap_elements(defuse_entities(data), limit, MAX_ENTRIES), limit)
    fp_headers = {}
    if headers.get("content-type"):
        fp_headers["content-type"] = headers["content-type"]
    if headers.get("content-language"):
        fp_headers["content-language"] = headers["content-language"]
    spans = entry_spans(data)
    hashes = spans.hashes(data) if spans is not None else None
    if spans is not None and hashes and keep is not None:
        bare = _feedparser(spans.without(data, [False] * len(hashes)), fp_headers)
        if not _bozo_reason(bare):
            head = _from_feedparser(bare, "", limit)
            wanted = keep(head)
            chosen = [wanted(h) for h in hashes]
            passed_over = [h for h, c in zip(hashes, chosen, strict=True) if not c]
            kept = [h for h, c in zip(hashes, chosen, strict=True) if c]
            if not kept:
                return replace(head, passed_over=passed_over)
            parsed = _feedparser(spans.without(data, chosen), fp_headers)
            if len(parsed.entries) == len(kept) and not _bozo_reason(parsed):
                feed = _from_feedparser(parsed, "", limit)
                return replace(feed, byte_hashes=kept[:MAX_ENTRIES], passed_over=passed_over)
    parsed = _feedparser(data, fp_headers)
    if hashes is not None and len(parsed.entries) != len(hashes):
        hashes = None  # feedparser saw other entries than the elements cut out: by content
    problem = _bozo_reason(parsed)
    if not parsed.entries:
        if not parsed.get("version"):
            if _HTML_START.match(start[:4096]) or "html" in headers.get("content-type", ""):
                raise FeedError(_html_reason(start, base_url))
            if problem:
                raise FeedError(f"not a feed: malformed XML ({problem})")
            root = _ROOT_TAG.search(start[:4096])
            found = f"<{root.group(1).decode('ascii', 'replace')}>" if root else "no XML"
            raise FeedError(f"not a feed: found {found}, not RSS, Atom or JSON Feed")
        if problem:
            raise FeedError(f"malformed feed with no readable entries ({problem})")
        # Valid but empty: usually a wrong URL or a broken generator, worth a report line.
        raise FeedError("no entries: the feed is valid but lists nothing")
    feed = _from_feedparser(parsed, problem, limit)
    return replace(feed, byte_hashes=hashes[:MAX_ENTRIES]) if hashes is not None else feed


def _feedparser(data: bytes, headers: Mapping[str, str]) -> Any:
    return feedparser.parse(
        io.BytesIO(data),  # a stream: given bytes, feedparser would first try them as a path
        response_headers=dict(headers),
        sanitize_html=False,  # nh3 sanitizes later, faster and with our allow-list
        resolve_relative_uris=False,  # done during sanitizing, against the item link
    )


# -- feedparser --------------------------------------------------------------------------
def _from_feedparser(parsed: Any, problem: str, limit: int) -> RawFeed:
    feed = parsed.feed
    entries = [_entry(e, limit) for e in parsed.entries[:MAX_ENTRIES]]
    return RawFeed(
        title=_detail_text(feed.get("title_detail"), feed.get("title"))[:limit],
        link=str(feed.get("link") or ""),
        language=str(feed.get("language") or ""),
        entries=entries,
        problem=problem,
        image=str((feed.get("image") or {}).get("href") or ""),
    )


def _entry(e: Any, limit: int) -> RawEntry:
    detail = _best_body(e)
    body_base = str(detail.get("base") or "") if detail else ""
    language = (detail or {}).get("language") or (e.get("title_detail") or {}).get("language")
    guid = str(e.get("id") or "").strip()
    link = str(e.get("link") or "").strip()
    if e.get("guidislink") and link == guid and not guid.lower().startswith(("http", "//")):
        link = ""  # feedparser makes a "permalink" guid the link even when it is no URL
    pictures = feed_images.from_entry(e)
    return RawEntry(
        id=guid,
        link=link,
        title=_detail_text(_own_detail(e, "title"), e.get("title"))[:limit],
        author=_author(e)[:limit],
        # dict.get: FeedParserDict.get would map a missing key to another, with a warning
        published=_struct_time(
            dict.get(e, "published_parsed")
            or dict.get(e, "updated_parsed")
            or dict.get(e, "created_parsed")
        )
        or _date_text(e, language),
        categories=[
            str(t.get("term") or t.get("label") or "")[:limit] for t in e.get("tags") or [] if t
        ],
        images=[p.url for p in pictures],
        body=str(detail.get("value") or "") if detail else "",
        body_is_html=_is_html(detail.get("type")) if detail else False,
        body_base=body_base,  # only an explicit xml:base: we give feedparser no base URL
        language=str(language or ""),
        image_sizes={p.url: (p.width, p.height) for p in pictures},
        subtitle=_detail_text(e.get("subtitle_detail"), e.get("subtitle")),
        bodies=_bodies(e),
        media_types=_media_types(e),
    )


def _own_detail(e: Any, key: str) -> Mapping[str, Any] | None:
    """`e[key + "_detail"]` when it still describes `e[key]`.

    feedparser keeps an item's own `<title>` (or summary) in `e[key]` against elements of
    the same name nested deeper in the item (`<author><title>Job title</title></author>`,
    `<og><title>`, an item's `<image><title>`), but lets them overwrite the `_detail` copy.
    """
    detail = e.get(key + "_detail")
    value = e.get(key)
    if not detail or value is None or detail.get("value") == value:
        return detail
    looks_html = "<" in str(value) and re.search(r"</?[A-Za-z][^>]*>", str(value))
    return {**detail, "value": value, "type": "text/html" if looks_html else "text/plain"}


def _date_text(e: Any, language: Any) -> datetime | None:
    """A date feedparser left unparsed (localized names, day-first numbers), or None."""
    for key in ("published", "updated", "created"):
        found = parse_date(str(dict.get(e, key) or ""), str(language or ""))
        if found is not None:
            return found
    return None


def _bodies(e: Any) -> list[tuple[str, bool]]:
    """Every text the entry carries (summary/description, content), for genre rules."""
    details = [_own_detail(e, "summary"), *(e.get("content") or [])]
    return [
        (str(d.get("value")), _is_html(d.get("type")))
        for d in details
        if d and str(d.get("value") or "").strip()
    ]


def _media_types(e: Any) -> list[str]:
    """The media types of the entry's enclosures (an audio one makes it an episode)."""
    found = [
        str(link.get("type") or "")
        for link in e.get("links") or []
        if link.get("rel") == "enclosure"
    ]
    for media in e.get("media_content") or []:
        medium = str(media.get("medium") or "")
        found.append(str(media.get("type") or (f"{medium}/" if medium else "")))
    return [t for t in found if t]


def _best_body(e: Any) -> Mapping[str, Any] | None:
    """content:encoded / Atom content over the summary; the longest HTML one if several."""
    contents = [c for c in e.get("content") or [] if c and (c.get("value") or "").strip()]
    if contents:
        html_ones = [c for c in contents if _is_html(c.get("type"))] or contents
        return max(html_ones, key=lambda c: len(c.get("value") or ""))
    summary = _own_detail(e, "summary")
    if summary and (summary.get("value") or "").strip():
        return summary
    return None


def _is_html(content_type: str | None) -> bool:
    return (content_type or "text/html").lower() in _HTML_TYPES


def _detail_text(detail: Mapping[str, Any] | None, fallback: Any) -> str:
    """Plain text of a title-like construct (HTML titles lose their tags)."""
    value = str((detail or {}).get("value") or fallback or "")
    is_html = bool(detail) and _is_html(detail.get("type"))  # type: ignore[union-attr]
    # feedparser calls a title with <script> "plain text" (an unknown tag); it is markup
    # all the same, and a literal "<script>" title is never what the author meant.
    if (is_html and ("<" in value or "&" in value)) or _CODE_TAG.search(value):
        value = html_to_text(value)
    return re.sub(r"\s+", " ", value).strip()


def _author(e: Any) -> str:
    name = str((e.get("author_detail") or {}).get("name") or "")
    if not name:
        name = str(e.get("author") or "")
        if "@" in name:  # a bare e-mail address is not a name worth showing
            name = ""
    if "<" in name:
        name = html_to_text(name)
    return re.sub(r"\s+", " ", name).strip()


def _struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's parsed dates are UTC struct_times; None when absent or impossible."""
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _bozo_reason(parsed: Any) -> str:
    """Why the XML was malformed, or "" when it was fine (or only benignly odd)."""
    if not parsed.get("bozo"):
        return ""
    error = parsed.get("bozo_exception")
    # Charset overrides and odd content types are recovered from completely.
    if error is None or isinstance(error, feedparser.ThingsNobodyCaresAboutButMe):
        return ""
    if isinstance(error, xml.sax.SAXParseException):
        return f"{error.getMessage()} at line {error.getLineNumber()}"
    return re.sub(r"\s+", " ", str(error) or type(error).__name__).strip()


# -- sniffing ----------------------------------------------------------------------------
def _maybe_gunzip(data: bytes) -> bytes:
    """Inflate a gzip file served or saved without saying so (e.g. feed.xml.gz)."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(data, MAX_INFLATED_BYTES + 1)
    except zlib.error:
        return data
    if len(out) > MAX_INFLATED_BYTES:
        raise FeedError("not a feed: a gzip file that inflates to more than 50 MB")
    return out


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16's
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _prefer_utf8(data: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Trust the bytes over a wrong charset declaration when they are clearly Unicode.

    A byte order mark is authoritative. Text in a single-byte or East Asian charset
    essentially never forms valid multi-byte UTF-8, so a body that decodes as UTF-8 and has
    non-ASCII bytes is UTF-8 whatever the HTTP header or XML declaration claims (a common
    publishing mistake). Plain ASCII declared as UTF-16 or EBCDIC is read as ASCII.
    Anything else is left to feedparser's own detection.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            data = data.decode(codec, "replace").encode("utf-8")
            break
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return data, headers
    match = _XML_ENCODING.match(data[:300])
    declared = match.group(2).decode("ascii").lower() if match else ""
    if data.isascii() and _ascii_compatible(declared):
        return data, headers  # nothing to fix: any ASCII-based charset reads it right
    if match and declared not in _UTF8_NAMES:
        data = data[: match.start(2)] + b"utf-8" + data[match.end(2) :]
    media_type = headers.get("content-type", "").split(";", 1)[0].strip() or "application/xml"
    return data, {**headers, "content-type": f"{media_type}; charset=utf-8"}


def _ascii_compatible(name: str) -> bool:
    if not name:
        return True
    try:
        return "<?xml".encode(codecs.lookup(name).name) == b"<?xml"
    except (LookupError, UnicodeError):
        return False


def _html_reason(data: bytes, base_url: str) -> str:
    """ "not a feed: got an HTML page", naming the feed the page advertises if any."""
    for tag in _LINK_TAG.findall(data[:200_000]):
        if b"alternate" not in tag.lower() or not _FEED_TYPE.search(tag):
            continue
        href = _HREF.search(tag)
        if not href:
            continue
        raw = next(g for g in href.groups() if g is not None)
        target = htmllib.unescape(raw.decode("utf-8", "replace")).strip()
        if base_url:
            target = urljoin(base_url, target)
        if target:
            return f"not a feed: got an HTML page (it links to a feed at {target}; use that URL)"
    return "not a feed: got an HTML page"


# -- JSON Feed ---------------------------------------------------------------------------
def _read_json(data: bytes, limit: int) -> RawFeed:
    """A JSON Feed (https://jsonfeed.org, 1.0 or 1.1); it is UTF-8 by definition."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FeedError("malformed JSON Feed: not UTF-8") from None
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}, column {e.colno}"
        raise FeedError(f"malformed JSON Feed: {e.msg} ({where})") from None
    version = str(doc.get("version", "")) if isinstance(doc, dict) else ""
    if not isinstance(doc, dict) or ("jsonfeed.org" not in version and "items" not in doc):
        raise FeedError("not a feed: got JSON that is not a JSON Feed")
    items = doc.get("items") or []
    if not isinstance(items, list):
        raise FeedError("malformed JSON Feed: 'items' is not a list")
    return RawFeed(
        title=_plain(doc.get("title"))[:limit],
        link=_plain(doc.get("home_page_url")),
        language=_plain(doc.get("language")),
        entries=[_json_entry(it, limit) for it in items[:MAX_ENTRIES] if isinstance(it, dict)],
    )


def _json_entry(item: dict[str, Any], limit: int) -> RawEntry:
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item.get("author")]
    names = [_plain(a.get("name")) for a in authors if isinstance(a, dict)]
    if _plain(item.get("content_html")):
        body, is_html = _plain(item["content_html"]), True
    else:
        body, is_html = _plain(item.get("content_text")) or _plain(item.get("summary")), False
    raw_tags = item.get("tags")
    tags = raw_tags if isinstance(raw_tags, list) else []
    raw_attachments = item.get("attachments")
    attachments = raw_attachments if isinstance(raw_attachments, list) else []
    return RawEntry(
        id=_plain(item.get("id")),
        link=_plain(item.get("url")) or _plain(item.get("external_url")),
        title=re.sub(r"\s+", " ", _plain(item.get("title"))).strip()[:limit],
        author=next((n for n in names if n), "")[:limit],
        published=_rfc3339(item.get("date_published"))
        or _rfc3339(item.get("date_modified"))
        or parse_date(_plain(item.get("date_published")) or _plain(item.get("date_modified"))),
        categories=[_plain(t)[:limit] for t in tags],
        images=[u for u in (_plain(item.get("image")), _plain(item.get("banner_image"))) if u],
        body=body,
        body_is_html=is_html,
        language=_plain(item.get("language")),
        bodies=[(v, h) for v, h in _json_bodies(item) if v],
        media_types=[_plain(a.get("mime_type")) for a in attachments if isinstance(a, dict)],
    )


def _json_bodies(item: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        (_plain(item.get("content_html")), True),
        (_plain(item.get("content_text")), False),
        (_plain(item.get("summary")), False),
    ]


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # JSON Feed 1.0 allowed numeric ids
    return ""


def _rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
