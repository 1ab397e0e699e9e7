"""Offline text rules: HTML to text, sentences in many scripts, words, readability, chrome."""

from __future__ import annotations

import re

import pytest

from newsletter.text import (
    clean_paragraphs,
    ends_cleanly,
    html_to_text,
    is_boilerplate,
    is_dangling,
    language_name,
    split_sentences,
    strip_boilerplate,
    word_count,
    words,
)

# -- html_to_text ---------------------------------------------------------------------------


def test_html_to_text_separates_blocks_with_blank_lines() -> None:
    html = "<p>First <b>bold</b> line.</p><div>Second<br>third</div><script>x()</script>"
    assert html_to_text(html) == "First bold line.\n\nSecond\n\nthird"


# -- sentences: English ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Okafor met Dr. Lind at 9 a.m. on Monday. They talked.",
            ["Mr. Okafor met Dr. Lind at 9 a.m. on Monday.", "They talked."],
        ),
        (
            "The novel by J. R. Tolliver sold 2.5 million copies. Sales doubled.",
            ["The novel by J. R. Tolliver sold 2.5 million copies.", "Sales doubled."],
        ),
        (
            'She said "We are ready." Then the doors opened.',
            ['She said "We are ready."', "Then the doors opened."],
        ),
        (
            '"Are we late?" he asked. Nobody answered!',
            ['"Are we late?" he asked.', "Nobody answered!"],
        ),
        (
            "Prices rose, e.g. for bread. Rents fell (see p. 4). Good.",
            ["Prices rose, e.g. for bread.", "Rents fell (see p. 4).", "Good."],
        ),
        (
            "The U.S. team won. It moved to the U.S. The coach stayed.",
            ["The U.S. team won.", "It moved to the U.S.", "The coach stayed."],
        ),
        (
            "He joined Brightwater Ltd. The firm grew... slowly. It was No. 1 in May.",
            ["He joined Brightwater Ltd.", "The firm grew... slowly.", "It was No. 1 in May."],
        ),
        (
            "Revenue grew last year.The board was pleased.",
            ["Revenue grew last year.", "The board was pleased."],
        ),
    ],
)
def test_english_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text, "en") == expected


def test_paragraph_breaks_end_sentences_and_no_text_is_lost() -> None:
    text = "A heading without a stop\n\nThe body starts here. It goes on\nover a line break."
    got = split_sentences(text)
    assert got == [
        "A heading without a stop",
        "The body starts here.",
        "It goes on over a line break.",
    ]
    assert re.sub(r"\s+", "", "".join(got)) == re.sub(r"\s+", "", text)


# -- sentences: other languages ---------------------------------------------------------------


def test_german_abbreviations_and_ordinals() -> None:
    text = "Am 3. Oktober öffnet das Museum, z. B. mit einer Führung. Dann folgt ein Konzert."
    assert split_sentences(text, "de-DE") == [
        "Am 3. Oktober öffnet das Museum, z. B. mit einer Führung.",
        "Dann folgt ein Konzert.",
    ]


def test_russian_initials_and_abbreviations() -> None:
    text = "Писатель А. П. Орлов приехал в город в 2019 г. летом. Он выступил в библиотеке!"
    assert split_sentences(text, "ru") == [
        "Писатель А. П. Орлов приехал в город в 2019 г. летом.",
        "Он выступил в библиотеке!",
    ]


def test_chinese_sentence_marks_need_no_spaces() -> None:
    text = "新图书馆今天开放。市民可以免费借书！你去过吗？周末有讲座。"
    assert split_sentences(text, "zh") == [
        "新图书馆今天开放。",
        "市民可以免费借书！",
        "你去过吗？",
        "周末有讲座。",
    ]


def test_urdu_and_arabic_marks() -> None:
    urdu = "شہر میں نئی لائبریری کھل گئی ہے۔ کیا آپ وہاں گئے؟ کل ایک لیکچر ہوگا۔"
    assert split_sentences(urdu, "ur") == [
        "شہر میں نئی لائبریری کھل گئی ہے۔",
        "کیا آپ وہاں گئے؟",
        "کل ایک لیکچر ہوگا۔",
    ]
    arabic = "افتتحت المكتبة اليوم. هل زرتها؟ نعم."
    assert split_sentences(arabic, "ar") == ["افتتحت المكتبة اليوم.", "هل زرتها؟", "نعم."]


def test_devanagari_danda() -> None:
    assert split_sentences("पुस्तकालय आज खुला। कल व्याख्यान होगा।", "hi") == [
        "पुस्तकालय आज खुला।",
        "कल व्याख्यान होगा।",
    ]


# -- words and languages ------------------------------------------------------------------------


def test_words_keep_inner_apostrophes_and_split_cjk_into_characters() -> None:
    assert words("The mayor's well-known plan: 3.5% more 图书馆!") == [
        "The",
        "mayor's",
        "well-known",
        "plan",
        "3",
        "5",
        "more",
        "图",
        "书",
        "馆",
    ]


def test_word_count_counts_two_cjk_characters_as_a_word() -> None:
    assert word_count("Rents rose 4% - again.") == 5
    assert word_count("新图书馆今天开放。") == 4  # 8 characters (the 。 is no word)
    assert word_count("图书馆 Library") == 3  # ceil(3 / 2) + 1


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("en", "english"),
        ("de-DE", "german"),
        ("pt_BR", "portuguese"),
        ("English", "english"),
        ("", "english"),
        ("zh-Hant", "chinese"),
        ("ru", "russian"),
        ("ur", "urdu"),
        ("xx-YY", "xx"),
    ],
)
def test_language_name(tag: str, name: str) -> None:
    assert language_name(tag) == name


# -- readability ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "He left early.",
        "This shows the risk.",
        "But the plan failed.",
        "they agreed.",
        'over," the mayor said.',
        "However, rents rose.",
        "” she added.",
    ],
)
def test_dangling_openers(sentence: str) -> None:
    assert is_dangling(sentence, "en")


@pytest.mark.parametrize(
    "sentence",
    [
        "The council met on Monday.",
        "This week the council met.",
        '"We are ready," she said.',
        "Heat waves are longer now.",
        "Thessaloniki hosts the fair.",
    ],
)
def test_good_openers(sentence: str) -> None:
    assert not is_dangling(sentence, "en")


def test_dangling_openers_in_german_and_russian() -> None:
    assert is_dangling("Er sagte nichts.", "de")
    assert not is_dangling("Der Rat tagte.", "de")
    assert is_dangling("Однако план провалился.", "ru")


def test_ends_cleanly_spots_cut_sentences() -> None:
    assert ends_cleanly("The plan passed.")
    assert ends_cleanly('"It passed!"')
    assert ends_cleanly("The plan passed. […]")
    assert not ends_cleanly("The plan passed and then […]")
    assert not ends_cleanly("The plan was…")
    assert not ends_cleanly("A line without a stop")


# -- boilerplate ----------------------------------------------------------------------------------

BODY = "The harbour board approved a new ferry route on Tuesday. Crossings start in May."


@pytest.mark.parametrize(
    "chrome",
    [
        "The post Ferry route approved appeared first on Harbour Notes.",
        "Continue reading →",
        "Continue reading “Ferry route approved” →",
        "Read more »",
        "Discover more from Harbour Notes",
        "Subscribe to get the latest posts sent to your email.",
        "Type your email…",
        "Share this:",
        "Like this: Like Loading...",
        "Click to share on Mastodon (Opens in new window)",
        "Facebook",
        "X | LinkedIn | Email",
        "Leave a comment",
        "12 Comments",
        "By Jane Q. Doe",
        "By Ana Souza and Lee Park, Harbour Notes",
        "Photo: Ana Souza/Harbour Notes",
        "Image copyright Harbour Notes",
        "Posted on 5 May 2025 by admin",
        "Tags: ferries, transport",
        "[link] [42 comments]",
    ],
)
def test_chrome_paragraphs_are_removed(chrome: str) -> None:
    assert is_boilerplate(chrome)
    assert strip_boilerplate(f"{BODY}\n\n{chrome}") == BODY
    assert strip_boilerplate(f"{chrome}\n\n{BODY}") == BODY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LONDON (Reuters) - The board approved the route.", "The board approved the route."),
        ("NEW YORK, May 5 (AP) — The board met.", "The board met."),
        ("OSLO — the board met.", "The board met."),
        ("(CNN) — The board met.", "The board met."),
        ("SÃO PAULO (Reuters) - O conselho aprovou.", "O conselho aprovou."),
        ("The board met (Getty Images) on Friday.", "The board met on Friday."),
        ("The board met (Photo: Ana Souza) on Friday.", "The board met on Friday."),
        ("The board met. The post Board met appeared first on Notes.", "The board met."),
        ("The board met. Continue reading →", "The board met."),
    ],
)
def test_datelines_credits_and_tails_are_cut(text: str, expected: str) -> None:
    assert strip_boilerplate(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Apple - the fruit, not the firm - sold well.",
        "NATO said the exercise was routine.",
        "The figures came from the Environmental Protection Agency (EPA).",
        "Shares fell 3% by noon, Agence France-Presse (AFP) reported.",
        "By Friday the ferry was full.",
        "Readers left 12 comments on the proposal, most of them angry.",
    ],
)
def test_real_sentences_survive(text: str) -> None:
    assert strip_boilerplate(text) == text


def test_all_chrome_text_is_kept_rather_than_emptied() -> None:
    text = "Share this:\n\nLeave a comment"
    assert strip_boilerplate(text) == text
    assert clean_paragraphs(text) == [["Share this:"], ["Leave a comment"]]


def test_clean_paragraphs_returns_sentences_per_paragraph() -> None:
    text = f"By Jane Doe\n\n{BODY}\n\nIt was late. Share this:"
    assert clean_paragraphs(text) == [
        ["The harbour board approved a new ferry route on Tuesday.", "Crossings start in May."],
        ["It was late."],
    ]


def test_strip_chrome_drops_chrome_paragraphs_and_tails_only():
    from newsletter.text import strip_chrome

    text = (
        "The harbour board approved the plan on Monday.\n\n"
        "Work starts in spring. Continue reading →\n\n"
        "Share this:\n\n"
        "Discover more from Harbour Notes\n\n"
        "Subscribe to get the latest posts sent to your email."
    )
    assert strip_chrome(text) == (
        "The harbour board approved the plan on Monday.\n\nWork starts in spring."
    )
    only_chrome = "Share this:"
    assert strip_chrome(only_chrome) == only_chrome  # never empties a text


class _CountingPattern:
    """A compiled pattern that adds up how much text each `search` was given to scan."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.scanned = 0

    def search(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> re.Match[str] | None:
        self.scanned += min(endpos, len(string)) - pos
        return self.pattern.search(string, pos, endpos)


def test_the_word_before_each_stop_is_found_without_rescanning_the_paragraph(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The splitter looks back from every stop for the word before it: from the paragraph's
    start, a 100,000-character paragraph of short sentences cost seconds (the square)."""
    import newsletter.text as text_module

    counting = _CountingPattern(text_module._LAST_TOKEN)
    monkeypatch.setattr(text_module, "_LAST_TOKEN", counting)
    paragraph = "The harbour council met on Monday. It voted on the budget. " * 1000
    sentences = split_sentences(paragraph)
    assert len(sentences) == 2000
    assert 0 < counting.scanned <= 100 * len(sentences)  # a short window per stop


def test_a_run_of_stop_marks_is_tried_once_from_its_first_mark() -> None:
    """Tried again from every mark of a run not followed by a space ("....x"), the stop
    pattern cost the square of the run: 100,000 dots took minutes. A soft stop now only
    begins at a run's first mark (and takes the run whole), so each run is scanned once."""
    from newsletter.text import _BOUNDARY

    text = "Wait... what"
    assert [m.start() for m in _BOUNDARY.finditer(text)] == [4]
    assert all(_BOUNDARY.match(text, i) is None for i in (5, 6))
    marks = "." * 100_000 + "x and more. Then the end."
    assert split_sentences(marks) == [marks[: -len(" Then the end.")], "Then the end."]
