"""Summaries: sumy behind an offline tokenizer, the word budget, readability, languages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sumy.nlp.stemmers import null_stemmer
from sumy.parsers.plaintext import PlaintextParser
from sumy.summarizers.reduction import ReductionSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer

from newsletter.analysis.summary import rank as summary_rank
from newsletter.analysis.summary import summarize as summarize_module
from newsletter.analysis.summary.summarize import (
    ALGORITHMS,
    CODE_VERSION,
    OfflineTokenizer,
    best_extract,
    pick,
    prepare,
    rank,
    settings_key,
    summarize,
    summarize_many,
)
from newsletter.config import SummaryConfig
from newsletter.errors import ConfigError
from newsletter.model import Item
from newsletter.text import is_dangling, split_sentences, word_count

# Hand-written samples (no dataset text).
FERRY = """LOWMOOR (Reuters) - The Lowmoor harbour board approved a new ferry route to the island \
of Kell on Tuesday, ending a two-year dispute over fares and timetables.

By Jane Q. Doe

Photo: Ana Souza/Harbour Notes

The ferry will run four times a day from May, using two electric boats built at the town's \
own shipyard. Fares for island residents will be capped at half the mainland price. The \
board said the electric ferry route would cut harbour emissions by a fifth.

It was the ferry operators who had blocked the ferry route, the ferry fares and the ferry \
timetable for two years. But the ferry operators accepted the ferry route after the board \
promised a subsidy for the ferry fares. "We wanted a fair deal for the crews," said Tom \
Reyes, who speaks for the operators.

Island shopkeepers welcomed the decision. Many of them had lost customers since the old \
boat was withdrawn in 2023. The first crossing is planned for the second week of May.

The post Ferry route approved appeared first on Harbour Notes.

Share this:

Leave a comment"""

CHROME_WORDS = ("Reuters", "Jane Q. Doe", "Photo:", "appeared first", "Share this", "comment")

GERMAN = """Der Stadtrat von Seeburg hat am Montag den Bau einer neuen Brücke beschlossen. \
Die Brücke soll den Hafen mit der Altstadt verbinden. Die Kosten liegen bei etwa 12 Mio. \
Euro, z. B. für Stahl und Beton. Er erwartet, dass die Arbeiten im Frühjahr beginnen. \
Anwohner hatten seit Jahren eine bessere Verbindung gefordert. Die Brücke wird auch für \
Radfahrer und Fußgänger offen sein. Die Stadt rechnet mit einer Bauzeit von zwei Jahren."""

RUSSIAN = """Городской совет Озёрска в понедельник одобрил строительство нового моста. Мост \
соединит порт со старым городом. Стоимость проекта составит около 12 млн руб. Он сказал, \
что работы начнутся весной. Жители давно просили о лучшем сообщении между районами. По \
мосту смогут ходить пешеходы и ездить велосипедисты. Строительство займёт около двух лет."""

CHINESE = (
    "湖城市议会周一批准建设一座新桥。新桥将连接港口和老城区。项目费用约为一千二百万元。"
    "工程预计明年春天开工！居民多年来一直要求改善两区之间的交通。新桥也将向行人和自行车开放。"
    "建设工期约为两年。"
)

URDU = (
    "جھیل نگر کی سٹی کونسل نے پیر کو ایک نئے پل کی تعمیر کی منظوری دے دی۔ "
    "یہ پل بندرگاہ کو پرانے شہر سے ملائے گا۔ "
    "منصوبے پر تقریباً بارہ کروڑ روپے لاگت آئے گی۔ "
    "کیا کام بہار میں شروع ہوگا؟ "
    "شہری برسوں سے بہتر رابطے کا مطالبہ کر رہے تھے۔ "
    "پل پر پیدل چلنے والے اور سائیکل سوار بھی گزر سکیں گے۔ "
    "تعمیر میں تقریباً دو سال لگیں گے۔"
)

SAMPLES = {"en": FERRY, "de": GERMAN, "ru": RUSSIAN, "zh": CHINESE, "ur": URDU}


def sentences_of(summary: str, text: str, language: str) -> list[int]:
    """Indexes of the summary's sentences among the cleaned article's; fails if not whole."""
    art = prepare(text, "", language)
    out, rest = [], summary
    while rest:
        match = next(i for i, s in enumerate(art.sentences) if rest.startswith(s))
        out.append(match)
        rest = rest[len(art.sentences[match]) :].lstrip()
    return out


# -- the sumy adapter -------------------------------------------------------------------------


def test_sumy_plaintext_parser_accepts_the_offline_tokenizer() -> None:
    tokenizer = OfflineTokenizer("en")
    assert tokenizer.language == "english"
    parser = PlaintextParser.from_string("The ferry runs daily. Mr. Reyes agreed.", tokenizer)
    assert [str(s) for s in parser.document.sentences] == [
        "The ferry runs daily.",
        "Mr. Reyes agreed.",
    ]
    assert tokenizer.to_words("The 2 ferries' crews") == ("The", "ferries", "crews")
    picked = TextRankSummarizer()(parser.document, 1)
    assert len(picked) == 1


def test_reduction_feature_equals_sumy_reduction() -> None:
    tokenizer = OfflineTokenizer("en")
    parser = PlaintextParser.from_string(FERRY, tokenizer)
    sentences = [str(s) for s in parser.document.sentences]
    summarizer = ReductionSummarizer(null_stemmer)
    summarizer.stop_words = summary_rank.FUNCTION_WORDS_EN
    expected = summarizer.rate_sentences(parser.document)
    terms = summary_rank.terms_for("en")
    counts, sizes = summary_rank.graph([summary_rank.sentence_terms(s, terms) for s in sentences])
    got = summary_rank.reduction_scores(counts, sizes)
    assert np.allclose(got, [expected[s] for s in parser.document.sentences])


def test_works_without_any_nltk_data(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from sumy.nlp.tokenizers import Tokenizer
        try:
            Tokenizer("english")  # sumy's default needs punkt_tab
            print("PUNKT PRESENT")
        except LookupError:
            print("NO PUNKT")
        from newsletter.analysis.summary.summarize import ALGORITHMS, summarize
        text = sys.stdin.read()
        for algorithm in ALGORITHMS:
            for language in ("en", "de", "ru"):
                assert summarize(text, "", language, algorithm, 20), algorithm
        print(summarize(text, "", "en", "newsletter", 20))
        """
    )
    env = {**os.environ, "NLTK_DATA": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=FERRY,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "NO PUNKT"  # the data really is absent in that process
    assert lines[1] and word_count(lines[1]) <= 20


# -- readability ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_no_chrome_in_any_summary(algorithm: str) -> None:
    for budget in (30, 60, 500):
        summary = summarize(FERRY, "Ferry route approved", "en", algorithm, budget)
        assert summary
        for chrome in CHROME_WORDS:
            assert chrome not in summary, (algorithm, budget, summary)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_whole_sentences_in_article_order_within_budget(algorithm: str) -> None:
    for budget in (25, 40, 70):
        summary = summarize(FERRY, "", "en", algorithm, budget)
        order = sentences_of(summary, FERRY, "en")
        assert order == sorted(set(order))
        assert word_count(summary) <= budget


def test_dangling_sentence_never_opens_the_summary() -> None:
    article = prepare(FERRY, "", "en")
    # the most central sentences here start with "It" and "But": without the rule they lead
    top = rank(article, "reduction")[0]
    assert is_dangling(article.sentences[top])
    for algorithm in ALGORITHMS:
        for budget in (20, 30, 45, 60):
            summary = summarize(FERRY, "", "en", algorithm, budget)
            first = split_sentences(summary)[0]
            assert not is_dangling(first), (algorithm, budget, summary)


def test_selection_rules_directly() -> None:
    # the best value sits on a sentence that cannot open: an opener must come with it
    lengths = [10, 10, 10]
    assert best_extract([1.0, 9.0, 1.0], lengths, 20, [True, False, True]) == [0, 1]
    assert best_extract([1.0, 9.0, 1.0], lengths, 10, [True, False, True]) in ([0], [2])
    assert best_extract([1.0, 9.0], [10, 10], 5, [True, True]) is None  # nothing fits
    assert pick([0, 1], [60, 60], [True, True], max_words=50) == [0]  # one whole, never none


def test_pick_defers_a_dangling_sentence_until_an_opener_precedes_it() -> None:
    lengths = [10, 10, 10]
    # ranking puts "1" (dangling) first; it joins once sentence 0 opens the summary
    assert pick([1, 0, 2], lengths, [True, False, True], max_words=20) == [0, 1]
    # sentence 0 can't open: 1 and 2 are taken, 0 never leads
    assert pick([0, 1, 2], lengths, [False, True, True], max_words=20) == [1, 2]


def test_short_text_is_kept_whole() -> None:
    text = "The ferry starts in May. It will run four times a day."
    assert summarize(text, "", "en", "newsletter", 50) == text
    assert summarize(text, "", "en", "textrank", 50) == text


def test_cut_off_last_sentence_is_dropped() -> None:
    text = "The ferry starts in May. Fares for island residents will be capped at half […]"
    assert summarize(text) == "The ferry starts in May."


def test_a_sentence_longer_than_the_budget_is_kept_whole() -> None:
    long = " ".join(["The ferry crosses the bay"] * 5) + "."
    text = f"{long} {long.replace('ferry', 'boat')}"
    summary = summarize(text, "", "en", "newsletter", 10)
    assert summary in (long, long.replace("ferry", "boat"))


def test_fixed_sentence_count() -> None:
    summary = summarize(FERRY, "", "en", "newsletter", 50, sentences=2)
    assert len(split_sentences(summary)) == 2
    assert len(split_sentences(summarize(FERRY, "", "en", "lead", 50, sentences=3))) == 3


def test_title_repeated_as_first_sentence_is_skipped() -> None:
    text = "Ferry route approved.\n\n" + FERRY
    assert not summarize(text, "Ferry route approved", "en", "lead", 40).startswith("Ferry route")


def test_repeated_and_near_duplicate_sentences_appear_once() -> None:
    once = "The island ferry will carry cars, bikes and freight from the harbour in May."
    again = "The island ferry will carry cars, bikes and freight from the harbour from May."
    text = f"{once} Island shops are glad. {once} The mayor spoke. Fares stay low for residents."
    assert summarize(text, "", "en", "newsletter", 40).count("island ferry") == 1
    text = f"{once} Island shops are glad. {again} The mayor spoke at length to the crowd."
    summary = summarize(text, "", "en", "newsletter", 35)
    assert summary.count("island ferry") == 1


def test_deterministic() -> None:
    runs = {summarize(FERRY, "Ferry", "en", algorithm, 40) for algorithm in ["newsletter"] * 3}
    assert len(runs) == 1


# -- languages --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(SAMPLES))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_language_and_algorithm_gives_whole_sentences(language: str, algorithm: str) -> None:
    text = SAMPLES[language]
    summary = summarize(text, "", language, algorithm, 30)
    assert summary
    order = sentences_of(summary, text, language)
    assert order == sorted(set(order))
    assert word_count(summary) <= 30 or len(order) == 1


def test_german_abbreviations_stay_inside_their_sentence() -> None:
    summary = summarize(GERMAN, "", "de", "newsletter", 200)
    assert "12 Mio. Euro, z. B. für Stahl und Beton." in summary
    short = summarize(GERMAN, "", "de-DE", "newsletter", 25)
    assert not short.startswith("Er ")  # German dangling opener


def test_unspaced_and_unknown_languages_never_come_back_empty() -> None:
    assert summarize(CHINESE, "", "zh-CN", "newsletter", 10)
    assert summarize(URDU, "", "ur", "newsletter", 10).endswith("۔")
    assert summarize("Lorem ipsum dolor sit amet", "", "xx", "newsletter", 2)
    assert summarize("!!! ???", "", "en") == "!!! ???"
    assert summarize("   ", "", "en") == ""


def test_unknown_algorithm_names_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"\[summary\] algorithm"):
        summarize(FERRY, algorithm="magic")


# -- settings key and many items ------------------------------------------------------------------


def test_settings_key_tracks_every_setting_and_the_code_version() -> None:
    base = SummaryConfig()
    keys = {
        settings_key(base),
        settings_key(SummaryConfig(algorithm="lead")),
        settings_key(SummaryConfig(max_words=80)),
        settings_key(SummaryConfig(sentences=2)),
        settings_key(SummaryConfig(language="de")),
    }
    assert len(keys) == 5
    assert settings_key(base) == settings_key(SummaryConfig())
    assert CODE_VERSION in settings_key(base) and len(settings_key(base)) < 64


def _item(n: int, text: str, language: str = "en", html: str = "") -> Item:
    return Item(
        key=f"k{n}",
        feed_url="file:///f.xml",
        link=f"https://e.org/{n}",
        title=f"Story {n}",
        text=text,
        html=html,
        language=language,
        content_hash=f"h{n}",
    )


def test_summarize_many_by_content_hash_with_languages_and_no_chrome_fallback() -> None:
    items = [
        _item(1, FERRY),
        _item(1, FERRY),  # the same content twice: one summary
        _item(2, GERMAN, "de"),
        # ingest left no text: the body was only chrome, which must not become the summary
        _item(3, "", html="<p>By Ana Lima and Tom Berg</p><p>Read more</p>"),
    ]
    got = summarize_many(items, SummaryConfig(max_words=30))
    assert set(got) == {"h1", "h2", "h3"}
    assert got["h1"] == summarize(FERRY, "Story 1", "en", "newsletter", 30)
    assert got["h2"] == summarize(GERMAN, "Story 2", "de", "newsletter", 30)
    assert got["h3"] == ""  # not the byline, not the title "Story 3"
    forced = summarize_many(items[2:3], SummaryConfig(language="en"))
    assert forced["h2"] == summarize(GERMAN, "Story 2", "en")
    unknown = summarize_many([_item(4, GERMAN, "")], SummaryConfig(), default_language="de")
    assert unknown["h4"] == summarize(GERMAN, "Story 4", "de")
    assert unknown["h4"] != summarize(GERMAN, "Story 4", "en")  # the language mattered


def test_summarize_many_is_the_same_with_a_process_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summarize_module, "POOL_MIN_ITEMS", 20)
    texts = list(SAMPLES.values())
    items = [
        _item(n, texts[n % len(texts)] + f" Item {n} ends here.", list(SAMPLES)[n % 5])
        for n in range(40)
    ]
    config = SummaryConfig(max_words=25)
    try:
        pooled = summarize_many(items, config, workers=2)
        assert summarize_module._POOL is not None  # the pool really ran
    finally:
        summarize_module._close_pool()
    assert pooled == summarize_many(items, config, workers=1)


def test_summarize_many_rejects_an_unknown_algorithm() -> None:
    with pytest.raises(ConfigError):
        summarize_many([_item(1, FERRY)], SummaryConfig(algorithm="magic"))


def test_words_are_stemmed_by_language_from_threads_alike():
    from concurrent.futures import ThreadPoolExecutor

    from newsletter.analysis.summary.rank import stemmer_for

    english, german = stemmer_for("english"), stemmer_for("german")
    assert [english(w) for w in ("running", "generously", "caresses")] == [
        "run",
        "generous",
        "caress",
    ]
    assert german("häuser") == "haus"
    assert stemmer_for("slovak")("mestami") == stemmer_for("czech")("mestami") != "mestami"
    assert stemmer_for("ukrainian")("містами") != "містами"  # sumy's own stemmer
    assert stemmer_for("chinese")("ABC") == "abc"  # no stemmer: lower case only
    words = [f"{w}{n}ing" for n in range(300) for w in ("walk", "talk", "jump")]
    with ThreadPoolExecutor(4) as pool:
        stems = list(pool.map(english, words * 4))
    assert stems == [english(w) for w in words * 4]
