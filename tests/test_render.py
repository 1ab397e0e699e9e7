"""render.py: templates, escaping, inlined CSS, the size budget, the text part, the archive."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import html as lxml_html
from support.inbox import (
    BUILT_AT,
    EVERY_STORY,
    SITE_URL,
    big_digest,
    make_config,
    sample_digest,
)

from newsletter.errors import ConfigError
from newsletter.model import Digest, Entry, Item, Section
from newsletter.render.archive_list import KEPT
from newsletter.render.renderer import (
    make_environment,
    render_digest,
    render_index,
    web_version,
    write_digest,
)
from newsletter.render.view import PREHEADER_MAX, PREHEADER_MIN


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture
def config(tmp_path: Path):
    return make_config(tmp_path / "output")


@pytest.fixture
def sample(config):
    return render_digest(sample_digest(), config)


def test_html_has_every_story_link_and_the_footer(sample, config) -> None:
    root = lxml_html.document_fromstring(sample.html)
    hrefs = [a.get("href") for a in root.iter("a")]
    for entry in sample_digest().entries:
        assert entry.link in hrefs
    text = _words(root.text_content())
    assert "Field Notes" in text and "Monday, 5 January 2026" in text
    assert "Also in: Bristol Growers" in text
    assert "You are receiving this because you subscribed to Field Notes" in text
    assert config.site.address in text
    marks = sample.placeholders
    assert marks.unsubscribe_url in hrefs and marks.manage_url in hrefs
    assert "https://growers.example.com/notes/rain-gauges" in hrefs


def test_feed_strings_are_escaped(sample) -> None:
    assert "<script>" not in sample.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sample.html
    root = lxml_html.document_fromstring(sample.html)
    assert not list(root.iter("script"))


def test_read_more_links_have_descriptive_names(sample) -> None:
    root = lxml_html.document_fromstring(sample.html)
    more = [a for a in root.iter("a") if a.text_content().strip() == "Read more"]
    assert len(more) == 9
    for a in more:
        assert a.get("aria-label", "").startswith("Read more: ")
        assert len(a.get("aria-label")) > len("Read more: ") + 10


def test_only_https_images_with_alt_and_size(sample) -> None:
    root = lxml_html.document_fromstring(sample.html)
    images = list(root.iter("img"))
    srcs = [img.get("src") for img in images]
    # the http:// image and the data: URI in the sample are dropped, the https ones kept
    assert srcs == [
        "https://allotment.example.net/img/gauge.jpg",
        "https://benchnotes.example.com/bat.png",
    ]
    for img in images:
        assert img.get("alt") and img.get("width") and img.get("height")


def test_css_is_inlined_and_only_media_rules_stay(sample) -> None:
    root = lxml_html.document_fromstring(sample.html)
    styles = list(root.iter("style"))
    assert len(styles) == 1 and styles[0].getparent().tag == "head"
    css = styles[0].text
    without_media = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", css).strip()
    assert without_media == ""
    assert "prefers-color-scheme:dark" in css and "max-width:620px" in css
    assert "!important" in css
    summary = root.find_class("summary")[0]
    assert "color:#1f2937" in summary.get("style")
    assert sample.html.startswith("<!DOCTYPE html>")
    assert sample.html.index('<meta charset="utf-8">') < sample.html.index("<style>")


def test_layout_tables_and_container(sample) -> None:
    root = lxml_html.document_fromstring(sample.html)
    tables = list(root.iter("table"))
    assert tables and all(t.get("role") == "presentation" for t in tables)
    assert root.find_class("container")[0].get("width") == "600"
    assert root.get("lang") == "en"
    forbidden = ("script", "form", "link", "iframe")
    assert not [el for el in root.iter() if el.tag in forbidden]
    assert not re.search(r"display:\s*(flex|grid)|var\(--", sample.html)


def test_toc_links_point_at_section_ids(sample) -> None:
    root = lxml_html.document_fromstring(sample.html)
    toc = [a.get("href") for a in root.find_class("toc-link")]
    ids = [h.get("id") for h in root.find_class("section-title")]
    assert toc == [f"#{i}" for i in ids] == ["#s-gardening", "#s-cycling", "#s-science-nature"]


def test_preheader_is_truthful_and_sized(sample) -> None:
    assert PREHEADER_MIN <= len(sample.preheader) <= PREHEADER_MAX
    assert sample.preheader.startswith("Rain gauges on every allotment")
    assert "New contraflow lane opens on Mill Street" in sample.preheader
    root = lxml_html.document_fromstring(sample.html)
    first = next(iter(root.find("body")))
    assert first.text_content() == sample.preheader
    assert "display:none" in first.get("style")


@pytest.mark.parametrize(
    "titles",
    [["Hi"], ["A very long headline " * 12], ["Short one", "Another short one"], []],
)
def test_preheader_length_in_every_case(config, titles: list[str]) -> None:
    entries = tuple(
        Entry(item=Item(key=str(i), feed_url="f", link=f"https://e.org/{i}", title=t), summary="s")
        for i, t in enumerate(titles)
    )
    digest = Digest(
        "daily", "Field Notes", SITE_URL, BUILT_AT, (Section("News", entries),) if entries else ()
    )
    rendered = render_digest(digest, config)
    assert PREHEADER_MIN <= len(rendered.preheader) <= PREHEADER_MAX, rendered.preheader


def test_text_part_has_the_same_stories_and_links(sample) -> None:
    flat = _words(sample.text)
    for entry in sample_digest().entries:
        assert entry.title in flat
        assert _words(entry.summary) in flat
        assert f"Read more: {entry.link}" in sample.text
    assert f"Unsubscribe: {sample.placeholders.unsubscribe_url}" in sample.text
    assert f"Manage your subscription: {sample.placeholders.manage_url}" in sample.text
    assert "Also in: Bristol Growers (https://growers.example.com/notes/rain-gauges)" in flat
    assert "\n-- \n" in sample.text
    long_lines = [line for line in sample.text.splitlines() if len(line) > 78 and "://" not in line]
    assert long_lines == []


def test_unsafe_links_are_not_linked(config) -> None:
    item = Item(
        key="x",
        feed_url="f",
        link="javascript:alert(1)",
        title="Sneaky",
        source="Odd Feed",
        image="https://ok.example.org/i.png",
    )
    digest = Digest(
        "daily",
        "Field Notes",
        SITE_URL,
        BUILT_AT,
        (Section("News", (Entry(item=item, summary="text"),)),),
    )
    rendered = render_digest(digest, config)
    assert "javascript:" not in rendered.html and "javascript:" not in rendered.text
    assert "Sneaky" in rendered.html
    assert rendered.data["sections"][0]["items"][0]["link"] == ""


def test_duplicate_section_labels_get_unique_ids(config) -> None:
    def section(n: int) -> Section:
        item = Item(key=str(n), feed_url="f", link=f"https://e.org/{n}", title=f"Story {n}")
        return Section("World news", (Entry(item=item, summary="s"),))

    digest = Digest("daily", "Field Notes", SITE_URL, BUILT_AT, (section(1), section(2)))
    config = dataclasses.replace(config, digest=dataclasses.replace(config.digest, lead=False))
    root = lxml_html.document_fromstring(render_digest(digest, config).html)
    ids = [h.get("id") for h in root.find_class("section-title")]
    assert ids == ["s-world-news", "s-world-news-2"]


def test_data_is_the_json_record(sample) -> None:
    data = json.loads(json.dumps(sample.data))
    assert data["site"] == {"name": "Field Notes", "url": SITE_URL}
    assert data["list"] == {"name": "daily", "title": "Field Notes Daily"}
    assert data["built_at"] == BUILT_AT.isoformat()
    assert [s["label"] for s in data["sections"]] == ["Gardening", "Cycling", "Science & Nature"]
    assert [s["slug"] for s in data["sections"]] == ["gardening", "cycling", "science-nature"]
    first = data["sections"][0]["items"][0]
    assert set(first) == {
        "title",
        "link",
        "sources",
        "published",
        "summary",
        "image",
        "author",
        "categories",
        "lead",
        "in_mail",
    }
    assert first["sources"] == [
        {"name": "Allotment Diary", "link": first["link"]},
        {"name": "Bristol Growers", "link": "https://growers.example.com/notes/rain-gauges"},
    ]
    assert first["published"] == "2026-01-05T03:00:00+00:00"
    assert first["categories"] == ["gardening", "weather"]
    assert data["sections"][0]["items"][1]["image"] == ""  # the http:// image
    assert data["feeds_failed"] == [
        {"url": "https://broken.example.net/feed", "reason": "HTTP 503"}
    ]


def test_sixty_items_fit_the_default_budget(tmp_path: Path) -> None:
    config = make_config(tmp_path / "output", **EVERY_STORY)
    rendered = render_digest(big_digest(60), config)
    size = len(rendered.html.encode())
    print(f"60-item digest: {size} bytes of HTML, {len(rendered.text.encode())} of text")
    assert size <= 90 * 1024
    assert rendered.trimmed == 0
    assert rendered.html.count('class="title-link"') == 60


def test_over_budget_trims_whole_stories_per_section(tmp_path: Path) -> None:
    config = make_config(tmp_path / "output", budget_kb=40, **EVERY_STORY)
    digest = big_digest(60)
    rendered = render_digest(digest, config)
    size = len(rendered.html.encode())
    assert size <= 40 * 1024
    assert rendered.html.rstrip().endswith("</html>")
    root = lxml_html.document_fromstring(rendered.html)  # whole documents, never cut markup
    titles = [a.text_content() for a in root.find_class("title-link")]
    assert rendered.trimmed == 60 - len(titles) > 0
    assert rendered.data["trimmed"] == rendered.trimmed
    # every section keeps its first k stories; the rest is one "more on the web" link each
    caps = [
        k
        for k in range(1, 13)
        if titles == [e.title for s in digest.sections for e in s.entries[:k]]
    ]
    assert len(caps) == 1
    more = [a for a in root.iter("a") if re.match(r"\d+ more in ", a.text_content())]
    assert len(more) == len(digest.sections)
    assert all(
        a.get("href").startswith(f"{SITE_URL}/archive/daily/20260105-070000/#s-") for a in more
    )
    assert sum(int(a.text_content().split()[0]) for a in more) == rendered.trimmed
    # the text part matches the mail; the web copy and digest.json keep everything
    assert rendered.text.count("Read more: ") == len(titles)
    assert "more in Gardening on the web: https://" in _words(rendered.text)
    assert rendered.web_html.count('class="title-link"') == 60
    assert sum(len(s["items"]) for s in rendered.data["sections"]) == 60
    # without a budget the same digest is bigger: the trim did something
    one_more = make_config(tmp_path / "o2", budget_kb=1000, **EVERY_STORY)
    assert len(render_digest(digest, one_more).html.encode()) > 40 * 1024


def test_tiny_budget_drops_trailing_sections(tmp_path: Path) -> None:
    config = make_config(tmp_path / "output", budget_kb=12, **EVERY_STORY)
    rendered = render_digest(big_digest(60), config)
    assert len(rendered.html.encode()) <= 12 * 1024
    root = lxml_html.document_fromstring(rendered.html)
    assert len(root.find_class("section-title")) < 5
    assert re.search(r"\d+ more stories in [A-Z][\w ,]+ on the web", _words(root.text_content()))
    assert "on the web: https://news.example.org/archive/daily/" in _words(rendered.text)
    assert rendered.trimmed == 60 - len(root.find_class("title-link"))


def test_web_version_replaces_placeholders(sample, config) -> None:
    web = web_version(sample.html, config, sample.placeholders)
    assert "%%" not in web
    assert f'href="{SITE_URL}/unsubscribe"' in web and f'href="{SITE_URL}/manage"' in web
    assert "%%" not in sample.web_html
    assert "%%" not in web_version(sample.text, config, sample.placeholders)


def test_write_digest_files_and_archive_index(config) -> None:
    older = dataclasses.replace(sample_digest(), built_at=BUILT_AT - timedelta(days=1))
    write_digest(render_digest(older, config), config, "daily", older.built_at)
    rendered = render_digest(sample_digest(), config)
    folder = write_digest(rendered, config, "daily", BUILT_AT)
    out = config.output_dir
    assert folder == out / "daily" / "20260105-070000"
    assert (folder / "digest.html").read_text() == rendered.html
    assert rendered.placeholders.unsubscribe_url in (folder / "digest.html").read_text()
    recorded = json.loads((folder / "digest.json").read_text())["placeholders"]
    assert recorded == rendered.placeholders.as_dict()
    assert (folder / "digest.txt").read_text() == rendered.text
    assert json.loads((folder / "digest.json").read_text())["built_at"] == BUILT_AT.isoformat()
    for web in (folder / "index.html", out / "latest.html"):
        assert "%%" not in web.read_text()
        assert f"{SITE_URL}/unsubscribe" in web.read_text()
    index = (out / "index.html").read_text()
    assert index.index("20260105-070000/index.html") < index.index("20260104-070000/index.html")
    assert "Rain gauges on every allotment" in index
    assert not list(out.rglob("*.tmp"))


def test_index_reads_the_archive_from_disk_and_skips_broken_records(config) -> None:
    broken = config.output_dir / "daily" / "20250101-000000"
    broken.mkdir(parents=True)
    (broken / "digest.json").write_text("{not json")
    other = config.output_dir / "weekly" / "20260106-090000"
    other.mkdir(parents=True)
    (other / "digest.json").write_text(
        json.dumps(
            {
                "built_at": "2026-01-06T09:00:00+00:00",
                "list": {"name": "weekly", "title": "Weekly roundup"},
                "sections": [{"label": "Misc", "items": [{"title": "From a removed list"}]}],
            }
        )
    )
    write_digest(render_digest(sample_digest(), config), config, "daily", BUILT_AT)
    index = (config.output_dir / "index.html").read_text()
    assert "20250101-000000" not in index
    assert index.index("Weekly roundup") < index.index("Field Notes Daily")
    assert "2 digests" in index


def test_user_template_overrides_one_file(tmp_path: Path) -> None:
    user = tmp_path / "mytemplates"
    user.mkdir()
    (user / "_footer.html").write_text(
        '<p class="footer-text">Bye! <a href="%%UNSUBSCRIBE_URL%%">Unsubscribe</a></p>'
    )
    (user / "digest.txt").write_text('{% extends "default:digest.txt" %}')
    config = make_config(tmp_path / "output", template_dir=str(user))
    rendered = render_digest(sample_digest(), config)
    assert "Bye!" in rendered.html and "Manage your subscription" not in rendered.html
    assert "Rain gauges on every allotment" in rendered.html  # the rest is the built-in
    assert "Read more: https://" in rendered.text


def test_user_template_extends_a_default_block(tmp_path: Path) -> None:
    user = tmp_path / "t"
    user.mkdir()
    (user / "digest.html").write_text(
        '{% extends "default:digest.html" %}{% block toc %}<tr><td>'
        "Custom contents</td></tr>{% endblock %}"
    )
    env = make_environment(user)
    rendered = render_digest(sample_digest(), make_config(tmp_path / "output"), env)
    assert "Custom contents" in rendered.html and "In this issue" not in rendered.html


def test_templates_written_with_the_old_fixed_placeholders_still_work(tmp_path: Path) -> None:
    """A template's own %%UNSUBSCRIBE_URL%% becomes this build's marker; a feed's does not."""
    user = tmp_path / "t"
    user.mkdir()
    (user / "digest.txt").write_text(
        "{% if lead %}{{ lead.title }}\n{% endif %}"
        "{% for s in sections %}{% for i in s.entries %}{{ i.title }}\n{% endfor %}{% endfor %}"
        "Hi %%RECIPIENT%%. Leave: %%UNSUBSCRIBE_URL%% or %%MANAGE_URL%%\n"
    )
    digest = sample_digest()
    first = digest.sections[0].entries[0]
    hostile = dataclasses.replace(first.item, title="Buy %%MANAGE_URL%% {{ manage_url }}")
    sections = (
        dataclasses.replace(
            digest.sections[0],
            entries=(dataclasses.replace(first, item=hostile), *digest.sections[0].entries[1:]),
        ),
        *digest.sections[1:],
    )
    digest = dataclasses.replace(digest, sections=sections)
    rendered = render_digest(digest, make_config(tmp_path / "output"), make_environment(user))
    marks = rendered.placeholders
    assert f"Hi {marks.recipient}. Leave: {marks.unsubscribe_url} or {marks.manage_url}" in (
        rendered.text
    )
    assert "Buy %%MANAGE_URL%% {{ manage_url }}" in rendered.text
    assert rendered.text.count(marks.manage_url) == 1


def test_missing_folder_and_broken_template_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="template folder .* not found"):
        make_environment(tmp_path / "nope")
    user = tmp_path / "bad"
    user.mkdir()
    (user / "digest.txt").write_text("{{ no_such_variable }}")
    config = make_config(tmp_path / "output", template_dir=str(user))
    with pytest.raises(ConfigError, match="digest.txt"):
        render_digest(sample_digest(), config)


def test_compiled_templates_are_kept_between_runs_and_an_edit_still_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    user = tmp_path / "t"
    user.mkdir()
    (user / "digest.txt").write_text("First {{ sections | length }}\n")
    config = make_config(tmp_path / "output")
    assert "First" in render_digest(sample_digest(), config, make_environment(user)).text
    kept = tmp_path / "tmp" / f"_jinja2-cache-{os.getuid()}"
    assert len(list(kept.iterdir())) >= 2  # the user's template and the built-in HTML one
    (user / "digest.txt").write_text("Second {{ sections | length }}\n")
    assert "Second" in render_digest(sample_digest(), config, make_environment(user)).text


def test_a_temp_folder_unfit_for_kept_templates_only_means_compiling_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / f"_jinja2-cache-{os.getuid()}").write_text("not a folder")
    rendered = render_digest(sample_digest(), make_config(tmp_path / "output"))
    assert "Rain gauges on every allotment" in rendered.html


def test_the_archive_index_reads_each_digest_once_and_follows_changes(config) -> None:
    out = config.output_dir
    older = dataclasses.replace(sample_digest(), built_at=BUILT_AT - timedelta(days=1))
    first = write_digest(render_digest(older, config), config, "daily", older.built_at)
    write_digest(render_digest(sample_digest(), config), config, "daily", BUILT_AT)
    assert (out / KEPT).is_file()
    fresh = render_index(config)

    # a digest.json left as it was is not read again: what the list keeps of it is shown
    kept = json.loads((out / KEPT).read_text())
    entry = kept["digests"]["daily/20260104-070000/digest.json"]
    entry["headlines"] = ["Kept, not read again"]
    (out / KEPT).write_text(json.dumps(kept))
    assert "Kept, not read again" in render_index(config)
    # an edit that keeps the size and puts the old time back is still seen (change time)
    data = first / "digest.json"
    stat = data.stat()
    data.write_text(data.read_text())
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert render_index(config) == fresh

    # an edited digest is read again, a removed one drops out, a damaged list is rebuilt
    edited = json.loads((out / "daily" / "20260105-070000" / "digest.json").read_text())
    edited["sections"][0]["items"][0]["title"] = "Tide tables move to the harbour office"
    (out / "daily" / "20260105-070000" / "digest.json").write_text(json.dumps(edited))
    assert "Tide tables move to the harbour office" in render_index(config)
    shutil.rmtree(first)
    (out / KEPT).write_text("{damaged")
    index = render_index(config)
    assert "20260104-070000" not in index and "Tide tables move" in index
    assert list(json.loads((out / KEPT).read_text())["digests"]) == [
        "daily/20260105-070000/digest.json"
    ]
    # the dates kept with the list follow the site's language
    german = dataclasses.replace(config, site=dataclasses.replace(config.site, language="de"))
    assert "Januar 2026" in render_index(german) and "January 2026" in render_index(config)


def test_a_damaged_archive_list_is_read_past(config) -> None:
    write_digest(render_digest(sample_digest(), config), config, "daily", BUILT_AT)
    out = config.output_dir
    good = render_index(config)
    kept = json.loads((out / KEPT).read_text())
    [name] = kept["digests"]
    for damage in (
        ["not", "an", "entry"],
        {**kept["digests"][name], "headlines": 5},
        {**kept["digests"][name], "built_at": "yesterday"},
        {**kept["digests"][name], "section_labels": [{"x": 1}]},
        {**kept["digests"][name], "headlines": ["<script>alert(1)</script>"], "mark": "x"},
    ):
        hostile = {name: damage, "../../etc/passwd": kept["digests"][name]}
        (out / KEPT).write_text(json.dumps({"version": 1, "digests": hostile}))
        assert render_index(config) == good  # read from the digest.json again
        assert list(json.loads((out / KEPT).read_text())["digests"]) == [name]


def test_an_archive_list_that_is_no_file_or_too_deep_is_read_past(config) -> None:
    write_digest(render_digest(sample_digest(), config), config, "daily", BUILT_AT)
    out = config.output_dir
    good = render_index(config)
    kept = json.loads((out / KEPT).read_text())
    [name] = kept["digests"]
    naive = {**kept["digests"][name], "built_at": "2026-01-05T07:00:00"}
    naive.pop("date_display")
    (out / KEPT).write_text(json.dumps({"version": 1, "digests": {name: naive}}))
    assert "Field Notes Daily" in render_index(config)  # a time without offset is UTC
    (out / KEPT).write_text('{"version": 1, "digests": ' + "[" * 5000 + "]" * 5000 + "}")
    assert render_index(config) == good
    (out / KEPT).unlink()
    os.mkfifo(out / KEPT)  # reading it would block the build
    assert render_index(config) == good
