"""Bound what one feed costs to parse, before feedparser reads it: the text of author-like
elements (`cap_author_text`) and the number of elements, entries, attributes and
namespaces (`cap_elements`, see MAX_REPEATS and the limits beside it). Both read bytes, so
a feed in an encoding that does not write markup in ASCII is first re-encoded in UTF-8
(`markup_in_ascii`).

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

import codecs
import html
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from feedparser.encodings import convert_to_utf8
from feedparser.mixin import _FeedParserMixin

MAX_RUN = 64  # the longest local part of an e-mail address
# Encodings that write markup in other bytes than ASCII does (the caps here read bytes):
# besides those where "<?xml" is not ASCII (UTF-16, UTF-32, EBCDIC), the 7-bit ones whose
# multi-byte characters may hold the bytes of "<" and ">".
_SHIFTING = ("iso2022", "utf-7", "hz")

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


def markup_in_ascii(data: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
    """The feed re-encoded in UTF-8 (and its headers saying so) when feedparser would read
    it in an encoding that writes markup in other bytes than ASCII: UTF-16 or UTF-32
    without a byte order mark, EBCDIC, ISO-2022. Otherwise both come back as they are.

    feedparser's own detection picks the encoding, so the caps below count exactly the
    markup it will parse (an UTF-16 feed's tags are invisible to a byte search for "<").
    """
    chosen: dict[str, Any] = {}
    converted = convert_to_utf8(dict(headers), data, chosen)
    encoding = str(chosen.get("encoding") or "")
    if not encoding or _ascii_markup(encoding):
        return data, dict(headers)
    media_type = headers.get("content-type", "").split(";", 1)[0].strip() or "application/xml"
    return converted, {**headers, "content-type": f"{media_type}; charset=utf-8"}


def _ascii_markup(encoding: str) -> bool:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return True  # feedparser cannot decode with it either
    if name.startswith(_SHIFTING):
        return False
    try:
        return "<?xml".encode(name) == b"<?xml"
    except UnicodeError:
        return False


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
    # " ..." rather than an ellipsis character: the feed may not be in UTF-8; the space
    # ends the run (dots are part of one)
    text = _LONG_RUN.sub(lambda m: m.group()[:MAX_RUN] + " ...", _text_of(content)[: limit * 2])
    return escape(text[:limit]).encode("utf-8", "surrogateescape")


def _text_of(content: bytes) -> str:
    """The text of an element's content: CDATA and text unescaped, markup left out."""
    text = content.decode("utf-8", "surrogateescape")
    parts = []
    for piece in _PIECE.finditer(text):
        if piece.group("cdata") is not None:
            parts.append(piece.group("cdata"))
        elif piece.group("text") is not None:
            parts.append(html.unescape(piece.group("text")))
    return "".join(parts)


# -- element counts ------------------------------------------------------------------------
# feedparser's work grows with the number of elements, and for some faster than that: it
# checks every tag against all earlier tags of its entry (one <item> with 40,000
# <category>s took 22 s), looks a prefix up among all namespaces declared so far and an
# attribute among all attributes of its element, and it spends ~30 µs on any element (10 MB
# of "<a/>" are 2.5 million of them). `cap_elements` drops what is past these limits before
# feedparser reads the bytes. No real feed comes near them: the most in a corpus of 210
# real-world feeds were 15 categories in an item, 223 elements in an entry, 25,000 pieces
# of markup in a feed, 6 attributes on an element, 10 namespace prefixes, nesting 9 deep
# (only Blogger lists more than 50 categories, all its labels, on the feed itself).
MAX_REPEATS = 50  # elements of one name in an entry (or in the feed, outside entries)
MAX_TAGS = 10_000  # categories, subjects and keywords in the whole feed
MAX_ENTRY_ELEMENTS = 2_000  # elements in one entry, the markup of inline XHTML included
MAX_MARKUP = 100_000  # tags, comments, CDATA sections...: the rest of the feed is cut
MAX_ATTRIBUTES = 50  # attributes of one element: later ones are dropped
MAX_NAMESPACES = 50  # distinct namespace prefixes: later declarations are dropped
MAX_DEPTH = 100  # elements nested deeper are dropped

_ENTRY = frozenset({b"item", b"entry"})
# The default namespaces in which feedparser reads <item> and <entry> as entries (RSS,
# Atom and their ancestors): only there does an entry start count as a new entry here.
_ENTRY_NAMESPACES = frozenset(
    uri.lower().encode() for uri, prefix in _FeedParserMixin.namespaces.items() if not prefix
)
_DEFAULT_NAMESPACE = re.compile(rb"""(?:^|\s)xmlns\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TAG_LIKE = frozenset({b"category", b"subject", b"keywords", b"tags"})
# Elements feedparser files into a list of the entry (or the feed) wherever they are in it:
# counted at any depth. Other names are counted as children of an entry or of the feed's
# top two levels only (deeper, they are the markup of inline content: <p>, <span>...).
_LISTED = _TAG_LIKE | frozenset(
    b"""link enclosure content thumbnail player credit rating restriction license author
    contributor creator chapter source point line polygon box pos poslist""".split()
)
# elements whose text feedparser splits at commas into tags (media:, itunes:keywords, tags)
_COMMA_LISTS = frozenset({b"keywords", b"tags"})

# One piece of markup, read the way that finds the most elements in either of feedparser's
# parsers (expat; sgmllib for malformed feeds): a comment, CDATA section, processing
# instruction or declaration ends where the first of them ends it and never runs past a
# "<"; a quoted attribute value holds no "<"; "<tag/x/" (an SGML short tag) is a start tag.
_TOKEN = re.compile(
    rb"<!--.*?(?:--\s*>|\Z)"
    rb"|<!\[CDATA\[.*?(?:\]\s*\]\s*>|\Z)"
    rb"|<[?!][^<>]*>?"
    rb"|</(?P<end>[^\s<>]*)[^<>]*>?"
    rb"|<(?P<start>[A-Za-z_:\x80-\xff][^\s/<>]*)"
    rb"(?P<attrs>(?:[^\"'<>]++|\"[^\"<]*+\"|'[^'<]*+')*+)(?P<close>>)?"
    rb"|<>",  # sgmllib: the last start tag again
    re.S | re.I,
)
_SGML_NAME = re.compile(rb"[A-Za-z][-_.:A-Za-z0-9]*")  # sgmllib's tag names
_ATTRIBUTE = re.compile(rb"""\s*([^\s=/<>"']+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']*))?""")


class _Open:
    """An element whose end tag has not been seen."""

    __slots__ = ("name", "key", "local", "start", "content", "namespace")

    def __init__(
        self, name: bytes, start: int, content: int, attrs: bytes, parent: _Open | None
    ) -> None:
        self.name = name  # as written
        self.key = _key(name)  # lower case, as sgmllib reads it (see _key)
        self.local = self.key.rsplit(b":", 1)[-1]  # without a prefix
        self.start = start  # where its start tag begins
        self.content = content  # where its content begins
        self.namespace: bytes = parent.namespace if parent else b""  # the default in scope
        if b"xmlns" in attrs:
            declared = _DEFAULT_NAMESPACE.search(attrs)
            if declared:
                self.namespace = (declared.group(1) or declared.group(2) or b"").lower()

    def starts_entry(self) -> bool:
        """Whether feedparser surely starts a new entry here (unprefixed, in no namespace
        or an RSS or Atom one); other item/entry elements count in the entry they are in."""
        known = self.namespace in _ENTRY_NAMESPACES or b"userland.com/rss" in self.namespace
        return self.local in _ENTRY and b":" not in self.key and known


def _key(name: bytes) -> bytes:
    """The lower-case name either parser may dispatch on: sgmllib stops a name at the first
    character outside ASCII letters, digits and `-_.:` ("<categoryé>" is a category)."""
    m = _SGML_NAME.match(name)
    return (m.group() if m else name).lower()


class _Counts:
    """What was kept so far, against the limits."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.entries = 0
        self.tags = 0
        self.in_entry = False  # as feedparser's: any entry start tag sets it, any end clears it
        self.entry_elements = 0
        self.entry: dict[bytes, int] = {}  # elements per name, in the current entry
        self.feed: dict[bytes, int] = {}  # and outside entries
        self.prefixes: set[bytes] = set()

    def admit(self, element: _Open, stack: list[_Open]) -> bool:
        """Whether an element may be kept; it is counted if so."""
        depth = len(stack)
        local = element.local
        if depth >= MAX_DEPTH:
            return False
        if local in _ENTRY:
            if self.entries >= self.max_entries:
                return False
            self.entries += 1  # any item or entry, to be sure
            if element.starts_entry():
                self.in_entry, self.entry, self.entry_elements = True, {}, 0
                return True
        if self.in_entry and self.entry_elements >= MAX_ENTRY_ELEMENTS:
            return False
        if local in _LISTED or depth <= 2 or stack[-1].local in _ENTRY:
            name = b"category" if local in _TAG_LIKE else local
            seen = self.entry if self.in_entry else self.feed
            count = seen.get(name, 0)
            if count >= MAX_REPEATS or (name == b"category" and self.tags >= MAX_TAGS):
                return False
            seen[name] = count + 1
            self.tags += name == b"category"
        self.entry_elements += 1
        return True

    def spare_tags(self) -> int:
        """How many more tags the current entry (or the feed) may have."""
        seen = self.entry if self.in_entry else self.feed
        return max(0, min(MAX_REPEATS - seen.get(b"category", 0), MAX_TAGS - self.tags))

    def take_tags(self, count: int) -> None:
        seen = self.entry if self.in_entry else self.feed
        seen[b"category"] = seen.get(b"category", 0) + count
        self.tags += count


def cap_elements(data: bytes, limit: int, max_entries: int) -> bytes:
    """The feed without the elements past the limits above (dropped whole, with their
    content), with at most `max_entries` entries, MAX_MARKUP pieces of markup (the rest is
    cut and the open elements closed), MAX_ATTRIBUTES attributes on an element, and
    comma-separated keywords and tags cut to MAX_REPEATS terms and `limit` characters.

    A feed within the limits comes back byte for byte.
    """
    counts = _Counts(max_entries)
    edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement) in order
    stack: list[_Open] = []
    dropping = 0  # 1 + the stack index of the element a dropped region starts at; 0: none
    deeper = 0  # elements open inside a dropped region, deeper than the stack goes
    cut = len(data)  # where the feed is cut when it holds too much markup
    for n, token in enumerate(_TOKEN.finditer(data)):
        start, end = token.span()
        if n >= MAX_MARKUP:
            cut = start
            break
        name = token.group("start")
        if name is not None:
            attrs = token.group("attrs")
            closed = token.group("close") is not None and attrs.endswith(b"/")
            if dropping:
                if closed:
                    pass
                elif len(stack) > MAX_DEPTH:
                    deeper += 1
                else:
                    stack.append(_Open(name, start, end, attrs, stack[-1]))
                continue
            element = _Open(name, start, end, attrs, stack[-1] if stack else None)
            if not counts.admit(element, stack):
                if closed:
                    edits.append((start, end, b""))
                else:
                    stack.append(element)
                    dropping = len(stack)
                continue
            if b"=" in attrs:
                tag = _bounded_attributes(name, attrs, token.group("close") or b"", counts)
                if tag is not None:
                    edits.append((start, end, tag))
            if not closed:
                stack.append(element)
            elif element.local in _ENTRY:
                counts.in_entry = False  # "<item/>": feedparser ends an entry at once
            continue
        end_name = token.group("end")
        if end_name is None:
            if not dropping and token.group() == b"<>":
                edits.append((start, start + 1, b"&lt;"))  # never XML; text, not a tag
            continue
        if deeper:
            deeper -= 1
            continue
        key = _key(end_name)
        at = _open_index(stack, key)
        kept = not dropping
        if at is not None:
            closing = stack[at:]
            if dropping and at < dropping:
                # the dropped region ends: with the end tag of its element, or before an
                # ancestor's that closes it too
                kept = at < dropping - 1
                _replace(edits, stack[dropping - 1].start, start if kept else end, b"")
                closing = stack[at : dropping - 1]
                dropping = 0
            for element in reversed(closing) if kept else ():
                if element.local in _COMMA_LISTS:
                    _cut_comma_list(edits, data, element.content, start, limit, counts)
            del stack[at:]
        if kept and key.rsplit(b":", 1)[-1] in _ENTRY:
            counts.in_entry = False
    if dropping:
        cut = min(cut, stack[dropping - 1].start)
        del stack[dropping - 1 :]
    if cut == len(data) and not edits:
        return data
    for element in reversed(stack):  # still open where the feed ends or is cut
        if element.local in _COMMA_LISTS:
            _cut_comma_list(edits, data, element.content, cut, limit, counts)
    _replace(edits, cut, len(data), b"".join(b"</%s>" % e.name for e in reversed(stack)))
    out = []
    copied = 0
    for start, end, replacement in edits:
        out += [data[copied:start], replacement]
        copied = end
    out.append(data[copied:])
    return b"".join(out)


def _open_index(stack: list[_Open], key: bytes) -> int | None:
    """The open element an end tag closes (the innermost of its name), or None."""
    if not key:
        return len(stack) - 1 if stack else None  # sgmllib: "</>" ends the last one
    for i in range(len(stack) - 1, -1, -1):
        if stack[i].key == key:
            return i
    return None


def _replace(edits: list[tuple[int, int, bytes]], start: int, end: int, new: bytes) -> None:
    """Replace data[start:end] (and the edits recorded inside it) with `new`."""
    while edits and edits[-1][0] >= start:
        edits.pop()
    edits.append((start, end, new))


def _bounded_attributes(name: bytes, attrs: bytes, close: bytes, counts: _Counts) -> bytes | None:
    """The start tag without the attributes past MAX_ATTRIBUTES and the namespace
    declarations past MAX_NAMESPACES prefixes; None when it keeps them all."""
    if attrs.count(b"=") <= MAX_ATTRIBUTES and b"xmlns" not in attrs:
        return None
    kept: list[bytes] = []
    dropped = False
    position = 0
    for attribute in _ATTRIBUTE.finditer(attrs):
        if attribute.start() != position:
            break  # not attribute syntax (the feed is malformed): left as it is
        if len(kept) >= MAX_ATTRIBUTES:
            dropped = True
            position = len(attrs) - attrs.endswith(b"/")  # the rest goes
            break
        position = attribute.end()
        attr_name = attribute.group(1).lower()
        if attr_name == b"xmlns" or attr_name.startswith(b"xmlns:"):
            prefix = attr_name[6:]
            if prefix not in counts.prefixes:
                if len(counts.prefixes) >= MAX_NAMESPACES:
                    dropped = True
                    continue
                counts.prefixes.add(prefix)
        kept.append(attribute.group())
    if not dropped:
        return None
    return b"<" + name + b"".join(kept) + attrs[position:] + close


def _cut_comma_list(
    edits: list[tuple[int, int, bytes]],
    data: bytes,
    start: int,
    end: int,
    limit: int,
    counts: _Counts,
) -> None:
    """feedparser makes a tag of each comma-separated term of keywords and tags (checking it
    against all the others): the terms count as tags of the entry, and at most `limit`
    characters of them are kept."""
    content = data[start:end]
    allowed = 1 + counts.spare_tags()  # the element itself was counted as one tag
    terms = content.count(b",") + 1
    if len(content) <= limit and terms <= allowed:
        counts.take_tags(terms - 1)
        return
    kept = ",".join(_text_of(content).split(",")[:allowed])[:limit]
    counts.take_tags(kept.count(","))
    _replace(edits, start, end, escape(kept).encode("utf-8", "surrogateescape"))


# -- entities ----------------------------------------------------------------------------
# An internal DTD may declare entities made of other entities, ten of the previous one in
# each ("billion laughs"): 500 bytes that expand to gigabytes. expat stops such an
# expansion only after megabytes, and feedparser then reads the feed again with its
# lenient parser, so a feed of a few hundred bytes cost half a minute. An internal subset
# whose entities expand beyond this many characters is dropped: the references stay text.
MAX_ENTITY_CHARS = 100_000
_PROLOG_BYTES = 65_536  # a DOCTYPE comes before the root element, near the top
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE\b[^\[>]*\[(.*?)\]\s*>", re.S | re.I)
_ENTITY_DECLARATION = re.compile(
    rb"""<!ENTITY\s+(%\s+)?([^\s"'%;<>]+)\s+(?:"([^"]*)"|'([^']*)')\s*>"""
)
_REFERENCE = re.compile(rb"[&%]([^\s&%;<>\"']+);")


def defuse_entities(data: bytes) -> bytes:
    """The document without its internal DTD subset when the entities declared there
    expand beyond MAX_ENTITY_CHARS (or refer to themselves); every other document as is."""
    found = _INTERNAL_SUBSET.search(data, 0, _PROLOG_BYTES)
    if found is None or b"<!ENTITY" not in found.group(1):
        return data
    values = {
        (bool(m.group(1)), m.group(2)): m.group(3) if m.group(3) is not None else m.group(4)
        for m in _ENTITY_DECLARATION.finditer(found.group(1))
    }
    sizes: dict[tuple[bool, bytes], int] = {}

    def size(key: tuple[bool, bytes], seen: frozenset[tuple[bool, bytes]]) -> int:
        if key not in values:
            return 1  # predefined (&amp;) or a character reference: one character
        if key in seen:
            return MAX_ENTITY_CHARS + 1  # an entity made of itself never ends
        if key not in sizes:
            value = values[key]
            total = len(_REFERENCE.sub(b"", value))
            for ref in _REFERENCE.finditer(value):
                total += size((ref.group(0)[:1] == b"%", ref.group(1)), seen | {key})
                if total > MAX_ENTITY_CHARS:
                    break
            sizes[key] = total
        return sizes[key]

    if all(size(key, frozenset()) <= MAX_ENTITY_CHARS for key in values):
        return data
    return data[: found.start(1)] + data[found.end(1) :]
