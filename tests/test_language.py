"""One source of stop words, offline language detection, and sections that respect both.

Every sentence here is written for these tests."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from newsletter.analysis.language.detect import detect, story_language
from newsletter.analysis.language.scripts import is_rtl
from newsletter.analysis.language.stopwords import (
    function_words,
    known_languages,
    language_blind,
    stop_words,
)
from newsletter.analysis.summary import rank
from newsletter.analysis.themes import labels
from newsletter.analysis.themes.labels import text_labels
from newsletter.analysis.themes.languages import language_blocks
from newsletter.analysis.themes.sections import group_sections
from newsletter.config import ThemesConfig
from newsletter.model import Entry, Item

SAMPLES = {
    "en": "The council said on Monday that the new bridge would open in the spring, and "
    "that the old one will be closed for repairs until the end of the year.",
    "de": "Der Stadtrat hat am Montag gesagt, dass die neue Brücke im Frühjahr eröffnet "
    "wird und die alte Brücke bis zum Ende des Jahres für Reparaturen gesperrt ist.",
    "fr": "Le conseil a annoncé lundi que le nouveau pont ouvrira au printemps et que "
    "l'ancien sera fermé pour des travaux jusqu'à la fin de l'année.",
    "es": "El ayuntamiento dijo el lunes que el nuevo puente se abrirá en la primavera y "
    "que el viejo estará cerrado por obras hasta el final del año.",
    "pt": "A câmara disse na segunda-feira que a nova ponte vai abrir na primavera e que "
    "a antiga ficará fechada para obras até ao fim do ano.",
    "it": "Il consiglio ha detto lunedì che il nuovo ponte sarà aperto in primavera e che "
    "il vecchio resterà chiuso per lavori fino alla fine dell'anno.",
    "nl": "De gemeenteraad zei maandag dat de nieuwe brug in het voorjaar opengaat en dat "
    "de oude brug tot het einde van het jaar dicht is voor herstel.",
    "sk": "Mestská rada v pondelok povedala, že nový most sa otvorí na jar a že starý most "
    "bude až do konca roka zatvorený pre opravy, ktoré sú nutné.",
    "cs": "Městská rada v pondělí řekla, že nový most se otevře na jaře a že starý most "
    "bude až do konce roku zavřený kvůli opravám, které jsou nutné.",
    "ur": "شہر کی کونسل نے پیر کو کہا کہ نیا پل بہار میں کھلے گا اور پرانا پل سال کے آخر تک "
    "مرمت کے لیے بند رہے گا۔",
    "ar": "قال المجلس البلدي يوم الاثنين إن الجسر الجديد سيفتح في الربيع وإن الجسر القديم "
    "سيبقى مغلقا للإصلاح حتى نهاية العام.",
    "ru": "Городской совет в понедельник сообщил, что новый мост откроется весной, а старый "
    "будет закрыт на ремонт до конца года.",
}


@pytest.mark.parametrize("code", list(SAMPLES))
def test_detects_the_language_of_a_paragraph(code: str) -> None:
    assert detect(SAMPLES[code]) == code


def test_unclear_text_keeps_the_declared_language() -> None:
    assert detect("iPhone 15") == ""
    assert story_language("iPhone 15", "pt-BR") == "pt"
    assert story_language(SAMPLES["de"], "en-us") == "de"  # the words win over the feed
    assert story_language("", "") == ""


def test_right_to_left_scripts() -> None:
    assert is_rtl(SAMPLES["ur"]) and is_rtl(SAMPLES["ar"]) and is_rtl("שלום עולם")
    assert not is_rtl(SAMPLES["en"]) and not is_rtl("")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("en", "the and of"),
        ("de", "und war ab diese man die"),
        ("fr", "les et dans"),
        ("es", "los y del"),
        ("pt", "não do segunda feira"),  # weekday names from CLDR
        ("it", "della che"),
        ("nl", "het een"),
        ("sk", "sa je aj"),
        ("cs", "se je jsou"),
        ("ur", "اور میں کے"),
        ("ar", "في من على"),
    ],
)
def test_every_language_we_summarize_has_stop_words(code: str, words: str) -> None:
    assert set(words.split()) <= stop_words(code)


def test_one_source_for_summaries_labels_and_topics() -> None:
    assert rank.FUNCTION_WORDS_EN == function_words("en")
    assert rank.resources("german").stop_words == function_words("de")
    assert labels.STOP_WORDS == language_blind()
    assert set(known_languages()) >= {"en", "de", "fr", "es", "pt", "it", "nl", "sk", "cs"}


def test_language_blind_list_keeps_english_topic_words() -> None:
    blind = language_blind()
    for topic in ("war", "car", "pod", "die", "door", "gift", "sun", "dog"):
        assert topic not in blind, topic
    for foreign in ("und", "nicht", "não", "och", "jsou", "اور"):
        assert foreign in blind, foreign


def _german_group_texts(rng: random.Random) -> list[str]:
    heads = ["Bahnstreik", "Fahrplan", "Lokführer", "Stellwerk"]
    filler = "Das war ab heute so und man sagt, diese Woche war schwer, weil die Bahn"
    return [f"{rng.choice(heads)}: {filler} {rng.choice(heads)} {filler}" for _ in range(6)]


def test_labels_of_a_german_group_are_not_function_words() -> None:
    rng = random.Random(3)
    texts = _german_group_texts(rng) + [SAMPLES["en"]] * 6
    titles = [t.split(":")[0] for t in texts]
    found = text_labels(texts, titles, [list(range(6))], "Stories", languages=["de"] * 12)
    words = {w.lower() for w in found[0].replace("&", " ").split()}
    assert words and not words & stop_words("de"), found


def _entry(n: int, text: str, feed: str, language: str = "") -> Entry:
    item = Item(
        key=f"{feed}-{n}",
        feed_url=f"https://{feed}.example/feed",
        link=f"https://{feed}.example/{n}",
        title=text.split(".")[0][:60],
        text=text,
        language=language,
        source=feed,
    )
    return Entry(item=item, summary=text[:80])


def test_sections_never_mix_languages() -> None:
    rng = random.Random(5)
    topics = {
        "rail": "The rail operator said trains and timetables and the new signals at the "
        "station will change, and commuters said the trains were late again.",
        "garden": "The allotment society said the garden plots and the compost and the "
        "seed swap will move, and gardeners said the soil was wet again.",
    }
    entries = [
        _entry(n, f"{topics[t]} Story {n} of {t}.", f"en-{t}", "en")
        for t in topics
        for n in range(8)
    ]
    entries += [_entry(n, SAMPLES["de"] + f" Nummer {n}.", "de-news", "en") for n in range(6)]
    entries += [_entry(n, SAMPLES["pt"], "pt-news", "") for n in range(3)]
    entries += [_entry(n, SAMPLES["ur"], "ur-news", "ur") for n in range(2)]
    rng.shuffle(entries)
    sections = group_sections(entries, ThemesConfig())
    where = {e.item.key: s.label for s in sections for e in s.entries}
    assert {where[e.item.key] for e in entries if e.item.feed_url.startswith("https://de-")} == {
        "Deutsch"
    }
    for s in sections:
        langs = Counter(detect(e.item.text) for e in s.entries)
        if len(langs) > 1:  # only the section named after its languages holds several
            assert s.label == "Português · اردو", s.label
    assert not [s for s in sections if s.label == "More stories"]


def test_language_blocks_share_the_sections_by_size() -> None:
    codes = ["en"] * 30 + ["de"] * 12 + ["pt"] * 3 + ["ur"] * 1 + [""] * 4
    blocks, rest = language_blocks(codes, max_sections=8, min_size=2)
    assert blocks[0].language == "en" and blocks[0].themed
    assert len(blocks[0].members) == 34  # the unknown go with the main language
    named = [b.label for b in blocks if not b.themed]
    assert "Deutsch" in named or any(b.language == "de" for b in blocks)
    assert "Português · اردو" in named and rest == []
    assert sum(b.sections for b in blocks) <= 8
