"""Offline text utilities: HTML to plain text, sentences, words, boilerplate removal.

Nothing here downloads data: sentence and word splitting are rule-based.
"""

from __future__ import annotations

import re

import lxml.html

_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "pre", "table", "tr", "section", "article", "figure", "figcaption", "header", "footer",
    "dl", "dt", "dd", "hr",
}


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment; block elements become paragraphs (blank lines)."""
    if not html or not html.strip():
        return ""
    if "<" not in html:
        return _tidy(html)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # lxml raises several types on hostile input; fall back to regex
        return _tidy(re.sub(r"<[^>]+>", " ", html))
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    parts: list[str] = []
    _walk(root, parts)
    return _tidy("".join(parts))


def _walk(el: lxml.html.HtmlElement, parts: list[str]) -> None:
    """Append the element's text in document order, with breaks around block elements."""
    tag = el.tag if isinstance(el.tag, str) else ""
    block = tag in _BLOCK_TAGS
    if block:
        parts.append("\n\n")
    if el.text and tag:
        parts.append(el.text)
    for child in el:
        _walk(child, parts)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append("\n\n")


def _tidy(text: str) -> str:
    """Collapse spaces inside paragraphs and keep single blank lines between them."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r", "\n"))
    cleaned = [re.sub(r"\s+", " ", p).strip() for p in paragraphs]
    return "\n\n".join(p for p in cleaned if p)
