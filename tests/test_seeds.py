"""The bundled sample feeds in seeds/: well formed, varied, and carrying what the demo needs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest

from newsletter.config import BUNDLED_SEEDS
from newsletter.text import html_to_text

SHARED_SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"

EXPECTED_ENTRIES = {
    "alpine-ledger.xml": 8,
    "defence-talks.xml": 8,
    "harbour-daily.xml": 12,
    "meridian-sul.xml": 8,
    "northlight.xml": 8,
}

SEED_GUID = "https://defencetalks.example.org/?p=41877"
HD = "https://harbourdaily.example.org"

# The same story told by two feeds: (guid in one feed, guid in another).
DUPLICATE_PAIRS = [
    (
        "https://defencetalks.example.org/?p=41802",
        f"{HD}/world/2026/11/17/royal-navy-supply-ships-two-years-late-1.7741203",
    ),
    ("https://defencetalks.example.org/?p=41766", "https://northlight.example.com/?p=9312"),
    (
        "tag:alpineledger.example,2026-11-17:/articles/20817",
        f"{HD}/world/2026/11/17/switzerland-approves-alpine-water-battery-1.7741377",
    ),
    (
        "urn:uuid:0bd6930d-1d56-5f0b-8e96-b2c08ee4f345",
        f"{HD}/sports/2026/11/15/chebet-breaks-sao-paulo-marathon-record-1.7740988",
    ),
]

# Theme families, matched by word prefix against lower-cased category names.
FAMILIES = {
    "defence": ("defence", "defense", "military", "naval", "nato"),
    "technology": ("tech", "ai", "cybersecurity", "open source", "science"),
    "climate & energy": ("climate", "energy"),
    "economy": ("economy", "business", "markets", "trade", "banking"),
    "sport": ("sport", "football", "athletics", "hockey"),
    "culture": ("culture", "music", "film", "art"),
    "health": ("health",),
}

_SENTENCE_END = re.compile(r"[.!?][”’\"]?(?=\s|$)")


@pytest.fixture(scope="module")
def feeds() -> dict[str, Any]:
    return {p.name: feedparser.parse(str(p)) for p in sorted(BUNDLED_SEEDS.glob("*.xml"))}


@pytest.fixture(scope="module")
def entries(feeds: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Every entry by guid, with the file it came from."""
    return {e.id: (name, e) for name, parsed in feeds.items() for e in parsed.entries}


def body_text(entry: Any) -> str:
    """Plain text of the richest body the entry has."""
    if entry.get("content"):
        return html_to_text(entry.content[0].value)
    return html_to_text(entry.get("summary", ""))


def sentences(text: str) -> int:
    # A rough count ("Dr." counts as an end) is enough to tell a teaser from an article.
    return len(_SENTENCE_END.findall(text))


def test_every_seed_file_parses_cleanly_with_the_expected_entries(feeds: dict[str, Any]) -> None:
    assert {name: len(p.entries) for name, p in feeds.items()} == EXPECTED_ENTRIES
    for name, parsed in feeds.items():
        assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))
        assert parsed.encoding.lower() == "utf-8"
        assert (BUNDLED_SEEDS / name).stat().st_size < 200_000


def test_total_items_and_unique_guids(feeds: dict[str, Any], entries: dict[str, Any]) -> None:
    total = sum(len(p.entries) for p in feeds.values())
    assert 30 <= total <= 60
    assert len(entries) == total  # no guid is reused across feeds


def test_rss_and_atom_are_both_represented(feeds: dict[str, Any]) -> None:
    versions = {p.version for p in feeds.values()}
    assert {"rss20", "atom10"} <= versions


def test_every_item_has_the_basic_fields_on_example_domains(feeds: dict[str, Any]) -> None:
    for name, parsed in feeds.items():
        for e in parsed.entries:
            assert e.title.strip() and e.id and e.published_parsed, (name, e.get("title"))
            host = urlsplit(e.link).hostname or ""
            assert e.link.startswith("https://"), e.link
            assert re.search(r"(^|\.)example(\.(org|com|net))?$", host), host
            published = datetime(*e.published_parsed[:6], tzinfo=UTC)
            assert (published.year, published.month) == (2026, 11), (name, e.title, published)


def test_dates_use_several_time_zones(feeds: dict[str, Any]) -> None:
    rss_zones = {
        e.published.rsplit(" ", 1)[-1]
        for p in feeds.values()
        if p.version == "rss20"
        for e in p.entries
    }
    atom_offsets = {
        e.published[-6:] for p in feeds.values() if p.version == "atom10" for e in p.entries
    }
    assert {"+0000", "-0400", "AST", "GMT"} <= rss_zones
    assert {"+01:00", "-03:00"} <= atom_offsets


def test_one_feed_carries_full_articles_with_cruft(feeds: dict[str, Any]) -> None:
    parsed = feeds["northlight.xml"]
    html = "\n".join(e.content[0].value for e in parsed.entries)
    for e in parsed.entries:
        assert e.content[0].type == "text/html"
        assert 250 <= len(body_text(e).split()) <= 500, e.title
    assert html.count("appeared first on") == len(parsed.entries)
    assert "Continue reading" in html
    assert re.search(r'<img [^>]*src="/wp-content/', html)  # relative image source
    assert "Share this:" in html


def test_defence_talks_articles_are_full_text(feeds: dict[str, Any]) -> None:
    for e in feeds["defence-talks.xml"].entries:
        text = body_text(e)
        assert 250 <= len(text.split()) <= 500, e.title
        assert sentences(text) >= 8, e.title
        assert "Discover more from Defence Talks" in text


def test_one_feed_has_short_descriptions_only(feeds: dict[str, Any]) -> None:
    parsed = feeds["harbour-daily.xml"]
    for e in parsed.entries:
        assert "content" not in e
        assert 1 <= sentences(e.summary) <= 3, e.title
        assert "<" not in e.summary  # plain text, not HTML


def test_other_items_have_enough_sentences_to_summarize(feeds: dict[str, Any]) -> None:
    for name in ("alpine-ledger.xml", "meridian-sul.xml"):
        for e in feeds[name].entries:
            assert 4 <= sentences(body_text(e)) <= 12, (name, e.title)
    # Atom shapes: the Alpine Ledger has content + summary, Meridian Sul summary only.
    assert all(e.get("content") and e.get("summary") for e in feeds["alpine-ledger.xml"].entries)
    assert not any(e.get("content") for e in feeds["meridian-sul.xml"].entries)


def test_categories_span_theme_families_with_varied_names(feeds: dict[str, Any]) -> None:
    hits: dict[str, set[str]] = {family: set() for family in FAMILIES}
    spellings: dict[str, set[str]] = {family: set() for family in FAMILIES}
    for parsed in feeds.values():
        for e in parsed.entries:
            for tag in e.get("tags", []):
                term = tag.term.lower()
                for family, prefixes in FAMILIES.items():
                    if any(re.search(rf"\b{re.escape(p)}", term) for p in prefixes):
                        hits[family].add(e.id)
                        spellings[family].add(tag.term)
    big = [family for family, ids in hits.items() if len(ids) >= 3]
    assert len(big) >= 4, hits
    assert {"Defence", "Defense & Security", "Military"} <= spellings["defence"]
    assert len(spellings["climate & energy"]) >= 3


def test_realistic_variety(feeds: dict[str, Any]) -> None:
    every = [e for p in feeds.values() for e in p.entries]
    assert sum(1 for e in every if not e.get("author")) >= 2
    assert sum(1 for e in every if not e.get("tags")) >= 1
    images = [
        link.href
        for e in every
        for link in e.get("links", [])
        if link.get("rel") == "enclosure" and link.get("type") == "image/jpeg"
    ]
    images += [t["url"] for e in every for t in e.get("media_thumbnail", [])]
    assert len(images) >= 3 and all(u.startswith("https://") for u in images)
    text = "\n".join(e.title + body_text(e) for e in every)
    for word in ("Zürich", "São Paulo", "—", "–", "“", "’"):
        assert word in text, word


def overlap(a: Any, b: Any) -> float:
    """Share of the smaller entry's longer words that the other entry also uses."""
    words_a = set(re.findall(r"\w{5,}", (a.title + " " + body_text(a)).lower()))
    words_b = set(re.findall(r"\w{5,}", (b.title + " " + body_text(b)).lower()))
    return len(words_a & words_b) / min(len(words_a), len(words_b))


def test_duplicate_stories_differ_in_guid_link_and_title(entries: dict[str, Any]) -> None:
    for a, b in DUPLICATE_PAIRS:
        (feed_a, ea), (feed_b, eb) = entries[a], entries[b]
        assert feed_a != feed_b
        assert ea.link != eb.link and ea.title != eb.title
        assert overlap(ea, eb) >= 0.6, (a, b)


def test_no_other_two_items_look_like_the_same_story(entries: dict[str, Any]) -> None:
    pairs = {frozenset(pair) for pair in DUPLICATE_PAIRS}
    ids = sorted(entries)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if frozenset((a, b)) not in pairs:
                assert overlap(entries[a][1], entries[b][1]) < 0.45, (a, b)


def test_the_seed_post_is_an_item_with_its_site_chrome(entries: dict[str, Any]) -> None:
    name, entry = entries[SEED_GUID]
    assert name == "defence-talks.xml"
    html = entry.content[0].value
    assert "Discover more from Defence Talks | Defense News Hub" in html
    assert "Subscribe to get the latest posts sent to your email." in html
    text = body_text(entry)
    assert text.startswith("Western European leaders are considering the deployment of troops")
    seed_files = sorted(SHARED_SEED.glob("000_*.txt"))
    if seed_files:  # in the project workspace: every paragraph of the post is in the item
        lines = [ln.strip() for ln in seed_files[0].read_text("utf-8").splitlines() if ln.strip()]
        for line in lines:
            assert line in text, line
