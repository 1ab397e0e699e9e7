"""Feed categories as evidence for sections: normalized across feeds, named, consistent."""

from __future__ import annotations

import random
import re
from collections import Counter

from support.sections import entry, feed_entries, item, story, topic_entries, topic_of

from newsletter.analysis.themes.categories import categories_of, category_keys
from newsletter.analysis.themes.sections import group_sections
from newsletter.config import ThemesConfig

CONFIG = ThemesConfig()


def where(sections):
    return {e.item.key: s.label for s in sections for e in s.entries}


def test_category_strings_fold_case_plural_spelling_and_pairs():
    assert category_keys("Defense & Security") == ("defence", "security")
    assert category_keys("defence and security") == ("defence", "security")
    assert category_keys("Arts & Culture") == ("art", "culture")
    assert category_keys("Sports") == category_keys("sport") == ("sport",)
    assert category_keys("Organisation") == category_keys("Organization")
    assert category_keys("Theatre") == category_keys("theater")
    assert category_keys("Labour") == category_keys("Labor")
    assert category_keys("World > Europe / Politics") == ("world", "europe", "politics")
    assert category_keys("Économie") == ("economie",)
    assert category_keys("Health-Tech") == ("health tech",)
    assert category_keys("News") == ("new",)  # a key, never shown


def test_concepts_unify_short_forms_imply_words_and_skip_bland_ones():
    its = [
        item("a", "One", "x", categories=("Tech", "News")),
        item("b", "Two", "x", categories=("Technology", "News")),
        item("c", "Three", "x", categories=("Defence",)),
        item("d", "Four", "x", categories=("Air Defence", "Uncategorized")),
        item("e", "Five", "x", categories=("News",)),
    ]
    cats = categories_of([entry(it) for it in its])
    assert "technology" in cats.concepts[0] and "technology" in cats.concepts[1]
    assert "defence" in cats.concepts[3]  # "Air Defence" counts for "Defence"
    assert cats.concepts[3]["defence"] < cats.concepts[2]["defence"]
    assert all("new" not in cs and "uncategorized" not in cs for cs in cats.concepts)
    assert cats.usable == ["defence", "technology"]


def test_feeds_tell_their_beats_apart_but_not_each_others_names():
    its = [
        item("s1", "x", "x", feed="https://a.example/rss", categories=("Sport",)),
        item("c1", "x", "x", feed="https://a.example/rss", categories=("Culture",)),
        item("s2", "x", "x", feed="https://b.example/rss", categories=("Sports",)),
        item("c2", "x", "x", feed="https://b.example/rss", categories=("Culture",)),
        item("b1", "x", "x", feed="https://b.example/rss", categories=("Business",)),
        item("b2", "x", "x", feed="https://a.example/rss", categories=("Business",)),
        item("e1", "x", "x", feed="https://c.example/rss", categories=("Economy", "Energy")),
        item("e2", "x", "x", feed="https://c.example/rss", categories=("Economy", "Energy")),
    ]
    cats = categories_of([entry(it) for it in its])
    assert cats.contrast("sport", "culture")  # one feed files stories under each
    assert not cats.contrast("business", "economy")  # two feeds' names: maybe one beat
    assert not cats.contrast("economy", "energy")  # always together: facets of one


def test_each_feed_names_its_categories_its_own_way_and_sections_unify_them():
    entries = feed_entries(
        [
            ("herald", "garden", ("Gardening", "Local"), 4),
            ("post", "garden", ("Garden",), 3),
            ("herald", "space", ("Science & Space",), 3),
            ("post", "space", ("Space", "Astronomy"), 3),
            ("wire", "space", (), 2),
            ("herald", "kitchen", ("Food and Drink",), 3),
            ("post", "kitchen", ("Food",), 2),
        ],
        seed=4,
    )
    sections = group_sections(entries, CONFIG)
    labels = [s.label for s in sections]
    assert len(sections) == 3, labels
    for s in sections:
        assert len({topic_of(e) for e in s.entries}) == 1, (
            s.label,
            [e.item.key for e in s.entries],
        )
    by_topic = {topic_of(s.entries[0]): s.label for s in sections}
    # Labels come from the categories, spelled as the feeds spell them, in proper case.
    assert by_topic["garden"] == "Gardening"
    assert "Space" in by_topic["space"]
    assert by_topic["kitchen"] in {"Food", "Food and Drink"}
    for label in labels:
        assert 1 <= len(re.findall(r"[^\s&]+", label)) <= 4 and label[0].isupper()


def test_a_story_never_sits_under_a_label_its_categories_contradict():
    entries = feed_entries(
        [
            ("a", "garden", ("Gardening",), 5),
            ("b", "space", ("Science",), 5),
            ("c", "kitchen", ("Cooking",), 3),
        ],
        seed=6,
    )
    # Space words, but its feed files it under Gardening: the feed's word wins.
    filed = item(
        "odd-one",
        "Telescope comet orbit",
        story(random.Random(2), "space"),
        feed="https://c.example/rss",
        categories=("Gardening",),
    )
    sections = group_sections([*entries, entry(filed)], CONFIG)
    assert where(sections)["odd-one"] == "Gardening"
    for s in sections:
        for e in s.entries:
            cats = {c.casefold() for c in e.item.categories}
            if s.label in {"Gardening", "Science", "Cooking"} and cats:
                assert s.label.casefold() in cats, (s.label, e.item.key)


def test_an_informative_category_of_its_own_makes_its_own_section():
    entries = feed_entries(
        [
            ("a", "garden", ("Gardening",), 6),
            ("a", "space", ("Science",), 6),
            ("b", "kitchen", ("Health",), 3),
        ],
        seed=8,
    )
    sections = group_sections(entries, CONFIG)
    health = [s for s in sections if s.label == "Health"]
    assert len(health) == 1 and {topic_of(e) for e in health[0].entries} == {"kitchen"}
    assert len(health[0].entries) == 3


def test_two_feeds_names_for_one_beat_make_one_section_named_after_both():
    entries = feed_entries(
        [
            ("a", "kitchen", ("Business",), 4),
            ("b", "kitchen", ("Economy",), 4),
            ("a", "space", ("Science",), 5),
        ],
        seed=3,
    )
    sections = group_sections(entries, CONFIG)
    kitchen = [s for s in sections if any(topic_of(e) == "kitchen" for e in s.entries)]
    assert len(kitchen) == 1 and len(kitchen[0].entries) == 8
    assert kitchen[0].label == "Business & Economy"


def test_uncategorized_and_tagged_stories_join_by_text_but_not_across_beats():
    entries = feed_entries(
        [
            ("a", "garden", ("Gardening", "Millbrook"), 5),
            ("b", "space", ("Science", "Millbrook"), 5),
            ("wire", "space", (), 2),  # no categories: text decides
        ],
        seed=11,
    )
    sections = group_sections(entries, CONFIG)
    located = where(sections)
    for e in entries:
        expected = "Gardening" if topic_of(e) == "garden" else "Science"
        assert located[e.item.key] == expected, e.item.key
    # A place tag shared by both feeds' stories names no section.
    assert "Millbrook" not in {s.label for s in sections}


def test_leftovers_with_a_beat_of_their_own_stay_out_of_other_sections():
    entries = feed_entries(
        [("a", "garden", ("Gardening",), 6), ("a", "space", ("Science",), 6)], seed=5
    )
    # Two cooking stories filed under a beat no shown section has: a section of their own,
    # or the leftovers, never "Gardening" or "Science".
    odd = [
        item(
            f"kitchen-odd-{n}",
            "Recipe of the week",
            story(random.Random(40 + n), "kitchen"),
            feed="https://a.example/rss",
            categories=("Cooking",),
        )
        for n in range(2)
    ]
    sections = group_sections([*entries, *map(entry, odd)], ThemesConfig(max_sections=2))
    located = where(sections)
    assert {located[it.key] for it in odd} == {CONFIG.other_label}
    assert sorted(s.label for s in sections[:2]) == ["Gardening", "Science"]
    assert sections[-1].label == CONFIG.other_label


def test_categories_with_store_topics_name_sections_and_keep_them_consistent():
    rng = random.Random(21)
    vocabulary = [story(rng, t) for t in ("garden", "space", "kitchen", "rail") for _ in range(60)]
    cats = {
        "garden": ("Gardening",),
        "space": ("Space",),
        "kitchen": ("Food",),
        "rail": ("Transport",),
    }
    entries = topic_entries(
        {"garden": 5, "space": 5, "kitchen": 4, "rail": 4}, seed=5, categories=cats
    )
    sections = group_sections(entries, CONFIG, vocabulary=vocabulary)
    assert sorted(s.label for s in sections) == ["Food", "Gardening", "Space", "Transport"]
    for s in sections:
        assert len({topic_of(e) for e in s.entries}) == 1, s.label


def test_category_sections_are_deterministic_and_independent_of_input_order():
    entries = feed_entries(
        [
            ("a", "garden", ("Gardening",), 5),
            ("b", "garden", ("Garden",), 3),
            ("a", "space", ("Science",), 5),
            ("b", "kitchen", ("Food",), 4),
            ("c", "rail", (), 4),
        ],
        seed=9,
    )
    first = [
        (s.label, sorted(e.item.key for e in s.entries)) for s in group_sections(entries, CONFIG)
    ]
    shuffled = list(entries)
    random.Random(3).shuffle(shuffled)
    again = [
        (s.label, sorted(e.item.key for e in s.entries)) for s in group_sections(shuffled, CONFIG)
    ]
    assert again == first
    assert Counter(label for label, _ in first)[CONFIG.other_label] <= 1
