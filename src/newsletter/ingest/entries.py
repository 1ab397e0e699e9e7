"""From a feed's bytes to items: parse (newsletter.ingest.parse), then normalize each
entry (text, links, images, keys, language) and sanitize its HTML.

Imported by `newsletter.ingest.feeds` only when a feed brought a body to read, so a build
whose feeds all answered "not modified" loads no parser.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsletter.config import FeedConfig
from newsletter.errors import FeedError
from newsletter.ingest import images as feed_images
from newsletter.ingest.decode import decode_title, without_controls
from newsletter.ingest.fetch import is_http, one_line
from newsletter.ingest.genres import item_text
from newsletter.ingest.parse import MAX_FIELD_CHARS, RawEntry, RawFeed, read_feed
from newsletter.ingest.sanitize import (
    IMAGE_SCHEMES,
    absolute_url,
    sanitize_html,
    text_to_html,
)
from newsletter.model import FeedResult, Item

logger = logging.getLogger(__name__)

# Plain text feeds the summarizer, which only needs the opening of an article; 100k
# characters is a long book chapter, and keeps summarizing time bounded.
MAX_TEXT_CHARS = 100_000
MAX_TITLE_CHARS = 300
MAX_AUTHOR_CHARS = 200
MAX_CATEGORIES = 20
MAX_CATEGORY_CHARS = 100
MAX_KEY_CHARS = 500  # longer guids are hashed: keys are compared and indexed
HTTP = frozenset({"http", "https"})
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid)$", re.I)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")


def parse_feed(
    data: bytes,
    url: str,
    feed_config: FeedConfig | None = None,
    headers: Mapping[str, str] | None = None,
    known: Mapping[str, str] | None = None,
    max_field_chars: int = MAX_FIELD_CHARS,
) -> FeedResult:
    """Parse feed bytes into a FeedResult with normalized Items, or a one-line error.

    Entries whose raw-entry hash is in `known` (hash -> key of the feed's stored items:
    stored already, unchanged) are not normalized again, and in a well-formed document not
    even parsed: they are counted in `unchanged`, not returned."""
    known = known or {}
    start = time.perf_counter()
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    base = headers.get("content-location") or url
    base = base if is_http(base) else ""

    def keep(bare: RawFeed) -> Callable[[str], bool]:
        context = feed_context(bare, url, feed_config, base)
        return lambda byte_hash: stored_hash(context, byte_hash) not in known

    try:
        raw = read_feed(data, base, headers, max_field_chars, keep if known else None)
        context = feed_context(raw, url, feed_config, base)
        items, unchanged = make_items(raw, context, known)
        if raw.entries and not items and not unchanged:
            if raw.problem:
                raise FeedError(f"malformed feed with no readable entries ({raw.problem})")
            raise FeedError("no usable entries: none has a title, link or text")
        if raw.problem:  # tolerated: many real feeds are slightly malformed
            logger.info("feed %s is malformed but readable: %s", url, raw.problem)
        title = raw.title[:MAX_TITLE_CHARS]
        result = FeedResult(
            url=url,
            title=title,
            items=tuple(items),
            unchanged=unchanged,
            source=context.source,
            language=context.language if context.language_override else "",
        )
    except FeedError as e:
        result = FeedResult(url=url, error=one_line(str(e)))
    except Exception as e:  # a parser bug on hostile input: report it as this feed's failure
        logger.exception("cannot parse %s", url)
        reason = one_line(f"cannot parse the feed: {type(e).__name__}: {e}")
        result = FeedResult(url=url, error=reason)
    return replace(result, elapsed=time.perf_counter() - start)


# -- normalization -----------------------------------------------------------------------
def make_items(
    raw: RawFeed, context: _Context, known: Mapping[str, str] | None = None
) -> tuple[list[Item], int]:
    """Normalize a parsed feed's entries into Items (deduplicated by key, feed order), in
    the feed's `context` (see `feed_context`).

    Entries whose raw-entry hash is in `known` (hash -> key of stored items) are skipped,
    those `read_feed` passed over included; an entry with the key of one of them is a
    second copy of a story the feed still carries as stored, and is left out too (taking
    it would edit the stored item, and the next run would edit it back).
    Returns (items, skipped)."""
    known = known or {}
    passed = [stored_hash(context, byte_hash) for byte_hash in raw.passed_over]
    still_there = {known[h] for h in passed if h in known}
    skipped = len(raw.passed_over)
    made: list[Item] = []
    for n, entry in enumerate(raw.entries):
        if raw.byte_hashes is not None:
            digest = stored_hash(context, raw.byte_hashes[n])
        else:
            digest = entry_hash(entry, context)
        if digest in known:
            skipped += 1
            still_there.add(known[digest])
            continue
        item = make_item(entry, context)
        if item is not None:
            made.append(replace(item, entry_hash=digest))
    items: dict[str, Item] = {}
    for item in made:
        if item.key not in items and item.key not in still_there:
            items[item.key] = item
    # the show's artwork or the site's logo on every item is no picture of each story
    artwork = feed_images.repeated(
        [i.image for i in items.values()],
        absolute_url(raw.image, context.link_base, IMAGE_SCHEMES),
    )
    kept = [
        replace(i, image="", image_width=0, image_height=0) if i.image in artwork else i
        for i in items.values()
    ]
    return kept, skipped


# Bump when normalizing the same entry gives a different Item: stored entries are redone.
NORMALIZE_VERSION = "1"


def feed_context(
    raw: RawFeed, feed_url: str, feed_config: FeedConfig | None, base_url: str
) -> _Context:
    """What normalizing an entry takes from its feed (its entries play no part)."""
    feed_link = absolute_url(raw.link, base_url, HTTP)
    override = _language(feed_config.language) if feed_config else ""
    return _Context(
        feed_url=feed_url,
        feed_link=feed_link,
        link_base=base_url or feed_link,
        source=(feed_config.name if feed_config else "")
        or short_title(decode_title(raw.title))
        or _host(feed_url),
        language=override or _language(raw.language),
        language_override=bool(override),
    )


def entry_hash(entry: RawEntry, ctx: _Context) -> str:
    """A hash of everything an Item is made from: the raw entry (every field) and the
    feed-level context (base URL, source name, language). For an entry whose own bytes
    could not be cut out of the document (see `stored_hash`)."""
    fields = [f"{f.name}={getattr(entry, f.name)!r}" for f in dataclasses.fields(entry)]
    return _hash([NORMALIZE_VERSION, repr(ctx), *fields])


def stored_hash(ctx: _Context, byte_hash: str) -> str:
    """The same for an entry known by the hash of its bytes: what `Item.entry_hash` holds,
    so the next version of the feed can pass the entry over before parsing it."""
    return _hash([NORMALIZE_VERSION, repr(ctx), "bytes", byte_hash])


def _hash(parts: list[str]) -> str:
    text = "\x1f".join(parts)
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


_TAGLINE = re.compile(r"\s+[|–—:·-]\s+")


def short_title(title: str) -> str:
    """A feed's name without its tagline: "Site | News, Updates" -> "Site"."""
    head = _TAGLINE.split(title.strip(), maxsplit=1)[0].strip()
    return head if len(head) >= 3 else title.strip()


@dataclass(frozen=True)
class _Context:
    """What the entries of one feed share on their way to Items."""

    feed_url: str
    feed_link: str  # the site the feed belongs to (absolute http) or ""
    link_base: str  # what relative item links resolve against
    source: str
    language: str
    language_override: bool  # FeedConfig.language wins over what the feed declares


def make_item(entry: RawEntry, ctx: _Context) -> Item | None:
    """One Item with every fallback applied, or None when the entry has nothing usable."""
    link = absolute_url(entry.link, ctx.link_base, HTTP)
    content_base = absolute_url(entry.body_base, ctx.link_base, HTTP) or link or ctx.feed_link
    body = entry.body if entry.body_is_html else text_to_html(entry.body)
    html = sanitize_html(body, content_base)
    language = ctx.language if ctx.language_override else _language(entry.language) or ctx.language
    # site chrome ("Subscribe to get…", "Read more", "submitted by … [link]") and sponsor
    # reads are not article text; sentence-level cleanup is left to the summarizer
    text = _cap_text(item_text(entry, html, language))
    title = _cap(decode_title(entry.title), MAX_TITLE_CHARS)
    if not (title or text or link or entry.id):
        return None
    title = title or _title_from_text(text) or "(untitled)"
    content_hash = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    if entry.id:
        key = entry.id if len(entry.id) <= MAX_KEY_CHARS else "sha256:" + _sha(entry.id)
    elif link:
        key = canonical_url(link)
    else:
        key = "sha256:" + content_hash
    picture = _picture(entry, html, content_base)
    return Item(
        key=key,
        feed_url=ctx.feed_url,
        link=link or ctx.feed_link,
        title=title,
        author=_cap(decode_title(entry.author), MAX_AUTHOR_CHARS),
        published=entry.published,
        categories=_categories(entry.categories),
        image=picture.url if picture else "",
        image_width=picture.width if picture else 0,
        image_height=picture.height if picture else 0,
        html=html,
        text=text,
        language=language,
        source=ctx.source,
        content_hash=content_hash,
    )


def _picture(entry: RawEntry, html: str, base: str) -> feed_images.Image | None:
    """The feed's best https picture of the item, else the body's; never an icon."""
    offered = [
        feed_images.Image(absolute_url(u, base, IMAGE_SCHEMES), *entry.image_sizes.get(u, (0, 0)))
        for u in entry.images
    ]
    # a body <img> of a picture the feed sized (and perhaps found too small) keeps that size
    sized = {i.url: i for i in offered}
    in_body = [sized.get(i.url, i) for i in feed_images.from_html(html)]
    for group in (offered, in_body):
        found = feed_images.best([i for i in group if i.url.startswith("https://")])
        if found is not None:
            return found
    return None


def canonical_url(url: str) -> str:
    """A link as an identity: lower-case scheme/host, no fragment, no tracking parameters."""
    parts = urlsplit(url)
    netloc = parts.netloc.lower()
    if parts.scheme.lower() == "http" and netloc.endswith(":80"):
        netloc = netloc[:-3]
    elif parts.scheme.lower() == "https" and netloc.endswith(":443"):
        netloc = netloc[:-4]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _TRACKING_PARAMS.match(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def _categories(terms: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for term in terms:
        clean = _cap(without_controls(term), MAX_CATEGORY_CHARS)
        if clean and clean.casefold() not in seen:
            seen[clean.casefold()] = clean
    return tuple(seen.values())[:MAX_CATEGORIES]


def _language(value: str) -> str:
    tag = (value or "").strip().lower().replace("_", "-")
    return tag if _LANGUAGE.match(tag) else ""


def _host(url: str) -> str:
    if is_http(url):
        host = urlsplit(url).hostname or url
        return host.removeprefix("www.")
    return PurePath(urlsplit(url).path if url.startswith("file:") else url).stem or url


def _title_from_text(text: str, words: int = 12, limit: int = 80) -> str:
    """The first words of the text, as a stand-in title."""
    first = text.split("\n", 1)[0].split()
    title = " ".join(first[:words])
    if len(title) > limit:
        title = title[:limit].rsplit(" ", 1)[0]
    return title + ("…" if title != " ".join(first) else "")


def _cap(value: str, limit: int) -> str:
    value = re.sub(r"\s+", " ", value or "").strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _cap_text(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    cut = text.rfind("\n\n", 0, MAX_TEXT_CHARS)
    return text[: cut if cut > MAX_TEXT_CHARS // 2 else MAX_TEXT_CHARS].rstrip()


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
