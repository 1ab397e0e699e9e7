"""Ingest: fetch every feed that is due concurrently, parse and normalize new content, store it.

A failing feed becomes a `FeedResult` with a one-line reason and never stops the others.
A feed still fresh is not requested (`newsletter.ingest.freshness`); a 304 (or an
unchanged local file) is not parsed at all; in a changed feed, entries stored unchanged
(same raw-entry hash) are not normalized again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import PurePath
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsletter.config import Config, FeedConfig
from newsletter.errors import FeedError
from newsletter.ingest import images as feed_images
from newsletter.ingest.decode import decode_title
from newsletter.ingest.fetch import FetchResponse, fetch, is_http, one_line
from newsletter.ingest.freshness import Hints, decide, feed_hints, next_fetch
from newsletter.ingest.genres import item_text
from newsletter.ingest.hosts import fetch_all, host_of
from newsletter.ingest.parallel import ParsePool
from newsletter.ingest.parse import MAX_FIELD_CHARS, RawEntry, RawFeed, read_feed
from newsletter.ingest.sanitize import (
    IMAGE_SCHEMES,
    absolute_url,
    sanitize_html,
    text_to_html,
)
from newsletter.model import FeedResult, Item
from newsletter.store import Store
from newsletter.store.items import FeedState

logger = logging.getLogger(__name__)

Fetcher = Callable[[str, FeedState | None, Config], FetchResponse]

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


@dataclass
class IngestReport:
    """What one ingest run did, feed by feed and in total."""

    results: list[FeedResult] = field(default_factory=list)  # in the order feeds were given
    new: int = 0
    changed: int = 0
    parsed_items: int = 0  # items produced by parsing (0 when every feed answered 304)
    unchanged_items: int = 0  # entries of changed feeds skipped as already stored unchanged
    not_modified: int = 0
    fresh: int = 0  # feeds not requested: still fresh, or in their skip hours
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    parsed_feeds: int = 0  # feeds whose bytes went through the parser
    fetch_seconds: float = 0.0  # wall time until the last feed's bytes had arrived
    elapsed: float = 0.0  # wall time of the whole run (fetch, parse, store)

    @property
    def feeds(self) -> int:
        return len(self.results)


def ingest(
    config: Config,
    store: Store,
    feeds: Sequence[FeedConfig] | None = None,
    progress: Callable[[FeedResult], None] | None = None,
    fetcher: Fetcher | None = None,
    refetch: bool = False,
) -> IngestReport:
    """Fetch every feed that is due, parse what changed, store items and fetch state.

    A feed still fresh by its server's or its own word (see `newsletter.ingest.freshness`)
    is not requested unless `refetch`. Worker threads only fetch, at most
    `fetch.per_host` at once per host (see `newsletter.ingest.hosts`); this thread parses
    (with a worker process beside it when many feeds changed, see
    `newsletter.ingest.parallel`) and writes the store as responses arrive, so parsing
    overlaps the network waits and the store connection stays on the caller's thread.
    """
    start = time.perf_counter()
    wanted = list(config.feeds if feeds is None else feeds)
    unique = list({f.url: f for f in reversed(wanted)}.values())[::-1]  # first one wins
    states = {f.url: store.feed_state(f.url) for f in unique}
    report = IngestReport()
    results: dict[str, FeedResult] = {}
    now = store.clock()
    due: list[FeedConfig] = []
    decisions: dict[str, str] = {}
    for feed in unique:
        state = states[feed.url]
        go, why = (
            decide(
                now,
                state.fetched_at is not None,
                state.next_fetch_at,
                state.next_fetch_reason,
                Hints.from_json(state.hints),
                refetch,
            )
            if is_http(feed.url)
            else (True, "fetched: a local file (read every run)")
        )
        decisions[feed.url] = why
        if go:
            due.append(feed)
            continue
        store.record_skip(feed.url, why)
        skipped = FeedResult(url=feed.url, title=state.title, not_modified=True, skipped=True)
        results[feed.url] = skipped
        report.fresh += 1
        if progress is not None:
            progress(skipped)
    fetched_at: list[float] = []

    def fetch_one(feed: FeedConfig) -> FetchResponse | FeedResult:
        outcome = _fetch_guarded(feed, states[feed.url], config, fetcher or fetch)
        fetched_at.append(time.perf_counter())  # list.append is atomic
        return outcome

    responses = fetch_all(
        due,
        fetch_one,
        lambda f: host_of(f.url),
        config.fetch.concurrency,
        config.fetch.per_host,
    )

    def finish(
        feed: FeedConfig, response: FetchResponse | FeedResult, outcome: tuple[FeedResult, bool]
    ) -> None:
        result, parsed = outcome
        schedule, hints = _schedule(feed, states[feed.url], response, result, parsed, store.clock())
        _record(store, report, result, parsed, schedule, hints, decisions[feed.url])
        results[result.url] = result
        if progress is not None:
            progress(result)

    pool: ParsePool[tuple[FeedConfig, FetchResponse | FeedResult], tuple[FeedResult, bool]]
    pool = ParsePool(len(due))
    with closing(responses), pool:
        for feed, response in responses:
            state = states[feed.url]
            known = store.known_entries(feed.url) if _has_body(response) else frozenset()
            args = (feed, state, response, known, config.fetch.max_field_chars)
            if _has_body(response) and pool.has_room():
                pool.submit((feed, response), _to_result, *args)
            else:
                finish(feed, response, _to_result(*args))
            for (done, its_response), outcome in pool.finished():
                finish(done, its_response, outcome)
        for (done, its_response), outcome in pool.rest():
            finish(done, its_response, outcome)
    report.results = [results[f.url] for f in unique]
    report.failed = [(r.url, r.error) for r in report.results if r.error]
    report.fetch_seconds = max(fetched_at, default=start) - start
    report.elapsed = time.perf_counter() - start
    return report


def _has_body(response: FetchResponse | FeedResult) -> bool:
    return isinstance(response, FetchResponse) and response.ok and not response.not_modified


def _schedule(
    feed: FeedConfig,
    state: FeedState | None,
    response: FetchResponse | FeedResult,
    result: FeedResult,
    parsed: bool,
    now: datetime,
) -> tuple[tuple[datetime | None, str], str | None]:
    """When the feed may be requested next and why, and its hints to store (None: keep)."""
    if not is_http(feed.url) or not isinstance(response, FetchResponse):
        return (None, ""), None
    try:
        stored = Hints.from_json(state.hints if state else "")
        hints = feed_hints(response.body) if parsed else stored
        when = next_fetch(now, response.status, response.headers, hints, result.ok)
    except Exception:  # a hint we cannot read costs a request next run, never the run
        logger.exception("cannot read the freshness of %s", feed.url)
        return (None, ""), None
    return when, hints.to_json() if parsed else None


def _record(
    store: Store,
    report: IngestReport,
    result: FeedResult,
    parsed: bool,
    schedule: tuple[datetime | None, str] = (None, ""),
    hints: str | None = None,
    decision: str = "",
) -> None:
    """Store one feed's items and fetch state, and count them in the report."""
    if parsed:
        report.parsed_feeds += 1
        report.parsed_items += len(result.items)
        report.unchanged_items += result.unchanged
    if result.items:
        new, changed = store.upsert_items(result.items)
        report.new += new
        report.changed += changed
    store.record_fetch(result, schedule, hints, decision)
    if result.not_modified:
        report.not_modified += 1
    if result.error:
        logger.warning("feed %s failed: %s", result.url, result.error)


def fetch_feed(
    feed: FeedConfig, state: FeedState | None, config: Config, fetcher: Fetcher = fetch
) -> FeedResult:
    """Fetch and parse one feed (no store writes); never raises."""
    response = _fetch_guarded(feed, state, config, fetcher)
    return _to_result(feed, state, response, frozenset(), config.fetch.max_field_chars)[0]


def _fetch_guarded(
    feed: FeedConfig, state: FeedState | None, config: Config, fetcher: Fetcher
) -> FetchResponse | FeedResult:
    """The fetcher's response, or a failed FeedResult if the fetcher itself blew up."""
    try:
        return fetcher(feed.url, state, config)
    except Exception as e:  # one feed must never sink the run
        logger.exception("unexpected error fetching %s", feed.url)
        reason = one_line(f"internal error: {type(e).__name__}: {e}")
        return FeedResult(url=feed.url, error=reason)


def _to_result(
    feed: FeedConfig,
    state: FeedState | None,
    response: FetchResponse | FeedResult,
    known: frozenset[str] = frozenset(),
    max_field_chars: int = MAX_FIELD_CHARS,
) -> tuple[FeedResult, bool]:
    """The feed's result from its fetch, and whether its bytes were parsed."""
    if isinstance(response, FeedResult):
        return response, False
    if response.error:
        failed = FeedResult(
            url=feed.url, status=response.status, error=response.error, elapsed=response.elapsed
        )
        return failed, False
    if response.not_modified:  # nothing to parse: the stored items are current
        unchanged = FeedResult(
            url=feed.url,
            title=state.title if state else "",
            status=response.status,
            not_modified=True,
            etag=response.etag,
            last_modified=response.last_modified,
            elapsed=response.elapsed,
        )
        return unchanged, False
    headers = dict(response.headers)
    final = response.final_url or feed.url
    if is_http(final):
        headers["content-location"] = final  # relative links resolve against it
    parsed = parse_feed(response.body, feed.url, feed, headers, known, max_field_chars)
    return replace(
        parsed,
        status=response.status,
        etag=response.etag,
        last_modified=response.last_modified,
        elapsed=response.elapsed + parsed.elapsed,
    ), True


def parse_feed(
    data: bytes,
    url: str,
    feed_config: FeedConfig | None = None,
    headers: Mapping[str, str] | None = None,
    known: frozenset[str] = frozenset(),
    max_field_chars: int = MAX_FIELD_CHARS,
) -> FeedResult:
    """Parse feed bytes into a FeedResult with normalized Items, or a one-line error.

    Entries whose raw-entry hash is in `known` (stored already, unchanged) are not
    normalized again: they are counted in `unchanged`, not returned."""
    start = time.perf_counter()
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    base = headers.get("content-location") or url
    base = base if is_http(base) else ""
    try:
        raw = read_feed(data, base, headers, max_field_chars)
        items, unchanged = make_items(raw, url, feed_config, base, known)
        if raw.entries and not items and not unchanged:
            if raw.problem:
                raise FeedError(f"malformed feed with no readable entries ({raw.problem})")
            raise FeedError("no usable entries: none has a title, link or text")
        if raw.problem:  # tolerated: many real feeds are slightly malformed
            logger.info("feed %s is malformed but readable: %s", url, raw.problem)
        title = raw.title[:MAX_TITLE_CHARS]
        result = FeedResult(url=url, title=title, items=tuple(items), unchanged=unchanged)
    except FeedError as e:
        result = FeedResult(url=url, error=one_line(str(e)))
    except Exception as e:  # a parser bug on hostile input: report it as this feed's failure
        logger.exception("cannot parse %s", url)
        reason = one_line(f"cannot parse the feed: {type(e).__name__}: {e}")
        result = FeedResult(url=url, error=reason)
    return replace(result, elapsed=time.perf_counter() - start)


# -- normalization -----------------------------------------------------------------------
def make_items(
    raw: RawFeed,
    feed_url: str,
    feed_config: FeedConfig | None = None,
    base_url: str = "",
    known: frozenset[str] = frozenset(),
) -> tuple[list[Item], int]:
    """Normalize a parsed feed's entries into Items (deduplicated by key, feed order);
    entries whose raw-entry hash is in `known` are skipped. Returns (items, skipped)."""
    feed_link = absolute_url(raw.link, base_url, HTTP)
    link_base = base_url or feed_link
    override = _language(feed_config.language) if feed_config else ""
    context = _Context(
        feed_url=feed_url,
        feed_link=feed_link,
        link_base=link_base,
        source=(feed_config.name if feed_config else "")
        or short_title(decode_title(raw.title))
        or _host(feed_url),
        language=override or _language(raw.language),
        language_override=bool(override),
    )
    items: dict[str, Item] = {}
    skipped = 0
    for entry in raw.entries:
        digest = entry_hash(entry, context)
        if digest in known:
            skipped += 1
            continue
        item = make_item(entry, context)
        if item is not None and item.key not in items:
            items[item.key] = replace(item, entry_hash=digest)
    # the show's artwork or the site's logo on every item is no picture of each story
    artwork = feed_images.repeated(
        [i.image for i in items.values()], absolute_url(raw.image, link_base, IMAGE_SCHEMES)
    )
    kept = [
        replace(i, image="", image_width=0, image_height=0) if i.image in artwork else i
        for i in items.values()
    ]
    return kept, skipped


# Bump when normalizing the same entry gives a different Item: stored entries are redone.
NORMALIZE_VERSION = "1"


def entry_hash(entry: RawEntry, ctx: _Context) -> str:
    """A hash of everything an Item is made from: the raw entry (every field) and the
    feed-level context (base URL, source name, language)."""
    fields = [f"{f.name}={getattr(entry, f.name)!r}" for f in dataclasses.fields(entry)]
    text = "\x1f".join([NORMALIZE_VERSION, repr(ctx), *fields])
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


_TAGLINE = re.compile(r"\s+[|–—:·-]\s+")


def short_title(title: str) -> str:
    """A feed's name without its tagline: "Site | News, Updates" -> "Site"."""
    head = _TAGLINE.split(title.strip(), maxsplit=1)[0].strip()
    return head if len(head) >= 3 else title.strip()


@dataclass(frozen=True)
class _Context:
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
        clean = _cap(term, MAX_CATEGORY_CHARS)
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
