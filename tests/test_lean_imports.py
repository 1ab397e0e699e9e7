"""A build imports only what its work needs: scikit-learn, NLTK and sumy's summarizers
load in about a second, more than a whole build with a few new stories costs, so they are
imported only where a model is fitted or a sumy algorithm is asked for. SciPy (a tenth of
a second) loads only with them, or to cluster a digest that has no kept topic model."""

from __future__ import annotations

import json
import random
import string

from support.imports import PARSING_AND_AFTER, loaded_after
from support.sections import TOPICS, story

from newsletter import langtag
from newsletter.analysis.themes import topics as themes_topics
from newsletter.analysis.themes.topics import Vocabulary, topic_model


def test_the_command_line_and_the_build_pipeline_start_without_the_analysis_libraries():
    assert loaded_after("import newsletter.cli, newsletter.cli.build") == []
    modules = (
        "newsletter.run.digest, newsletter.run.runner, newsletter.analysis.dedupe.index, "
        "newsletter.analysis.themes.sections, newsletter.analysis.summary.summarize"
    )
    assert loaded_after(f"import {modules}") == []


def test_a_build_with_nothing_new_loads_no_parser_analysis_or_templates(tmp_path):
    build = (
        "from newsletter.cli import cli\n"
        "try:\n    cli(['build'], prog_name='newsletter')\n"
        "except SystemExit as e:\n    assert not e.code, e.code"
    )
    assert "feedparser" in loaded_after(build, PARSING_AND_AFTER, tmp_path)  # the first build
    assert loaded_after(build, PARSING_AND_AFTER, tmp_path) == []  # the bundled feeds again
    assert list(tmp_path.glob("output/*/*/digest.html"))


def test_the_default_summaries_need_no_nltk_or_sumy_summarizer():
    code = (
        "from newsletter.analysis.summary.summarize import summarize\n"
        "text = ' '.join(f'Sentence {i} says the harbour reopened after repairs.' "
        "for i in range(12))\n"
        "assert summarize(text, title='Harbour', max_words=20)"
    )
    assert loaded_after(code) == []


def test_a_kept_topic_model_takes_new_texts_in_without_scikit_learn(tmp_path):
    rng = random.Random(11)
    topics = sorted(TOPICS)
    texts = [story(rng, topics[i % len(topics)]) for i in range(300)]
    fitted = topic_model([], Vocabulary(texts, cache_dir=tmp_path), 6)
    assert fitted is not None
    newer = texts[:-5] + [story(rng, topics[0]) for _ in range(5)]
    (tmp_path / "texts.json").write_text(json.dumps(newer))
    code = (
        "import json, pathlib\n"
        "from newsletter.analysis.themes.topics import Vocabulary, topic_model\n"
        f"folder = pathlib.Path({str(tmp_path)!r})\n"
        "texts = json.loads((folder / 'texts.json').read_text())\n"
        "model = topic_model([], Vocabulary(texts, cache_dir=folder), 6)\n"
        "(folder / 'seen.json').write_text(json.dumps(model.term_counts()[0][1]))\n"
    )
    assert loaded_after(code) == []
    assert json.loads((tmp_path / "seen.json").read_text()) == 305  # the 5 were folded in
    themes_topics._CACHE.clear()


def test_loading_a_config_leaves_babel_and_the_mail_header_parser_unloaded(tmp_path):
    (tmp_path / "newsletter.toml").write_text(
        '[site]\nname = "Nachrichten"\nurl = "https://news.example.org"\nlanguage = "de"\n'
    )
    code = (
        "import sys\nfrom newsletter.config import load_config\n"
        "config = load_config('newsletter.toml')\n"
        "assert config.site.language == 'de'\n"
        "assert 'email.policy' not in sys.modules and 'urllib.request' not in sys.modules"
    )
    assert loaded_after(code, ("babel",), tmp_path) == []


def test_a_language_with_locale_data_is_one_babel_knows():
    """The quick check at config load (a file of babel's locale data) never accepts a
    language babel itself would refuse."""
    codes = [a + b for a in string.ascii_lowercase for b in string.ascii_lowercase]
    codes += ["ast", "fil", "haw", "yue", "xxx", "zzz"]
    with_data = [c for c in codes if langtag._has_locale_data(c)]
    assert "en" in with_data and "de" in with_data and "zz" not in with_data
    assert len(with_data) > 100
    assert [c for c in with_data if langtag._known(c) is None] == []
    assert langtag.language_tag_problem("iw") is None  # an old code babel knows: no file
