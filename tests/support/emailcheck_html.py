"""The HTML half of the email lint: one rendered digest, as a client would parse it.

Checks Gmail's clipping size, the hidden preheader, accessibility (lang, alt, role, link
text), what email clients cannot render (scripts, forms, <link>, flex/grid, CSS variables,
background and data: images), links (absolute http(s), mailto, anchors that exist), the
visible unsubscribe link, and the WCAG contrast of every text colour in light and dark
mode. `newsletter.emailcheck` adds the message level and is the public entry point.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html

from support.emailcss import contrast_issues, hex_color, parse_declarations, strip_comments

GMAIL_CLIP_BYTES = 102 * 1024
PREHEADER_RANGE = (40, 140)
MIN_CONTRAST = 4.5
PLACEHOLDER = re.compile(r"%%[A-Z0-9_]+%%")

_FORBIDDEN_TAGS = {
    "script": "scripts never run in mail and mark the message as suspicious",
    "form": "forms are blocked or broken in most clients",
    "input": "form controls are blocked or broken in most clients",
    "button": "form controls are blocked or broken in most clients",
    "select": "form controls are blocked or broken in most clients",
    "textarea": "form controls are blocked or broken in most clients",
    "iframe": "frames are stripped by every major client",
    "frame": "frames are stripped by every major client",
    "object": "plugins are stripped by every major client",
    "embed": "plugins are stripped by every major client",
    "link": "external stylesheets and web fonts are dropped by Gmail; inline the CSS",
    "base": "<base> changes every relative link; links must be absolute instead",
}
_BAD_CSS = [
    (
        re.compile(r"display\s*:\s*(?:inline-)?(?:flex|grid)\b", re.I),
        "css-layout",
        "flex/grid layout breaks in Outlook for Windows; use tables",
    ),
    (
        re.compile(r"(?:^|[;{\s])(?:grid-template|grid-area|flex-direction|flex-wrap)\s*:", re.I),
        "css-layout",
        "flex/grid properties break in Outlook for Windows; use tables",
    ),
    (
        re.compile(r"var\(\s*--|(?:^|[;{\s])--[\w-]+\s*:", re.I),
        "css-variables",
        "CSS variables are unsupported in Gmail and Outlook",
    ),
    (
        re.compile(r"@import|@font-face", re.I),
        "web-font",
        "@import/@font-face are dropped by most clients; use a system font stack",
    ),
    (
        re.compile(r"position\s*:\s*(?:absolute|fixed)", re.I),
        "css-position",
        "absolute/fixed positioning is stripped by Gmail and Outlook",
    ),
    (
        re.compile(r"url\s*\(", re.I),
        "css-url",
        "images referenced from CSS (background-image) do not show in Outlook; use <img>",
    ),
    (re.compile(r"expression\s*\(|javascript:", re.I), "css-script", "script in CSS"),
]
_GENERIC_LINK_TEXT = {"read more", "more", "here", "click here", "link", "this", "continue"}


@dataclass(frozen=True)
class Problem:
    """One finding: level 'error' or 'warning', a stable code, and what to do."""

    level: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper()} {self.code}: {self.message}"


def errors(problems: list[Problem]) -> list[Problem]:
    """Only the errors."""
    return [p for p in problems if p.level == "error"]


def check_html(html: str, budget_kb: int = 90, personalized: bool = False) -> list[Problem]:
    """Lint the HTML of a digest. With personalized=True, a leftover %%PLACEHOLDER%% is an
    error (a sent message); otherwise placeholders are accepted as link targets."""
    out: list[Problem] = []
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        out.append(
            _e(
                "gmail-clip",
                f"HTML is {size} bytes; Gmail clips messages over about "
                f"{GMAIL_CLIP_BYTES} bytes and hides the footer and unsubscribe link",
            )
        )
    elif size > budget_kb * 1024:
        out.append(
            _e(
                "html-size",
                f"HTML is {size} bytes, over the {budget_kb} KB budget "
                "(digest.html_budget_kb); trim stories",
            )
        )
    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError) as e:
        return [*out, _e("html-parse", f"HTML does not parse: {e}")]
    out += _document(html, root)
    out += _preheader(root)
    out += _elements(root)
    out += _styles(root)
    out += _images(root)
    out += _links(root, personalized)
    out += _tables(root)
    out += _contrast(root)
    if personalized:
        leftover = sorted(set(PLACEHOLDER.findall(html)))
        if leftover:
            out.append(_e("placeholder", f"unreplaced placeholders {leftover} in a sent message"))
    return out


def _e(code: str, message: str) -> Problem:
    return Problem("error", code, message)


def _w(code: str, message: str) -> Problem:
    return Problem("warning", code, message)


def _document(html: str, root: lxml_html.HtmlElement) -> list[Problem]:
    out = []
    if not html.lstrip()[:15].lower().startswith("<!doctype html"):
        out.append(_w("doctype", "no <!DOCTYPE html>: clients fall back to quirks mode"))
    if not (root.get("lang") or "").strip():
        out.append(_e("lang", '<html> has no lang attribute; screen readers need it (lang="en")'))
    metas = {(m.get("name") or "").lower(): m.get("content") or "" for m in root.iter("meta")}
    if not any(
        m.get("charset") or "charset" in (m.get("content") or "").lower() for m in root.iter("meta")
    ):
        out.append(_w("charset", 'no <meta charset="utf-8">'))
    if "viewport" not in metas:
        out.append(_w("viewport", "no viewport meta: mobile clients will zoom out"))
    if "dark" not in metas.get("color-scheme", ""):
        out.append(
            _w(
                "color-scheme",
                '<meta name="color-scheme" content="light dark"> is '
                "missing; Apple Mail will force its own dark rendering",
            )
        )
    if "supported-color-schemes" not in metas:
        out.append(_w("color-scheme", '<meta name="supported-color-schemes"> is missing'))
    if root.find(".//title") is None or not (root.findtext(".//title") or "").strip():
        out.append(_w("title", "no <title>: shown by web archives and some clients"))
    ids = Counter(el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id"))
    for dup, n in ids.items():
        if n > 1:
            out.append(_e("duplicate-id", f'id="{dup}" is used {n} times'))
    return out


def _hidden(el: lxml_html.HtmlElement) -> bool:
    display = parse_declarations(el.get("style") or "").get("display", ("", False))[0]
    return display.lower() == "none"


def find_preheader(root: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    """The hidden preview text: the first element of <body> when it is hidden, or an
    element whose class names it."""
    body = root.find("body")
    if body is None:
        return None
    first = next((c for c in body if isinstance(c.tag, str)), None)
    if first is not None and _hidden(first):
        return first
    for el in body.iter():
        if isinstance(el.tag, str) and "preheader" in (el.get("class") or "").lower():
            return el
    return None


def preheader_text(root: lxml_html.HtmlElement) -> str:
    """The preheader's text without the invisible spacer characters."""
    el = find_preheader(root)
    if el is None:
        return ""
    text = re.sub("[\u034f\u200b\u200c\u200d\u2007\u00ad\ufeff]", "", el.text_content())
    return re.sub(r"\s+", " ", text).strip()


def _preheader(root: lxml_html.HtmlElement) -> list[Problem]:
    el = find_preheader(root)
    if el is None:
        return [
            _e(
                "preheader-missing",
                "no hidden preheader as the first element of <body>; "
                "clients will show the first visible text as the preview",
            )
        ]
    out = []
    text = preheader_text(root)
    low, high = PREHEADER_RANGE
    if not low <= len(text) <= high:
        out.append(
            _e(
                "preheader-length",
                f"preheader is {len(text)} characters; keep it between {low} and {high}",
            )
        )
    if not _hidden(el):
        out.append(_w("preheader-visible", "the preheader is not hidden with display:none"))
    others = [
        e
        for e in root.iter()
        if isinstance(e.tag, str) and e is not el and _hidden(e) and e.text_content().strip()
    ]
    if others:
        out.append(
            _w(
                "hidden-content",
                f"{len(others)} hidden element(s) with text besides the "
                "preheader; Gmail's guidelines ask not to hide content",
            )
        )
    return out


def _elements(root: lxml_html.HtmlElement) -> list[Problem]:
    out = []
    seen: set[str] = set()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in _FORBIDDEN_TAGS and tag not in seen:
            seen.add(tag)
            out.append(_e(f"no-{tag}", f"<{tag}> found: {_FORBIDDEN_TAGS[tag]}"))
        if tag == "meta" and (el.get("http-equiv") or "").lower() == "refresh":
            out.append(_e("meta-refresh", "<meta http-equiv=refresh> redirects the reader"))
        handlers = [a for a in el.attrib if a.lower().startswith("on")]
        if handlers and "on-attr" not in seen:
            seen.add("on-attr")
            out.append(_e("event-handler", f"<{tag}> has {handlers[0]}=: no scripts in mail"))
    if root.find(".//svg") is not None:
        out.append(_w("svg", "inline <svg> does not show in Gmail or Outlook"))
    return out


def _styles(root: lxml_html.HtmlElement) -> list[Problem]:
    out = []
    styles = list(root.iter("style"))
    if len(styles) > 1:
        out.append(_w("style-count", f"{len(styles)} <style> elements; keep one in <head>"))
    for style in styles:
        css = style.text or ""
        if style.getparent() is not None and style.getparent().tag != "head":
            out.append(_w("style-in-body", "<style> outside <head> is dropped by Gmail"))
        if "/*" in css:
            out.append(_w("css-comment", "comments in <style>: some clients drop the next rule"))
        if len(css.encode()) > 16 * 1024:
            out.append(_w("style-size", "<style> over 16 KB; Gmail may drop it"))
    if styles and not any("prefers-color-scheme" in (s.text or "") for s in styles):
        out.append(_w("dark-mode", "no @media (prefers-color-scheme: dark) block"))
    inline = " ; ".join(el.get("style") or "" for el in root.iter() if isinstance(el.tag, str))
    sheet = strip_comments(" ".join(s.text or "" for s in styles))
    reported: set[str] = set()
    for pattern, code, why in _BAD_CSS:
        for where, css in (("an inline style", inline), ("the <style> block", sheet)):
            if code not in reported and pattern.search(css):
                reported.add(code)
                out.append(_e(code, f"{why} (in {where})"))
    return out


def _images(root: lxml_html.HtmlElement) -> list[Problem]:
    out = []
    for img in root.iter("img"):
        src = (img.get("src") or "").strip()
        label = src[:60] or "(no src)"
        if src.lower().startswith("data:"):
            out.append(_e("data-uri", "an <img> embeds a data: URI; Gmail does not show those"))
        elif not src.lower().startswith("https://"):
            out.append(_e("image-https", f"image {label} is not an https URL"))
        if img.get("alt") is None:
            out.append(
                _e("image-alt", f'image {label} has no alt attribute (alt="" if decorative)')
            )
        if not (img.get("width") and img.get("height")):
            out.append(
                _e(
                    "image-size",
                    f"image {label} needs width and height attributes (Outlook ignores CSS sizes)",
                )
            )
    for el in root.iter():
        if isinstance(el.tag, str) and (el.get("background") or "").strip():
            out.append(
                _e("css-url", f"<{el.tag} background=…>: background images do not show in Outlook")
            )
            break
    return out


def accessible_name(a: lxml_html.HtmlElement) -> str:
    if (a.get("aria-label") or "").strip():
        return a.get("aria-label").strip()
    alts = " ".join(img.get("alt") or "" for img in a.iter("img"))
    return re.sub(r"\s+", " ", f"{a.text_content()} {alts}").strip()


def _links(root: lxml_html.HtmlElement, personalized: bool) -> list[Problem]:
    out = []
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    unsubscribe = False
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        name = accessible_name(a)
        if "unsubscribe" in name.lower() and href:
            unsubscribe = True
        if not href:
            out.append(_w("link-href", f"link {name[:40]!r} has no href"))
            continue
        scheme = urlsplit(href).scheme.lower() if "://" in href or ":" in href[:12] else ""
        if PLACEHOLDER.fullmatch(href):
            if personalized:
                out.append(_e("placeholder", f"link target {href} was never filled in"))
        elif href.startswith("#"):
            if href[1:] not in ids:
                out.append(_e("link-anchor", f"link to {href} but no element has that id"))
        elif scheme in ("http", "https"):
            if not urlsplit(href).netloc:
                out.append(_e("link-scheme", f"link {href[:60]} has no host"))
        elif scheme == "mailto":
            pass
        elif scheme == "tel":
            out.append(_w("link-scheme", f"tel: link {href[:40]}: only useful on phones"))
        else:
            out.append(
                _e("link-scheme", f"link {href[:60]!r} is not an absolute http(s) or mailto URL")
            )
        if not name:
            out.append(_e("link-text", f"link to {href[:60]} has no text or accessible name"))
        elif name.lower().strip(" .:…›»→") in _GENERIC_LINK_TEXT:
            out.append(
                _w(
                    "link-text",
                    f"link text {name!r} says nothing about {href[:60]}; "
                    'add the story title (e.g. aria-label="Read more: …")',
                )
            )
    if not unsubscribe:
        out.append(
            _e(
                "unsubscribe-link",
                "no visible unsubscribe link in the HTML body; bulk senders must have one",
            )
        )
    return out


def _tables(root: lxml_html.HtmlElement) -> list[Problem]:
    out = []
    tables = list(root.iter("table"))
    missing = [
        t
        for t in tables
        if (t.get("role") or "").lower() != "presentation" and t.find(".//th") is None
    ]
    if missing:
        out.append(
            _e(
                "table-role",
                f"{len(missing)} layout table(s) without "
                'role="presentation"; screen readers will read out rows and cells',
            )
        )
    widths = [int(t.get("width")) for t in tables if (t.get("width") or "").isdigit()]
    if tables and not any(320 <= w <= 640 for w in widths):
        out.append(
            _w(
                "container-width",
                "no table with a width attribute of 320-640 px; "
                "Outlook needs a fixed-width container",
            )
        )
    return out


def _contrast(root: lxml_html.HtmlElement) -> list[Problem]:
    issues, _lowest = contrast_issues(root, MIN_CONTRAST)
    return [
        _e(
            f"contrast-{i.scheme}",
            f"{i.scheme} mode: text {hex_color(i.fg)} on {hex_color(i.bg)} has contrast "
            f"{i.ratio:.2f} (< {MIN_CONTRAST}) in {i.count} element(s), e.g. {i.sample!r}"
            + ("; give that colour a dark-mode override" if i.scheme == "dark" else ""),
        )
        for i in issues
    ]
