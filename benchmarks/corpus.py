"""A synthetic, topical feed corpus for the build benchmarks, and a local server for it.

Every word is generated here from our own word lists and a small sentence grammar with a
fixed seed (no dataset text): `make_corpus(feeds=100, items_per_feed=30)` gives 100 feeds
of 30 items of about 800 words each, written as realistic HTML (paragraphs, sub-heads,
links, a figure with an image, a quote, a list). Feeds come in three shapes:

* "content"     RSS 2.0 with a short plain `description` and the article in `content:encoded`;
* "description" RSS 2.0 with the whole article as (escaped) HTML in `description`;
* "atom"        Atom 1.0 with `<content type="html">`.

Each feed covers two or three of ten topics (energy, space, health, ...) so grouping has
something to do. About a third of the feeds tag items with their topic (`<category>`), a
fifth with a bland "News", the rest not at all: too few usable categories for sections
from categories, so the text clustering path is the one exercised.
About 3 % of items are syndicated copies of another feed's story (same title and text,
another link) so duplicate merging has something to do.

`evolve(corpus, fraction=0.05)` returns the next version: new items on top (the oldest
drop off, as a real feed keeps a window) and edited items (same guid, changed text),
concentrated in a quarter of the feeds by default.

`CorpusServer(corpus, latency=0.2)` serves it from 127.0.0.1 with ETag/If-None-Match
(304) and a fixed latency per response, on top of tests/feedserver.py.

    python benchmarks/corpus.py --feeds 3 --items 2 --show     # look at one generated feed
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # tests/feedserver.py is reused for the HTTP side
    sys.path.insert(0, str(REPO))

from tests.support.feedserver import FeedServer  # noqa: E402

SEED = 20260105
KINDS = ("content", "description", "atom")

# -- vocabulary (our own lists) ---------------------------------------------------------------
# Per topic: label, nouns, verbs (base form), adjectives, place-like nouns for titles.
TOPICS: dict[str, dict[str, list[str] | str]] = {
    "energy": {
        "label": "Energy",
        "nouns": "grid turbine reactor battery pipeline substation tariff refinery wind farm "
        "solar panel heat pump interconnector power station coal plant hydrogen project "
        "gas field meter storage site transmission line".split(" "),
        "verbs": "power supply connect generate store ration import export upgrade retire".split(),
        "adjs": "renewable offshore low-carbon nuclear regional wholesale peak backup".split(),
        "people": "engineers operators regulators suppliers utilities households".split(),
    },
    "space": {
        "label": "Space",
        "nouns": "satellite rocket rover telescope orbit launch pad lander probe "
        "payload capsule booster ground station comet asteroid".split(" "),
        "verbs": "launch deploy track dock observe land survey image relay map".split(),
        "adjs": "orbital lunar reusable deep-space robotic infrared crewed polar".split(),
        "people": "astronomers mission controllers astronauts researchers engineers".split(),
    },
    "health": {
        "label": "Health",
        "nouns": "hospital clinic vaccine ward trial screening programme waiting list "
        "treatment surgeon nurse pharmacy ambulance diagnosis".split(" "),
        "verbs": "treat screen vaccinate admit diagnose prescribe discharge monitor fund".split(),
        "adjs": "clinical chronic rural paediatric emergency preventive mental outpatient".split(),
        "people": "doctors nurses patients health officials researchers carers".split(),
    },
    "football": {
        "label": "Sport",
        "nouns": "striker match league coach goalkeeper stadium transfer penalty derby "
        "season midfielder cup final academy".split(" "),
        "verbs": "score defend sign train beat draw relegate promote substitute captain".split(),
        "adjs": "unbeaten late injury-hit home away stoppage-time relegation-threatened".split(),
        "people": "supporters players managers scouts referees pundits".split(),
    },
    "elections": {
        "label": "Politics",
        "nouns": "ballot candidate parliament coalition vote council referendum poll "
        "campaign manifesto constituency minister budget debate".split(" "),
        "verbs": "elect campaign govern vote nominate legislate negotiate resign pledge".split(),
        "adjs": "municipal parliamentary opposition governing marginal early cross-party".split(),
        "people": "voters candidates lawmakers party members observers ministers".split(),
    },
    "technology": {
        "label": "Technology",
        "nouns": "chip software startup data centre network server browser app update "
        "processor model database cloud platform".split(" "),
        "verbs": "ship patch encrypt deploy index compile release acquire license scale".split(),
        "adjs": "open-source encrypted cloud-based mobile faster proprietary generative".split(),
        "people": "developers users engineers founders investors security researchers".split(),
    },
    "climate": {
        "label": "Climate",
        "nouns": "flood drought glacier heatwave emissions target coastline wildfire "
        "rainfall record storm surge carbon budget reef".split(" "),
        "verbs": "warm flood melt restore protect measure adapt evacuate plant offset".split(),
        "adjs": "extreme coastal seasonal record-breaking arid warming protected".split(),
        "people": "scientists farmers residents campaigners forecasters".split(),
    },
    "finance": {
        "label": "Business",
        "nouns": "bank inflation bond market interest rate pension fund currency "
        "earnings report merger dividend central bank share price".split(" "),
        "verbs": "lend borrow invest trade merge cut raise hedge forecast audit".split(),
        "adjs": "quarterly fiscal volatile listed private-equity annual speculative".split(),
        "people": "investors analysts traders shareholders economists lenders".split(),
    },
    "transport": {
        "label": "Transport",
        "nouns": "railway airport ferry tram line timetable bus route motorway "
        "cycle lane freight terminal rolling stock bridge tunnel".split(" "),
        "verbs": "run delay reopen electrify reroute extend cancel timetable ferry connect".split(),
        "adjs": "high-speed suburban overnight intercity electric congested commuter".split(),
        "people": "commuters passengers drivers operators planners cyclists".split(),
    },
    "housing": {
        "label": "Housing",
        "nouns": "rent tenant mortgage housing estate planning permit landlord "
        "construction site social housing block deposit eviction".split(" "),
        "verbs": "build rent renovate evict insulate approve demolish subsidise let buy".split(),
        "adjs": "affordable council-owned rented derelict energy-efficient overcrowded".split(),
        "people": "tenants landlords builders planners residents buyers".split(),
    },
}
# The lists above are split on spaces; these two-word terms are joined back together.
_PAIRS = {
    "wind farm",
    "solar panel",
    "heat pump",
    "power station",
    "coal plant",
    "hydrogen project",
    "gas field",
    "storage site",
    "transmission line",
    "launch pad",
    "ground station",
    "screening programme",
    "waiting list",
    "cup final",
    "data centre",
    "storm surge",
    "carbon budget",
    "interest rate",
    "pension fund",
    "earnings report",
    "central bank",
    "share price",
    "tram line",
    "bus route",
    "cycle lane",
    "freight terminal",
    "rolling stock",
    "housing estate",
    "planning permit",
    "construction site",
    "social housing",
    "party members",
    "mission controllers",
    "health officials",
    "security researchers",
}


def _nouns(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if pair in _PAIRS:
            out.append(pair)
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


for _t in TOPICS.values():
    _t["nouns"] = _nouns(_t["nouns"])  # type: ignore[arg-type]
    _t["people"] = _nouns(_t["people"])  # type: ignore[arg-type]

MASTHEADS = ("Ledger", "Dispatch", "Review", "Post", "Wire")
GENERIC_ADJS = (
    "new major local national early latest small large long-awaited controversial".split()
)
TIMES = (
    "on Monday",
    "on Tuesday",
    "on Wednesday",
    "on Thursday",
    "on Friday",
    "this week",
    "last month",
    "by the end of the year",
    "next spring",
    "within weeks",
    "over the weekend",
    "earlier today",
    "after months of delay",
    "for the first time",
)
CONNECTORS = (
    "However,",
    "Meanwhile,",
    "In a statement,",
    "By contrast,",
    "Even so,",
    "As a result,",
    "For now,",
    "At the same time,",
    "In practice,",
    "According to the figures,",
)
REPORTING = ("said", "told reporters", "wrote in a briefing", "argued", "warned", "added")
ROLES = (
    "a spokesperson",
    "the director",
    "a senior adviser",
    "the chair",
    "an analyst",
    "a former official",
    "the chief executive",
    "a local organiser",
)
FIRST = (
    "Ana Mira Tomas Ilse Jonah Priya Kofi Lena Oskar Maren Idris Sofia Ravi Elin Bruno Noor "
    "Hana Teo Greta Milo Yara Anders Clea Dario"
).split()
SYL1 = "Var Ost Kel Brin Hal Mor Tal Ren Sel Dun Ash Cor Fen Lor Wex Ald Bel Tor Gra Hel".split()
SYL2 = "holt mere by wick ford stone vale haven dale thorpe mouth field ley wood burn gate".split()


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(SYL1)}{rng.choice(SYL2)}"


def _place(rng: random.Random) -> str:
    return rng.choice(SYL1) + rng.choice(SYL2)


def _a(word: str) -> str:
    """The word with its indefinite article."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def _plural(noun: str) -> str:
    last = noun.rsplit(" ", 1)[-1]
    if last.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if last.endswith("y") and last[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if last in ("stock", "data"):
        return noun
    return noun + "s"


def _past(verb: str) -> str:
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ied"
    if verb in ("ship", "plan", "patch"):
        return verb + ("ped" if verb == "ship" else "ed")
    return verb + "ed"


class Writer:
    """Sentences, paragraphs and articles about a topic, from one seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _pick(self, topic: dict, key: str) -> str:
        return self.rng.choice(topic[key])  # type: ignore[arg-type]

    def sentence(self, topic: dict, place: str) -> str:
        r = self.rng
        noun, noun2 = self._pick(topic, "nouns"), self._pick(topic, "nouns")
        adj = self._pick(topic, "adjs") if r.random() < 0.7 else r.choice(GENERIC_ADJS)
        verb = self._pick(topic, "verbs")
        people = self._pick(topic, "people")
        n = r.choice((2, 3, 4, 5, 12, 40, 150, 2000))
        form = r.randrange(9)
        if form == 0:
            s = f"The {adj} {noun} in {place} will {verb} {n} {_plural(noun2)} {r.choice(TIMES)}"
        elif form == 1:
            s = (
                f"{_name(r)}, {r.choice(ROLES)} for the {place} {noun2} group, "
                f"{r.choice(REPORTING)} that {people} expected the {noun} to {verb} "
                f"more {_plural(noun2)}"
            )
        elif form == 2:
            s = (
                f"{r.choice(CONNECTORS)} {people} in {place} {_past(verb)} the {adj} {noun} "
                f"{r.choice(TIMES)}, a move that few had predicted"
            )
        elif form == 3:
            s = (
                f"Figures published {r.choice(TIMES)} show that {n} {_plural(noun)} were "
                f"{_past(verb)} across the region, up from {max(1, n // 2)} a year earlier"
            )
        elif form == 4:
            s = (
                f"Critics say the plan to {verb} the {noun} ignores {people}, who have asked "
                f"for {_a(r.choice(GENERIC_ADJS))} review of every {noun2}"
            )
        elif form == 5:
            s = (
                f"The {noun2} at {place} is one of {n} sites where {people} hope to {verb} "
                f"{_a(adj)} {noun} before the deadline"
            )
        elif form == 6:
            s = (
                f"{people.capitalize()} {r.choice(REPORTING)} that the {noun} could {verb} "
                f"the {adj} {noun2} if funding arrives {r.choice(TIMES)}"
            )
        elif form == 7:
            s = (
                f"In {place}, the {noun} has already {_past(verb)} {n} {_plural(noun2)}, "
                f"and {people} want the same for the {adj} {noun}"
            )
        else:
            s = (
                f"Nobody expects the {adj} {noun} to {verb} the {noun2} alone, "
                f"{_name(r)} {r.choice(REPORTING)}"
            )
        return s[0].upper() + s[1:] + "."

    def paragraph(self, topic: dict, place: str, sentences: int) -> str:
        return " ".join(self.sentence(topic, place) for _ in range(sentences))

    def title(self, topic: dict, place: str) -> str:
        r = self.rng
        noun = self._pick(topic, "nouns")
        adj = self._pick(topic, "adjs")
        verb = self._pick(topic, "verbs")
        people = self._pick(topic, "people")
        forms = (
            f"{place} moves to {verb} {adj} {noun}",
            f"{people.capitalize()} split over plan to {verb} the {noun}",
            f"Why the {adj} {noun} in {place} matters",
            f"{place} {noun} {_past(verb)} after {r.choice(('delays', 'review', 'vote'))}",
            f"{r.choice(GENERIC_ADJS).capitalize()} {noun} plan for {place} faces scrutiny",
            f"What {people} make of the {adj} {noun}",
        )
        t = r.choice(forms)
        return t[0].upper() + t[1:]


@dataclass
class CorpusItem:
    guid: str
    title: str
    link: str
    published: datetime
    author: str
    topic: str
    categories: list[str]
    html: str
    words: int = 0


@dataclass
class CorpusFeed:
    slug: str
    title: str
    site: str  # https://<slug>.example
    kind: str  # content | description | atom
    topics: list[str]
    tagging: str  # "topic" (the topic's label), "bland" ("News"), "none"
    items: list[CorpusItem] = field(default_factory=list)  # newest first
    serial: int = 0  # next item number


@dataclass
class Corpus:
    feeds: list[CorpusFeed]
    now: datetime
    seed: int
    words: int
    version: int = 0
    style: str = "prose"  # "prose" (this module) or "templated" (benchmarks/templated.py)

    @property
    def items(self) -> int:
        return sum(len(f.items) for f in self.feeds)

    def total_words(self) -> int:
        return sum(i.words for f in self.feeds for i in f.items)


def _article(
    w: Writer, topic_key: str, feed: CorpusFeed, serial: int, words: int
) -> tuple[str, str, str, int]:
    """(title, link, html, word count) of one article of about `words` words."""
    r = w.rng
    topic = TOPICS[topic_key]
    place = _place(r)
    title = w.title(topic, place)
    link = f"{feed.site}/{topic_key}/{serial:06d}-{place.lower()}"
    parts: list[str] = []
    count = 0
    n_par = 0
    image_at = r.randrange(1, 3)
    heads = {4, 9}
    links = 0
    while count < words:
        n_par += 1
        if n_par in heads:
            head = w.title(topic, _place(r))
            parts.append(f"<h2>{escape(head)}</h2>")
        if n_par == image_at:
            alt = escape(w.title(topic, place))
            parts.append(
                f'<figure><img src="https://img.{feed.slug}.example/{serial:06d}/hero.jpg" '
                f'alt="{alt}" width="640" height="360">'
                f"<figcaption>{escape(w.sentence(topic, place))}</figcaption></figure>"
            )
        text = w.paragraph(topic, place, r.randint(3, 5))
        count += text.count(" ") + 1
        body = escape(text)
        if links < 3 and r.random() < 0.45:
            # wrap a few words of the paragraph in a link, as articles cite other pages
            tokens = body.split(" ")
            at = r.randrange(0, max(1, len(tokens) - 4))
            span = " ".join(tokens[at : at + 3])
            href = f"{feed.site}/{topic_key}/{r.randrange(1, 999999):06d}"
            tokens[at : at + 3] = [f'<a href="{href}">{span}</a>']
            body = " ".join(tokens)
            links += 1
        if n_par == 6:
            parts.append(f"<blockquote><p>{escape(w.sentence(topic, place))}</p></blockquote>")
        parts.append(f"<p>{body}</p>")
        if n_par == 7:
            items = "".join(f"<li>{escape(w.sentence(topic, place))}</li>" for _ in range(3))
            parts.append(f"<ul>{items}</ul>")
    return title, link, "\n".join(parts), count


def _new_item(w: Writer, feed: CorpusFeed, published: datetime, words: int) -> CorpusItem:
    r = w.rng
    topic_key = r.choice(feed.topics)
    feed.serial += 1
    title, link, html, count = _article(w, topic_key, feed, feed.serial, words)
    cats = {"topic": [str(TOPICS[topic_key]["label"])], "bland": ["News"]}.get(feed.tagging, [])
    if feed.tagging == "topic" and r.random() < 0.3:
        cats.append(r.choice(TOPICS[topic_key]["nouns"]).title())  # type: ignore[arg-type]
    return CorpusItem(
        guid=f"{feed.site}/p/{feed.serial}",
        title=title,
        link=link,
        published=published,
        author=_name(r),
        topic=topic_key,
        categories=cats,
        html=html,
        words=count,
    )


def make_corpus(
    feeds: int = 100,
    items_per_feed: int = 30,
    words: int = 800,
    seed: int = SEED,
    now: datetime | None = None,
    total_items: int | None = None,
    duplicate_rate: float = 0.03,
) -> Corpus:
    """A fresh corpus: `feeds` feeds of `items_per_feed` items (or `total_items` in all)."""
    rng = random.Random(seed)
    w = Writer(rng)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    topic_keys = list(TOPICS)
    out: list[CorpusFeed] = []
    remaining = total_items if total_items is not None else feeds * items_per_feed
    for i in range(feeds):
        slug = f"{_place(rng).lower()}-{i:03d}"
        kind = KINDS[0] if i % 5 in (0, 1) else KINDS[1] if i % 5 in (2, 3) else KINDS[2]
        feed = CorpusFeed(
            slug=slug,
            title=f"The {slug.split('-')[0].title()} {rng.choice(MASTHEADS)}",
            site=f"https://{slug}.example",
            kind=kind,
            topics=rng.sample(topic_keys, rng.choice((2, 2, 3))),
            tagging=rng.choices(("topic", "bland", "none"), (0.35, 0.2, 0.45))[0],
        )
        n = min(items_per_feed, remaining)
        remaining -= n
        for j in range(n):
            # spread over the last ~5 days, newest first, staggered per feed
            published = now - timedelta(minutes=37 * j + 11 * i + 5)
            feed.items.append(_new_item(w, feed, published, words))
        out.append(feed)
        if remaining <= 0:
            break
    corpus = Corpus(feeds=out, now=now, seed=seed, words=words)
    _syndicate(corpus, rng, duplicate_rate)
    return corpus


def _syndicate(corpus: Corpus, rng: random.Random, rate: float) -> None:
    """Replace some items with another feed's story: same title and text, own guid and link."""
    pool = [(f, i) for f in corpus.feeds for i in f.items]
    if len(corpus.feeds) < 2:
        return
    for _ in range(int(len(pool) * rate)):
        feed, item = rng.choice(pool)
        other, original = rng.choice(pool)
        if other is feed:
            continue
        item.title, item.html, item.topic, item.words = (
            original.title,
            original.html,
            original.topic,
            original.words,
        )


def evolve(
    corpus: Corpus,
    fraction: float = 0.05,
    feed_share: float = 0.25,
    edited_share: float = 1 / 3,
    seed: int | None = None,
) -> tuple[Corpus, dict[str, int]]:
    """The next version: `fraction` of the items new or edited, within `feed_share` of the feeds.

    New items go on top and the oldest drop off (feeds keep their window); edited items keep
    their guid and get a changed title and an extra paragraph. Returns (corpus, counts).
    """
    from benchmarks import templated  # imports this module: loaded when first needed

    nxt = copy.deepcopy(corpus)
    nxt.version += 1
    rng = random.Random((seed if seed is not None else corpus.seed) + 7919 * nxt.version)
    w = Writer(rng)
    total = round(corpus.items * fraction)
    n_feeds = max(1, min(len(nxt.feeds), round(len(nxt.feeds) * feed_share), total))
    chosen = rng.sample(nxt.feeds, n_feeds)

    def spread(count: int) -> list[int]:
        return [count // n_feeds + (1 if k < count % n_feeds else 0) for k in range(n_feeds)]

    edits = spread(round(total * edited_share))
    news = spread(total - sum(edits))[::-1]  # feeds with fewer edits get the extra new items
    new = edited = 0
    now = nxt.now + timedelta(hours=1)
    nxt.now = now
    for feed, n_edit, n_new in zip(chosen, edits, news, strict=True):
        keep = len(feed.items)
        n_new = min(n_new, keep)
        n_edit = min(n_edit, keep - n_new)
        # edit items that stay in the window (the oldest `n_new` drop off)
        for idx in rng.sample(range(keep - n_new), n_edit):
            item = feed.items[idx]
            item.title = item.title + " (updated)"
            if corpus.style == "templated":
                extra = templated.update_paragraph(rng, item)
            else:
                extra = w.paragraph(TOPICS[item.topic], _place(rng), 3)
            item.html = f"<p><strong>Update:</strong> {escape(extra)}</p>\n" + item.html
            item.words += extra.count(" ") + 2
            edited += 1
        if corpus.style == "templated":
            fresh = [
                templated.new_item(rng, feed, now - timedelta(minutes=k)) for k in range(n_new)
            ]
        else:
            fresh = [
                _new_item(w, feed, now - timedelta(minutes=k), corpus.words) for k in range(n_new)
            ]
        feed.items = (fresh + feed.items)[:keep]
        new += n_new
    return nxt, {"new": new, "edited": edited, "feeds": n_feeds, "changes": new + edited}


# -- serialisation ----------------------------------------------------------------------------
def _cdata(html: str) -> str:
    return "<![CDATA[" + html.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _teaser(html: str, words: int = 40) -> str:
    import re

    text = re.sub(r"<[^>]+>", " ", html.split("</p>", 1)[0])
    return " ".join(text.split()[:words]) + " …"


def _updated(feed: CorpusFeed, now: datetime) -> datetime:
    """The feed's build date: its newest item's, so an unchanged feed keeps its bytes (and
    its ETag) from one version of the corpus to the next, as a well-behaved host does."""
    return max((i.published for i in feed.items), default=now)


def render_feed(feed: CorpusFeed, now: datetime) -> bytes:
    """The feed document (RSS 2.0 or Atom) as UTF-8 bytes."""
    if feed.kind == "atom":
        return _render_atom(feed, now)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{escape(feed.title)}</title>",
        f"<link>{feed.site}/</link>",
        f"<description>News from {escape(feed.title)}</description>",
        "<language>en</language>",
        f"<lastBuildDate>{format_datetime(_updated(feed, now))}</lastBuildDate>",
    ]
    for item in feed.items:
        out.append("<item>")
        out.append(f"<title>{escape(item.title)}</title>")
        out.append(f"<link>{item.link}</link>")
        out.append(f'<guid isPermaLink="false">{item.guid}</guid>')
        out.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        out.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        out.extend(f"<category>{escape(c)}</category>" for c in item.categories)
        if feed.kind == "content":
            out.append(f"<description>{escape(_teaser(item.html))}</description>")
            out.append(f"<content:encoded>{_cdata(item.html)}</content:encoded>")
        else:
            out.append(f"<description>{escape(item.html)}</description>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode("utf-8")


def _render_atom(feed: CorpusFeed, now: datetime) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"<title>{escape(feed.title)}</title>",
        f'<link rel="alternate" href="{feed.site}/"/>',
        f"<id>{feed.site}/</id>",
        f"<updated>{_updated(feed, now).isoformat()}</updated>",
    ]
    for item in feed.items:
        out.append("<entry>")
        out.append(f"<title>{escape(item.title)}</title>")
        out.append(f'<link rel="alternate" href="{item.link}"/>')
        out.append(f"<id>{item.guid}</id>")
        out.append(f"<published>{item.published.isoformat()}</published>")
        out.append(f"<updated>{item.published.isoformat()}</updated>")
        out.append(f"<author><name>{escape(item.author)}</name></author>")
        out.extend(f'<category term="{escape(c)}"/>' for c in item.categories)
        out.append(f'<content type="html">{escape(item.html)}</content>')
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out).encode("utf-8")


def feed_path(feed: CorpusFeed) -> str:
    """The URL path a feed is served at."""
    return f"/feeds/{feed.slug}.xml"


def write_files(corpus: Corpus, folder: Path) -> list[Path]:
    """Write every feed as a file under `folder`; returns the paths (feed order)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for feed in corpus.feeds:
        path = folder / f"{feed.slug}.xml"
        path.write_bytes(render_feed(feed, corpus.now))
        paths.append(path)
    return paths


class CorpusServer:
    """The corpus over HTTP: a fixed latency per response, ETag + 304, and each feed on a
    site of its own (its own loopback address, 127.0.1.x, as feeds come from different
    hosts), optionally with a Cache-Control header."""

    def __init__(
        self, corpus: Corpus, latency: float = 0.2, cache_control: str = "", one_host: bool = False
    ) -> None:
        self.one_host = one_host
        hosts = () if one_host else tuple(_host(i) for i in range(len(corpus.feeds)))
        self.server = FeedServer(latency=latency, hosts=hosts)
        self.cache_control = cache_control
        self.publish(corpus)

    def publish(self, corpus: Corpus, cache_control: str | None = None) -> None:
        """Serve this version of the corpus (changed feeds get new bodies and ETags)."""
        if cache_control is not None:
            self.cache_control = cache_control
        headers = (("Cache-Control", self.cache_control),) if self.cache_control else ()
        for feed in corpus.feeds:
            self.server.set(feed_path(feed), render_feed(feed, corpus.now), headers=headers)
        self.corpus = corpus

    def urls(self) -> list[str]:
        return [
            self.server.url(feed_path(f), host="127.0.0.1" if self.one_host else _host(i))
            for i, f in enumerate(self.corpus.feeds)
        ]

    def statuses(self) -> dict[int, int]:
        """How many responses of each status were sent since the last reset."""
        counts: dict[int, int] = {}
        for request in self.server.requests:
            counts[request.status] = counts.get(request.status, 0) + 1
        return counts

    def reset(self) -> None:
        self.server.reset_requests()

    def __enter__(self) -> CorpusServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def _host(i: int) -> str:
    """The loopback address of the i-th feed's site."""
    return f"127.0.{1 + (i // 250) % 250}.{1 + i % 250}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=30, help="items per feed")
    parser.add_argument("--words", type=int, default=800)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="write the feeds as files into this folder")
    parser.add_argument("--show", action="store_true", help="print the first feed")
    args = parser.parse_args(argv)
    import time

    start = time.perf_counter()
    corpus = make_corpus(args.feeds, args.items, args.words, args.seed)
    took = time.perf_counter() - start
    print(
        f"{len(corpus.feeds)} feeds, {corpus.items} items, {corpus.total_words()} words "
        f"in {took:.2f} s",
        file=sys.stderr,
    )
    if args.out:
        write_files(corpus, args.out)
    if args.show:
        sys.stdout.write(render_feed(corpus.feeds[0], corpus.now).decode())


if __name__ == "__main__":
    main()
