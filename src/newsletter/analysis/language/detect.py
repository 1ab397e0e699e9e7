"""Which language a text is in, offline and without a model: its script first, then (for
scripts many languages share) the share of its words that are one language's function
words. Feeds often declare a language for the whole feed, or the wrong one ("en-us" on a
German blog), so a story's own words decide when they are clear; a short or unclear text
keeps the language it was declared in.
"""

from __future__ import annotations

import re
from functools import lru_cache

from newsletter.analysis.language.scripts import SAMPLE_CHARS, scripts
from newsletter.analysis.language.stopwords import FUNCTION_WORDS, function_words, language_code

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_LATIN = ("en", "de", "fr", "es", "pt", "it", "nl", "sk", "cs", "pl", "sv", "da", "no", "tr")
_CYRILLIC = ("ru", "uk")
# A clear text: this share of its words are one language's function words (news prose
# runs at 30-50 %), at least this many of them, and more than any other language has.
MIN_SHARE = 0.12
MIN_HITS = 3
MARGIN = 1.15

# Letters only one of the languages written in Arabic script uses.
_URDU_LETTERS = frozenset("ٹڈڑںےۓھ")
_ARABIC_LETTERS = frozenset("ةيكى")


def detect(text: str) -> str:
    """The ISO 639-1 code of the language `text` is in, or "" when its words don't say."""
    sample = (text or "")[:SAMPLE_CHARS]
    found = scripts(sample)
    if sum(found.values()) < 3:
        return ""
    script = found.most_common(1)[0][0]
    if script == "han":
        return "ja" if found["kana"] >= 0.05 * sum(found.values()) else "zh"
    if script == "kana":
        return "ja"
    if script == "arabic":
        return _arabic_script(sample)
    if script == "latin":
        return _by_function_words(sample, _LATIN)
    if script == "cyrillic":
        return _by_function_words(sample, _CYRILLIC)
    if script == "devanagari":
        return _by_function_words(sample, ("hi",))
    return script


def story_language(text: str, declared: str = "") -> str:
    """The language of a story: what its words say when they are clear, else the
    declared one (its primary subtag), else ""."""
    return detect(text) or language_code(declared)


def _by_function_words(text: str, candidates: tuple[str, ...]) -> str:
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return ""
    index = _function_word_index(candidates)
    hits = dict.fromkeys(candidates, 0)
    for word in words:
        for code in index.get(word, ()):
            hits[code] += 1
    ranked = sorted(hits, key=lambda c: (-hits[c], candidates.index(c)))
    best = ranked[0]
    second = hits[ranked[1]] if len(ranked) > 1 else 0
    if hits[best] < MIN_HITS or hits[best] < MIN_SHARE * len(words):
        return ""
    return best if hits[best] >= MARGIN * second else ""


@lru_cache(maxsize=8)
def _function_word_index(candidates: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Each function word of the candidates -> the candidate languages it belongs to."""
    index: dict[str, list[str]] = {}
    for code in candidates:
        for word in function_words(code):
            index.setdefault(word, []).append(code)
    return {word: tuple(codes) for word, codes in index.items()}


def _arabic_script(text: str) -> str:
    """Urdu, Arabic or Persian: each has letters the others don't use."""
    urdu = sum(c in _URDU_LETTERS for c in text)
    arabic = sum(c in _ARABIC_LETTERS for c in text)
    letters = sum(c.isalpha() for c in text)
    if urdu >= max(2, 0.01 * letters):
        return "ur"
    if arabic >= max(2, 0.01 * letters):
        return "ar"
    return "fa" if "fa" in FUNCTION_WORDS and letters >= 3 else ""
