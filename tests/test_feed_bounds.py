"""Counts feedparser handles in bounded time: repeated elements, entries, markup,
attributes and namespaces past the limits in newsletter.ingest.bounds never reach it.

Each test counts the work feedparser is given (the tags it files, the elements and
attributes it reads), not the time it takes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import feedparser.mixin
import pytest
from support.paths import SHARED

from newsletter.errors import FeedError
from newsletter.ingest import bounds, parse
from newsletter.ingest.bounds import (
    MAX_ATTRIBUTES,
    MAX_ENTRY_ELEMENTS,
    MAX_MARKUP,
    MAX_NAMESPACES,
    MAX_REPEATS,
    MAX_TAGS,
    cap_elements,
)
from newsletter.ingest.parse import MAX_ENTRIES, read_feed

NS = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:atom="http://www.w3.org/2005/Atom"'
)


def _rss(items: str, channel: str = "", encoding: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0" {NS}><channel>'
        f"<title>F</title><link>https://x.example/</link>{channel}{items}</channel></rss>"
    )


def _item(inner: str, n: int = 0) -> str:
    return f"<item><title>T{n}</title><link>https://x.example/{n}</link>{inner}</item>"


@dataclass
class Work:
    """What feedparser was given to do."""

    tags: int = 0  # the longest list of tags a new one was checked against
    elements: Counter[str] = field(default_factory=Counter)  # start tags, by name
    end_tags: int = 0
    most_attributes: int = 0
    namespaces: set[str] = field(default_factory=set)


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    seen = Work()
    mixin = feedparser.mixin._FeedParserMixin
    add_tag, start, track = mixin._add_tag, mixin.unknown_starttag, mixin.track_namespace
    end = mixin.unknown_endtag

    def counting_add_tag(self, term, scheme, label):  # noqa: ANN001, ANN202
        result = add_tag(self, term, scheme, label)
        seen.tags = max(seen.tags, len(self._get_context().get("tags") or []))
        return result

    def counting_start(self, tag, attrs):  # noqa: ANN001, ANN202
        seen.elements[tag] += 1
        seen.most_attributes = max(seen.most_attributes, len(attrs))
        return start(self, tag, attrs)

    def counting_end(self, tag):  # noqa: ANN001, ANN202
        seen.end_tags += 1
        return end(self, tag)

    def counting_track(self, prefix, uri):  # noqa: ANN001, ANN202
        seen.namespaces.add(prefix or "")
        return track(self, prefix, uri)

    monkeypatch.setattr(mixin, "_add_tag", counting_add_tag)
    monkeypatch.setattr(mixin, "unknown_starttag", counting_start)
    monkeypatch.setattr(mixin, "track_namespace", counting_track)
    monkeypatch.setattr(mixin, "unknown_endtag", counting_end)
    yield seen


N = 5_000  # a hundred times the limit


def _categories(make: Callable[[int], str]) -> str:
    return _rss(_item("".join(make(i) for i in range(N))))


TAG_FLOODS = {
    "category": _categories(lambda i: f"<category>c{i}</category>"),
    "dc:subject": _categories(lambda i: f"<dc:subject>c{i}</dc:subject>"),
    "media:category": _categories(lambda i: f"<media:category>c{i}</media:category>"),
    "itunes:category": _categories(lambda i: f'<itunes:category text="c{i}"/>'),
    "atom:category": _categories(lambda i: f'<atom:category term="c{i}"/>'),
    "upper case": _categories(lambda i: f"<CATEGORY>c{i}</CATEGORY>"),
    "inside another element": _rss(
        _item("<x>" + "".join(f"<category>c{i}</category>" for i in range(N)) + "</x>")
    ),
    "keywords, one list": _rss(
        _item("<media:keywords>" + ",".join(f"c{i}" for i in range(N)) + "</media:keywords>")
    ),
    "tags, one list": _rss(_item("<tags>" + ",".join(f"c{i}" for i in range(N)) + "</tags>")),
    "many keywords lists": _rss(
        _item(
            "".join(
                f"<media:keywords>{','.join(f'c{i * 40 + j}' for j in range(40))}</media:keywords>"
                for i in range(100)
            )
        )
    ),
    "malformed (sgmllib)": _categories(lambda i: f"<category>c{i}</category>") + "<br>",
    "sgml short tags": _categories(lambda i: f"<category/c{i}/"),
    "behind comments": _categories(lambda i: f"<!-- x -- ><category>c{i}</category>"),
    "behind declarations": _categories(lambda i: f"<!x <category>c{i}</category>"),
    "feed level": _rss(_item(""), "".join(f"<category>c{i}</category>" for i in range(N))),
}


@pytest.mark.parametrize("feed", TAG_FLOODS.values(), ids=TAG_FLOODS.keys())
def test_feedparser_files_at_most_the_limit_of_tags_per_entry(work: Work, feed: str) -> None:
    """feedparser checks each tag against all earlier ones of its entry: one item with
    40,000 categories took 22 s. However they are written, it now sees at most
    MAX_REPEATS of them, and the first ones are the ones kept."""
    parsed = read_feed(feed.encode())
    assert 0 < work.tags <= MAX_REPEATS
    [entry] = parsed.entries
    if entry.categories:
        assert entry.categories[:2] == ["c0", "c1"]
        assert len(entry.categories) <= MAX_REPEATS


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "cp037"])
def test_feeds_in_encodings_without_ascii_markup_are_bounded_too(work: Work, encoding: str) -> None:
    """In UTF-16 or EBCDIC a "<" is not the byte "<": the caps read the feed in UTF-8."""
    declared = "utf-16" if encoding.startswith("utf-16") else encoding.split("-")[0]
    feed = _categories(lambda i: f"<category>ä{i}</category>").replace("utf-8", declared)
    [entry] = read_feed(feed.encode(encoding)).entries
    assert 0 < work.tags <= MAX_REPEATS
    assert entry.categories[:2] == ["ä0", "ä1"]


def test_tags_after_an_empty_entry_are_counted_with_the_feeds(work: Work) -> None:
    """After "<item/>" feedparser files the rest of the outer item's tags with the feed's."""
    items = "".join(
        _item("<item/>" + "".join(f"<category>c{n}-{i}</category>" for i in range(40)), n)
        for n in range(100)
    )
    read_feed(_rss(items).encode())
    assert 0 < work.tags <= MAX_REPEATS


@pytest.mark.parametrize(
    "fake",
    ['<item xmlns="http://purl.org/dc/elements/1.1/">', '<x:item xmlns:x="urn:x">'],
    ids=["another default namespace", "a prefix"],
)
def test_an_item_feedparser_does_not_read_as_an_entry_starts_no_new_count(
    work: Work, fake: str
) -> None:
    """feedparser files the tags of an <item> it does not take for an entry with the
    feed's, so they are counted with the feed's."""
    end = "</item>" if fake.startswith("<item") else "</x:item>"
    fakes = "".join(
        fake + "".join(f"<dc:subject>c{n}-{i}</dc:subject>" for i in range(40)) + end
        for n in range(100)
    )
    read_feed(_rss(_item("") + fakes).encode())
    assert 0 < work.tags <= MAX_REPEATS


def test_the_whole_feeds_tags_are_bounded() -> None:
    categories = "".join(f"<category>c{i}</category>" for i in range(40))
    feed = _rss("".join(_item(categories, n) for n in range(400))).encode()
    assert cap_elements(feed, 500, 500).count(b"<category>") == MAX_TAGS


def test_entries_past_the_limit_never_reach_feedparser(work: Work) -> None:
    feed = _rss("".join(_item("", n) for n in range(MAX_ENTRIES * 4)))
    parsed = read_feed(feed.encode())
    assert work.elements["item"] == MAX_ENTRIES
    assert [e.title for e in parsed.entries[:2]] == ["T0", "T1"]  # the newest are kept
    assert parsed.problem == ""  # what is left is a well-formed feed


@pytest.mark.parametrize(
    "inner",
    [
        "<a/>" * 100_000,
        "".join(f"<x{i}>v</x{i}>" for i in range(20_000)),  # all different names
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        + "<b>x</b>" * 20_000
        + "</div></content>",
    ],
    ids=["empty elements", "distinct names", "inline xhtml"],
)
def test_elements_in_one_entry_are_bounded(work: Work, inner: str) -> None:
    """feedparser spends the same on any element: 10 MB of "<a/>" are 2.5 million."""
    parsed = read_feed(_rss(_item(inner)).encode())
    assert sum(work.elements.values()) <= MAX_ENTRY_ELEMENTS + 10
    assert parsed.entries[0].title == "T0" and parsed.problem == ""


def test_markup_in_a_feed_is_bounded_and_the_feed_cut_well_formed(work: Work) -> None:
    entry = _item("<p>x</p>" * 1000)
    feed = _rss("".join(entry for _ in range(200)))  # 200,000 elements
    parsed = read_feed(feed.encode())
    assert sum(work.elements.values()) <= MAX_MARKUP
    assert 40 < len(parsed.entries) < 200
    assert parsed.problem == ""  # the open elements were closed where the feed was cut


def test_stray_end_tags_count_as_markup(work: Work) -> None:
    """sgmllib hands each end tag that closes nothing to feedparser all the same."""
    parsed = read_feed(_rss(_item("</x>" * 300_000)).encode())
    assert parsed.entries[0].title == "T0"
    assert 0 < work.end_tags <= MAX_MARKUP


def test_attributes_and_namespaces_are_bounded(work: Work) -> None:
    """expat's attribute lookup and feedparser's namespace lookup grow with the square."""
    many = " ".join(f'a{i}="v"' for i in range(5_000))
    prefixes = "".join(f'<p{i}:x xmlns:p{i}="urn:{i}">v</p{i}:x>' for i in range(5_000))
    parsed = read_feed(_rss(_item(f"<x {many}/>{prefixes}")).encode())
    assert parsed.entries[0].title == "T0"
    assert work.most_attributes <= MAX_ATTRIBUTES
    assert len(work.namespaces) <= MAX_NAMESPACES + 5  # the feed's own few


def test_a_dropped_element_ends_where_its_end_tag_or_an_ancestors_is() -> None:
    group = "<media:group>" + "<media:group>x</media:group>" * 2 + "</media:group>"
    cdata = "<category><![CDATA[ </category> ]]></category>"
    feed = _rss(_item("<category>c</category>" * MAX_REPEATS + cdata + group * 60))
    kept = cap_elements(feed.encode(), 500, 500).decode()
    assert kept.count("<category>") == MAX_REPEATS and "CDATA" not in kept
    assert kept.count("<media:group>") == 3 * MAX_REPEATS
    assert kept.endswith("</item></channel></rss>")
    unclosed = _rss(_item("<category>c</category>" * MAX_REPEATS + "<category>x<b>y"))
    assert (
        cap_elements(unclosed.encode(), 500, 500)
        .decode()
        .endswith("</category></item></channel></rss>")
    )


def test_comma_lists_keep_their_first_terms_escaped() -> None:
    feed = _rss(_item("<tags>" + ",".join(f"a&amp;{i}" for i in range(200)) + "</tags>"))
    kept = cap_elements(feed.encode(), 500, 500).decode()
    assert "<tags>a&amp;0,a&amp;1," in kept and f"a&amp;{MAX_REPEATS}," not in kept


CORPUS = SHARED / "datasets" / "feeds_real_world" / "files"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/datasets is not checked out")
def test_real_feeds_read_the_same_with_and_without_the_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No real feed comes near a limit: all 223 of the corpus read exactly as unbounded."""

    def read(path: Path) -> object:
        try:
            return read_feed(path.read_bytes())
        except FeedError as e:
            return str(e)

    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    bounded = [read(p) for p in files]
    monkeypatch.setattr(parse, "cap_elements", lambda data, limit, entries: data)
    monkeypatch.setattr(parse, "markup_in_ascii", lambda data, headers: (data, dict(headers)))
    unbounded = [read(p) for p in files]
    assert len(files) > 200
    assert [f for f, a, b in zip(files, bounded, unbounded, strict=True) if a != b] == []
    assert bounds.MAX_REPEATS == MAX_REPEATS


def _laughs(levels: int) -> bytes:
    """An internal DTD where each entity is ten of the previous one (10**levels copies)."""
    entities = '<!ENTITY e0 "ha! ">' + "".join(
        f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, levels + 1)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
        "<title>Laughs</title><item><title>Joke</title><link>https://laughs.example/1</link>"
        f"<description>&e{levels};</description></item></channel></rss>"
    ).encode()


def test_entities_that_expand_without_bound_are_dropped_and_the_feed_still_reads() -> None:
    data = _laughs(9)  # a few hundred bytes, a billion expansions
    defused = bounds.defuse_entities(data)
    assert b"<!ENTITY" not in defused and b"<!DOCTYPE rss []>" in defused
    feed = read_feed(data)
    assert [e.title for e in feed.entries] == ["Joke"]
    assert "ha! " not in feed.entries[0].body  # never expanded


def test_an_entity_made_of_itself_is_dropped() -> None:
    data = b'<!DOCTYPE rss [<!ENTITY a "x&b;"><!ENTITY b "&a;">]><rss><channel></channel></rss>'
    assert b"<!ENTITY" not in bounds.defuse_entities(data)


def test_small_internal_entities_are_kept_and_expanded() -> None:
    data = _laughs(2)  # 100 copies of four characters
    assert bounds.defuse_entities(data) == data
    assert read_feed(data).entries[0].body.strip() == ("ha! " * 100).strip()
