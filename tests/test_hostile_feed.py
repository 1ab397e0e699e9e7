"""A hostile feed against the whole pipeline: every field it controls, filled with every
placeholder and template-looking string, must reach the subscribers as its own text, never
as their links or address; and no field can stall parsing or blow the size budget."""

from __future__ import annotations

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
        image = f"https://evil.example/p.gif?m={unspaced}"
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


def test_no_feed_field_becomes_a_personal_link_or_the_address(
    tmp_path: Path, store: Store
) -> None:
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
            assert 'src="https://evil.example/p.gif?m=%%UNSUBSCRIBE_URL%%' in html
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
