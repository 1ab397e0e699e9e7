"""Genre-aware item text: podcast episodes, aggregator chrome, read-more links in many
languages, bylines and titles repeated as text, text decoded once (through parse_feed)."""

from __future__ import annotations

import pytest

from newsletter.analysis.summary.summarize import summarize
from newsletter.ingest import genres
from newsletter.ingest.decode import decode_text, decode_title
from newsletter.ingest.entries import parse_feed
from newsletter.ingest.genres import clean_text, episode_text, is_byline, show_notes_prose

PODCAST = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Workbench Radio</title><link>https://workbench.example.net/</link>
<itunes:image href="https://cdn.workbench.example.net/cover.jpg"/>
<image><url>https://cdn.workbench.example.net/cover.jpg</url><title>W</title>
  <link>https://workbench.example.net/</link></image>
{items}
</channel></rss>"""


def episode(n: int, subtitle: str = "", summary: str = "", notes: str = "") -> str:
    parts = [
        f"<title>{n}: Episode {n}</title>",
        f"<link>https://workbench.example.net/{n}</link>",
        f"<guid>wb-{n}</guid>",
        "<pubDate>Tue, 06 Jan 2026 09:00:00 +0000</pubDate>",
        '<itunes:image href="https://cdn.workbench.example.net/cover.jpg"/>',
        f'<enclosure url="https://cdn.workbench.example.net/{n}.mp3" type="audio/mpeg"'
        ' length="1000"/>',
    ]
    if subtitle:
        parts.append(f"<itunes:subtitle>{subtitle}</itunes:subtitle>")
    if summary:
        parts.append(f"<itunes:summary>{summary}</itunes:summary>")
    if notes:
        parts.append(f"<description><![CDATA[{notes}]]></description>")
    return "<item>" + "".join(parts) + "</item>"


SPONSORED_NOTES = (
    "<p>Sponsored by Hexbolt: use code BENCH for 20% off at hexbolt.example.com.</p>"
    "<p>(00:00) Intro(03:15) Teardown(21:40) Fuses</p>"
    '<p>Links:<a href="https://parts.example.org/a">Fuse sheet</a>'
    '<a href="https://parts.example.org/b">Element</a></p>'
    "<p>This episode is brought to you by Quillnote. Get a free 30-day trial.</p>"
)


def parse(xml: str) -> list:
    result = parse_feed(xml.encode(), "https://workbench.example.net/feed.xml")
    assert result.ok, result.error
    return list(result.items)


def test_episode_summary_is_its_own_description_not_the_sponsor_read() -> None:
    subtitle = "Marta rebuilds an electric kettle and Oskar explains how thermal fuses work."
    items = parse(
        PODCAST.format(
            items=episode(1, subtitle=subtitle, notes=SPONSORED_NOTES)
            + episode(
                2,
                notes="<p>Get 15% off a lamp with promo code TINKER.</p>"
                "<p>Oskar opens the mantel clock his grandmother left him and finds a cracked "
                "wheel. Marta cuts a new gear on a lathe.</p><p>00:00 Hello02:10 The clock "
                "https://gears.example.org/guide</p>",
            )
            + episode(3, summary="A treadle sewing machine needs a new belt and a lot of oil.")
        )
    )
    first, second, third = items
    assert summarize(first.text, first.title) == subtitle
    assert second.text.startswith("Oskar opens the mantel clock")
    for item in items:
        for junk in ("code", "% off", "Sponsored", "http", "00:00", "Links:"):
            assert junk not in item.text
    assert "sewing machine" in third.text
    # the show's artwork on every episode is no picture of each one
    assert all(item.image == "" for item in items)


def test_the_sponsor_pattern_is_compiled_at_the_first_episode_not_at_import() -> None:
    genres._sponsor.cache_clear()
    article = (
        "<item><title>Harbour reopens</title><link>https://workbench.example.net/a</link>"
        "<guid>a</guid><description>Sponsored by the port. The harbour reopened.</description>"
        "</item>"
    )
    assert "Sponsored" in parse(PODCAST.format(items=article))[0].text  # no episode: kept
    assert genres._sponsor.cache_info().currsize == 0
    assert "Sponsored" not in parse(PODCAST.format(items=episode(1, notes=SPONSORED_NOTES)))[0].text
    assert genres._sponsor.cache_info().currsize == 1


def test_a_subtitle_that_repeats_the_title_gives_way_to_the_notes() -> None:
    prose = "A valve radio from an attic comes back to life after new capacitors."
    text = episode_text("86: A Radio From the Attic", "A Radio From the Attic", [(prose, False)])
    assert text == prose


def test_a_joke_sponsor_line_leaves_the_rest_of_a_short_description() -> None:
    notes = "Geekistry continues! Sponsored by Benthic Petroleum! DC vs Marvel and much more!"
    text = episode_text("Taverncast 12", "", [(notes, False)])
    assert "Geekistry continues!" in text and "Sponsored" not in text


def test_show_notes_keep_prose_and_drop_chapters_and_link_rows() -> None:
    notes = (
        "(0:27) Source: Annual report, February 2017.\n\n"
        "Winner: Square. After a rocky start, the payment company rebounds.\n\n"
        "Links:Fuse sheetElement row"
    )
    assert show_notes_prose(notes) == (
        "Winner: Square. After a rocky start, the payment company rebounds."
    )


def test_reddit_like_chrome_is_removed_and_link_posts_get_no_summary() -> None:
    atom = """<?xml version="1.0" encoding="UTF-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>forum</title>
    <link href="https://forum.example.net/"/><id>f</id><updated>2026-01-05T00:00:00Z</updated>
    <entry><id>t3_a</id><title>Lighthouses once used clockwork</title>
      <link href="https://forum.example.net/r/til/a/"/><updated>2026-01-05T00:00:00Z</updated>
      <content type="html">&lt;table&gt;&lt;tr&gt;&lt;td&gt;&amp;#32; submitted by &amp;#32;
      &lt;a href="https://forum.example.net/user/k"&gt; /u/k &lt;/a&gt; &amp;#32; to &amp;#32;
      &lt;a href="https://forum.example.net/r/til/"&gt; /r/til &lt;/a&gt; &lt;br/&gt;
      &lt;span&gt;&lt;a href="https://x.example/1"&gt;[link]&lt;/a&gt;&lt;/span&gt;
      &lt;span&gt;&lt;a href="https://forum.example.net/r/til/a/"&gt;[231 comments]&lt;/a&gt;
      &lt;/span&gt;&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</content></entry>
    <entry><id>t3_b</id><title>I repair church organs</title>
      <link href="https://forum.example.net/r/iama/b/"/><updated>2026-01-05T00:00:00Z</updated>
      <content type="html">&lt;div class="md"&gt;&lt;p&gt;I have tuned organs for twenty
      years.&lt;/p&gt;&lt;/div&gt; submitted by&lt;a href="https://forum.example.net/user/p"&gt;p
      &lt;/a&gt;to&lt;a href="https://forum.example.net/r/iama/"&gt;iama&lt;/a&gt;</content></entry>
    </feed>"""
    link_post, self_post = parse(atom)
    assert link_post.text == "" and summarize(link_post.text, link_post.title) == ""
    assert self_post.text == "I have tuned organs for twenty years."


@pytest.mark.parametrize(
    "tail",
    [
        "Leia mais",
        "Saiba mais",
        "Weiterlesen »",
        "mehr…",
        "[Lire la suite]",
        "Leer más",
        "Seguir leyendo",
        "Continue reading…",
        "Read more",
        "Czytaj więcej",
        "Читать далее",
        "مزید پڑھیں",
    ],
)
def test_read_more_goes_in_every_language(tail: str) -> None:
    text = f"The ferry leaves at noon. Tickets cost five euros. {tail}\n\n{tail}"
    assert clean_text(text) == "The ferry leaves at noon. Tickets cost five euros."


def test_read_more_words_inside_a_sentence_stay() -> None:
    assert clean_text("La storia continua") == "La storia continua"
    assert clean_text("See the full story here") == "See the full story here"


@pytest.mark.parametrize(
    ("line", "byline"),
    [
        ("Por Ana Souza e João Lima", True),
        ("Von Anna Berger und Tom Kruse", True),
        ("By Matt Spetalnick and Jason Szep", True),
        ("Par Claire Martin", True),
        ("By Jane Doe, staff writer", True),
        ("By the way, we did it", False),
        ("Von Kopf bis Fuß", False),
        ("Por favor, venha cedo", False),
    ],
)
def test_bylines(line: str, byline: bool) -> None:
    assert is_byline(line) is byline


def test_a_byline_is_never_the_summary_and_the_title_never_repeats() -> None:
    assert clean_text("Por Ana Souza e João Lima") == ""
    assert clean_text("Museu reabre hoje\n\nO museu volta a abrir.", "Museu reabre hoje") == (
        "O museu volta a abrir."
    )
    assert summarize("Museu reabre hoje.", "Museu reabre hoje") == ""
    # the title with a short tail is the title again
    title = "Hugo Miguel é o árbitro escolhido para o clássico"
    assert summarize(f"{title}, esta noite.", title) == ""


def test_entities_and_escaped_newlines_are_decoded_once() -> None:
    assert decode_title("Mac &amp; i: no&nbsp;Match &#8217;s") == "Mac & i: no Match ’s"
    assert decode_title("Q&amp;amp;A") == "Q&A"  # escaped twice
    assert decode_title("AT&T and Q&A stay") == "AT&T and Q&A stay"
    assert decode_text("rules.\\n\\nWe asked") == "rules.\n\nWe asked"
    assert decode_text("ecosystems.nnResults show") == "ecosystems.\n\nResults show"
    code = 'printf("%d\\n", n); fwrite failed\\n"'
    assert decode_text(code) == code  # a backslash-n in code stays
    escaped = '<!-- SC_OFF --><div class="md"><p>Hello <a href="/x">there</a>.</p></div>'
    assert decode_text(escaped) == "Hello there."
    assert decode_text("Use <b> for bold.") == "Use <b> for bold."  # one tag is prose


def test_titles_and_text_from_a_double_escaped_feed() -> None:
    xml = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
      <link>https://t.example/</link><item><title>Mac &amp;amp; Co: no&amp;nbsp;Match</title>
      <link>https://t.example/1</link><description>Pages dropped by 60&amp;amp;nbsp;percent.
      Rules.\\n\\nWe asked.</description></item></channel></rss>"""
    (item,) = parse(xml)
    assert item.title == "Mac & Co: no Match"
    assert "&" not in item.text and "\\n" not in item.text
    assert item.text.startswith("Pages dropped by 60 percent.")
