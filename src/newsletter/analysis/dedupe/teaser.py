"""Same-story evidence for short items: another site's teaser in its own words.

A description-only feed carries a 30-50 word teaser written by its own desk, not the
first sentences of the article, so few word 3-grams survive. A short item is compared
with the start of the other item by its words instead:

* containment: the share of its content words (weighted by rarity among the other
  items) found in the other item's title and first LEAD_WORDS words, with light
  stemming so that "regulators"/"regulator" and "Kenyan"/"Kenya" match;
* title likeness (Jaccard of the titles' content words, and the share of the short
  title's words in the other's lead);
* anchors: distinctive numbers ("2:19:48", "1.4" of "1.4bn" and "1.4-billion") and
  proper names ("Chebet", "Serrena") both mention. At least one must be shared, and a
  shared number adds to the score.

A follow-up ("Stars gear up for the awards" / "Stars shine at the awards") looks much
the same in words, so time must agree as well: both items dated (published, else first
seen) within WINDOW_HOURS. Undated items are never merged on words alone.

Candidates come from an inverted index: each short item probes with its rarest words,
so the work grows with the number of items, not with its square.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime

from newsletter.analysis.themes.labels import STOP_WORDS
from newsletter.model import Item

# An item with at most this many words of text is short: a teaser or a standfirst. The
# other item is compared by as many words from its start: a teaser sums up the lead.
LEAD_WORDS = 100
PREFIX = 5  # a word's root: its first letters after a light stem ("expansion"/"expand")
RARE_PROBES = 12  # the short item's rarest roots look for partners
MIN_PROBE_HITS = 3  # a candidate shares at least this many of them
MAX_POSTINGS = 64  # a root in more items than this is too common to propose pairs
MIN_ROOTS = 6  # a short item with fewer content words is no evidence
WINDOW_HOURS = 24.0  # same story: both out within a day (follow-ups come the next day)
# Score = containment + TITLE_WEIGHT * title likeness + LEAD_TITLE_WEIGHT * share of the
# short title's words in the other's lead + NUMBER_WEIGHT * shared numbers (two at most);
# weights and threshold tuned on reworded BBC teasers (benchmarks/quality_dedupe.py, a
# tuning seed of its own) for a precision of 0.98 or more.
TITLE_WEIGHT = 0.3
LEAD_TITLE_WEIGHT = 0.1
NUMBER_WEIGHT = 0.03
SAME_STORY = 0.75

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# A word, or a mark after which a capital says nothing (a sentence or quote starts).
_TOKEN = re.compile(r"([^\W\d_]+(?:['’][^\W\d_]+)*)|(\d+(?:[.,:]\d+)*)|[.!?;:\"“”‘(\n]")
_CHARS_PER_WORD = 20  # words are read from this many characters per word at most
_FIGURE = re.compile(r"\d+(?:[.,:]\d+)*")


@dataclass(frozen=True)
class Profile:
    """What a comparison needs of one item, from its title and first LEAD_WORDS words."""

    roots: frozenset[str]  # content-word roots and numbers ("#1.4")
    title: frozenset[str]  # content-word roots of the title
    anchors: frozenset[str]  # distinctive numbers and roots of proper names
    short: bool  # the whole text is within LEAD_WORDS
    time: datetime | None


@dataclass(frozen=True)
class Evidence:
    """How alike a short item is to a candidate partner."""

    containment: float
    title: float
    title_in_lead: float  # share of the short item's title words in the other's lead
    anchors: int  # anchors of either item found in the other
    numbers: int  # of which numbers
    hours: float | None  # time apart; None when either is undated

    @property
    def score(self) -> float:
        """Containment, plus a bonus for a like title and for figures both give."""
        return (
            self.containment
            + TITLE_WEIGHT * self.title
            + LEAD_TITLE_WEIGHT * self.title_in_lead
            + NUMBER_WEIGHT * min(self.numbers, 2)
        )

    def same_story(self) -> bool:
        """Precision first: out the same day, naming something in common, and alike."""
        if self.hours is None or self.hours > WINDOW_HOURS:
            return False
        return self.anchors >= 1 and self.score >= SAME_STORY


class _Roots(dict[str, str]):
    """The root of each distinct word, computed once."""

    def __missing__(self, word: str) -> str:
        value = root(word)
        if len(self) < 200_000:
            self[word] = value
        return value


_ROOTS = _Roots()


def root(word: str) -> str:
    """Lower-case, accent-free, lightly stemmed and cut to PREFIX letters."""
    w = word.casefold().replace("’", "'")
    if not w.isascii():
        w = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    for suffix, repl in (("ies", "y"), ("es", "e"), ("s", ""), ("ing", ""), ("ed", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            w = w[: -len(suffix)] + repl
            break
    return w[:PREFIX]


def number(token: str) -> str:
    """One spelling of a number: "1,800" → "1800", "1,4" → "1.4", "2:19:48" kept."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token):
        return token.replace(",", "")
    return token.replace(",", ".")


def profile(item: Item) -> Profile:
    """Roots, title roots and anchors of an item's title and lead."""
    title_roots, title_names, title_numbers, _ = _scan(item.title, LEAD_WORDS)
    roots, names, numbers, short = _scan(item.text, LEAD_WORDS)
    if _sentence_case(item.title):
        names |= title_names
    numbers |= title_numbers
    return Profile(
        roots=frozenset(title_roots | roots | numbers),
        title=frozenset(title_roots),
        anchors=frozenset(numbers | names),
        short=short,
        time=item.published or item.first_seen,
    )


def _scan(text: str, limit: int) -> tuple[set[str], set[str], set[str], bool]:
    """Content-word roots, name roots and distinctive numbers ("#1.4") of the first
    `limit` words, and whether that was all of the text. A name is a capitalized word
    that does not start a sentence; a number is distinctive with two characters or more."""
    roots: set[str] = set()
    names: set[str] = set()
    numbers: set[str] = set()
    count = 0
    opening = True
    for m in _TOKEN.finditer(text, 0, min(len(text), limit * _CHARS_PER_WORD)):
        w, digits = m.group(1), m.group(2)
        if digits is not None:
            value = number(digits)
            if len(value) > 1:
                numbers.add(f"#{value}")
            opening = False
            continue
        if w is None:
            opening = True
            continue
        count += 1
        if count > limit:
            return roots, names, numbers, False
        if len(w) > 1 and w.casefold() not in STOP_WORDS:
            r = _ROOTS[w]
            roots.add(r)
            if not opening and w[0].isupper() and len(w) > 2:
                names.add(r)
        opening = False
    return roots, names, numbers, len(text) <= limit * _CHARS_PER_WORD


def maybe_short(item: Item) -> bool:
    """A cheap first look: dated, and not obviously longer than LEAD_WORDS words."""
    dated = item.published is not None or item.first_seen is not None
    return dated and len(item.text.split(None, LEAD_WORDS + 1)) <= LEAD_WORDS


def _sentence_case(title: str) -> bool:
    """A headline in sentence case, whose capitals inside are names ("Royal Navy ...")."""
    ws = [w for w in _WORD.findall(title) if w.casefold() not in STOP_WORDS]
    if len(ws) < 3:
        return False
    return sum(w[0].isupper() for w in ws[1:]) <= 0.5 * (len(ws) - 1)


def teaser_pairs(
    items: Sequence[Item],
    titles: Sequence[Sequence[str]] | None = None,
    bodies: Sequence[Sequence[str]] | None = None,
    roots: Sequence[Iterable[str]] | None = None,
    fresh: Sequence[bool] | None = None,
) -> tuple[list[tuple[int, int]], int]:
    """Pairs (short item first) judged the same story, and how many pairs were weighed.

    `titles` and `bodies` are the items' lower-case word tokens when the caller has them
    (dedupe does), or `roots` their `index_roots` (the story index keeps them): the index
    is built from them, and only short items and their candidates are read in full. With
    `fresh`, only pairs with a fresh item in them are weighed (the others were before).
    """
    dated = [it.published is not None or it.first_seen is not None for it in items]
    shorts = [i for i, it in enumerate(items) if dated[i] and maybe_short(it)]
    if not shorts:
        return [], 0  # nothing to weigh: spare reading every article
    profiles = {i: profile(items[i]) for i in shorts}

    def full(i: int) -> Profile:
        if i not in profiles:
            profiles[i] = profile(items[i])
        return profiles[i]

    # Only words some short item has can link it to another item, or weigh in its
    # evidence: the index holds those alone.
    wanted = frozenset().union(*(p.roots for p in profiles.values()))
    postings: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        if not dated[i]:  # undated items never merge on words
            continue
        found_roots: AbstractSet[str]
        if i in profiles:
            found_roots = full(i).roots & wanted
        elif roots is not None:
            found_roots = wanted.intersection(roots[i])
        elif titles is not None and bodies is not None:
            found_roots = _token_roots(titles[i], bodies[i], it) & wanted
        else:
            found_roots = full(i).roots & wanted
        for r in found_roots:
            postings.setdefault(r, []).append(i)
    found: list[tuple[int, int]] = []
    weighed = 0
    for s in shorts:
        p = profiles[s]
        if not p.short or len(p.roots) < MIN_ROOTS:
            continue
        probes = sorted(
            (r for r in p.roots if len(postings.get(r, ())) <= MAX_POSTINGS),
            key=lambda r: (len(postings.get(r, ())), r),
        )[:RARE_PROBES]
        hits: dict[int, int] = {}
        for r in probes:
            for j in postings.get(r, ()):
                hits[j] = hits.get(j, 0) + 1
        need = min(MIN_PROBE_HITS, len(probes))
        for j, k in sorted(hits.items()):
            if j == s or k < need or _same_feed(items[s], items[j]):
                continue
            if fresh is not None and not (fresh[s] or fresh[j]):
                continue  # weighed when the newer of the two arrived
            q = full(j)
            # Each pair once: a short item looks at long ones, and at short ones after it.
            if q.short and j < s:
                continue
            weighed += 1
            # Containment is of the short item in the other one; of two short ones, of the
            # one with fewer words.
            a, b = (q, p) if q.short and len(q.roots) < len(p.roots) else (p, q)
            if evidence(a, b, postings, len(items)).same_story():
                found.append((s, j))
    return found, weighed


def index_roots(item: Item, title: Sequence[str], body: Sequence[str]) -> frozenset[str]:
    """What `teaser_pairs` indexes a long item by (title and lead roots, figures), from
    its word tokens: kept by the story index so an item is not read again."""
    return frozenset(map(sys.intern, _token_roots(title, body, item)))


def _token_roots(title: Sequence[str], body: Sequence[str], item: Item) -> set[str]:
    """The roots of an item's title and lead from its word tokens (a quick stand-in for
    its profile's, to index a long item); figures are read from the text."""
    seen = set(title)
    seen.update(body[:LEAD_WORDS])
    roots = {_ROOTS[w] for w in seen - STOP_WORDS if len(w) > 1 and not w[0].isdigit()}
    head = item.text[: LEAD_WORDS * _CHARS_PER_WORD]
    figures = _FIGURE.findall(f"{item.title}\n{head}")
    roots.update(f"#{v}" for v in map(number, figures) if len(v) > 1)
    return roots


def evidence(short: Profile, other: Profile, postings: dict[str, list[int]], n: int) -> Evidence:
    """Containment, title likeness, shared anchors and time apart of a pair."""
    total = shared = 0.0
    for r in short.roots:
        both = r in other.roots
        # Rarity among the other items: the pair's own use of a word is not evidence.
        others = len(postings.get(r, ())) - (2 if both else 1)
        w = math.log((n + 1) / (max(others, 0) + 1)) + 1.0
        total += w
        if both:
            shared += w
    union = short.title | other.title
    common = (short.anchors & other.roots) | (other.anchors & short.roots)
    return Evidence(
        containment=shared / total if total else 0.0,
        title=len(short.title & other.title) / len(union) if union else 0.0,
        title_in_lead=len(short.title & other.roots) / len(short.title) if short.title else 0.0,
        anchors=len(common),
        numbers=sum(a.startswith("#") for a in common),
        hours=_hours(short.time, other.time),
    )


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    a, b = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (a, b))
    return abs((a - b).total_seconds()) / 3600.0


def _same_feed(a: Item, b: Item) -> bool:
    return bool(a.feed_url) and a.feed_url == b.feed_url and a.key != b.key
