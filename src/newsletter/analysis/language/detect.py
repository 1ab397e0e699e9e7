"""Which language a text is in, offline and without a model: its script first, then (for
scripts many languages share) the share of its words that are one language's function
words. Feeds often declare a language for the whole feed, or the wrong one ("en-us" on a
German blog), so a story's own words decide when they are clear; a short or unclear text
keeps the language it was declared in.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter

from newsletter.analysis.language.stopwords import FUNCTION_WORDS, function_words, language_code

# (first code point, last code point, script); a script named by a language code is written
# by (nearly) one language only.
_RANGES = sorted(
    [
        (0x0041, 0x024F, "latin"),
        (0x1E00, 0x1EFF, "latin"),
        (0x0370, 0x03FF, "el"),
        (0x1F00, 0x1FFF, "el"),
        (0x0400, 0x052F, "cyrillic"),
        (0x0530, 0x058F, "hy"),
        (0x0590, 0x05FF, "he"),
        (0x0600, 0x06FF, "arabic"),
        (0x0750, 0x077F, "arabic"),
        (0x08A0, 0x08FF, "arabic"),
        (0xFB50, 0xFDFF, "arabic"),
        (0xFE70, 0xFEFF, "arabic"),
        (0x0900, 0x097F, "devanagari"),
        (0x0980, 0x09FF, "bn"),
        (0x0A00, 0x0A7F, "pa"),
        (0x0A80, 0x0AFF, "gu"),
        (0x0B00, 0x0B7F, "or"),
        (0x0B80, 0x0BFF, "ta"),
        (0x0C00, 0x0C7F, "te"),
        (0x0C80, 0x0CFF, "kn"),
        (0x0D00, 0x0D7F, "ml"),
        (0x0D80, 0x0DFF, "si"),
        (0x0E00, 0x0E7F, "th"),
        (0x0E80, 0x0EFF, "lo"),
        (0x1000, 0x109F, "my"),
        (0x10A0, 0x10FF, "ka"),
        (0x1100, 0x11FF, "ko"),
        (0x1200, 0x137F, "am"),
        (0x1780, 0x17FF, "km"),
        (0x3040, 0x30FF, "kana"),
        (0x31F0, 0x31FF, "kana"),
        (0x3400, 0x4DBF, "han"),
        (0x4E00, 0x9FFF, "han"),
        (0xAC00, 0xD7AF, "ko"),
    ]
)
_STARTS = [r[0] for r in _RANGES]

# Scripts written right to left (the text direction of a story in them).
RTL_SCRIPTS = frozenset({"arabic", "he"})

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_LATIN = ("en", "de", "fr", "es", "pt", "it", "nl", "sk", "cs", "pl", "sv", "da", "no", "tr")
_CYRILLIC = ("ru", "uk")
# A clear text: this share of its words are one language's function words (news prose
# runs at 30-50 %), at least this many of them, and more than any other language has.
MIN_SHARE = 0.12
MIN_HITS = 3
MARGIN = 1.15
SAMPLE_CHARS = 3000

# Letters only one of the languages written in Arabic script uses.
_URDU_LETTERS = frozenset("ٹڈڑںےۓھ")
_ARABIC_LETTERS = frozenset("ةيكى")


def script_of(char: str) -> str:
    """The script of one character ("" for digits, punctuation and unlisted scripts)."""
    code = ord(char)
    i = bisect.bisect_right(_STARTS, code) - 1
    if i >= 0 and code <= _RANGES[i][1]:
        return _RANGES[i][2]
    return ""


def scripts(text: str) -> Counter[str]:
    """Letters per script in a text."""
    return Counter(s for s in map(script_of, text) if s)


def main_script(text: str) -> str:
    found = scripts(text[:SAMPLE_CHARS])
    return found.most_common(1)[0][0] if found else ""


def is_rtl(text: str) -> bool:
    """Whether a text is mostly written right to left (Arabic, Urdu, Persian, Hebrew)."""
    return main_script(text) in RTL_SCRIPTS


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
    hits = {code: sum(w in function_words(code) for w in words) for code in candidates}
    ranked = sorted(hits, key=lambda c: (-hits[c], candidates.index(c)))
    best = ranked[0]
    second = hits[ranked[1]] if len(ranked) > 1 else 0
    if hits[best] < MIN_HITS or hits[best] < MIN_SHARE * len(words):
        return ""
    return best if hits[best] >= MARGIN * second else ""


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
