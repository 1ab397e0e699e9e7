"""A changed feed's entries stored unchanged are not parsed again: the document is cut
into its entries (expat), and feedparser reads only the feed-level elements and the new
or edited entries. What comes out must be what parsing the whole feed gives."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from support.paths import SHARED

from newsletter.ingest import parse as parse_module
from newsletter.ingest.entries import parse_feed
from newsletter.ingest.spans import entry_spans
from newsletter.model import FeedResult, Item

REAL_FEEDS = SHARED / "datasets" / "feeds_real_world" / "files"


def rss(*items: str, head: str = "<title>Harbour Notes</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"{head}<link>https://harbour.example.org/</link>\n{''.join(items)}</channel></rss>"
    ).encode()


def item(n: int, body: str = "") -> str:
    return (
        f"<item><title>Tide report {n}</title><link>https://harbour.example.org/{n}</link>"
        f"<guid>tide-{n}</guid><pubDate>Mon, 05 Jan 2026 {n % 24:02d}:00:00 GMT</pubDate>"
        f"<description>{body or f'High water at the pier moved {n} minutes.'}</description>"
        "</item>\n"
    )


def test_spans_are_the_entry_elements_bytes_whatever_they_hold() -> None:
    data = (
        b'<rss xmlns:x="urn:x"><channel><title>T</title><x:item>not an entry</x:item>'
        b"<item><title>a &amp; b</title><x:item>nested</x:item></item>\r\n<skipDays/>"
        b"<item ><description><![CDATA[a </item> in text]]></description></item >"
        b"<item/></channel></rss>"
    )  # the x:item under the channel is no entry: some extension's element
    cut = entry_spans(data)
    assert cut is not None
    assert [data[b:e] for b, e in cut.spans] == [
        b"<item><title>a &amp; b</title><x:item>nested</x:item></item>",
        b"<item ><description><![CDATA[a </item> in text]]></description></item >",
        b"<item/>",
    ]
    # cutting entries out keeps everything between them
    assert cut.without(data, [False, True, False]) == (
        b'<rss xmlns:x="urn:x"><channel><title>T</title><x:item>not an entry</x:item>'
        b"\r\n<skipDays/><item ><description><![CDATA[a </item> in text]]></description>"
        b"</item ></channel></rss>"
    )
    assert len(set(cut.hashes(data))) == 3


def test_the_start_tags_around_the_entries_are_part_of_each_entry_hash() -> None:
    """The same bytes mean something else under another namespace mapping or base."""
    entry = b"<item><x:encoded>Full text</x:encoded><link>p/1</link></item>"

    def hashes(root: bytes, channel: bytes = b"<channel>") -> list[str]:
        data = root + channel + entry + b"</channel></rss>"
        cut = entry_spans(data)
        assert cut is not None
        return cut.hashes(data)

    plain = hashes(b'<rss xmlns:x="http://purl.org/rss/1.0/modules/content/">')
    assert plain == hashes(b'<rss xmlns:x="http://purl.org/rss/1.0/modules/content/">')
    assert plain != hashes(b'<rss xmlns:x="urn:other">')
    assert plain != hashes(
        b'<rss xmlns:x="http://purl.org/rss/1.0/modules/content/">',
        b'<channel xml:base="https://ex.example/blog/">',
    )


def test_atom_and_rdf_entries_sit_under_the_root() -> None:
    atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><entry><id>1</id></entry></feed>'
    rdf = (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><channel>'
        b"<items><rdf:Seq/></items></channel><item><title>x</title></item></rdf:RDF>"
    )
    atom_cut, rdf_cut = entry_spans(atom), entry_spans(rdf)
    assert atom_cut is not None and rdf_cut is not None
    assert [atom[b:e] for b, e in atom_cut.spans] == [b"<entry><id>1</id></entry>"]
    assert [rdf[b:e] for b, e in rdf_cut.spans] == [b"<item><title>x</title></item>"]


@pytest.mark.parametrize(
    "data",
    [
        b"<rss><channel><item><title>never closed</channel></rss>",  # not well-formed
        b"<rss><channel><item>&nbsp;</item></channel></rss>",  # an entity only HTML knows
        '<?xml version="1.0" encoding="utf-16"?><feed><entry>x</entry></feed>'.encode("utf-16"),
        # feedparser carries an entry's xml:base (or xml:lang) on into the next entries
        b'<rss><channel><item xml:base="https://a.example/x/"><link>p</link></item>'
        b"<item><link>q</link></item></channel></rss>",
        b'<feed><entry><content xml:lang="fr">Bonjour</content></entry></feed>',
        b'<feed><entry><author base="https://a.example/x/"/><id>1</id></entry></feed>',
        b'<rss><channel><item xmlns:dc="urn:x"><dc:creator>A</dc:creator></item></channel></rss>',
    ],
)
def test_documents_that_cannot_be_cut_exactly_are_not_cut(data: bytes) -> None:
    assert entry_spans(data) is None


def _feedparser_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = parse_module._feedparser

    def counting(data: bytes, headers: object) -> object:
        calls.append(data)
        return real(data, headers)  # type: ignore[arg-type]

    monkeypatch.setattr(parse_module, "_feedparser", counting)
    return calls


def _stored(result: FeedResult) -> dict[str, str]:
    return {i.entry_hash: i.key for i in result.items}


def _comparable(items: tuple[Item, ...] | list[Item]) -> list[Item]:
    return [dataclasses.replace(i, first_seen=None) for i in items]


def test_only_new_and_edited_entries_reach_feedparser_and_come_out_as_a_whole_parse_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "https://harbour.example.org/feed.xml"
    first = parse_feed(rss(*(item(n) for n in range(1, 11))), url)
    assert first.ok and len(first.items) == 10
    changed = rss(item(11), *(item(n) for n in range(1, 11) if n != 4), item(4, "Edited."))
    calls = _feedparser_calls(monkeypatch)
    result = parse_feed(changed, url, known=_stored(first))
    assert result.unchanged == 9
    assert [i.key for i in result.items] == ["tide-11", "tide-4"]
    # one read of the feed-level elements, one of the two entries; never all eleven
    assert len(calls) == 2 and calls[0].count(b"<item>") == 0 and calls[1].count(b"<item>") == 2
    whole = parse_feed(changed, url)
    assert _comparable(result.items) == _comparable(
        [i for i in whole.items if i.key in ("tide-11", "tide-4")]
    )
    # nothing new at all: feedparser reads the feed-level elements only
    calls.clear()
    again = parse_feed(changed, url, known=_stored(first) | _stored(result))
    assert again.ok and again.items == () and again.unchanged == 11
    assert len(calls) == 1 and b"<item>" not in calls[0]


def test_a_new_channel_title_makes_every_entry_new_again() -> None:
    """The feed's name is each item's source: stored entries are redone when it changes."""
    url = "https://harbour.example.org/feed.xml"
    first = parse_feed(rss(item(1), item(2)), url)
    renamed = parse_feed(
        rss(item(1), item(2), head="<title>Pier Notes</title>"), url, known=_stored(first)
    )
    assert renamed.unchanged == 0 and {i.source for i in renamed.items} == {"Pier Notes"}


def test_a_second_copy_of_a_stored_story_does_not_edit_it_back_and_forth() -> None:
    url = "https://harbour.example.org/feed.xml"
    original, copy = item(7), item(7, "The same guid, other words.")
    stored = _stored(parse_feed(rss(original), url))
    for _ in range(3):  # the feed keeps both copies and changes around them
        result = parse_feed(rss(item(len(stored) + 20), original, copy), url, known=stored)
        assert "tide-7" not in [i.key for i in result.items]
        stored |= _stored(result)


def _real_feeds() -> list[Path]:
    return sorted(p for p in REAL_FEEDS.rglob("*") if p.is_file())


def test_on_real_feeds_a_partly_stored_feed_gives_the_items_of_a_whole_parse() -> None:
    """About half of each real feed's items stored: the rest come out exactly as when the
    whole feed is parsed (pictures aside: a picture on every item of a feed is its
    artwork, a judgment made over the items of each run)."""
    compared = cut = 0
    for path in _real_feeds():
        data = path.read_bytes()
        url = f"https://feeds.example.org/{path.name}"
        whole = parse_feed(data, url)
        if not whole.items:
            continue
        rng = random.Random(path.name)
        known = {i.entry_hash: i.key for i in whole.items if rng.random() < 0.5}
        part = parse_feed(data, url, known=known)
        expected = [i for i in whole.items if i.key not in set(known.values())]

        def plain(items: tuple[Item, ...] | list[Item]) -> list[Item]:
            return [
                dataclasses.replace(i, image="", image_width=0, image_height=0)
                for i in _comparable(items)
            ]

        assert plain(part.items) == plain(expected), path.name
        assert part.unchanged >= len(known) - (len(whole.items) - len(expected)), path.name
        compared += 1
        cut += entry_spans(data) is not None
    assert compared >= 100 and cut >= 50
