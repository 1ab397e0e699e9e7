"""A digest's subject line: words in the site's language, a date in its format, and a
headline cut at a word boundary so that inboxes show the whole line.

The rule (also in the README): a subject is at most `SUBJECT_TARGET` characters, about
what a desktop inbox shows beside the sender. When the filled template is longer, only the
headline is shortened, at a word boundary, ending in "…"; it keeps at least
`MIN_HEADLINE` characters, so a long site name or template may still run over.

A list's own `subject` template is used as written. Without one, the words come from
`SUBJECTS` by `site.language`; a language not there gets a form that needs no words. The
wording lives only in `SUBJECTS`, keyed by CLDR plural category (what gettext catalogs
use), so it can move to message catalogs as it is.
"""

from __future__ import annotations

import re
from datetime import datetime

from babel import Locale
from babel.dates import format_skeleton

from newsletter.langtag import locale_for
from newsletter.mail.compose import format_subject
from newsletter.text import safe_header_value

SUBJECT_TARGET = 70
MIN_HEADLINE = 24
# day and month: the inbox shows the year; "Dec 6", "6. Dez.", "6 déc.", "6 de dez."
DATE_SKELETON = "MMMd"

# language -> "only": a digest of one story; plural categories ("one", "other", ...) of
# {more}, the stories after the headline; "untitled": the headline when none is known
SUBJECTS: dict[str, dict[str, str]] = {
    "en": {
        "only": "{site}: {headline} ({date})",
        "one": "{site}: {headline} and {more} more ({date})",
        "other": "{site}: {headline} and {more} more ({date})",
        "untitled": "New stories",
    },
    "de": {
        "only": "{site}: {headline} ({date})",
        "one": "{site}: {headline} und {more} weitere ({date})",
        "other": "{site}: {headline} und {more} weitere ({date})",
        "untitled": "Neue Beiträge",
    },
    "fr": {
        "only": "{site} : {headline} ({date})",
        "one": "{site} : {headline} et {more} autre ({date})",
        "other": "{site} : {headline} et {more} autres ({date})",
        "untitled": "Nouveaux articles",
    },
    "es": {
        "only": "{site}: {headline} ({date})",
        "one": "{site}: {headline} y {more} más ({date})",
        "other": "{site}: {headline} y {more} más ({date})",
        "untitled": "Nuevos artículos",
    },
    "pt": {
        "only": "{site}: {headline} ({date})",
        "one": "{site}: {headline} e mais {more} ({date})",
        "other": "{site}: {headline} e mais {more} ({date})",
        "untitled": "Novos artigos",
    },
    "it": {
        "only": "{site}: {headline} ({date})",
        "one": "{site}: {headline} e un altro ({date})",
        "other": "{site}: {headline} e altri {more} ({date})",
        "untitled": "Nuovi articoli",
    },
    "nl": {
        "only": "{site}: {headline} ({date})",
        "one": "{site}: {headline} en nog {more} ({date})",
        "other": "{site}: {headline} en nog {more} ({date})",
        "untitled": "Nieuwe berichten",
    },
}
# a language without words above: numbers and punctuation only
NEUTRAL = {
    "only": "{site}: {headline} ({date})",
    "other": "{site}: {headline} (+{more}, {date})",
    "untitled": "…",
}


def subject_line(
    template: str, language: str, *, site: str, headline: str, count: int, when: datetime
) -> str:
    """The subject of a digest of `count` stories led by `headline`, built at `when` (in
    the list's time zone): `template` if given, else the words of `language`."""
    locale = locale_for(language)
    words = SUBJECTS.get(locale.language, NEUTRAL)
    if not template:
        more = max(0, count - 1)
        key = "only" if more == 0 else locale.plural_form(more)
        template = words.get(key, words["other"])
    fields = {
        "site": site,
        "date": subject_date(when, locale),
        "count": count,
    }
    headline = shorten(safe_header_value(headline), 120) or words["untitled"]
    subject = format_subject(template, headline=headline, **fields)  # type: ignore[arg-type]
    if len(subject) <= SUBJECT_TARGET or "{headline}" not in template:
        return subject
    room = max(SUBJECT_TARGET - (len(subject) - len(headline)), MIN_HEADLINE)
    return format_subject(template, headline=shorten(headline, room), **fields)  # type: ignore[arg-type]


def subject_date(when: datetime, locale: Locale) -> str:
    """The {date} of a subject in the locale's own short form: `Dec 6`."""
    return format_skeleton(DATE_SKELETON, when, locale=locale)


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at the last word boundary that fits (a
    space, or after a hyphen or slash) and ended with "…"; inside a word only when the
    first word alone is longer than `limit`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace():
        ends = [m.end() for m in _BOUNDARY.finditer(cut)]
        if ends:
            cut = cut[: ends[-1]]
    return cut.rstrip(" ,;:-–—/(") + "…"


_BOUNDARY = re.compile(r"\s+|(?<=\w)[-/–](?=\w)")
