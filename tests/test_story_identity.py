"""What a story is: its own headline (not a nested element's), its date (undated items never
ranked above dated ones), one entry however often it is listed, and a summary that names
the headline's subject."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.sections import item as make_item

from newsletter.analysis.dedupe.exact import exact_pairs, link_key, title_key
from newsletter.analysis.dedupe.merge import merge_duplicates
from newsletter.analysis.summary import summarize as summarize_module
from newsletter.analysis.summary.subject import mentions, subject_term
from newsletter.analysis.summary.summarize import summarize
from newsletter.config import DigestConfig, FeedConfig, default_config
from newsletter.ingest.entries import parse_feed
from newsletter.run.digest import plan_digest
from newsletter.store import Store

NESTED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>
<title>Builder Notes</title><link>https://notes.example.com/</link>
<item><title>How we cut our build times in half</title>
  <link>https://notes.example.com/builds</link>
  <description>&lt;p&gt;Builds now take eighteen minutes.&lt;/p&gt;</description>
  <media:content url="https://notes.example.com/b.png" width="540" height="540">
    <media:credit>Illustration by the design team</media:credit></media:content>
  <og xmlns:og="http://ogp.me/ns#"><type>article</type><title>OG title</title>
    <description></description><image>https://notes.example.com/b.png</image></og>
  <author xmlns:author="http://www.w3.org/2005/Atom"><name>Priya N</name>
    <title>Staff Engineer, Developer Productivity</title></author>
</item></channel></rss>"""


def test_the_title_is_the_items_own_not_a_nested_author_or_og_title() -> None:
    (item,) = parse_feed(NESTED.encode(), "https://notes.example.com/rss").items
    assert item.title == "How we cut our build times in half"
    assert item.text == "Builds now take eighteen minutes."
    assert (item.image, item.image_width) == ("https://notes.example.com/b.png", 540)


def _rss(items: str) -> str:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Dated</title>'
        f"<link>https://dated.example/</link>{items}</channel></rss>"
    )


def _rdf(items: str) -> str:
    return (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://undated.example/">'
        "<title>Undated</title><link>https://undated.example/</link><description>d</description>"
        f"</channel>{items}</rdf:RDF>"
    )


WORDS = "harbour orchard glacier tramway observatory vineyard aqueduct library ferry".split()


def test_undated_items_never_rank_above_dated_news(tmp_path: Path) -> None:
    dated = "".join(
        f"<item><title>Dated story about the {w}</title><link>https://dated.example/{n}</link>"
        f"<pubDate>Seg, 0{n + 1} Dez 2025 10:00:00 -0300</pubDate>"
        f"<description>The {w} reopened after {n + 2} weeks of repairs.</description></item>"
        for n, w in enumerate(WORDS[:4])
    )
    undated = "".join(
        f'<item rdf:about="https://undated.example/{n}"><title>Undated note on a {w}</title>'
        f"<link>https://undated.example/{n}</link><description>A {w} was counted {n + 3} times."
        "</description></item>"
        for n, w in enumerate(WORDS[4:])
    )
    (tmp_path / "dated.xml").write_text(_rss(dated), encoding="utf-8")
    (tmp_path / "undated.rdf").write_text(_rdf(undated), encoding="utf-8")
    config = dataclasses.replace(
        default_config(tmp_path),
        feeds=(
            FeedConfig(url=str(tmp_path / "undated.rdf")),
            FeedConfig(url=str(tmp_path / "dated.xml")),
        ),
        digest=DigestConfig(max_items=4),
    )
    store = Store(config.store_path)
    from newsletter.ingest.feeds import ingest

    ingest(config, store)
    # undated items were first seen "now", after every dated one, yet never outrank them:
    # the feeds take turns (a fair share each), and the dated feed gives its newest
    chosen = plan_digest(config, store).digest.entries
    dated_titles = sorted(e.item.title for e in chosen if e.item.dated)
    assert dated_titles == sorted(f"Dated story about the {w}" for w in WORDS[2:4])
    assert sum(not e.item.dated for e in chosen) == 2
    everything = plan_digest(config, store, max_items=9).digest.entries
    assert len(everything) == 9
    assert [i.item.title for i in everything if not i.item.dated]  # they do come, after
    ranked = store.items()
    assert [i.dated for i in ranked] == [True] * 4 + [False] * 5
    store.close()


def test_the_same_story_listed_twice_is_one_entry() -> None:
    when = datetime(2026, 1, 5, 19, tzinfo=UTC)
    feed = "https://folha.example.com.br/rss"
    first = make_item(
        "a", "Chuva forte deixa bairros de Santos sem energia", "Um temporal.", feed=feed
    )
    second = make_item(
        "b",
        "Chuva forte deixa bairros de Santos sem energia",
        "Um temporal com ventos de até 80 km/h derrubou árvores em Santos.",
        feed=feed,
        link="https://redir.example.com/redir/rss/*https://folha.example.com.br/b",
    )
    items = [
        dataclasses.replace(first, published=when),
        dataclasses.replace(second, published=when),
    ]
    entries = merge_duplicates(items, {})
    assert len(entries) == 1 and entries[0].item.key == "b"  # the richer copy stays
    # a week later the same headline is another edition, not the same story
    later = dataclasses.replace(second, key="c", published=when + timedelta(days=7), link="")
    assert len(merge_duplicates([items[0], later], {})) == 2


def test_links_as_identities() -> None:
    assert link_key("https://redir.example/r/*https://www.site.example/a?utm_source=rss") == (
        "//site.example/a"
    )
    assert link_key("https://site.example/a?cmpid=rss&id=7") == "//site.example/a?id=7"
    assert link_key("https://site.example/") == ""  # a home page identifies nothing
    assert title_key("Weekly roundup") == ""  # too short to be one story's headline
    # a link every item of a feed shares (a show page) links nothing
    feed = "https://pod.example/rss"
    episodes = [
        make_item(
            str(n), f"Episode {n} of the show", "Notes.", feed=feed, link="https://pod.example/show"
        )
        for n in range(3)
    ]
    assert exact_pairs(episodes) == []


def test_german_reports_of_one_event_merge_across_feeds() -> None:
    when = datetime(2026, 1, 5, 8, tzinfo=UTC)
    one = make_item(
        "s1",
        "Rechenzentrum der Stadtwerke Kiel fällt nach Stromausfall stundenlang aus",
        "Ein Stromausfall hat am Montagmorgen das Rechenzentrum der Stadtwerke Kiel für fast "
        "sechs Stunden lahmgelegt. Betroffen waren das Kundenportal, die Störungshotline und "
        "die Abrechnung. Die Notstromaggregate sprangen nach Angaben des Versorgers nicht wie "
        "vorgesehen an. Die Stadtwerke kündigten eine Untersuchung an.",
        feed="https://schaltkreis.example.de/rss",
    )
    two = make_item(
        "n1",
        "Stadtwerke Kiel: Stundenlanger Ausfall im Rechenzentrum nach Stromstörung",
        "Bei den Stadtwerken Kiel ging am Montag stundenlang nichts: Nach einer Stromstörung "
        "fiel das Rechenzentrum des Versorgers fast sechs Stunden aus. Kundenportal, Hotline "
        "und Abrechnung waren nicht erreichbar, weil die Notstromversorgung nicht ansprang. "
        "Der Versorger will den Vorfall untersuchen lassen.",
        feed="https://netzticker.example.de/atom",
    )
    other = make_item(
        "n2",
        "Bahn testet digitale Zugabfertigung in Sachsen",
        "Auf drei Strecken in Sachsen fertigen Zugbegleiter ihre Züge künftig per Tablet ab. "
        "Das System meldet geschlossene Türen direkt an den Triebfahrzeugführer.",
        feed="https://netzticker.example.de/atom",
    )
    items = [dataclasses.replace(i, published=when) for i in (one, two, other)]
    entries = merge_duplicates(items, {})
    assert len(entries) == 2
    assert sorted(link for _, link in entries[0].sources) == sorted([one.link, two.link])


RACE = (
    "Runners from nine countries lined up at dawn for the twentieth Harbour Marathon. "
    "The course record had stood since 2011. A pack of six stayed together until the "
    "final climb. Anna Keller, an engineer from the north, broke away in the last two "
    "kilometres and won in 2:29:40. She trains before work on the hill behind her office."
)


def test_the_summary_names_the_headlines_subject(monkeypatch) -> None:
    title = "Keller edges out rivals to take the Harbour Marathon title"
    assert subject_term(title, RACE.split(". ")) == "keller"
    summary = summarize(RACE, title, "en", "newsletter", 50)
    assert mentions(summary, "keller")
    assert summary.startswith("Runners from nine countries")  # still in article order
    # the ranking alone would have left the winner out
    monkeypatch.setattr(summarize_module, "carry_subject", lambda article, chosen, *rest: chosen)
    assert not mentions(summarize(RACE, title, "en", "newsletter", 50), "keller")


def test_no_subject_without_a_name_the_article_capitalizes_throughout() -> None:
    sentences = ["The appeal court ruled today.", "A spokesman for the Court said little."]
    assert subject_term("Court rejects tobacco case", sentences) == ""
    assert subject_term("کراچی میں بارش", ["کراچی میں بارش ہوئی۔"]) == ""  # no letter case
