"""Localized and odd feed dates: parse_date, and items dated through parse_feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsletter.ingest.dates import MONTHS, parse_date
from newsletter.ingest.entries import parse_feed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40)),  # Portuguese
        ("Mo, 05 Jan 2026 08:15:00 +0100", datetime(2026, 1, 5, 7, 15)),  # German
        ("lun., 05 janv. 2026 10:00:00 +0100", datetime(2026, 1, 5, 9, 0)),  # French
        ("sáb, 03 ene 2026 17:45:00 +0100", datetime(2026, 1, 3, 16, 45)),  # Spanish
        ("4. Januar 2026 14:10", datetime(2026, 1, 4, 14, 10)),
        ("Samstag, 3. Januar 2026", datetime(2026, 1, 3)),
        ("05.01.2026, 07:40 Uhr", datetime(2026, 1, 5, 7, 40)),
        ("24 de setembro de 2018, 19h42", datetime(2018, 9, 24, 19, 42)),
        ("September 24, 2018 3:05 pm EST", datetime(2018, 9, 24, 20, 5)),
        ("5 января 2026 г., 10:15", datetime(2026, 1, 5, 10, 15)),  # Russian genitive
        ("wt., 6 sty 2026 10:00", datetime(2026, 1, 6, 10, 0)),  # Polish
        ("2018-09-24 19:42", datetime(2018, 9, 24, 19, 42)),
        ("2026-01-05T10:05:00+01:00", datetime(2026, 1, 5, 9, 5)),
        ("25/12/2025", datetime(2025, 12, 25)),
    ],
)
def test_localized_and_numeric_dates(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected.replace(tzinfo=UTC)


def test_a_weekday_that_spells_a_month_is_not_taken_for_one() -> None:
    # "mar." is Tuesday in French and Spanish, and March in most languages
    assert parse_date("mar., 06 janv. 2026 10:00") == datetime(2026, 1, 6, 10, tzinfo=UTC)
    assert parse_date("mar, 06 ene 2026 10:00:00 +0100") == datetime(2026, 1, 6, 9, tzinfo=UTC)


def test_ambiguous_slash_dates_follow_the_language() -> None:
    assert parse_date("03/04/2025").month == 4  # day first, as most of the world writes
    assert parse_date("03/04/2025", "en-US").month == 3


@pytest.mark.parametrize("text", ["", "yesterday", "Tuesday", "2026", "31 Feb 2026", "vor 2 Std."])
def test_what_cannot_be_placed_is_none(text: str) -> None:
    assert parse_date(text) is None


def test_month_forms_two_languages_read_differently_are_left_out() -> None:
    # every form maps to one month; "mar" (March) is kept, weekday guesses are not needed
    assert MONTHS["set"] == 9 and MONTHS["out"] == 10 and MONTHS["mär"] == 3
    assert all(1 <= n <= 12 for n in MONTHS.values())


def test_items_with_localized_or_rdf_dates_are_dated() -> None:
    rss = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
      <title>Folha</title><link>https://folha.example.com.br/</link>
      <item><title>Chuva forte em Santos</title><link>https://folha.example.com.br/1</link>
        <pubDate>Seg, 05 Jan 2026 19:42:40 -0300</pubDate><description>Texto.</description></item>
    </channel></rss>"""
    rdf = """<?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="https://wire.example.de/"><title>Wire</title>
        <link>https://wire.example.de/</link><description>d</description></channel>
      <item rdf:about="https://wire.example.de/1"><title>Werft stellt ein</title>
        <link>https://wire.example.de/1</link><description>Text.</description>
        <dc:date>05.01.2026, 07:40 Uhr</dc:date></item>
      <item rdf:about="https://wire.example.de/2"><title>Ohne Datum</title>
        <link>https://wire.example.de/2</link><description>Text.</description></item>
    </rdf:RDF>"""
    (folha,) = parse_feed(rss.encode(), "https://folha.example.com.br/rss").items
    assert folha.published == datetime(2026, 1, 5, 22, 42, 40, tzinfo=UTC) and folha.dated
    dated, undated = parse_feed(rdf.encode(), "https://wire.example.de/rdf").items
    assert dated.published == datetime(2026, 1, 5, 7, 40, tzinfo=UTC)
    assert undated.published is None and not undated.dated
