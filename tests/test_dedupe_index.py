"""The story index: a build compares only its new items, against every recent story, and
finds the same stories a comparison from scratch finds."""

from __future__ import annotations

import random

from support.sections import item
from test_dedupe import BRIDGE, BRIDGE_REWRITE, TRAM, TRAM_TEASER, TUNNEL

from newsletter.analysis.dedupe import index as story_index
from newsletter.analysis.dedupe.index import StoryIndex, story_groups
from newsletter.analysis.dedupe.merge import duplicate_groups

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "pa", "qu", "ze"]
LEXICON = sorted({a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES})


def stories(n: int, seed: int, prefix: str, copies_every: int = 10) -> list:
    """n distinct stories in 7 feeds, and every tenth again in another feed, a sentence
    dropped (a near-duplicate)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(LEXICON))]  # Zipf, like real words
    out = []
    for i in range(n):
        text = ". ".join(" ".join(rng.choices(LEXICON, weights, k=16)) for _ in range(6))
        out.append(item(f"{prefix}{i}", f"Story {prefix}{i}", text, feed=f"https://f{i % 7}.x/rss"))
    copies = [
        item(
            f"{prefix}c{i}",
            it.title + " (update)",
            it.text.split(". ", 1)[1],
            feed="https://c.x/rss",
        )
        for i, it in enumerate(out[::copies_every])
    ]
    return out + copies


def as_keys(items, groups) -> set[frozenset[str]]:
    return {frozenset(items[i].key for i in g) for g in groups}


def test_first_build_finds_what_a_comparison_from_scratch_finds(tmp_path) -> None:
    items = stories(400, 1, "a") + [
        item("b1", "Council approves new river bridge", BRIDGE, feed="https://one.x/rss"),
        item("b2", "River bridge gets the go-ahead", BRIDGE_REWRITE, feed="https://two.x/rss"),
        item("t1", "Council rejects tunnel", TUNNEL, feed="https://two.x/rss"),
    ]
    groups, stats = story_groups(items, tmp_path)
    expected, _ = duplicate_groups(items)
    assert groups == expected
    assert stats.merged_pairs == 41  # 40 copies and the reworded bridge story
    assert (tmp_path / "stories.pickle").is_file()


def test_a_later_build_reads_and_compares_only_its_new_items(tmp_path) -> None:
    first = stories(300, 2, "a")
    story_groups(first, tmp_path)
    # the next build: the same items, and new ones of which some copy an old story
    new = stories(100, 3, "n") + [
        item("late-copy", first[5].title, first[5].text.split(". ", 2)[2], feed="https://l.x/rss")
    ]
    again = first + new
    groups, stats = StoryIndex(tmp_path).groups(again)  # a new process: only the file
    assert stats.shingles == sum(  # only the new items were read
        len(s.shingles) for s in (story_index.story(it) for it in new)
    )
    assert as_keys(again, groups) == as_keys(again, duplicate_groups(again)[0])
    assert frozenset({"a5", "late-copy"}) in as_keys(again, groups)
    # nothing new: nothing read, nothing compared, the same stories
    same, idle = StoryIndex(tmp_path).groups(again)
    assert (idle.shingles, idle.candidate_pairs) == (0, 0)
    assert same == groups


def test_pairs_found_earlier_hold_when_the_two_meet_in_a_later_digest(tmp_path) -> None:
    a = item("b1", "Council approves new river bridge", BRIDGE, feed="https://one.x/rss")
    b = item("b2", "River bridge gets the go-ahead", BRIDGE_REWRITE, feed="https://two.x/rss")
    t = item("t1", "Council rejects tunnel", TUNNEL, feed="https://two.x/rss")
    story_groups([a, t], tmp_path)
    story_groups([b, t], tmp_path)  # b compared with a here, though a is not in this digest
    groups, stats = story_groups([t, a, b], tmp_path)
    assert stats.candidate_pairs == 0
    assert as_keys([t, a, b], groups) == {frozenset({"t1"}), frozenset({"b1", "b2"})}


def test_a_teaser_arriving_after_its_article_is_merged_through_the_index(tmp_path) -> None:
    full = item("tram-full", "Marrow Valley council backs tram line", TRAM, feed="https://g.x/rss")
    teaser = item(
        "tram-short",
        "Kettleby to get trams by 2029",
        TRAM_TEASER,
        feed="https://r.x/rss",
        minutes_ago=180,
    )
    others = stories(50, 4, "o")
    story_groups([full, *others], tmp_path)
    groups, stats = story_groups([teaser, full, *others], tmp_path)
    assert frozenset({"tram-full", "tram-short"}) in as_keys([teaser, full, *others], groups)
    assert stats.teaser_candidates >= 1


def test_same_feed_rule_applies_to_remembered_pairs(tmp_path) -> None:
    a = item("b1", "Council approves new river bridge", BRIDGE, feed="https://one.x/rss")
    b = item("b2", "River bridge gets the go-ahead", BRIDGE_REWRITE, feed="https://one.x/rss")
    groups, _ = story_groups([a, b], tmp_path)
    assert len(groups) == 2  # one feed, two keys, two texts: two stories


def test_old_stories_leave_the_index(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(story_index, "WINDOW", 50)  # and 4 x the build's items
    first = stories(100, 5, "a")
    story_groups(first, tmp_path)
    index = StoryIndex(tmp_path)
    index._load()
    assert len(index.stories) == len(first) > 50  # this build's items always stay
    later = stories(10, 6, "b")  # 11 items: 44 kept, 50 at least
    story_groups(later, tmp_path)
    index = StoryIndex(tmp_path)
    index._load()
    assert len(index.stories) == 50
    assert {it.content_hash for it in later} <= set(index.stories)
    assert all(set(others) <= set(index.stories) for others in index.pairs.values())


def test_a_damaged_index_is_only_lost_work(tmp_path) -> None:
    (tmp_path / "stories.pickle").write_bytes(b"not a pickle")
    items = stories(50, 7, "a")
    groups, _ = story_groups(items, tmp_path)
    assert groups == duplicate_groups(items)[0]
