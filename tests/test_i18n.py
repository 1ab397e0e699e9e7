"""The digest's own words and dates in the site's language; right-to-left stories laid out
right to left; `site.language` is a language tag."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from jinja2.ext import babel_extract
from lxml import html as lxml_html
from support.inbox import BUILT_AT, make_config, sample_digest

from newsletter.config import BUILTIN_TEMPLATES, config_from_dict
from newsletter.errors import ConfigError
from newsletter.model import Entry, Item, Section
from newsletter.render import i18n
from newsletter.render.renderer import render_digest, write_digest

URDU_TITLE = "شہر کی کونسل نے نئے پل کا اعلان کر دیا"
URDU_SUMMARY = "کونسل نے پیر کو کہا کہ نیا پل بہار میں کھلے گا اور پرانا پل بند رہے گا۔"


def _messages_in_templates() -> set[str]:
    found: set[str] = set()
    for path in BUILTIN_TEMPLATES.glob("*.*"):
        with path.open("rb") as fh:
            for _, _, message, _ in babel_extract(fh, ("_", "gettext", "ngettext"), [], {}):
                found.update([message] if isinstance(message, str) else message[:1])
    return found


def _messages_in_code() -> set[str]:
    source = (BUILTIN_TEMPLATES.parent / "render" / "view.py").read_text(encoding="utf-8")
    return set(re.findall(r'tr\.(?:n?gettext)\(\s*"([^"]+)"', source)) | {"More stories"}


@pytest.mark.parametrize("language", ["de", "fr", "es", "pt"])
def test_every_message_has_a_translation(language: str) -> None:
    tr = i18n.translator(language)
    wanted = _messages_in_templates() | _messages_in_code()
    assert len(wanted) >= 20
    missing = [m for m in wanted if tr.translations.gettext(m) == m]
    plural_ok = tr.translations.ngettext("%(num)d story", "%(num)d stories", 2) != "%(num)d stories"
    assert missing == [] and plural_ok


def test_catalogs_ship_inside_the_package() -> None:
    assert i18n.catalog_languages() == ["en", "de", "es", "fr", "pt"]
    assert i18n.LOCALE_DIR.parent == BUILTIN_TEMPLATES.parent


@pytest.fixture
def german(tmp_path: Path):
    config = make_config(tmp_path / "output", language="de")
    return config, render_digest(sample_digest(), config)


def test_a_german_site_gets_german_words_and_dates(german) -> None:
    config, rendered = german
    root = lxml_html.document_fromstring(rendered.html)
    text = re.sub(r"\s+", " ", root.text_content())
    assert root.get("lang") == "de" and root.get("dir") == "ltr"
    for words in (
        "Montag, 5. Januar 2026",
        "Im Browser ansehen",
        "In dieser Ausgabe",
        "Weiterlesen",
        "Abbestellen",
        "Abonnement verwalten",
        "Top-Meldung",
        "Sie erhalten diese E-Mail, weil Sie Field Notes (Field Notes Daily)",
    ):
        assert words in text, words
    for english in ("Read more", "In this issue", "Unsubscribe", "View on the web", "Monday"):
        assert english not in text, english
    assert "5. Jan. 2026" in text  # the story dates
    assert (
        "Weiterlesen: https://" in rendered.text
        and f"Abbestellen: {rendered.placeholders.unsubscribe_url}" in rendered.text
    )
    write_digest(rendered, config, "daily", BUILT_AT)
    index = (config.output_dir / "index.html").read_text(encoding="utf-8")
    assert "1 Ausgabe" in index and "Montag, 5. Januar 2026, 07:00" in index


def test_a_regional_tag_falls_back_to_its_language(tmp_path: Path) -> None:
    rendered = render_digest(sample_digest(), make_config(tmp_path / "o", language="pt-BR"))
    assert "Leia mais" in rendered.html and 'lang="pt-BR"' in rendered.html
    english = render_digest(sample_digest(), make_config(tmp_path / "e", language="en-US"))
    assert "Jan 5, 2026" in english.text and "Read more" in english.html


@pytest.mark.parametrize("bad", ["english", "Deutsch", "xx", "en-", ""])
def test_site_language_must_be_a_language_tag(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"site.language = .*(language tag|unknown language)"):
        config_from_dict({"site": {"language": bad}}, base_dir=Path("."))
    config_from_dict({"site": {"language": "pt-BR"}}, base_dir=Path("."))


def _with_urdu_story():
    digest = sample_digest()
    item = Item(
        key="ur-1",
        feed_url="https://urdu.example/feed",
        link="https://urdu.example/1",
        title=URDU_TITLE,
        source="خبریں اردو",
        author="",
        published=BUILT_AT,
    )
    urdu = Section("اردو", (Entry(item=item, summary=URDU_SUMMARY),), slug="urdu")
    return dataclasses.replace(digest, sections=(*digest.sections, urdu))


def test_right_to_left_stories_and_source_lines(tmp_path: Path) -> None:
    config = make_config(tmp_path / "o", mail_items=0, per_section=0)
    root = lxml_html.document_fromstring(render_digest(_with_urdu_story(), config).html)
    cell = next(td for td in root.find_class("item") if URDU_TITLE in td.text_content())
    assert cell.get("dir") == "rtl"
    meta = cell.find_class("meta")[0]
    # the date, in the site's (left-to-right) language, keeps its own direction
    assert [s.get("dir") for s in meta.iter("span")] == ["ltr"]
    assert meta.iter("span").__next__().text_content() == "5 Jan 2026"
    heading = next(h for h in root.find_class("section-title") if h.text_content() == "اردو")
    assert heading.get("dir") == "rtl"
    english = next(td for td in root.find_class("item") if "Mill Street" in td.text_content())
    assert english.get("dir") is None  # the document's direction


def test_a_right_to_left_site_is_laid_out_right_to_left(tmp_path: Path) -> None:
    config = make_config(tmp_path / "o", language="ur")
    rendered = render_digest(_with_urdu_story(), config)
    root = lxml_html.document_fromstring(rendered.html)
    assert root.get("dir") == "rtl" and root.get("lang") == "ur"
    english = [td for td in root.find_class("item") if "Mill Street" in td.text_content()]
    assert english and all(td.get("dir") == "ltr" for td in english)
    urdu = [td for td in root.find_class("item") if URDU_TITLE in td.text_content()]
    assert urdu and all(td.get("dir") is None for td in urdu)
