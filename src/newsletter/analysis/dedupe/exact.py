"""The same story listed twice under two keys: one headline, or one article link.

Feeds repeat a story with a new guid (a second category page, a redirect wrapper, a
tracking parameter) and two feeds of one publisher share stories. Word shingles miss these
when one copy has no text, so two plain rules come first, in any language:

* the same headline (at least MIN_TITLE_WORDS words, compared without case, accents or
  punctuation) published within WINDOW_HOURS (recurring titles such as "Weekly roundup"
  are short, and a column's same title a week later is another story);
* the same article link once redirect wrappers and tracking parameters are taken off.
  A link that two items of one feed share is that feed's page for items without their own
  (a podcast's show page, a site's home page) and links nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from newsletter.model import Item

MIN_TITLE_WORDS = 4
WINDOW_HOURS = 48.0
# Query parameters that say where a reader came from, not which article they read.
_TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|mc_[ce]id|cmpid|cmp|ito|wt_mc|wt_zmc|at_\w+|"
    r"ns_\w+|xtor|ref|ref_src|src|source|rss|feed|from|partner|sr_share|share|smid)$",
    re.IGNORECASE,
)
_EMBEDDED_URL = re.compile(r"https?://", re.IGNORECASE)


def title_key(title: str) -> str:
    """Words of a headline, lower case without accents ("" below MIN_TITLE_WORDS words)."""
    folded = unicodedata.normalize("NFKD", (title or "").casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    words = re.findall(r"[^\W_]+", plain)
    return " ".join(words) if len(words) >= MIN_TITLE_WORDS else ""


def link_key(link: str) -> str:
    """An article link as an identity: the target of a redirect wrapper, lower-case host
    without "www.", no tracking parameters, no trailing slash ("" for a bare site address or
    something that is no http(s) link). The fragment stays: changelogs link sections."""
    url = (link or "").strip()
    for candidate in (url, unquote(url)):
        embedded = [m.start() for m in _EMBEDDED_URL.finditer(candidate)]
        if len(embedded) > 1:  # ".../redir/*https://site/article" or "?url=https%3A..."
            url = candidate[embedded[-1] :]
            break
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.removeprefix("www.")
    path = parts.path.rstrip("/")
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    if not path and not query:
        return ""
    return urlunsplit(("", host, path, query, parts.fragment))


def exact_pairs(items: Sequence[Item]) -> list[tuple[int, int]]:
    """Index pairs (a < b) of items that are one story by headline or by link."""
    pairs: list[tuple[int, int]] = []
    by_title: dict[str, list[int]] = {}
    by_link: dict[str, int] = {}
    links = [link_key(item.link) for item in items]
    per_feed = Counter((item.feed_url, link) for item, link in zip(items, links, strict=True))
    generic = {link for (_, link), n in per_feed.items() if n > 1}
    for i, item in enumerate(items):
        key = title_key(item.title)
        if key:
            for j in by_title.get(key, []):
                if _close(items[j].published, item.published):
                    pairs.append((j, i))
                    break
            by_title.setdefault(key, []).append(i)
        link = links[i]
        if link and link not in generic:
            if link in by_link:
                pairs.append((by_link[link], i))
            else:
                by_link[link] = i
    return pairs


def _close(a: datetime | None, b: datetime | None) -> bool:
    """Published within WINDOW_HOURS of each other (an undated copy is close to anything)."""
    if a is None or b is None:
        return True
    return abs((a - b).total_seconds()) <= WINDOW_HOURS * 3600
