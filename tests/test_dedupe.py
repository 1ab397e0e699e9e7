"""One entry per story: near-duplicates and teasers merge, different stories stay apart."""

from __future__ import annotations

import random
from dataclasses import replace

from support.sections import item, story

from newsletter.analysis.dedupe.merge import MAX_POSTINGS, duplicate_groups, merge_duplicates
from newsletter.analysis.dedupe.teaser import evidence, profile, root

RNG_SEED = 12

# Two different stories on the same topic, written for these tests.
BRIDGE = (
    "The council approved the new river bridge on Tuesday after a long debate. "
    "Work will start in March and the crossing should open to walkers next spring. "
    "Engineers said the steel arch would be assembled on the east bank and lifted in one piece. "
    "Residents of Millbrook asked for a cycle lane, which the plans now include. "
    "The budget of four million pounds comes mostly from a regional transport grant. "
    "Traffic on the old ferry road will be diverted for six weeks during the lift. "
    "The mayor called it the biggest change to the town centre in a generation."
)
BRIDGE_REWRITE = (
    "The council approved the new river bridge on Tuesday after a long and heated debate. "
    "Work will start in March and the crossing should open to walkers next spring. "
    "Engineers said the steel arch would be assembled on the east bank and lifted in one piece. "
    "The budget of four million pounds comes mostly from a regional transport grant. "
    "Traffic on the old ferry road will be diverted for six weeks during the lift. "
    "A public viewing point will be set up at the marina for the day of the lift. "
    "The mayor called it the biggest change to the town centre in a generation."
)
TUNNEL = (
    "The council rejected plans for a road tunnel under the river on Thursday. "
    "Councillors said the cost had doubled since the first survey and the grant would not "
    "cover it. "
    "The tunnel would have linked the ring road to the industrial estate on the east bank. "
    "Business owners in Millbrook said the decision would keep lorries in the town centre. "
    "The transport committee will look at a smaller scheme for buses next year. "
    "The mayor said the council could not borrow more without raising local taxes."
)


def test_same_story_from_two_feeds_is_one_entry_listing_both_sources():
    a = item(
        "a1",
        "Council approves new river bridge",
        BRIDGE,
        feed="https://one.example/rss",
        source="One",
    )
    b = item(
        "b7",
        "River bridge gets the go-ahead",
        BRIDGE_REWRITE,
        feed="https://two.example/rss",
        source="Two",
    )
    entries = merge_duplicates([a, b], summaries={b.content_hash: "Two's summary."})
    assert len(entries) == 1
    (only,) = entries
    assert set(only.sources) == {("One", a.link), ("Two", b.link)}
    assert only.item.key == "b7"  # the longer text is kept, and its summary with it
    assert only.sources[0] == ("Two", b.link)
    assert only.summary == "Two's summary."


def test_teaser_and_full_text_merge_keeping_the_full_text():
    first_two = " ".join(BRIDGE.split(". ")[:2]) + ". …"
    teaser = item(
        "t1",
        "Council approves new river bridge",
        first_two,
        feed="https://digest.example/rss",
        source="Digest",
    )
    full = item(
        "f1",
        "Council approves new river bridge",
        BRIDGE,
        feed="https://paper.example/rss",
        source="Paper",
    )
    entries = merge_duplicates([teaser, full], summaries={full.content_hash: "Bridge summary."})
    assert len(entries) == 1
    assert entries[0].item.text == BRIDGE
    assert entries[0].summary == "Bridge summary."
    assert {s for s, _ in entries[0].sources} == {"Digest", "Paper"}


def test_two_stories_on_the_same_topic_are_not_merged():
    bridge = item("a", "Council approves new river bridge", BRIDGE, feed="https://one.example/rss")
    tunnel = item("b", "Council rejects road tunnel", TUNNEL, feed="https://two.example/rss")
    entries = merge_duplicates([bridge, tunnel])
    assert [e.item.key for e in entries] == ["a", "b"]
    assert all(len(e.sources) == 1 for e in entries)


def test_same_feed_needs_identical_text():
    feed = "https://one.example/rss"
    a = item("a", "Council approves new river bridge", BRIDGE, feed=feed)
    rewrite = item("b", "Bridge approved", BRIDGE_REWRITE, feed=feed)
    again = item("c", "Council approves new river bridge (updated)", BRIDGE, feed=feed)
    entries = merge_duplicates([a, rewrite, again])
    # The rewrite in the same feed is a separate post; the identical text is the same one.
    assert [sorted(link for _, link in e.sources) for e in entries] == [
        sorted([a.link, again.link]),
        [rewrite.link],
    ]


def test_boilerplate_shared_by_every_item_does_not_merge_them():
    rng = random.Random(RNG_SEED)
    footer = " The post appeared first on the Millbrook Gazette, read more local news there."
    items = [
        item(
            f"k{i}", f"Story {i}", story(rng, topic) + footer, feed=f"https://f{i % 3}.example/rss"
        )
        for i, topic in enumerate(["garden", "space", "kitchen", "rail"] * 20)
    ]
    entries = merge_duplicates(items)
    assert len(entries) == 80


def test_order_follows_first_appearance_and_is_deterministic():
    rng = random.Random(RNG_SEED)
    texts = [story(rng, t) for t in ("garden", "space", "kitchen")]
    items = [
        item("g", "Garden news", texts[0], feed="https://a.example/rss", minutes_ago=1),
        item("s", "Space news", texts[1], feed="https://a.example/rss", minutes_ago=2),
        item("g2", "Garden news again", texts[0], feed="https://b.example/rss", minutes_ago=3),
        item("k", "Kitchen news", texts[2], feed="https://a.example/rss", minutes_ago=4),
    ]
    first = merge_duplicates(items)
    assert [e.item.key for e in first] == ["g", "s", "k"]
    assert [e.sources for e in merge_duplicates(items)] == [e.sources for e in first]
    assert first[0].summary == ""  # no summaries given


def test_short_titles_alone_do_not_merge_different_stories():
    a = item("a", "Weekly roundup", "", feed="https://a.example/rss")
    b = item("b", "Weekly roundup", "", feed="https://b.example/rss")
    c = item("c", "Storm closes the coast road overnight", "", feed="https://c.example/rss")
    d = item("d", "Storm closes the coast road overnight", "", feed="https://d.example/rss")
    groups, _ = duplicate_groups([a, b, c, d])
    # Two bare words are no evidence; a full identical headline from two feeds is.
    assert groups == [[0], [1], [2, 3]]


def test_work_grows_linearly_with_the_number_of_items():
    """Candidate pairs come from shared shingles only: count them, not time them."""

    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "pa", "qu", "ze"]
    lexicon = sorted({a + b + c for a in syllables for b in syllables for c in syllables})
    weights = [1 / (rank + 1) for rank in range(len(lexicon))]  # Zipf, like real words

    def make(n: int, seed: int) -> list:
        rng = random.Random(seed)
        order = rng.sample(lexicon, len(lexicon))
        items = []
        for i in range(n):
            text = ". ".join(" ".join(rng.choices(order, weights, k=16)) for _ in range(6))
            items.append(item(f"s{i}", f"Story {i}", text, feed=f"https://f{i % 7}.example/rss"))
        # Every tenth story also arrives from a second feed with a sentence dropped.
        copies = [
            item(
                f"c{i}",
                it.title + " (update)",
                it.text.split(". ", 1)[1],
                feed="https://copy.example/rss",
            )
            for i, it in enumerate(items[::10])
        ]
        return items + copies

    small, big = make(1000, 1), make(3000, 2)
    groups_small, stats_small = duplicate_groups(small)
    groups_big, stats_big = duplicate_groups(big)
    assert len(groups_small) == 1000 and len(groups_big) == 3000
    assert stats_big.merged_pairs == 300
    # Each shingle's posting list yields at most MAX_POSTINGS**2 / 2 pairs: linear in
    # shingles, and in practice far below the 5.4 million pairs of 3,300 items.
    assert stats_big.candidate_pairs <= stats_big.shingles * (MAX_POSTINGS - 1) // 2
    assert stats_big.candidate_pairs < 0.01 * len(big) ** 2
    # Three times the items, about three times the work (quadratic would be nine).
    assert stats_big.candidate_pairs < 4.5 * stats_small.candidate_pairs


# --- short items in their own words (another site's teaser) -------------------------------

TRAM = (
    "Marrow Valley council on Monday approved a £2.3 million extension of the city's tram "
    "network to the suburb of Kettleby, ending a decade of argument over how to link the "
    "growing district to the centre. The 4.6-kilometre line will add five stops and is due "
    "to open in 2029, council leader Edith Brann told a packed chamber.\n\n"
    "Most of the money comes from a national fund for urban transport, with the rest "
    "borrowed against future fare income. Engineers plan to reuse an old freight cutting "
    "for half of the route, which keeps the number of homes affected to a handful.\n\n"
    "Opposition members questioned the fare forecasts, saying similar lines elsewhere had "
    "carried fewer passengers than promised. Brann said the Kettleby estates had grown by "
    "a third since the last census and that buses on the route were already full at peak "
    "times. Construction is expected to begin next autumn, once the last land purchases are "
    "settled, and will close the ring road for several weekends."
)
# The same story told by a description-only feed: its own words, not TRAM's sentences.
TRAM_TEASER = (
    "Trams will run to Kettleby by 2029 after Marrow Valley councillors backed a £2.3m "
    "extension on Monday. The 4.6km line adds five stops, said council leader Edith Brann, "
    "and crosses an old freight cutting."
)
# Same town, same people, another story.
FARES_TEASER = (
    "Marrow Valley councillors put off a vote on cheaper bus fares for pensioners until "
    "March after officials warned of a £1.1m gap in the transport budget. Council leader "
    "Edith Brann said the city could not promise more than it can pay for."
)


def _tram_pair(teaser_minutes_ago: int | None = 180, teaser_text: str = TRAM_TEASER):
    full = item(
        "tram-full",
        "Marrow Valley council backs tram line to Kettleby",
        TRAM,
        feed="https://gazette.example/rss",
        source="Gazette",
    )
    teaser = item(
        "tram-short",
        "Kettleby to get trams by 2029",
        teaser_text,
        feed="https://radio.example/rss",
        source="Radio",
        minutes_ago=teaser_minutes_ago or 0,
    )
    if teaser_minutes_ago is None:
        full, teaser = (replace(it, published=None, first_seen=None) for it in (full, teaser))
    return full, teaser


def test_reworded_teaser_merges_with_the_article_keeping_the_full_text():
    full, teaser = _tram_pair()
    # No shingle path would find this: few word 3-grams are shared.
    entries = merge_duplicates([teaser, full], summaries={full.content_hash: "Tram summary."})
    assert len(entries) == 1
    (only,) = entries
    assert only.item.key == "tram-full"
    assert only.summary == "Tram summary."
    assert {name for name, _ in only.sources} == {"Gazette", "Radio"}


def test_short_item_on_the_same_town_and_people_stays_apart():
    full, _ = _tram_pair()
    _, fares = _tram_pair(teaser_text=FARES_TEASER)
    fares = replace(fares, title="Pensioner bus fare vote delayed")
    groups, _ = duplicate_groups([full, fares])
    assert groups == [[0], [1]]


def test_reworded_teaser_needs_dates_close_together():
    full, late = _tram_pair(teaser_minutes_ago=-3 * 24 * 60)  # three days later: a follow-up
    assert len(merge_duplicates([full, late])) == 2
    full, teaser = _tram_pair(teaser_minutes_ago=None)  # no dates: words alone do not merge
    assert len(merge_duplicates([full, teaser])) == 2


def test_teaser_evidence_combines_words_title_and_anchors():
    full, teaser = _tram_pair()
    short, long = profile(teaser), profile(full)
    assert short.short and not long.short
    # Figures written differently are the same anchor; names are found inside sentences.
    assert {"#2.3", "#4.6", "#2029"} <= short.anchors & long.roots
    assert root("Kettleby") in short.anchors and root("Brann") in short.anchors
    assert root("approves") == root("approved") and root("Kettleby’s") == root("Kettleby")
    ev = evidence(short, long, {}, 2)
    assert ev.anchors >= 4 and ev.numbers == 3 and ev.hours == 3.0
    assert ev.same_story()
    _, fares = _tram_pair(teaser_text=FARES_TEASER)
    assert not evidence(profile(fares), long, {}, 2).same_story()


def test_teaser_candidates_grow_linearly_with_short_items():
    syllables = ["ba", "ko", "li", "mu", "ne", "po", "ra", "si", "tu", "ve", "xo", "za"]
    lexicon = sorted({a + b + c for a in syllables for b in syllables for c in syllables})
    weights = [1 / (rank + 1) for rank in range(len(lexicon))]

    def make(n: int, seed: int) -> list:
        rng = random.Random(seed)
        out = []
        for i in range(n):
            words = rng.choices(lexicon, weights, k=30)
            text = " ".join(words[:15]) + ". " + " ".join(words[15:]) + "."
            out.append(
                item(f"t{i}", " ".join(words[:4]), text, feed=f"https://f{i % 5}.example/rss")
            )
        return out

    _, small = duplicate_groups(make(500, 1))
    _, big = duplicate_groups(make(1500, 2))
    assert 0 < small.teaser_candidates
    # Three times the items, about three times the pairs weighed (quadratic would be nine).
    assert big.teaser_candidates < 4.5 * small.teaser_candidates
    assert big.teaser_candidates < 0.01 * 1500**2
