"""Sections never mix languages: a digest's stories are split by language before they are
grouped by theme, and each language gets a share of the sections.

A reader of an English digest with a few German and Urdu stories expects the German ones
together, not one under "Football & Transfer" and another under a Portuguese label. The
main language (and any other language with enough stories) is grouped by theme as usual;
a language with a few stories is one section named after the language in its own words
("Deutsch", "اردو"); a language with fewer than a section's minimum joins the leftovers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from newsletter.analysis.language.detect import story_language
from newsletter.model import Entry

# A language other than the main one is grouped by theme from this share of the stories
# (and enough stories for two sections); below it, it is one section of its own.
THEMED_SHARE = 0.2


@dataclass(frozen=True)
class Block:
    """Stories (indices) grouped together because of their language."""

    members: tuple[int, ...]
    sections: int  # themed: sections allowed (the leftovers' place included)
    themed: bool  # grouped by theme; else one section called `label`
    label: str = ""
    language: str = ""  # ISO 639-1 code of a themed block, "" unknown


def entry_language(entry: Entry) -> str:
    """The language a story is written in: its words when they are clear, else the
    language its feed declared (see newsletter.analysis.language.detect)."""
    item = entry.item
    body = item.text or entry.summary or item.summary
    return story_language(f"{item.title}\n{body[:2000]}", item.language)


def entry_languages(entries: Sequence[Entry]) -> list[str]:
    """The language of each story; one whose words don't say (a headline alone) and
    whose feed declares none takes the language most of its feed's stories here are in."""
    codes = [entry_language(e) for e in entries]
    by_feed: dict[str, Counter[str]] = {}
    for entry, code in zip(entries, codes, strict=True):
        if code:
            by_feed.setdefault(entry.item.feed_url, Counter())[code] += 1
    out = []
    for entry, code in zip(entries, codes, strict=True):
        seen = by_feed.get(entry.item.feed_url)
        if not code and seen:
            code = min(seen, key=lambda c: (-seen[c], c))
        out.append(code)
    return out


def language_blocks(
    languages: Sequence[str], max_sections: int, min_size: int
) -> tuple[list[Block], list[int]]:
    """Split stories (one language code each) into blocks and the stories left over.

    The main language, and another with a fifth of the stories and room for two
    sections, are grouped by theme, the sections shared by size. Another language with
    enough stories for two sections is one section named after it ("Deutsch"), while
    those take at most half the sections; the stories of the other languages share a
    section named after their languages, in language order ("Nederlands · Slovenčina"),
    or are left over when fewer than `min_size`.
    Stories of unknown language count as the main language's."""
    counts = Counter(code for code in languages if code)
    main = min(counts, key=lambda c: (-counts[c], c)) if counts else ""
    members: dict[str, list[int]] = {}
    for i, code in enumerate(languages):
        members.setdefault(code or main, []).append(i)
    order = sorted(members, key=lambda c: (c != main, -len(members[c]), c))
    big = max(2 * min_size + 1, THEMED_SHARE * len(languages))
    themed = [c for c in order if c == main or len(members[c]) >= big]
    while True:
        # A language too small to be themed but big enough for two sections is one
        # section of its own; the smaller ones share one.
        alone = [c for c in order if c not in themed and len(members[c]) > 2 * min_size]
        alone = alone[: max(0, max_sections // 2 - len(themed) + 1)]
        shared = [c for c in order if c not in themed and c not in alone]
        room = max(1, max_sections - len(alone) - (1 if shared else 0))
        shares = _shares(room, [len(members[c]) for c in themed])
        weak = [c for c, k in zip(themed, shares, strict=True) if c != main and k < 2]
        if not weak:
            break
        themed = [c for c in themed if c not in weak]
    blocks = [
        Block(tuple(members[c]), k, True, language=c) for c, k in zip(themed, shares, strict=True)
    ]
    blocks += [Block(tuple(members[c]), 1, False, language_label(c)) for c in alone]
    rest = [i for c in shared for i in members[c]]
    if len(rest) >= min_size:
        label = " · ".join(language_label(c) for c in shared)
        blocks.append(Block(tuple(rest), 1, False, label))
        rest = []
    return blocks, rest


def _shares(room: int, sizes: list[int]) -> list[int]:
    """Split `room` sections between blocks by size, at least one each; the first
    (main) block takes what rounding leaves over."""
    if not sizes:
        return []
    total = max(1, sum(sizes))
    shares = [max(1, int(room * size / total)) for size in sizes]
    shares[0] = max(1, shares[0] + room - sum(shares))
    return shares


def language_label(code: str) -> str:
    """The name of a language in itself, capitalized ("Deutsch", "Português", "اردو")."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code.upper()
    return name[:1].upper() + name[1:]
