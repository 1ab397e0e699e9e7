"""Text stored once-decoded: no "&amp;" or "&nbsp;" shown as text, no literal "\\n", no
markup shown as text.

Feeds escape twice more often than one would think: a title written `Mac &amp;amp; i`
reaches the reader as "Mac &amp; i", a body with `no&amp;nbsp;Match` as "no&nbsp;Match".
Others store "\\n" escapes as the two characters backslash and n, or lose the backslash
and leave "…ecosystems.nnResults…"; a body escaped twice shows its own tags ("<p>…").
These functions take the *plain text* of a title or body (one layer of markup already
gone) and decode what is left: markup, well-formed character references (named with a
semicolon, or numeric) and escaped newlines in prose. A backslash-n that is followed by a
quote or a bracket is code ("printf(\\"%d\\\\n\\", n)") and stays.
"""

from __future__ import annotations

import html
import re

from newsletter.text import html_to_text

# Only complete references: "AT&T" or "Q&A" or "&copy" without a semicolon are text.
_REFERENCE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
# A backslash escape between words: the next thing is a letter (any script) or a digit.
_ESCAPED_BREAK = re.compile(r"(?<=[^\s\\])(?:\\r)?\\n(?:(?:\\r)?\\n)*[ \t]*(?=[^\W_])")
_ESCAPED_TAB = re.compile(r"(?<=\S)\\t(?=\S)")
# "…ecosystems.nnResults…": a newline pair whose backslashes were stripped, between a
# sentence's end and a capital letter.
_LOST_BACKSLASHES = re.compile(r"(?<=[^\W\d_]{2}[.!?:])(?:nn)+(?=[A-Z][a-z])")
_SPACES = re.compile(r"[^\S\n]+")
# Markup left in text after one decoding: the body was HTML escaped twice.
_MARKUP = re.compile(
    r"<!--|</?(?:p|div|span|a|br|img|strong|em|b|i|u|li|ul|ol|table|tr|td|h[1-6]|blockquote)"
    r"\b[^<>]{0,300}>",
    re.IGNORECASE,
)
MARKUP_TAGS = 3  # this many tags, at the start or dense in the text, make it markup


def _markup_as_text(text: str) -> str:
    """The text of HTML that arrived escaped twice ("<p>Hello</p>" shown as text). A text that
    mentions a tag or two (an article about HTML) is left alone."""
    if "<" not in text:
        return text
    tags = _MARKUP.findall(text)
    if len(tags) < MARKUP_TAGS:
        return text
    starts_with_tag = _MARKUP.match(text.lstrip()) is not None
    dense = sum(len(t) for t in tags) > 0.1 * len(text)
    return html_to_text(text) if starts_with_tag or dense else text


def decode_references(text: str) -> str:
    """Decode character references left in plain text (twice-escaped feeds: up to twice)."""
    for _ in range(2):
        if "&" not in text:
            break
        decoded = _REFERENCE.sub(lambda m: html.unescape(m.group(0)), text)
        if decoded == text:
            break
        text = decoded
    return text


# C0 controls but tab, newline and carriage return, DEL, and C1 controls: no feed's words
# need them, and a terminal showing digest.txt or a mail's text part would obey them
# (ESC sequences set the window title, clear the screen).
_CONTROLS = dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)], " ")


def without_controls(text: str) -> str:
    """`text` with each control character made a space (tab and line breaks kept)."""
    return text.translate(_CONTROLS)


def decode_title(title: str) -> str:
    """A one-line title with references decoded and escaped newlines made spaces."""
    text = without_controls(decode_references(title or ""))
    text = _ESCAPED_BREAK.sub(" ", text)
    text = _LOST_BACKSLASHES.sub(" ", text)
    return " ".join(text.split())


def decode_text(text: str) -> str:
    """Plain article text with references decoded and escaped newlines made paragraph breaks
    (blank lines, as `newsletter.text.html_to_text` writes them)."""
    if not text:
        return ""
    fixed = _markup_as_text(text)
    fixed = without_controls(decode_references(fixed))
    if "\\" in fixed:
        fixed = _ESCAPED_BREAK.sub("\n\n", fixed)
        fixed = _ESCAPED_TAB.sub(" ", fixed)
    if "nn" in fixed:
        fixed = _LOST_BACKSLASHES.sub("\n\n", fixed)
    if fixed == text:
        return text
    # a decoded &nbsp; is a space inside a paragraph; new breaks keep single blank lines
    paragraphs = (_SPACES.sub(" ", p).strip() for p in re.split(r"\n\s*\n", fixed))
    return "\n\n".join(p for p in paragraphs if p)
