"""Hand-made items for the themes and dedupe tests: small topic vocabularies and a
seeded sentence maker, so the tests need no dataset."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from newsletter.model import Entry, Item

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)

TOPICS: dict[str, list[str]] = {
    "garden": [
        "garden",
        "tomatoes",
        "compost",
        "seedlings",
        "pruning",
        "roses",
        "soil",
        "greenhouse",
        "watering",
        "mulch",
        "allotment",
        "bulbs",
        "hedges",
        "orchard",
        "weeds",
    ],
    "space": [
        "telescope",
        "galaxy",
        "orbit",
        "astronomers",
        "rocket",
        "planet",
        "comet",
        "nebula",
        "satellite",
        "launch",
        "lunar",
        "asteroid",
        "spacecraft",
        "observatory",
        "stars",
    ],
    "kitchen": [
        "recipe",
        "baking",
        "flour",
        "oven",
        "pastry",
        "sauce",
        "chef",
        "dough",
        "butter",
        "roasting",
        "spices",
        "bread",
        "simmer",
        "dessert",
        "vinegar",
    ],
    "rail": [
        "railway",
        "trains",
        "timetable",
        "platform",
        "commuters",
        "signals",
        "carriages",
        "station",
        "tracks",
        "locomotive",
        "fares",
        "engineering",
        "junction",
        "tickets",
        "depot",
    ],
}
FILLER = [
    "the",
    "a",
    "this",
    "week",
    "local",
    "people",
    "said",
    "many",
    "new",
    "plans",
    "after",
    "before",
    "during",
    "with",
    "their",
    "some",
    "most",
    "around",
    "city",
    "report",
    "group",
    "early",
    "later",
    "council",
    "members",
    "visitors",
    "season",
    "morning",
    "evening",
]


def sentence(rng: random.Random, topic: str | None, words: int = 14) -> str:
    """One sentence: topic words mixed with common filler words."""
    vocab = TOPICS[topic] if topic else []
    out = []
    for i in range(words):
        pool = vocab if vocab and (i % 2 == 0 or rng.random() < 0.3) else FILLER
        out.append(rng.choice(pool))
    text = " ".join(out)
    return text[0].upper() + text[1:] + "."


def story(rng: random.Random, topic: str | None, sentences: int = 8) -> str:
    return " ".join(sentence(rng, topic) for _ in range(sentences))


def item(
    key: str,
    title: str,
    text: str,
    *,
    feed: str = "https://feed.example/rss",
    source: str = "Example Feed",
    categories: tuple[str, ...] = (),
    minutes_ago: int = 0,
    link: str = "",
) -> Item:
    return Item(
        key=key,
        feed_url=feed,
        link=link or f"{feed.rsplit('/', 1)[0]}/{key}",
        title=title,
        text=text,
        source=source,
        categories=categories,
        published=T0 - timedelta(minutes=minutes_ago),
        content_hash=f"hash-{key}",
    )


def entry(it: Item) -> Entry:
    return Entry(item=it, summary="", sources=((it.source, it.link),))


def topic_entries(
    counts: dict[str, int], seed: int = 1, categories: dict[str, tuple[str, ...]] | None = None
) -> list[Entry]:
    """Entries on the given topics (count per topic), interleaved, newest first."""
    rng = random.Random(seed)
    plan = [t for t, n in counts.items() for _ in range(n)]
    rng.shuffle(plan)
    out = []
    for i, topic in enumerate(plan):
        title = sentence(rng, topic, words=6).rstrip(".")
        cats = (categories or {}).get(topic, ())
        it = item(f"{topic}-{i}", title, story(rng, topic), categories=cats, minutes_ago=5 * i)
        out.append(entry(it))
    return out


def topic_of(e: Entry) -> str:
    return e.item.key.split("-")[0]


def feed_entries(plan: list[tuple[str, str, tuple[str, ...], int]], seed: int = 1) -> list[Entry]:
    """Entries from several feeds: (feed name, topic, that feed's categories, count) each.
    Keys are "<topic>-<feed>-<n>", so topic_of() still names the topic."""
    rng = random.Random(seed)
    rows = [(feed, topic, cats) for feed, topic, cats, n in plan for _ in range(n)]
    rng.shuffle(rows)
    out = []
    for i, (feed, topic, cats) in enumerate(rows):
        title = sentence(rng, topic, words=6).rstrip(".")
        it = item(
            f"{topic}-{feed}-{i}",
            title,
            story(rng, topic),
            feed=f"https://{feed}.example/rss",
            source=feed.title(),
            categories=cats,
            minutes_ago=5 * i,
        )
        out.append(entry(it))
    return out
