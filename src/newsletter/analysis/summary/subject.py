"""The headline's subject, so a summary never leaves out who or what the news is about.

"Chebet surges late to set course record" summarized as "Ethiopia's Alemu finished
second…" misses the news. A headline usually opens with its subject, and names are written
capitalized in the middle of the article's sentences: the subject is the headline's first
word (of three letters or more) that the article writes capitalized after a sentence's
first word and never in lower case (so "Court" in "the appeal court" is no name).
Scripts without case (Arabic, Urdu, CJK, …) have no such signal, and their summaries are
left as ranked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

_WORD = re.compile(r"[^\W\d_][\w'’-]*")
MIN_LETTERS = 3


def subject_term(title: str, sentences: Sequence[str]) -> str:
    """The headline's subject as a lower-case word, or "" when none can be told."""
    return _subject_term(title, tuple(sentences))


@lru_cache(maxsize=8)  # ranking and the summary's final check ask about the same article
def _subject_term(title: str, sentences: tuple[str, ...]) -> str:
    names: set[str] = set()
    common: set[str] = set()
    for sentence in sentences:
        for word in _WORD.findall(sentence)[1:]:
            if word[0].isupper():
                names.add(_key(word))
            elif word[0].islower():
                common.add(_key(word))
    for word in _WORD.findall(title or ""):
        key = _key(word)
        if len(word) >= MIN_LETTERS and word[0].isupper() and key in names - common:
            return key
    return ""


def mentions(sentence: str, term: str) -> bool:
    """Whether the sentence names the term (inflected forms too: "Keller's", "Kellers")."""
    if not term:
        return False
    for word in _WORD.findall(sentence):
        key = _key(word)
        if key == term or (len(term) >= 4 and key.startswith(term) and len(key) - len(term) <= 3):
            return True
    return False


def _key(word: str) -> str:
    return word.casefold().removesuffix("'s").removesuffix("’s")
