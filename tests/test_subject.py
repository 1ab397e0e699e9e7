"""The subject line: the site's language, its date format, and a headline cut to fit."""

from __future__ import annotations

from datetime import datetime

import pytest

from newsletter.mail.subject import (
    MIN_HEADLINE,
    SUBJECT_TARGET,
    SUBJECTS,
    shorten,
    subject_line,
)

WHEN = datetime(2026, 12, 6, 7, 0)
LONG = "Mi Mix 3: Xiaomi-Flaggschiff mit Slider-Kamera und 10 GB RAM im ausführlichen Test"


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Example News: Harbour reopens and 59 more (Dec 6)"),
        ("de", "Example News: Harbour reopens und 59 weitere (6. Dez.)"),
        ("fr", "Example News : Harbour reopens et 59 autres (6 déc.)"),
        ("es", "Example News: Harbour reopens y 59 más (6 dic)"),
        ("pt", "Example News: Harbour reopens e mais 59 (6 de dez.)"),
        ("pt-BR", "Example News: Harbour reopens e mais 59 (6 de dez.)"),
        ("ja", "Example News: Harbour reopens (+59, 12月6日)"),  # no words: none mixed in
    ],
)
def test_words_and_date_follow_the_site_language(language, expected):
    line = subject_line(
        "", language, site="Example News", headline="Harbour reopens", count=60, when=WHEN
    )
    assert line == expected


def test_plural_forms_and_a_single_story():
    def line(language, count):
        return subject_line("", language, site="S", headline="H", count=count, when=WHEN)

    assert line("fr", 2) == "S : H et 1 autre (6 déc.)"
    assert line("fr", 3) == "S : H et 2 autres (6 déc.)"
    assert line("en", 1) == "S: H (Dec 6)"  # never "and 0 more"
    assert line("de", 1) == "S: H (6. Dez.)"


def test_a_list_template_is_used_as_written():
    line = subject_line(
        "{count} news from {site}: {headline}",
        "de",
        site="S",
        headline="H",
        count=4,
        when=WHEN,
    )
    assert line == "4 news from S: H"


@pytest.mark.parametrize("language", sorted(SUBJECTS) + ["ja", "zh-Hant"])
@pytest.mark.parametrize("count", [1, 2, 60, 1_000_000])
def test_a_long_headline_is_cut_at_a_word_boundary_to_fit(language, count):
    line = subject_line(
        "", language, site="Editor Test Digest", headline=LONG, count=count, when=WHEN
    )
    assert len(line) <= SUBJECT_TARGET, line
    kept = line.split(": ", 1)[1].split("…")[0]
    assert "…" in line and LONG.startswith(kept)
    following = LONG[len(kept)]
    assert following in " -" or kept.endswith("-"), (kept, following)  # a word boundary


def test_only_the_headline_gives_way_and_keeps_a_minimum():
    site = "A Very Long Site Name For A Newsletter About Everything"
    line = subject_line("", "en", site=site, headline=LONG, count=60, when=WHEN)
    assert line.startswith(site + ": Mi Mix 3")
    assert line.endswith("and 59 more (Dec 6)")
    headline = line[len(site) + 2 : line.index(" and 59")]
    assert MIN_HEADLINE - 8 <= len(headline) <= MIN_HEADLINE


def test_shorten():
    assert shorten("short", 10) == "short"
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("Xiaomi-Flaggschiff mit", 12) == "Xiaomi…"
    assert shorten("Supercalifragilistic", 8) == "Superca…"
    assert len(shorten("word " * 40, 30)) <= 30


def test_a_feed_title_cannot_break_the_subject_line():
    line = subject_line(
        "",
        "en",
        site="S",
        headline="Big story\r\nBcc: victim@evil.example =?UTF-8?Q?=0A?=",
        count=2,
        when=WHEN,
    )
    assert "\n" not in line and "\r" not in line and "=?" not in line
