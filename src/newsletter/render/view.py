"""The view model of a rendered digest: plain dicts the templates and digest.json share.

Everything that comes from a feed is treated as untrusted here: links must be absolute
http(s), images https only (no data: URIs, no tracking over plain http), and text is passed
to autoescaped templates unchanged.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.model import Digest, Entry

logger = logging.getLogger(__name__)

PREHEADER_MIN = 40
PREHEADER_MAX = 140
COLUMN_PX = 552  # the story column of the 600-px layout, inside its padding


@dataclass
class SectionView:
    """One section as shown: the stories kept in the mail and how many were left out."""

    id: str
    label: str
    total: int  # stories in the section
    items: list[dict[str, Any]] = field(default_factory=list)
    web_url: str = ""  # the section in the web copy

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
        }


def safe_link(url: str) -> str:
    """The URL if it is an absolute http(s) link, else "" (never javascript:, data:, relative)."""
    url = (url or "").strip()
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


def short_date(when: datetime | None, tz: ZoneInfo) -> str:
    """'5 Jan 2026' in the list's timezone, or "" when unknown."""
    if when is None:
        return ""
    local = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(tz)
    return f"{local.day} {local:%b %Y}"


def _clean(text: str) -> str:
    """One line of text: control characters and runs of whitespace collapsed."""
    return re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in text or "")).strip()


def entry_sources(entry: Entry) -> list[dict[str, str]]:
    """Every feed that carried the story, as {name, link}; the item's own feed first."""
    pairs = list(entry.sources)
    if not pairs and entry.item.source:
        pairs = [(entry.item.source, entry.item.link)]
    seen: set[tuple[str, str]] = set()
    out = []
    for name, link in pairs:
        key = (_clean(name), safe_link(link))
        if key in seen or not key[0]:
            continue
        seen.add(key)
        out.append({"name": key[0], "link": key[1]})
    return out


def item_view(entry: Entry, tz: ZoneInfo) -> dict[str, Any]:
    """The template dict of one story (also the digest.json item, minus display fields)."""
    item = entry.item
    sources = entry_sources(entry)
    primary = _clean(item.source) or (sources[0]["name"] if sources else "")
    also = [s for s in sources if s["name"] != primary]
    date = short_date(item.published, tz)
    author = _clean(item.author)
    meta = " · ".join(p for p in (date, f"by {author}" if author else "") if p)
    return {
        "title": _clean(item.title) or "(untitled)",
        "link": safe_link(item.link),
        "source": primary,
        "source_link": "",  # the title already links to the primary source's page
        "also": also,
        "also_text": ", ".join(
            f"{s['name']} ({s['link']})" if s["link"] else s["name"] for s in also
        ),
        "meta": meta,
        "summary": (entry.summary or "").strip(),
        "image": safe_image(item.image),
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
) -> list[SectionView]:
    """The sections as shown, keeping at most `per_section` stories in the first
    `max_sections` sections (None: no limit); dropped sections keep their totals."""
    views = []
    used: set[str] = set()
    for index, section in enumerate(digest.sections):
        anchor = _unique_id("s-" + (slugify(section.slug or section.label) or str(index + 1)), used)
        entries = list(section.entries)
        if max_sections is not None and index >= max_sections:
            entries = []
        elif per_section is not None:
            entries = entries[:per_section]
        views.append(
            SectionView(
                id=anchor,
                label=_clean(section.label) or "Stories",
                total=len(section.entries),
                items=[item_view(e, tz) for e in entries],
                web_url=f"{web_url}#{anchor}" if web_url else "",
            )
        )
    return views


def _unique_id(candidate: str, used: set[str]) -> str:
    anchor, n = candidate, 2
    while anchor in used:
        anchor, n = f"{candidate}-{n}", n + 1
    used.add(anchor)
    return anchor


def make_preheader(digest: Digest, site_name: str, date_display: str = "") -> str:
    """A truthful preview line of 40-140 characters: the top headline of each section first."""
    tops = [s.entries[0].title for s in digest.sections if s.entries]
    rest = [e.title for s in digest.sections for e in s.entries[1:]]
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
        f"{count} {'story' if count == 1 else 'stories'} from {_clean(site_name)}",
        date_display,
        "summaries and links inside",
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
    digest: Digest, config: Config, list_title: str, views: list[SectionView]
) -> dict[str, Any]:
    """The JSON-able record of a digest (digest.json): every story, untrimmed."""
    sections = []
    by_section = {id(view): section for view, section in zip(views, digest.sections, strict=True)}
    for view in views:
        section = by_section[id(view)]
        items = []
        for entry in section.entries:
            item = entry.item
            items.append(
                {
                    "title": _clean(item.title),
                    "link": safe_link(item.link),
                    "sources": entry_sources(entry),
                    "published": item.published.isoformat() if item.published else None,
                    "summary": (entry.summary or "").strip(),
                    "image": safe_image(item.image),
                    "author": _clean(item.author),
                    "categories": list(item.categories),
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


def archive_entries(output_dir: Path, config: Config) -> list[dict[str, Any]]:
    """One summary dict per digest.json under output_dir/<list>/<stamp>/, newest first."""
    found = []
    for path in output_dir.glob("*/*/digest.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            built = datetime.fromisoformat(data["built_at"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            logger.warning("skipping %s in the archive index: %s", path, e)
            continue
        lst = data.get("list") or {}
        name = lst.get("name") or path.parent.parent.name
        try:
            tz = ZoneInfo(config.list(name).timezone)
        except ConfigError:  # a list removed from the config still has its archive
            tz = ZoneInfo("UTC")
        local = built.astimezone(tz)
        sections = data.get("sections") or []
        titles = [i.get("title", "") for s in sections for i in s.get("items", [])[:1]]
        found.append(
            {
                "built_at": built,
                "href": f"{path.parent.parent.name}/{path.parent.name}/index.html",
                "list_title": lst.get("title") or name,
                "date_display": f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}",
                "stories": sum(len(s.get("items", [])) for s in sections),
                "section_labels": [s.get("label", "") for s in sections],
                "headlines": [t for t in titles if t][:3],
            }
        )
    found.sort(key=lambda d: d["built_at"], reverse=True)
    return found
