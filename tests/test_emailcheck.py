"""emailcheck.py: the structural lint passes our digests and catches each defect it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import html as lxml_html
from support.emailcheck import Problem, check_html, check_message, errors, preheader_text
from support.emailcss import contrast, contrast_issues, matches, parse_color, parse_stylesheet
from support.inbox import (
    EVERY_STORY,
    big_digest,
    build_message,
    make_config,
    personalize,
    sample_digest,
)

from newsletter.render.renderer import render_digest


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    config = make_config(tmp_path_factory.mktemp("out") / "output")
    return render_digest(sample_digest(), config)


@pytest.fixture(scope="module")
def raw(rendered) -> bytes:
    return build_message(rendered).as_bytes()


def codes(problems: list[Problem], level: str = "error") -> set[str]:
    return {p.code for p in problems if p.level == level}


@pytest.mark.parametrize(
    ("which", "budget_kb", "shaped"),
    [("sample", 90, True), ("sixty", 90, False), ("sixty", 40, False), ("sixty", 90, True)],
)
def test_our_digests_pass_clean(tmp_path: Path, which: str, budget_kb: int, shaped: bool) -> None:
    digest = sample_digest() if which == "sample" else big_digest(60)
    shape = {} if shaped else EVERY_STORY  # shaped: the default lead, 10 stories, 3 a section
    config = make_config(tmp_path / "output", budget_kb=budget_kb, **shape)
    rendered = render_digest(digest, config)
    assert (rendered.trimmed > 0) == (budget_kb < 90 or (shaped and which == "sixty"))
    html_problems = check_html(rendered.html)
    message_problems = check_message(build_message(rendered).as_bytes())
    for p in html_problems + message_problems:
        print(p)
    assert html_problems == []
    assert message_problems == []
    web = check_html(rendered.web_html, personalized=True)
    assert errors(web) == []


def test_contrast_is_measured_in_both_schemes(rendered) -> None:
    issues, lowest = contrast_issues(lxml_html.document_fromstring(rendered.html))
    print(f"lowest contrast: light {lowest['light']:.2f}, dark {lowest['dark']:.2f}")
    assert issues == []
    assert lowest["light"] >= 4.5 and lowest["dark"] >= 4.5


# --- HTML defects: each mutation of a good digest must raise its code --------------------


def _mutate(html: str, old: str, new: str, count: int = 1) -> str:
    assert old in html, old
    return html.replace(old, new, count)


HTML_DEFECTS = [
    ("lang", lambda h: re.sub(r'<html lang="en"', "<html", h)),
    ("image-alt", lambda h: re.sub(r'(<img[^>]*?) alt="[^"]*"', r"\1", h, count=1)),
    ("image-https", lambda h: h.replace('src="https://allotment', 'src="http://allotment')),
    (
        "data-uri",
        lambda h: h.replace(
            'src="https://allotment.example.net/img/gauge.jpg"',
            'src="data:image/png;base64,iVBORw0KGgo="',
        ),
    ),
    ("image-size", lambda h: re.sub(r'(<img[^>]*?) height="\d+"', r"\1", h, count=1)),
    ("no-script", lambda h: h.replace("</body>", "<script>alert(1)</script></body>")),
    ("no-form", lambda h: h.replace("</body>", '<form action="https://x.org"></form></body>')),
    (
        "no-link",
        lambda h: h.replace("</head>", '<link rel="stylesheet" href="https://x.org/a.css"></head>'),
    ),
    ("event-handler", lambda h: h.replace('<h1 class="site"', '<h1 onclick="x()" class="site"')),
    (
        "css-layout",
        lambda h: h.replace(
            'class="outer" align="center" style="',
            'class="outer" align="center" style="display:flex;',
        ),
    ),
    ("css-variables", lambda h: h.replace("@media screen", ":root{--x:1px}@media screen")),
    (
        "css-url",
        lambda h: h.replace(
            'class="outer" align="center" style="',
            'class="outer" align="center" style="background-image:url(https://x.org/b.png);',
        ),
    ),
    ("web-font", lambda h: h.replace("<style>", "<style>@import url(https://f.org/x.css);")),
    ("table-role", lambda h: h.replace('role="presentation"', "", 1)),
    (
        "preheader-missing",
        lambda h: re.sub(r'<div class="preheader".*?</div>', "", h, count=1, flags=re.S),
    ),
    (
        "preheader-length",
        lambda h: re.sub(r'(<div class="preheader"[^>]*>)[^<]*', r"\1Hello", h, count=1),
    ),
    ("unsubscribe-link", lambda h: h.replace(">Unsubscribe</a>", ">Leave</a>")),
    (
        "link-scheme",
        lambda h: h.replace('href="https://news.example.org"', 'href="javascript:alert(1)"', 1),
    ),
    ("link-scheme", lambda h: h.replace('href="https://news.example.org"', 'href="/home"', 1)),
    ("link-anchor", lambda h: h.replace('href="#s-cycling"', 'href="#s-nowhere"')),
    ("link-text", lambda h: h.replace(">View on the web</a>", "></a>", 1)),
    ("duplicate-id", lambda h: h.replace('id="s-cycling"', 'id="s-gardening"')),
    ("contrast-light", lambda h: h.replace("color:#1f2937", "color:#c0c4cc")),
    # the bug EMAIL.md's dark screenshot found: an inline text colour with no dark override
    (
        "contrast-dark",
        lambda h: h.replace(
            ".site,.site-link,.section-title,.item-title,.lead-title,.lead-link{",
            ".site-link,.item-title,.lead-title,.lead-link{",
        ),
    ),
    ("html-size", lambda h: h.replace("</body>", f"<p>{'x' * 78_000}</p></body>")),
    ("gmail-clip", lambda h: h.replace("</body>", f"<p>{'x' * 110_000}</p></body>")),
]


@pytest.mark.parametrize(
    ("code", "mutate"), HTML_DEFECTS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(HTML_DEFECTS)]
)
def test_html_defects_are_errors(rendered, code: str, mutate) -> None:
    broken = mutate(rendered.html)
    assert broken != rendered.html
    found = check_html(broken)
    assert code in codes(found), [str(p) for p in found]


def test_generic_link_text_and_hidden_content_are_warnings(rendered) -> None:
    html = rendered.html.replace(' aria-label="Read more: Seed swap', ' data-x="Seed swap', 1)
    html = html.replace("</body>", '<div style="display:none">secret words</div></body>')
    found = check_html(html)
    assert {"link-text", "hidden-content"} <= codes(found, "warning")
    assert errors(found) == []


def test_placeholders_are_fine_in_the_template_but_not_when_sent(rendered) -> None:
    assert "placeholder" not in codes(check_html(rendered.html))
    assert "placeholder" in codes(check_html(rendered.html, personalized=True))
    assert "placeholder" not in codes(check_html(personalize(rendered.html, "a@b.org"), 90, True))


def test_preheader_text_strips_spacers() -> None:
    root = lxml_html.document_fromstring(
        '<html><body><div style="display:none">Top news\u034f\u200c \u034f\u200c</div>'
        "<p>x</p></body></html>"
    )
    assert preheader_text(root) == "Top news"


# --- message defects ---------------------------------------------------------------------


def _header_edit(raw: bytes, name: str, value: str | None) -> bytes:
    """Replace (or with None, delete) a header line of a serialized message."""
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = re.split(rb"\r\n(?![ \t])", head)
    lines = [ln for ln in lines if not ln.lower().startswith(name.lower().encode() + b":")]
    if value is not None:
        lines.append(f"{name}: {value}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


MESSAGE_DEFECTS = [
    ("header-date", lambda r: _header_edit(r, "Date", None)),
    ("header-date", lambda r: _header_edit(r, "Date", "yesterday")),
    ("header-message-id", lambda r: _header_edit(r, "Message-ID", None)),
    ("header-message-id", lambda r: _header_edit(r, "Message-ID", "no-brackets")),
    ("header-list-id", lambda r: _header_edit(r, "List-Id", None)),
    ("header-from", lambda r: _header_edit(r, "From", "a@x.org, b@x.org")),
    (
        "list-unsubscribe",
        lambda r: _header_edit(r, "List-Unsubscribe", "<mailto:u@news.example.org>"),
    ),
    (
        "list-unsubscribe-post",
        lambda r: _header_edit(r, "List-Unsubscribe-Post", "List-Unsubscribe=Yes"),
    ),
    ("header-list-unsubscribe-post", lambda r: _header_edit(r, "List-Unsubscribe-Post", None)),
    ("header-unexpected", lambda r: _header_edit(r, "Bcc", "spy@evil.example")),
    (
        "dkim-headers",
        lambda r: _header_edit(
            r,
            "DKIM-Signature",
            "v=1; a=rsa-sha256; c=relaxed/simple; d=news.example.org; s=mail;\r\n"
            " h=from:to:subject:date:message-id:list-id:list-unsubscribe:mime-version:\r\n"
            " content-type; bh=abc=; b=def=",
        ),
    ),
    ("header-subject", lambda r: r.replace(b"Subject:", b"Subject: extra\r\nSubject:", 1)),
    (
        "header-injection",
        lambda r: _header_edit(r, "Subject", "=?UTF-8?Q?Hi=0ABcc:_x@evil.example?="),
    ),
]


@pytest.mark.parametrize(
    ("code", "mutate"),
    MESSAGE_DEFECTS,
    ids=[f"{c}-{i}" for i, (c, _) in enumerate(MESSAGE_DEFECTS)],
)
def test_message_defects_are_errors(raw: bytes, code: str, mutate) -> None:
    found = check_message(mutate(raw))
    assert code in codes(found), [str(p) for p in found]


def test_dkim_covering_list_unsubscribe_post_passes(raw: bytes) -> None:
    signed = _header_edit(
        raw,
        "DKIM-Signature",
        "v=1; a=rsa-sha256; c=relaxed/relaxed; d=news.example.org; s=mail; h=from:to:\r\n"
        " subject:date:message-id:mime-version:content-type:list-id:list-unsubscribe:\r\n"
        " list-unsubscribe-post; bh=abc=; b=def=",
    )
    assert check_message(signed) == []


def test_mime_shape_is_checked(rendered) -> None:
    from email.message import EmailMessage
    from email.policy import SMTP

    good = build_message(rendered)
    html_only = EmailMessage(policy=SMTP)
    for name in (
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    ):
        html_only[name] = good[name]
    html_only.set_content(personalize(rendered.html, "r@example.com"), subtype="html")
    found = codes(check_message(html_only.as_bytes()))
    assert {"mime-structure", "mime-text"} <= found

    reversed_parts = EmailMessage(policy=SMTP)
    for name, value in html_only.items():
        if not name.lower().startswith(("content-", "mime-")):
            reversed_parts[name] = value
    reversed_parts.set_content(personalize(rendered.html, "r@example.com"), subtype="html")
    reversed_parts.add_alternative(personalize(rendered.text, "r@example.com"))
    assert "mime-order" in codes(check_message(reversed_parts.as_bytes()))

    latin = build_message(rendered).as_bytes().replace(b'charset="utf-8"', b'charset="iso-8859-1"')
    assert "charset" in codes(check_message(latin))


def test_text_part_needs_the_unsubscribe_url(rendered) -> None:
    from dataclasses import replace

    text = rendered.text.replace(f"Unsubscribe: {rendered.placeholders.unsubscribe_url}\n", "")
    no_link = replace(rendered, text=text)
    assert "text-unsubscribe" in codes(check_message(build_message(no_link).as_bytes()))
    first_link = sample_digest().entries[0].link
    short = replace(rendered, text=rendered.text.replace(f"Read more: {first_link}\n", ""))
    assert "text-links" in codes(check_message(build_message(short).as_bytes()), "warning")


def test_css_helpers() -> None:
    assert parse_color("#fff") == (255, 255, 255)
    assert parse_color("rgb(17, 24, 39)") == (17, 24, 39)
    assert parse_color("rgba(0,0,0,0)") == "transparent"
    assert parse_color("inherit") is None
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((118, 118, 118), (255, 255, 255)), 2) == 4.54
    rules = parse_stylesheet(
        "/* c */ .a{color:red} @media (prefers-color-scheme: dark){.a,.b{color:#fff !important}}"
    )
    assert [(r.selectors, r.media) for r in rules] == [
        ((".a",), ""),
        ((".a", ".b"), "(prefers-color-scheme: dark)"),
    ]
    assert rules[1].declarations["color"] == ("#fff", True)
    root = lxml_html.fromstring('<div class="x"><p class="y"><a id="z">t</a></p></div>')
    link = root.find(".//a")
    assert matches(link, ".x a") and matches(link, "p > a#z") and matches(link, "div .y a")
    assert not matches(link, ".x > a") and not matches(link, "a:hover")
