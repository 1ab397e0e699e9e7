"""Where each entry of an RSS/Atom/RDF document lies in its bytes.

A changed feed usually differs from its last version by a few entries. Cutting the
document into its entries with expat (C, ~0.3 ms for a feed of thirty) lets ingest hash
each entry's own bytes and hand feedparser (~8 ms for the same feed) only the entries it
has not stored yet: the feed-level elements, the gaps between entries and the new entries,
still one well-formed document.
"""

from __future__ import annotations

import hashlib
import xml.parsers.expat
from collections.abc import Sequence

_ENTRY_NAMES = frozenset({"item", "entry"})
_CHANNEL = "channel"
_TAG_END = (b">", b" ", b"\t", b"\r", b"\n")


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def entry_spans(data: bytes) -> list[tuple[int, int]] | None:
    """(start, end) byte offsets of each entry element, in document order: `<item>` or
    `<entry>` (unprefixed: `<x:item>` is some extension's) under the root (Atom, RSS 1.0)
    or under the root's `<channel>` (RSS 2.0).
    None when the document is not well-formed XML that expat reads (the caller then
    parses it whole, as feedparser's lenient parser must), or when an entry's bytes cannot
    be told exactly."""
    parser = xml.parsers.expat.ParserCreate()
    spans: list[tuple[int, int]] = []
    path: list[str] = []
    opened: list[int] = []  # the start of the entry being read, if any
    exact = [True]

    def start(name: str, attributes: dict[str, str]) -> None:
        local = _local(name)
        if (opened or name in _ENTRY_NAMES) and (
            "xml:base" in attributes or "xml:lang" in attributes
        ):
            # feedparser lets an entry's base or language reach into the entries after
            # it: read such a document whole, so each item comes out as it always has
            exact[0] = False
        if not opened and name in _ENTRY_NAMES:
            depth = len(path)
            if depth == 1 or (depth == 2 and path[1] == _CHANNEL):
                opened.append(parser.CurrentByteIndex)
                path.append(local)
                opened.append(len(path))
                return
        path.append(local)

    def end(name: str) -> None:
        if opened and opened[1] == len(path):
            begin, at = opened[0], parser.CurrentByteIndex
            tag = b"</" + name.encode("utf-8")
            if data.startswith(tag, at) and data[at + len(tag) : at + len(tag) + 1] in _TAG_END:
                spans.append((begin, data.index(b">", at) + 1))
            elif data[at - 2 : at] == b"/>":  # <item/>: expat is already past it
                spans.append((begin, at))
            else:  # offsets not in this encoding's bytes as we read them: cut nothing
                exact[0] = False
            opened.clear()
        path.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except (xml.parsers.expat.ExpatError, ValueError, LookupError):
        return None
    return spans if exact[0] else None


def without(data: bytes, spans: Sequence[tuple[int, int]], keep: Sequence[bool]) -> bytes:
    """The document with the entries not kept cut out (everything between them stays)."""
    parts: list[bytes] = []
    at = 0
    for (begin, end), kept in zip(spans, keep, strict=True):
        if not kept:
            parts.append(data[at:begin])
            at = end
    parts.append(data[at:])
    return b"".join(parts)


def span_hashes(data: bytes, spans: Sequence[tuple[int, int]]) -> list[str]:
    """A hash of each entry's own bytes."""
    return [hashlib.blake2b(data[b:e], digest_size=16).hexdigest() for b, e in spans]
