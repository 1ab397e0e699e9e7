"""The words and dates of the product's own text in the site's language (`site.language`).

Message catalogs are gettext `.po` files under `newsletter/locale/<lang>/LC_MESSAGES/`,
shipped inside the package and read when first needed (compiled in memory with Babel): no
build step a wheel could miss. A language without a catalog falls back to its primary
subtag ("pt-BR" -> "pt"), then to the English source strings. Dates are formatted by
Babel from CLDR data for any language it knows.

Everything that shows text to a reader in the site's language (the digest templates, the
archive page, a subject line) gets a `Translator` from `translator(site.language)`.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "newsletter"
# Bare "en" writes dates day first, as most English-speaking countries do ("5 Jan 2026");
# "en-US" gives "Jan 5, 2026".
_DATE_LOCALE = {"en": "en_GB"}


def catalog_languages() -> list[str]:
    """Languages with a message catalog (English is the source language)."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return ["en", *found]


def parse_locale(tag: str) -> Locale:
    """The Babel locale of a language tag ("pt-BR", "pt_BR", "de"); ValueError if unknown."""
    try:
        return Locale.parse((tag or "").strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as e:
        raise ValueError(f"unknown language tag {tag!r}") from e


@dataclass(frozen=True)
class Translator:
    """Messages, plurals, dates and text direction of one language."""

    language: str  # the tag as configured ("de", "pt-BR")
    locale: Locale
    translations: gettext.NullTranslations = field(repr=False)

    def gettext(self, message: str, **values: object) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    @property
    def direction(self) -> str:
        """ "rtl" for a language written right to left, else "ltr"."""
        return "rtl" if self.locale.text_direction == "rtl" else "ltr"

    @property
    def tag(self) -> str:
        """The BCP 47 tag for `<html lang>` ("pt-BR")."""
        return str(self.locale).replace("_", "-")

    def short_date(self, when: datetime | None, tz: ZoneInfo) -> str:
        """ "5 Jan 2026", "5. Jan. 2026", "5 de jan. de 2026"; "" when unknown."""
        if when is None:
            return ""
        return format_skeleton("yMMMd", _local(when, tz), locale=self._date_locale())

    def long_date(self, when: datetime, tz: ZoneInfo) -> str:
        """ "Monday, 5 January 2026", "Montag, 5. Januar 2026"."""
        return format_date(_local(when, tz), "full", locale=self._date_locale())

    def long_date_time(self, when: datetime, tz: ZoneInfo) -> str:
        """The long date and the time of day ("Monday, 5 January 2026, 07:00")."""
        local = _local(when, tz)
        clock = format_time(local, "HH:mm", locale=self._date_locale())
        return f"{self.long_date(when, tz)}, {clock}"

    def _date_locale(self) -> Locale:
        name = _DATE_LOCALE.get(str(self.locale))
        return Locale.parse(name) if name else self.locale


def _local(when: datetime, tz: ZoneInfo) -> datetime:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(tz)


@lru_cache(maxsize=32)
def translator(language: str) -> Translator:
    """The translator of a language tag; an unknown tag gets English (config validation
    names a bad `site.language` before anything is rendered)."""
    try:
        locale = parse_locale(language or "en")
    except ValueError:
        locale = Locale.parse("en")
    return Translator(language or "en", locale, _translations(locale))


def _translations(locale: Locale) -> gettext.NullTranslations:
    for name in dict.fromkeys((str(locale), locale.language)):
        po = LOCALE_DIR / name / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.is_file():
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=name, domain=DOMAIN)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return gettext.GNUTranslations(buffer)
    return gettext.NullTranslations()


def install(env: jinja2.Environment, language: str) -> Translator:
    """Give the templates of `env` the messages of `language` (`_`, `gettext`,
    `ngettext`, with %(name)s values autoescaped); returns the translator."""
    found = translator(language)
    env.install_gettext_translations(found.translations, newstyle=True)  # type: ignore[attr-defined]
    return found
