"""Plain data types shared by every layer. No I/O here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

Clock = Callable[[], datetime]  # injectable time source: tests pass a fake one


def utcnow() -> datetime:
    """The current time, UTC and tz-aware: the default Clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Item:
    """One normalized feed entry, sanitized and ready to summarize."""

    key: str  # guid, else canonical link, else content hash
    feed_url: str
    link: str
    title: str
    author: str = ""
    published: datetime | None = None  # UTC, tz-aware
    categories: tuple[str, ...] = ()
    image: str = ""  # absolute https URL or ""
    image_width: int = 0  # the image's natural size in pixels, when the feed says (else 0)
    image_height: int = 0
    html: str = ""  # sanitized HTML
    text: str = ""  # plain text derived from html, boilerplate removed
    language: str = ""  # BCP 47-ish tag from the item or feed, lower case ("en", "de-de")
    source: str = ""  # human name of the feed ("Defence Talks")
    content_hash: str = ""  # hash of title + text; changes when the item is edited
    first_seen: datetime | None = None
    summary: str = ""
    entry_hash: str = ""  # hash of the raw feed entry it came from: unchanged entries skip work

    @property
    def dated(self) -> bool:
        """Whether the feed gave a date; an undated item only has `first_seen`."""
        return self.published is not None


@dataclass(frozen=True)
class FeedResult:
    """What one fetch+parse of one feed produced."""

    url: str
    title: str = ""
    items: tuple[Item, ...] = ()
    status: int | None = None  # HTTP status, None for local files
    not_modified: bool = False  # a 304: nothing parsed
    error: str = ""  # one-line reason when the feed failed
    etag: str = ""
    last_modified: str = ""
    elapsed: float = 0.0
    unchanged: int = 0  # entries skipped because their raw entry was already stored as is
    skipped: bool = False  # not requested this run: still fresh (see the feed's last decision)
    source: str = ""  # the name its stories are shown under (its own title or the config's)
    language: str = ""  # the language the config gives its stories ("": each their own)

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class Entry:
    """An item as shown in a digest: one story, possibly reported by several feeds."""

    item: Item
    summary: str
    sources: tuple[tuple[str, str], ...] = ()  # (source name, link) of every feed that had it

    @property
    def title(self) -> str:
        return self.item.title

    @property
    def link(self) -> str:
        return self.item.link


@dataclass(frozen=True)
class Section:
    """A themed group of entries with a short human label."""

    label: str
    entries: tuple[Entry, ...]
    slug: str = ""


@dataclass(frozen=True)
class Digest:
    """The data of one digest: what render turns into HTML and text."""

    list_name: str
    site_name: str
    site_url: str
    built_at: datetime
    sections: tuple[Section, ...]
    feeds_total: int = 0
    feeds_failed: tuple[tuple[str, str], ...] = ()  # (url, reason)
    digest_id: int | None = None

    @property
    def entries(self) -> list[Entry]:
        return [entry for section in self.sections for entry in section.entries]


@dataclass(frozen=True)
class Subscriber:
    """A person on a list."""

    id: int
    list_name: str
    email: str
    name: str = ""
    status: str = "pending"  # pending | confirmed | unsubscribed | bounced
    source: str = ""
    created_at: datetime | None = None
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    bounce_count: int = 0
    # random keys the subscriber's signed links carry (see newsletter.audience.tokens)
    link_key: str = field(default="", repr=False)
    confirm_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class Delivery:
    """One (digest, subscriber) send, tracked so a rerun never sends twice."""

    id: int
    digest_id: int
    subscriber_id: int
    email: str
    status: str = "pending"  # see newsletter.store.deliveries.DELIVERY_STATUSES
    attempts: int = 0
    last_error: str = ""
    message_id: str = ""
    sent_at: datetime | None = None
