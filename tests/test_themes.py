"""Sections: categories when the feeds agree, text clusters otherwise, one leftover section."""

from __future__ import annotations

import random
import re
from collections import Counter

from support.sections import TOPICS, entry, item, story, topic_entries, topic_of

from newsletter.analysis.themes.labels import _numbered, terms, text_labels
from newsletter.analysis.themes.sections import entry_text, group_sections, slugify
from newsletter.analysis.themes.topics import FIT_CAP, topic_model
from newsletter.config import ThemesConfig

CONFIG = ThemesConfig()


def signature(sections):
    return [(s.label, s.slug, [e.item.key for e in s.entries]) for s in sections]


def test_no_entries_no_sections():
    assert group_sections([], CONFIG) == []


def test_consistent_categories_become_the_sections():
    cats = {"garden": ("Gardening", "News"), "space": ("Science", "News"), "rail": ("travel",)}
    entries = topic_entries({"garden": 5, "space": 4, "rail": 3}, categories=cats)
    sections = group_sections(entries, CONFIG)
    # "News" is on nearly every entry: the feed's, not a theme. "travel" gets proper case.
    assert [s.label for s in sections] == ["Gardening", "Science", "Travel"]
    assert [len(s.entries) for s in sections] == [5, 4, 3]
    for s in sections:
        assert len({topic_of(e) for e in s.entries}) == 1


def test_uncategorized_entry_joins_the_closest_category():
    cats = {"garden": ("Gardening",), "space": ("Science",)}
    entries = topic_entries({"garden": 5, "space": 5}, categories=cats)
    loner = item(
        "space-x",
        "Comet seen by the new telescope",
        story(random.Random(9), "space"),
        minutes_ago=1,
    )
    sections = group_sections([*entries, entry(loner)], CONFIG)
    science = next(s for s in sections if s.label == "Science")
    assert "space-x" in [e.item.key for e in science.entries]
    assert len(sections) == 2


def test_text_sections_are_pure_and_labelled_in_two_to_four_proper_case_words():
    entries = topic_entries({"garden": 8, "space": 7, "kitchen": 6})
    sections = group_sections(entries, CONFIG)
    assert len(sections) == 3
    for s in sections:
        assert len({topic_of(e) for e in s.entries}) == 1, s.label
        words = re.findall(r"[^\s,&]+", s.label)
        assert 2 <= len(words) <= 4, s.label
        assert all(w[0].isupper() for w in words), s.label
    # A label names its topic: its words come from that topic's vocabulary.
    garden = next(s for s in sections if topic_of(s.entries[0]) == "garden")
    assert any(
        w.lower() in " ".join(e.item.text.lower() for e in garden.entries)
        for w in re.findall(r"\w+", garden.label)
    )
    assert len({s.label for s in sections}) == 3


def test_leftovers_go_into_one_named_section_last():
    entries = topic_entries({"garden": 6, "space": 6, "kitchen": 5})
    rng = random.Random(4)
    odd = [
        entry(
            item(
                "odd-1",
                "Quarterly tax filing reminder",
                "Invoices receipts ledger audit "
                "accountant deadline penalty refund bookkeeping. " * 3,
                minutes_ago=3,
            )
        ),
        entry(
            item(
                "odd-2",
                "Chess club championship",
                "Gambit checkmate bishop rook pawn opening endgame grandmaster tournament. " * 3,
                minutes_ago=4,
            )
        ),
    ]
    assert rng  # seeded helpers above; the odd ones are hand-written
    sections = group_sections([*entries, *odd], CONFIG)
    assert sections[-1].label == CONFIG.other_label
    assert {e.item.key for e in sections[-1].entries} == {"odd-1", "odd-2"}
    assert sum(s.label == CONFIG.other_label for s in sections) == 1
    assert all(len(s.entries) >= CONFIG.min_section_size for s in sections[:-1])


def test_order_is_size_then_recency_and_entries_newest_first():
    entries = topic_entries({"garden": 7, "space": 4, "rail": 4, "kitchen": 5})
    sections = group_sections(entries, CONFIG)
    sizes = [len(s.entries) for s in sections]
    assert sizes == sorted(sizes, reverse=True)
    # Equal sizes: the section with the newest entry first.
    equal = [s for s in sections if len(s.entries) == 4]
    newest = [max(e.item.published for e in s.entries) for s in equal]
    assert newest == sorted(newest, reverse=True)
    for s in sections:
        stamps = [e.item.published for e in s.entries]
        assert stamps == sorted(stamps, reverse=True)


def test_deterministic_and_independent_of_input_order():
    entries = topic_entries({"garden": 6, "space": 6, "kitchen": 6, "rail": 5}, seed=3)
    first = signature(group_sections(entries, CONFIG))
    assert signature(group_sections(entries, CONFIG)) == first
    shuffled = list(entries)
    random.Random(8).shuffle(shuffled)
    assert signature(group_sections(shuffled, CONFIG)) == first


def test_max_sections_is_respected_and_slugs_are_unique_anchors():
    entries = topic_entries({"garden": 5, "space": 5, "kitchen": 5, "rail": 5})
    sections = group_sections(entries, ThemesConfig(max_sections=3))
    themed = [s for s in sections if s.label != CONFIG.other_label]
    assert len(themed) <= 3 and len(sections) <= 4
    assert sum(len(s.entries) for s in sections) == 20
    slugs = [s.slug for s in sections]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s) for s in slugs)
    assert slugify("Économie & Café: 2026!") == "economie-cafe-2026"


def test_a_handful_of_entries_make_one_section():
    entries = topic_entries({"garden": 2, "space": 1})
    sections = group_sections(entries, CONFIG)
    assert len(sections) == 1 and len(sections[0].entries) == 3


def test_store_vocabulary_gives_the_topics():
    rng = random.Random(21)
    vocabulary = [story(rng, t) for t in ("garden", "space", "kitchen", "rail") for _ in range(60)]
    entries = topic_entries({"garden": 5, "space": 5, "kitchen": 4, "rail": 4}, seed=5)
    model = topic_model([e.item.text for e in entries], vocabulary, CONFIG.max_sections)
    assert model is not None and model.from_store and model.k == 4
    sections = group_sections(entries, CONFIG, vocabulary=vocabulary)
    assert len(sections) == 4
    for s in sections:
        assert len({topic_of(e) for e in s.entries}) == 1, s.label


def test_big_digest_is_fitted_on_a_capped_sample_and_stays_fast():
    counts = {"garden": 900, "space": 800, "kitchen": 700, "rail": 600}
    entries = topic_entries(counts, seed=7)
    sections = group_sections(entries, CONFIG)
    # The model it used (cached) learned from a capped, repeatable sample of the entries.
    model = topic_model([entry_text(e) for e in entries], [], CONFIG.max_sections)
    assert model is not None and len(model.docs) == FIT_CAP
    assert sum(len(s.entries) for s in sections) == 3000
    # Each topic lands (almost) whole in one section.
    for s in sections:
        top, n = Counter(topic_of(e) for e in s.entries).most_common(1)[0]
        assert n >= 0.95 * len(s.entries), s.label


def test_label_terms_skip_stop_words_and_never_span_punctuation():
    found = terms("Fairfax wellness calendar, Aug. 23-30: the Box Office und der Woche")
    assert "wellness calendar" in found and "box office" in found
    assert "calendar aug" not in found and "aug" not in found
    assert not {"the", "und", "der"} & set(found)


def test_labels_skip_the_function_words_of_a_groups_language():
    # German stories (tagged, or not): "die" is an English word too, but never their label.
    german = [
        f"Die {w} und die Stadt. Die Bürger sagen, die {w} sei zu teuer und die Stadt zu voll."
        for w in ("Straßenbahn", "Straßenbahn", "Brücke", "Straßenbahn")
    ]
    english = [f"The {w} opened. Critics say the {w} costs too much." for w in ("tram", "bridge")]
    texts = german + english
    titles = [t.split(".")[0] for t in texts]
    for languages in (["de"] * 4 + ["en"] * 2, [""] * 6):
        (label,) = text_labels(texts, titles, [[0, 1, 2, 3]], "Stories", languages=languages)
        assert "die" not in label.casefold().split(), label
        assert "Stadt" in label, label


def test_labels_never_use_what_is_left_of_a_contraction():
    texts = [
        f"The {w} doesn't work and the {w} isn't fixed, residents say of the {w}."
        for w in ("lift", "lift", "boiler")
    ] + ["Gardeners plant roses in spring.", "The match ended in a draw."]
    titles = [t.split(",")[0] for t in texts]
    (label,) = text_labels(texts, titles, [[0, 1, 2]], "Stories")
    assert not {"doesn", "isn"} & set(label.casefold().split()), label


def test_fallback_labels_are_numbered_from_two():
    assert _numbered("Stories", 1) == ["Stories"]
    assert _numbered("Stories", 1, {"stories"}) == ["Stories 2"]
    assert text_labels(["1 2", "3 4"], ["1", "3"], [[0], [1]], "Stories") == [
        "Stories 1",
        "Stories 2",
    ]


def test_store_topic_model_is_kept_between_runs_and_refit_when_the_store_moves_on(
    tmp_path, monkeypatch
):
    import random

    from support.sections import TOPICS, story

    from newsletter.analysis.themes import topics as themes_topics
    from newsletter.analysis.themes.topics import Vocabulary, topic_model

    rng = random.Random(7)
    topics = sorted(TOPICS)
    texts = [story(rng, topics[i % len(topics)]) for i in range(300)]
    first = topic_model([], Vocabulary(texts, cache_dir=tmp_path), 6)
    assert first is not None and (tmp_path / "topics-6.pickle").is_file()

    fits = []
    real_fit = themes_topics.fit_topics
    monkeypatch.setattr(themes_topics, "fit_topics", lambda *a: fits.append(1) or real_fit(*a))
    themes_topics._CACHE.clear()  # a new process: only the file remains
    nearly_same = texts[:-10] + [story(rng, topics[0]) for _ in range(10)]
    again = topic_model([], Vocabulary(nearly_same, cache_dir=tmp_path), 6)
    assert fits == [] and again.k == first.k  # 97 % of the texts unchanged: reused
    # ... and updated: the 10 new texts are folded into the topics and their term counts
    (_, seen), per_topic = again.term_counts()
    assert seen == 310 and sum(n for _, n in per_topic) == 310
    assert again.docs == ()  # a kept store model holds counts, not the texts
    themes_topics._CACHE.clear()
    same_again = topic_model([], Vocabulary(nearly_same, cache_dir=tmp_path), 6)
    assert fits == [] and same_again.term_counts()[0][1] == 310  # nothing new: no update

    themes_topics._CACHE.clear()
    moved_on = texts[:150] + [story(rng, topics[1]) for _ in range(150)]
    topic_model([], Vocabulary(moved_on, cache_dir=tmp_path), 6)
    assert fits == [1]  # half the store is new: refit


def test_a_term_space_gives_what_scikit_learns_transforms_give():
    import numpy as np
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    from newsletter.analysis.themes.labels import STOP_WORDS
    from newsletter.analysis.themes.space import TermSpace
    from newsletter.analysis.themes.topics import TOKEN_PATTERN

    rng = random.Random(5)
    topics = sorted(TOPICS)
    texts = [story(rng, topics[i % len(topics)]) for i in range(200)]
    vec = TfidfVectorizer(
        sublinear_tf=True,
        stop_words=sorted(STOP_WORDS),
        token_pattern=TOKEN_PATTERN,
        min_df=2,
        max_df=0.5,
        dtype=np.float32,
    )
    X = vec.fit_transform(texts)
    svd = TruncatedSVD(20, random_state=0).fit(X)
    others = [*texts[:30], "Unheard-of words ÉCOLE École école école", "", "1999 42"]
    for axes in (svd, None):
        space = TermSpace(
            vocabulary={str(t): int(i) for t, i in vec.vocabulary_.items()},
            idf=vec.idf_.astype(np.float32),
            axes=None if axes is None else axes.components_,
            token_pattern=TOKEN_PATTERN,
        )
        expected = vec.transform(others)
        expected = normalize(svd.transform(expected)) if axes else expected.toarray()
        assert np.abs(space.vectors(others) - expected).max() < 1e-5
    assert not space.vectors([""]).any()  # no known word: a zero row, not NaN


def test_groups_named_after_their_one_feed_still_get_distinct_labels():
    from newsletter.analysis.themes.sections import _build_sections, _Groups

    # nine stories of one feed in three groups, with no word that could name a group
    entries = [entry(item(f"k{i}", "The and of", "It is what it was.")) for i in range(9)]
    texts = [entry_text(e) for e in entries]
    groups = _Groups(assignment=[i // 3 for i in range(9)], labels={})
    sections, leftovers = _build_sections(entries, texts, groups, 6, 2, [], ["en"] * 9)
    labels = [label for label, _ in sections]
    assert leftovers == [] and len(labels) == 3
    assert labels == ["Example Feed", "Example Feed 2", "Example Feed 3"]


def test_labels_weigh_only_terms_that_can_name_a_group():
    # text of rare words (codes, names) holds thousands of terms seen once: only those of
    # two texts or more, and those of a group of one, are weighed as labels
    from newsletter.analysis.themes.labels import _candidates

    rng = random.Random(8)

    def noise() -> str:
        return " ".join(
            "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7)) for _ in range(40)
        )

    texts = [f"Harbour ferry timetable {noise()}" for _ in range(4)]
    texts += [f"Orchard apple harvest {noise()}" for _ in range(4)]
    texts.append(f"Lighthouse keeper {noise()}")
    groups = [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    found = [set(terms(t)) for t in texts]
    kept = _candidates(found, groups)
    assert "harbour ferry" in kept and "apple" in kept
    assert found[8] <= set(kept)  # a group of one keeps every term of its text
    assert len(kept) < 0.2 * len(set().union(*found))  # the noise of the others is gone
    titles = ["Harbour ferry timetable"] * 4 + ["Orchard apple harvest"] * 4 + ["Lighthouse keeper"]
    first, second, third = text_labels(texts, titles, groups, "Stories")
    assert "Ferry" in first and "Apple" in second and "Lighthouse" in third


def test_a_digest_of_rare_words_is_clustered_in_bounded_memory():
    # every story has words of its own: the dense rows drop the rarest words to stay
    # under DENSE_CELLS instead of holding stories x (hundreds of thousands of words)
    from newsletter.analysis.themes.topics import DENSE_CELLS, small_vectors

    rng = random.Random(3)
    common = ["harbour", "ferry", "orchard", "apple", "council", "budget"]

    def word() -> str:
        return "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))

    texts = [" ".join([*rng.sample(common, 2), *(word() for _ in range(150))]) for _ in range(900)]
    X = small_vectors(texts, ())
    assert X is not None and X.size <= DENSE_CELLS
    assert X.shape[1] >= len(common)  # the words stories share are kept
