"""A hostile feed against the whole pipeline: every field it controls, filled with every
placeholder and template-looking string, must reach the subscribers as its own text, never
as their links or address; and no field can stall parsing or blow the size budget."""

from __future__ import annotations

import json
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from support.run import add_readers, make_run_config, story_text
from support.smtp import SmtpServer

from newsletter.run.runner import run
from newsletter.store import Store

# what a feed might write hoping it becomes a subscriber's link, address or a template
PAYLOADS = (
    "%%UNSUBSCRIBE_URL%%",
    "%%MANAGE_URL%%",
    "%%RECIPIENT%%",
    "%%MANAGE_URL_" + "0" * 32 + "%%",  # the shape of this version's markers
    "%%RECIPIENT_" + "F" * 32 + "%%",
    "{{ manage_url }}",
    "{{unsubscribe_url}}",
    "{{ recipient }}",
    "{% if true %}JINJA{% endif %}",
    "%(email)s",
    "%(manage_url)s",
    "{email}",
    "{manage_url}",
    "{0}",
    "$email",
    "${manage_url}",
)
HOSTILE = " ".join(PAYLOADS)


def _feed(items: int = 4) -> str:
    """RSS whose every feed-controlled field carries every payload (plus a field tag)."""
    parts = []
    for n in range(items):
        # a URL with a space is dropped as invalid: the URL fields get the payloads unspaced
        unspaced = "".join(p.replace(" ", "") for p in PAYLOADS)
        link = f"https://evil.example/{n}?m={unspaced}"
        image = f"https://evil.example/photo-{n}.jpg?m={unspaced}"  # one per item: not artwork
        parts.append(
            "<item>"
            f"<title>TITLE{n} {escape(HOSTILE)}</title>"
            f"<link>{escape(link)}</link>"
            f"<guid>https://evil.example/guid/{n}</guid>"
            f"<author>AUTHOR {escape(HOSTILE)}</author>"
            f"<category>CATEGORY {escape(HOSTILE)}</category>"
            f"<media:thumbnail url={quoteattr(image)}/>"
            f"<description>{escape(f'SUMMARY {HOSTILE}. ' + story_text(n))}</description>"
            "<pubDate>Sun, 04 Jan 2026 12:00:00 +0000</pubDate>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>FEEDTITLE {escape(HOSTILE)}</title><link>https://evil.example/</link>"
        f"<description>x</description>{''.join(parts)}</channel></rss>"
    )


def _parts(raw: bytes) -> tuple[EmailMessage, str, str]:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return message, text, html  # type: ignore[return-value]


def test_no_feed_field_becomes_a_personal_link_or_the_address(tmp_path: Path, store: Store) -> None:
    feed = tmp_path / "evil.xml"
    feed.write_text(_feed(), encoding="utf-8")
    with SmtpServer() as smtp:
        config = make_run_config(tmp_path, [str(feed)], smtp.smtp_config())
        readers = add_readers(store, 2)
        report = run(config, store)
        assert report.exit_code == 0, report
        for email in readers:
            [raw] = smtp.messages[email]
            message, text, html = _parts(raw)
            unsubscribe = message["List-Unsubscribe"].strip("<>")
            token = unsubscribe.rsplit("/", 1)[1]
            manage = re.search(r"https://crier\.example\.org/manage/\S+", text).group()
            # each personal link sits in the template's footer only: once per part
            assert text.count(unsubscribe) == 1 and html.count(f'href="{unsubscribe}"') == 1
            assert text.count(manage) == 1 and html.count(f'href="{manage}"') == 1
            for body in (text, html):
                assert body.count(token) == 1
                assert body.count(manage.rsplit("/", 1)[1]) == 1
                assert email not in body and "Reader" not in body
                # feed text is never evaluated as a template: JINJA only inside its {% if %}
                assert body.count("JINJA") == body.count("%}JINJA{%") > 0
            # ...while the feed's text arrived as text, in every field that is shown
            for tag in ("TITLE0", "SUMMARY", "AUTHOR", "FEEDTITLE"):
                assert tag in text, tag
            assert "{{ manage_url }}" in text and "%%MANAGE_URL%%" in text
            assert "{% if true %}JINJA{% endif %}" in re.sub(r"\s+", " ", text)
            # the link and the image URL, as the feed wrote them
            assert 'href="https://evil.example/0?m=%%UNSUBSCRIBE_URL%%' in html
            assert re.search(
                r'src="https://evil.example/photo-\d+.jpg\?m=%%UNSUBSCRIBE_URL%%', html
            )
            assert "CATEGORY" in html or "Category" in html  # a section label from the feed
            assert message["To"] == f"{email.split('@')[0].replace('reader', 'Reader ')} <{email}>"


@pytest.mark.parametrize("field", ["title", "author", "link", "feed title", "summary"])
def test_a_hostile_field_in_the_subject_and_headers_stays_one_line(
    tmp_path: Path, store: Store, field: str
) -> None:
    """Header-shaped text in a feed reaches no header: the subject keeps it on one line."""
    bad = "Hi\r\nBcc: victim@example.org\r\n\r\n%%RECIPIENT%% {{ recipient }}"
    values = {k: "plain" for k in ("title", "author", "link", "feed title", "summary")}
    values[field] = bad
    link = "https://evil.example/1" + ("?" + bad if field == "link" else "")
    rss = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(values['feed title'])}</title><link>https://evil.example/</link>"
        f"<item><title>{escape(values['title'])} story</title><link>{escape(link)}</link>"
        f"<author>{escape(values['author'])}</author>"
        f"<description>{escape(values['summary'] + ' ' + story_text(1))}</description>"
        "</item></channel></rss>"
    )
    feed = tmp_path / "evil.xml"
    feed.write_text(rss, encoding="utf-8")
    with SmtpServer() as smtp:
        config = make_run_config(tmp_path, [str(feed)], smtp.smtp_config())
        [email] = add_readers(store, 1)
        assert run(config, store).exit_code == 0
        [raw] = smtp.messages[email]
        message, text, html = _parts(raw)
        assert message["Bcc"] is None and message.get_all("To") == [message["To"]]
        assert email not in text and email not in html
        assert list(smtp.messages) == [email]


# -- 6. bounded parsing, bounded mail -------------------------------------------------------
BIG = "a" * 100_000  # one run of e-mail-ish characters: the worst case for feedparser
AUTHOR_TRICKS = {
    "author": f"<author>{BIG}</author>",
    "dc:creator": f"<dc:creator>{BIG}</dc:creator>",
    "itunes:author": f"<itunes:author>{BIG}</itunes:author>",
    "cdata": f"<author><![CDATA[{BIG}]]></author>",
    "comments": "<author>" + "aaaaa<!---->" * 20_000 + "</author>",
    "entities": "<author>" + "&#97;" * 50_000 + "</author>",
    "nested": f"<author>x<author>y</author>{BIG}</author>",
    "spaced runs": "<author>" + ("a" * 1000 + " ") * 100 + "</author>",
}
CHANNEL_AUTHORS = {
    "managingEditor": f"<managingEditor>{BIG}</managingEditor>",
    "webMaster": f"<webMaster>{BIG}</webMaster>",
    "dc:publisher": f"<dc:publisher>{BIG}</dc:publisher>",
}


class _CountingRe:
    """feedparser's `re` module, recording every string its e-mail search scans."""

    def __init__(self) -> None:
        self.scanned: list[str] = []

    def search(self, pattern, string, flags=0):  # noqa: ANN001, ANN201
        if "@" in pattern:  # the e-mail pattern in _sync_author_detail
            self.scanned.append(string)
        return re.search(pattern, string, flags)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(re, name)


def _rss(item: str = "", channel: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>F</title>'
        f"<link>https://x.example/</link>{channel}<item><title>T</title>"
        f"<link>https://x.example/1</link>{item}</item></channel></rss>"
    ).encode()


def _longest_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"[A-Za-z0-9_.+-]+", text)), default=0)


@pytest.mark.parametrize(
    ("item", "channel"),
    [(v, "") for v in AUTHOR_TRICKS.values()] + [("", v) for v in CHANNEL_AUTHORS.values()],
    ids=[*AUTHOR_TRICKS, *CHANNEL_AUTHORS],
)
def test_feedparser_never_scans_a_long_author(
    monkeypatch: pytest.MonkeyPatch, item: str, channel: str
) -> None:
    """The e-mail search costs the square of the longest letter run it scans: whatever an
    author-like element holds, the text it scans is at most the field limit, with no run
    longer than an address's local part."""
    import feedparser.mixin

    from newsletter.ingest.bounds import MAX_RUN
    from newsletter.ingest.parse import MAX_FIELD_CHARS, read_feed

    counting = _CountingRe()
    monkeypatch.setattr(feedparser.mixin, "re", counting)
    feed = read_feed(_rss(item, channel))
    assert counting.scanned, "the e-mail search did not run: the test would prove nothing"
    assert max(len(s) for s in counting.scanned) <= MAX_FIELD_CHARS
    assert max(_longest_run(s) for s in counting.scanned) <= MAX_RUN
    assert len(feed.entries) == 1


def test_every_text_field_is_cut_to_the_configured_limit() -> None:
    from newsletter.ingest.parse import read_feed

    huge = "word " * 40_000
    item = (
        f"<title>{huge}</title><author>{huge}</author><category>{huge}</category>"
        f"<description>{huge}</description>"
    )
    xml = _rss(item).replace(b"<title>F</title>", f"<title>{huge}</title>".encode())
    json_feed = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": huge,
            "items": [{"id": "1", "title": huge, "authors": [{"name": huge}], "tags": [huge]}],
        }
    ).encode()
    for data in (xml, json_feed):
        for limit in (500, 40):
            feed = read_feed(data, max_field_chars=limit)
            [entry] = feed.entries
            assert len(feed.title) <= limit and len(entry.title) <= limit
            assert len(entry.author) <= limit and all(len(c) <= limit for c in entry.categories)


def test_the_field_limit_is_a_config_key(tmp_path: Path) -> None:
    from newsletter.config import ConfigError, load_config

    path = tmp_path / "newsletter.toml"
    path.write_text("[fetch]\nmax_field_chars = 120\n", encoding="utf-8")
    assert load_config(path).fetch.max_field_chars == 120
    path.write_text("[fetch]\nmax_field_chars = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_field_chars"):
        load_config(path)


def test_huge_fields_cannot_push_a_digest_past_its_size_budget(
    tmp_path: Path, store: Store
) -> None:
    huge = "x" * 200_000
    spaced = "Harbour " * 25_000
    long_url = "https://evil.example/" + "p" * 100_000
    rss = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>{huge}</title><link>https://evil.example/</link>"
        + "".join(
            f"<item><title>{spaced} {n}</title><link>{long_url}{n}</link>"
            f"<guid>https://evil.example/g/{n}</guid><author>{huge}</author>"
            f"<category>{spaced}</category><category>{huge}</category>"
            f'<media:thumbnail url="{long_url}.png"/>'
            f"<description>{huge} {escape(story_text(n))} {spaced}</description></item>"
            for n in range(3)
        )
        + "</channel></rss>"
    )
    feed = tmp_path / "huge.xml"
    feed.write_text(rss, encoding="utf-8")
    with SmtpServer() as smtp:
        config = make_run_config(tmp_path, [str(feed)], smtp.smtp_config())
        [email] = add_readers(store, 1)
        assert run(config, store).exit_code == 0
        [raw] = smtp.messages[email]
    message, text, html = _parts(raw)
    budget = config.digest.html_budget_kb * 1024
    assert len(html.encode("utf-8")) <= budget
    assert len(text.encode("utf-8")) <= budget
    assert "TITLE" not in html and "Harbour Harbour" in html  # the stories are there, cut
    assert "p" * 3000 not in html  # over-long URLs are dropped, not shown
    [folder] = (tmp_path / "output" / "daily").iterdir()
    assert len((folder / "index.html").read_bytes()) <= budget  # the web copy too
    assert len((folder / "digest.json").read_bytes()) <= budget
