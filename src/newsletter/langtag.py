"""Language tags (BCP 47) as the config gives them, and the locale that formats them.

`site.language` ends up in `<html lang>`, in the summarizer's default language and in the
subject's words and date, so it must be a real tag: `en`, `de`, `pt-BR`, `zh-Hant-TW`,
never `english` or `pt_BR`.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

# well-formed BCP 47 (RFC 5646) without grandfathered tags: language[-extlang][-script]
# [-region][-variant...][-extension...][-x-private]
_TAG = re.compile(
    r"""^(?P<language>[a-z]{2,3})(?:-[a-z]{3}){0,3}
        (?:-(?P<script>[a-z]{4}))?
        (?:-(?P<region>[a-z]{2}|\d{3}))?
        (?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*
        (?:-[a-wyz\d](?:-[a-z\d]{2,8})+)*
        (?:-x(?:-[a-z\d]{1,8})+)?$""",
    # ASCII: tags are ASCII, and Unicode case folding would let lookalikes in (the Kelvin
    # sign as "k") and make each [a-z] a table of 65,536 characters (0.7 ms at import).
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)

EXAMPLES = "'en', 'de', 'fr', 'pt-BR' or 'zh-Hant'"


def language_tag_problem(tag: str) -> str | None:
    """Why `tag` is not a usable language tag (with the fix), or None when it is."""
    if "_" in tag and _TAG.match(tag.replace("_", "-")):
        return f"write it with hyphens: {tag.replace('_', '-')!r}"
    m = _TAG.match(tag)
    if m is None and not tag.isascii():  # a lookalike ("\u212a" for "K") reads as valid
        odd = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(tag) if not c.isascii())
        return f"not a BCP 47 language tag: it has characters other than ASCII ({odd})"
    if m is None:
        return f"not a BCP 47 language tag; use one such as {EXAMPLES}"
    language = m["language"].lower()
    if not _has_locale_data(language) and _known(language) is None:
        return f"unknown language {m['language']!r}; use an ISO 639 code such as {EXAMPLES}"
    return None


def locale_for(tag: str) -> Locale:
    """The CLDR locale that formats dates for `tag`: the whole tag if CLDR has it, else
    its language, else English."""
    m = _TAG.match(tag or "")
    if m is None:
        return _known("en")  # type: ignore[return-value]
    parts = [m["language"].lower()]
    if m["script"]:
        parts.append(m["script"].title())
    if m["region"]:
        parts.append(m["region"].upper())
    for size in range(len(parts), 0, -1):
        found = _known("_".join(parts[:size]))
        if found is not None:
            return found
    return _known("en")  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _known(identifier: str) -> Locale | None:
    from babel import Locale, UnknownLocaleError  # only to format: not at every start-up

    try:
        return Locale.parse(identifier)
    except (UnknownLocaleError, ValueError):
        return None


@lru_cache(maxsize=64)
def _has_locale_data(language: str) -> bool:
    """Whether babel ships CLDR data of its own for a language code ([a-z]{2,3}), looked up
    without importing babel and loading the data (a tenth of every command's start-up). A
    code without a file may still be one babel knows by another name: `_known` decides."""
    spec = importlib.util.find_spec("babel")
    folders = (spec.submodule_search_locations or []) if spec else []
    return any(Path(folder, "locale-data", f"{language}.dat").is_file() for folder in folders)
