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
    assert config.store_path == tmp_path / "data" / "newsletter.sqlite"
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
