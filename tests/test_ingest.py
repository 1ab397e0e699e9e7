"""ingest()/parse_feed(): real feeds from a local HTTP server and files into a real store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.feedserver import FeedServer
from support.paths import SHARED

from newsletter.config import Config, FeedConfig, FetchConfig, SiteConfig
from newsletter.ingest.entries import canonical_url, parse_feed
from newsletter.ingest.feeds import IngestReport, fetch_feed, ingest
from newsletter.ingest.fetch import FetchResponse, fetch
from newsletter.model import FeedResult
from newsletter.store import Store


def rss(items: str, title: str = "Harbour Notes", extra: str = "", decl: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{decl}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{title}</title><link>https://harbour.example.org/</link>{extra}"
        f"{items}</channel></rss>"
    )


def item(n: int, body: str = "", **fields: str) -> str:
    parts = {
        "title": f"Ferry timetable change {n}",
        "link": f"https://harbour.example.org/news/{n}",
        "guid": f"harbour-{n}",
        "pubDate": "Mon, 05 Jan 2026 08:00:00 GMT",
        "description": body or f"<p>The morning ferry number {n} now leaves ten minutes later.</p>",
        **fields,
    }
    return "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in parts.items() if v) + "</item>"


GOOD = rss(item(1) + item(2))
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="nl-NL">
  <title>Canal Log</title><link href="https://canal.example.net/"/>
  <id>urn:canal</id><updated>2026-01-04T10:00:00Z</updated>
  <entry><id>urn:canal:1</id><title>Lock keepers return</title>
    <link href="https://canal.example.net/locks"/><updated>2026-01-04T10:00:00+02:00</updated>
    <content type="html">&lt;p&gt;The lock keepers are back after winter.&lt;/p&gt;</content>
  </entry>
</feed>"""


def make_config(tmp_path: Path, **fetch_options: object) -> Config:
    options = {"timeout": 1.0, "connect_timeout": 1.0, **fetch_options}
    return Config(
        base_dir=tmp_path,
        site=SiteConfig(url="https://digest.example.org"),
        fetch=FetchConfig(**options),  # type: ignore[arg-type]
    )


def feeds(*urls: str) -> list[FeedConfig]:
    return [FeedConfig(url=u) for u in urls]


def one_feed(
    xml: str, url: str = "https://harbour.example.org/feed.xml", **config: str
) -> FeedResult:
    result = parse_feed(xml.encode("utf-8"), url, FeedConfig(url=url, **config))
    assert result.ok, result.error
    return result


# -- failures are reasons, never exceptions ----------------------------------------------
BROKEN = {
    "/malformed.xml": b"<?xml version='1.0'?><rss><channel><title>x</title><item><title>a</ti",
    "/page.html": b"<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>",
    "/empty.xml": b"",
    # UTF-16 without a byte order mark, declared as UTF-8 and served as Latin-1: hopeless
    "/charset.xml": rss(item(9)).encode("utf-16-le"),
    "/notafeed.xml": b"<?xml version='1.0'?><inventory><crate/></inventory>",
}


def test_broken_feeds_get_one_line_reasons_and_others_still_ingest(
    tmp_path: Path, store: Store
) -> None:
    with FeedServer({"/good.xml": (GOOD, "application/rss+xml")}) as server:
        server.set("/atom.xml", ATOM, "application/atom+xml")
        for path, body in BROKEN.items():
            server.set(path, body, "text/xml; charset=iso-8859-1")
        server.set_status("/error.xml", 500)
        server.set_status("/missing.xml", 404)
        server.set_hang("/hang.xml", 30)
        paths = ["/good.xml", *BROKEN, "/error.xml", "/missing.xml", "/hang.xml", "/atom.xml"]
        config = make_config(tmp_path, timeout=0.5)
        report = ingest(config, store, feeds(*(server.url(p) for p in paths)))

    reasons = {url.rsplit("/", 1)[1]: reason for url, reason in report.failed}
    assert reasons == {
        "malformed.xml": "malformed feed with no readable entries (unclosed token at line 1)",
        "page.html": "not a feed: got an HTML page",
        "empty.xml": "empty response",
        "charset.xml": "not a feed: malformed XML (not well-formed (invalid token) at line 2)",
        "notafeed.xml": "not a feed: found <inventory>, not RSS, Atom or JSON Feed",
        "error.xml": "HTTP 500 Internal Server Error",
        "missing.xml": "HTTP 404 Not Found",
        "hang.xml": f"timeout after 0.5s (127.0.0.1:{server.port})",
    }
    assert all("\n" not in reason for reason in reasons.values())
    assert report.new == 3 and store.count_items() == 3
    assert [r.url for r in report.results] == [server.url(p) for p in paths]  # input order
    state = store.feed_state(server.url("/error.xml"))
    assert state.last_error == "HTTP 500 Internal Server Error" and state.failures == 1
    assert state.last_status == 500


def test_wrong_charset_declaration_is_recovered_when_the_bytes_are_clear(tmp_path: Path) -> None:
    text = "Café crème – déjà vu"
    declared_latin1 = rss(item(1, body=text), decl="iso-8859-1").encode("utf-8")
    declared_utf8 = rss(item(2, body="Café crème")).encode("latin-1")
    for data, headers in (
        (declared_latin1, {"Content-Type": "application/xml; charset=iso-8859-1"}),
        (declared_utf8, {"Content-Type": "text/xml; charset=utf-8"}),
    ):
        result = parse_feed(data, "https://harbour.example.org/feed.xml", None, headers)
        assert result.ok and result.items[0].text in (text, "Café crème")


def test_html_page_that_links_to_its_feed_says_so() -> None:
    page = (
        b"<!doctype html><html><head><link rel='alternate' type='application/rss+xml' "
        b"href='/feeds/all.xml'></head><body>Welcome</body></html>"
    )
    result = parse_feed(page, "https://harbour.example.org/", None, {"Content-Type": "text/html"})
    assert result.error == (
        "not a feed: got an HTML page (it links to a feed at "
        "https://harbour.example.org/feeds/all.xml; use that URL)"
    )


def test_bozo_feed_with_entries_is_accepted() -> None:
    sloppy = rss(
        item(1, body="<p>caf&eacute; &nbsp; open late</p>") + item(2, title="Fish &amp chips")
    )
    result = parse_feed(sloppy.encode(), "https://harbour.example.org/feed.xml")
    assert result.ok and len(result.items) == 2


def test_a_fetcher_that_explodes_only_fails_its_feed(tmp_path: Path, store: Store) -> None:
    good = tmp_path / "good.xml"
    good.write_text(GOOD, encoding="utf-8")

    def flaky(url: str, state: object, config: Config) -> FetchResponse:
        if url.endswith("boom.xml"):
            raise RuntimeError("socket exploded\nbadly")  # the injected fault
        from newsletter.ingest.fetch import fetch

        return fetch(url, state, config)  # type: ignore[arg-type]

    seen: list[FeedResult] = []
    report = ingest(
        make_config(tmp_path),
        store,
        feeds(str(good), "https://x.example/boom.xml"),
        progress=seen.append,
        fetcher=flaky,
    )
    assert report.failed == [
        ("https://x.example/boom.xml", "internal error: RuntimeError: socket exploded badly")
    ]
    assert report.new == 2 and len(seen) == 2


def test_a_failing_progress_callback_stops_the_run_without_hanging(
    tmp_path: Path, store: Store
) -> None:
    paths = []
    for n in range(30):
        path = tmp_path / f"f{n}.xml"
        path.write_text(rss(item(n)), encoding="utf-8")
        paths.append(str(path))
    fetched: list[str] = []

    def counting(url: str, state: object, config: Config) -> FetchResponse:
        from newsletter.ingest.fetch import fetch

        fetched.append(url)
        return fetch(url, state, config)  # type: ignore[arg-type]

    def explode(result: FeedResult) -> None:
        raise RuntimeError("progress display broke")

    outcome: list[BaseException] = []

    def run() -> None:
        try:
            ingest(make_config(tmp_path, concurrency=2), store, feeds(*paths), explode, counting)
        except BaseException as e:  # noqa: BLE001 (collected for the assertion below)
            outcome.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "ingest deadlocked after the callback failed"
    assert isinstance(outcome[0], RuntimeError)
    assert len(fetched) < 30  # the rest were cancelled, not fetched


# -- hostile content ---------------------------------------------------------------------
def test_hostile_item_content_never_reaches_the_item() -> None:
    body = (
        "<![CDATA[<p>Safe words.</p><script>alert('SCRIPTED')</script>"
        "<img src='https://img.example.org/a.jpg' onerror=\"alert('PWNED')\">"
        "<a href=\"javascript:alert('JSLINK')\">tap here</a>"
        "<iframe src='https://evil.example/'>FRAMED</iframe>"
        "<style>.x{background:url(STYLED)}</style>"
        "<p style='color:red' onclick='x()'>Kept too.</p>]]>"
    )
    title = "&lt;script&gt;alert('TITLE')&lt;/script&gt;Harbour &lt;b&gt;news&lt;/b&gt;"
    result = one_feed(rss(item(1, body=body, title=title)))
    found = result.items[0]
    everything = found.html + found.text + found.title
    for bad in (
        "script",
        "SCRIPTED",
        "onerror",
        "PWNED",
        "javascript",
        "JSLINK",
        "iframe",
        "FRAMED",
        "style",
        "STYLED",
        "onclick",
        "alert",
    ):
        assert bad not in everything, bad
    assert found.title == "Harbour news"
    assert "tap here" in found.text and "Safe words." in found.text and "Kept too." in found.text
    assert '<img src="https://img.example.org/a.jpg">' in found.html


def test_control_characters_of_a_feed_never_reach_the_item() -> None:
    """ESC and BEL would drive a terminal showing digest.txt or a mail's text part."""
    esc = "\x1b]0;pwned\x07\x1b[31m"
    body = f"<p>Ferries {esc}run late.</p><p>Bells &#x1b;[2J ring &amp;#7;twice.</p>"
    result = one_feed(
        rss(
            item(
                1,
                body=body,
                title=f"Harbour {esc}news &#x9b;",
                category=f"Port{esc}s",
                **{"dc:creator": f"Ann{esc} Lee"},
            )
        )
    )
    found = result.items[0]
    fields = [found.title, found.text, found.html, found.author, *found.categories]
    for field in fields:
        assert not any(ord(c) < 32 and c not in "\t\n\r" or 0x7F <= ord(c) < 0xA0 for c in field)
    assert "run late" in found.text and "ring" in found.text and "twice" in found.text
    assert found.title.startswith("Harbour") and "news" in found.title


# -- normalization and fallbacks ---------------------------------------------------------
def test_item_fields_are_normalized() -> None:
    entry = (
        "<item><guid isPermaLink='false'>  abc-123  </guid><title>Quay  works\n begin</title>"
        "<link>/news/quay</link><dc:creator>Rosa Vale</dc:creator>"
        "<pubDate>Tue, 06 Jan 2026 09:30:00 +0200</pubDate>"
        "<category> Works </category><category>works</category><category>Port</category>"
        "<description>Short teaser.</description>"
        "<content:encoded><![CDATA[<p>Full story with <a href='/map'>a map</a> and "
        "<img src='pics/quay.jpg'>.</p>]]></content:encoded>"
        "<media:thumbnail url='https://cdn.example.org/thumb.jpg'/></item>"
    )
    result = one_feed(rss(entry, extra="<language>EN-GB</language>"), name="Harbour")
    found = result.items[0]
    assert found.key == "abc-123"
    assert found.link == "https://harbour.example.org/news/quay"
    assert found.title == "Quay works begin"
    assert found.author == "Rosa Vale"
    assert found.published == datetime(2026, 1, 6, 7, 30, tzinfo=UTC)
    assert found.categories == ("Works", "Port")
    assert found.image == "https://cdn.example.org/thumb.jpg"
    assert "Short teaser" not in found.html  # content:encoded wins over the description
    assert 'href="https://harbour.example.org/map"' in found.html
    assert 'src="https://harbour.example.org/news/pics/quay.jpg"' in found.html
    assert found.text == "Full story with a map and ."
    assert found.language == "en-gb"
    assert found.source == "Harbour"
    assert found.feed_url == "https://harbour.example.org/feed.xml"
    assert len(found.content_hash) == 64
    assert result.title == "Harbour Notes"


def test_fallbacks_for_missing_title_date_link_and_guid() -> None:
    entries = (
        "<item><description>&lt;p&gt;Night buses will run every half hour from Friday "
        "onwards, the council said on Tuesday.&lt;/p&gt;</description></item>"
        "<item><title>Only a title</title></item>"
    )
    result = one_feed(rss(entries))
    untitled, titled = result.items
    expected = "Night buses will run every half hour from Friday onwards, the council…"
    assert untitled.title == expected
    assert untitled.published is None  # never invented
    assert untitled.link == "https://harbour.example.org/"  # the feed's link
    assert untitled.key == "sha256:" + untitled.content_hash
    assert untitled.source == "Harbour Notes" and untitled.categories == ()
    assert titled.title == "Only a title" and titled.text == ""
    only_image = one_feed(
        rss(
            "<item><description>&lt;img src='https://i.example/x.jpg'&gt;"
            "</description><guid>g1</guid></item>"
        )
    )
    assert only_image.items[0].title == "(untitled)"
    assert only_image.items[0].image == "https://i.example/x.jpg"


def test_link_is_the_key_when_there_is_no_guid() -> None:
    entry = item(4, guid="", link="HTTPS://Harbour.Example.org:443/n/4?utm_source=rss&amp;id=4#top")
    found = one_feed(rss(entry)).items[0]
    assert found.key == "https://harbour.example.org/n/4?id=4"
    assert canonical_url("http://A.example:80") == "http://a.example/"


def test_duplicate_entries_collapse_to_one_item() -> None:
    assert len(one_feed(rss(item(1) + item(1) + item(2))).items) == 2


def test_language_and_source_precedence() -> None:
    atom = one_feed(ATOM, url="https://canal.example.net/atom")
    assert atom.items[0].language == "nl-nl" and atom.items[0].source == "Canal Log"
    assert atom.items[0].published == datetime(2026, 1, 4, 8, 0, tzinfo=UTC)
    forced = one_feed(ATOM, url="https://canal.example.net/atom", language="FR", name="Canal")
    assert forced.items[0].language == "fr" and forced.items[0].source == "Canal"
    untitled = rss(item(1), title="").replace("<link>https://harbour.example.org/</link>", "")
    by_host = one_feed(untitled, url="https://www.quay.example.com/rss")
    assert by_host.items[0].source == "quay.example.com"


def test_image_from_an_image_enclosure_and_not_http() -> None:
    enclosure = "<enclosure url='https://cdn.example.org/e.png' type='image/png' length='9'/>"
    entries = item(1, body="<img src='http://plain.example/a.jpg'>").replace(
        "</item>", enclosure + "</item>"
    ) + item(2, body="<p>no https image <img src='http://plain.example/b.jpg'></p>")
    first, second = one_feed(rss(entries)).items
    assert first.image == "https://cdn.example.org/e.png"
    assert second.image == ""


def test_json_feed() -> None:
    doc = (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "Dock Diary", '
        '"home_page_url": "https://dock.example.com/", "language": "de", "items": ['
        '{"id": 7, "url": "https://dock.example.com/7", "title": "Kran",'
        ' "content_text": "Zeile <eins>\\n\\nZeile zwei",'
        ' "date_published": "2026-01-03T12:00:00+01:00", "tags": ["Hafen"],'
        ' "authors": [{"name": "Ida"}], "image": "https://dock.example.com/k.jpg"}]}'
    )
    found = one_feed(doc, url="https://dock.example.com/feed.json").items[0]
    assert (found.key, found.title, found.author, found.language) == ("7", "Kran", "Ida", "de")
    assert found.html == "<p>Zeile &lt;eins&gt;</p><p>Zeile zwei</p>"
    assert found.published == datetime(2026, 1, 3, 11, 0, tzinfo=UTC)
    assert found.categories == ("Hafen",) and found.image == "https://dock.example.com/k.jpg"
    broken = parse_feed(b'{"version": "https://jsonfeed.org/version/1", "items": [', "u")
    assert broken.error.startswith("malformed JSON Feed: ")


def test_two_megabyte_body_is_bounded() -> None:
    paragraph = "<p>" + "The tide tables are printed again this winter. " * 40 + "</p>"
    body = "<![CDATA[" + paragraph * (2_000_000 // len(paragraph) + 1) + "]]>"
    xml = rss(item(1, body=body, title="", link="", pubDate=""))
    assert len(xml) > 2_000_000
    result = one_feed(xml)
    found = result.items[0]
    assert found.title.startswith("The tide tables are printed again this winter.")
    assert found.link == "https://harbour.example.org/" and found.published is None
    assert len(found.html) <= 310_000 and len(found.text) <= 100_000


def test_entry_cap_bounds_huge_feeds() -> None:
    from newsletter.ingest.parse import MAX_ENTRIES

    result = one_feed(rss("".join(item(n) for n in range(MAX_ENTRIES + 50))))
    assert len(result.items) == MAX_ENTRIES


# -- conditional GET, gzip, redirects, size cap, files -----------------------------------
def test_second_run_is_a_304_and_nothing_is_parsed(tmp_path: Path, store: Store) -> None:
    with FeedServer({"/feed.xml": (GOOD, "application/rss+xml")}) as server:
        config, listed = make_config(tmp_path), feeds(server.url("/feed.xml"))
        first = ingest(config, store, listed)
        second = ingest(config, store, listed)
        assert server.statuses("/feed.xml") == [200, 304]
        assert server.requests[1].headers["if-none-match"]
        assert server.requests[1].headers["if-modified-since"]
    assert (first.new, first.parsed_items, first.parsed_feeds) == (2, 2, 1)
    assert (second.new, second.parsed_items, second.parsed_feeds) == (0, 0, 0)
    assert second.not_modified == 1 and second.results[0].not_modified
    assert second.results[0].title == "Harbour Notes"
    assert store.feed_state(server.url("/feed.xml")).not_modified_count == 1


def test_plain_304s_are_recorded_in_one_write_and_failures_as_they_come(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write per 304 while the other responses arrived held up the last of them."""
    paths = [f"/f{n}.xml" for n in range(12)]
    with FeedServer() as server:
        for n, path in enumerate(paths):
            server.set(path, rss(item(n)))
        server.set_status("/gone.xml", 404)
        urls = [server.url(p) for p in [*paths, "/gone.xml"]]
        config = make_config(tmp_path)
        ingest(config, store, feeds(*urls))
        writes = []
        begin = store.db.begin
        monkeypatch.setattr(store.db, "begin", lambda: (writes.append(1), begin()))
        again = ingest(config, store, feeds(*urls))
    assert again.not_modified == 12 and again.failed == [(urls[-1], "HTTP 404 Not Found")]
    assert len(writes) == 2  # the failure, then the twelve 304s
    assert all(store.feed_state(url).not_modified_count == 1 for url in urls[:-1])
    assert store.feed_state(urls[-1]).failures == 2


def test_a_stopped_ingest_keeps_every_answer_it_had(tmp_path: Path, store: Store) -> None:
    """Stopped mid-way (Ctrl-C, a service stop), a run still records the 304s it had, and a
    server's Retry-After was stored the moment it came: the next run keeps away."""
    with FeedServer() as server:
        server.set("/quick.xml", rss(item(1)))
        server.set("/slow.xml", rss(item(2)), latency=0.3)
        server.set_status("/busy.xml", 429, headers=(("Retry-After", "3600"),))
        urls = [server.url(p) for p in ("/quick.xml", "/slow.xml", "/busy.xml")]
        config = make_config(tmp_path)
        ingest(config, store, feeds(*urls[:2]))
        seen = {}

        def stop_at_the_slow_one(result: FeedResult) -> None:
            if result.url == urls[1]:  # the last to answer: the others' records are written
                seen["busy"] = store.feed_state(urls[2]).next_fetch_at
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ingest(config, store, feeds(*urls), progress=stop_at_the_slow_one)
        again = ingest(config, store, feeds(urls[2]))
        assert server.statuses("/busy.xml") == [429]
    assert seen["busy"] is not None  # stored as it came, before the run ended
    assert again.fresh == 1 and again.failed == []
    assert store.feed_state(urls[0]).not_modified_count == 1


def test_a_name_given_to_a_feed_reaches_its_stored_stories_at_the_next_run(
    tmp_path: Path, store: Store
) -> None:
    """A 304 would have left the stories under the old name until the feed next changed:
    the feed is read in full once, its stories take the name, and it is asked as before."""
    with FeedServer({"/feed.xml": (GOOD, "application/rss+xml")}) as server:
        url = server.url("/feed.xml")
        config = make_config(tmp_path)
        ingest(config, store, [FeedConfig(url=url)])
        store.clock = lambda: datetime(2026, 1, 6, tzinfo=UTC)  # a later run
        named = ingest(config, store, [FeedConfig(url=url, name="Harbour Wire")])
        decided = store.feed_state(url).last_decision
        again = ingest(config, store, [FeedConfig(url=url, name="Harbour Wire")])
        assert server.statuses("/feed.xml") == [200, 200, 304]
        assert "if-none-match" not in server.requests[1].headers  # in full, once
    assert named.results[0].ok and (named.new, named.changed) == (0, 0)
    assert {i.source for i in store.items()} == {"Harbour Wire"}
    assert again.not_modified == 1
    assert decided == "fetched in full: its name or language setting changed"
    # a digest built before the renaming is not the one a build would make now
    assert store.items_changed_since([url], datetime(2026, 1, 5, 23, tzinfo=UTC))


def test_a_feed_stored_by_an_older_version_is_not_read_in_full(
    tmp_path: Path, store: Store
) -> None:
    """Before the settings were kept, nothing says they changed: the current are taken."""
    with FeedServer({"/feed.xml": (GOOD, "application/rss+xml")}) as server:
        config, listed = make_config(tmp_path), feeds(server.url("/feed.xml"))
        ingest(config, store, listed)
        with store.transaction():
            store.db.execute("UPDATE feeds SET made_with = ''")
        ingest(config, store, listed)
        assert server.statuses("/feed.xml") == [200, 304]
    assert store.feed_state(server.url("/feed.xml")).made_with != ""


def test_a_feed_that_renames_itself_renames_its_stored_stories(
    tmp_path: Path, store: Store
) -> None:
    with FeedServer({"/feed.xml": (GOOD, "application/rss+xml")}) as server:
        config, listed = make_config(tmp_path), feeds(server.url("/feed.xml"))
        ingest(config, store, listed)
        # story 1 has left the feed's window: it is renamed with the others
        server.set("/feed.xml", rss(item(2) + item(3), title="Harbour Daily"))
        renamed = ingest(config, store, listed)
    assert (renamed.new, renamed.changed) == (1, 0)  # the same stories are no edits
    assert sorted((i.key, i.source) for i in store.items()) == [
        (f"harbour-{n}", "Harbour Daily") for n in (1, 2, 3)
    ]


def test_a_feed_named_in_the_config_names_every_story_even_those_it_no_longer_lists(
    tmp_path: Path, store: Store
) -> None:
    with FeedServer({"/feed.xml": (GOOD, "application/rss+xml")}) as server:
        url = server.url("/feed.xml")
        config = make_config(tmp_path)
        ingest(config, store, [FeedConfig(url=url)])
        server.set("/feed.xml", rss(item(3) + item(4)))  # only new stories listed now
        named = ingest(config, store, [FeedConfig(url=url, name="Harbour Wire", language="nl")])
    assert (named.new, named.changed) == (2, 0)
    assert sorted((i.key, i.source, i.language) for i in store.items()) == [
        (f"harbour-{n}", "Harbour Wire", "nl") for n in (1, 2, 3, 4)
    ]


def test_a_renamed_feed_still_waits_for_its_server(tmp_path: Path, store: Store) -> None:
    """A 429's Retry-After holds: the feed is read in full when it is next due."""
    with FeedServer({"/feed.xml": (GOOD, "application/rss+xml")}) as server:
        url = server.url("/feed.xml")
        config = make_config(tmp_path)
        ingest(config, store, [FeedConfig(url=url)])
        server.set_status("/feed.xml", 429, headers=(("Retry-After", "3600"),))
        ingest(config, store, [FeedConfig(url=url)])
        waiting = ingest(config, store, [FeedConfig(url=url, name="Harbour Wire")])
        assert server.statuses("/feed.xml") == [200, 429]
    assert waiting.fresh == 1 and waiting.failed == []
    assert {i.source for i in store.items()} == {"Harbour Notes"}  # not yet asked


def test_edited_item_is_counted_as_changed(tmp_path: Path, store: Store) -> None:
    with FeedServer({"/feed.xml": (GOOD, "application/rss+xml")}) as server:
        config, listed = make_config(tmp_path), feeds(server.url("/feed.xml"))
        ingest(config, store, listed)
        server.set(
            "/feed.xml",
            rss(item(1, body="<p>Corrected: the ferry leaves on time.</p>") + item(2) + item(3)),
        )
        report = ingest(config, store, listed)
    # the unchanged entry (item 2) is recognised by its raw-entry hash and not normalized
    assert (report.new, report.changed, report.parsed_items) == (1, 1, 2)
    assert report.unchanged_items == 1 and report.results[0].unchanged == 1


def test_unchanged_entries_of_a_changed_feed_are_not_normalized_again(
    tmp_path: Path, store: Store
) -> None:
    """A changed feed is parsed, but only its new or edited entries are normalized; a
    change of what an entry becomes (the feed's name in the config) redoes them all."""
    with FeedServer({"/feed.xml": (rss(item(1) + item(2) + item(3)), "application/rss+xml")}) as (
        server
    ):
        url = server.url("/feed.xml")
        config = make_config(tmp_path)
        first = ingest(config, store, feeds(url))
        server.set("/feed.xml", rss(item(4) + item(1) + item(2) + item(3)))
        second = ingest(config, store, feeds(url))
        server.set("/feed.xml", rss(item(5) + item(4) + item(1) + item(2) + item(3)))
        renamed = ingest(config, store, [FeedConfig(url=url, name="Harbour Desk")])
    assert (first.parsed_items, first.unchanged_items, first.new) == (3, 0, 3)
    assert (second.parsed_items, second.unchanged_items, second.new) == (1, 3, 1)
    assert (renamed.parsed_items, renamed.unchanged_items, renamed.new) == (5, 0, 1)
    # every story of the feed under the name the config gives it now, not only the new one
    assert {i.source for i in store.items()} == {"Harbour Desk"}
    assert all(len(i.entry_hash) == 32 for i in store.items())


def test_a_changed_feed_is_compared_with_its_newest_stored_items_only(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Years of a feed's items are not read at each change: only its newest ones (here
    three). An older entry still in the feed is parsed again and stays the one item it was."""
    monkeypatch.setattr("newsletter.ingest.feeds.KNOWN_ENTRIES", 3)

    def dated(n: int) -> str:
        return item(n, pubDate=f"Mon, 0{n} Feb 2026 08:00:00 GMT")

    with FeedServer({"/feed.xml": (rss("".join(dated(n) for n in range(5, 0, -1))), "")}) as (
        server
    ):
        url = server.url("/feed.xml")
        config = make_config(tmp_path)
        first = ingest(config, store, feeds(url))
        server.set("/feed.xml", rss("".join(dated(n) for n in range(6, 0, -1))))
        second = ingest(config, store, feeds(url))
    assert set(store.known_entries(url, 3).values()) == {"harbour-6", "harbour-5", "harbour-4"}
    assert (first.parsed_items, first.new) == (5, 5)
    # 6 is new, 5-3 are known; 2 and 1 are older than the newest three: parsed, not new
    assert (second.parsed_items, second.unchanged_items) == (3, 3)
    assert (second.new, second.changed) == (1, 0)
    assert sorted(i.key for i in store.items()) == [f"harbour-{n}" for n in range(1, 7)]


def test_gzip_and_redirect_through_ingest(tmp_path: Path, store: Store) -> None:
    with FeedServer(gzip=True) as server:
        server.set("/real.xml", GOOD)
        server.set_redirect("/old.xml", "/real.xml", status=301)
        report = ingest(make_config(tmp_path), store, feeds(server.url("/old.xml")))
        assert server.statuses("/real.xml") == [200]
        assert server.requests[-1].headers["accept-encoding"].startswith("gzip")
    assert report.failed == [] and report.new == 2
    stored = store.items()
    assert {i.feed_url for i in stored} == {server.url("/old.xml")}  # the configured URL


def test_size_cap_through_ingest(tmp_path: Path, store: Store) -> None:
    with FeedServer({"/big.xml": (rss(item(1) * 200), "application/rss+xml")}) as server:
        config = make_config(tmp_path, max_bytes=10_000)
        report = ingest(config, store, feeds(server.url("/big.xml")))
    assert report.failed[0][1].startswith("response too large:")
    assert report.new == 0


def test_file_url_and_plain_path(tmp_path: Path, store: Store) -> None:
    plain = tmp_path / "harbour.xml"
    plain.write_text(GOOD, encoding="utf-8")
    atom = tmp_path / "canal feed.atom"
    atom.write_text(ATOM, encoding="utf-8")
    config, listed = make_config(tmp_path), feeds(str(plain), atom.as_uri())
    first = ingest(config, store, listed)
    assert first.failed == [] and first.new == 3
    assert {r.status for r in first.results} == {None}
    second = ingest(config, store, listed)  # unchanged files are not parsed again
    assert second.not_modified == 2 and second.parsed_items == 0
    missing = ingest(config, store, feeds(str(tmp_path / "gone.xml")))
    gone = tmp_path / "gone.xml"
    assert missing.failed == [(str(gone), f"file not found: {gone}")]


def test_fetch_feed_without_a_store(tmp_path: Path) -> None:
    path = tmp_path / "f.xml"
    path.write_text(GOOD, encoding="utf-8")
    result = fetch_feed(FeedConfig(url=str(path)), None, make_config(tmp_path))
    assert result.ok and len(result.items) == 2 and result.etag.startswith("sha256:")


# -- concurrency ---------------------------------------------------------------------------
class InFlight:
    """The real fetch, counting the requests under way at once, in all and per host."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def _count(self, host: str, step: int) -> None:
        with self.lock:
            for key in (host, "*"):
                self.now[key] = self.now.get(key, 0) + step
                self.peak[key] = max(self.peak.get(key, 0), self.now[key])

    def __call__(self, url: str, state: object, config: Config) -> FetchResponse:
        host = url.split("/")[2].split(":")[0]
        self._count(host, 1)
        try:
            return fetch(url, state, config)  # type: ignore[arg-type]
        finally:
            self._count(host, -1)


def test_many_slow_feeds_are_fetched_concurrently(tmp_path: Path, store: Store) -> None:
    """100 feeds on 100 sites: `fetch.concurrency` requests at once, no more (counted,
    not timed)."""
    count, concurrency = 100, 16
    hosts = [f"127.0.3.{n + 1}" for n in range(count)]
    counter = InFlight()
    with FeedServer(latency=0.2, hosts=tuple(hosts)) as server:
        for n in range(count):
            server.set(f"/f{n}.xml", rss(item(n)))
        config = make_config(tmp_path, concurrency=concurrency)
        urls = [server.url(f"/f{n}.xml", host=hosts[n]) for n in range(count)]
        report = ingest(config, store, feeds(*urls), fetcher=counter)
    assert report.failed == [] and report.new == count
    assert counter.peak["*"] == concurrency
    assert max(counter.peak[h] for h in hosts) == 1


def test_one_site_with_many_feeds_gets_per_host_requests_at_once(
    tmp_path: Path, store: Store
) -> None:
    """Two sites with 12 feeds each: at most fetch.per_host requests to either at once,
    while the other site's feeds go ahead (the global limit is not what holds them)."""
    sites = ("127.0.4.1", "127.0.4.2")
    counter = InFlight()
    with FeedServer(latency=0.1, hosts=sites) as server:
        for n in range(24):
            server.set(f"/f{n}.xml", rss(item(n)))
        config = make_config(tmp_path, concurrency=16, per_host=3)
        urls = [server.url(f"/f{n}.xml", host=sites[n % 2]) for n in range(24)]
        report = ingest(config, store, feeds(*urls), fetcher=counter)
    assert report.failed == [] and report.new == 24
    assert [counter.peak[site] for site in sites] == [3, 3]
    assert counter.peak["*"] == 6


# -- real-world corpus ---------------------------------------------------------------------
CORPUS = SHARED / "datasets" / "feeds_real_world" / "files"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/datasets is not checked out")
def test_real_world_corpus_parses_without_exceptions() -> None:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    assert len(files) > 200
    with_items = 0
    for path in files:
        result = parse_feed(path.read_bytes(), str(path))
        assert isinstance(result, FeedResult)
        if result.items:
            with_items += 1
            assert not result.error
            for found in result.items:
                assert found.key and found.title and "\n" not in found.title
                assert found.published is None or found.published.tzinfo is not None
                assert "<script" not in found.html.lower()
        else:
            assert result.error and "\n" not in result.error, path
    assert with_items >= 130  # the rest are empty or broken on purpose (encoding tests)


def test_report_shape() -> None:
    report = IngestReport()
    assert (report.new, report.changed, report.failed, report.feeds) == (0, 0, [], 0)


def test_source_name_drops_the_feed_tagline():
    from newsletter.ingest.entries import short_title

    assert short_title("Defence Talks | Defense News Hub, Military Updates") == "Defence Talks"
    assert short_title("The Harbour Daily — Top Stories") == "The Harbour Daily"
    assert short_title("Ars Technica") == "Ars Technica"
    assert (
        short_title("AB - a two-letter head is kept whole")
        == "AB - a two-letter head is kept whole"
    )


def test_stories_keep_one_order_whichever_feed_answers_first(tmp_path: Path) -> None:
    """Undated stories count as first seen when the run started, and ties break on the
    feed and the story, so the order of the responses never reorders a digest."""
    paths = []
    for f in range(4):
        path = tmp_path / f"feed{f}.xml"
        entries = "".join(item(10 * f + n, pubDate="") for n in range(3))
        # two more stories per feed share one date with the other feeds' two
        entries += "".join(item(10 * f + n) for n in (7, 8))
        path.write_text(rss(entries, title=f"Feed {f}"), encoding="utf-8")
        paths.append(str(path))

    def ingested(slow_first: bool, name: str) -> list[tuple[str, str]]:
        def fetcher(url: str, state: object, config: Config) -> FetchResponse:
            place = next(n for n, p in enumerate(paths) if url.endswith(Path(p).name))
            threading.Event().wait(0.03 * (4 - place if slow_first else place))
            return fetch(url, state, config)  # type: ignore[arg-type]

        with Store(tmp_path / f"{name}.sqlite") as store:
            report = ingest(make_config(tmp_path), store, feeds(*paths), fetcher=fetcher)
            assert report.new == 20 and report.failed == []
            stored = store.items()
            assert len({i.first_seen for i in stored}) == 1
            return [(i.feed_url, i.key) for i in stored]

    assert ingested(True, "one") == ingested(False, "two")
