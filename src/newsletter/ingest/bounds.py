"""Bound what one feed's fields cost to parse, before feedparser reads them.

feedparser looks for an e-mail address in the text of every author-like element
(<author>, <dc:creator>, <itunes:author>, <managingEditor>, <webMaster>, <dc:publisher>)
with an unanchored regular expression whose time grows with the square of the longest run
of letters, digits and `._+-` in it: one 25,000-character <author> costs 2 s, 100,000
characters half a minute. `cap_author_text` rewrites only such elements, and only when
their content is longer than the field limit or holds a run longer than MAX_RUN (no name
or address has one): their text is kept up to the limit, long runs are cut, and markup
inside them (CDATA, comments, child tags) is reduced to that text. Every other byte of the
feed is passed on untouched, so ordinary feeds parse exactly as before.
"""

from __future__ import annotations

import html
import re
from xml.sax.saxutils import escape

MAX_RUN = 64  # the longest local part of an e-mail address

_AUTHOR_TAG = re.compile(
    rb"<(/?)((?:[A-Za-z_][\w.-]*:)?(?:author|creator|managingEditor|webMaster|publisher))"
    rb"(?=[\s/>])[^<>]*>",
    re.I,
)
_RUN = rf"[A-Za-z0-9_.+\-]{{{MAX_RUN + 1},}}"  # a run longer than MAX_RUN
_LONG_RUN_BYTES = re.compile(_RUN.encode())
_LONG_RUN = re.compile(_RUN)
_PIECE = re.compile(
    r"<!\[CDATA\[(?P<cdata>.*?)(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|<[^<>]*>|(?P<text>[^<]+|<)",
    re.S,
)


def cap_author_text(data: bytes, limit: int) -> bytes:
    """The feed with the text of each author-like element bounded (see the module doc)."""
    out: list[bytes] = []
    copied = 0  # data[:copied] is in `out`
    depth = 0
    start = 0  # where the outermost open author-like element's content begins
    for tag in _AUTHOR_TAG.finditer(data):
        closing = tag.group(1) == b"/"
        if not closing:
            if tag.group(0).endswith(b"/>"):
                continue
            if depth == 0:
                start = tag.end()
            depth += 1
            continue
        if depth == 0:
            continue  # a stray end tag: the parser reports it
        depth -= 1
        if depth:
            continue
        content = data[start : tag.start()]
        if len(content) > limit or _LONG_RUN_BYTES.search(content):
            out += [data[copied:start], _flatten(content, limit)]
            copied = tag.start()
    # an author-like element left open at the end makes the document malformed; feedparser
    # then never finishes that element, so its text reaches no e-mail search
    out.append(data[copied:])
    return b"".join(out)


def _flatten(content: bytes, limit: int) -> bytes:
    """The text of an element's content, at most `limit` characters, escaped for XML.

    Bytes that are not UTF-8 survive the round trip unchanged (surrogateescape), so a
    feed in another ASCII-based encoding keeps its encoding.
    """
    text = content.decode("utf-8", "surrogateescape")
    parts = []
    for piece in _PIECE.finditer(text):
        if piece.group("cdata") is not None:
            parts.append(piece.group("cdata"))
        elif piece.group("text") is not None:
            parts.append(html.unescape(piece.group("text")))
    # " ..." rather than an ellipsis character: the feed may not be in UTF-8; the space
    # ends the run (dots are part of one)
    text = _LONG_RUN.sub(lambda m: m.group()[:MAX_RUN] + " ...", "".join(parts)[: limit * 2])
    plain = text[:limit]
    return escape(plain).encode("utf-8", "surrogateescape")
