"""The whole build pipeline over a real HTTP feed server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from support.feedserver import FeedServer

from newsletter.config import BUNDLED_SEEDS, FeedConfig, default_config
from newsletter.run.digest import build, plan_digest
from newsletter.store import Store


def _served_config(tmp_path: Path, server: FeedServer, names: list[str]):
    config = default_config(tmp_path)
    feeds = tuple(FeedConfig(url=server.url(f"/{name}")) for name in names)
    return dataclasses.replace(config, feeds=feeds)


def _routes() -> dict[str, tuple[bytes, str]]:
    return {
        f"/{p.name}": (p.read_bytes(), "application/rss+xml")
        for p in sorted(BUNDLED_SEEDS.glob("*.xml"))
    }


def test_build_over_http_then_304s_cost_no_parsing(tmp_path, store_target):
    routes = _routes()
    with FeedServer(routes) as server:
        server.set_status("/gone.xml", 404)
        config = _served_config(tmp_path, server, [*(r[1:] for r in routes), "gone.xml"])
        store = Store(store_target)

        report, result = build(config, store)
        assert report.failed == [(server.url("/gone.xml"), report.failed[0][1])]
        assert "404" in report.failed[0][1]
        assert result is not None and result.plan is not None
        data = json.loads((result.folder / "digest.json").read_text(encoding="utf-8"))
        assert len(data["sections"]) >= 4
        assert data["feeds_failed"][0]["url"] == server.url("/gone.xml")
        first_parsed = report.parsed_items
        assert first_parsed > 30

        server.reset_requests()
        again, reused = build(config, store)
        # harbour-daily.xml says <ttl>15</ttl>: still fresh, so not even asked
        fresh = [p for p in routes if b"<ttl>15</ttl>" in routes[p][0]]
        assert len(fresh) == 1 and again.fresh == 1
        assert again.not_modified == len(routes) - 1
        assert again.parsed_items == 0
        assert [server.statuses(path) for path in fresh] == [[]]
        asked = [set(server.statuses(path)) for path in routes if path not in fresh]
        assert asked == [{304}] * (len(routes) - 1)
        assert reused.reused and reused.folder == result.folder


def test_new_item_between_runs_is_parsed_and_summarized_alone(tmp_path, store_target):
    routes = _routes()
    name = next(path for path, (data, _) in routes.items() if b"</channel>" in data)  # an RSS feed
    body = routes[name][0].decode("utf-8")
    extra = (
        "<item><title>Lighthouse keepers return to Skerry Point</title>"
        "<link>https://example.org/lighthouse</link><guid>lighthouse-1</guid>"
        "<description>Two keepers moved back to the Skerry Point light on Monday after the "
        "automated lamp failed twice in a month. The coastguard said the posting would last "
        "the winter. Fishing crews welcomed the decision.</description></item>"
    )
    with FeedServer(routes) as server:
        config = _served_config(tmp_path, server, [r[1:] for r in routes])
        store = Store(store_target)
        build(config, store)
        server.set(name, body.replace("</channel>", extra + "</channel>").encode("utf-8"))
        report, result = build(config, store)
        assert report.new == 1
        assert result.plan.summarized == 1
        titles = [e.title for e in result.plan.digest.entries]
        assert "Lighthouse keepers return to Skerry Point" in titles


def test_plan_digest_changes_nothing_in_output(tmp_path):
    config = default_config(tmp_path)
    store = Store(config.store_path)
    build(config, store)
    before = sorted(p.name for p in (tmp_path / "output").rglob("*"))
    plan = plan_digest(config, store)
    assert plan.digest.entries
    assert sorted(p.name for p in (tmp_path / "output").rglob("*")) == before


def test_sample_stories_told_by_two_feeds_appear_once(tmp_path, store_target):
    config = default_config(tmp_path)
    store = Store(store_target)
    _, result = build(config, store)
    merged = [e for e in result.plan.digest.entries if len(e.sources) > 1]
    # seeds/README.md lists four stories carried by two feeds each
    assert len(merged) == 4
    assert all(len({name for name, _ in e.sources}) == 2 for e in merged)
    sections = {s.label for s in result.plan.digest.sections}
    assert len(sections) >= 4 and "More stories" in sections


def test_analysis_reads_a_bounded_head_of_each_long_text(tmp_path, monkeypatch):
    """Summaries, duplicates and themes read at most ANALYSIS_TEXT_CHARS of an item: a
    10 MB feed of long articles took seconds in each stage; the stored item keeps it all."""
    import newsletter.analysis.dedupe.index as index
    import newsletter.analysis.summary.summarize as summarize
    import newsletter.analysis.themes.topics as topics
    from newsletter.run.digest import ANALYSIS_TEXT_CHARS

    paragraph = "The harbour council met on Monday and voted on the budget for the bridge. " * 20
    items = "".join(
        f"<item><title>Story {n} about the harbour</title><link>https://x.example/{n}</link>"
        f"<description>{(paragraph + chr(10) * 2) * 80}</description></item>"
        for n in range(3)
    )
    feed = tmp_path / "long.xml"
    feed.write_text(
        f'<rss version="2.0"><channel><title>L</title>{items}</channel></rss>', encoding="utf-8"
    )
    config = dataclasses.replace(default_config(tmp_path), feeds=(FeedConfig(url=str(feed)),))
    store = Store(config.store_path)
    read: list[int] = []

    def spy(module, name, texts):  # noqa: ANN001, ANN202
        real = getattr(module, name)

        def wrapper(first, *args, **kwargs):  # noqa: ANN001, ANN202
            read.extend(len(t) for t in texts(first))
            return real(first, *args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    spy(summarize, "summarize_many", lambda items: [i.text for i in items])
    spy(index, "story_groups", lambda items: [i.text for i in items])
    spy(topics, "Vocabulary", lambda texts: list(texts))
    _report, result = build(config, store)
    assert result is not None and result.plan is not None
    assert len(read) >= 9 and max(read) <= ANALYSIS_TEXT_CHARS + 100  # + the title
    assert min(len(i.text) for i in store.items()) > 5 * ANALYSIS_TEXT_CHARS


def _two_feed_files(tmp_path):
    paths = []
    for name, topic in (("a", "lighthouse keepers"), ("b", "ferry timetable")):
        path = tmp_path / f"{name}.xml"
        path.write_text(
            f'<rss version="2.0"><channel><title>{name.upper()}</title><item>'
            f"<title>The {topic} story</title><link>https://{name}.example/1</link>"
            f"<description>News about the {topic} today. More on the {topic}.</description>"
            "</item></channel></rss>",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def test_two_builds_in_one_second_into_one_output_folder_get_a_folder_each(tmp_path):
    """Two configs sharing an output folder and a list name (two `newsletter init` files
    in one folder) built in the same second wrote one folder, the later over the earlier,
    so sending one mailed the other's body."""
    from datetime import UTC, datetime

    from newsletter.render.renderer import stamp

    now = datetime(2026, 3, 2, 7, 0, 0, tzinfo=UTC)
    results = []
    for n, path in enumerate(_two_feed_files(tmp_path)):
        config = dataclasses.replace(default_config(tmp_path), feeds=(FeedConfig(url=str(path)),))
        store = Store(tmp_path / f"store{n}.sqlite", clock=lambda: now)  # a store each
        _report, result = build(config, store)
        assert result is not None and result.plan is not None
        results.append((store, result))
    (store_a, first), (store_b, second) = results
    assert first.folder != second.folder
    assert first.folder.name == stamp(now)  # the second moved on a second
    assert second.folder.name == stamp(now.replace(second=1))
    assert "lighthouse" in (first.folder / "digest.html").read_text(encoding="utf-8")
    assert "ferry" in (second.folder / "digest.html").read_text(encoding="utf-8")
    assert "lighthouse" not in (second.folder / "digest.html").read_text(encoding="utf-8")
    # each store records its own folder, and the mail links to the folder written
    list_name = second.plan.digest.list_name
    assert store_b.latest_digest(list_name).path == str(second.folder)
    assert store_b.latest_digest(list_name).built_at == now.replace(second=1)
    web_link = f"/archive/{list_name}/{second.folder.name}/"
    assert web_link in (second.folder / "digest.html").read_text(encoding="utf-8")


def test_an_edited_template_is_rendered_not_the_digest_built_before(tmp_path):
    user = tmp_path / "templates"
    user.mkdir()
    (user / "digest.txt").write_text("First edition\n", encoding="utf-8")
    base = default_config(tmp_path)
    config = dataclasses.replace(
        base, digest=dataclasses.replace(base.digest, template_dir=str(user))
    )
    store = Store(config.store_path)
    _, first = build(config, store)
    assert first is not None and "First" in (first.folder / "digest.txt").read_text()
    data = json.loads((first.folder / "digest.json").read_text(encoding="utf-8"))
    assert first.digest_id is not None and data["digest_id"] == first.digest_id
    _, same = build(config, store)
    assert same is not None and same.reused  # nothing new, nothing edited: reused
    (user / "digest.txt").write_text("Second edition\n", encoding="utf-8")
    _, edited = build(config, store)
    assert edited is not None and not edited.reused
    assert "Second" in (edited.folder / "digest.txt").read_text()


def test_a_digest_is_shown_again_only_if_this_build_would_make_the_same(tmp_path):
    config = default_config(tmp_path)
    store = Store(config.store_path)
    first_feed = config.feeds[0].url

    def feeds_of(result) -> set[str]:
        assert result is not None and result.plan is not None, "reused, not built"
        return {item.feed_url for item in result.plan.items}

    _, first = build(config, store)
    assert first_feed in feeds_of(first)
    _, without = build(dataclasses.replace(config, feeds=config.feeds[1:]), store)
    assert first_feed not in feeds_of(without)
    _, back = build(config, store)  # the feed added back: its stories, not the digest before
    assert first_feed in feeds_of(back)
    _, same = build(config, store)
    assert same is not None and same.reused and same.folder == back.folder

    _, three = build(config, store, max_items=3)
    assert three is not None and len(three.plan.digest.entries) == 3
    _, plain = build(config, store)  # the usual digest, not the three-story one
    assert plain is not None and len(plain.plan.digest.entries) > 3
    renamed = dataclasses.replace(config, site=dataclasses.replace(config.site, name="Canal Post"))
    _, retitled = build(renamed, store)
    assert retitled is not None and not retitled.reused
    assert "Canal Post" in (retitled.folder / "digest.html").read_text(encoding="utf-8")


def test_a_plan_holds_the_head_of_each_long_story_and_the_report_no_items(tmp_path):
    from newsletter.run.digest import ANALYSIS_TEXT_CHARS

    paragraph = "The canal trust met again and talked about the locks for a long time. " * 40
    body = "".join(f"<p>{paragraph} Part {n}.</p>" for n in range(60))  # ~170,000 characters
    feed = tmp_path / "long.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Long reads</title>'
        "<link>https://long.example/</link><description>d</description>"
        + "".join(
            f"<item><title>Canal story {k}</title><link>https://long.example/{k}</link>"
            f"<guid>canal-{k}</guid><description><![CDATA[{body}]]></description></item>"
            for k in range(3)
        )
        + "</channel></rss>",
        encoding="utf-8",
    )
    config = dataclasses.replace(default_config(tmp_path), feeds=(FeedConfig(url=str(feed)),))
    store = Store(config.store_path)
    report, _ = build(config, store)
    assert report is not None and report.new == 3
    assert all(r.items == () for r in report.results)  # stored, not kept in the report
    stored = store.items()
    assert len(stored) == 3 and all(len(i.text) > 50_000 and i.html for i in stored)
    plan = plan_digest(config, store)
    assert plan.items and all(len(i.text) <= ANALYSIS_TEXT_CHARS for i in plan.items)
    assert all(i.html == "" for i in plan.items)
