"""The allow-list sanitizer: hostile markup out, useful markup kept, URLs absolute."""

from __future__ import annotations

import pytest

from newsletter.ingest.sanitize import (
    MAX_HTML_CHARS,
    absolute_url,
    first_image,
    sanitize_html,
    text_to_html,
)
from newsletter.text import html_to_text

BASE = "https://blog.example.net/2025/05/post.html"

HOSTILE = """
<p onclick="steal()">Hello <b>world</b></p>
<script>document.write('SCRIPTBODY')</script>
<style>p { color: red } .STYLEBODY {}</style>
<img src="/pics/cat.jpg" onerror="alert('ONERROR')" style="width:9000px">
<a href="javascript:alert('JSLINK')">click me</a>
<a href="  JaVaScRiPt:alert(1)">sneaky</a>
<a href="java&#x09;script:alert(2)">tabbed</a>
<a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>
<a href="vbscript:msgbox(1)">vb</a>
<iframe src="https://evil.example/frame">IFRAMEBODY</iframe>
<form action="https://evil.example/post"><input name="pw" value="x">FORMTEXT</form>
<object data="https://evil.example/x.swf"><embed src="https://evil.example/y.swf"></object>
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<svg onload="alert(3)"><text>SVGBODY</text></svg>
<p style="position:fixed">styled</p>
"""


def test_hostile_markup_is_removed() -> None:
    out = sanitize_html(HOSTILE, BASE)
    lowered = out.lower()
    for bad in (
        "<script",
        "scriptbody",
        "<style",
        "stylebody",
        "onerror",
        "onclick",
        "onload",
        "javascript",
        "vbscript",
        "data:",
        "<iframe",
        "iframebody",
        "<form",
        "<input",
        "<object",
        "<embed",
        "<meta",
        "style=",
        "svgbody",
        "alert",
    ):
        assert bad not in lowered, bad
    assert "<b>world</b>" in out
    assert "click me" in out and "styled" in out  # text of dropped links/attributes stays


def test_nothing_hostile_reaches_the_text_either() -> None:
    text = html_to_text(sanitize_html(HOSTILE, BASE))
    for bad in ("SCRIPTBODY", "STYLEBODY", "IFRAMEBODY", "SVGBODY", "alert", "color: red"):
        assert bad not in text
    assert "Hello world" in text


def test_relative_links_and_images_become_absolute() -> None:
    html = (
        '<p><a href="../other.html#x">other</a> <a href="/about">about</a>'
        ' <a href="//cdn.example.net/f.pdf">pdf</a> <a href="mailto:ed@example.net">mail</a>'
        ' <img src="img/a.png" alt="A"></p>'
    )
    out = sanitize_html(html, BASE)
    assert 'href="https://blog.example.net/2025/other.html#x"' in out
    assert 'href="https://blog.example.net/about"' in out
    assert 'href="https://cdn.example.net/f.pdf"' in out
    assert 'href="mailto:ed@example.net"' in out
    assert 'src="https://blog.example.net/2025/05/img/a.png"' in out
    assert 'rel="noopener noreferrer"' in out


def test_without_a_base_relative_urls_are_dropped_not_kept() -> None:
    out = sanitize_html('<a href="/x">x</a><img src="/y.png"><a href="https://ok.example/">ok</a>')
    assert 'href="/x"' not in out and "/y.png" not in out
    assert 'href="https://ok.example/"' in out


def test_images_only_http_and_not_tracking_pixels() -> None:
    html = (
        '<img src="ftp://files.example/a.png"><img src="data:image/png;base64,AAAA">'
        '<img src="https://t.example/open.gif" width="1" height="1">'
        '<img src="http://plain.example/b.png" alt="b">'
    )
    out = sanitize_html(html, BASE)
    assert out == '<img src="http://plain.example/b.png" alt="b">'


def test_email_friendly_tags_survive_and_headings_fold() -> None:
    html = (
        '<h1>Top</h1><h3>Mid</h3><h6>Low</h6><ul><li>one</li></ul><ol start="3"><li>x</li></ol>'
        "<blockquote>quote</blockquote><figure><img src='https://i.example/p.jpg' alt='p'>"
        "<figcaption>cap</figcaption></figure><pre><code>x = 1</code></pre>"
        '<table><tr><td colspan="2">cell</td></tr></table><div>a</div><div>b</div>'
    )
    out = sanitize_html(html, BASE)
    for kept in (
        "<h2>Top</h2>",
        "<h3>Mid</h3>",
        "<h4>Low</h4>",
        "<ul><li>one</li></ul>",
        '<ol start="3">',
        "<blockquote>quote</blockquote>",
        "<figcaption>cap</figcaption>",
        "<pre><code>x = 1</code></pre>",
        '<td colspan="2">cell</td>',
        "<div>a</div>",
    ):
        assert kept in out, kept
    assert "a\n\nb" in html_to_text(out)  # block tags keep words apart in the text


def test_huge_input_is_capped_and_fast() -> None:
    paragraph = "<p>" + "word " * 200 + "</p>"
    html = paragraph * (2_000_000 // len(paragraph))
    out = sanitize_html(html, BASE)  # bounded work: the input is cut before nh3 sees it
    assert len(out) <= MAX_HTML_CHARS + 100
    assert out.endswith("</p>")  # cut at a tag boundary, closed properly


def test_inline_base64_images_do_not_eat_the_size_budget() -> None:
    html = '<p><img src="data:image/png;base64,' + "A" * 1_500_000 + '"></p><p>the real text</p>'
    out = sanitize_html(html, BASE)
    assert "the real text" in out and "AAAA" not in out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x.html", "https://blog.example.net/2025/05/x.html"),
        ("https://other.example/", "https://other.example/"),
        ("javascript:alert(1)", ""),
        ("java\tscript:alert(1)", ""),
        ("http://", ""),
        ("", ""),
    ],
)
def test_absolute_url(value: str, expected: str) -> None:
    assert absolute_url(value, BASE) == expected


def test_text_to_html_escapes() -> None:
    expected = "<p>a &lt; b &amp; c<br>next</p><p>second</p>"
    assert text_to_html("a < b & c\nnext\n\nsecond") == expected


def test_first_image_prefers_https() -> None:
    html = '<img src="http://a.example/1.png"><img src="https://b.example/2.png?x=1&amp;y=2">'
    assert first_image(html) == "https://b.example/2.png?x=1&y=2"
    assert first_image("<p>none</p>") == ""
