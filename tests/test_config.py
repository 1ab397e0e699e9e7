import re
from pathlib import Path

import pytest

from newsletter.config import INIT_TEMPLATE, default_config, load_config, with_feeds
from newsletter.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_init_template_loads_and_resolves_paths(tmp_path):
    key = "k" * 40
    config = load_config(write(tmp_path, INIT_TEMPLATE), env={"NEWSLETTER_SECRET_KEY": key})
    assert config.list().name == "daily"
    assert config.list().sender.startswith("My Site")
    assert config.store_path == tmp_path / "newsletter.sqlite"  # named after the config
    assert config.output_dir == tmp_path / "output"
    assert config.secret_key == key
    assert config.feeds[0].url == "https://example.org/feed.xml"


def test_unknown_key_is_named_with_allowed_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key fetch\.timout.*allowed keys.*timeout"):
        load_config(write(tmp_path, "[fetch]\ntimout = 3\n"))


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ConfigError, match="unknown top-level key 'feed'"):
        load_config(write(tmp_path, '[[feed]]\nurl = "x"\n'))


def test_wrong_type_names_key_and_expected_type(tmp_path):
    with pytest.raises(ConfigError, match=r"fetch\.concurrency must be an integer, got str"):
        load_config(write(tmp_path, '[fetch]\nconcurrency = "many"\n'))


def test_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError, match="newsletter init"):
        load_config(tmp_path / "nope.toml")


def test_bad_toml_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[site\n"))


def test_bad_cadence_and_timezone(tmp_path):
    with pytest.raises(ConfigError, match="cadence"):
        load_config(write(tmp_path, '[list]\ncadence = "hourly"\n'))
    with pytest.raises(ConfigError, match="timezone"):
        load_config(write(tmp_path, '[list]\ntimezone = "Mars/Olympus"\n'))


def test_relative_feed_path_resolves_against_config_folder(tmp_path):
    config = load_config(write(tmp_path, '[[feeds]]\nurl = "feeds/a.xml"\n'))
    assert config.feeds[0].url == str(tmp_path / "feeds" / "a.xml")


def test_several_lists_and_feeds_for(tmp_path):
    text = """
[[lists]]
name = "all"
[[lists]]
name = "tech"
feeds = ["https://a.example/feed"]
[[feeds]]
url = "https://a.example/feed"
[[feeds]]
url = "https://b.example/feed"
"""
    config = load_config(write(tmp_path, text))
    assert [f.url for f in config.feeds_for("all")] == [
        "https://a.example/feed",
        "https://b.example/feed",
    ]
    assert [f.url for f in config.feeds_for("tech")] == ["https://a.example/feed"]
    with pytest.raises(ConfigError, match="no list named 'x'"):
        config.list("x")


def test_default_config_uses_bundled_seeds(tmp_path):
    config = default_config(tmp_path)
    assert len(config.feeds) >= 3
    assert all(Path(f.url).is_file() for f in config.feeds)


def test_with_feeds_replaces_feeds(tmp_path):
    config = with_feeds(default_config(tmp_path), ["https://x.example/rss"])
    assert [f.url for f in config.feeds] == ["https://x.example/rss"]


def test_require_secret_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET_KEY"):
        default_config(tmp_path).require_secret()


# -- every key is checked when the config loads ---------------------------------------------
@pytest.mark.parametrize(
    "text, key, fix",
    [
        ('[site]\nlanguage = "english"\n', "site.language", "'en', 'de'"),
        ('[site]\nlanguage = "pt_BR"\n', "site.language", "'pt-BR'"),
        ('[site]\nlanguage = "xx"\n', "site.language", "unknown language"),
        ('[site]\nurl = "news.example.org"\n', "site.url", "https://"),
        ('[summary]\nalgorithm = "bart"\n', "summary.algorithm", "'textrank'"),
        ('[summary]\nlanguage = "German"\n', "summary.language", "BCP 47"),
        ('[smtp]\nsecurity = "ssl"\n', "smtp.security", "'starttls', 'tls', 'none'"),
        ("[smtp]\nport = 70000\n", "smtp.port", "between 1 and 65535"),
        ('[smtp]\nhost = "smtp://mail.example.org"\n', "smtp.host", "'mail.example.org'"),
        ("[fetch]\nconcurrency = 0\n", "fetch.concurrency", "between 1"),
        ("[fetch]\ntimeout = -1\n", "fetch.timeout", "seconds"),
        ("[digest]\nhtml_budget_kb = 1\n", "digest.html_budget_kb", "at least 10"),
        ("[web]\nconfirm_max_age_days = 0\n", "web.confirm_max_age_days", "between 1"),
        ('[list]\nfrom = "digest at example"\n', "list.from", "one address"),
        ('[list]\nreply_to = "a@example.org, b@example.org"\n', "list.reply_to", "one address"),
        ('[list]\nname = "my list/x"\n', "list.name", "letters, digits"),
        ('[list]\nsubject = "{site}: {headlines}"\n', "list.subject", "{headline}"),
        ('[list]\nbacklog = "week"\n', "list.backlog", "'days:N'"),
        ("[list]\nmin_items = 0\n", "list.min_items", "at least 1"),
        ('[list]\ncadence = "hourly"\n', "list.cadence", "'daily at HH:MM'"),
        ('[list]\ntimezone = "Mars/Olympus"\n', "list.timezone", "IANA"),
        ('[[feeds]]\nurl = "feed://example.org/rss"\n', "feeds[0].url", "https://"),
        ('[[feeds]]\nurl = "x.xml"\nlanguage = "fr_FR"\n', "feeds[0].language", "'fr-FR'"),
        ('[store]\ndir = "x"\n', "store.dir", "allowed keys in [store]: path"),
        ('[output]\npath = "x"\n', "output.path", "allowed keys in [output]: dir"),
    ],
)
def test_a_bad_value_is_refused_at_load_naming_the_key_and_the_fix(tmp_path, text, key, fix):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert key in message and fix in message, message
    assert str(tmp_path / "newsletter.toml") in message  # which file


def test_good_values_of_the_checked_keys_load(tmp_path):
    text = """
[site]
language = "pt-BR"
[list]
name = "weekly.pt"
from = "Jornal <jornal@example.com.br>"
subject = "{site} – {headline} (+{more})"
backlog = "days:3.5"
[[feeds]]
url = "feeds/a.xml"
language = "zh-Hant-TW"
[summary]
algorithm = "textrank"
language = "de"
[digest]
max_items = 0
"""
    config = load_config(write(tmp_path, text))
    assert config.site.language == "pt-BR" and config.summary.algorithm == "textrank"


def test_a_quoted_number_or_boolean_names_the_fix(tmp_path):
    text = '[smtp]\nport = "587"\nallow_insecure = "true"\n[fetch]\nuser_agent = 5\n'
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert "write smtp.port = 587 without quotes" in message
    assert "write smtp.allow_insecure = true without quotes" in message
    assert "fetch.user_agent must be a string, got int 5" in message


def test_every_problem_is_reported_at_once(tmp_path):
    text = (
        '[site]\nlanguage = "english"\n[summary]\nalgorithm = "bart"\n[fetch]\ntimout = 3\n'
        '[list]\nfeeds = ["https://x.example/feed"]\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert "4 problems" in message  # the keys' own and those across keys, together
    for key in ("site.language", "summary.algorithm", "fetch.timout", "no [[feeds]] entry"):
        assert key in message


def test_rules_across_keys(tmp_path):
    cases = [
        ('[list]\nfeeds = ["https://a.example/feed"]\n', "no [[feeds]] entry has"),
        ('[[feeds]]\nurl = "a.xml"\n[[feeds]]\nurl = "a.xml"\n', "listed twice"),
        ('[dkim]\nselector = "mail"\n', "dkim.domain, dkim.key_file"),
        ('[dkim]\nselector = "m"\ndomain = "example.org"\nkey_file = "k.pem"\n', "not found"),
        ('[smtp]\nhost = "mail.example.org"\nsecurity = "none"\n', "allow_insecure"),
        ('[digest]\ntemplate_dir = "mine"\n', "digest.template_dir"),
        ('[[lists]]\nname = "a"\n[[lists]]\nname = "a"\n', "two lists are named 'a'"),
        ('[[lists]]\nname = "a"\n[[lists]]\nname = "b/c"\n', "lists[1].name"),
        ("[summary]\nmax_words = 3\n", "summary.max_words must be at least 5"),
    ]
    for text, expected in cases:
        with pytest.raises(ConfigError, match=re.escape(expected)):
            load_config(write(tmp_path, text))


def test_every_key_has_a_rule_or_is_free_text():
    import dataclasses

    from newsletter import config as cfg
    from newsletter.config_rules import KEY_RULES

    sections = {**cfg._SECTIONS, "list": cfg.ListConfig, "feeds": cfg.FeedConfig}
    keys = {
        f"{name}.{'from' if f.name == 'sender' else f.name}"
        for name, cls in sections.items()
        for f in dataclasses.fields(cls)
    } | {"store.path", "output.dir"}
    # free text, booleans, and the keys a whole-config rule checks (paths, list feeds)
    free = {
        "site.address",
        "site.description",
        "list.resend_edited",
        "list.feeds",
        "smtp.allow_insecure",
        "dkim.key_file",
        "digest.template_dir",
        "run.lock_file",
        "bounces.delete_processed",
        "bounces.require_signature",
        "digest.lead",
    }
    assert set(KEY_RULES) <= keys, set(KEY_RULES) - keys  # no rule for a key that is gone
    assert keys - free <= set(KEY_RULES), keys - free - set(KEY_RULES)


def test_the_config_knows_every_summarizer():
    from newsletter.analysis.summary.summarize import ALGORITHMS
    from newsletter.config_rules import SUMMARY_ALGORITHMS

    assert set(SUMMARY_ALGORITHMS) == set(ALGORITHMS)


def test_store_defaults_to_the_config_name_beside_it(tmp_path):
    path = tmp_path / "tech.toml"
    path.write_text("", encoding="utf-8")
    assert load_config(path).store_path == tmp_path / "tech.sqlite"
    path.write_text('[store]\npath = "db/x.sqlite"\n', encoding="utf-8")
    assert load_config(path).store_path == tmp_path / "db" / "x.sqlite"
    sample = default_config(tmp_path)
    assert sample.store_path == tmp_path / "output" / ".newsletter" / "newsletter.sqlite"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("x", "too short"),
        ("k" * 31, "too short"),
        ("\u00e9" * 15, "too short"),  # 30 bytes, though 15 characters
        (" " * 40, "whitespace"),
        ("a" * 40 + "\n", "whitespace"),
        ("correct horse battery staple and more words", "whitespace"),
    ],
)
def test_a_weak_or_mangled_secret_key_is_refused(tmp_path, key, reason):
    config = default_config(tmp_path, env={"NEWSLETTER_SECRET_KEY": key})
    with pytest.raises(ConfigError, match=reason) as raised:
        config.require_secret()
    assert "secrets.token_urlsafe(32)" in str(raised.value)  # the message says how to make one


def test_a_32_byte_key_is_accepted(tmp_path):
    for key in ("k" * 32, "\u00e9" * 16):
        assert default_config(tmp_path, env={"NEWSLETTER_SECRET_KEY": key}).require_secret() == key
