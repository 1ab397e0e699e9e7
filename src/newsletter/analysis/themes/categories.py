"""Feed categories as evidence for sections: normalized, weighted, and read as labels.

Every feed names its categories its own way ("Defence", "Defense & Security", "Arts &
Culture", "Tech" / "Technology"), puts several on an item (the first is often the broad
one) and mixes in tags ("Norway", "Naval"). Here a category string becomes one or more
*concepts*: split on "&", "and", "/", ","; case, accents, plurals and British/American
spellings folded; a short word that starts a longer one ("tech"/"technology") taken as
it. A multi-word category also stands for its words that are categories of their own
("Air Defence" counts for "defence"). Concepts then serve three purposes:

* features: first categories weighing most, their likeness added to the text likeness
  that sections are clustered on (only concepts on two entries or more group anything);
* labels: a section whose entries mostly share one concept (or two) is named after it,
  spelled as the feeds spell it;
* consistency: an entry whose categories name a section's label belongs there.

Nothing here knows any topic: the same rules serve any feed's vocabulary.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsletter.analysis.sparse_rows import SparseRows
from newsletter.analysis.themes.labels import STOP_WORDS
from newsletter.model import Entry

# Categories that say nothing about a story's topic: filing, format and scope.
BLAND = frozenset(
    """
    news uncategorized uncategorised general misc miscellaneous other others blog post
    article featured feature top story home latest breaking update live video podcast photo
    gallery opinion comment editorial analysis column sponsored press release headline
    """.split()
)
POSITION_WEIGHTS = (1.0, 0.75, 0.5)  # first category, second, the rest: broad ones lead
IMPLIED_WEIGHT = 0.6  # a word of a multi-word category that is a category of its own
MAX_SHARE = 0.8  # a concept on more entries than this is the feed's, not a theme
MIN_PREFIX = 4  # "tech" names "technology"; three letters ("art", "car") are too short
LABEL_COVERAGE = 0.5  # a section is named after the concept(s) most of its entries carry
SECOND_CONCEPT = 0.6  # a second concept joins the label on this share of the first's count
MAX_LABEL_WORDS = 4

_SPLIT = re.compile(r"\s*(?:&|\+|/|\||,|;|>|\band\b)\s*", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
# British and American spellings of one word, folded to one key (never shown).
_SPELLING = (
    (re.compile(r"ense$"), "ence"),  # defense / defence, offense, license
    (re.compile(r"([^aeiou])our$"), r"\1or"),  # labour / labor, harbour, colour
    (re.compile(r"i[sz](e|ed|es|ing|ation|ations)$"), r"iz\1"),  # organise / organize
    (re.compile(r"(?<=[a-z])tre$"), "ter"),  # centre / center, theatre / theater
    (re.compile(r"y[sz]e$"), "yze"),  # analyse / analyze
    (re.compile(r"ogue$"), "og"),  # catalogue / catalog
)


def category_keys(raw: str) -> tuple[str, ...]:
    """The concept keys of one category string: "Defense & Security" → ("defence", "security")."""
    text = unicodedata.normalize("NFKC", _plain(raw)).replace("_", " ").replace("-", " ")
    keys = []
    for part in _SPLIT.split(text):
        words = [_fold(w) for w in _WORD.findall(part)]
        while words and words[0] in {"the", "a", "an"}:
            words = words[1:]
        key = " ".join(words)
        if key and key not in keys:
            keys.append(key)
    return tuple(keys)


def _plain(raw: str) -> str:
    """A category as text: entities that a feed escaped twice ("&amp;") undone."""
    return " ".join(html.unescape(raw).split())


def _fold(word: str) -> str:
    """One key per word: lower case, no accents, singular, one spelling."""
    w = word.casefold().replace("’", "'")
    w = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ics")):
        w = w[:-1]
    for pattern, repl in _SPELLING:
        w = pattern.sub(repl, w)
    return w


def is_bland(key: str) -> bool:
    """A concept that names no topic: a filing or format word, or only stop words."""
    return key in _BLAND_KEYS or all(w in _BLAND_KEYS or w in STOP_WORDS for w in key.split())


@dataclass
class Categories:
    """The concepts of a set of entries, with their weights, spellings and labels."""

    concepts: list[dict[str, float]]  # per entry: concept → weight (position, implied)
    spellings: dict[str, Counter[str]]  # concept → how the feeds write it
    wholes: dict[frozenset[str], Counter[str]]  # concept set of a category → its spellings
    usable: list[str] = field(default_factory=list)  # concepts that can group entries
    leading: frozenset[str] = frozenset()  # concepts some entry lists first: beats, not tags
    feeds: list[str] = field(default_factory=list)  # feed of each entry

    def __post_init__(self) -> None:
        self._usable = frozenset(self.usable)
        self._contrasts: set[frozenset[str]] | None = None

    def contrast(self, a: str, b: str) -> bool:
        """Whether one feed files entries under `a` and not `b`, and others under `b` and
        not `a`: two beats of that feed. Concepts no feed tells apart may be one beat
        under two feeds' names ("Business" / "Economy") or facets of one ("Energy",
        "Climate")."""
        if self._contrasts is None:
            only: dict[tuple[str, str], set[str]] = defaultdict(set)  # (feed, concept)
            for feed, cs in zip(self.feeds, self.concepts, strict=True):
                for c in cs:
                    if c in self._usable:
                        only[feed, c].update(d for d in self._usable if d not in cs)
            self._contrasts = {
                frozenset((c, d))
                for (feed, c), others in only.items()
                for d in others
                if c in only.get((feed, d), ())
            }
        return frozenset((a, b)) in self._contrasts

    @property
    def any(self) -> bool:
        """Whether any concept is on two entries or more (else categories group nothing)."""
        return bool(self.usable)

    def features(self) -> SparseRows:
        """Unit rows of the usable concepts' weights (zero rows: none), sparse: feeds that
        tag freely have thousands of concepts, each entry a few. Not weighted by rarity: a
        broad category shared by many entries is what groups them."""
        index = {c: j for j, c in enumerate(self.usable)}
        rows, cols, values = [], [], []
        for i, cs in enumerate(self.concepts):
            for c, w in cs.items():
                if c in index:
                    rows.append(i)
                    cols.append(index[c])
                    values.append(w)
        shape = (len(self.concepts), len(self.usable))
        return SparseRows.from_entries(rows, cols, values, shape).unit()

    def has(self, i: int, concepts: frozenset[str]) -> bool:
        """Whether entry i carries any of the concepts."""
        return any(c in concepts for c in self.concepts[i])

    def informed(self, i: int) -> bool:
        """Whether entry i carries a beat of its own: a concept that other entries share
        and that some entry lists first (a tag such as a place name is no beat)."""
        return any(c in self._usable and c in self.leading for c in self.concepts[i])

    def weight(self, i: int, concepts: frozenset[str]) -> float:
        """How strongly entry i carries any of the concepts (its first category most)."""
        return max((w for c, w in self.concepts[i].items() if c in concepts), default=0.0)

    def label(self, members: Sequence[int]) -> tuple[str, frozenset[str]] | None:
        """A label from the concept(s) most members carry, and those concepts; None when
        no concept covers LABEL_COVERAGE of the members."""
        if len(members) < 2:
            return None
        count = Counter(c for i in members for c in self.concepts[i] if c in self._usable)
        if not count:
            return None
        ranked = sorted(count, key=lambda c: (-count[c], -self._mass(c, members), c))
        top = ranked[0]
        chosen = [top]
        # A second concept joins when nearly as many members carry it and no feed tells
        # the two apart ("Energy & Climate"; "Economy & Business" from two feeds' names
        # for one beat), never two beats of one feed ("Sports", "Culture").
        # A second concept that only ever comes with the first adds nothing to the name,
        # unless a feed names the two as one category.
        second = ranked[1] if len(ranked) > 1 else None
        if (
            second is not None
            and count[second] >= max(2, SECOND_CONCEPT * count[top])
            and not self.contrast(top, second)
            and (frozenset((top, second)) in self.wholes or not self._within(second, top, members))
        ):
            chosen.append(second)
        covered = sum(1 for i in members if any(c in self.concepts[i] for c in chosen))
        if covered < LABEL_COVERAGE * len(members):
            return None
        text = self._spell(chosen)
        if len(_WORD.findall(text)) > MAX_LABEL_WORDS:
            chosen = [top]
            if count[top] < LABEL_COVERAGE * len(members):
                return None
            text = self._spell(chosen)
        return text, frozenset(chosen)

    def _within(self, a: str, b: str, members: Sequence[int]) -> bool:
        """Whether every member that carries `a` also carries `b`."""
        return all(b in self.concepts[i] for i in members if a in self.concepts[i])

    def _mass(self, concept: str, members: Sequence[int]) -> float:
        return sum(self.concepts[i].get(concept, 0.0) for i in members)

    def _spell(self, chosen: list[str]) -> str:
        """The feeds' own spelling: a category that is exactly these concepts, else each
        concept's spelling joined with "&"."""
        whole = self.wholes.get(frozenset(chosen))
        if whole:
            return _best(whole)
        return " & ".join(_best(self.spellings[c]) for c in chosen)


_BLAND_KEYS = frozenset(_fold(w) for w in BLAND) | BLAND


def categories_of(entries: Sequence[Entry]) -> Categories:
    """Concepts of each entry's categories, unified across feeds."""
    per_entry: list[list[tuple[tuple[str, ...], str]]] = []
    singles: Counter[str] = Counter()  # one-word concepts, and on how many entries
    for e in entries:
        cats = []
        for raw in dict.fromkeys(_plain(c) for c in e.item.categories):
            every = category_keys(raw)
            keys = tuple(k for k in every if not is_bland(k))
            if keys:
                # "News & Politics" is spelled for its whole only when nothing was dropped.
                cats.append((keys, raw if len(keys) == len(every) else ""))
                singles.update({k for k in keys if " " not in k})
        per_entry.append(cats)
    alias = _prefix_aliases(singles)
    # "Giant Bomb" and "GiantBomb", "Health Tech" and "HealthTech": one concept.
    alias.update(
        {
            k: alias.get(k.replace(" ", ""), k.replace(" ", ""))
            for cats in per_entry
            for keys, _ in cats
            for k in keys
            if " " in k and k.replace(" ", "") in singles
        }
    )
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    wholes: dict[frozenset[str], Counter[str]] = defaultdict(Counter)
    concepts: list[dict[str, float]] = []
    leading: set[str] = set()
    for cats in per_entry:
        weights: dict[str, float] = {}
        for pos, (keys, raw) in enumerate(cats):
            w = POSITION_WEIGHTS[min(pos, len(POSITION_WEIGHTS) - 1)]
            pieces = [p for p in _SPLIT.split(raw) if p.strip()]
            named = [alias.get(k, k) for k in keys]
            if raw:
                wholes[frozenset(named)][raw] += 1
            if pos == 0:
                leading.update(named)
            for k, piece in zip(named, pieces if len(pieces) == len(keys) else keys, strict=True):
                weights[k] = max(weights.get(k, 0.0), w)
                spellings[k][piece.strip()] += 1
                if " " in k:  # "air defence" also counts for "defence" when that is a category
                    for word in k.split():
                        word = alias.get(word, word)
                        if word in singles:
                            weights[word] = max(weights.get(word, 0.0), w * IMPLIED_WEIGHT)
        concepts.append(weights)
    n = len(entries)
    df = Counter(c for cs in concepts for c in cs)
    usable = sorted(c for c, k in df.items() if k >= 2 and (n < 5 or k <= MAX_SHARE * n))
    for c in usable:  # an implied word with no spelling of its own: take it from a phrase
        if not spellings[c]:
            spellings[c][c] += 1
    feeds = [e.item.feed_url for e in entries]
    return Categories(concepts, dict(spellings), dict(wholes), usable, frozenset(leading), feeds)


def _prefix_aliases(words: Counter[str]) -> dict[str, str]:
    """Short category words that begin a longer one: "tech" → "technology" (the most
    used such word when there are several)."""
    alias = {}
    ordered = sorted(words, key=lambda w: (len(w), w))
    for i, short in enumerate(ordered):
        if len(short) < MIN_PREFIX:
            continue
        longer = [w for w in ordered[i + 1 :] if w.startswith(short) and len(w) > len(short)]
        if longer:
            alias[short] = min(longer, key=lambda w: (-words[w], len(w), w))
    return alias


def _best(spellings: Counter[str]) -> str:
    """The most used spelling; on a tie, one with capitals ("AI" over "ai"), then the first."""
    return sorted(spellings.items(), key=lambda sk: (-sk[1], sk[0].islower(), sk[0]))[0][0]
