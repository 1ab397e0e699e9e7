"""The view model of a rendered digest: plain dicts the templates and digest.json share.

Everything that comes from a feed is treated as untrusted here: links must be absolute
http(s) and at most URL_MAX characters, images https only (no data: URIs, no tracking over
plain http), and text is cut to the limits below (so no feed can push a digest past its
size budget with one field) and passed to autoescaped templates.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from newsletter.config import Config
from newsletter.model import Digest, Entry
from newsletter.render.i18n import Translator, translator
from newsletter.render.shape import Shape, full_shape

logger = logging.getLogger(__name__)

PREHEADER_MIN = 40
PREHEADER_MAX = 140
# The default leftover label (themes.other_label) is shown in the site's language.
OTHER_LABEL = "More stories"
FALLBACK_LABEL = "Stories"  # a section with no distinctive words (themes)

# the most of each feed-derived string a digest shows (the web copy and digest.json too)
TITLE_MAX = 300
NAME_MAX = 100  # source names, authors
LABEL_MAX = 80  # section labels
SUMMARY_MAX = 1200
CATEGORY_MAX = 100
SOURCES_MAX = 10  # "Also in:" entries per story
URL_MAX = 2048  # longer links and image URLs are dropped, never cut

COLUMN_PX = 552  # the story column of the 600-px layout, inside its padding


@dataclass
class SectionView:
    """One section as shown: the stories kept in the mail and how many were left out."""

    id: str
    label: str
    total: int  # stories in the section
    items: list[dict[str, Any]] = field(default_factory=list)
    web_url: str = ""  # the section in the web copy
    dir: str = "ltr"  # the label's text direction

    @property
    def omitted(self) -> int:
        return self.total - len(self.items)

    def as_dict(self) -> dict[str, Any]:
        """The template context of the section."""
        return {
            "id": self.id,
            "label": self.label,
            "total": self.total,
            "entries": self.items,
            "omitted": self.omitted,
            "web_url": self.web_url,
            "dir": self.dir,
        }


def safe_link(url: str) -> str:
    """The URL if it is an absolute http(s) link, else "" (never javascript:, data:, relative)."""
    url = (url or "").strip()
    if len(url) > URL_MAX:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() in ("http", "https") and parts.netloc and not re.search(r"\s", url):
        return url
    return ""


def safe_image(url: str) -> str:
    """The URL if it is an https image; plain http and data: images are dropped."""
    url = safe_link(url)
    return url if url.lower().startswith("https://") else ""


def slugify(text: str) -> str:
    """A lowercase ASCII slug for anchors ("Science & Tech" -> "science-tech")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def short_date(when: datetime | None, tz: ZoneInfo, tr: Translator | None = None) -> str:
    """'5 Jan 2026' in the list's timezone and the site's language, or "" when unknown."""
    return (tr or translator("en")).short_date(when, tz)


def direction(*texts: str) -> str:
    """ "rtl" when most strongly directed letters of the text are right-to-left ones
    (Urdu, Arabic, Persian, Hebrew), else "ltr"."""
    text = " ".join(texts)[:1000]
    if text.isascii():  # no right-to-left letter can be in it
        return "ltr"
    kinds = Counter(unicodedata.bidirectional(c) for c in text)
    return "rtl" if kinds["R"] + kinds["AL"] > kinds["L"] else "ltr"


def _clean(text: str, limit: int = TITLE_MAX) -> str:
    """One line of text: control characters and runs of whitespace collapsed, cut to
    `limit` characters at a word boundary (with "…")."""
    text = (text or "")[: limit * 4]  # nothing past this can survive: skip the work
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else _cut(text, limit - 1).rstrip() + "…"


def _summary(text: str) -> str:
    """A summary, cut to SUMMARY_MAX characters at a word boundary."""
    text = (text or "").strip()
    return text if len(text) <= SUMMARY_MAX else _cut(text, SUMMARY_MAX - 1).rstrip() + "…"


def entry_sources(entry: Entry) -> list[dict[str, str]]:
    """Every feed that carried the story, as {name, link}; the item's own feed first."""
    pairs = list(entry.sources)
    if not pairs and entry.item.source:
        pairs = [(entry.item.source, entry.item.link)]
    seen: set[tuple[str, str]] = set()
    out = []
    for name, link in pairs[: SOURCES_MAX * 4]:
        key = (_clean(name, NAME_MAX), safe_link(link))
        if key in seen or not key[0]:
            continue
        seen.add(key)
        out.append({"name": key[0], "link": key[1]})
    return out


def item_view(entry: Entry, tz: ZoneInfo, tr: Translator | None = None) -> dict[str, Any]:
    """The template dict of one story (also the digest.json item, minus display fields).
    `dir` is the story's text direction; the source name and the date line get their own,
    so an Urdu source name keeps its order next to a date in the site's language."""
    tr = tr or translator("en")
    item = entry.item
    sources = entry_sources(entry)
    primary = _clean(item.source, NAME_MAX) or (sources[0]["name"] if sources else "")
    also = [{**s, "dir": direction(s["name"])} for s in sources if s["name"] != primary]
    also = also[:SOURCES_MAX]
    date = tr.short_date(item.published, tz)
    author = _clean(item.author, NAME_MAX)
    by = tr.gettext("by %(author)s", author=author) if author else ""
    meta = " · ".join(p for p in (date, by) if p)
    title = _clean(item.title) or tr.gettext("(untitled)")
    summary = _summary(entry.summary)
    return {
        "title": title,
        "link": safe_link(item.link),
        "source": primary,
        "source_link": "",  # the title already links to the primary source's page
        "also": also,
        "also_text": ", ".join(
            f"{s['name']} ({s['link']})" if s["link"] else s["name"] for s in also
        ),
        "meta": meta,
        "summary": summary,
        "image": safe_image(item.image),
        "dir": direction(title, summary),
        "source_dir": direction(primary),
        "meta_dir": direction(author) if author else tr.direction,
        "lead": False,
        **image_size(item.image_width, item.image_height),
    }


def image_size(width: int, height: int, column: int = COLUMN_PX) -> dict[str, int]:
    """How wide to show an image: its natural width up to the column, never wider.

    The template writes it as the `width`/`height` attributes (Outlook sizes images by them)
    and as a `max-width` on top of the fluid `width:100%`, so a 158-px thumbnail stays
    158 px and a large picture still shrinks on a phone. An unknown size (0) fills the
    column; the height keeps the image's proportions where they are known.
    """
    if width <= 0:
        return {"image_width": column, "image_height": column // 2}
    shown = min(width, column)
    shown_height = round(height * shown / width) if height > 0 else round(shown * 9 / 16)
    return {"image_width": shown, "image_height": max(1, shown_height)}


def section_views(
    digest: Digest,
    tz: ZoneInfo,
    web_url: str,
    per_section: int | None = None,
    max_sections: int | None = None,
    shape: Shape | None = None,
    tr: Translator | None = None,
) -> list[SectionView]:
    """The sections as shown: the stories `shape` puts in each (default: all but none
    led), at most `per_section` of them in the first `max_sections` sections (None: no
    limit); dropped sections keep their totals. A lead story counts in no section."""
    tr = tr or translator("en")
    shape = shape or full_shape(digest, None)
    views = []
    used: set[str] = set()
    for index, section in enumerate(digest.sections):
        anchor = _unique_id("s-" + (slugify(section.slug or section.label) or str(index + 1)), used)
        entries = [section.entries[j] for j in shape.shown[index]]
        if max_sections is not None and index >= max_sections:
            entries = []
        elif per_section is not None:
            entries = entries[:per_section]
        led = shape.lead is not None and shape.lead[0] == index
        label = _clean(section.label, LABEL_MAX) or tr.gettext("Stories")
        label = tr.gettext(label) if label in (OTHER_LABEL, FALLBACK_LABEL) else label
        views.append(
            SectionView(
                id=anchor,
                label=label,
                dir=direction(label),
                total=len(section.entries) - (1 if led else 0),
                items=[item_view(e, tz, tr) for e in entries],
                web_url=f"{web_url}#{anchor}" if web_url else "",
            )
        )
    return views


def lead_view(
    digest: Digest, shape: Shape, tz: ZoneInfo, tr: Translator | None = None
) -> dict[str, Any] | None:
    """The template dict of the lead story, or None."""
    if shape.lead is None:
        return None
    s, j = shape.lead
    view = item_view(digest.sections[s].entries[j], tz, tr)
    view["lead"] = True
    return view


def _unique_id(candidate: str, used: set[str]) -> str:
    anchor, n = candidate, 2
    while anchor in used:
        anchor, n = f"{candidate}-{n}", n + 1
    used.add(anchor)
    return anchor


def make_preheader(
    digest: Digest,
    site_name: str,
    date_display: str = "",
    lead: str = "",
    tr: Translator | None = None,
) -> str:
    """A truthful preview line of 40-140 characters: the lead's headline, then the top
    headline of each section."""
    tr = tr or translator("en")
    tops = [s.entries[0].title for s in digest.sections if s.entries]
    rest = [e.title for s in digest.sections for e in s.entries[1:]]
    if lead:
        tops = [lead, *(t for t in tops if t != lead)]
        rest = [t for t in rest if t != lead]
    titles = [_clean(t) for t in tops + rest if _clean(t)]
    text = ""
    for title in titles:
        candidate = f"{text}; {title}" if text else title
        if len(candidate) > PREHEADER_MAX:
            break
        text = candidate
    if not text and titles:
        text = _cut(titles[0], PREHEADER_MAX - 1) + "…"
    count = len(digest.entries)
    # Too short to fill a preview pane: add facts, not filler, until it is long enough.
    extras = [
        tr.ngettext(
            "%(num)d story from %(site)s",
            "%(num)d stories from %(site)s",
            count,
            site=_clean(site_name),
        ),
        date_display,
        tr.gettext("summaries and links inside"),
    ]
    for extra in extras:
        if len(text) >= PREHEADER_MIN:
            break
        if extra:
            text = f"{text}. {extra}" if text else extra[0].upper() + extra[1:]
    return _cut(text, PREHEADER_MAX)


def _cut(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut if len(cut) >= limit // 2 else text[:limit]


def digest_data(
    digest: Digest,
    config: Config,
    list_title: str,
    views: list[SectionView],
    shape: Shape | None = None,
    in_mail: set[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """The JSON-able record of a digest (digest.json): every story, untrimmed; `lead`
    marks the lead story and `in_mail` the stories the mail shows (when given)."""
    sections = []
    lead = shape.lead if shape else None
    for s, (view, section) in enumerate(zip(views, digest.sections, strict=True)):
        items = []
        for j, entry in enumerate(section.entries):
            item = entry.item
            items.append(
                {
                    "title": _clean(item.title),
                    "link": safe_link(item.link),
                    "sources": entry_sources(entry),
                    "published": item.published.isoformat() if item.published else None,
                    "summary": _summary(entry.summary),
                    "image": safe_image(item.image),
                    "author": _clean(item.author, NAME_MAX),
                    "categories": [_clean(c, CATEGORY_MAX) for c in item.categories],
                    "lead": (s, j) == lead,
                    **({"in_mail": (s, j) in in_mail} if in_mail is not None else {}),
                }
            )
        sections.append({"label": view.label, "slug": view.id[2:], "items": items})
    built = digest.built_at if digest.built_at.tzinfo else digest.built_at.replace(tzinfo=UTC)
    return {
        "site": {"name": config.site.name, "url": config.site.url},
        "list": {"name": digest.list_name, "title": list_title},
        "built_at": built.astimezone(UTC).isoformat(),
        "digest_id": digest.digest_id,
        "stories": len(digest.entries),
        "sections": sections,
        "feeds_total": digest.feeds_total,
        "feeds_failed": [{"url": u, "reason": r} for u, r in digest.feeds_failed],
    }
