"""Writing systems of text: which script a character or a text is in, and whether it is
written right to left; the first step of telling a story's language."""

from __future__ import annotations

import bisect
import re
from collections import Counter

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

SAMPLE_CHARS = 3000


def script_of(char: str) -> str:
    """The script of one character ("" for digits, punctuation and unlisted scripts)."""
    code = ord(char)
    i = bisect.bisect_right(_STARTS, code) - 1
    if i >= 0 and code <= _RANGES[i][1]:
        return _RANGES[i][2]
    return ""


_LATIN_ASCII = bytes(range(0x41, 0x80))  # the ASCII part of the "latin" range above
_NOT_LATIN_ASCII = bytes(set(range(0x80)) - set(_LATIN_ASCII))
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def scripts(text: str) -> Counter[str]:
    """Letters per script in a text."""
    # ASCII is counted in C (most text is mostly ASCII); only the rest is looked up
    found = Counter(s for s in map(script_of, _NON_ASCII.findall(text)) if s)
    latin = len(text.encode("ascii", "ignore").translate(None, _NOT_LATIN_ASCII))
    if latin:
        found["latin"] += latin
    return found


def main_script(text: str) -> str:
    found = scripts(text[:SAMPLE_CHARS])
    return found.most_common(1)[0][0] if found else ""


def is_rtl(text: str) -> bool:
    """Whether a text is mostly written right to left (Arabic, Urdu, Persian, Hebrew)."""
    return main_script(text) in RTL_SCRIPTS
